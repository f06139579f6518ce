"""Control-measure recommendations computed on demand from the graph (reasoning/recommend).

`GET /recommendations?enterprise=USCC` (or `risk_point=ID`, or `hidden_danger=ID`): the ranked
knowledge-base measures for that subject, each with its score, reason in words, graph paths (node ids),
cited standards and whether the enterprise already has it; for a risk point or an enterprise, the gap
analysis of its own control measures against the knowledge base.

Disclosure follows the portraits: a recommendation is read at the level the caller reads its subject
(an enterprise user for its own enterprise, an inspector in its regions, …), and each field at the level
the ontology gives it — the measure, its rank and citation are public; the score, the reasons and
`alreadyPresent` are enterprise level; the paths (which cite similar hidden dangers of other
enterprises) are inspector level. The gap analysis names which knowledge-base measures the
enterprise's own (enterprise-level) measure texts match only for callers who may read those texts.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from fastapi import APIRouter, Query
from pydantic import Field

from riskgraph.api.access import check_uscc
from riskgraph.api.deps import CONTEXT, Context
from riskgraph.api.disclosure import level_name
from riskgraph.api.errors import invalid, not_found
from riskgraph.api.models import LevelName, NodeOut, Out
from riskgraph.api.routes.common import node_out
from riskgraph.api.schema import (
    CONTROL_MEASURE,
    ENTERPRISE,
    HIDDEN_DANGER,
    RECOMMENDATION,
    RECTIFICATION,
    RISK_POINT,
)
from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import LOCAL_TZ
from riskgraph.ontology.errors import N_, as_message
from riskgraph.ontology.model import class_term
from riskgraph.reasoning.recommend.config import load_config
from riskgraph.reasoning.recommend.engine import Recommender, SubjectResult
from riskgraph.reasoning.recommend.facts import Reader
from riskgraph.reasoning.recommend.kb import MEASURE, knowledge_base
from riskgraph.reasoning.recommend.run import recommender_for, rectified_states

router = APIRouter(tags=["recommendations"])


class RecommendationOut(NodeOut):
    measure: NodeOut = Field(description="the knowledge-base ControlMeasureType node")


class EventGap(Out):
    """One risk event of a risk point: which levels of the hierarchy of controls its own measures cover."""

    riskEvent: str
    name: str
    accidentType: str = Field(description="GB 6441 accident type notation")
    accidentTypeName: str
    ownMeasures: list[str] = Field(description="the risk event's own ControlMeasure ids")
    coveredLevels: list[str]
    applicableLevels: list[str] = Field(description="levels the knowledge base has measures at, most effective first")
    missingLevels: list[str]
    presentMeasures: list[str] | None = Field(
        None, description="knowledge-base measures the own measures' texts match; only for callers who may read "
                          "those texts (enterprise level)")
    coverage: float | None = Field(description="share of the applicable levels covered")


class PointGaps(Out):
    """A risk point's coverage, per risk event."""

    coverage: float | None
    events: list[EventGap]


class AccidentTypeGap(Out):
    events: int
    coverage: float
    missingLevels: dict[str, int] = Field(description="level → number of events missing it, most often first")


class PointCoverage(Out):
    riskPoint: str
    name: str
    coverage: float


class EnterpriseGaps(Out):
    """An enterprise's coverage over all its risk points."""

    riskPoints: int
    events: int = Field(description="risk events with applicable measures")
    coverage: float | None
    byAccidentType: dict[str, AccidentTypeGap] = Field(description="accident type notation → its coverage")
    leastCovered: list[PointCoverage] = Field(description="the five least covered risk points")


class RecommendationsOut(Out):
    subject: NodeOut
    level: LevelName = Field(description="the level the caller reads the subject (and its recommendations) at")
    method: str
    version: str = Field(description="recommend.toml version + knowledge-base version")
    knowledgeBase: str
    recommendations: list[RecommendationOut] = Field(description="best first; properties.position is the rank")
    gaps: PointGaps | EnterpriseGaps | None = Field(
        description="coverage of the hierarchy of controls by the subject's own control measures (risk point, "
                    "enterprise); null for a hidden danger")
    decision: dict[str, Any] | None = Field(None, description="停产停业整改 / 停止使用 for a major hidden danger: a "
                                                                "decision with its legal basis, shown apart, never ranked")
    knowledgeBaseGap: dict[str, Any] | None = Field(None, description="a hidden danger the knowledge base has no "
                                                                        "measure for (the list is then empty, not filled)")


