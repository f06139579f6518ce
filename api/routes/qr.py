"""一企一码: scan a code (`/q/{token}`), act through it, and issue, export and revoke codes (`/qr/…`).

Scanning is open to everyone: the token's signature, expiry and revocation are checked first, then
the entity's dossier is returned at the caller's level (anonymous: public fields). Anonymous scans
and reports are rate-limited per client address. Issuing codes (images, batches) is for inspectors,
within their regions, and admins; so is revoking them. Every scan, issue, action and revocation is
audited. Refusals of a code are 4xx in the one error shape with the reason as the code:

| status | code |
|---|---|
| 400 | `token_malformed` (not a RiskGraph code: bad characters, length, version or structure) |
| 403 | `unknown_key` (signed with a key this service does not know, or retired), `token_invalid_signature` |
| 410 | `token_expired`, `token_revoked` |
| 404 | `not_found` (the code is good but its entity is no longer in the graph) |
| 429 | `too_many_requests` (anonymous scans or reports from one address; `Retry-After`) |
"""
from __future__ import annotations

import datetime as dt
import math
import re
import threading
import uuid
from typing import Any

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from riskgraph.api.access import Role
from riskgraph.api.deps import CONTEXT, Context, client_of, services
from riskgraph.api.disclosure import level_name
from riskgraph.api.errors import ApiError, forbidden, invalid, not_found, unauthorized
from riskgraph.api.portraits import enterprise_portrait, risk_point_portrait
from riskgraph.api.qr.entities import QR_LABELS, Facts
from riskgraph.api.qr.page import render_page
from riskgraph.api.qr.render import QrTooLarge
from riskgraph.api.qr.service import Issued, QrService, Verified, iso, safe_name
from riskgraph.api.qr.token import TokenError, parse
from riskgraph.api.routes.common import region_param
from riskgraph.api.schema import ENTERPRISE, HIDDEN_DANGER, INSPECTION, RISK_POINT
from riskgraph.api.views import ViewBuilder
from riskgraph.graph.values import LOCAL_TZ
from riskgraph.ontology.anchors import CONCERNS, PUBLIC_REPORT
from riskgraph.ontology.model import Disclosure

router = APIRouter(tags=["qr codes"])

#: HTTP status for each reason a code is refused
TOKEN_STATUS = {"token_malformed": 400, "unknown_key": 403, "token_invalid_signature": 403,
                "token_expired": 410, "token_revoked": 410}
#: what a hidden danger filed through a code records as its source (rg:reportSource)
SELF_INSPECTION = "企业自查"
#: what a public report filed through a code records as its source
SCAN_REPORT = "扫码举报"
DEFAULT_LIMIT = 50
OTHER_OUT_DEPTH, OTHER_IN_DEPTH = 2, 1

_init_lock = threading.Lock()


def qr_service(request: Request) -> QrService:
    """The app's QR service, made on first use (settings: `app.state.qr_settings`, else the environment)."""
    app = request.app
    svc = getattr(app.state, "qr", None)
    if svc is None:
        with _init_lock:
            svc = getattr(app.state, "qr", None)
            if svc is None:
                core = services(request)
                svc = QrService(core.settings.data_dir, core.store, core.schema, getattr(app.state, "qr_settings", None))
                app.state.qr = svc
    return svc


