"""Writing results back to the graph: Assessment nodes and their ASSESSES edges, subject properties.

The Assessment format (id, properties, components JSON) is described in reasoning/assess.py.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from riskgraph.graph.dialect import ident
from riskgraph.graph.packed_content import Packer, dictionary_kind
from riskgraph.graph.shared_values import shared_groups
from riskgraph.graph.shared_values import stamp as shared_stamp
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import encode_properties
from riskgraph.ontology.anchors import ASSESSES, ASSESSMENT
from riskgraph.ontology.model import TIME_SUFFIX
from riskgraph.reasoning import graph_facts as gf
from riskgraph.reasoning import run_stamps
from riskgraph.reasoning.models.result import ModelResult, json_default, jsonable
from riskgraph.reasoning.run_context import Run
from riskgraph.reasoning.run_stamps import AT_MS

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


def components_json(w: Written, run: Run) -> str:
    """The components JSON of a result: what it says, not when (asOf and the data load are properties,
    so that the same result on a later day has the same JSON).

    Written by the C encoder in one pass, which asks `json_default` only for what JSON lacks (dataclasses,
    frozen mappings, sets, Decimals, dates); a value it refuses (a non-finite number, a key JSON cannot
    write, a time) sends the result through `jsonable` first, as before — the same text either way."""
    r = w.result  # not r.to_json(): that converts the whole evidence list too (a city's N-K cites every record)
    total = len(r.evidence) if r.evidence_total is None else r.evidence_total
    said = {"components": r.components, "parameters": r.parameters, "details": r.details, "flags": r.flags}
    tail = {"evidenceTotal": total, "run": f"{run.cfg['method']} {run.cfg.version}", **w.extra}
    try:
        return json.dumps(said | tail, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=json_default)
    except (ValueError, TypeError):
        said = {name: jsonable(value) for name, value in said.items()}
        return json.dumps(said | tail, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)


def result_digest(row: Mapping[str, Any]) -> str:
    """What a result says — method, version, score, level, colour, components JSON, evidence — as a
    digest: equal digests mean a rewrite would change nothing but the times."""
    said = json.dumps([row["method"], row["methodVersion"], row["score"], row["level"], row["riskColour"],
                       row["evidence"]], ensure_ascii=False)
    digest = hashlib.blake2b(said.encode(), digest_size=16)
    digest.update(row["components"].encode())  # the longest part, hashed as it is rather than quoted again
    return digest.hexdigest()


def write_assessments(run: Run, items: Sequence[Written], *, multi_target: bool = False) -> int:
    """Upsert the Assessment nodes and their ASSESSES edges; None score/level/colour are removed.

    A result whose stored Assessment says the same (`resultDigest`) and still assesses its subject is
    confirmed: not rewritten, and noted (`Run.kept`) so that `remove_stale` keeps it. Most results of
    a day's run are the day before's, and a rewrite would send and store their components JSON and
    evidence again. A full run writes nothing on them — its stamp goes on the AssessmentRun of each
    (method, label) instead (reasoning/run_stamps.py says why); a run over a few subjects
    (`Run.stamp_confirmed`) sets its stamp on them."""
    if not items:
        return 0
    store = run.store
    limit = int(run.cfg["read"]["evidence_limit"])
    stamp = run_stamps.of(run)
    rows: list[dict[str, Any]] = []
    for w in items:
        r = w.result
        row: dict[str, Any] = {
            "id": w.id, "method": r.method, "methodVersion": r.version, "score": _finite(r.score), "level": r.level,
            "riskColour": r.colour, "components": components_json(w, run), "evidence": list(r.evidence[:limit])}
        row["resultDigest"] = result_digest(row)
        rows.append(row)
    confirmed = set() if multi_target else _confirm(store, items, rows, stamp if run.stamp_confirmed else None)
    if not run.stamp_confirmed:  # stamped ones are this run's, as if written
        for w in items:
            if w.id in confirmed:
                run.kept[(w.result.method, w.label)].add(w.id)
    todo = [(w, row) for w, row in zip(items, rows, strict=True) if w.id not in confirmed]
    if not todo:
        return len(items)
    written = [{**row, **stamp} for _, row in todo]
    _pack(run, written)
    # a plain components an older version (or the API) left would read as the newer: it goes
    unset = store.ontology.classes[ASSESSMENT].packs
    key = store.ontology.key_of(ASSESSMENT)
    orphans: list[str] = []
    one: dict[str, list[tuple[dict[str, Any], tuple[str]]]] = defaultdict(list)  # one subject: with its link
    several: list[tuple[Written, dict[str, Any]]] = []
    for (w, _), row in zip(todo, written, strict=True):
        targets = w.targets or (w.key,)
        if len(targets) == 1 and not multi_target:
            one[w.label].append((row, (targets[0],)))
        else:
            several.append((w, row))
    for label, linked in one.items():
        orphans.extend(store.upsert_linked_nodes(ASSESSMENT, linked, [(ASSESSES, label)], unset=unset).unlinked)
    if several:
        store.upsert_nodes(ASSESSMENT, [row for _, row in several], unset=unset)
    if multi_target:  # the subject set may have changed (a cluster's members): edges are rewritten
        store.execute(f"UNWIND $ids AS id MATCH (a:{ASSESSMENT} {{{key}: id}})-[r:{ASSESSES}]->() DELETE r",
                      {"ids": [w.id for w, _ in several]})
    by_label: dict[str, list[dict]] = defaultdict(list)
    for w, _ in several:
        for target in w.targets or (w.key,):
            by_label[w.label].append({"from": w.id, "to": target})
    for label, rels in by_label.items():
        result = store.upsert_relationships(ASSESSES, rels, from_label=ASSESSMENT, to_label=label)
        orphans.extend(rels[i]["from"] for i in result.missing)
    nulls: dict[str, list[str]] = defaultdict(list)
    for _, row in todo:
        for prop in ("score", "level", "riskColour"):
            if row[prop] is None:
                nulls[prop].append(row["id"])
    for prop, ids in nulls.items():
        clear_property(store, ASSESSMENT, prop, ids)
    if orphans:  # a subject deleted while the run read it: its assessment goes with it
        log.warning("%d assessments lost their subject while running", len(orphans))
        store.execute(f"UNWIND $ids AS id MATCH (a:{ASSESSMENT} {{{key}: id}}) "
                      f"OPTIONAL MATCH (a)-[r:{ASSESSES}]->() WITH a, count(r) AS n WHERE n = 0 DETACH DELETE a",
                      {"ids": sorted(set(orphans))})
    return len(items) - len(set(orphans))


def _pack(run: Run, rows: list[dict[str, Any]]) -> None:
    """Pack the rows' components (after their digest: it is of what is said), per method: one
    model's results share their keys and words, so each method has its own dictionary."""
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_kind[str(dictionary_kind(ASSESSMENT, row))].append(row)
    for kind, same in by_kind.items():
        packer: Packer = run.cached(f"packer:{kind}", partial(Packer, run.store, ASSESSMENT, kind))
        packer.pack(same)


