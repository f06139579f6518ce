"""Reports from the public and from staff over HTTP (workflows/public_reports.py holds the rules):

    POST /reports                     anyone: 随手记 (text, lat/lon [+ crs] or region, qrToken, kind, photos) → 201 + triage
    POST /disaster-points/reports     anyone: a natural-disaster risk point (disasterType, location, photos)
    POST /reports/receipt             the reporter: the state of the report a receipt code was given for
    GET  /reports?state=&region=      inspectors (their regions), analysts, admins
    POST /reports/{id}/verify         confirmed | rejected | duplicate (an inspector of the region, or an admin)
    POST /reports/{id}/reopen         rejected | duplicate → pending (as verify)
    GET  /reports/{id}/history        every step: who, when, from, to, why
    GET  /warning-reports?region=     预警报告: each county's pending reports, most urgent first

Anonymous filing is limited per client address and hour by `RISKGRAPH_PUBLIC_REPORTS_PER_HOUR` (default 20) and
by the body-size class of reports at the edge (api/limits.py). The receipt code is handed out once, in
the `X-Receipt-Code` header of the 201 answer (the body keeps the issue's fixed shape).
"""
from __future__ import annotations

import datetime as dt
import math
import threading
from typing import Any, Literal

from fastapi import APIRouter, Body, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from riskgraph.api.access import Caller
from riskgraph.api.deps import CONTEXT, Context, client_of
from riskgraph.api.errors import ApiError
from riskgraph.api.models import Out, StateChangeOut
from riskgraph.api.positions import Crs, wgs84
from riskgraph.api.qr.ratelimit import TokenBucket
from riskgraph.api.routes.qr.actions import mask_contact
from riskgraph.api.routes.qr.common import _verify, qr_service
from riskgraph.api.routes.workflow_common import after, audit, photo_store, step
from riskgraph.api.writes import origin_of
from riskgraph.graph.dialect import ident
from riskgraph.graph.env import env_int
from riskgraph.graph.values import LOCAL_TZ
from riskgraph.ontology.anchors import CONCERNS, PUBLIC_REPORT, WAREHOUSE
from riskgraph.ontology.anchors import REGION as REGION_LABEL
from riskgraph.ontology.errors import N_
from riskgraph.ontology.model import Ontology
from riskgraph.reasoning.text.triage import Triage
from riskgraph.workflows.actors import Missing
from riskgraph.workflows.public_reports import DISASTER_POINT_REPORT, MEMO, Report, Reports, Verified

router = APIRouter(tags=["public reports"])

ENV_PER_HOUR = "RISKGRAPH_PUBLIC_REPORTS_PER_HOUR"
DEFAULT_PER_HOUR = 20
RECEIPT_HEADER = "X-Receipt-Code"
_lock = threading.Lock()

ID = Path(..., min_length=1, max_length=200, description="the report's id")
PHOTOS: Any = Field(default_factory=list, max_length=3, description="photo ids from POST /photos, or data:image/…;base64 URLs")
REGION = Field(None, pattern=r"^\d{6}$", description="GB/T 2260 county code, when the place is not given otherwise")


def per_hour() -> int:
    return env_int(ENV_PER_HOUR, DEFAULT_PER_HOUR)


def limit_reports(ctx: Context, what: str = "reports") -> None:
    """At most RISKGRAPH_PUBLIC_REPORTS_PER_HOUR anonymous reports per client address and hour (signed-in
    staff are accountable and audited: the edge's rate limit per account applies to them)."""
    if not ctx.caller.anonymous:
        return
    app = ctx.request.app
    n = per_hour()
    held = getattr(app.state, "public_report_limiter", None)
    if held is None or held[0] != n:  # first use, or the setting changed: a fresh hour for everyone
        with _lock:
            held = getattr(app.state, "public_report_limiter", None)
            if held is None or held[0] != n:
                held = (n, TokenBucket(n, n / 3600.0))
                app.state.public_report_limiter = held
    bucket = held[1]
    wait = bucket.take(client_of(ctx.request) or "unknown")
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        audit(ctx, "report_file", "rate_limited", 429)
        raise ApiError(429, "too_many_requests", N_("too many {what_} from this client; try again in {seconds} s"),
                       {"retryAfter": seconds}, headers={"Retry-After": str(seconds)},
                                                 what_=what, seconds=seconds)


