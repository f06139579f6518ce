"""Issuing codes (placards as PNG/SVG, the code as JSON, batches per region), the public keys, revocation
and re-issue."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from riskgraph.api.access import Role
from riskgraph.api.deps import CONTEXT, Context
from riskgraph.api.errors import ApiError, invalid, not_found, unauthorized
from riskgraph.api.models import Out, file_response
from riskgraph.api.qr.entities import QR_LABELS, Facts
from riskgraph.api.qr.render import QrTooLarge
from riskgraph.api.qr.service import Issued, QrService, safe_name
from riskgraph.api.qr.token import TokenError, parse
from riskgraph.api.routes.common import region_param
from riskgraph.api.routes.qr.common import _audit, _deny, base_of, qr_service
from riskgraph.ontology.errors import N_, as_message
from riskgraph.ontology.model import class_term

router = APIRouter(tags=["qr codes"])


class PublicKey(Out):
    """A signing key as a JWK (RFC 8037); a key whose secret was erased (retired) has no `x`."""

    kid: int
    status: str = Field(description="active (signs new codes), verify (still verifies), retired (refused)")
    created: str
    kty: Literal["OKP"] | None = None
    crv: Literal["Ed25519"] | None = None
    x: str | None = Field(None, description="the public key, base64url without padding")
    retired: str | None = Field(None, description="when it was retired")


class PublicKeys(Out):
    keys: list[PublicKey]


class IssuedCode(Out):
    tokenId: str = Field(description="the code's id, printed on the placard")
    token: str
    url: str = Field(description="what the QR symbol holds")
    label: str
    key: str
    keyId: int
    issuedAt: str
    expiresAt: str
    encryptedSummary: bool
    qrVersion: str = Field(description="QR version and error-correction level, e.g. 5-M")
    reused: bool = Field(description="the entity's current code was handed out again rather than a new one issued")


class TokenRevoked(Out):
    tokenId: str
    revoked: Literal[True]
    already: bool = Field(description="it had been revoked before")


class EntityRevoked(Out):
    label: str
    key: str
    revoked: Literal[True]
    issuedUpTo: str = Field(description="every code of the entity issued up to this moment is revoked")


class RevokedToken(Out):
    token_id: str
    at: int = Field(description="Unix seconds")
    by: str | None
    reason: str | None


class RevokedEntity(Out):
    label: str
    key: str
    before: int = Field(description="codes issued at or before this moment (Unix seconds) are revoked")
    by: str | None
    reason: str | None


class RevocationList(Out):
    tokens: list[RevokedToken]
    entities: list[RevokedEntity]


class ReissuedEntity(IssuedCode):
    previousTokenId: str = Field(description="the stale code it replaces")


class Reissued(Out):
    reissued: list[ReissuedEntity]


def _issuer(ctx: Context, facts: Facts, action: str) -> None:
    """Inspectors issue codes for entities in their regions; admins for any."""
    caller = ctx.caller
    if caller.role is Role.ADMIN or (caller.role is Role.INSPECTOR and caller.covers_region(facts.region)):
        return
    raise _deny(ctx, action, "issuing codes is for inspectors (within their regions) and admins",
                f"{facts.label}/{facts.key}")


def _facts(ctx: Context, qr: QrService, label: str, key: str) -> Facts:
    if label not in QR_LABELS:
        raise not_found(N_("label {label!r} with codes"), {"labels": list(QR_LABELS)}, label=label)
    facts = qr.entities.get(label, key)
    if facts is None:
        raise not_found(N_("{label} {key}"), label=class_term(label), key=key)
    return facts


def _issue(ctx: Context, label: str, key: str, summary: bool, new: bool, days: int | None) -> tuple[QrService, Issued]:
    qr = qr_service(ctx.request)
    if ctx.caller.anonymous:
        raise unauthorized(N_("log in: issuing codes is for inspectors and admins"))
    facts = _facts(ctx, qr, label, key)
    _issuer(ctx, facts, "qr_issue")
    try:
        issued = qr.code(label, facts.key, base_url=base_of(ctx.request), summary=summary, new=new, days=days,
                         issued_by=ctx.caller.username, facts=facts)
    except QrTooLarge as exc:
        raise ApiError(422, "code_too_large", as_message(exc)) from None
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


@router.get("/qr/keys", response_model=PublicKeys, response_model_exclude_unset=True,
            summary="the codes' public signing keys (JWK, Ed25519), for offline verification")
def public_keys(request: Request) -> dict:
    return {"keys": qr_service(request).keyring.public_keys()}


@router.get("/qr/{label}/{key}.png", response_class=Response, responses=file_response("image/png", "the placard"),
            summary="the entity's placard as PNG (inspector within its regions, admin)")
def code_png(label: str = LABEL_P, key: str = Path(..., min_length=1, max_length=200), summary: bool = SUMMARY_Q,
             new: bool = NEW_Q, days: int | None = DAYS_Q, ctx: Context = CONTEXT) -> Response:
    qr, issued = _issue(ctx, label, key, summary, new, days)
    return Response(qr.png(issued), media_type="image/png", headers=_image_headers(issued, "png"))


@router.get("/qr/{label}/{key}.svg", response_class=Response,
            responses=file_response("image/svg+xml", "the placard", text=True),
            summary="the entity's placard as SVG (inspector within its regions, admin)")
def code_svg(label: str = LABEL_P, key: str = Path(..., min_length=1, max_length=200), summary: bool = SUMMARY_Q,
             new: bool = NEW_Q, days: int | None = DAYS_Q, ctx: Context = CONTEXT) -> Response:
    qr, issued = _issue(ctx, label, key, summary, new, days)
    return Response(qr.svg(issued), media_type="image/svg+xml", headers=_image_headers(issued, "svg"))


@router.get("/qr/{label}/{key}.json", response_model=IssuedCode, summary="the entity's current code: token, URL, dates (inspector, admin)")
def code_json(label: str = LABEL_P, key: str = Path(..., min_length=1, max_length=200), summary: bool = SUMMARY_Q,
              new: bool = NEW_Q, days: int | None = DAYS_Q, ctx: Context = CONTEXT) -> dict:
    _, issued = _issue(ctx, label, key, summary, new, days)
    return issued.describe()


def _batch(ctx: Context, code: str, summary: bool) -> tuple[QrService, list[Issued], str]:
    qr = qr_service(ctx.request)
    prefix = region_param(code, "code")
    if prefix is None:  # region_param reads "" as "no filter"; a batch always needs its region
        raise invalid(N_("give the region's GB/T 2260 code"), "code")
    caller = ctx.caller
    if caller.anonymous:
        raise unauthorized(N_("log in: batch exports are for inspectors and admins"))
    if not (caller.role is Role.ADMIN or (caller.role is Role.INSPECTOR and any(prefix.startswith(p) for p in caller.prefixes))):
        raise _deny(ctx, "qr_batch", "batch exports are for admins and inspectors, within their regions", f"Region/{code}")
    try:
        codes = qr.region_codes(prefix, base_url=base_of(ctx.request), summary=summary, issued_by=caller.username)
    except QrTooLarge as exc:
        raise ApiError(413, "batch_too_large", as_message(exc)) from None
    _audit(ctx, "qr_batch", "ok", 200, subject=f"Region/{code}", details={"codes": len(codes), "summary": summary})
    return qr, codes, prefix


@router.get("/qr/regions/{code}.zip", response_class=Response,
            responses=file_response("application/zip", "PNG and SVG placards per entity, and index.csv"),
            summary="every code of a region: PNG and SVG placards per entity and index.csv (inspector, admin)")
def region_zip(code: str = Path(..., description="GB/T 2260 code (130100 covers its counties)"),
               summary: bool = SUMMARY_Q, ctx: Context = CONTEXT) -> Response:
    qr, codes, _ = _batch(ctx, code, summary)
    return Response(qr.batch_zip(codes), media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="qr-{code}.zip"', "X-QR-Count": str(len(codes))})


@router.get("/qr/regions/{code}.pdf", response_class=Response,
            responses=file_response("application/pdf", "A4 sheets of placards"),
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


@router.post("/qr/revocations", response_model=TokenRevoked | EntityRevoked,
             summary="revoke a code, or every code so far of an entity (inspector within its regions, admin)")
def revoke(body: RevocationIn = Body(...), ctx: Context = CONTEXT) -> dict:
    qr = qr_service(ctx.request)
    if ctx.caller.anonymous:
        raise unauthorized(N_("log in: revoking codes is for inspectors and admins"))
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
            raise not_found(N_("code {token_id}"), token_id=token_id)
        label, key = record.label, record.key
    if not (label and key):
        raise invalid(N_("give tokenId, token, or label and key"), "tokenId")
    facts = _facts(ctx, qr, label, key)
    _issuer(ctx, facts, "qr_revoke")
    result = qr.revoke(token_id_=token_id, label=None if token_id else label, key=None if token_id else key,
                       by=ctx.caller.username, reason=body.reason)
    _audit(ctx, "qr_revoke", "ok", 200, subject=f"{label}/{facts.key}", details=result)
    return result


@router.get("/qr/revocations", response_model=RevocationList, summary="the revocation list (admin)")
def revocations(ctx: Context = CONTEXT) -> dict:
    if ctx.caller.role is not Role.ADMIN:
        raise _deny(ctx, "qr_revocations", "the revocation list is for admins", "qr")
    return qr_service(ctx.request).registry.revocations()


@router.post("/qr/reissue", response_model=Reissued, summary="re-issue the code of every entity whose public fields changed since (admin)")
def reissue(ctx: Context = CONTEXT) -> dict:
    if ctx.caller.role is not Role.ADMIN:
        raise _deny(ctx, "qr_reissue", "re-issuing every changed code is for admins", "qr")
    done = qr_service(ctx.request).reissue_changed(base_url=base_of(ctx.request), issued_by=ctx.caller.username)
    _audit(ctx, "qr_reissue", "ok", 200, details={"reissued": len(done)})
    return {"reissued": [{"label": old.label, "key": old.key, "previousTokenId": old.token_id, **new.describe()}
                         for old, new in done]}