def _confirm(store: GraphStore, items: Sequence[Written], rows: Sequence[Mapping[str, Any]],
             stamp: Mapping[str, Any] | None) -> set[str]:
    """The ids of the stored results that say the same and still assess their one subject; the
    `stamp` set on them where given (`Run.stamp_confirmed`), else only read. A result with several
    subjects is always written."""
    by_label: dict[str, list[dict[str, str]]] = defaultdict(list)
    for w, row in zip(items, rows, strict=True):
        targets = w.targets or (w.key,)
        if len(targets) == 1:
            by_label[w.label].append({"id": row["id"], "d": row["resultDigest"], "to": targets[0]})
    key = ident(store.ontology.key_of(ASSESSMENT))
    params: dict[str, Any] = {}
    then = "RETURN a.id AS id"
    if stamp is not None:
        params["at"], params["once"], kept_once = shared_stamp(store, ASSESSMENT, "a", stamp)
        then = f"SET a += $at{kept_once} {then}"
    out: set[str] = set()
    for label, pending in by_label.items():
        subject_key = ident(store.ontology.key_of(label))
        statement = (f"UNWIND $rows AS row MATCH (a:{ASSESSMENT} {{{key}: row.id}})-[:{ASSESSES}]->"
                     f"(s:{ident(label)} {{{subject_key}: row.to}}) WHERE a.resultDigest = row.d {then}")
        for chunk in gf.batched(pending, store.batch_size):
            done = (store.execute if stamp is not None else store.read)(statement, {"rows": list(chunk), **params})
            out.update(str(r["id"]) for r in done)
    return out


