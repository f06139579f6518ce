"""Scanning a code: `GET /q/{token}` verifies it, then returns the entity's dossier at the caller's level."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from riskgraph.api.deps import CONTEXT, Context
from riskgraph.api.disclosure import level_name
from riskgraph.api.errors import not_found
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

