"""Risk analysis (风险辨识评估) kept by the enterprise through its code: LEC or LS values, the hazards
and the controls of a risk point — versioned, re-assessed, with history and differences.

Filing an analysis (`file()`):
1. the values are checked against the scales of the standard (reasoning/config/risk_point.toml;
   an off-scale value is refused here, where a person types it, rather than flagged) and graded
   by the same model `riskgraph assess` runs (reasoning/models/risk_point.py): D = L·E·C or R = L·S
   and its colour;
2. the risk point gets the values, the method, the colour, its next `revision` — a compare-and-set
   on the revision it had, so two people filing at once cannot both become version n;
3. a `RiskAnalysis` node keeps that version as filed (values, value, colour, hazards, controls,
   note) and stays unchanged, linked from the point;
4. the point's Assessment for the method is written as `riskgraph assess` writes it (same id,
   score, level, colour, components), so the portrait shows the new grading at once.

`history()` lists the versions, newest first, each with its differences to the one before (the
first against the values the point had from the source systems, if any).
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from riskgraph.api.access import Caller
from riskgraph.api.schema import ASSESSMENT, ENTERPRISE, REGION_CODE, RISK_POINT, Schema
from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import decode_properties
from riskgraph.ontology.anchors import RISK_ANALYSIS
from riskgraph.ontology.errors import N_, as_message
from riskgraph.reasoning.models.config import ModelConfig, load_config
from riskgraph.reasoning.models.result import ModelResult
from riskgraph.reasoning.models.risk_point import lec, ls
from riskgraph.reasoning.writeback import assessment_id, result_digest
from riskgraph.workflows.actors import Missing, Owner, WorkflowError, WrongState, is_owner, level, require
from riskgraph.workflows.origin import Origin
from riskgraph.workflows.writes import Link, WriteConflict, WriteService, Written

ANALYSIS = RISK_ANALYSIS
#: the methods an enterprise files through its code, and the factors each takes (property: letter)
FACTORS = {"LEC": {"likelihood": "L", "exposure": "E", "consequence": "C"}, "LS": {"likelihood": "L", "severity": "S"}}
#: what a version compares with the one before it
COMPARED = ("method", "factors", "value", "colour", "level", "hazards", "controls", "note")


@dataclass
class Filed:
    point: Written
    version: Written
    assessment: Written
    result: ModelResult
    revision: int
    changes: dict[str, dict[str, Any]]


class Analyses:
    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.onto = store.ontology
        self.schema = Schema(self.onto)
        self.writes = WriteService(store)
        self.has_point = self.schema.relation_between(ENTERPRISE, RISK_POINT).type
        self.has_analysis = self.schema.relation_between(RISK_POINT, ANALYSIS).type
        self.assesses = next(r for r in self.schema.annotations if self.onto.is_a(ASSESSMENT, r.domain)).type
        self.methods = self.onto.vocabulary(self.onto.properties_of(RISK_POINT)["assessmentMethod"].vocabulary or "")
        self.hazards = self.onto.vocabulary(self.onto.properties_of(RISK_POINT)["hazardFactors"].vocabulary or "")

    def point(self, point_id: str) -> tuple[dict[str, Any], Owner]:
        key = ident(self.onto.key_of(RISK_POINT))
        rows = self.store.read(
            f"MATCH (p:{ident(RISK_POINT)} {{{key}: $id}}) OPTIONAL MATCH (e:{ident(ENTERPRISE)})-[:{ident(self.has_point)}]->(p) "
            f"RETURN properties(p) AS p, e.{ident(self.onto.key_of(ENTERPRISE))} AS uscc, e.{ident(REGION_CODE)} AS region, "
            "e.name AS name LIMIT 1", {"id": point_id})
        if not rows:
            raise Missing(N_("no risk point {point_id}"), "id", point_id=point_id)
        row = rows[0]
        props = row["p"]
        return props, Owner(uscc=str(row["uscc"] or ""), region=row["region"] or props.get(REGION_CODE), name=row["name"])

    # ------------------------------------------------------------------ filing
    def file(self, caller: Caller, origin: Origin, point_id: str, *, method: str, values: Mapping[str, float | None],
             hazards: Sequence[str] = (), controls: Sequence[str] = (), note: str | None = None,
             raw: Mapping[str, Any] | None = None) -> Filed:
        stored, owner = self.point(point_id)
        require(is_owner(caller, owner), caller, N_("a risk point's analysis is filed by its enterprise's own account"))
        concept = self.methods.lookup(method)
        if concept is None or concept.notation not in FACTORS:
            raise WorkflowError(N_("method is LEC or LS, not {method!r}"), "method", method=method)
        notation = concept.notation
        factors = {}
        for prop, letter in FACTORS[notation].items():
            value = values.get(prop)
            if value is None:
                raise WorkflowError(N_("{notation} needs {prop} ({letter})"), prop,
                                    notation=notation, prop=prop, letter=letter)
            factors[prop] = float(value)
        codes = []
        for text in hazards:
            hazard = self.hazards.lookup(text)
            if hazard is None:
                raise WorkflowError(N_("{text!r} is not a GB/T 13861 hazard factor"), "hazards", text=text)
            codes.append(hazard.notation)
        result = grade(notation, factors, point_id)
        revision = int(stored.get("revision") or 0) + 1
        filed = {"method": notation, "factors": factors, "value": result.score, "colour": result.colour,
                 "level": result.level, "hazards": codes, "controls": [c.strip() for c in controls if c.strip()],
                 "note": (note or "").strip() or None}
        try:
            point = self.writes.update(RISK_POINT, point_id, {
                "assessmentMethod": notation, **factors, "riskColour": result.colour, "hazardFactors": codes or None,
                "revision": revision, "analysedAt": origin.at, "handledBy": caller.username,
            }, origin, raw=raw, expect={"revision": stored.get("revision")})
        except WriteConflict:
            raise WrongState(N_("{point_id} got a newer analysis meanwhile; reload it and file again"), "revision",
                             point_id=point_id) from None
        version = self.writes.create(ANALYSIS, {
            "id": f"RA-{point_id}-{revision}", "name": f"{stored.get('name') or point_id} 第{revision}版",
            "revision": revision, "analysis": json.dumps(filed, ensure_ascii=False, sort_keys=True),
            "riskColour": result.colour, "analysedAt": origin.at, "handledBy": caller.username,
        }, origin, raw=raw, links=[Link(self.has_analysis, (RISK_POINT, point_id), outgoing=False)])
        assessment = self._assessment(origin, point_id, result)
        before = self._previous(point_id, revision, stored)
        return Filed(point=point, version=version, assessment=assessment, result=result, revision=revision,
                     changes=diff(before, filed))

    def _assessment(self, origin: Origin, point_id: str, result: ModelResult) -> Written:
        """The point's Assessment for the method, as `riskgraph assess` writes it."""
        doc = result.to_json()
        components = json.dumps({"components": doc["components"], "parameters": doc["parameters"], "details": doc["details"],
                                 "flags": doc["flags"], "evidenceTotal": len(doc["evidence"]), "run": "filed through the code"},
                                ensure_ascii=False, separators=(",", ":"), default=str)
        key = assessment_id(result.method, RISK_POINT, point_id)
        props: dict[str, Any] = {
            "id": key, "method": result.method, "methodVersion": result.version, "score": result.score,
            "level": result.level, "riskColour": result.colour, "components": components, "evidence": list(result.evidence)}
        props |= {"resultDigest": result_digest(props), "computedAt": origin.at, "asOf": origin.at.date()}
        try:
            return self.writes.create(ASSESSMENT, props, origin, links=[Link(self.assesses, (RISK_POINT, point_id))])
        except WriteConflict:  # it exists: written by `riskgraph assess`, or by the background re-assessment of a filing
            return self.writes.update(ASSESSMENT, key, props, origin)

    # ------------------------------------------------------------------ history
    def versions(self, point_id: str) -> list[dict[str, Any]]:
        key = ident(self.onto.key_of(RISK_POINT))
        rows = self.store.read(
            f"MATCH (p:{ident(RISK_POINT)} {{{key}: $id}})-[:{ident(self.has_analysis)}]->(a:{ident(ANALYSIS)}) "
            "RETURN properties(a) AS a ORDER BY a.revision DESC", {"id": point_id})
        return [decode_properties(r["a"]) for r in rows]

    def _previous(self, point_id: str, revision: int, stored: Mapping[str, Any]) -> dict[str, Any]:
        older = [v for v in self.versions(point_id) if int(v.get("revision") or 0) < revision]
        return _filed(older[0]) if older else baseline(stored)

    def history(self, caller: Caller, point_id: str) -> tuple[dict[str, Any], Owner, list[dict[str, Any]]]:
        """Versions, newest first, each with `changes` against the one before it."""
        stored, owner = self.point(point_id)
        seen = min(level(caller, owner), caller.ceiling)
        require(self.onto.disclosure_of(ANALYSIS, "analysis") <= seen, caller,
                N_("a risk point's analyses are for its enterprise and its bureau"))
        versions = self.versions(point_id)
        out = []
        for i, version in enumerate(versions):
            filed = _filed(version)
            before = _filed(versions[i + 1]) if i + 1 < len(versions) else baseline(stored)
            out.append({"revision": int(version.get("revision") or 0), "analysedAt": version.get("analysedAt"),
                        "by": version.get("handledBy"), "analysis": filed, "changes": diff(before, filed)})
        return dict(stored), owner, out


