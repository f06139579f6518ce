"""Reference data every load builds on: GB/T 2260 regions, industries and named chemicals.

They come from the region table and the ontology's vocabularies, not from a source export,
so they are loaded first and the same way every time.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources

from riskgraph.graph.store import GraphStore
from riskgraph.loaders.normalise.regions import region_table
from riskgraph.ontology.anchors import BROADER_INDUSTRY, CHEMICAL, INDUSTRY, PART_OF, REGION


@dataclass
class ReferenceCounts:
    regions: int
    industries: int
    chemicals: int


def load_reference(store: GraphStore, *, province_prefix: str | None = None) -> ReferenceCounts:
    """Regions (optionally one province only), industries with their hierarchy, named chemicals."""
    regions = [
        r for r in region_table().values() if province_prefix is None or r.code.startswith(province_prefix)
    ]
    store.upsert_nodes(REGION, [
        {"code": r.code, "name": r.name, "regionLevel": r.level,
         "lon": r.lon or None, "lat": r.lat or None, "regionCode": r.code}
        for r in regions
    ])
    store.upsert_relationships(PART_OF, [{"from": r.code, "to": r.parent} for r in regions if r.parent])

    onto = store.ontology
    industries = []
    broader: list[dict[str, str]] = []
    for scheme in ("SupervisionIndustry", "IndustryClass"):
        for concept in onto.vocabulary(scheme).concepts.values():
            industries.append({"code": concept.notation, "name": concept.pref_zh})
            broader.extend({"from": concept.notation, "to": b} for b in concept.broader)
            if "supervisionIndustry" in concept.data and not concept.broader:
                broader.append({"from": concept.notation, "to": concept.data["supervisionIndustry"]})
    store.upsert_nodes(INDUSTRY, industries)
    store.upsert_relationships(BROADER_INDUSTRY, broader)

    chemicals = [
        {"id": c.notation, "name": c.pref_zh, "casNumber": c.data.get("casNumber"),
         "hazardCategory": c.data.get("hazardCategory")}
        for c in onto.vocabulary("NamedChemical").concepts.values()
    ]
    store.upsert_nodes(CHEMICAL, chemicals)
    return ReferenceCounts(len(regions), len(industries), len(chemicals))


@dataclass(frozen=True)
class Park:
    code: str
    name: str
    county_code: str
    lon: float
    lat: float


def parks() -> list[Park]:
    """Chemical parks (化工园区) recognised by the province: `loaders/data/parks.csv`.

    GB/T 2260 has no codes for parks, so they carry ours: P + county code + a 3-digit sequence.
    """
    text = (resources.files("riskgraph.loaders") / "data" / "parks.csv").read_text(encoding="utf-8")
    return [Park(r["code"], r["name"], r["county_code"], float(r["lon"]), float(r["lat"]))
            for r in csv.DictReader(io.StringIO(text))]


def load_parks(store: GraphStore) -> list[Park]:
    """Parks as Region nodes (level PARK) inside their county."""
    found = parks()
    store.upsert_nodes(REGION, [
        {"code": p.code, "name": p.name, "regionLevel": "PARK", "lon": p.lon, "lat": p.lat, "regionCode": p.county_code}
        for p in found
    ])
    store.upsert_relationships(PART_OF, [{"from": p.code, "to": p.county_code} for p in found])
    return found
