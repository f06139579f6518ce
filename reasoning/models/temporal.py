"""时度 risk: when in the year, and how it has moved over the years, a region is at risk of a disaster group.

From one region's historical disaster events and its exposure, per DisasterType group (the
vocabulary's top concepts: 水旱, 气象, 森林草原火灾, 地质 …) and per period — month or quarter of the
year (a seasonal profile over all observed years) or each calendar year (a trend):

    rate_p = (Σ_y w_y · n_p,y + prior_events / k) / (Σ_y w_y + prior_years)    smoothed events per year
    P_p = 1 − e^(−rate_p)        chance of at least one event in the period in a year (Poisson)
    season_p = k · n_p / n       seasonality index: the period's share of events × k (1 = average)
    S_p                          mean event severity, shrunk toward the group's mean
    E                            exposure: population and disaster points
    score_p = scale · P^a · S^b · E^c

with k the periods per year. Formula and weights: reasoning/config/temporal.toml.
"""
from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from riskgraph.reasoning.models.bands import band_set, bands_summary
from riskgraph.reasoning.models.config import ModelConfig, load_config
from riskgraph.reasoning.models.result import Component, ModelResult, unique
from riskgraph.reasoning.models.vocab import top_concept

PERIODS = {"month": 12, "quarter": 4, "year": 1}


@dataclass(frozen=True)
class DisasterEventFact:
    on: dt.date
    type: str  # DisasterType notation or label
    deaths: int = 0
    affected: int = 0
    loss_10k: float = 0.0
    evidence: str = ""


@dataclass(frozen=True)
class Exposure:
    population: float
    disaster_points: int
    evidence: tuple[str, ...] = ()


def temporal_risk(
    events: Iterable[DisasterEventFact],
    exposure: Exposure,
    *,
    by: str = "month",
    years: tuple[int, int] | None = None,
    config: ModelConfig | None = None,
) -> dict[str, tuple[ModelResult, ...]]:
    """Group notation → one result per period (months 1–12, quarters 1–4, or each year in `years`)."""
    if by not in PERIODS:
        raise ValueError(f"by must be one of {sorted(PERIODS)}, not {by!r}")
    cfg = config or load_config("temporal")
    flags: list[str] = []
    grouped: dict[str, list[DisasterEventFact]] = defaultdict(list)
    all_events = list(events)
    for event in all_events:
        group = top_concept("DisasterType", event.type)
        if group is None:
            flags.append(f"unknown-disaster-type:{event.type}:{event.evidence}")
        else:
            grouped[group.notation].append(event)
    if not grouped:
        return {}
    if years is None:
        observed = [e.on.year for evs in grouped.values() for e in evs]
        years = (min(observed), max(observed))
    first, last = years
    if last < first:
        raise ValueError(f"years {years} run backwards")
    e_value = _exposure(exposure, cfg)
    return {
        group: _group_results(group, [e for e in evs if first <= e.on.year <= last], by, first, last, e_value,
                              exposure, cfg, flags)
        for group, evs in sorted(grouped.items())
    }


def _group_results(group: str, events: list[DisasterEventFact], by: str, first: int, last: int, e_value: float,
                   exposure: Exposure, cfg: ModelConfig, flags: list[str]) -> tuple[ModelResult, ...]:
    k = PERIODS[by]
    freq = cfg["frequency"]
    half_life = float(freq["half_life_years"])

    def weight(year: int) -> float:
        return 1.0 if math.isinf(half_life) else 0.5 ** ((last - year) / half_life)

    severities = {id(e): _severity(e, cfg["severity"]) for e in events}
    group_severity = sum(severities.values()) / len(severities) if severities else float(cfg["severity"]["floor"])
    periods = list(range(first, last + 1)) if by == "year" else list(range(1, k + 1))
    members = {p: [e for e in events if _period(e.on, by) == p] for p in periods}
    total = len(events)
    bands = band_set("temporal", cfg["bands"])
    exponents = _normalised(cfg["score"]["weights"])
    results = []
    for p in periods:
        evs = members[p]
        if by == "year":
            rate = (len(evs) + float(freq["prior_events"])) / (1 + float(freq["prior_years"]))
            season = None
        else:
            year_weights = sum(weight(y) for y in range(first, last + 1))
            count = sum(weight(e.on.year) for e in evs)
            rate = (count + float(freq["prior_events"]) / k) / (year_weights + float(freq["prior_years"]))
            season = k * len(evs) / total if total else None
        chance = 1 - math.exp(-rate)
        prior_w = float(cfg["severity"]["prior_weight"])
        severity = (sum(severities[id(e)] for e in evs) + prior_w * group_severity) / (len(evs) + prior_w)
        factors = {"frequency": chance, "severity": severity, "exposure": e_value}
        score = float(cfg["scale"]) * math.prod(v ** exponents[n] for n, v in factors.items())
        ids = unique(e.evidence for e in evs)
        components = [
            Component("frequency", chance, exponents["frequency"], chance ** exponents["frequency"], ids,
                      note=f"{rate:.3g} events/year in the period → P(≥1) = {chance:.3g}"),
            Component("severity", severity, exponents["severity"], severity ** exponents["severity"], ids,
                      note=f"mean of {len(evs)} events, shrunk toward the group mean {group_severity:.3g}"),
            Component("exposure", e_value, exponents["exposure"], e_value ** exponents["exposure"],
                      unique(exposure.evidence), note=f"population {exposure.population:g}, disaster points {exposure.disaster_points}"),
        ]
        if season is not None:
            components.append(Component("seasonality", season, None, 0.0, ids,
                                        note="share of events in the period × periods per year; already in frequency"))
        band = bands.classify(score)
        results.append(
            ModelResult(
                method=cfg["method"],
                version=cfg.version,
                score=score,
                level=band.label if band else None,
                colour=band.colour if band else None,
                components=tuple(components),
                evidence=unique([*ids, *exposure.evidence]),
                parameters={"group": group, "by": by, "period": p, "years": [first, last],
                            "half_life_years": half_life, "prior_events": freq["prior_events"],
                            "prior_years": freq["prior_years"], "exponents": exponents, "bands": bands_summary(bands)},
                flags=tuple(flags + ([] if total else ["no-events-in-years"])),
                details={"rate_per_year": rate, "chance": chance, "seasonality": season, "severity": severity,
                         "exposure": e_value, "events": len(evs)},
            )
        )
    return tuple(results)


def _period(day: dt.date, by: str) -> int:
    return day.year if by == "year" else day.month if by == "month" else (day.month - 1) // 3 + 1


def _scaled_log(values: Mapping[str, float], spec: Mapping) -> float:
    """Σ w_k · min(1, ln(1 + x_k) / ln(1 + ref_k)) with normalised weights."""
    weights = _normalised(spec["weights"])
    return sum(w * min(1.0, math.log1p(max(0.0, float(values[k]))) / math.log1p(float(spec["refs"][k])))
               for k, w in weights.items())


def _severity(event: DisasterEventFact, spec: Mapping) -> float:
    floor = float(spec["floor"])
    raw = _scaled_log({"deaths": event.deaths, "affected": event.affected, "loss_10k": event.loss_10k}, spec)
    return floor + (1 - floor) * raw


def _exposure(exposure: Exposure, cfg: ModelConfig) -> float:
    return _scaled_log({"population": exposure.population, "disaster_points": exposure.disaster_points}, cfg["exposure"])


def _normalised(weights: Mapping[str, float]) -> dict[str, float]:
    total = sum(float(w) for w in weights.values())
    if total <= 0:
        raise ValueError("weights must not all be zero")
    return {k: float(w) / total for k, w in weights.items()}
