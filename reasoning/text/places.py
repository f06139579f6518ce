"""What the graph knows about names and places, for the triage: enterprises (full name and 字号 + 行业),
regions and parks, and place names taken from enterprise addresses (城东化工园区, 胜利北街 …), each with
the GB/T 2260 county it lies in; and the region of a report from coordinates, an address or a place.

Region from coordinates is the nearest county centroid of the graph's regions (within `MAX_KM`): the
graph holds no boundaries, so a point near a county border can be given its neighbour.
"""
from __future__ import annotations

import math
import re
import threading
import time
import weakref
from collections import Counter
from dataclasses import dataclass, field

from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.loaders.normalise.company import parse_company
from riskgraph.loaders.normalise.regions import region_from_address
from riskgraph.ontology.anchors import ENTERPRISE, REGION, REGION_CODE
from riskgraph.reasoning.text.pipeline import ORG, PLACE, Recogniser

#: a county centroid farther than this from a point is not its county
MAX_KM = 60.0
#: how long a built index serves before the graph is read again
TTL_S = 300.0
#: a place name inside an address: a run of Han characters ending in a place word
_PLACE_IN_ADDRESS = re.compile(r"([\u4e00-\u9fff]{2,8}?(?:化工园区|工业园区|产业园区|经济开发区|开发区|工业园|产业园|园区|街道|镇|乡|村))")
_SUFFIXES = ("自治县", "新区", "区", "县", "市", "旗")


@dataclass(frozen=True)
class Enterprise:
    uscc: str
    name: str
    region: str | None
    lon: float | None
    lat: float | None


@dataclass
class Index:
    """Names and places of one graph at one moment."""

    enterprises: dict[str, Enterprise] = field(default_factory=dict)
    places: dict[str, str] = field(default_factory=dict)            #: place text → county code
    counties: list[tuple[str, float, float]] = field(default_factory=list)  #: (code, lon, lat)
    region_names: dict[str, str] = field(default_factory=dict)      #: code → name
    bodies: dict[str, str] = field(default_factory=dict)            #: USCC → 字号 + 行业
    built_at: float = 0.0
    _recogniser: Recogniser | None = None

    @property
    def recogniser(self) -> Recogniser:
        if self._recogniser is None:
            names = [(ORG, e.name, e.uscc) for e in self.enterprises.values()]
            names += [(ORG, body, uscc) for uscc, body in self.bodies.items() if len(body) >= 3]
            names += [(PLACE, text, code) for text, code in self.places.items()]
            self._recogniser = Recogniser(names)
        return self._recogniser

    # ------------------------------------------------------------------ regions
    def county_at(self, lon: float, lat: float) -> str | None:
        """The county whose centroid is nearest the point (None beyond MAX_KM or without counties)."""
        best: tuple[float, str] | None = None
        for code, clon, clat in self.counties:
            d = _km(lon, lat, clon, clat)
            if best is None or d < best[0]:
                best = (d, code)
        return best[1] if best is not None and best[0] <= MAX_KM else None

    def region_of_place(self, text: str) -> tuple[str, str] | None:
        """(county, the place name) for the longest known place the text names."""
        found = [(name, code) for name, code in self.places.items() if name in text]
        if not found:
            return None
        name, code = max(found, key=lambda nc: len(nc[0]))
        return code, name

    def region_of_address(self, text: str) -> str | None:
        """The county an address-like text names (cpca), when the graph has that region."""
        code = region_from_address(text)
        if code is None:
            return None
        return code if code in self.region_names or not self.region_names else None


def _km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def distance_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return _km(lon1, lat1, lon2, lat2)


def build(store: GraphStore) -> Index:
    """Read the names and places the triage needs from the graph."""
    onto = store.ontology
    e_key = ident(onto.key_of(ENTERPRISE))
    index = Index(built_at=time.monotonic())
    addresses: list[tuple[str, str]] = []  # (address, county)
    for row in store.read(f"MATCH (e:{ident(ENTERPRISE)}) RETURN e.{e_key} AS k, e.name AS name, "
                          f"e.{ident(REGION_CODE)} AS region, e.lon AS lon, e.lat AS lat, e.address AS address"):
        if not row["k"] or not row["name"]:
            continue
        index.enterprises[str(row["k"])] = Enterprise(str(row["k"]), str(row["name"]), row["region"],
                                                      _num(row["lon"]), _num(row["lat"]))
        index.bodies[str(row["k"])] = parse_company(str(row["name"])).body
        if row["address"] and row["region"] and len(str(row["region"])) == 6:
            addresses.append((str(row["address"]), str(row["region"])))
    r_key = ident(onto.key_of(REGION))
    counts: dict[str, Counter[str]] = {}
    for row in store.read(f"MATCH (r:{ident(REGION)}) RETURN r.{r_key} AS code, r.name AS name, r.regionLevel AS level, "
                          f"r.{ident(REGION_CODE)} AS county, r.lon AS lon, r.lat AS lat"):
        code, name, level = str(row["code"] or ""), str(row["name"] or ""), row["level"]
        if not code or not name:
            continue
        index.region_names[code] = name
        if level == "PARK":
            county = str(row["county"] or "")
            if county:
                counts.setdefault(name, Counter())[county] += 100
            continue
        if level == "COUNTY":
            if row["lon"] is not None and row["lat"] is not None:
                index.counties.append((code, float(row["lon"]), float(row["lat"])))
            counts.setdefault(name, Counter())[code] += 100
            short = _short(name)
            if short != name and len(short) >= 2:
                counts.setdefault(short, Counter())[code] += 50
    for address, county in addresses:
        for place in _PLACE_IN_ADDRESS.findall(address):
            for variant in _variants(place):
                counts.setdefault(variant, Counter())[county] += 1
    for name, by_county in counts.items():
        code, n = by_county.most_common(1)[0]
        if n * 2 > sum(by_county.values()):  # a place several counties share names none of them
            index.places[name] = code
    return index


def _variants(place: str) -> list[str]:
    """The place as written and without the regions written before it (长安区城东化工园区 → 城东化工园区)."""
    out = [place]
    for i, ch in enumerate(place[:-3]):
        if ch in "省市区县" and len(place) - i - 1 >= 3:
            out.append(place[i + 1:])
    return out


def _short(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def _num(value: object) -> float | None:
    try:
        return float(value) if value is not None else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


_cache: weakref.WeakKeyDictionary[GraphStore, Index] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def index_for(store: GraphStore, *, fresh: bool = False) -> Index:
    """The store's index, rebuilt when older than TTL_S (or when `fresh`)."""
    with _cache_lock:
        found = _cache.get(store)
        if found is None or fresh or time.monotonic() - found.built_at > TTL_S:
            found = build(store)
            _cache[store] = found
        return found


__all__ = ["Enterprise", "Index", "MAX_KM", "build", "distance_km", "index_for"]
