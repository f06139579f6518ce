"""Scanning a code: `GET /q/{token}` verifies it, then returns the entity's dossier at the caller's level
(JSON; a phone's browser asking for text/html gets the mobile page of `riskgraph.web`)."""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import Field

from riskgraph.api.deps import CONTEXT, Context
from riskgraph.api.disclosure import level_name
from riskgraph.api.errors import ErrorBody, not_found
from riskgraph.api.models import LEVEL, EnterprisePortrait, EntityView, LevelName, Out, RiskPointPortrait
from riskgraph.api.portraits import enterprise_portrait, risk_point_portrait
from riskgraph.api.qr.entities import Facts
from riskgraph.api.qr.policy import PublicPolicy
from riskgraph.api.qr.service import Issued, Verified, iso
from riskgraph.api.routes.qr.common import _audit, _rate_limit, _verify, base_of, qr_service
from riskgraph.api.schema import ENTERPRISE, RISK_POINT
from riskgraph.api.views import ViewBuilder
from riskgraph.api.writes import origin_of
from riskgraph.graph.values import LOCAL_TZ
from riskgraph.ontology.errors import N_
from riskgraph.ontology.model import class_term
from riskgraph.workflows.reminders import placard_reminder, send
from riskgraph.workflows.writes import WriteError

router = APIRouter(tags=["qr codes"])
log = logging.getLogger("riskgraph.api")

DEFAULT_LIMIT = 50
OTHER_OUT_DEPTH, OTHER_IN_DEPTH = 2, 1


class ReissuedCode(Out):
    """The entity's current code, when the one scanned is stale: print this one instead."""

    tokenId: str
    token: str
    url: str
    issuedAt: str
    expiresAt: str


class CodeOut(Out):
    """What the scanned code says, once verified."""

    tokenId: str = Field(description="the code's id (16 base32 characters), printed on the placard")
    version: int = Field(description="token format version")
    label: str
    key: str
    keyId: int = Field(description="the signing key (see GET /qr/keys)")
    issuedAt: str
    expiresAt: str
    encryptedSummary: bool = Field(description="the code carries an AES-GCM encrypted summary")
    stale: bool | None = Field(description="what the code carries (its printed name; a summary's fields) changed since "
                                           "it was issued: a new placard is due. Told to the enterprise and its bureau "
                                           "only (null for everyone else); the colour and the dossier are always live")
    reissued: ReissuedCode | None


class ScanOut(Out):
    code: CodeOut
    level: LevelName = Field(description=LEVEL)
    dossier: EnterprisePortrait | RiskPointPortrait | EntityView = Field(
        description="an enterprise's portrait, a risk point's chain, or any other entity with its surroundings")


_SCAN_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {"schema": {"type": "string", "description": "a mobile page of the same data"}}}},
    400: {"model": ErrorBody, "description": "token_malformed"},
    403: {"model": ErrorBody, "description": "unknown_key, token_invalid_signature"},
    410: {"model": ErrorBody, "description": "token_expired, token_revoked"},
    429: {"model": ErrorBody, "description": "too_many_requests"},
}


def _code_out(verified: Verified, reissued: Issued | None, told: bool = True) -> dict[str, Any]:
    c = verified.claims
    out: dict[str, Any] = {
        "tokenId": verified.token_id, "version": c.version, "label": c.label, "key": c.key, "keyId": c.kid,
        "issuedAt": iso(c.issued_at), "expiresAt": iso(c.expires_at), "encryptedSummary": c.has_summary,
        "stale": verified.stale if told else None, "reissued": None,
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
        raise not_found(N_("{label} {key}"), label=class_term(facts.label), key=facts.key)
    return out


def _wants_html(request: Request, fmt: str | None) -> bool:
    if fmt is not None:
        return fmt == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


def public_policy(request: Request) -> PublicPolicy:
    """The bureau's policy for public scans (`app.state.public_policy`, else RISKGRAPH_PUBLIC_SCAN)."""
    found = getattr(request.app.state, "public_policy", None)
    if found is None:
        found = PublicPolicy.from_env()
        request.app.state.public_policy = found
    return found


def resolve(ctx: Context, token: str, limit: int = DEFAULT_LIMIT) -> tuple[Verified, dict[str, Any]]:
    """Verify a code and read its entity's dossier at the caller's level; the public sees what the
    bureau's policy shows. A code whose carried facts (its printed name) changed is stale: only the
    enterprise and its bureau (callers above the public level) are told, and offered its new code;
    the enterprise and bureau are reminded once per code, whoever scanned it."""
    qr = qr_service(ctx.request)
    _rate_limit(ctx, qr.scan_limiter, "scans")
    verified = _verify(ctx, qr, token, "qr_scan")
    facts = verified.facts
    dossier = _dossier(ctx, facts, limit)
    told = dossier.get("level") != "public"
    if not told:
        dossier = public_policy(ctx.request).apply(dossier, ctx.onto)
    reissued = None
    if verified.stale:
        _remind_outdated(ctx, verified)
        if told:
            reissued = qr.code(facts.label, facts.key, base_url=base_of(ctx.request),
                               summary=verified.claims.has_summary, issued_by="stale-reissue", facts=facts)
    body = {"code": _code_out(verified, reissued, told), "level": dossier.get("level"), "dossier": dossier}
    _audit(ctx, "qr_scan", "ok", 200, subject=f"{facts.label}/{facts.key}",
           details={"tokenId": verified.token_id, "stale": verified.stale, "level": dossier.get("level")})
    return verified, body


def _remind_outdated(ctx: Context, verified: Verified) -> None:
    facts = verified.facts
    reminder = placard_reminder(facts.label, facts.key, facts.name, facts.enterprise,
                                facts.enterprise_region or facts.region, verified.token_id, dt.datetime.now(LOCAL_TZ).date())
    try:
        bg = getattr(ctx.request.app.state, "background", None)
        send(ctx.store, reminder, origin_of(ctx), users=ctx.svc.users, registry=bg.registry if bg is not None else None)
    except WriteError:  # a reminder that cannot be written never stops a scan
        log.exception("placard reminder for %s not written", verified.token_id)


# ---------------------------------------------------------------------- scanning
@router.get("/Q/{token}", include_in_schema=False, response_model=ScanOut, response_model_exclude_unset=True)
@router.get("/q/{token}", response_model=ScanOut, response_model_exclude_unset=True, responses=_SCAN_RESPONSES,
            summary="scan a code: verify it, then the entity's dossier at the caller's level (a phone's browser, "
                    "asking for text/html, gets the mobile page)")
def scan(
    token: str = Path(..., description="the code's token (base32; case does not matter)"),
    format: str | None = Query(None, pattern="^(json|html)$", description="json or html (default: from Accept)"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=500, description="most items per relationship list"),
    ctx: Context = CONTEXT,
) -> Any:
    verified, body = resolve(ctx, token, limit)
    if _wants_html(ctx.request, format):
        from riskgraph.web.pages import page
        from riskgraph.web.view import build

        return HTMLResponse(page(build(ctx, token, verified.facts, body, public_policy(ctx.request))),
                            headers={"Cache-Control": "no-store"})
    return body