class _Trained:
    """The recommender trained on the province's verified rectifications, reused while they are unchanged."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cache: dict[str, tuple[float, tuple, Recommender]] = {}

    @staticmethod
    def signature(store: GraphStore) -> tuple:
        rows = store.read(f"MATCH (r:{ident(RECTIFICATION)}) RETURN count(r) AS n, max(r.verifiedOnMs) AS v, "
                          "max(r.completedOnMs) AS c")
        row = rows[0] if rows else {}
        return row.get("n"), row.get("v"), row.get("c")

    def get(self, store: GraphStore) -> Recommender:
        ttl = float(load_config()["learned"]["cache_seconds"])
        sig = self.signature(store)
        with self.lock:
            hit = self.cache.get(store.url)
            if hit is not None and hit[1] == sig and time.monotonic() - hit[0] < ttl:
                return hit[2]
            rec, _ = recommender_for(store)
            self.cache[store.url] = (time.monotonic(), sig, rec)
            return rec


TRAINED = _Trained()


def compute(store: GraphStore, rec: Recommender, label: str, key: str, uscc: str, top: int | None) -> SubjectResult:
    facts = Reader(store).enterprises([uscc]).get(uscc)
    if facts is None:
        raise not_found(N_("enterprise {uscc}"), uscc=uscc)
    closed = rectified_states(store.ontology)
    open_dangers = [d for d in facts.dangers.values() if d.state not in closed]
    if label == HIDDEN_DANGER:
        danger = facts.dangers.get(key)
        if danger is None:
            raise not_found(N_("hidden danger {key}"), key=key)
        return rec.for_danger(facts, danger, top_k=top)
    learned = rec.learned_for(facts, open_dangers)
    if label == RISK_POINT:
        point = facts.risk_points.get(key)
        if point is None:
            raise not_found(N_("risk point {key}"), key=key)
        return rec.for_point(facts, point, open_dangers, learned, top_k=top)
    return rec.for_enterprise(facts, open_dangers, learned, top_k=top)


@router.get(
    "/recommendations",
    response_model=RecommendationsOut,
    response_model_exclude_unset=True,
    summary="recommended control measures for an enterprise, a risk point or a hidden danger: ranked, explained "
            "(graph paths), cited, with what the enterprise already has and its control gaps",
    description=(
        "Give exactly one of `enterprise`, `risk_point`, `hidden_danger`. Computed on demand: rule paths "
        "through the control-measure knowledge base (hazard patterns, accident types, equipment, GB/T 13861 "
        "classes, GB 18218 categories, processes, industry, gaps in the hierarchy of controls) blended with "
        "what verified rectifications of similar hidden dangers used. Each recommendation's `properties` "
        "holds `position`, `relevance` (0–1), `ruleScore`, `learnedScore`, `hierarchyLevel`, `citation`, "
        "`explanation`, `paths` (kind, weight, words, node ids `Label/key`), `alreadyPresent` and `presentAs` "
        "(the enterprise's own ControlMeasure ids), each shown at its disclosure level."
    ),
)
def get_recommendations(
    enterprise: str | None = Query(None, max_length=64, description="统一社会信用代码"),
    risk_point: str | None = Query(None, min_length=1, max_length=200, description="风险点编号"),
    hidden_danger: str | None = Query(None, min_length=1, max_length=200, description="隐患编号"),
    top: int | None = Query(None, ge=1, le=50, description="how many (default per subject type, recommend.toml)"),
    ctx: Context = CONTEXT,
) -> dict:
    given = [(n, v) for n, v in (("enterprise", enterprise), ("risk_point", risk_point),
                                 ("hidden_danger", hidden_danger)) if v]
    if len(given) != 1:
        raise invalid(N_("give exactly one of enterprise, risk_point, hidden_danger"),
                      given[1][0] if given else "enterprise")
    field, value = given[0]
    label = {"enterprise": ENTERPRISE, "risk_point": RISK_POINT, "hidden_danger": HIDDEN_DANGER}[field]
    if label == ENTERPRISE:
        try:
            value = check_uscc(value)
        except ValueError as exc:
            raise invalid(as_message(exc), "enterprise") from None
    subject = ctx.store.get_node(label, value.strip())
    if subject is None:
        raise not_found(N_("{label} {value}"), label=class_term(label), value=value)
    key = str(subject[ctx.onto.key_of(label)])
    uscc = key if label == ENTERPRISE else Reader(ctx.store).owner_of(label, key)
    if uscc is None:
        raise not_found(N_("the enterprise of {label} {key}"), label=class_term(label), key=key)
    rec = TRAINED.get(ctx.store)
    result = compute(ctx.store, rec, label, key, uscc, top)
    level = ctx.scope.levels({(label, key): subject})[(label, key)]
    ctx.disclosed.subject = f"{label}/{key}"
    at = dt.datetime.now(LOCAL_TZ).isoformat(timespec="seconds")
    items = []
    for r in result.recommendations:
        item = node_out(ctx, RECOMMENDATION, r.properties(method=rec.method, version=rec.version, at=at), level)
        m = r.measure
        item["measure"] = node_out(ctx, MEASURE, {"id": m.id, "name": m.name, "hierarchyLevel": m.hierarchy,
                                                  "citation": rec.kb.citation(m)}, level)
        items.append(item)
    return {
        "subject": node_out(ctx, label, subject, level),
        "level": level_name(min(level, ctx.caller.ceiling)),
        "method": rec.method,
        "version": rec.version,
        "knowledgeBase": knowledge_base().version,
        "recommendations": items,
        "gaps": _gaps(ctx, result.gaps, level, f"{label}/{key}"),
        **_apart(ctx, result, level),
    }


def _apart(ctx: Context, result: SubjectResult, level) -> dict[str, Any]:
    """The decision (it tells the danger is major: grade level) and the knowledge-base gap (its text may be the
    danger's description), each only for callers who may read what it reveals."""
    gap = result.kb_gap
    if gap is not None and not ctx.disclosed.allows(HIDDEN_DANGER, "description", level):
        gap = {k: v for k, v in gap.items() if k != "text"}
    return {"decision": result.decision if ctx.disclosed.allows(HIDDEN_DANGER, "grade", level) else None,
            "knowledgeBaseGap": gap}


def _gaps(ctx: Context, gaps: dict[str, Any] | None, level, subject: str) -> dict[str, Any] | None:
    """The gap analysis; which KB measures the own measure texts match only for those who may read the texts."""
    if gaps is None:
        return None
    if ctx.disclosed.allows(CONTROL_MEASURE, "description", level):
        ctx.disclosed.mark(f"{subject}#controlGaps", min(level, ctx.caller.ceiling))
        return gaps
    out = dict(gaps)
    if isinstance(out.get("events"), list):  # a risk point's per-event rows (an enterprise's summary has none)
        out["events"] = [{k: v for k, v in e.items() if k != "presentMeasures"} for e in out["events"]]
    return out
