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
from types import MappingProxyType
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
    """A BandSet from a config table {edge_inclusive, bands = [{lower, label, colour?}, ...]}."""
    edge = spec["edge_inclusive"]
    if edge not in EDGE_CONVENTIONS:
        raise ValueError(f"band set {name}: edge_inclusive must be one of {EDGE_CONVENTIONS}, not {edge!r}")
    bands = tuple(
        sorted(
            (Band(float(b["lower"]), str(b["label"]), check_colour(b.get("colour")), _flag(name, b.get("lower_inclusive")))
             for b in spec["bands"]),
            key=lambda b: b.lower,
            reverse=True,
        )
    )
    if not bands or len({b.lower for b in bands}) != len(bands):
        raise ValueError(f"band set {name}: needs bands with distinct lower edges")
    return BandSet(name, edge, bands)


def _flag(name: str, value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ValueError(f"band set {name}: lower_inclusive must be true or false, not {value!r}")


#: (id of a read-only config table, name) → (the table, its band set): a model grades every risk point
#: of a province with the same few tables, and building a set each time was 8 % of a run's CPU; the
#: table is kept so its id cannot be reused by another
_BUILT: dict[tuple[int, str], tuple[Mapping[str, Any], BandSet]] = {}


def named_band_set(sets: Mapping[str, Any], name: str) -> BandSet:
    """Select one of several named band sets from a config table; built once per table of a loaded
    (read-only) config, every time from a plain mapping, which may change."""
    if name not in sets:
        raise ValueError(f"unknown band set {name!r}; one of {sorted(sets)}")
    spec = sets[name]
    if not isinstance(spec, MappingProxyType):
        return band_set(name, spec)
    built = _BUILT.get((id(spec), name))
    if built is None or built[0] is not spec:
        built = _BUILT[(id(spec), name)] = (spec, band_set(name, spec))
    return built[1]


def bands_summary(bands: BandSet) -> dict:
    """The band set as parameters: name, edge convention and edges, for the result's record."""
    return {
        "name": bands.name,
        "edge_inclusive": bands.edge_inclusive,
        "bands": [{"lower": b.lower, "lower_inclusive": bands.holds_lower_edge(b) or b is bands.bands[-1],
                   "label": b.label, "colour": b.colour} for b in bands.bands],
    }
