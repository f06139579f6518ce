"""Writing results back to the graph: Assessment nodes and their ASSESSES edges, subject properties.

The Assessment format (id, properties, components JSON) is described in reasoning/assess.py.
"""
from __future__ import annotations

import json
import logging
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import encode_properties
from riskgraph.ontology.anchors import ASSESSES, ASSESSMENT
from riskgraph.ontology.model import TIME_SUFFIX
from riskgraph.reasoning import graph_facts as gf
from riskgraph.reasoning.models.result import ModelResult, jsonable
from riskgraph.reasoning.run_context import Run

log = logging.getLogger(__name__)


@dataclass
class Written:
    """One result to write: its subject, optional qualifier, ASSESSES targets and JSON extras."""

    label: str
    key: str
    result: ModelResult
    qualifier: str = ""
    targets: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return assessment_id(self.result.method, self.label, self.key, self.qualifier)


def assessment_id(method: str, label: str, key: str, qualifier: str = "") -> str:
    return f"{method}:{label}:{key}" + (f":{qualifier}" if qualifier else "")


def components_json(w: Written, run: Run, converted: dict[int, Any]) -> str:
    """The components JSON of a result. `converted` holds the parameters already converted in this
    write, by object: a peer model (INFORM) shares one parameters object among its ≈ 170 results."""
    r = w.result  # not r.to_json(): that converts the whole evidence list too (a city's N-K cites every record)
    total = len(r.evidence) if r.evidence_total is None else r.evidence_total
    if (parameters := converted.get(id(r.parameters))) is None:
        parameters = converted[id(r.parameters)] = jsonable(r.parameters)
    doc = {"components": jsonable(r.components), "parameters": parameters, "details": jsonable(r.details),
           "flags": jsonable(r.flags), "asOf": run.as_of.isoformat(), "evidenceTotal": total,
           "run": f"{run.cfg['method']} {run.cfg.version}", "data": run.data_version(), **w.extra}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)


def write_assessments(run: Run, items: Sequence[Written], *, multi_target: bool = False) -> int:
    """Upsert the Assessment nodes and their ASSESSES edges; None score/level/colour are removed."""
    if not items:
        return 0
    store = run.store
    limit = int(run.cfg["read"]["evidence_limit"])
    rows, nulls = [], defaultdict(list)
    converted: dict[int, Any] = {}
    for w in items:
        r = w.result
        row = {"id": w.id, "method": r.method, "methodVersion": r.version, "score": _finite(r.score),
               "level": r.level, "riskColour": r.colour, "components": components_json(w, run, converted),
               "evidence": list(r.evidence[:limit]), "computedAt": run.computed_at}
        rows.append(row)
        for prop in ("score", "level", "riskColour"):
            if row[prop] is None:
                nulls[prop].append(w.id)
    store.upsert_nodes(ASSESSMENT, rows)
    for prop, ids in nulls.items():
        clear_property(store, ASSESSMENT, prop, ids)
    by_label: dict[str, list[dict]] = defaultdict(list)
    for w in items:
        for target in w.targets or (w.key,):
            by_label[w.label].append({"from": w.id, "to": target})
    key = store.ontology.key_of(ASSESSMENT)
    if multi_target:  # the subject set may have changed (a cluster's members): edges are rewritten
        store.execute(f"UNWIND $ids AS id MATCH (a:{ASSESSMENT} {{{key}: id}})-[r:{ASSESSES}]->() DELETE r",
                      {"ids": [w.id for w in items]})
    orphans: list[str] = []
    for label, rels in by_label.items():
        result = store.upsert_relationships(ASSESSES, rels, from_label=ASSESSMENT, to_label=label)
        orphans.extend(rels[i]["from"] for i in result.missing)
    if orphans:  # a subject deleted while the run read it: its assessment goes with it
        log.warning("%d assessments lost their subject while running", len(orphans))
        store.execute(f"UNWIND $ids AS id MATCH (a:{ASSESSMENT} {{{key}: id}}) "
                      f"OPTIONAL MATCH (a)-[r:{ASSESSES}]->() WITH a, count(r) AS n WHERE n = 0 DETACH DELETE a",
                      {"ids": sorted(set(orphans))})
    return len(items) - len(set(orphans))


def remove_stale(run: Run, method: str, label: str) -> int:
    """Delete the (method, label) Assessments this run did not write: their subjects are gone."""
    rows = run.store.execute(f"MATCH (a:{ASSESSMENT}) WHERE a.method = $method AND a.id STARTS WITH $prefix "
                             "AND (a.computedAtMs IS NULL OR a.computedAtMs <> $run) WITH a DETACH DELETE a RETURN count(*) AS c",
                             {"method": method, "prefix": f"{method}:{label}:", "run": run.run_ms})
    return int(rows[0]["c"]) if rows else 0


def set_properties(store: GraphStore, label: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """SET properties on existing nodes (matched on the label's key); every property must be in the ontology."""
    key = store.ontology.key_of(label)
    for chunk in gf.batched(list(rows), store.batch_size):
        payload = []
        for row in chunk:
            props = encode_properties(store.ontology, label, row)
            payload.append({"k": props.pop(key), "p": props})
        store.execute(f"UNWIND $rows AS row MATCH (n:{ident(label)} {{{ident(key)}: row.k}}) SET n += row.p",
                      {"rows": payload})


def clear_property(store: GraphStore, label: str, prop: str, keys: Sequence[str]) -> None:
    """Remove one property (set it to null) on the given nodes; the property must be in the ontology."""
    if not keys:
        return
    if prop not in store.ontology.properties_of(label):
        raise KeyError(f"{label} has no property {prop!r} in the ontology")
    key = store.ontology.key_of(label)
    extra = ""
    if store.ontology.properties_of(label)[prop].is_time:
        extra = f", n.{ident(prop + TIME_SUFFIX)} = null"
    for chunk in gf.batched(list(keys), store.batch_size):
        store.execute(f"UNWIND $keys AS k MATCH (n:{ident(label)} {{{ident(key)}: k}}) "
                      f"SET n.{ident(prop)} = null{extra}", {"keys": list(chunk)})


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)
