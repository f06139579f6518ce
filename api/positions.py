"""Coordinates in write bodies: WGS 84 unless the body names GCJ-02 or BD-09 in `crs` (issue #20).

Chinese apps hand out GCJ-02 (AMap, Tencent, WeChat location) or BD-09 (Baidu) points, 100–700 m off
WGS 84. A body may say so in `crs`; the route converts with the loaders' helper (loaders/positions.py,
prcoords) and the node records `sourceCrs`, while the write's SourceRecord keeps the values as sent.
"""
from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from riskgraph.loaders.positions import WGS84, crs_name, to_wgs84


def _canonical(value: str | None) -> str | None:
    """The canonical name (WGS-84, GCJ-02, BD-09); an unknown system is a 422 naming the choices."""
    return None if value is None else crs_name(value)


#: the optional `crs` field of a body with lon/lat (the length limit on the text only: an explicit null is allowed)
Crs = Annotated[Annotated[str, StringConstraints(max_length=20)] | None, AfterValidator(_canonical), Field(
    None, examples=["GCJ-02"],
    description="the coordinate system lon/lat are in: WGS84 (default), GCJ02 (AMap, Tencent, WeChat) or BD09 "
                "(Baidu); spellings like GCJ-02 / bd-09 are accepted. GCJ-02 and BD-09 are converted to WGS 84 "
                "(prcoords, < 1 m inside China) and the record keeps `sourceCrs`; anything else is a 422")]


def wgs84(lon: float | None, lat: float | None, crs: str | None) -> tuple[float | None, float | None, str | None]:
    """(lon, lat) in WGS 84, and the system they were converted from (the node's `sourceCrs`; None for none)."""
    if lon is None or lat is None or crs is None or crs_name(crs) == WGS84:
        return lon, lat, None
    lon84, lat84 = to_wgs84(lon, lat, crs)
    return lon84, lat84, crs_name(crs)
