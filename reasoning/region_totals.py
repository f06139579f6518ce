"""The region tree walk, and the measures rolled up it once per run (INFORM, coupling and temporal steps)."""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from riskgraph.reasoning import graph_facts as gf
from riskgraph.reasoning.run_context import Run


def region_ancestors(regions: Mapping[str, gf.RegionRow], code: str | None) -> list[str]:
    """The code and every region above it, parks left out (a park is counted through parkCode)."""
    out, seen = [], set()
    while code is not None and code in regions and code not in seen:
        seen.add(code)
        if regions[code].level != "PARK":
            out.append(code)
        code = regions[code].parent
    return out


def city_of(regions: Mapping[str, gf.RegionRow], code: str | None) -> str | None:
    """The nearest CITY at or above `code` (an N-K group; a park's is its county's)."""
    return next((c for c in region_ancestors(regions, code) if regions[c].level == "CITY"), None)


@dataclass
class RegionTotals:
    enterprise: dict[str, Counter]   # region code → enterprise-group measures, rolled up
    park: dict[str, Counter]         # park code → enterprise-group measures
    area: dict[str, Counter]         # region code → area measures, rolled up
    population: dict[str, float]
    sites: dict[str, float]
    #: counties under a region whose population is unknown (their residents are not in the region's sum)
    population_missing: dict[str, int]


def region_totals(run: Run) -> RegionTotals:
    def build() -> RegionTotals:
        regions = run.regions()
        own: dict[str | None, Counter] = defaultdict(Counter)
        park: dict[str, Counter] = defaultdict(Counter)
        for (region, park_code, _si, _ic), measures in run.groups().items():
            own[region].update(measures)
            p = park_code or (region if region in regions and regions[region].level == "PARK" else None)
            if p is not None:
                park[p].update(measures)
        ent = _rolled_up(regions, own)  # a region's own sums, then up the tree: ≈ 10,000 groups, ≈ 200 regions
        area = _rolled_up(regions, run.areas())
        population: dict[str, float] = defaultdict(float)
        sites: dict[str, float] = defaultdict(float)
        own_pop = {c for c, r in regions.items() if r.population is not None}
        own_sites = {c for c, r in regions.items() if r.vulnerable_sites is not None}
        missing: dict[str, int] = defaultdict(int)
        for code, r in regions.items():
            if r.level == "PARK":
                continue
            chain = region_ancestors(regions, code)
            if r.population is None and r.level == "COUNTY":
                for c in chain:
                    missing[c] += 1
            if r.population is not None:
                for c in chain:
                    if c == code or c not in own_pop:
                        population[c] += r.population
            if r.vulnerable_sites is not None:
                for c in chain:
                    if c == code or c not in own_sites:
                        sites[c] += r.vulnerable_sites
        return RegionTotals(dict(ent), dict(park), dict(area), dict(population), dict(sites), dict(missing))
    return run.cached("region_totals", build)


def _rolled_up(regions: Mapping[str, gf.RegionRow], own: Mapping[Any, Counter]) -> dict[str, Counter]:
    """Each region's measures with those of every region below it."""
    out: dict[str, Counter] = defaultdict(Counter)
    for region, measures in own.items():
        for code in region_ancestors(regions, region):
            out[code].update(measures)
    return out
