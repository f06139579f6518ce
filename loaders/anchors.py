"""The few ontology names the loading machinery itself is built on (every other label, property and
relationship comes from the mapping files). Checked against the ontology on import, so a rename in
the Turtle fails loudly here instead of silently loading nothing."""
from __future__ import annotations

from riskgraph.ontology.model import load_ontology

ENTERPRISE = "Enterprise"
REGION = "Region"
INDUSTRY = "Industry"
CHEMICAL = "Chemical"
SOURCE_RECORD = "SourceRecord"
QUARANTINED_ROW = "QuarantinedRow"
CHANGE_EVENT = "ChangeEvent"
DERIVED_FROM = "DERIVED_FROM"
PART_OF = "PART_OF"
BROADER_INDUSTRY = "BROADER_INDUSTRY"


def _check() -> None:
    onto = load_ontology()
    for label in (ENTERPRISE, REGION, INDUSTRY, CHEMICAL, SOURCE_RECORD, QUARANTINED_ROW, CHANGE_EVENT):
        onto.check_label(label)
    for rel_type in (DERIVED_FROM, PART_OF, BROADER_INDUSTRY):
        onto.relation(rel_type)


_check()
