"""Exports: CSV / XLSX of the enterprise list (with its filters), the focus-inspection list, assessments with
their components and the quarantine report; the printable dossier PDF of an enterprise.

Each export holds what the same caller reads from the JSON lists (same queries, scope and disclosure;
restricted reads are audited the same way). CSV is UTF-8 with a BOM (Excel opens the Chinese);
XLSX has one sheet per table and a 说明 sheet saying what the file is.
"""
from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Path, Query, Response

from riskgraph.api.access import Role
from riskgraph.api.deps import CONTEXT, Context
from riskgraph.api.errors import ApiError, forbidden, not_found, unauthorized
from riskgraph.api.exports.dossier import dossier_pdf
from riskgraph.api.exports.formats import FORMATS, Table, render
from riskgraph.api.exports.tables import assessment_tables, enterprise_table, focus_table, quarantine_table
from riskgraph.api.models import file_response
from riskgraph.api.portraits import enterprise_portrait
from riskgraph.loaders.normalise.errors import REASONS
from riskgraph.ontology.errors import N_

router = APIRouter(tags=["exports"])

Format = Literal["csv", "xlsx"]
FMT = Path(..., description="csv (UTF-8 with BOM) or xlsx")
_FILES: dict[int | str, dict[str, Any]] = {200: {"description": "the table as CSV or XLSX", "content": {
    FORMATS["csv"].split(";")[0]: {"schema": {"type": "string"}},
    FORMATS["xlsx"]: {"schema": {"type": "string", "format": "binary"}}}}}


def _file(tables: list[Table], fmt: str, stem: str) -> Response:
    body = render(tables, fmt)
    return Response(body, media_type=FORMATS[fmt], headers={
        "Content-Disposition": f'attachment; filename="{stem}.{fmt}"', "X-Export-Rows": str(len(tables[0].rows)),
        "Cache-Control": "no-store"})


@router.get("/exports/enterprises.{fmt}", response_class=Response, responses=_FILES,
            summary="the enterprise list as CSV / XLSX, with the filters of GET /enterprises")
def export_enterprises(
    fmt: Format = FMT,
    q: str | None = Query(None, max_length=100, description="name, fuzzy"),
    uscc: str | None = Query(None, description="统一社会信用代码"),
    region: str | None = Query(None, description="GB/T 2260 code; 130100 covers every 1301xx county"),
    industry: str | None = Query(None, description="supervision industry or GB/T 4754 industry code"),
    colour: str | None = Query(None, description="risk colour: RED, ORANGE, YELLOW, BLUE (or 红, 橙 …)"),
    tag: str | None = Query(None, max_length=100, description="classification tag (inspector level and above)"),
    rating_below: float | None = Query(None, ge=0, le=100, description="应急〔2018〕19号 score below this"),
    scale: str | None = Query(None, max_length=20, description="size by head count: LARGE, MEDIUM, SMALL, MICRO (or 大型 …)"),
    sort: Literal["key", "score"] = Query("key", description="score: lowest rating score first"),
    ctx: Context = CONTEXT,
) -> Response:
    table = enterprise_table(ctx, q=q, uscc=uscc, region=region, industry=industry, colour=colour, tag=tag,
                             rating_below=rating_below, scale=scale, sort=sort)
    return _file([table], fmt, "enterprises")


@router.get("/exports/focus-inspections.{fmt}", response_class=Response, responses=_FILES,
            summary="the focus-inspection list (重点监管) as CSV / XLSX (inspector level, within the caller's scope)")
def export_focus(
    fmt: Format = FMT,
    below: float | None = Query(None, ge=0, le=100, description="rating score threshold (default 75)"),
    region: str | None = Query(None, description="GB/T 2260 code"),
    ctx: Context = CONTEXT,
) -> Response:
    return _file([focus_table(ctx, below=below, region=region)], fmt, "focus-inspections")


@router.get("/exports/assessments.{fmt}", response_class=Response, responses=_FILES,
            summary="assessments with their components as CSV (one row per component) / XLSX (assessments and "
                    "components sheets)")
def export_assessments(
    fmt: Format = FMT,
    method: list[str] | None = Query(None, description="only methods starting with these (repeat); default all"),
    region: str | None = Query(None, description="only subjects in this GB/T 2260 region"),
    ctx: Context = CONTEXT,
) -> Response:
    return _file(assessment_tables(ctx, methods=method, region=region), fmt, "assessments")


@router.get("/exports/quarantine.{fmt}", response_class=Response, responses=_FILES,
            summary="the quarantine report: rows the loaders could not load, why, and their raw values (analyst, admin)")
def export_quarantine(
    fmt: Format = FMT,
    reason: Literal[tuple(sorted(REASONS))] | None = Query(None, description="only this reason code"),  # type: ignore[valid-type]
    source: str | None = Query(None, max_length=100, description="only this source system"),
    ctx: Context = CONTEXT,
) -> Response:
    if ctx.caller.anonymous:
        raise unauthorized(N_("log in: the quarantine report is for analysts and admins"))
    if ctx.caller.role not in (Role.ANALYST, Role.ADMIN):
        raise forbidden(N_("the {value} role may not read the quarantine report"),
                        {"required": ["admin", "analyst"], "role": ctx.caller.role.value}, value=ctx.caller.role.value)
    return _file([quarantine_table(ctx.store, reason=reason, source=source)], fmt, "quarantine")


@router.get("/enterprises/{uscc}/dossier.pdf", response_class=Response,
            responses=file_response("application/pdf", "the printable dossier"),
            summary="the enterprise's printable dossier (一企一档): facts, colours, rating breakdown and its QR code")
def export_dossier(uscc: str = Path(..., min_length=1, max_length=64, description="统一社会信用代码"),
                   ctx: Context = CONTEXT) -> Response:
    key = uscc.strip().upper()
    portrait = enterprise_portrait(ctx, key, cap=50, alarms=10)
    if portrait is None:
        raise not_found(N_("enterprise {uscc}"), uscc=uscc)
    qr_png, note = dossier_code(ctx, key)
    body = dossier_pdf(portrait, ctx.onto, qr_png=qr_png, qr_note=note)
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="dossier-{key}.pdf"', "Cache-Control": "no-store"})


def dossier_code(ctx: Context, uscc: str) -> tuple[bytes | None, str]:
    """The enterprise's current code as a placard PNG. Inspectors (in their regions) and admins get one issued
    when none is current, as GET /qr/Enterprise/{uscc}.png would; the others see the current one, or a note."""
    from riskgraph.api.routes.qr.codes import _issue
    from riskgraph.api.routes.qr.common import base_of, qr_service

    qr = qr_service(ctx.request)
    if ctx.caller.role in (Role.ADMIN, Role.INSPECTOR):
        try:
            _, issued = _issue(ctx, "Enterprise", uscc, False, False, None)
            return qr.png(issued), ""
        except ApiError as exc:
            if exc.status != 403:
                raise
    current = qr.current("Enterprise", uscc, summary=False, base_url=base_of(ctx.request))
    return (qr.png(current), "") if current else (None, "尚未赋码（由监管人员赋码）")
