"""Find and repair what concurrent or interrupted writers can leave behind.

- duplicate relationships: two relationships of one type between the same two nodes (FalkorDB
  MERGEs racing in two processes create both; the store now serialises writes, this repairs
  graphs written before);
- SourceRecords without their DERIVED_FROM links (a load killed between the two writes, before
  they were written in one statement): relinked from the record's own `facts`, which name every
  node it fed as `Label:key`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from riskgraph.graph.dialect import ident
from riskgraph.graph.packed_content import record_content, with_content
from riskgraph.graph.store import GraphStore
from riskgraph.ontology.anchors import DERIVED_FROM, SOURCE_RECORD


@dataclass
class CheckReport:
    #: relationship type → relationships beyond the first between the same two nodes
    duplicates: dict[str, int] = field(default_factory=dict)
    #: SourceRecords with no DERIVED_FROM link at all
    unlinked_records: int = 0
    repaired: bool = False

    @property
    def clean(self) -> bool:
        return not self.duplicates and not self.unlinked_records


def find_duplicates(store: GraphStore) -> dict[str, int]:
    out = {}
    for rel_type in store.ontology.relationship_types:
        rows = store.read(f"MATCH (a)-[r:{ident(rel_type)}]->(b) WITH a, b, count(r) AS n WHERE n > 1 "
                          f"RETURN sum(n - 1) AS extra", timeout_ms=300_000)
        extra = int(rows[0]["extra"] or 0) if rows else 0
        if extra:
            out[rel_type] = extra
    return out


def remove_duplicates(store: GraphStore, rel_type: str) -> int:
    """Keep one relationship per pair of nodes (the oldest), delete the others."""
    rows = store.execute(
        f"MATCH (a)-[r:{ident(rel_type)}]->(b) WITH a, b, r ORDER BY id(r) WITH a, b, collect(r) AS rs "
        f"WHERE size(rs) > 1 UNWIND rs[1..] AS extra DELETE extra RETURN count(*) AS n", timeout_ms=300_000)
    return int(rows[0]["n"]) if rows else 0


def unlinked_records(store: GraphStore) -> list[dict]:
    return with_content(store, store.read(f"MATCH (s:{ident(SOURCE_RECORD)}) WHERE NOT (s)<-[:{ident(DERIVED_FROM)}]-() "
                                          f"RETURN s.id AS id, {record_content('s')}", timeout_ms=300_000))


def relink_records(store: GraphStore, records: list[dict]) -> int:
    """DERIVED_FROM from every node a record's facts name, where that node exists."""
    by_label: dict[str, list[dict[str, str]]] = {}
    for record in records:
        try:
            facts = json.loads(record["facts"] or "{}")
        except json.JSONDecodeError:
            continue
        for ref in facts:
            label, _, key = ref.partition(":")
            if label in store.ontology.labels and key:
                by_label.setdefault(label, []).append({"from": key, "to": record["id"]})
    written = 0
    for label, rows in by_label.items():
        written += store.upsert_relationships(DERIVED_FROM, rows, from_label=label).written
    return written


def check(store: GraphStore, *, repair: bool = False) -> CheckReport:
    report = CheckReport(duplicates=find_duplicates(store))
    records = unlinked_records(store)
    report.unlinked_records = len(records)
    if repair and not report.clean:
        for rel_type in report.duplicates:
            remove_duplicates(store, rel_type)
        relink_records(store, records)
        report.repaired = True
    return report
