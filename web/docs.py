"""The API's own documentation, offline: Swagger UI at `/docs` and ReDoc at `/redoc`, their scripts
and styles served from the `fastapi-offline` package (MIT; it ships swagger-ui-dist and ReDoc's
standalone bundle) instead of FastAPI's default CDN, which a bureau's isolated network (政务内网)
cannot reach — there `/docs` was a blank page. No Google Fonts either.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response

from riskgraph.api.errors import not_found

router = APIRouter(include_in_schema=False)

#: the files the two pages load, and their media types
ASSETS = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8", "swagger-ui.css": "text/css; charset=utf-8",
          "redoc.standalone.js": "text/javascript; charset=utf-8", "favicon.png": "image/png"}
PREFIX = "/docs/assets"
TITLE = "RiskGraph API"


#: the one remote URL inside ReDoc's bundle (the "API docs by Redocly" badge's image) → a local image
REDOC_BADGE = (b"https://cdn.redoc.ly/redoc/logo-mini.svg", PREFIX.encode() + b"/favicon.png")


@lru_cache(maxsize=len(ASSETS))
def _asset(name: str) -> bytes:
    data = resources.files("fastapi_offline").joinpath("static", name).read_bytes()
    return data.replace(*REDOC_BADGE) if name == "redoc.standalone.js" else data


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{TITLE} — Swagger UI",
                               swagger_js_url=f"{PREFIX}/swagger-ui-bundle.js", swagger_css_url=f"{PREFIX}/swagger-ui.css",
                               swagger_favicon_url=f"{PREFIX}/favicon.png", oauth2_redirect_url="/docs/oauth2-redirect")


@router.get("/docs/oauth2-redirect", response_class=HTMLResponse)
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc", response_class=HTMLResponse)
def redoc() -> HTMLResponse:
    return get_redoc_html(openapi_url="/openapi.json", title=f"{TITLE} — ReDoc", redoc_js_url=f"{PREFIX}/redoc.standalone.js",
                          redoc_favicon_url=f"{PREFIX}/favicon.png", with_google_fonts=False)


@router.get(PREFIX + "/{name}")
def asset(name: str) -> Response:
    if name not in ASSETS:
        raise not_found(f"documentation asset {name}")
    return Response(_asset(name), media_type=ASSETS[name], headers={"Cache-Control": "public, max-age=86400"})
