"""Enterprise quantitative rating after 应急〔2018〕19号, plus RiskGraph's published dynamic factors.

    score = clamp(100 − Σ min(cap_p, deduction_p) + Σ bonus_b, 0, 100)
    ≥ 90 蓝 · 75–<90 黄 · 60–<75 橙 · < 60 红 (bands and every weight in enterprise_rating.toml)

Unknown is never safe. Every section of the guide is reported, each with what the graph could show:
  assessed      the data the guide's items need is on record (重大危险源 registry, inventories for
                物质危险性, the listed hazardous processes, accidents when the register is known complete);
  evidence      the graph can show a failing (an open 重大隐患 stating a 121号 item, a penalty, an expired
                certificate, an unmonitored major hazard source) but never that the item is met;
  not-assessed  nothing on record bears on it.
The score counts the deductions found; what is not known stays open in `details.score_range` (the
lowest score the open points allow) and in a flag per section — never full marks. "No accident record"
is not "no accident": the five-year bonus needs the register known complete for the window.

Automatic 红: the guide's accident rules; its three other conditions (unqualified special operators, an
untested new process, a plant without formal design) from findings, flagged `auto-red-unknown:` when no
finding decides them; and the bureau's own rule for active 黑名单 / 联合惩戒 listings. Dynamic projects (the
seed's, not the guide's): IoT alarms, enforcement, overdue and open major hidden dangers, rectification
rate, lapsed dual-prevention checks (排查任务逾期), credit records. Components sum with the base to the
unclamped score.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from riskgraph.reasoning.models.bands import Band, BandSet, band_set, bands_summary
from riskgraph.reasoning.models.config import ModelConfig, load_config
from riskgraph.reasoning.models.facts import EnterpriseFacts, days_window, within_days, within_years, years_before
from riskgraph.reasoning.models.result import Component, ModelResult, unique
from riskgraph.reasoning.models.table1 import table1
from riskgraph.reasoning.models.vocab import rank, vocabulary

__all__ = ["EnterpriseFacts", "rate_enterprise", "automatic_red", "findings"]

_Item = tuple[float, str]  # (points, evidence id)

ASSESSED, EVIDENCE, NOT_ASSESSED = "assessed", "evidence", "not-assessed"


@dataclass
class _Section:
    """One of the guide's projects as far as the facts show it."""

    status: str
    items: list[_Item] = field(default_factory=list)
    open_extra: float = 0.0  # points an assessed section leaves open (e.g. an accident's unknown social impact)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Finding:
    """A recorded failing that bears on a section (and perhaps on an automatic-红 rule)."""

    section: str
    points: float
    evidence: str
    source: str
    auto_red: str | None = None
    fact: str | None = None