def grade(method: str, factors: Mapping[str, float], point_id: str, config: ModelConfig | None = None) -> ModelResult:
    """The model's grading of the values; a value off the standard's scale is refused."""
    cfg = config or load_config("risk_point")
    section = "lec" if method == "LEC" else "ls"
    strict = cfg.with_overrides({section: {"off_scale": "reject"}}, version=cfg.version)
    try:
        if method == "LEC":
            lec(factors["likelihood"], factors["exposure"], factors["consequence"], config=strict)
            return lec(factors["likelihood"], factors["exposure"], factors["consequence"], evidence=[point_id], config=cfg)
        ls(int(factors["likelihood"]), int(factors["severity"]), config=strict)
        if factors["likelihood"] != int(factors["likelihood"]) or factors["severity"] != int(factors["severity"]):
            raise WorkflowError(N_("L and S are whole numbers 1–5"), "values")
        return ls(int(factors["likelihood"]), int(factors["severity"]), evidence=[point_id], config=cfg)
    except ValueError as exc:
        raise WorkflowError(as_message(exc), "values") from None


def baseline(stored: Mapping[str, Any]) -> dict[str, Any]:
    """What the point held before its first filed version (from the source systems), in filed form."""
    props = decode_properties(dict(stored))
    method = props.get("assessmentMethod")
    names = FACTORS.get(method or "") or {p: "" for f in FACTORS.values() for p in f}
    factors = {p: props[p] for p in names if props.get(p) is not None}
    return {"method": method, "factors": factors, "value": None, "colour": props.get("riskColour"), "level": None,
            "hazards": props.get("hazardFactors") or [], "controls": [], "note": None}


def _filed(version: Mapping[str, Any]) -> dict[str, Any]:
    text = version.get("analysis")
    try:
        return dict(json.loads(text)) if isinstance(text, str) else dict(text or {})
    except json.JSONDecodeError:
        return {}


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """field → {old, new} for every compared field that differs (factors and lists item by item)."""
    out: dict[str, dict[str, Any]] = {}
    for name in COMPARED:
        old, new = before.get(name), after.get(name)
        if name == "factors":
            keys = sorted(set(old or {}) | set(new or {}))
            for k in keys:
                a, b = (old or {}).get(k), (new or {}).get(k)
                if a != b:
                    out[f"factors.{k}"] = {"old": a, "new": b}
            continue
        if isinstance(old, list) or isinstance(new, list):
            a, b = list(old or []), list(new or [])
            if a != b:
                out[name] = {"old": a, "new": b, "added": [x for x in b if x not in a], "removed": [x for x in a if x not in b]}
            continue
        if old != new:
            out[name] = {"old": old, "new": new}
    return out