# ---------------------------------------------------------------------- bodies
class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(..., min_length=5, max_length=2000, description="what the reporter saw, in their words")
    lat: float | None = Field(None, ge=3.0, le=54.0, description="latitude, in `crs` (default WGS 84)")
    lon: float | None = Field(None, ge=73.0, le=136.0, description="longitude, in `crs` (default WGS 84)")
    crs: Crs = None
    region: str | None = REGION
    qrToken: str | None = Field(None, max_length=400, description="the code of the entity concerned, if scanned")
    kind: Literal["安全生产", "自然灾害"] | None = Field(None, description="inferred from the text when not given")
    photos: list[str] = PHOTOS
    contact: str | None = Field(None, max_length=100, description="phone or e-mail; stored masked, read only internally")


class DisasterPointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(..., min_length=5, max_length=2000, description="what is at risk and what was seen")
    disasterType: str = Field(..., max_length=40, description="DisasterType notation or label: 水旱灾害, 地质灾害, 森林火灾, 气象灾害 …")
    lat: float | None = Field(None, ge=3.0, le=54.0, description="latitude, in `crs` (default WGS 84)")
    lon: float | None = Field(None, ge=73.0, le=136.0, description="longitude, in `crs` (default WGS 84)")
    crs: Crs = None
    region: str | None = REGION
    photos: list[str] = PHOTOS
    contact: str | None = Field(None, max_length=100)


class ReceiptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(..., min_length=8, max_length=100, description="the X-Receipt-Code given when the report was filed")


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["confirmed", "rejected", "duplicate"]
    note: str | None = Field(None, max_length=2000, description="the reason (required to reject or mark a duplicate)")
    outcome: Literal["hidden_danger", "inspection_lead", "disaster_point"] | None = Field(
        None, description="what a confirmed report becomes (default: a hidden danger of the enterprise it concerns, "
                          "a disaster risk point for a natural-disaster report, else an inspection lead)")
    duplicateOf: str | None = Field(None, max_length=200, description="the report or hidden danger it repeats")
    grade: Literal["GENERAL", "MAJOR"] = Field("GENERAL", description="the hidden danger's grade")
    disasterType: str | None = Field(None, max_length=40, description="for a disaster risk point")


class ReopenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(..., min_length=1, max_length=2000)


# ---------------------------------------------------------------------- answers
class EnterpriseLinkOut(Out):
    uscc: str
    name: str
    score: float = Field(description="0–1: 1 the code's or the full name, 0.9 字号 + 行业, ≤ 0.85 a near spelling, "
                                     "0.4–0.7 the nearest enterprise within 300 m")
    via: str = Field(description="code, name, short_name, near_name or location")


class TriageOut(Out):
    accidentTypes: list[str] = Field(description="likely GB 6441 accident types, most likely first")
    hazardFactor: str | None = Field(description="GB/T 13861 top class: 人的因素, 物的因素, 环境因素 or 管理因素")
    urgency: str = Field(description="high, medium or low")
    kind: str = Field(description="安全生产 or 自然灾害")
    enterprise: EnterpriseLinkOut | None
    regionCode: str | None = Field(description="GB/T 2260 county (from the region, the code, the coordinates, a place "
                                               "or address in the text, or the enterprise)")


class FiledOut(Out):
    id: str
    state: str = Field(description="pending, or duplicate when it repeats an open report or hidden danger")
    triage: TriageOut


class ReceiptOut(Out):
    id: str
    state: str
    filedAt: str | None
    reviewedAt: str | None
    outcome: str | None


class ReportOut(Out):
    id: str
    state: str
    text: str | None
    kind: str | None
    accidentTypes: list[str]
    hazardFactor: str | None
    urgency: str | None
    regionCode: str | None
    regionBasis: str | None
    place: str | None
    enterprise: str | None = Field(description="USCC of the enterprise it concerns")
    linkScore: float | None
    occurredAt: str | None
    source: str | None
    outcome: str | None
    note: str | None
    allowed: list[str] = Field(description="the steps the caller may take: confirm, reject, duplicate, reopen")


