"""The emergency-resource census over HTTP (workflows/resources.py holds the rules):

    POST /resources                   a rescue team, a warehouse with its supplies or a shelter registers (anyone)
    POST /resources/{id}/approve      the region's bureau approves or rejects an entry or its pending update;
                                      an approved team or shelter gets its code, a warehouse one per supply
    GET  /resources/{id}/history      every review and update (the bureau, analysts)
    POST /q/{token}/census-update     whoever holds the code updates headcount, stock, capacity or status

The form page is GET /m/census (web/). Anonymous registration shares the hourly limit of public reports.
"""
from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel, ConfigDict, Field

from riskgraph.api.deps import CONTEXT, Context
from riskgraph.api.errors import ApiError
from riskgraph.api.models import Out
from riskgraph.api.qr.render import QrTooLarge
from riskgraph.api.routes.qr.common import _verify, base_of, qr_service
from riskgraph.api.routes.reports import limit_reports
from riskgraph.api.routes.workflow_common import after, audit, step
from riskgraph.api.writes import origin_of
from riskgraph.ontology.anchors import RESCUE_TEAM, SHELTER, SUPPLY, WAREHOUSE
from riskgraph.workflows.resources import APPROVED, UPDATABLE, Census, Done, SupplyIn, update_mode

router = APIRouter(tags=["emergency resources"])


class SupplyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., min_length=1, max_length=100)
    category: str | None = Field(None, max_length=50, description="物资类别")
    quantity: float = Field(..., ge=0, le=1e9)
    unit: str | None = Field(None, max_length=20, description="计量单位 (顶, 件, 吨 …)")


class ResourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["team", "warehouse", "shelter"]
    name: str = Field(..., min_length=2, max_length=200)
    region: str = Field(..., pattern=r"^\d{6}$", description="GB/T 2260 county code")
    lon: float | None = Field(None, ge=73.0, le=136.0)
    lat: float | None = Field(None, ge=3.0, le=54.0)
    address: str | None = Field(None, max_length=200)
    teamType: str | None = Field(None, max_length=50, description="team: 队伍类型")
    members: int | None = Field(None, ge=0, le=1_000_000, description="team: headcount")
    equipment: str | None = Field(None, max_length=2000, description="team: 主要装备")
    areaM2: float | None = Field(None, ge=0, le=1e9, description="warehouse or shelter: area in m²")
    supplies: list[SupplyBody] = Field(default_factory=list, max_length=200, description="warehouse: what it stores")
    capacityPeople: int | None = Field(None, ge=0, le=10_000_000, description="shelter: 容纳人数")
    shelterType: str | None = Field(None, max_length=50, description="shelter: 场所类型")
    facilities: list[str] = Field(default_factory=list, max_length=50, description="shelter: 设施")


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approved", "rejected"] = "approved"
    note: str | None = Field(None, max_length=2000, description="required to reject")


class UpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    members: int | None = Field(None, ge=0, le=1_000_000)
    equipment: str | None = Field(None, max_length=2000)
    quantity: float | None = Field(None, ge=0, le=1e9)
    capacityPeople: int | None = Field(None, ge=0, le=10_000_000)
    facilities: list[str] | None = Field(None, max_length=50)
    status: str | None = Field(None, max_length=50, description="在用, 维修, 停用 …")


class CodeOut(Out):
    label: str
    key: str
    tokenId: str
    url: str


class ResourceOut(Out):
    id: str
    label: str
    state: str | None = Field(description="pending, approved or rejected")
    supplies: list[str] = Field(description="the warehouse's supply ids")
    codes: list[CodeOut] = Field(description="codes issued on approval (a team or shelter: its own; a warehouse: one per supply)")
    applied: dict[str, Any] | None = Field(None, description="the update applied by this step")
    pendingUpdate: bool = Field(False, description="an update waits for the bureau's review")


def _out(done: Done, codes: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"id": done.entry.key, "label": done.entry.label, "state": done.entry.state,
            "supplies": [s.key for s in done.supplies], "codes": codes or [], "applied": done.applied,
            "pendingUpdate": bool(done.entry.props.get("pendingUpdate"))}


@router.post("/resources", status_code=201, response_model=ResourceOut,
             summary="a rescue team, warehouse (with supplies) or shelter registers for the census (anyone; reviewed "
                     "by the region's bureau)")
