"""Acting through a code: an enterprise files a hidden danger, anyone files a report, an inspector records
an inspection (its findings become hidden dangers). Each write goes through `riskgraph.workflows`
(the rectification loop in workflows/hidden_dangers.py, inspections in workflows/inspections.py):
checked against the ontology, and recorded with who, when and through which endpoint and request."""
from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel, ConfigDict, Field

from riskgraph.api import writes
from riskgraph.api.access import Role
from riskgraph.api.deps import CONTEXT, Context
from riskgraph.api.errors import invalid
from riskgraph.api.models import PROPERTIES_DESCRIPTION, Out
from riskgraph.api.positions import Crs, wgs84
from riskgraph.api.qr.entities import Facts
from riskgraph.api.routes.qr.common import _audit, _deny, _rate_limit, _verify, qr_service
from riskgraph.api.routes.workflow_common import after, photo_store, step
from riskgraph.api.schema import HIDDEN_DANGER, INSPECTION, RISK_POINT
from riskgraph.graph.values import LOCAL_TZ
from riskgraph.ontology.anchors import CONCERNS, PUBLIC_REPORT, SOURCE_CRS
from riskgraph.ontology.errors import N_
from riskgraph.ontology.model import Disclosure, class_term
from riskgraph.workflows.actors import Owner
from riskgraph.workflows.hidden_dangers import Loop
from riskgraph.workflows.inspections import Finding, Inspections
from riskgraph.workflows.writes import Link, Written

router = APIRouter(tags=["qr codes"])

#: what a hidden danger filed through a code records as its source (rg:reportSource)
SELF_INSPECTION = "企业自查"
#: what a public report filed through a code records as its source
SCAN_REPORT = "扫码举报"
#: the state a hidden danger filed through a code starts in (HiddenDangerState)
REPORTED = "REPORTED"


class LinkOut(Out):
    type: str = Field(description="the relationship type written")
    from_: str = Field(alias="from", description="Label/key of its start node")
    to: str = Field(description="Label/key of its end node")


class CreatedOut(Out):
    """The node the action wrote, as the caller may read it, and the relationships written with it."""

    label: str
    key: str
    properties: dict[str, Any] = Field(description=PROPERTIES_DESCRIPTION)
    links: list[LinkOut]


class HiddenDangerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., min_length=2, max_length=200, description="what is wrong (隐患描述)")
    grade: str = Field("GENERAL", description="GENERAL (一般隐患) or MAJOR (重大隐患): notation or label")
    description: str | None = Field(None, max_length=4000)
    hazardFactors: list[str] = Field(default_factory=list, max_length=20, description="GB/T 13861 factor codes")
    deadline: dt.date | None = Field(None, description="rectification deadline (RECTIFYING at once)")
    responsible: str | None = Field(None, max_length=100, description="整改责任人, with a deadline")
    photos: list[str] = Field(default_factory=list, max_length=9,
                              description="photo ids from POST /photos, or data:image/…;base64 URLs")


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(..., min_length=5, max_length=2000, description="what the reporter saw")
    contact: str | None = Field(None, max_length=100, description="phone or e-mail; stored masked, read only internally")
    lon: float | None = Field(None, ge=73.0, le=136.0, description="longitude, in `crs` (default WGS 84)")
    lat: float | None = Field(None, ge=3.0, le=54.0, description="latitude, in `crs` (default WGS 84)")
    crs: Crs = None


class FindingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., min_length=2, max_length=200, description="the hidden danger found")
    grade: str = Field("GENERAL", description="GENERAL (一般隐患) or MAJOR (重大隐患): notation or label")
    description: str | None = Field(None, max_length=4000)
    deadline: dt.date | None = Field(None, description="责令限期整改: the danger starts RECTIFYING")
    responsible: str | None = Field(None, max_length=100)
    riskPoint: str | None = Field(None, max_length=200, description="the risk point it is at")


class InspectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inspectedOn: dt.date | None = Field(None, description="default: today")
    inspectionType: str = Field("ROUTINE", description="EnforcementType notation or label (日常检查, 专项检查 …)")
    findings: int | None = Field(None, ge=0, le=100_000, description="problems found (default: the dangers listed)")
    conclusion: str | None = Field(None, max_length=4000)
    inspectors: str | None = Field(None, max_length=200, description="default: the caller's account")
    items: list[str] = Field(default_factory=list, max_length=100, description="the items checked")
    dangers: list[FindingIn] = Field(default_factory=list, max_length=100,
                                     description="findings: each becomes a hidden danger in the rectification loop")
    penalty: str | None = Field(None, max_length=2000, description="the penalty proposed (拟处罚建议)")
    photos: list[str] = Field(default_factory=list, max_length=9,
                              description="photo ids from POST /photos, or data:image/…;base64 URLs")


class InspectedOut(CreatedOut):
    hiddenDangers: list[CreatedOut] = Field(description="the hidden dangers the findings became")


def _new_id(prefix: str) -> str:
    return f"{prefix}-QR-{uuid.uuid4().hex[:12].upper()}"


def _today() -> dt.date:
    return dt.datetime.now(LOCAL_TZ).date()


def _owning_enterprise(ctx: Context, facts: Facts, what: str) -> tuple[str, str | None]:
    uscc = facts.enterprise
    if uscc is None:
        raise invalid(N_("{what_} are filed against an enterprise or one of its risk points; this code is for a {label} that belongs "
                         "to none"), "token", what_=what, label=class_term(facts.label))
    return uscc, facts.enterprise_region


def _created(ctx: Context, written: Written, level: Disclosure) -> dict[str, Any]:
    """The node written, as the caller may read it, and the relationships written with it."""
    return {"label": written.label, "key": written.key,
            "properties": ctx.disclosed.properties(written.label, written.properties, level),
            "links": [{"type": link.type, "from": "/".join(link.source), "to": "/".join(link.target)}
                      for link in written.links]}


def _enterprise_action(ctx: Context, token: str, action: str, what: str):
    """The checks every enterprise action through a code starts with: rate limit, a valid token,
    and the enterprise the coded entity belongs to. Returns (service, verified, uscc, region, subject)."""
    qr = qr_service(ctx.request)
    _rate_limit(ctx, qr.scan_limiter, "requests")
    verified = _verify(ctx, qr, token, action)
    uscc, region = _owning_enterprise(ctx, verified.facts, what)
    return qr, verified, uscc, region, f"{verified.facts.label}/{verified.facts.key}"


@router.post("/q/{token}/hidden-dangers", status_code=201, response_model=CreatedOut,
             summary="an enterprise files a self-inspection hidden danger against its own code (state REPORTED)")
def file_hidden_danger(token: str = Path(...), body: HiddenDangerIn = Body(...), ctx: Context = CONTEXT) -> dict:
    qr, verified, uscc, region, subject = _enterprise_action(ctx, token, "qr_hidden_danger", "hidden dangers")
    facts = verified.facts
    caller = ctx.caller
    if caller.role is not Role.ENTERPRISE or caller.uscc != uscc:
        raise _deny(ctx, "qr_hidden_danger", "only the enterprise's own account may file a self-inspection "
                                             "hidden danger through its code", subject)
    loop = Loop(ctx.store, photo_store(ctx.request))
    raw = {**body.model_dump(mode="json"), "photos": [p if len(p) <= 64 else "data:…" for p in body.photos]}
    written = step(ctx, "qr_hidden_danger", subject, lambda: loop.report(
        caller, writes.origin_of(ctx), Owner(uscc, region), name=body.name, grade=body.grade,
        description=body.description, hazard_factors=body.hazardFactors, deadline=body.deadline,
        responsible=body.responsible, risk_point=facts.key if facts.label == RISK_POINT else None,
        source=SELF_INSPECTION, photos=body.photos, raw=raw, prefix="HD-QR"))
    _audit(ctx, "qr_hidden_danger", "ok", 201, subject=f"{HIDDEN_DANGER}/{written.key}",
           details={"tokenId": verified.token_id, "entity": subject, "record": written.record})
    after(ctx, written)
    return _created(ctx, written, caller.enterprise_level(uscc, region))


_PHONE = re.compile(r"^\+?\d[\d -]{6,}\d$")