def base_of(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _audit(ctx: Context, action: str, result: str, status: int, *, subject: str | None = None,
           details: dict | None = None) -> None:
    req = ctx.request
    ctx.svc.audit.record(ctx.caller, action, result, subject=subject, method=req.method, path=req.url.path[:300],
                         status=status, client=client_of(req), details=details)


def _rate_limit(ctx: Context, bucket, what: str) -> None:
    """Anonymous callers only: logged-in callers are accountable, and audited."""
    if not ctx.caller.anonymous:
        return
    wait = bucket.take(client_of(ctx.request) or "unknown")
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise ApiError(429, "too_many_requests", f"too many {what} from this address; try again in {seconds} s",
                       {"retryAfter": seconds}, headers={"Retry-After": str(seconds)})


def _verify(ctx: Context, qr: QrService, token: str, action: str) -> Verified:
    """The verified code, or the refusal (audited, no data)."""
    try:
        return qr.verify(token)
    except TokenError as exc:
        status = TOKEN_STATUS.get(exc.code, 400)
        details: dict[str, Any] = {"reason": exc.code}
        subject = None
        try:
            parsed = parse(token)
            details["tokenId"] = parsed.token_id
            claimed = f"{parsed.claims.label}/{parsed.claims.key}"
            if exc.code in ("token_expired", "token_revoked"):
                subject = claimed  # the signature held: the subject is real
            else:
                details["claimed"] = claimed
        except TokenError:
            pass
        _audit(ctx, action, exc.code, status, subject=subject, details=details)
        raise ApiError(status, exc.code, exc.message) from None
    except LookupError as exc:
        _audit(ctx, action, "not_found", 404)
        raise not_found(str(exc).replace(" is no longer in the graph", "")) from None


def _code_out(verified: Verified, reissued: Issued | None) -> dict[str, Any]:
    c = verified.claims
    out: dict[str, Any] = {
        "tokenId": verified.token_id, "version": c.version, "label": c.label, "key": c.key, "keyId": c.kid,
        "issuedAt": iso(c.issued_at), "expiresAt": iso(c.expires_at), "encryptedSummary": c.has_summary,
        "stale": verified.stale, "reissued": None,
    }
    if reissued is not None:
        out["reissued"] = {"tokenId": reissued.token_id, "token": reissued.token, "url": reissued.url,
                           "issuedAt": iso(reissued.claims.issued_at), "expiresAt": iso(reissued.claims.expires_at)}
    return out


def _dossier(ctx: Context, facts: Facts, limit: int) -> dict[str, Any]:
    if facts.label == ENTERPRISE:
        out = enterprise_portrait(ctx, facts.key, cap=limit, alarms=min(limit, 10))
    elif facts.label == RISK_POINT:
        out = risk_point_portrait(ctx, facts.key, cap=limit)
    else:
        builder = ViewBuilder(ctx.store, ctx.schema, ctx.scope, ctx.disclosed)
        root = builder.build(facts.label, facts.key, out_depth=OTHER_OUT_DEPTH, in_depth=OTHER_IN_DEPTH, cap=limit)
        if root is None:
            out = None
        else:
            ctx.disclosed.subject = f"{facts.label}/{facts.key}"
            out = builder.render(root)
            out["level"] = level_name(min(root.level, ctx.caller.ceiling))
    if out is None:
        raise not_found(f"{facts.label} {facts.key}")
    return out


def _wants_html(request: Request, fmt: str | None) -> bool:
    if fmt is not None:
        return fmt == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


# ---------------------------------------------------------------------- scanning
@router.get("/Q/{token}", include_in_schema=False)
@router.get("/q/{token}", summary="scan a code: verify it, then the entity's dossier at the caller's level",
            responses={200: {"content": {"application/json": {}, "text/html": {}}},
                       400: {"description": "token_malformed"}, 403: {"description": "unknown_key, token_invalid_signature"},
                       410: {"description": "token_expired, token_revoked"}, 429: {"description": "too_many_requests"}})
def scan(
    token: str = Path(..., description="the code's token (base32; case does not matter)"),
    format: str | None = Query(None, pattern="^(json|html)$", description="json or html (default: from Accept)"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=500, description="most items per relationship list"),
    ctx: Context = CONTEXT,
) -> Any:
    qr = qr_service(ctx.request)
    _rate_limit(ctx, qr.scan_limiter, "scans")
    verified = _verify(ctx, qr, token, "qr_scan")
    facts = verified.facts
    dossier = _dossier(ctx, facts, limit)
    reissued = None
    if verified.stale:
        reissued = qr.code(facts.label, facts.key, base_url=base_of(ctx.request),
                           summary=verified.claims.has_summary, issued_by="stale-reissue", facts=facts)
    body = {"code": _code_out(verified, reissued), "level": dossier.get("level"), "dossier": dossier}
    _audit(ctx, "qr_scan", "ok", 200, subject=f"{facts.label}/{facts.key}",
           details={"tokenId": verified.token_id, "stale": verified.stale, "level": dossier.get("level")})
    if _wants_html(ctx.request, format):
        return HTMLResponse(render_page(body, ctx.onto))
    return body


# ---------------------------------------------------------------------- acting through a code
class HiddenDangerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(..., min_length=2, max_length=200, description="what is wrong (隐患描述)")
    grade: str = Field("GENERAL", description="GENERAL (一般隐患) or MAJOR (重大隐患): notation or label")
    description: str | None = Field(None, max_length=4000)
    hazardFactors: list[str] = Field(default_factory=list, max_length=20, description="GB/T 13861 factor codes")
    deadline: dt.date | None = Field(None, description="rectification deadline")


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(..., min_length=5, max_length=2000, description="what the reporter saw")
    contact: str | None = Field(None, max_length=100, description="phone or e-mail; stored masked, read only internally")
    lon: float | None = Field(None, ge=73.0, le=136.0)
    lat: float | None = Field(None, ge=3.0, le=54.0)


class InspectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inspectedOn: dt.date | None = Field(None, description="default: today")
    inspectionType: str = Field("ROUTINE", description="EnforcementType notation or label (日常检查, 专项检查 …)")
    findings: int | None = Field(None, ge=0, le=100_000)
    conclusion: str | None = Field(None, max_length=4000)
    inspectors: str | None = Field(None, max_length=200, description="default: the caller's account")


def _concept(ctx: Context, label: str, prop: str, value: str, field: str) -> str:
    vocab = ctx.onto.properties_of(label)[prop].vocabulary
    concept = ctx.onto.vocabulary(vocab).lookup(value) if vocab else None
    if concept is None:
        known = sorted(ctx.onto.vocabulary(vocab).concepts) if vocab else []
        raise invalid(f"{value!r} is not a {prop} value; one of {known}", field)
    return concept.notation


def _new_id(prefix: str) -> str:
    return f"{prefix}-QR-{uuid.uuid4().hex[:12].upper()}"


def _today() -> dt.date:
    return dt.datetime.now(LOCAL_TZ).date()


def _deny(ctx: Context, action: str, message: str, subject: str) -> ApiError:
    if ctx.caller.anonymous:
        return unauthorized(message)
    _audit(ctx, action, "denied", 403, subject=subject, details={"role": ctx.caller.role.value})
    return forbidden(message, {"role": ctx.caller.role.value})


def _owning_enterprise(ctx: Context, facts: Facts, what: str) -> tuple[str, str | None]:
    uscc = facts.enterprise
    if uscc is None:
        raise invalid(f"{what} are filed against an enterprise or one of its risk points; this code is for a "
                      f"{facts.label} that belongs to none", "token")
    return uscc, facts.enterprise_region


def _created(ctx: Context, label: str, key: str, level: Disclosure, links: list[dict[str, str]]) -> dict[str, Any]:
    props = ctx.store.get_node(label, key) or {}
    return {"label": label, "key": key, "properties": ctx.disclosed.properties(label, props, level), "links": links}


def _enterprise_action(ctx: Context, token: str, action: str, what: str):
    """The checks every enterprise action through a code starts with: rate limit, a valid token,
    and the enterprise the coded entity belongs to. Returns (service, verified, uscc, region, subject)."""
    qr = qr_service(ctx.request)
    _rate_limit(ctx, qr.scan_limiter, "requests")
    verified = _verify(ctx, qr, token, action)
    uscc, region = _owning_enterprise(ctx, verified.facts, what)
    return qr, verified, uscc, region, f"{verified.facts.label}/{verified.facts.key}"


@router.post("/q/{token}/hidden-dangers", status_code=201,
             summary="an enterprise files a self-inspection hidden danger against its own code (state REPORTED)")
def file_hidden_danger(token: str = Path(...), body: HiddenDangerIn = Body(...), ctx: Context = CONTEXT) -> dict:
    qr, verified, uscc, region, subject = _enterprise_action(ctx, token, "qr_hidden_danger", "hidden dangers")
    facts = verified.facts
    caller = ctx.caller
    if caller.role is not Role.ENTERPRISE or caller.uscc != uscc:
        raise _deny(ctx, "qr_hidden_danger", "only the enterprise's own account may file a self-inspection "
                                             "hidden danger through its code", subject)
    schema = ctx.schema
    hd_id = _new_id("HD")
    row = {
        "id": hd_id, "name": body.name.strip(),
        "grade": _concept(ctx, HIDDEN_DANGER, "grade", body.grade, "grade"),
        "state": _concept(ctx, HIDDEN_DANGER, "state", "REPORTED", "state"),
        "foundOn": _today(), "deadline": body.deadline, "description": body.description,
        "hazardFactors": [_concept(ctx, HIDDEN_DANGER, "hazardFactors", f, "hazardFactors") for f in body.hazardFactors] or None,
        "regionCode": region, "reportSource": SELF_INSPECTION,
    }
    ctx.store.upsert_nodes(HIDDEN_DANGER, [row])
    has = schema.relation_between(ENTERPRISE, HIDDEN_DANGER).type
    links = [{"type": has, "from": f"{ENTERPRISE}/{uscc}", "to": f"{HIDDEN_DANGER}/{hd_id}"}]
    ctx.store.upsert_relationships(has, [{"from": uscc, "to": hd_id}])
    if facts.label == RISK_POINT:
        at = schema.relation_between(HIDDEN_DANGER, RISK_POINT).type
        ctx.store.upsert_relationships(at, [{"from": hd_id, "to": facts.key}])
        links.append({"type": at, "from": f"{HIDDEN_DANGER}/{hd_id}", "to": subject})
    _audit(ctx, "qr_hidden_danger", "ok", 201, subject=f"{HIDDEN_DANGER}/{hd_id}",
           details={"tokenId": verified.token_id, "entity": subject})
    return _created(ctx, HIDDEN_DANGER, hd_id, caller.enterprise_level(uscc, region), links)


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


@router.post("/q/{token}/reports", status_code=201,
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
        raise invalid(f"a report must concern a place; this {facts.label} is stored nowhere", "token")
    report_id = _new_id("PR")
    row = {
        "id": report_id, "name": f"扫码举报：{facts.name}"[:200], "text": body.text.strip(),
        "reviewState": "pending", "contact": mask_contact(body.contact), "regionCode": facts.region,
        "lon": body.lon, "lat": body.lat, "occurredAt": dt.datetime.now(LOCAL_TZ).replace(microsecond=0),
        "reportSource": SCAN_REPORT,
    }
    ctx.store.upsert_nodes(PUBLIC_REPORT, [row])
    ctx.store.upsert_relationships(concerns.type, [{"from": report_id, "to": target[1]}], to_label=target[0])
    _audit(ctx, "qr_report", "ok", 201, subject=f"{PUBLIC_REPORT}/{report_id}",
           details={"tokenId": verified.token_id, "entity": f"{facts.label}/{facts.key}"})
    props = ctx.store.get_node(PUBLIC_REPORT, report_id) or {}
    level = ctx.scope.level(PUBLIC_REPORT, props)
    return _created(ctx, PUBLIC_REPORT, report_id, level,
                    [{"type": concerns.type, "from": f"{PUBLIC_REPORT}/{report_id}", "to": f"{target[0]}/{target[1]}"}])


@router.post("/q/{token}/inspections", status_code=201,
             summary="an inspector records an inspection of the code's enterprise (within the inspector's regions)")
def record_inspection(token: str = Path(...), body: InspectionIn = Body(...), ctx: Context = CONTEXT) -> dict:
    qr, verified, uscc, region, subject = _enterprise_action(ctx, token, "qr_inspection", "inspections")
    caller = ctx.caller
    if caller.role is not Role.INSPECTOR or not caller.covers_region(region):
        raise _deny(ctx, "qr_inspection", "only an inspector whose regions cover the enterprise may record an "
                                          "inspection through its code", subject)
    day = body.inspectedOn or _today()
    if day > _today():
        raise invalid("an inspection cannot be recorded for a future day", "inspectedOn")
    ins_id = _new_id("IN")
    row = {
        "id": ins_id, "inspectedOn": day,
        "inspectionType": _concept(ctx, INSPECTION, "inspectionType", body.inspectionType, "inspectionType"),
        "inspectors": (body.inspectors or caller.username or "").strip() or None, "findings": body.findings,
        "conclusion": body.conclusion, "regionCode": region,
    }
    ctx.store.upsert_nodes(INSPECTION, [row])
    has = ctx.schema.relation_between(ENTERPRISE, INSPECTION).type
    ctx.store.upsert_relationships(has, [{"from": uscc, "to": ins_id}])
    _audit(ctx, "qr_inspection", "ok", 201, subject=f"{INSPECTION}/{ins_id}",
           details={"tokenId": verified.token_id, "entity": subject})
    return _created(ctx, INSPECTION, ins_id, caller.enterprise_level(uscc, region),
                    [{"type": has, "from": f"{ENTERPRISE}/{uscc}", "to": f"{INSPECTION}/{ins_id}"}])


# ---------------------------------------------------------------------- issuing codes
def _issuer(ctx: Context, facts: Facts, action: str) -> None:
    """Inspectors issue codes for entities in their regions; admins for any."""
    caller = ctx.caller
    if caller.role is Role.ADMIN or (caller.role is Role.INSPECTOR and caller.covers_region(facts.region)):
        return
    raise _deny(ctx, action, "issuing codes is for inspectors (within their regions) and admins",
                f"{facts.label}/{facts.key}")


def _facts(ctx: Context, qr: QrService, label: str, key: str) -> Facts:
    if label not in QR_LABELS:
        raise not_found(f"label {label!r} with codes", {"labels": list(QR_LABELS)})
    facts = qr.entities.get(label, key)
    if facts is None:
        raise not_found(f"{label} {key}")
    return facts


def _issue(ctx: Context, label: str, key: str, summary: bool, new: bool, days: int | None) -> tuple[QrService, Issued]:
    qr = qr_service(ctx.request)
    if ctx.caller.anonymous:
        raise unauthorized("log in: issuing codes is for inspectors and admins")
    facts = _facts(ctx, qr, label, key)
    _issuer(ctx, facts, "qr_issue")
    try:
        issued = qr.code(label, facts.key, base_url=base_of(ctx.request), summary=summary, new=new, days=days,
                         issued_by=ctx.caller.username, facts=facts)
    except QrTooLarge as exc:
        raise ApiError(422, "code_too_large", str(exc)) from None
    _audit(ctx, "qr_issue", "ok", 200, subject=f"{label}/{facts.key}",
           details={"tokenId": issued.token_id, "reused": issued.reused, "summary": summary})
    return qr, issued


def _image_headers(issued: Issued, ext: str) -> dict[str, str]:
    return {"Content-Disposition": f'inline; filename="{safe_name(issued.facts.key)}.{ext}"',
            "X-QR-Token-Id": issued.token_id, "X-QR-Version": f"{issued.qr_version}-M", "Cache-Control": "no-store"}


SUMMARY_Q = Query(False, description="carry an AES-GCM encrypted summary (name, colour, level, region)")
NEW_Q = Query(False, description="issue a new code even if a current one exists")
DAYS_Q = Query(None, ge=1, le=36_500, description="lifetime of a new code in days (default RISKGRAPH_QR_DAYS)")
LABEL_P = Path(..., description=f"one of {', '.join(QR_LABELS)}")


@router.get("/qr/keys", summary="the codes' public signing keys (JWK, Ed25519), for offline verification")
def public_keys(request: Request) -> dict:
    return {"keys": qr_service(request).keyring.public_keys()}


@router.get("/qr/{label}/{key}.png", response_class=Response, responses={200: {"content": {"image/png": {}}}},
            summary="the entity's placard as PNG (inspector within its regions, admin)")
def code_png(label: str = LABEL_P, key: str = Path(..., min_length=1, max_length=200), summary: bool = SUMMARY_Q,
             new: bool = NEW_Q, days: int | None = DAYS_Q, ctx: Context = CONTEXT) -> Response:
    qr, issued = _issue(ctx, label, key, summary, new, days)
    return Response(qr.png(issued), media_type="image/png", headers=_image_headers(issued, "png"))


@router.get("/qr/{label}/{key}.svg", response_class=Response, responses={200: {"content": {"image/svg+xml": {}}}},
            summary="the entity's placard as SVG (inspector within its regions, admin)")
def code_svg(label: str = LABEL_P, key: str = Path(..., min_length=1, max_length=200), summary: bool = SUMMARY_Q,
             new: bool = NEW_Q, days: int | None = DAYS_Q, ctx: Context = CONTEXT) -> Response:
    qr, issued = _issue(ctx, label, key, summary, new, days)
    return Response(qr.svg(issued), media_type="image/svg+xml", headers=_image_headers(issued, "svg"))


@router.get("/qr/{label}/{key}.json", summary="the entity's current code: token, URL, dates (inspector, admin)")
def code_json(label: str = LABEL_P, key: str = Path(..., min_length=1, max_length=200), summary: bool = SUMMARY_Q,
              new: bool = NEW_Q, days: int | None = DAYS_Q, ctx: Context = CONTEXT) -> dict:
    _, issued = _issue(ctx, label, key, summary, new, days)
    return issued.describe()


def _batch(ctx: Context, code: str, summary: bool) -> tuple[QrService, list[Issued], str]:
    qr = qr_service(ctx.request)
    prefix = region_param(code, "code")
    caller = ctx.caller
    if caller.anonymous:
        raise unauthorized("log in: batch exports are for inspectors and admins")
    if not (caller.role is Role.ADMIN or (caller.role is Role.INSPECTOR and any(prefix.startswith(p) for p in caller.prefixes))):
        raise _deny(ctx, "qr_batch", "batch exports are for admins and inspectors, within their regions", f"Region/{code}")
    try:
        codes = qr.region_codes(prefix, base_url=base_of(ctx.request), summary=summary, issued_by=caller.username)
    except QrTooLarge as exc:
        raise ApiError(413, "batch_too_large", str(exc)) from None
    _audit(ctx, "qr_batch", "ok", 200, subject=f"Region/{code}", details={"codes": len(codes), "summary": summary})
    return qr, codes, prefix


@router.get("/qr/regions/{code}.zip", response_class=Response, responses={200: {"content": {"application/zip": {}}}},
            summary="every code of a region: PNG and SVG placards per entity and index.csv (inspector, admin)")
def region_zip(code: str = Path(..., description="GB/T 2260 code (130100 covers its counties)"),
               summary: bool = SUMMARY_Q, ctx: Context = CONTEXT) -> Response:
    qr, codes, _ = _batch(ctx, code, summary)
    return Response(qr.batch_zip(codes), media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="qr-{code}.zip"', "X-QR-Count": str(len(codes))})


@router.get("/qr/regions/{code}.pdf", response_class=Response, responses={200: {"content": {"application/pdf": {}}}},
            summary="every code of a region as a printable A4 sheet, 6 placards a page (inspector, admin)")
def region_pdf(code: str = Path(...), summary: bool = SUMMARY_Q, ctx: Context = CONTEXT) -> Response:
    qr, codes, _ = _batch(ctx, code, summary)
    return Response(qr.batch_pdf(codes, title=f"RiskGraph 一企一码 {code}"), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="qr-{code}.pdf"', "X-QR-Count": str(len(codes))})


# ---------------------------------------------------------------------- revocation, re-issue
class RevocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tokenId: str | None = Field(None, min_length=16, max_length=16, description="revoke one code")
    token: str | None = Field(None, max_length=1000, description="revoke one code, given its token")
    label: str | None = Field(None, description="with key: revoke every code of the entity issued so far")
    key: str | None = Field(None, max_length=200)
    reason: str | None = Field(None, max_length=500)


@router.post("/qr/revocations", summary="revoke a code, or every code so far of an entity (inspector within "
                                        "its regions, admin)")
def revoke(body: RevocationIn = Body(...), ctx: Context = CONTEXT) -> dict:
    qr = qr_service(ctx.request)
    if ctx.caller.anonymous:
        raise unauthorized("log in: revoking codes is for inspectors and admins")
    label, key = body.label, body.key
    token_id = body.tokenId.upper() if body.tokenId else None
    if body.token:
        try:
            parsed = parse(body.token)
            # only a code this service signed can be revoked: a forged one would only add junk to the list
            parsed.verify(qr.keyring.verifier(parsed.claims.kid))
        except TokenError as exc:
            raise ApiError(400, exc.code, exc.message) from None
        token_id, label, key = parsed.token_id, parsed.claims.label, parsed.claims.key
    elif token_id:
        record = qr.registry.get(token_id)
        if record is None:
            raise not_found(f"code {token_id}")
        label, key = record.label, record.key
    if not (label and key):
        raise invalid("give tokenId, token, or label and key", "tokenId")
    facts = _facts(ctx, qr, label, key)
    _issuer(ctx, facts, "qr_revoke")
    result = qr.revoke(token_id_=token_id, label=None if token_id else label, key=None if token_id else key,
                       by=ctx.caller.username, reason=body.reason)
    _audit(ctx, "qr_revoke", "ok", 200, subject=f"{label}/{facts.key}", details=result)
    return result


@router.get("/qr/revocations", summary="the revocation list (admin)")
def revocations(ctx: Context = CONTEXT) -> dict:
    if ctx.caller.role is not Role.ADMIN:
        raise _deny(ctx, "qr_revocations", "the revocation list is for admins", "qr")
    return qr_service(ctx.request).registry.revocations()


@router.post("/qr/reissue", summary="re-issue the code of every entity whose public fields changed since (admin)")
def reissue(ctx: Context = CONTEXT) -> dict:
    if ctx.caller.role is not Role.ADMIN:
        raise _deny(ctx, "qr_reissue", "re-issuing every changed code is for admins", "qr")
    done = qr_service(ctx.request).reissue_changed(base_url=base_of(ctx.request), issued_by=ctx.caller.username)
    _audit(ctx, "qr_reissue", "ok", 200, details={"reissued": len(done)})
    return {"reissued": [{"label": old.label, "key": old.key, "previousTokenId": old.token_id, **new.describe()}
                         for old, new in done]}