def register(body: ResourceIn = Body(...), ctx: Context = CONTEXT) -> dict[str, Any]:
    limit_reports(ctx, "registrations")
    census = Census(ctx.store)
    values: dict[str, Any] = {"name": body.name.strip(), "regionCode": body.region, "lon": body.lon, "lat": body.lat,
                              "address": body.address, "areaM2": body.areaM2 if body.kind != "team" else None}
    if body.kind == "team":
        values.update(teamType=body.teamType, members=body.members, equipment=body.equipment)
    elif body.kind == "shelter":
        values.update(capacityPeople=body.capacityPeople, shelterType=body.shelterType, facilities=body.facilities or None)
    supplies = [SupplyIn(s.name, s.category, s.quantity, s.unit) for s in body.supplies]
    done = step(ctx, "census_register", "census", lambda: census.register(
        ctx.caller, origin_of(ctx), body.kind, values, supplies, raw=body.model_dump(mode="json")))
    audit(ctx, "census_register", "ok", 201, subject=f"{done.entry.label}/{done.entry.key}",
          details={"record": done.written.record, "supplies": len(done.supplies)})
    after(ctx, done.written, *done.supplies)
    return _out(done)


@router.post("/resources/{id}/approve", response_model=ResourceOut,
             summary="the region's bureau (an inspector of it, or an admin) approves or rejects a census entry or its "
                     "pending update; approval issues the entry's code")
def approve(id: str = Path(..., min_length=1, max_length=200), body: ApproveIn = Body(default_factory=lambda: ApproveIn(note=None)),
            ctx: Context = CONTEXT) -> dict[str, Any]:
    census = Census(ctx.store)
    done = step(ctx, "census_review", id, lambda: census.review(
        ctx.caller, origin_of(ctx), id, approve=body.decision == "approved", note=body.note, raw=body.model_dump(mode="json")))
    codes: list[dict[str, str]] = []
    if done.previous != APPROVED and done.entry.state == APPROVED:
        targets = [(done.entry.label, done.entry.key)] if done.entry.label in (RESCUE_TEAM, SHELTER) else \
            [(SUPPLY, s.key) for s in done.supplies] if done.entry.label == WAREHOUSE else []
        qr = qr_service(ctx.request)
        for label, key in targets:
            try:
                issued = qr.issue(label, key, base_url=base_of(ctx.request), issued_by=ctx.caller.username,
                                  note="应急资源普查")
            except (LookupError, QrTooLarge) as exc:
                raise ApiError(409, "conflict", f"{label} {key} was approved but its code could not be issued: {exc}") from None
            codes.append({"label": label, "key": key, "tokenId": issued.token_id, "url": issued.url})
    audit(ctx, "census_review", "ok", 200, subject=f"{done.entry.label}/{done.entry.key}",
          details={"record": done.written.record, "from": done.previous, "to": done.entry.state,
                   "codes": [c["tokenId"] for c in codes], "applied": done.applied})
    after(ctx, done.written, *done.supplies)
    return _out(done, codes)


class HistoryEntryOut(Out):
    at: str | None
    by: str | None
    role: str | None
    endpoint: str | None
    fromState: str | None
    toState: str | None
    note: str | None


class HistoryOut(Out):
    id: str
    label: str
    state: str | None
    entries: list[HistoryEntryOut]


@router.get("/resources/{id}/history", response_model=HistoryOut,
            summary="every review and update of a census entry: who, when, from which state to which, why")
def history(id: str = Path(..., min_length=1, max_length=200), ctx: Context = CONTEXT) -> dict[str, Any]:
    census = Census(ctx.store)
    entry, entries = step(ctx, "census_history", id, lambda: census.history(ctx.caller, id))
    ctx.disclosed.mark(f"{entry.label}/{id}#history", ctx.caller.ceiling)
    return {"id": id, "label": entry.label, "state": entry.state, "entries": entries}


@router.post("/q/{token}/census-update", response_model=ResourceOut,
             summary="update a census entry through its code: headcount, stock, capacity, status (applied and "
                     "audited, or held for review: RISKGRAPH_RESOURCE_UPDATES)")
def update(token: str = Path(..., max_length=400), body: UpdateIn = Body(...), ctx: Context = CONTEXT) -> dict[str, Any]:
    limit_reports(ctx, "updates")
    facts = _verify(ctx, qr_service(ctx.request), token, "census_update").facts
    if facts.label not in UPDATABLE:
        raise ApiError(422, "validation_error", f"a {facts.label} code does not update the census",
                       [{"field": "token", "message": "not a census entry", "type": "invalid"}])
    census = Census(ctx.store)
    values = body.model_dump(exclude_none=True)
    done = step(ctx, "census_update", f"{facts.label}/{facts.key}", lambda: census.update(
        origin_of(ctx), facts.label, facts.key, values, raw=values))
    audit(ctx, "census_update", "ok", 200, subject=f"{facts.label}/{facts.key}",
          details={"record": done.written.record, "mode": update_mode(), "values": values})
    after(ctx, done.written)
    return _out(done)
