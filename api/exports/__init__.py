"""Exports a bureau needs: CSV and XLSX tables (enterprises, the focus-inspection list, assessments with
their components, quarantined rows) and the printable dossier PDF. The API routes (api/routes/exports.py)
and the CLI (`riskgraph export`, `riskgraph dossier`) build them with the same functions."""
