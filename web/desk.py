"""The bureau's desk: dossier, analysis and inbox pages under `/pages/…` (HTML shells, kept out of the
OpenAPI document). Each page is the same shell — navigation, sign-in, one `data-page` — and
`static/desk.js` fills it from the JSON API with the signed-in user's token, so a page shows exactly
what the API gives that user and nothing more (the API applies the roles and disclosure levels).
Chinese names come from `/pages/labels.json` (the ontology, web/desk_labels.py).

    GET /pages                              → the dashboard
    GET /pages/{page}[/{key}]               the shells (PAGES below)
    GET /pages/labels.json                  the ontology's Chinese labels for the pages
    GET /pages/static/{path}                desk.js, desk.css, vendored ECharts (no CDN)
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from riskgraph.api.deps import services
from riskgraph.api.errors import not_found
from riskgraph.web.desk_labels import document_bytes
from riskgraph.web.pages import environment

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class PageDef:
    title: str
    keyed: bool = False          #: the URL names one thing: /pages/{page}/{key}
    label: str | None = None     #: the ontology class a keyed node page shows
    api: str | None = None       #: an API route the page needs that another part of the service may not provide


PAGES: dict[str, PageDef] = {
    "dashboard": PageDef("风险看板"),
    "search": PageDef("企业查询"),
    "enterprises": PageDef("企业档案", keyed=True, label="Enterprise"),
    "risk-points": PageDef("风险点档案", keyed=True, label="RiskPoint"),
    "disaster-points": PageDef("自然灾害风险点", keyed=True, label="NaturalDisasterRiskPoint"),
    "rescue-teams": PageDef("救援队伍", keyed=True, label="RescueTeam"),
    "warehouses": PageDef("物资储备库", keyed=True, label="Warehouse"),
    "shelters": PageDef("避难场所", keyed=True, label="Shelter"),
    "regions": PageDef("区域风险", keyed=True, label="Region"),
    "industries": PageDef("行业风险", keyed=True, label="Industry"),
    "coupling": PageDef("耦合风险"),
    "temporal": PageDef("时度风险"),
    "focus": PageDef("重点监管"),
    "warnings": PageDef("预警工作台"),
    "warning": PageDef("预警详情", keyed=True),
    "review": PageDef("实体消歧审核"),
    "census": PageDef("资源普查审核"),
    "sources": PageDef("数据来源", api="/sources"),
}

#: the files under static/ the desk serves, by suffix
MEDIA = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
ASSETS = frozenset({"desk.js", "desk.css", "vendor/echarts/echarts.min.js"})
NO_STORE = {"Cache-Control": "no-store"}


def _served(request: Request, path: str | None) -> bool:
    """Whether the service has this API route (its OpenAPI document, built once, lists every API route)."""
    return path is None or path in request.app.openapi().get("paths", {})


def _shell(request: Request, page: str, key: str | None) -> HTMLResponse:
    spec = PAGES[page]
    args = {"page": page, "key": key, "label": spec.label, "query": dict(request.query_params),
            "apiMissing": None if _served(request, spec.api) else spec.api}
    served = {name: _served(request, p.api) for name, p in PAGES.items() if p.api}
    html = environment().get_template("desk/page.html").render(
        title=spec.title, page=page, args=json.dumps(args, ensure_ascii=False), pages=PAGES, served=served)
    return HTMLResponse(html, headers=NO_STORE)


@router.get("/pages")
def home() -> RedirectResponse:
    return RedirectResponse("/pages/dashboard", status_code=307)


@router.get("/pages/labels.json")
def labels(request: Request) -> Response:
    onto = services(request).onto
    return Response(document_bytes(onto), media_type="application/json", headers={"Cache-Control": "public, max-age=600"})


@router.get("/pages/static/{path:path}")
def asset(path: str) -> Response:
    if path not in ASSETS:
        raise not_found(f"asset {path}")
    data = resources.files("riskgraph.web").joinpath("static", *path.split("/")).read_bytes()
    media = MEDIA["." + path.rsplit(".", 1)[-1]]
    return Response(data, media_type=media, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/pages/{page}", response_class=HTMLResponse)
def listing(request: Request, page: str = Path(..., max_length=40)) -> HTMLResponse:
    if page not in PAGES:
        raise not_found(f"page {page}")
    return _shell(request, page, None)


@router.get("/pages/{page}/{key}", response_class=HTMLResponse)
def keyed(request: Request, page: str = Path(..., max_length=40), key: str = Path(..., min_length=1, max_length=200)) -> HTMLResponse:
    if page not in PAGES or not PAGES[page].keyed:
        raise not_found(f"page {page}/{key}")
    return _shell(request, page, key)
