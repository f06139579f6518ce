"""Banding a score by lower edges, with the edge convention as a named parameter.

Sources disagree whether a value exactly on an edge belongs to the band above it ("D ≥ 320 红")
or below it ("D > 320 极其危险"): `edge_inclusive = "lower"` means every band holds its lower
edge (x ≥ edge), `"upper"` that every band holds its upper edge (x > edge to enter the band
above). One text may need both — the classic LEC bands read "D > 320" at the top and "< 20 稍有危险"
at the bottom, so 320 belongs to the band below it and 20 to the band above it — so a band may
set `lower_inclusive` for its own lower edge, overriding the set's convention at that edge only.
The lowest band always holds its own lower edge, the bottom of the scale; a value below it is
unrated (None).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from riskgraph.reasoning.models.vocab import check_colour

EDGE_CONVENTIONS = ("lower", "upper")


@dataclass(frozen=True)
class Band:
    lower: float
    label: str
    colour: str | None = None
    lower_inclusive: bool | None = None  # None: the band set's edge convention


@dataclass(frozen=True)
class BandSet:
    name: str
    edge_inclusive: str
    bands: tuple[Band, ...]  # highest lower edge first

    def classify(self, value: float) -> Band | None:
        lowest = self.bands[-1]
        for band in self.bands:
            if value > band.lower or (value == band.lower and (band is lowest or self.holds_lower_edge(band))):
                return band
        return None

    def holds_lower_edge(self, band: Band) -> bool:
        return band.lower_inclusive if band.lower_inclusive is not None else self.edge_inclusive == "lower"


def band_set(name: str, spec: Mapping[str, Any]) -> BandSet:
    """A BandSet from a config table {edge_inclusive, bands = [{lower, label, colour?}, ...]}.

    Built once per distinct table: a model grades every subject of a province with the same few
    (building one per risk point was 8 % of a run's CPU), and keyed by what the table says, so a
    varied config (`with_overrides`) gets its own set and none is kept for a table no longer used."""
    # the flag's type too: 1 == True as a key, but only true or false is a flag (`_flag`)
    rows = tuple((b["lower"], b["label"], b.get("colour"), b.get("lower_inclusive"), type(b.get("lower_inclusive")))
                 for b in spec["bands"])
    try:
        return _band_set(name, spec["edge_inclusive"], rows)
    except TypeError:  # a value that cannot key the memo (a list where a flag belongs): refused below
        return _band_set.__wrapped__(name, spec["edge_inclusive"], rows)


@lru_cache(maxsize=256)
def _band_set(name: str, edge: Any, rows: tuple[tuple[Any, ...], ...]) -> BandSet:
    if edge not in EDGE_CONVENTIONS:
        raise ValueError(f"band set {name}: edge_inclusive must be one of {EDGE_CONVENTIONS}, not {edge!r}")
    bands = tuple(sorted((Band(float(lower), str(label), check_colour(colour), _flag(name, inclusive))
                          for lower, label, colour, inclusive, _ in rows), key=lambda b: b.lower, reverse=True))
    if not bands or len({b.lower for b in bands}) != len(bands):
        raise ValueError(f"band set {name}: needs bands with distinct lower edges")
    return BandSet(name, edge, bands)


def _flag(name: str, value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ValueError(f"band set {name}: lower_inclusive must be true or false, not {value!r}")


def named_band_set(sets: Mapping[str, Any], name: str) -> BandSet:
    """Select one of several named band sets from a config table."""
    if name not in sets:
        raise ValueError(f"unknown band set {name!r}; one of {sorted(sets)}")
    return band_set(name, sets[name])


def bands_summary(bands: BandSet) -> dict:
    """The band set as parameters: name, edge convention and edges, for the result's record."""
    return {
        "name": bands.name,
        "edge_inclusive": bands.edge_inclusive,
        "bands": [{"lower": b.lower, "lower_inclusive": bands.holds_lower_edge(b) or b is bands.bands[-1],
                   "label": b.label, "colour": b.colour} for b in bands.bands],
    }
