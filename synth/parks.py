"""Chemical parks (化工园区) the generator places enterprises in.

Why: 应急〔2018〕19号 scoring deducts points for plants *outside* a chemical park, so enterprises
must carry a park. The list is the loaders' own reference data (`loaders/data/parks.csv`), so the
generated registry names exactly the parks a load recognises.
"""
from __future__ import annotations

from riskgraph.loaders.reference import Park, parks

PARKS: tuple[Park, ...] = tuple(parks())

PARKS_BY_COUNTY: dict[str, tuple[Park, ...]] = {}
for _p in PARKS:
    PARKS_BY_COUNTY[_p.county_code] = PARKS_BY_COUNTY.get(_p.county_code, ()) + (_p,)

__all__ = ["PARKS", "PARKS_BY_COUNTY", "Park"]
