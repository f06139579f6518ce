"""Tables to files: CSV (UTF-8 with a BOM, so Excel reads the Chinese) and XLSX (one sheet per table)."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from riskgraph.ontology.errors import N_, RiskGraphError

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
#: Excel's limit on a cell's text
CELL_LIMIT = 32_767


@dataclass
class Table:
    """A named table: columns in order, one dict per row (missing keys are empty cells)."""

    name: str
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (what, value) lines for the 说明 sheet

    @classmethod
    def of(cls, name: str, rows: list[dict[str, Any]], first: list[str] | None = None,
           notes: list[tuple[str, str]] | None = None) -> Table:
        """Columns: `first`, then every other key in the order rows first show it."""
        columns = list(first or [])
        for row in rows:
            for k in row:
                if k not in columns:
                    columns.append(k)
        return cls(name, columns, rows, list(notes or []))


def cell(value: Any) -> Any:
    """A value a spreadsheet cell holds: lists and objects as JSON text, booleans and numbers as they are."""
    if value is None:
        return None
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, (int, float, bool)):
        return value
    return str(value)


def to_csv(table: Table) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(["" if (v := cell(row.get(c))) is None else v for c in table.columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(tables: list[Table]) -> bytes:
    wb = Workbook()
    first = wb.active
    if first is not None:
        wb.remove(first)
    notes: list[tuple[str, str]] = []
    for table in tables:
        ws = wb.create_sheet(table.name[:31])
        ws.append(table.columns)
        for c in ws[1]:
            c.font = Font(bold=True)
        for row in table.rows:
            values = []
            for c in table.columns:
                v = cell(row.get(c))
                values.append(v[:CELL_LIMIT] if isinstance(v, str) else v)
            ws.append(values)
        ws.freeze_panes = "B2"
        if table.rows:
            ws.auto_filter.ref = ws.dimensions
        notes += table.notes
    if notes:
        about = wb.create_sheet("说明")
        for what, value in notes:
            about.append([what, value])
        about.column_dimensions["A"].width = 14
        about.column_dimensions["B"].width = 90
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


class ExportFormatError(RiskGraphError, ValueError):
    """An export asked for in a format the service does not write."""


def render(tables: list[Table], fmt: str) -> bytes:
    """`csv`: the first table; `xlsx`: every table, one sheet each."""
    if fmt == "csv":
        return to_csv(tables[0])
    if fmt == "xlsx":
        return to_xlsx(tables)
    raise ExportFormatError(N_("export format is csv or xlsx, not {fmt!r}"), fmt=fmt)