class ReportsOut(Out):
    items: list[ReportOut]


class VerifiedOut(Out):
    id: str
    state: str
    previousState: str
    outcome: str | None
    result: dict[str, str] | None = Field(description="the finding a confirmation made: label and key")
    allowed: list[str]


class HistoryOut(Out):
    id: str
    state: str
    entries: list[StateChangeOut]


class CountyReportOut(Out):
    regionCode: str
    regionName: str | None
    counts: dict[str, int] = Field(description="pending reports per urgency")
    reports: list[ReportOut]


class WarningReportOut(Out):
    region: str
    regionName: str | None
    generatedAt: str
    counties: list[CountyReportOut]


# ---------------------------------------------------------------------- helpers
def _label(onto: Ontology, scheme: str, notation: str | None) -> str | None:
    if notation is None:
        return None
    concept = onto.vocabulary(scheme).concepts.get(str(notation))
    return concept.pref_zh if concept else str(notation)


def triage_out(onto: Ontology, t: Triage) -> dict[str, Any]:
    link = t.enterprise
    return {"accidentTypes": [_label(onto, "AccidentType", c) for c in t.accident_types],
            "hazardFactor": _label(onto, "HazardFactor", t.hazard_factor), "urgency": t.urgency, "kind": t.kind,
            "enterprise": {"uscc": link.uscc, "name": link.name, "score": link.score, "via": link.via} if link else None,
            "regionCode": t.region}


def report_out(onto: Ontology, caller: Caller, reports: Reports, r: Report) -> dict[str, Any]:
    p = r.props
    at = p.get("occurredAt")
    return {"id": r.id, "state": r.state, "text": p.get("text"), "kind": p.get("reportKind"),
            "accidentTypes": [_label(onto, "AccidentType", c) or c for c in (p.get("triageAccidentTypes") or [])],
            "hazardFactor": _label(onto, "HazardFactor", p.get("triageHazardFactor")), "urgency": p.get("reportUrgency"),
            "regionCode": p.get("regionCode") or r.region, "regionBasis": p.get("regionBasis"), "place": p.get("placeText"),
            "enterprise": r.enterprise, "linkScore": p.get("linkScore"),
            "occurredAt": _iso(at),
            "source": p.get("reportSource"), "outcome": p.get("outcome"), "note": p.get("reviewNote"),
            "allowed": reports.allowed(caller, r)}


def _reports(ctx: Context, *, photos: bool = False) -> Reports:
    """The workflow, with the app's photo store and the triage model kept in the data directory."""
    return Reports(ctx.store, photo_store(ctx.request) if photos else None, model_dir=ctx.svc.settings.data_dir / "models")


def _file(ctx: Context, response: Response, action: str, run) -> dict[str, Any]:
    filed = step(ctx, action, PUBLIC_REPORT, run)
    audit(ctx, action, "ok", 201, subject=f"{PUBLIC_REPORT}/{filed.written.key}",
          details={"record": filed.written.record, "duplicateOf": "/".join(filed.duplicate_of) if filed.duplicate_of else None})
    after(ctx, filed.written)
    response.headers[RECEIPT_HEADER] = filed.receipt
    response.headers["Cache-Control"] = "no-store"
    return {"id": filed.written.key, "state": filed.written.properties.get("reviewState"),
            "triage": triage_out(ctx.onto, filed.triage)}


# ---------------------------------------------------------------------- routes
@router.post("/reports", status_code=201, response_model=FiledOut,
             summary="随手记: anyone reports a hazard (no account needed; rate- and size-limited); answers the triage")
