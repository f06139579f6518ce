"""How a place a record states relates to where the registry puts an enterprise.

Only the same county agrees. A coarser place that contains the other (the city of a county, the
province) and a missing place are "not confirmed": they neither support nor refute a match. Any
other place contradicts, and a contradiction blocks the match (献县 is not 沧县, 山东 is not 沧州).
"""
from __future__ import annotations

from functools import lru_cache

from riskgraph.loaders.normalise.regions import region_table

AGREES, WITHIN, CONTRADICTS = "agrees", "within", "contradicts"


def normal(code: str | None) -> str | None:
    """A GB/T 2260 code as the region table knows it; a park code (P + county + seq) as its county."""
    if not code:
        return None
    code = str(code)
    if code.startswith("P") and len(code) == 10:
        code = code[1:7]
    return code if code in region_table() else None


@lru_cache(maxsize=8192)
def lineage(code: str) -> tuple[str, ...]:
    """The code and every region above it (county, city, province)."""
    table = region_table()
    out = []
    current: str | None = code
    while current and current in table and current not in out:
        out.append(current)
        current = table[current].parent
    return tuple(out)


def is_county(code: str) -> bool:
    entry = region_table().get(code)
    return entry is not None and entry.level == "COUNTY"


@lru_cache(maxsize=65_536)
def relation(stated: str | None, registered: str | None) -> str | None:
    """agrees | within | contradicts, or None when either side names no known region (kept: a record
    is compared with up to hundreds of candidates, and a province has a few hundred regions)."""
    s, r = normal(stated), normal(registered)
    if s is None or r is None:
        return None
    if s == r:
        return AGREES if is_county(s) else WITHIN
    if s in lineage(r) or r in lineage(s):
        return WITHIN
    return CONTRADICTS
