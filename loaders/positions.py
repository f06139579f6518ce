"""Coordinates as the sources give them → WGS 84 lon/lat, with the conversion recorded.

Chinese sources often give GCJ-02 (AMap, Tencent, WeChat location) or BD-09 (Baidu) coordinates,
which lie 100–700 m off WGS 84 in Hebei. A mapping says so on its coordinate pair:

    lon: {column: 经度, type: decimal, within: lon, invalid: flag, group: position, crs: GCJ-02}

and the pair is converted with prcoords' iterative inverses (public domain, error < 1 m inside
China); the node gets `sourceCrs` and its SourceRecord keeps the raw values. A pair may also
name how it locates an enterprise (`located_by: registry`, `accuracy_m: 30`): the enterprise's
`locationMethod` / `locationAccuracy` then say the point is the source's own (loaders/locate.py
fills in the enterprises without one).
"""
from __future__ import annotations

from typing import Any

import prcoords

from riskgraph.loaders.mapping import FieldSpec
from riskgraph.ontology.anchors import LAT, LOCATION_ACCURACY, LOCATION_METHOD, LON, SOURCE_CRS
from riskgraph.ontology.errors import N_, RiskGraphError

WGS84 = "WGS-84"
GCJ02 = "GCJ-02"
BD09 = "BD-09"
CRS_NAMES = {"WGS84": WGS84, "WGS-84": WGS84, "EPSG:4326": WGS84, "CGCS2000": WGS84,
             "GCJ02": GCJ02, "GCJ-02": GCJ02, "BD09": BD09, "BD-09": BD09}


class CrsError(RiskGraphError, ValueError):
    """A coordinate system the service cannot convert from."""


def crs_name(text: str) -> str:
    """The canonical name of a coordinate system (WGS-84, GCJ-02, BD-09), whatever its spelling."""
    name = CRS_NAMES.get(text.strip().upper().replace("_", "-")) or CRS_NAMES.get(text.strip().upper().replace("-", ""))
    if name is None:
        raise CrsError(N_("unknown coordinate system {text!r}: use one of WGS-84, GCJ-02, BD-09"), text=text)
    return name


def to_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """(lon, lat) in `crs` → WGS 84, rounded to 6 decimals (≈ 0.1 m). Outside China GCJ-02 is WGS 84."""
    name = crs_name(crs)
    if name == WGS84:
        return lon, lat
    converted = prcoords.gcj_wgs_bored((lat, lon)) if name == GCJ02 else prcoords.bd_wgs_bored((lat, lon))
    return round(converted.lon, 6), round(converted.lat, 6)


def settle(fields: tuple[FieldSpec, ...], values: dict[str, Any]) -> None:
    """Convert a mapped coordinate pair to WGS 84 and record how it was found (in place)."""
    by_prop = {f.prop: f for f in fields}
    lon_f, lat_f = by_prop.get(LON[1]), by_prop.get(LAT[1])
    if lon_f is None or lat_f is None:
        return
    lon, lat = values.get(LON[1]), values.get(LAT[1])
    if not isinstance(lon, (int, float)) or not isinstance(lat, (int, float)):
        return
    crs = lon_f.options.get("crs") or lat_f.options.get("crs")
    if crs and crs_name(str(crs)) != WGS84:
        values[LON[1]], values[LAT[1]] = to_wgs84(float(lon), float(lat), str(crs))
        values[SOURCE_CRS] = crs_name(str(crs))
    method = lon_f.options.get("located_by")
    if method:
        values[LOCATION_METHOD[1]] = str(method)
        values[LOCATION_ACCURACY[1]] = int(lon_f.options.get("accuracy_m", 50))
