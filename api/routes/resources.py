"""The emergency-resource census over HTTP (workflows/resources.py holds the rules):

    POST /resources                   a rescue team, a warehouse with its supplies or a shelter registers (anyone)
    GET  /resources?state=&region=&kind=  the census and its review queue in the caller's scope (state: pending,
                                      approved, rejected, or held = an update through the code waits for review)
    POST /resources/{id}/approve      the region's bureau approves or rejects an entry or its pending update;
                                      an approved team or shelter gets its code, a warehouse one per supply
    POST /resources/{id}/reject       the same with decision rejected: a pending entry is rejected, a held update
                                      discarded (the note is required)
    GET  /resources/{id}/history      every review and update (the bureau, analysts)
    POST /q/{token}/census-update     whoever holds the code updates headcount, stock, capacity or status

The form page is GET /m/census (web/). Anonymous registration shares the hourly limit of public reports.
"""
from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from riskgraph.api.deps import CONTEXT, Context
from riskgraph.api.errors import ApiError
from riskgraph.api.models import Out, StateChangeOut
from riskgraph.api.positions import Crs, wgs84
from riskgraph.api.qr.render import QrTooLarge
from riskgraph.api.routes.qr.common import _verify, base_of, qr_service
from riskgraph.api.routes.reports import limit_reports
from riskgraph.api.routes.workflow_common import after, audit, step
from riskgraph.api.writes import origin_of
from riskgraph.ontology.anchors import RESCUE_TEAM, SHELTER, SOURCE_CRS, SUPPLY, WAREHOUSE
from riskgraph.ontology.errors import N_
from riskgraph.workflows.resources import APPROVED, UPDATABLE, Census, Done, Listed, SupplyIn, update_mode

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
    lon: float | None = Field(None, ge=73.0, le=136.0, description="longitude, in `crs` (default WGS 84)")
    lat: float | None = Field(None, ge=3.0, le=54.0, description="latitude, in `crs` (default WGS 84)")
    crs: Crs = None
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
    lon, lat, crs = wgs84(body.lon, body.lat, body.crs)
    values: dict[str, Any] = {"name": body.name.strip(), "regionCode": body.region, "lon": lon, "lat": lat,
                              SOURCE_CRS: crs, "address": body.address, "areaM2": body.areaM2 if body.kind != "team" else None}
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


class SupplyOut(Out):
    id: str
    name: str | None
    category: str | None
    quantity: float | None
    unit: str | None
    state: str | None
    pendingUpdate: dict[str, Any] | None = Field(description="the stock update through the supply's code that waits for review")


class ListedOut(Out):
    id: str
    label: str = Field(description="RescueTeam, Warehouse, Shelter, or Supply (a held stock update)")
    state: str | None = Field(description="pending, approved or rejected (loaded from census files: approved)")
    name: str | None
    regionCode: str | None
    address: str | None
    lon: float | None
    lat: float | None
    teamType: str | None
    members: int | None
    equipment: str | None
    areaM2: float | None
    capacityPeople: int | None
    shelterType: str | None
    facilities: list[str]
    supplies: list[SupplyOut] = Field(description="a warehouse's supplies")
    warehouse: str | None = Field(description="a supply's warehouse")
    warehouseName: str | None
    quantity: float | None = Field(description="a supply's stock")
    unit: str | None
    pendingUpdate: dict[str, Any] | None = Field(description="the update through the code that waits for review")
    reviewNote: str | None
    reviewedAt: str | None
    handledBy: str | None


class ListingOut(Out):
    items: list[ListedOut]


