"""A risk point's LEC / LS analysis, kept by its enterprise (workflows/analysis.py holds the rules):

    PUT /risk-points/{id}/analysis           file a new version (the enterprise's own account)
    GET /risk-points/{id}/analysis/history   the versions and their differences (the enterprise and its bureau)
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel, ConfigDict, Field

from riskgraph.api.deps import CONTEXT, Context
from riskgraph.api.models import PROPERTIES_DESCRIPTION, LevelName, NodeOut, Out
from riskgraph.api.routes.workflow_common import after, audit, node, step
from riskgraph.api.schema import RISK_POINT
from riskgraph.api.writes import origin_of
from riskgraph.workflows.actors import level
from riskgraph.workflows.analysis import Analyses

router = APIRouter(tags=["risk points"])
ID = Path(..., min_length=1, max_length=200, description="the risk point's id")


class AnalysisIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: str = Field(description="LEC (D = L·E·C) or LS (R = L·S): notation or label")
    likelihood: float | None = Field(None, gt=0, description="L: LEC 10, 6, 3, 1, 0.5, 0.2, 0.1; LS 1–5")
    exposure: float | None = Field(None, gt=0, description="E (LEC): 10, 6, 3, 2, 1, 0.5")
    consequence: float | None = Field(None, gt=0, description="C (LEC): 100, 40, 15, 7, 3, 1")
    severity: float | None = Field(None, gt=0, description="S (LS): 1–5")
    hazards: list[str] = Field(default_factory=list, max_length=30, description="GB/T 13861 hazard factors: code or label")
    controls: list[str] = Field(default_factory=list, max_length=50, description="the controls in place (管控措施)")
    note: str | None = Field(None, max_length=2000)


class Change(Out):
    old: Any = Field(description="the value before (a factor, the value, the colour, a list)")
    new: Any = Field(description="the value now")
    added: list[Any] | None = Field(None, description="for lists: items added")
    removed: list[Any] | None = Field(None, description="for lists: items removed")


class AnalysisOut(Out):
    riskPoint: str
    revision: int
    method: str
    value: float | None = Field(description="D (LEC) or R (LS)")
    level: str | None = Field(description="the band's label")
    colour: str | None = Field(description="RiskColour notation")
    changes: dict[str, Change] = Field(description="field → difference to the version before")
    assessment: NodeOut


class Version(Out):
    revision: int
    analysedAt: str | None
    by: str | None
    analysis: dict[str, Any] = Field(description="as filed: method, factors, value, colour, level, hazards, controls, note")
    changes: dict[str, Change] = Field(description="field → difference to the version before")


class AnalysisHistoryOut(Out):
    riskPoint: str
    level: LevelName
    current: dict[str, Any] = Field(description="the risk point now: " + PROPERTIES_DESCRIPTION)
    versions: list[Version] = Field(description="newest first")


@router.put("/risk-points/{id}/analysis", response_model=AnalysisOut,
            summary="file a new version of the risk point's LEC / LS analysis; it is graded at once "
                    "(the enterprise's own account)")
def file_analysis(id: str = ID, body: AnalysisIn = Body(...), ctx: Context = CONTEXT) -> dict[str, Any]:
    analyses = Analyses(ctx.store)
    values = {"likelihood": body.likelihood, "exposure": body.exposure, "consequence": body.consequence,
              "severity": body.severity}
    filed = step(ctx, "risk_analysis", f"{RISK_POINT}/{id}", lambda: analyses.file(
        ctx.caller, origin_of(ctx), id, method=body.method, values=values, hazards=body.hazards,
        controls=body.controls, note=body.note, raw=body.model_dump(mode="json")))
    audit(ctx, "risk_analysis", "ok", 200, subject=f"{RISK_POINT}/{id}",
          details={"record": filed.point.record, "revision": filed.revision})
    after(ctx, filed.point, filed.version, filed.assessment)
    _, owner = analyses.point(id)
    return {"riskPoint": id, "revision": filed.revision, "method": filed.point.properties["assessmentMethod"],
            "value": filed.result.score, "level": filed.result.level, "colour": filed.result.colour,
            "changes": filed.changes, "assessment": node(ctx, filed.assessment, level(ctx.caller, owner))}


@router.get("/risk-points/{id}/analysis/history", response_model=AnalysisHistoryOut,
            summary="the risk point's analysis versions, newest first, each with its differences to the one before "
                    "(the enterprise and its bureau)")
def analysis_history(id: str = ID, ctx: Context = CONTEXT) -> dict[str, Any]:
    analyses = Analyses(ctx.store)
    stored, owner, versions = step(ctx, "risk_analysis_history", f"{RISK_POINT}/{id}",
                                   lambda: analyses.history(ctx.caller, id))
    seen = min(level(ctx.caller, owner), ctx.caller.ceiling)
    ctx.disclosed.subject = f"{RISK_POINT}/{id}"
    ctx.disclosed.mark(f"{RISK_POINT}/{id}#analysis", seen)
    return {"riskPoint": id, "level": seen.name.lower(), "current": ctx.disclosed.properties(RISK_POINT, stored, seen),
            "versions": versions}

