"""The one map (一张图, `/map`): the province's boundaries coloured by regional risk, and every layer.

    GET /map                        the page (Chinese; the layers come from `/layers/{name}` as the caller)
    GET /map/static/{path}          its script, styles, the region boundaries and the vendored Leaflet +
                                    Leaflet.markercluster (licences beside them) — nothing from a CDN

Clicking a feature opens a popup with its facts and a link to its dossier page (`DOSSIERS` below).
The page is self-contained (its own template, CSS and JS), so it changes nothing the other pages use.
"""
from __future__ import annotations

import gzip
import json
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from riskgraph.api.errors import not_found
from riskgraph.api.routes.layers import LAYERS
from riskgraph.ontology.anchors import ENTERPRISE, NATURAL_DISASTER_POINT, RESCUE_TEAM, RISK_POINT, SHELTER, WAREHOUSE
from riskgraph.ontology.model import load_ontology
from riskgraph.web.labels import Labels
from riskgraph.web.pages import environment

router = APIRouter(include_in_schema=False)

#: the province whose boundaries the page draws (web/static/map/regions-{PROVINCE}.geojson)
PROVINCE = "13"
#: where a feature's dossier lives, by the node's label ({key} is the node's key)
DOSSIERS = {ENTERPRISE: "/pages/enterprises/{key}", RISK_POINT: "/pages/risk-points/{key}",
            NATURAL_DISASTER_POINT: "/pages/disaster-points/{key}", RESCUE_TEAM: "/pages/rescue-teams/{key}",
            WAREHOUSE: "/pages/warehouses/{key}", SHELTER: "/pages/shelters/{key}"}
#: the folders under static/ the page may load from, and the media types of what they hold
FOLDERS = ("map", "vendor")
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".png": "image/png",
         ".geojson": "application/geo+json", ".txt": "text/plain; charset=utf-8", "": "text/plain; charset=utf-8"}
#: assets worth compressing
COMPRESSED = frozenset({".js", ".css", ".geojson"})
#: layers the page opens with; the others load when switched on
DEFAULT_ON = ("enterprises",)


def _static(path: str) -> Traversable | None:
    """A file under static/map or static/vendor, or None (no other folder, no `..`)."""
    parts = path.split("/")
    if len(parts) < 2 or parts[0] not in FOLDERS or any(p in ("", ".", "..") for p in parts):
        return None
    node = resources.files("riskgraph.web").joinpath("static", *parts)
    return node if node.is_file() else None


def page_config() -> dict[str, Any]:
    """What the page's script needs: layer titles, colours, industries and dossier URLs, in Chinese."""
    onto = load_ontology()
    labels = Labels(onto)
    colours = [{"code": c.notation, "label": c.label, "hex": c.hex} for c in labels.colours()]
    none = labels.colour(None)
    industries = sorted((c.notation, c.pref_zh) for c in onto.vocabulary("SupervisionIndustry").concepts.values())
    return {"province": PROVINCE, "boundaries": f"/map/static/map/regions-{PROVINCE}.geojson",
            "layers": [{"name": n, "title": d.title, "on": n in DEFAULT_ON} for n, d in LAYERS.items()
                       if n != "regional-risk"],
            "colours": colours, "unrated": {"code": None, "label": none.label, "hex": none.hex},
            "industries": [{"code": c, "label": zh} for c, zh in industries], "dossiers": DOSSIERS}


@router.get("/map", response_class=HTMLResponse)
def map_page() -> HTMLResponse:
    html = environment().get_template("map.html").render(config=json.dumps(page_config(), ensure_ascii=False))
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


@lru_cache(maxsize=32)
def _compressed(path: str) -> bytes:
    """The boundaries (≈ 400 kB) and Leaflet (≈ 150 kB) shrink to a third: compressed once per process."""
    node = _static(path)
    return gzip.compress(node.read_bytes(), compresslevel=6) if node is not None else b""


@router.get("/map/static/{path:path}")
def map_asset(request: Request, path: str = Path(..., max_length=200)) -> Response:
    node = _static(path)
    if node is None:
        raise not_found(f"asset {path}")
    suffix = "." + path.rsplit(".", 1)[1] if "." in path.rsplit("/", 1)[-1] else ""
    headers = {"Cache-Control": "public, max-age=3600", "Vary": "Accept-Encoding"}
    body = node.read_bytes()
    if suffix in COMPRESSED and "gzip" in request.headers.get("accept-encoding", ""):
        body = _compressed(path)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=TYPES.get(suffix, "application/octet-stream"), headers=headers)