def mask_contact(text: str | None) -> str | None:
    """A contact as stored: a phone keeps its first 3 and last 4 digits, an e-mail its first letter and domain."""
    if not text or not text.strip():
        return None
    value = text.strip()
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    if _PHONE.match(value):
        digits = re.sub(r"\D", "", value)
        return digits[:3] + "*" * max(len(digits) - 7, 1) + digits[-4:]
    return value[:1] + "***" + (value[-1:] if len(value) > 2 else "")


@router.post("/q/{token}/reports", status_code=201, response_model=CreatedOut,
             summary="anyone files a hazard report about the code's entity (anonymous allowed, rate-limited)")
def file_report(token: str = Path(...), body: ReportIn = Body(...), ctx: Context = CONTEXT) -> dict:
    qr = qr_service(ctx.request)
    _rate_limit(ctx, qr.report_limiter, "reports")
    verified = _verify(ctx, qr, token, "qr_report")
    facts = verified.facts
    concerns = ctx.onto.relation(CONCERNS)
    if ctx.onto.is_a(facts.label, concerns.range):
        target = (facts.label, facts.key)
    elif facts.warehouses:  # a supply: the report concerns the warehouse that holds it
        target = ("Warehouse", facts.warehouses[0][0])
    else:
        raise invalid(N_("a report must concern a place; this {label} is stored nowhere"), "token", label=class_term(facts.label))
    contact = mask_contact(body.contact)
    lon, lat, crs = wgs84(body.lon, body.lat, body.crs)
    row = {
        "id": _new_id("PR"), "name": f"扫码举报：{facts.name}"[:200], "text": body.text.strip(),
        "reviewState": "pending", "contact": contact, "regionCode": facts.region,
        "lon": lon, "lat": lat, SOURCE_CRS: crs, "occurredAt": dt.datetime.now(LOCAL_TZ).replace(microsecond=0),
        "reportSource": SCAN_REPORT,
    }
    # the record keeps what was sent as the loaders keep a raw row, the contact masked as on the node
    raw = {**body.model_dump(mode="json"), "contact": contact}
    written = writes.create(ctx, PUBLIC_REPORT, row, links=[Link(concerns.type, target)], raw=raw)
    _audit(ctx, "qr_report", "ok", 201, subject=f"{PUBLIC_REPORT}/{written.key}",
           details={"tokenId": verified.token_id, "entity": f"{facts.label}/{facts.key}", "record": written.record})
    return _created(ctx, written, ctx.scope.level(PUBLIC_REPORT, written.properties))


@router.post("/q/{token}/inspections", status_code=201, response_model=InspectedOut,
             summary="an inspector records an inspection of the code's enterprise (within the inspector's regions)")
def record_inspection(token: str = Path(...), body: InspectionIn = Body(...), ctx: Context = CONTEXT) -> dict:
    qr, verified, uscc, region, subject = _enterprise_action(ctx, token, "qr_inspection", "inspections")
    caller = ctx.caller
    if caller.role is not Role.INSPECTOR or not caller.covers_region(region):
        raise _deny(ctx, "qr_inspection", "only an inspector whose regions cover the enterprise may record an "
                                          "inspection through its code", subject)
    inspections = Inspections(ctx.store, photo_store(ctx.request))
    findings = [Finding(name=d.name, grade=d.grade, description=d.description, deadline=d.deadline,
                        responsible=d.responsible, risk_point=d.riskPoint) for d in body.dangers]
    raw = {**body.model_dump(mode="json"), "photos": [p if len(p) <= 64 else "data:…" for p in body.photos]}
    done = step(ctx, "qr_inspection", subject, lambda: inspections.record(
        caller, writes.origin_of(ctx), Owner(uscc, region), inspected_on=body.inspectedOn,
        inspection_type=body.inspectionType, inspectors=body.inspectors, items=body.items, findings=findings,
        finding_count=body.findings, conclusion=body.conclusion, penalty=body.penalty, photos=body.photos, raw=raw))
    written = done.inspection
    _audit(ctx, "qr_inspection", "ok", 201, subject=f"{INSPECTION}/{written.key}",
           details={"tokenId": verified.token_id, "entity": subject, "record": written.record,
                    "hiddenDangers": [d.key for d in done.dangers]})
    after(ctx, written, *done.dangers)
    seen = caller.enterprise_level(uscc, region)
    return {**_created(ctx, written, seen), "hiddenDangers": [_created(ctx, d, seen) for d in done.dangers]}

