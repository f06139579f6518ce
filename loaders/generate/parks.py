"""Chemical parks (化工园区) of Hebei used by the generator.

Why: GB 18218 / 应急〔2018〕19号 scoring deducts points for plants *outside* a
chemical park, so enterprises must carry a park.  Names are parks published by
Hebei authorities; the county is where the park sits; the code is **ours**
(``P`` + county GB/T 2260 code + 3-digit sequence), stable across runs and
versions.  Coordinates are approximate park centres.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Park:
    code: str
    name: str
    county_code: str
    lon: float
    lat: float


PARKS: tuple[Park, ...] = (
    Park("P130983001", "沧州临港经济技术开发区", "130983", 117.640, 38.390),
    Park("P130983002", "河北南大港产业园区", "130983", 117.430, 38.520),
    Park("P130111001", "石家庄循环化工园区", "130111", 114.700, 37.880),
    Park("P130209001", "唐山曹妃甸化学工业园区", "130209", 118.470, 39.130),
    Park("P130209002", "唐山南堡经济开发区", "130209", 118.250, 39.210),
    Park("P130505001", "邢台任泽化工园区", "130505", 114.700, 37.140),
    Park("P130181001", "河北辛集化工园区", "130181", 115.250, 37.920),
    Park("P130982001", "河北任丘经济开发区", "130982", 116.120, 38.690),
)

PARKS_BY_COUNTY: dict[str, tuple[Park, ...]] = {}
for _p in PARKS:
    PARKS_BY_COUNTY[_p.county_code] = PARKS_BY_COUNTY.get(_p.county_code, ()) + (_p,)