def file_report(response: Response, body: ReportIn = Body(...), ctx: Context = CONTEXT) -> dict[str, Any]:
    limit_reports(ctx)
    concerns = code_enterprise = code_region = None
    if body.qrToken:
        facts = _verify(ctx, qr_service(ctx.request), body.qrToken, "report_file").facts
        concerns_rel = ctx.onto.relation(CONCERNS)
        if ctx.onto.is_a(facts.label, concerns_rel.range):
            concerns = (facts.label, facts.key)
        elif facts.warehouses:
            concerns = (WAREHOUSE, facts.warehouses[0][0])
        code_enterprise, code_region = facts.enterprise, facts.region
    reports = _reports(ctx, photos=True)
    contact = mask_contact(body.contact)
    raw = {**body.model_dump(mode="json"), "contact": contact, "qrToken": "…" if body.qrToken else None,
           "photos": [p if len(p) <= 64 else "data:…" for p in body.photos]}
    lon, lat, crs = wgs84(body.lon, body.lat, body.crs)
    return _file(ctx, response, "report_file", lambda: reports.file(
        ctx.caller, origin_of(ctx), text=body.text, lon=lon, lat=lat, region=body.region, kind=body.kind,
        concerns=concerns, code_enterprise=code_enterprise, code_region=code_region, photos=body.photos,
        contact=contact, source=MEMO, raw=raw, source_crs=crs))


@router.post("/disaster-points/reports", status_code=201, response_model=FiledOut,
             summary="staff or the public report a natural-disaster risk point (type, location, photos); local "
                     "emergency staff verify it through POST /reports/{id}/verify")
def file_disaster_point(response: Response, body: DisasterPointIn = Body(...), ctx: Context = CONTEXT) -> dict[str, Any]:
    limit_reports(ctx)
    reports = _reports(ctx, photos=True)
    contact = mask_contact(body.contact)
    raw = {**body.model_dump(mode="json"), "contact": contact, "photos": [p if len(p) <= 64 else "data:…" for p in body.photos]}
    lon, lat, crs = wgs84(body.lon, body.lat, body.crs)
    return _file(ctx, response, "disaster_point_report", lambda: reports.file(
        ctx.caller, origin_of(ctx), text=body.text, lon=lon, lat=lat, region=body.region,
        disaster_type=body.disasterType, photos=body.photos, contact=contact, source=DISASTER_POINT_REPORT, raw=raw,
        source_crs=crs))


@router.post("/reports/receipt", response_model=ReceiptOut,
             summary="the reporter follows their report with its receipt code (nothing else is shown)")
def receipt(body: ReceiptIn = Body(...), ctx: Context = CONTEXT) -> dict[str, Any]:
    limit_reports(ctx, "receipt checks")
    reports = _reports(ctx)
    try:
        r = reports.by_receipt(body.code)
    except Missing:
        audit(ctx, "report_receipt", "not_found", 404)
        raise ApiError(404, "not_found", N_("no report has this receipt code")) from None
    audit(ctx, "report_receipt", "ok", 200, subject=f"{PUBLIC_REPORT}/{r.id}")
    at, reviewed = r.props.get("occurredAt"), r.props.get("reviewedAt")
    return {"id": r.id, "state": r.state, "filedAt": _iso(at), "reviewedAt": _iso(reviewed), "outcome": r.props.get("outcome")}


def _iso(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value) if value else None


@router.get("/reports", response_model=ReportsOut,
            summary="reports in the caller's scope, newest first (inspectors: their regions; analysts, admins: all)")
def list_reports(state: Literal["pending", "confirmed", "rejected", "duplicate"] | None = Query(None),
                 region: str | None = Query(None, pattern=r"^\d{2}(\d{2}){0,2}$"),
                 limit: int = Query(100, ge=1, le=1000), ctx: Context = CONTEXT) -> dict[str, Any]:
    reports = _reports(ctx)
    found = step(ctx, "report_list", PUBLIC_REPORT, lambda: reports.listing(ctx.caller, state=state, region=region, limit=limit))
    reports.untriaged(found)
    ctx.disclosed.mark(f"{PUBLIC_REPORT}#list", ctx.caller.ceiling)
    return {"items": [report_out(ctx.onto, ctx.caller, reports, r) for r in found]}