def rate_enterprise(facts: EnterpriseFacts, *, config: ModelConfig | None = None, static: bool = True) -> ModelResult:
    """The rating of one enterprise as of `facts.as_of`.

    `static=False` rates outside the guide's scope (not a hazardous-chemical enterprise): only the
    dynamic projects apply; the guide's sections, bonuses and automatic-红 rules are not applicable.
    """
    cfg = config or load_config("enterprise_rating")
    if facts.accident_register_complete_since is None:
        since = _configured_date(cfg["static"]["accident_free"].get("register_complete_since"))
        if since is not None:
            facts = replace(facts, accident_register_complete_since=since)
    flags: list[str] = []
    found = findings(facts, cfg) if static else []
    sections = {key: fn(facts, cfg["static"][key], found, flags) for key, fn in _STATIC.items()} if static else {}
    for finding in found:  # every finding names the item it states (121号 第N项, or the penalty)
        if finding.section in sections:
            sections[finding.section].notes.append(f"{finding.source}: {finding.evidence}")
    components: list[Component] = []
    open_points = 0.0
    section_report = {}
    for key, sec in sections.items():
        spec = cfg["static"][key]
        comp = _section_component(key, spec, sec)
        if comp is not None:
            components.append(comp)
        taken = max(0.0, -comp.contribution) if comp is not None else 0.0
        remaining = max(0.0, float(spec["cap"]) - taken)
        opened = remaining if sec.status in (EVIDENCE, NOT_ASSESSED) else min(remaining, sec.open_extra)
        open_points += opened
        section_report[key] = {"label": spec["label"], "cap": float(spec["cap"]), "status": sec.status,
                               "deducted": taken, "open": opened, "notes": sec.notes}
        if sec.status == NOT_ASSESSED:
            flags.append(f"not-assessed:{spec['label']} (0 to −{opened:g})")
        elif opened > 0:
            flags.append(f"partly-assessed:{spec['label']} (−{taken:g} found, up to −{opened:g} more not known)")
    components += [c for c in (_deduction(key, cfg["dynamic"][key], fn(facts, cfg["dynamic"][key], flags))
                               for key, fn in _DYNAMIC.items()) if c is not None]
    open_bonus = 0.0
    if static:
        for key, fn in _BONUSES.items():
            item, unknown = fn(facts, cfg["static"][key], flags)
            if item is not None:
                components.append(_bonus(key, cfg["static"][key], item))
            open_bonus += unknown
    raw = float(cfg["base"]) + sum(c.contribution for c in components)
    lo_clamp, hi_clamp = float(cfg["min_score"]), float(cfg["max_score"])
    score = min(hi_clamp, max(lo_clamp, raw))
    if raw > score:
        flags.append(f"capped-at-{cfg['max_score']:g}: bonuses cannot lift the score above the maximum")
    lowest = min(hi_clamp, max(lo_clamp, raw - open_points))
    highest = min(hi_clamp, max(lo_clamp, raw + open_bonus))
    bands = band_set("enterprise_rating", cfg["bands"])
    basis = cfg["colour_basis"]
    if basis not in ("assessed", "lower-bound"):
        raise ValueError(f"colour_basis must be 'assessed' or 'lower-bound', not {basis!r}")
    band = _band(bands, score if basis == "assessed" else lowest)
    level, colour = band.label, band.colour
    red_rules, unknown_rules = _red_rules(facts, cfg, found, guide=static)
    if red_rules:
        red = next(b for b in bands.bands if b.colour == "RED")
        level, colour = red.label, red.colour
        flags.extend(f"auto-red:{rule}" for rule in red_rules)
    flags.extend(f"auto-red-unknown:{rule}" for rule in unknown_rules)
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
        # not the date (`as_of`): it is the result's stamp (asOf), so that a result that comes out the
        # same on a later day is confirmed, not rewritten (reasoning/writeback.py)
        parameters={
            "base": cfg["base"],
            "bands": bands_summary(bands),
            "focus_below": cfg["focus_below"],
            "colour_basis": basis,
            "major_hazard_aggregate": cfg["static"]["major_hazard"]["aggregate"],
            "guide": "应急〔2018〕19号",
        },
        flags=tuple(flags),
        details={
            "raw_score": raw,
            "score_band_colour": _band(bands, score).colour,
            "score_range": [lowest, highest],
            "colour_range": [_band(bands, lowest).colour, _band(bands, highest).colour],
            "open_points": open_points,
            "open_bonus": open_bonus,
            "assessed_points": sum(float(cfg["static"][k]["cap"]) for k in sections) - open_points,
            "sections": section_report,
            "auto_red_rules": list(red_rules),
            "auto_red_unknown": list(unknown_rules),
        },
    )


def _band(bands: BandSet, score: float) -> Band:
    """The band of a score in [min_score, max_score]: the rating's bands cover the whole scale."""
    band = bands.classify(score)
    if band is None:
        raise ValueError(f"enterprise_rating bands do not cover the score {score}")
    return band


def automatic_red(facts: EnterpriseFacts, *, config: ModelConfig | None = None) -> tuple[str, ...]:
    """Names of the automatic-红 rules the facts trigger (regardless of the score)."""
    cfg = config or load_config("enterprise_rating")
    return _red_rules(facts, cfg, findings(facts, cfg))[0]


