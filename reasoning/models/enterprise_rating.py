"""Enterprise quantitative rating after 应急〔2018〕19号, plus RiskGraph's published dynamic factors.

    score = clamp(100 − Σ min(cap_p, deduction_p) + Σ bonus_b, 0, 100)
    ≥ 90 蓝 · 75–<90 黄 · 60–<75 橙 · < 60 红 (bands and every weight in enterprise_rating.toml)

Static projects the graph can support: 重大危险源, 危险化工工艺, 周边环境, 安全管理绩效 (accidents), and the
bonuses 标准化, five accident-free years, own fire brigade. Dynamic projects (the seed's, not the
guide's): IoT alarms, enforcement findings and penalties, overdue and open major hidden dangers,
rectification rate, lapsed dual-prevention checks (排查任务逾期), credit records. The guide's
automatic-红 rules override the score and are named in the flags. Components sum with the base to
the unclamped score, so the API can show every point.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from riskgraph.reasoning.models.bands import band_set, bands_summary
from riskgraph.reasoning.models.config import ModelConfig, load_config
from riskgraph.reasoning.models.facts import EnterpriseFacts, within_days, within_years
from riskgraph.reasoning.models.result import Component, ModelResult, unique
from riskgraph.reasoning.models.vocab import rank

__all__ = ["EnterpriseFacts", "rate_enterprise", "automatic_red"]

_Item = tuple[float, str]  # (points, evidence id)


def rate_enterprise(facts: EnterpriseFacts, *, config: ModelConfig | None = None) -> ModelResult:
    """The rating of one enterprise as of `facts.as_of`."""
    cfg = config or load_config("enterprise_rating")
    flags: list[str] = []
    candidates = [
        *(_deduction(key, cfg["static"][key], fn(facts, cfg["static"][key], flags)) for key, fn in _STATIC.items()),
        *(_deduction(key, cfg["dynamic"][key], fn(facts, cfg["dynamic"][key], flags)) for key, fn in _DYNAMIC.items()),
        *(_bonus(key, cfg["static"][key], fn(facts, cfg["static"][key], flags)) for key, fn in _BONUSES.items()),
    ]
    components = [c for c in candidates if c is not None]
    raw = float(cfg["base"]) + sum(c.contribution for c in components)
    score = min(float(cfg["max_score"]), max(float(cfg["min_score"]), raw))
    if raw > score:
        flags.append(f"capped-at-{cfg['max_score']:g}: bonuses cannot lift the score above the maximum")
    bands = band_set("enterprise_rating", cfg["bands"])
    band = bands.classify(score)
    if band is None:
        flags.append(f"unrated:below-{bands.bands[-1].lower:g}")
    level, colour = (band.label, band.colour) if band else (None, None)
    red_rules = automatic_red(facts, config=cfg)
    if red_rules:
        red = next(b for b in bands.bands if b.colour == "RED")
        level, colour = red.label, red.colour
        flags.extend(f"auto-red:{rule}" for rule in red_rules)
    if score < float(cfg["focus_below"]) or red_rules:
        flags.append("focused-inspection")
    return ModelResult(
        method=cfg["method"],
        version=cfg.version,
        score=score,
        level=level,
        colour=colour,
        components=tuple(components),
        evidence=unique([facts.subject, *(e for c in components for e in c.evidence)]),
        parameters={
            "as_of": facts.as_of.isoformat(),
            "base": cfg["base"],
            "bands": bands_summary(bands),
            "focus_below": cfg["focus_below"],
            "major_hazard_aggregate": cfg["static"]["major_hazard"]["aggregate"],
        },
        flags=tuple(flags),
        details={"raw_score": raw, "score_band_colour": band.colour if band else None, "auto_red_rules": list(red_rules)},
    )


def automatic_red(facts: EnterpriseFacts, *, config: ModelConfig | None = None) -> tuple[str, ...]:
    """Names of the guide's automatic-红 rules the facts trigger (regardless of the score).

    An accident of unknown grade counts for the fatal rule only (its grade is flagged by the rating).
    """
    rules = (config or load_config("enterprise_rating"))["auto_red"]
    accidents = facts.accidents

    def at_least(grade: str, years: int) -> int:
        floor = rank("AccidentGrade", grade)
        return sum(rank("AccidentGrade", a.grade, 0) >= floor and within_years(a.on, facts.as_of, years) for a in accidents)

    triggered = []
    major = rules["major_accident"]
    if at_least(major["grade"], major["years"]) >= 1:
        triggered.append("major-accident")
    larger = rules["larger_accidents"]
    if at_least(larger["grade"], larger["years"]) >= larger["count"]:
        triggered.append("larger-accidents")
    fatal = rules["fatal_accidents"]
    if sum(a.deaths > 0 and within_years(a.on, facts.as_of, fatal["years"]) for a in accidents) >= fatal["count"]:
        triggered.append("fatal-accidents")
    if facts.unqualified_special_operators:
        triggered.append("unqualified-special-operators")
    if facts.untested_new_process:
        triggered.append("untested-new-process")
    if facts.plant_without_formal_design:
        triggered.append("plant-without-formal-design")
    return tuple(triggered)


# ---------------------------------------------------------------- components
def _deduction(key: str, spec: Mapping[str, Any], items: list[_Item]) -> Component | None:
    if not items:
        return None
    raw = sum(points for points, _ in items)
    taken = min(float(spec["cap"]), raw)
    return Component(
        name=key,
        value=raw,
        weight=float(spec["cap"]),
        contribution=-taken,
        evidence=unique(e for _, e in items),
        note=f"{spec['label']}: −{taken:g}" + (f" (of {raw:g}, cap {spec['cap']:g})" if raw > taken else ""),
    )


def _bonus(key: str, spec: Mapping[str, Any], item: _Item | None) -> Component | None:
    if item is None:
        return None
    points, evidence = item
    return Component(name=key, value=points, weight=None, contribution=points, evidence=unique([evidence]),
                     note=f"{spec['label']}: +{points:g}")


def _priced(table: Mapping[str, float], facts: Iterable[tuple[str, str]], what: str, flags: list[str]) -> list[_Item]:
    """Points for each (code, evidence) from a config table; a code the table lacks is flagged, not fatal."""
    items = []
    for code, evidence in facts:
        if code in table:
            items.append((float(table[code]), evidence))
        else:
            flags.append(f"unknown-{what}:{code}:{evidence}")
    return items


# ---------------------------------------------------------------- static deductions
def _major_hazard(f: EnterpriseFacts, spec: Mapping, flags: list[str]) -> list[_Item]:
    items = _priced(spec["per_level"], ((s.level, s.evidence) for s in f.major_hazards), "major-hazard-level", flags)
    if spec["aggregate"] == "max":
        return [max(items)] if items else []
    if spec["aggregate"] != "sum":
        raise ValueError(f"major_hazard.aggregate must be 'sum' or 'max', not {spec['aggregate']!r}")
    return items


def _processes(f: EnterpriseFacts, spec: Mapping, flags: list[str]) -> list[_Item]:
    first: dict[str, str] = {}
    for p in f.processes:
        first.setdefault(p.code, p.evidence)
    return [(float(spec["per_process"]), evidence) for evidence in first.values()]


def _surroundings(f: EnterpriseFacts, spec: Mapping, flags: list[str]) -> list[_Item]:
    items = []
    if f.in_park is None:
        flags.append("in-park-unknown")
    elif not f.in_park:
        items.append((float(spec["outside_park"]), f.subject))
    if f.safety_distance_met is False:
        items.append((float(spec["distance_not_met"]), f.subject))
    return items


def _performance(f: EnterpriseFacts, spec: Mapping, flags: list[str]) -> list[_Item]:
    recent = ((a.grade, a.evidence) for a in f.accidents if within_years(a.on, f.as_of, spec["years"]))
    return _priced(spec["per_accident"], recent, "accident-grade", flags)


# ---------------------------------------------------------------- dynamic deductions
def _alarms(f: EnterpriseFacts, spec: Mapping, flags: list[str]) -> list[_Item]:
    recent = ((a.level, a.evidence) for a in f.alarms if within_days(a.at.date(), f.as_of, spec["window_days"]))
    return _priced(spec["per_alarm"], recent, "alarm-level", flags)


def _enforcement(f: EnterpriseFacts, spec: Mapping, flags: list[str]) -> list[_Item]:
    items = [(spec["per_finding"] * i.findings, i.evidence) for i in f.inspections
             if i.findings > 0 and within_days(i.on, f.as_of, spec["window_days"])]
    items += [(spec["per_penalty"] + spec["per_10k_yuan"] * p.amount_yuan / 10_000, p.evidence) for p in f.penalties
              if within_days(p.on, f.as_of, spec["window_days"])]
    return items


def _overdue(f: EnterpriseFacts, spec: Mapping, flags: list[str]) -> list[_Item]:
    overdue = ((h.grade, h.evidence) for h in f.hidden_dangers if h.overdue(f.as_of))
    return _priced(spec["per_item"], overdue, "hidden-danger-grade", flags)


def _open_major(f: EnterpriseFacts, spec: Mapping, flags: list[str]) -> list[_Item]:
    return [(float(spec["per_item"]), h.evidence) for h in f.hidden_dangers if h.major and not h.closed]


def _rectification(f: EnterpriseFacts, spec: Mapping, flags: list[str]) -> list[_Item]:
    due = [h for h in f.hidden_dangers if h.deadline is not None and within_days(h.deadline, f.as_of, spec["window_days"])]
    if not due:
        return []
    rate = sum(h.rectified for h in due) / len(due)
    shortfall = max(0.0, spec["target"] - rate) / spec["target"]
    if shortfall == 0:
        return []
    # the deduction belongs to the dangers that were not rectified: share it among them
    open_ids = [h.evidence for h in due if not h.rectified]
    return [(spec["cap"] * shortfall / len(open_ids), e) for e in open_ids]


def _lapsed_checks(f: EnterpriseFacts, spec: Mapping, flags: list[str]) -> list[_Item]:
    return [(float(spec["per_check"]), c.evidence) for c in f.lapsed_checks
            if within_days(c.period_end, f.as_of, spec["window_days"])]


def _credit(f: EnterpriseFacts, spec: Mapping, flags: list[str]) -> list[_Item]:
    active = ((r.type, r.evidence) for r in f.credit_records if r.active)
    return _priced(spec["per_record"], active, "credit-record-type", flags)


# ---------------------------------------------------------------- bonuses
def _standardisation(f: EnterpriseFacts, spec: Mapping, flags: list[str]) -> _Item | None:
    if f.standardisation is None:
        return None
    if f.standardisation not in spec["bonus"]:
        flags.append(f"unknown-standardisation-grade:{f.standardisation}")
        return None
    return float(spec["bonus"][f.standardisation]), f.subject


def _accident_free(f: EnterpriseFacts, spec: Mapping, flags: list[str]) -> _Item | None:
    if any(within_years(a.on, f.as_of, spec["years"]) for a in f.accidents):
        return None
    return float(spec["bonus"]), f.subject


def _fire_brigade(f: EnterpriseFacts, spec: Mapping, flags: list[str]) -> _Item | None:
    return (float(spec["bonus"]), f.subject) if f.own_fire_brigade else None


_Deduct = Callable[[EnterpriseFacts, Mapping, list[str]], list[_Item]]
_STATIC: dict[str, _Deduct] = {
    "major_hazard": _major_hazard,
    "hazardous_process": _processes,
    "surroundings": _surroundings,
    "performance": _performance,
}
_DYNAMIC: dict[str, _Deduct] = {
    "alarms": _alarms,
    "enforcement": _enforcement,
    "overdue_hidden_dangers": _overdue,
    "open_major_hidden_dangers": _open_major,
    "rectification_rate": _rectification,
    "lapsed_checks": _lapsed_checks,
    "credit": _credit,
}
_BONUSES: dict[str, Callable[[EnterpriseFacts, Mapping, list[str]], _Item | None]] = {
    "standardisation": _standardisation,
    "accident_free": _accident_free,
    "fire_brigade": _fire_brigade,
}