def _held(props: dict[str, Any]) -> dict[str, Any] | None:
    text = props.get("pendingUpdate")
    return json.loads(text) if text else None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _listed(item: Listed) -> dict[str, Any]:
    p, e = item.entry.props, item.entry
    members, capacity = p.get("members"), p.get("capacityPeople")
    facilities = p.get("facilities")
    return {"id": e.key, "label": e.label, "state": e.state or APPROVED, "name": p.get("name"), "regionCode": e.region,
            "address": p.get("address"), "lon": _num(p.get("lon")), "lat": _num(p.get("lat")), "teamType": p.get("teamType"),
            "members": int(members) if isinstance(members, (int, float)) else None, "equipment": p.get("equipment"),
            "areaM2": _num(p.get("areaM2")), "capacityPeople": int(capacity) if isinstance(capacity, (int, float)) else None,
            "shelterType": p.get("shelterType"),
            "facilities": [str(f) for f in facilities] if isinstance(facilities, list) else [str(facilities)] if facilities else [],
            "supplies": [{"id": str(s.get("id")), "name": s.get("name"), "category": s.get("category"), "quantity": _num(s.get("quantity")),
                          "unit": s.get("unit"), "state": s.get("reviewState") or APPROVED, "pendingUpdate": _held(s)}
                         for s in item.supplies],
            "warehouse": item.warehouse[0] if item.warehouse else None, "warehouseName": item.warehouse[1] if item.warehouse else None,
            "quantity": _num(p.get("quantity")) if e.label == SUPPLY else None, "unit": p.get("unit") if e.label == SUPPLY else None,
            "pendingUpdate": _held(p), "reviewNote": p.get("reviewNote") or None,
            "reviewedAt": str(p["reviewedAt"]) if p.get("reviewedAt") else None, "handledBy": p.get("handledBy")}


@router.get("/resources", response_model=ListingOut,
            summary="the census and its review queue in the caller's scope (inspectors: their regions; analysts, admins: "
                    "all); state=held lists entries whose update through the code waits for review")
def listing(state: Literal["pending", "approved", "rejected", "held"] | None = Query(None),
            region: str | None = Query(None, pattern=r"^\d{2}(\d{2}){0,2}$", description="GB/T 2260 code (county, city or province)"),
            kind: Literal["team", "warehouse", "shelter"] | None = Query(None),
            limit: int = Query(200, ge=1, le=1000), ctx: Context = CONTEXT) -> dict[str, Any]:
    census = Census(ctx.store)
    found = step(ctx, "census_list", "census", lambda: census.listing(ctx.caller, state=state, region=region, kind=kind, limit=limit))
    ctx.disclosed.mark("census#list", ctx.caller.ceiling)
    return {"items": [_listed(i) for i in found]}


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(..., min_length=1, max_length=2000, description="why the entry is rejected or its update discarded")


@router.post("/resources/{id}/approve", response_model=ResourceOut,
             summary="the region's bureau (an inspector of it, or an admin) approves or rejects a census entry or its "
                     "pending update; approval issues the entry's code")
def approve(id: str = Path(..., min_length=1, max_length=200), body: ApproveIn = Body(default_factory=lambda: ApproveIn(note=None)),
            ctx: Context = CONTEXT) -> dict[str, Any]:
    return _review(ctx, id, body)


@router.post("/resources/{id}/reject", response_model=ResourceOut,
             summary="the region's bureau rejects a pending census entry or discards the update waiting on an approved "
                     "one (note required)")
def reject(id: str = Path(..., min_length=1, max_length=200), body: RejectIn = Body(...), ctx: Context = CONTEXT) -> dict[str, Any]:
    return _review(ctx, id, ApproveIn(decision="rejected", note=body.note))


def _review(ctx: Context, id: str, body: ApproveIn) -> dict[str, Any]:
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
                raise ApiError(409, "conflict", N_("{label} {key} was approved but its code could not be issued: {exc}"),
                                                label=label, key=key, exc=exc) from None
            codes.append({"label": label, "key": key, "tokenId": issued.token_id, "url": issued.url})
    audit(ctx, "census_review", "ok", 200, subject=f"{done.entry.label}/{done.entry.key}",
          details={"record": done.written.record, "from": done.previous, "to": done.entry.state,
                   "codes": [c["tokenId"] for c in codes], "applied": done.applied})
    after(ctx, done.written, *done.supplies)
    return _out(done, codes)


class HistoryOut(Out):
    id: str
    label: str
    state: str | None
    entries: list[StateChangeOut]


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
        raise ApiError(422, "validation_error", N_("a {label} code does not update the census"),
                       [{"field": "token", "message": "not a census entry", "type": "invalid"}],
                                                label=facts.label)
    census = Census(ctx.store)
    values = body.model_dump(exclude_none=True)
    done = step(ctx, "census_update", f"{facts.label}/{facts.key}", lambda: census.update(
        origin_of(ctx), facts.label, facts.key, values, raw=values))
    audit(ctx, "census_update", "ok", 200, subject=f"{facts.label}/{facts.key}",
          details={"record": done.written.record, "mode": update_mode(), "values": values})
    after(ctx, done.written)
    return _out(done)
