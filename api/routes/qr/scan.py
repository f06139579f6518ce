"""Scanning a code: `GET /q/{token}` verifies it, then returns the entity's dossier at the caller's level."""
from __future__ import annotations

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
from riskgraph.api.qr.page import render_page
from riskgraph.api.qr.service import Issued, Verified, iso
from riskgraph.api.routes.qr.common import _audit, _rate_limit, _verify, base_of, qr_service
from riskgraph.api.schema import ENTERPRISE, RISK_POINT
from riskgraph.api.views import ViewBuilder

router = APIRouter(tags=["qr codes"])

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
    stale: bool = Field(description="the entity's public fields changed since the code was issued")
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
@router.get("/Q/{token}", include_in_schema=False, response_model=ScanOut, response_model_exclude_unset=True)
@router.get("/q/{token}", response_model=ScanOut, response_model_exclude_unset=True, responses=_SCAN_RESPONSES,
            summary="scan a code: verify it, then the entity's dossier at the caller's level")
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