def _red_rules(facts: EnterpriseFacts, cfg: ModelConfig, found: list[Finding], *, guide: bool = True
               ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(triggered rules, rules the facts cannot decide). An accident of unknown grade counts for the fatal rule
    only. `guide=False` (outside the guide's scope) keeps only the bureau's credit-listing rule."""
    rules = cfg["auto_red"]
    listing = set(rules["credit_listing"]["types"])
    listed = ("credit-listing",) if any(r.active and r.type in listing for r in facts.credit_records) else ()
    if not guide:
        return listed, ()
    accidents = facts.accidents

    def at_least(grade: str, years: int) -> int:
        floor = rank("AccidentGrade", grade)
        return sum(rank("AccidentGrade", a.grade, 0) >= floor and within_years(a.on, facts.as_of, years) for a in accidents)

    triggered: list[str] = []
    major = rules["major_accident"]
    if at_least(major["grade"], major["years"]) >= 1:
        triggered.append("major-accident")
    larger = rules["larger_accidents"]
    if at_least(larger["grade"], larger["years"]) >= larger["count"]:
        triggered.append("larger-accidents")
    fatal = rules["fatal_accidents"]
    if sum(a.deaths > 0 and within_years(a.on, facts.as_of, fatal["years"]) for a in accidents) >= fatal["count"]:
        triggered.append("fatal-accidents")
    unknown: list[str] = []
    evidenced = {f.auto_red for f in found if f.auto_red}
    for rule, given in (("unqualified-special-operators", facts.unqualified_special_operators),
                        ("untested-new-process", facts.untested_new_process),
                        ("plant-without-formal-design", facts.plant_without_formal_design)):
        if given or rule in evidenced:
            triggered.append(rule)
        elif given is None:
            unknown.append(rule)
    return (*triggered, *listed), tuple(unknown)


def findings(facts: EnterpriseFacts, cfg: ModelConfig) -> list[Finding]:
    """Open 重大隐患 stating a 121号 item and recent penalties whose violation bears on a section."""
    spec = cfg["evidence"]
    out: list[Finding] = []
    for h in facts.hidden_dangers:
        if h.closed or not h.description or (h.found_on is not None and h.found_on > facts.as_of):
            continue
        for item in spec["major_hidden_dangers"]:
            if any(w in h.description for w in item["words"]):
                out.append(Finding(item["section"], float(item["points"]), h.evidence,
                                   f"安监总管三〔2017〕121号 第{item['item']}项", item.get("auto_red"), item.get("fact")))
                break
    for p in facts.penalties:
        if not p.violation or not within_days(p.on, facts.as_of, int(spec["penalty_days"])):
            continue
        for item in spec["penalties"]:
            if any(w in p.violation for w in item["words"]):
                out.append(Finding(item["section"], float(item["points"]), p.evidence, "penalty", item.get("auto_red")))
                break
    return out


# ---------------------------------------------------------------- components
def _section_component(key: str, spec: Mapping[str, Any], sec: _Section) -> Component | None:
    """The section as a component: what was deducted, and what is open in its note (None when nothing to say)."""
    if sec.status == NOT_ASSESSED and not sec.items:
        return Component(name=key, value=0.0, weight=float(spec["cap"]), contribution=0.0,
                         note=f"{spec['label']}: not assessed (0 to −{spec['cap']:g})")
    comp = _deduction(key, spec, sec.items)
    if comp is None:
        if sec.status == ASSESSED and not sec.open_extra:
            return None
        comp = Component(name=key, value=0.0, weight=float(spec["cap"]), contribution=0.0, note=f"{spec['label']}: −0")
    if sec.status == EVIDENCE:
        comp = Component(comp.name, comp.value, comp.weight, comp.contribution, comp.evidence,
                         comp.note + " (from findings; the rest not known)")
    if sec.notes:
        comp = Component(comp.name, comp.value, comp.weight, comp.contribution, comp.evidence,
                         comp.note + "; " + "; ".join(sec.notes))
    return comp


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


def _bonus(key: str, spec: Mapping[str, Any], item: _Item) -> Component:
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


def _from_findings(key: str, found: list[Finding]) -> list[_Item]:
    return [(f.points, f.evidence) for f in found if f.section == key]


# ---------------------------------------------------------------- the guide's sections
_Static = Callable[[EnterpriseFacts, Mapping, list[Finding], list[str]], _Section]


def _major_hazard(f: EnterpriseFacts, spec: Mapping, found: list[Finding], flags: list[str]) -> _Section:
    items = _priced(spec["per_level"], ((s.level, s.evidence) for s in f.major_hazards), "major-hazard-level", flags)
    rule = spec["aggregate"]
    if rule == "max":
        items = [max(items)] if items else []
    elif rule == "per-level":
        by_points: dict[float, list[str]] = {}
        for points, evidence in items:
            by_points.setdefault(points, []).append(evidence)
        # one deduction per level present; every source of that level is its evidence
        items = [(points, e) for points, ids in by_points.items() for e in ids[:1]] + \
                [(0.0, e) for ids in by_points.values() for e in ids[1:]]
    elif rule != "per-source":
        raise ValueError(f"major_hazard.aggregate must be 'per-level', 'max' or 'per-source', not {rule!r}")
    return _Section(spec["status"], items)


def _substances(f: EnterpriseFacts, spec: Mapping, found: list[Finding], flags: list[str]) -> _Section:
    if f.substances is None:
        return _Section(NOT_ASSESSED, notes=["no inventory on record"])
    explosive, toxic = set(spec["explosive_categories"]), set(spec["inhalation_toxic_categories"])
    seen: dict[str, tuple[str, str]] = {}  # substance key → (kind, evidence)
    index = table1()
    for s in f.substances:
        rows, _ = index.candidates(s.name, s.cas)
        row = rows[0] if rows else None
        key = (row.concept.data.get("casNumber") or row.concept.notation) if row else (s.cas or s.name or s.evidence)
        categories = {s.category} if s.category else set()
        if row is not None and row.concept.data.get("hazardCategory"):
            categories.add(row.concept.data["hazardCategory"])
        table3 = row is not None and "beta" in row.concept.data and bool(spec["table3_gases_are_inhalation_toxic"])
        if categories & explosive or categories & toxic or table3:
            kind = "explosive-or-inhalation-toxic"
        elif row is not None and row.concept.data.get("keySupervised"):
            kind = "key-supervised"
        else:
            continue
        if key not in seen or (kind == "explosive-or-inhalation-toxic" and seen[key][0] != kind):
            seen[key] = (kind, s.evidence)
    points = {"explosive-or-inhalation-toxic": float(spec["per_explosive_or_inhalation_toxic"]),
              "key-supervised": float(spec["per_other_key_supervised"])}
    return _Section(ASSESSED, [(points[kind], evidence) for kind, evidence in seen.values()])


def _processes(f: EnterpriseFacts, spec: Mapping, found: list[Finding], flags: list[str]) -> _Section:
    if not f.processes_known:
        return _Section(NOT_ASSESSED, notes=["no record of the enterprise's hazardous processes"])
    first: dict[str, str] = {}
    for p in f.processes:
        first.setdefault(p.code, p.evidence)
    return _Section(ASSESSED, [(float(spec["per_process"]), evidence) for evidence in first.values()])


def _not_assessed(f: EnterpriseFacts, spec: Mapping, found: list[Finding], flags: list[str]) -> _Section:
    return _Section(NOT_ASSESSED)


def _evidence_section(key: str) -> _Static:
    def section(f: EnterpriseFacts, spec: Mapping, found: list[Finding], flags: list[str]) -> _Section:
        return _Section(EVIDENCE, _from_findings(key, found))
    return section


def _surroundings(f: EnterpriseFacts, spec: Mapping, found: list[Finding], flags: list[str]) -> _Section:
    items = []
    if f.in_park is None:
        flags.append("in-park-unknown")
    elif not f.in_park:
        items.append((float(spec["outside_park"]), f.subject))
    distance = [x for x in found if x.fact == "safety_distance_met"]
    if f.safety_distance_met is False and not distance:
        items.append((float(spec["distance_not_met"]), f.subject))
    items += _from_findings("surroundings", found)
    return _Section(EVIDENCE if f.safety_distance_met is None and not distance else ASSESSED, items)


def _controls(f: EnterpriseFacts, spec: Mapping, found: list[Finding], flags: list[str]) -> _Section:
    items = [(float(spec["per_unmonitored_major_hazard"]), s.evidence) for s in f.major_hazards if s.monitored is False]
    return _Section(EVIDENCE, items + _from_findings("controls", found))


def _personnel(f: EnterpriseFacts, spec: Mapping, found: list[Finding], flags: list[str]) -> _Section:
    types = set(spec["expired_certificate_types"])
    items = [(float(spec["per_expired_certificate"]), lic.evidence) for lic in f.licences
             if lic.type in types and lic.valid_until is not None and lic.valid_until < f.as_of]
    return _Section(EVIDENCE, items + _from_findings("personnel", found))


def _performance(f: EnterpriseFacts, spec: Mapping, found: list[Finding], flags: list[str]) -> _Section:
    """The guide's accident items over `years`: 较大+ −10, fatal −8, social impact without casualties −5."""
    items, open_extra = [], 0.0
    floor = rank("AccidentGrade", "LARGER")
    policy = spec["social_impact_unknown"]
    if policy not in ("open", "deduct", "ignore"):
        raise ValueError(f"performance.social_impact_unknown must be 'open', 'deduct' or 'ignore', not {policy!r}")
    notes = []
    for a in f.accidents:
        if not within_years(a.on, f.as_of, int(spec["years"])):
            continue
        graded = a.grade in vocabulary("AccidentGrade")
        if not graded:
            flags.append(f"unknown-accident-grade:{a.grade}:{a.evidence}")
        if graded and rank("AccidentGrade", a.grade) >= floor:
            items.append((float(spec["larger_or_worse"]), a.evidence))
        elif a.deaths > 0:
            items.append((float(spec["fatal"]), a.evidence))
        elif a.type in set(spec["social_impact_types"]) or (not graded and a.type is None):
            if policy == "deduct":
                items.append((float(spec["social_impact_no_casualties"]), a.evidence))
            elif policy == "open":
                open_extra += float(spec["social_impact_no_casualties"])
                notes.append(f"{a.evidence}: social impact not known")
    complete = f.accident_register_complete_since
    if complete is None or complete > years_before(f.as_of, int(spec["years"])):
        notes.append("accident register not known complete: unrecorded accidents not ruled out")
        return _Section(EVIDENCE, items, notes=notes)
    return _Section(ASSESSED, items, open_extra, notes)


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
    # an enterprise of a province has ≈ 70 lapsed checks: the window is worked out once, not per check
    points, (first, last) = float(spec["per_check"]), days_window(f.as_of, spec["window_days"])
    return [(points, c.evidence) for c in f.lapsed_checks if first <= c.period_end <= last]


def _credit(f: EnterpriseFacts, spec: Mapping, flags: list[str]) -> list[_Item]:
    active = ((r.type, r.evidence) for r in f.credit_records if r.active)
    return _priced(spec["per_record"], active, "credit-record-type", flags)


# ---------------------------------------------------------------- bonuses: (item granted, points left open)
def _standardisation(f: EnterpriseFacts, spec: Mapping, flags: list[str]) -> tuple[_Item | None, float]:
    if f.standardisation is None:
        return None, 0.0
    if f.standardisation not in spec["bonus"]:
        flags.append(f"unknown-standardisation-grade:{f.standardisation}")
        return None, 0.0
    return (float(spec["bonus"][f.standardisation]), f.subject), 0.0


def _accident_free(f: EnterpriseFacts, spec: Mapping, flags: list[str]) -> tuple[_Item | None, float]:
    """+5 only when the record shows no accident in the window AND the register is known complete for it."""
    years = int(spec["years"])
    if any(within_years(a.on, f.as_of, years) for a in f.accidents):
        return None, 0.0
    complete = f.accident_register_complete_since
    if complete is None or complete > years_before(f.as_of, years):
        flags.append(f"accident-free-unknown: no accident on record in {years} years, but the register is not "
                     "known complete, so no record is not no accident (bonus not granted)")
        return None, float(spec["bonus"])
    return (float(spec["bonus"]), f.subject), 0.0


def _fire_brigade(f: EnterpriseFacts, spec: Mapping, flags: list[str]) -> tuple[_Item | None, float]:
    return ((float(spec["bonus"]), f.subject) if f.own_fire_brigade else None), 0.0


def _configured_date(value: Any) -> dt.date | None:
    if not value:
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


_STATIC: dict[str, _Static] = {
    "major_hazard": _major_hazard,
    "substances": _substances,
    "hazardous_process": _processes,
    "fire_explosion": _not_assessed,
    "surroundings": _surroundings,
    "design": _evidence_section("design"),
    "equipment": _evidence_section("equipment"),
    "controls": _controls,
    "personnel": _personnel,
    "management": _evidence_section("management"),
    "performance": _performance,
}
_Deduct = Callable[[EnterpriseFacts, Mapping, list[str]], list[_Item]]
_DYNAMIC: dict[str, _Deduct] = {
    "alarms": _alarms,
    "enforcement": _enforcement,
    "overdue_hidden_dangers": _overdue,
    "open_major_hidden_dangers": _open_major,
    "rectification_rate": _rectification,
    "lapsed_checks": _lapsed_checks,
    "credit": _credit,
}
_BONUSES: dict[str, Callable[[EnterpriseFacts, Mapping, list[str]], tuple[_Item | None, float]]] = {
    "standardisation": _standardisation,
    "accident_free": _accident_free,
    "fire_brigade": _fire_brigade,
}
