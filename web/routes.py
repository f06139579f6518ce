"""The page's own HTTP side (kept out of the OpenAPI document: it is HTML and assets, not the API):

    GET /m/panel/{token}        what the signed-in caller sees and may do on the code (HTML fragment)
    GET /m/history/{id}         a hidden danger's steps (HTML fragment)
    GET /m/analysis/{id}        a risk point's analysis versions and their changes (HTML fragment)
    GET /m/census               the emergency-resource census form (posts to POST /resources)
    GET /m/static/{name}        the page's CSS, JS, icon and manifest
    GET /sw.js                  the service worker that keeps the page usable offline

The fragments authenticate like the API (`Authorization: Bearer`) and are scans themselves: the
code is verified, the read audited, the disclosure levels applied.
"""
from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, Response

from riskgraph.api.deps import CONTEXT, Context
from riskgraph.api.errors import not_found
from riskgraph.api.routes.qr.scan import public_policy, resolve
from riskgraph.api.routes.workflow_common import step
from riskgraph.web import map as map_page
from riskgraph.web import pages
from riskgraph.web.labels import Labels
from riskgraph.web.view import build, census_regions, history_rows
from riskgraph.workflows.analysis import Analyses
from riskgraph.workflows.hidden_dangers import Loop

router = APIRouter(include_in_schema=False)
router.include_router(map_page.router)  # /map: the one map (web/map.py)

#: the assets the page loads (nothing else is served from the package)
ASSETS = {"app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
          "census.js": "text/javascript; charset=utf-8",
          "icon.svg": "image/svg+xml", "manifest.webmanifest": "application/manifest+json"}
NO_STORE = {"Cache-Control": "no-store"}


def _asset(name: str) -> bytes:
    return resources.files("riskgraph.web").joinpath("static", name).read_bytes()


@router.get("/m/panel/{token}", response_class=HTMLResponse)
def panel(token: str = Path(..., max_length=400), ctx: Context = CONTEXT) -> HTMLResponse:
    verified, body = resolve(ctx, token)
    return HTMLResponse(pages.panel(build(ctx, token, verified.facts, body, public_policy(ctx.request))), headers=NO_STORE)


@router.get("/m/history/{id}", response_class=HTMLResponse)
def danger_history(id: str = Path(..., max_length=200), ctx: Context = CONTEXT) -> HTMLResponse:
    loop = Loop(ctx.store)
    _, entries = step(ctx, "danger_history", f"HiddenDanger/{id}", lambda: loop.history(ctx.caller, id))
    ctx.disclosed.mark(f"HiddenDanger/{id}#history", ctx.caller.ceiling)
    return HTMLResponse(pages.history(history_rows(Labels(ctx.onto, ctx.store), entries)), headers=NO_STORE)


@router.get("/m/analysis/{id}", response_class=HTMLResponse)
def analysis_history(id: str = Path(..., max_length=200), ctx: Context = CONTEXT) -> HTMLResponse:
    analyses = Analyses(ctx.store)
    _, _, versions = step(ctx, "risk_analysis_history", f"RiskPoint/{id}", lambda: analyses.history(ctx.caller, id))
    ctx.disclosed.mark(f"RiskPoint/{id}#analysis", ctx.caller.ceiling)
    return HTMLResponse(pages.analysis(Labels(ctx.onto, ctx.store), versions), headers=NO_STORE)


@router.get("/m/census", response_class=HTMLResponse)
def census_form(ctx: Context = CONTEXT) -> HTMLResponse:
    """The census form: anyone registers a rescue team, warehouse or shelter (reviewed by the region's bureau)."""
    return HTMLResponse(pages.census(census_regions(ctx.store)), headers=NO_STORE)


@router.get("/m/static/{name}")
def asset(name: str) -> Response:
    if name not in ASSETS:
        raise not_found(f"asset {name}")
    return Response(_asset(name), media_type=ASSETS[name], headers={"Cache-Control": "public, max-age=3600"})


@router.get("/sw.js")
def service_worker() -> Response:
    """Served from the root so it may look after the scan pages (`/q/…`) as well as `/m/…`."""
    return Response(_asset("sw.js"), media_type="text/javascript; charset=utf-8",
                    headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"})