def remove_stale(run: Run, method: str, label: str) -> int:
    """After a run over every subject of `label`: delete the (method, label) Assessments it neither
    wrote nor confirmed (their subjects are gone), and stamp the (method, label) run."""
    kept = run.kept.pop((method, label), set())
    key = ident(run.store.ontology.key_of(ASSESSMENT))
    older = (f"MATCH (a:{ASSESSMENT}) WHERE a.method = $method AND a.id STARTS WITH $prefix "
             f"AND (a.{AT_MS} IS NULL OR a.{AT_MS} <> $run) RETURN ")
    params = {"method": method, "prefix": f"{method}:{label}:", "run": run.run_ms}
    # most days every older one was confirmed (they include all of `kept`): counted, not read
    counted = run.store.read(older + "count(a) AS n", params, timeout_ms=gf.AGGREGATE_TIMEOUT_MS)
    if not counted or int(counted[0]["n"]) == len(kept):
        stale: list[str] = []
    else:
        rows = run.store.read(older + "a.id AS id", params, timeout_ms=gf.AGGREGATE_TIMEOUT_MS)
        stale = sorted(str(row["id"]) for row in rows if row["id"] not in kept)
    for chunk in gf.batched(stale, run.store.batch_size):
        run.store.execute(f"UNWIND $ids AS i MATCH (a:{ASSESSMENT} {{{key}: i}}) DETACH DELETE a", {"ids": list(chunk)})
    run_stamps.record(run, method, label)
    return len(stale)


def set_properties(store: GraphStore, label: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """SET properties on existing nodes (matched on the label's key), only those whose stored value
    differs; every property must be in the ontology."""
    key = store.ontology.key_of(label)
    shared = store.ontology.shared_values(label)
    for chunk in gf.batched(list(rows), store.batch_size):
        payload = []
        for row in chunk:
            props = encode_properties(store.ontology, label, row)
            payload.append({"k": props.pop(key), "p": props})
        payload = differing(store, label, payload)
        for assigned, group in shared_groups(store.dialect, shared, "n", payload):
            store.execute(f"UNWIND $rows AS row MATCH (n:{ident(label)} {{{ident(key)}: row.k}}) SET n += row.p{assigned}",
                          {"rows": group})


def differing(store: GraphStore, label: str, payload: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows (`{"k": key, "p": encoded properties}`) with only the properties their node does not
    already hold, and without the rows left with none.

    Why read first: FalkorDB re-indexes a node in every index of its label on any SET, even of the
    value it holds (measured: 20,000 nodes set to their own value left a collection behind), and an
    index's collector forks the whole server once it holds more than 100 stale entries (README
    "Graph stores"). A day's run finds most subjects' colours and tags as they were."""
    names = sorted(set().union(*(row["p"].keys() for row in payload)))
    if not names:
        return payload
    held = store.get_nodes(label, [row["k"] for row in payload], names)
    out = []
    for row in payload:
        stored = held.get(row["k"])
        props = row["p"] if stored is None else {n: v for n, v in row["p"].items() if not same_value(v, stored[n])}
        if props:
            out.append({"k": row["k"], "p": props})
    return out


def same_value(new: Any, stored: Any) -> bool:
    """Equal and of the same type, lists element by element (1 and 1.0, or True and 1, are not the same
    value to the store)."""
    if isinstance(new, list) and isinstance(stored, list):
        return len(new) == len(stored) and all(map(same_value, new, stored))
    return type(new) is type(stored) and new == stored


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