def _verified(ctx: Context, reports: Reports, action: str, done: Verified) -> dict[str, Any]:
    result = {"label": done.result.label, "key": done.result.key} if done.result is not None else None
    audit(ctx, action, "ok", 200, subject=f"{PUBLIC_REPORT}/{done.report.id}",
          details={"record": done.written.record, "from": done.previous, "to": done.report.state, "result": result})
    after(ctx, done.written, done.result)
    return {"id": done.report.id, "state": done.report.state, "previousState": done.previous,
            "outcome": done.report.props.get("outcome"), "result": result,
            "allowed": reports.allowed(ctx.caller, done.report)}


@router.post("/reports/{id}/verify", response_model=VerifiedOut,
             summary="an inspector of the report's region verifies it: confirmed (→ hidden danger, inspection lead or "
                     "disaster risk point, the report kept as evidence), rejected or duplicate (kept with the reason)")
def verify(id: str = ID, body: VerifyIn = Body(...), ctx: Context = CONTEXT) -> dict[str, Any]:
    reports = _reports(ctx)
    done = step(ctx, "report_verify", f"{PUBLIC_REPORT}/{id}", lambda: reports.verify(
        ctx.caller, origin_of(ctx), id, decision=body.decision, note=body.note, outcome=body.outcome,
        duplicate_of=body.duplicateOf, grade=body.grade, disaster_type=body.disasterType, raw=body.model_dump(mode="json")))
    return _verified(ctx, reports, "report_verify", done)


@router.post("/reports/{id}/reopen", response_model=VerifiedOut,
             summary="reopen a rejected or duplicate report: → pending (as verify)")
def reopen(id: str = ID, body: ReopenIn = Body(...), ctx: Context = CONTEXT) -> dict[str, Any]:
    reports = _reports(ctx)
    done = step(ctx, "report_reopen", f"{PUBLIC_REPORT}/{id}", lambda: reports.reopen(
        ctx.caller, origin_of(ctx), id, note=body.note, raw=body.model_dump(mode="json")))
    return _verified(ctx, reports, "report_reopen", done)


@router.get("/reports/{id}/history", response_model=HistoryOut,
            summary="every step of a report: when, by whom, from which state to which, why")
def history(id: str = ID, ctx: Context = CONTEXT) -> dict[str, Any]:
    reports = _reports(ctx)
    report, entries = step(ctx, "report_history", f"{PUBLIC_REPORT}/{id}", lambda: reports.history(ctx.caller, id))
    ctx.disclosed.mark(f"{PUBLIC_REPORT}/{id}#history", ctx.caller.ceiling)
    return {"id": id, "state": report.state, "entries": entries}


@router.get("/warning-reports", response_model=WarningReportOut,
            summary="预警报告: the triaged pending reports of each county under the region, most urgent first, for its bureau")
def warning_reports(region: str = Query(..., pattern=r"^\d{2}(\d{2}){0,2}$", description="GB/T 2260 code (county, city or province)"),
                    ctx: Context = CONTEXT) -> dict[str, Any]:
    reports = _reports(ctx)
    grouped = step(ctx, "warning_report", f"Region/{region}", lambda: reports.warning_report(ctx.caller, region))
    ctx.disclosed.mark(f"Region/{region}#warning-report", ctx.caller.ceiling)
    names = _names(ctx, [region, *grouped])
    counties = []
    for code, items in grouped.items():
        counts = {u: sum(1 for r in items if r.props.get("reportUrgency") == u) for u in ("high", "medium", "low")}
        counties.append({"regionCode": code, "regionName": names.get(code), "counts": counts,
                         "reports": [report_out(ctx.onto, ctx.caller, reports, r) for r in items]})
    return {"region": region, "regionName": names.get(region), "counties": counties,
            "generatedAt": dt.datetime.now(LOCAL_TZ).isoformat(timespec="seconds")}


def _names(ctx: Context, codes: list[str]) -> dict[str, str]:
    key = ident(ctx.onto.key_of(REGION_LABEL))
    rows = ctx.store.read(f"MATCH (r:{ident(REGION_LABEL)}) WHERE r.{key} IN $codes RETURN r.{key} AS c, r.name AS n",
                          {"codes": codes})
    return {str(r["c"]): str(r["n"]) for r in rows}
