"""The rules as pure functions: facts in, warning candidates out (no store, no clock but `as_of`).

One function per rule type; `evaluate` runs every rule of rules.toml. A candidate's `trigger_key`
(rule, subject and, for periodic rules, the period) is what makes a repeated trigger update the
open warning instead of making another (workflows/warnings.py).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from riskgraph.reasoning.models.vocab import rank, vocabulary
from riskgraph.reasoning.warnings.facts import (
    AlarmFact,
    ChangeFact,
    DangerFact,
    Owner,
    SourceFact,
    WarningFacts,
)
from riskgraph.reasoning.warnings.rules import ALARM_LEVELS, COLOURS, HAZARD_LEVELS, Rules, colour_rank


@dataclass(frozen=True)
class Evidence:
    """One fact a warning stands on: the node and the values the rule read from it."""

    label: str
    key: str
    values: Mapping[str, Any] = field(default_factory=dict)
    at: dt.datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "key": self.key, "values": dict(self.values),
                "at": self.at.isoformat() if self.at else None}


@dataclass(frozen=True)
class Candidate:
    rule: str
    type: str
    level: str                          # RiskColour notation
    title: str
    subject_label: str
    subject_key: str
    subject_name: str | None
    owner: Owner | None
    region: str | None
    evidence: tuple[Evidence, ...]
    triggered_at: dt.datetime
    qualifier: str = ""                 # a period, for rules that warn once per period
    description: str = ""

    @property
    def trigger_key(self) -> str:
        return f"{self.rule}:{self.subject_label}:{self.subject_key}" + (f":{self.qualifier}" if self.qualifier else "")


Rule = Mapping[str, Any]
RuleFunction = Callable[[str, Rule, WarningFacts], list[Candidate]]


def _zh(scheme: str, notation: str | None) -> str:
    concept = vocabulary(scheme).concepts.get(notation or "")
    return concept.pref_zh if concept is not None and concept.pref_zh else (notation or "无")


def _name(owner: Owner | None) -> str:
    return (owner.name or owner.uscc) if owner else ""


def _newest(items: Iterable[Evidence]) -> tuple[Evidence, ...]:
    return tuple(sorted(items, key=lambda e: (e.at is not None, e.at or dt.datetime.min.replace(tzinfo=dt.UTC), e.key),
                        reverse=True))


def _alarm_evidence(a: AlarmFact) -> Evidence:
    values = {"alarmLevel": a.level, "value": a.value, "unit": a.unit, "metric": a.metric,
              "thresholds": dict(a.thresholds) if a.thresholds else None, "sensor": a.sensor,
              "handled": a.handled_at is not None}
    return Evidence("MonitoringAlarm", a.id, {k: v for k, v in values.items() if v is not None}, a.occurred_at)


def _recent_alarms(alarms: Sequence[AlarmFact], rule: Rule, as_of: dt.datetime) -> dict[tuple[str, str, str], list[AlarmFact]]:
    floor = rank(ALARM_LEVELS, rule["min_alarm_level"])
    since = as_of - dt.timedelta(hours=float(rule["window_hours"]))
    by_subject: dict[tuple[str, str, str], list[AlarmFact]] = defaultdict(list)
    for a in alarms:
        if since <= a.occurred_at <= as_of and rank(ALARM_LEVELS, a.level, 0) >= floor:
            by_subject[(a.subject_label, a.subject_key or a.sensor, a.sensor)].append(a)
    return by_subject


def iot_alarm(rule_id: str, rule: Rule, facts: WarningFacts) -> list[Candidate]:
    """Alarms at or above the rule's level in its window: one warning per monitored unit, at the worst alarm's level."""
    per_unit: dict[tuple[str, str], list[AlarmFact]] = defaultdict(list)
    for (label, key, _), alarms in _recent_alarms(facts.alarms, rule, facts.as_of).items():
        per_unit[(label, key)].extend(alarms)
    out = []
    for (label, key), alarms in sorted(per_unit.items()):
        worst = max(alarms, key=lambda a: (rank(ALARM_LEVELS, a.level), a.occurred_at))
        first = alarms[0]
        level = worst.level  # AlarmLevel and RiskColour share the four notations
        metric = worst.metric or "监测值"
        out.append(Candidate(
            rule=rule_id, type=rule["type"], level=level, title=f"{rule['title']}：{first.subject_name or key} {metric}",
            subject_label=label, subject_key=key, subject_name=first.subject_name, owner=first.owner,
            region=first.region or (first.owner.region if first.owner else None),
            evidence=_newest(_alarm_evidence(a) for a in alarms), triggered_at=max(a.occurred_at for a in alarms),
            description=(f"{_name(first.owner)} {first.subject_name or key} {metric} {worst.value}{worst.unit or ''}"
                         f" 达到{_zh(ALARM_LEVELS, level)}色报警阈值（{len(alarms)} 次，近 {rule['window_hours']} 小时）"),
        ))
    return out


def iot_alarm_repeated(rule_id: str, rule: Rule, facts: WarningFacts) -> list[Candidate]:
    """A sensor alarming `count` times or more in the window: the highest band reached gives the level."""
    bands = sorted(rule["bands"], key=lambda b: int(b["count"]))
    out = []
    for (_, key, sensor), alarms in sorted(_recent_alarms(facts.alarms, rule, facts.as_of).items()):
        reached = [b for b in bands if len(alarms) >= int(b["count"])]
        if not reached:
            continue
        first = alarms[0]
        out.append(Candidate(
            rule=rule_id, type=rule["type"], level=reached[-1]["level"],
            title=f"{rule['title']}：{first.subject_name or key}",
            subject_label="Sensor", subject_key=sensor, subject_name=first.subject_name, owner=first.owner,
            region=first.region or (first.owner.region if first.owner else None),
            evidence=_newest(_alarm_evidence(a) for a in alarms), triggered_at=max(a.occurred_at for a in alarms),
            description=f"{_name(first.owner)} 传感器 {sensor} 近 {rule['window_hours']} 小时报警 {len(alarms)} 次",
        ))
    return out


def _recent_changes(changes: Sequence[ChangeFact], rule: Rule, as_of: dt.datetime, labels: set[str],
                    prop: str) -> list[ChangeFact]:
    since = as_of - dt.timedelta(days=float(rule["window_days"]))
    return [c for c in changes if c.label in labels and c.property == prop and since <= c.changed_at <= as_of]


def _latest_per_subject(changes: Iterable[ChangeFact]) -> dict[tuple[str, str], list[ChangeFact]]:
    out: dict[tuple[str, str], list[ChangeFact]] = defaultdict(list)
    for c in sorted(changes, key=lambda c: (c.changed_at, c.id)):
        out[(c.label, c.key)].append(c)
    return out


def colour_raised(rule_id: str, rule: Rule, facts: WarningFacts) -> list[Candidate]:
    """A colour that rose to one of the rule's colours (from a lower one, or from none: new)."""
    wanted = set(rule["colours"])
    out = []
    for (label, key), changes in sorted(_latest_per_subject(
            _recent_changes(facts.changes, rule, facts.as_of, set(rule["labels"]), "riskColour")).items()):
        rises = [c for c in changes if c.new in wanted and colour_rank(c.new) > colour_rank(c.old)]
        if not rises or changes[-1].new not in wanted:  # risen and still there
            continue
        last = rises[-1]
        out.append(Candidate(
            rule=rule_id, type=rule["type"], level=last.new, title=f"{rule['title']}：{last.name or key}",
            subject_label=label, subject_key=key, subject_name=last.name, owner=last.owner, region=last.region,
            evidence=_newest(Evidence(c.label, c.key, {"property": c.property, "old": c.old, "new": c.new,
                                                       "changeEvent": c.id}, c.changed_at) for c in rises),
            triggered_at=last.changed_at,
            description=f"{last.name or key} 风险等级由 {_zh(COLOURS, last.old)} 变为 {_zh(COLOURS, last.new)}",
        ))
    return out


def major_hazard_raised(rule_id: str, rule: Rule, facts: WarningFacts) -> list[Candidate]:
    """A hazard source's GB 18218 level rising (none → a level: newly major)."""
    levels = rule["levels"]
    out = []
    for (label, key), changes in sorted(_latest_per_subject(
            _recent_changes(facts.changes, rule, facts.as_of, {"HazardSource"}, "majorHazardLevel")).items()):
        rises = [c for c in changes if c.new in levels and rank(HAZARD_LEVELS, c.new) > rank(HAZARD_LEVELS, c.old or "", 0)]
        if not rises or changes[-1].new != rises[-1].new:
            continue
        last = rises[-1]
        out.append(Candidate(
            rule=rule_id, type=rule["type"], level=levels[last.new], title=f"{rule['title']}：{last.name or key}",
            subject_label=label, subject_key=key, subject_name=last.name, owner=last.owner, region=last.region,
            evidence=_newest(Evidence(c.label, c.key, {"property": c.property, "old": c.old, "new": c.new,
                                                       "changeEvent": c.id}, c.changed_at) for c in rises),
            triggered_at=last.changed_at,
            description=f"{last.name or key} 重大危险源等级由 {last.old or '非重大'} 升为 {last.new}",
        ))
    return out


def _danger_evidence(d: DangerFact, as_of: dt.date, tz: dt.tzinfo | None) -> Evidence:
    values: dict[str, Any] = {"name": d.name, "grade": d.grade, "state": d.state,
                              "foundOn": d.found_on.isoformat() if d.found_on else None,
                              "deadline": d.deadline.isoformat() if d.deadline else None}
    if d.deadline is not None and d.open and d.deadline < as_of:
        values["daysOverdue"] = (as_of - d.deadline).days
    at = dt.datetime.combine(d.found_on, dt.time(), tzinfo=tz) if d.found_on else None
    return Evidence("HiddenDanger", d.id, {k: v for k, v in values.items() if v is not None}, at)


def major_hidden_danger(rule_id: str, rule: Rule, facts: WarningFacts) -> list[Candidate]:
    """Each open major hidden danger found within the window."""
    today = facts.as_of.date()
    since = today - dt.timedelta(days=int(rule["window_days"]))
    out = []
    for d in sorted(facts.dangers, key=lambda d: d.id):
        if d.grade != rule["grade"] or not d.open or d.found_on is None or not (since <= d.found_on <= today):
            continue
        out.append(Candidate(
            rule=rule_id, type=rule["type"], level=rule["level"], title=f"{rule['title']}：{d.name or d.id}",
            subject_label="HiddenDanger", subject_key=d.id, subject_name=d.name, owner=d.owner,
            region=d.owner.region if d.owner else None, evidence=(_danger_evidence(d, today, facts.as_of.tzinfo),),
            triggered_at=dt.datetime.combine(d.found_on, dt.time(), tzinfo=facts.as_of.tzinfo),
            description=f"{_name(d.owner)} 新增重大事故隐患：{d.name or d.id}",
        ))
    return out


def overdue_rectification(rule_id: str, rule: Rule, facts: WarningFacts) -> list[Candidate]:
    """Per enterprise: open dangers past their deadline (plus grace); majors give one level, many generals another."""
    today = facts.as_of.date()
    cutoff = today - dt.timedelta(days=int(rule["grace_days"]))
    per: dict[str, list[DangerFact]] = defaultdict(list)
    owners: dict[str, Owner] = {}
    for d in facts.dangers:
        if d.open and d.deadline is not None and d.deadline < cutoff and d.owner is not None:
            per[d.owner.uscc].append(d)
            owners[d.owner.uscc] = d.owner
    out = []
    for uscc, dangers in sorted(per.items()):
        majors = [d for d in dangers if d.grade == rule["major_grade"]]
        generals = [d for d in dangers if d.grade != rule["major_grade"]]
        if majors:
            level = rule["major_level"]
        elif len(generals) >= int(rule["general_min_count"]):
            level = rule["general_level"]
        else:
            continue
        owner = owners[uscc]
        oldest = min(d.deadline for d in dangers if d.deadline)
        out.append(Candidate(
            rule=rule_id, type=rule["type"], level=level, title=f"{rule['title']}：{_name(owner)}",
            subject_label="Enterprise", subject_key=uscc, subject_name=owner.name, owner=owner, region=owner.region,
            evidence=tuple(_danger_evidence(d, today, facts.as_of.tzinfo) for d in sorted(dangers, key=lambda d: (d.deadline, d.id))),
            triggered_at=dt.datetime.combine(oldest + dt.timedelta(days=1), dt.time(), tzinfo=facts.as_of.tzinfo),
            description=f"{_name(owner)} 逾期未整改隐患 {len(dangers)} 项（其中重大 {len(majors)} 项）",
        ))
    return out


def credit_listing(rule_id: str, rule: Rule, facts: WarningFacts) -> list[Candidate]:
    """A new, still valid listing of one of the rule's types."""
    today = facts.as_of.date()
    since = today - dt.timedelta(days=int(rule["window_days"]))
    out = []
    for c in sorted(facts.credits, key=lambda c: c.id):
        level = rule["levels"].get(c.record_type)
        if level is None or c.listed_on is None or not (since <= c.listed_on <= today):
            continue
        if c.removed_on is not None and c.removed_on <= today:
            continue
        owner = c.owner
        out.append(Candidate(
            rule=rule_id, type=rule["type"], level=level, title=f"{rule['title']}：{_name(owner)}",
            subject_label="Enterprise", subject_key=owner.uscc if owner else c.id,
            subject_name=owner.name if owner else None, owner=owner, region=owner.region if owner else None,
            evidence=(Evidence("CreditRecord", c.id, {k: v for k, v in {
                "recordType": c.record_type, "listedOn": c.listed_on.isoformat(), "reason": c.reason}.items() if v},
                dt.datetime.combine(c.listed_on, dt.time(), tzinfo=facts.as_of.tzinfo)),),
            triggered_at=dt.datetime.combine(c.listed_on, dt.time(), tzinfo=facts.as_of.tzinfo), qualifier=c.record_type,
            description=f"{_name(owner)} 被列入{c.record_type}（{c.listed_on.isoformat()}）" + (f"：{c.reason}" if c.reason else ""),
        ))
    return out


def coupled_cluster(rule_id: str, rule: Rule, facts: WarningFacts) -> list[Candidate]:
    """Clusters with enough members or exposed places; the size band gives the level."""
    bands = sorted(rule["bands"], key=lambda b: int(b["size"]))
    out = []
    for c in sorted(facts.clusters, key=lambda c: c.subject):
        if len(c.members) < int(rule["min_members"]) and len(c.exposed) < int(rule["min_exposed"]):
            continue
        size = len(c.members) + len(c.exposed)
        reached = [b for b in bands if size >= int(b["size"])]
        if not reached:
            continue
        out.append(Candidate(
            rule=rule_id, type=rule["type"], level=reached[-1]["level"],
            title=f"{rule['title']}：{c.subject_name or c.subject} 等 {len(c.members)} 处重大危险源",
            subject_label="HazardSource", subject_key=c.subject, subject_name=c.subject_name, owner=c.owner,
            region=c.region, triggered_at=c.computed_at or facts.as_of,
            evidence=(Evidence("Assessment", c.assessment, {"members": list(c.members), "exposed": list(c.exposed),
                                                            "flags": list(c.flags)}, c.computed_at),),
            description=(f"{len(c.members)} 处重大危险源相互影响范围内" + ("（多米诺）" if len(c.members) > 1 else "")
                         + (f"，影响 {len(c.exposed)} 处避难场所/灾害隐患点" if c.exposed else "")),
        ))
    return out


def coming_month(as_of: dt.datetime) -> tuple[int, int]:
    """(year, month) of the calendar month after `as_of`."""
    return (as_of.year + 1, 1) if as_of.month == 12 else (as_of.year, as_of.month + 1)


def temporal_peak(rule_id: str, rule: Rule, facts: WarningFacts) -> list[Candidate]:
    """Next month's temporal risk at or above the rule's colour, per county and disaster group."""
    year, month = coming_month(facts.as_of)
    floor = colour_rank(rule["min_colour"])
    out = []
    for t in sorted(facts.temporal, key=lambda t: (t.region, t.group)):
        period = next((p for p in t.periods if p.period == month), None)
        if period is None or period.colour is None or colour_rank(period.colour) < floor:
            continue
        out.append(Candidate(
            rule=rule_id, type=rule["type"], level=period.colour,
            title=f"{rule['title']}：{t.region_name or t.region} {t.group} {year}年{month}月",
            subject_label="Region", subject_key=t.region, subject_name=t.region_name, owner=None, region=t.region,
            evidence=(Evidence("Assessment", t.assessment, {"group": t.group, "month": month, "score": period.score,
                                                            "colour": period.colour, "events": list(period.evidence)}),),
            triggered_at=facts.as_of, qualifier=f"{t.group}:{year:04d}-{month:02d}",
            description=f"{t.region_name or t.region} {year}年{month}月 {t.group} 类灾害时度风险为{_zh(COLOURS, period.colour)}",
        ))
    return out


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 1:
        return f"{int(seconds)} 秒"
    if minutes < 120:
        return f"{minutes} 分钟"
    return f"{minutes // 60} 小时 {minutes % 60} 分钟"


def source_stale(rule_id: str, rule: Rule, facts: WarningFacts) -> list[Candidate]:
    """A registered source silent past its limit: one warning per silence (the qualifier is its last
    success, so every check of the same silence finds the open warning, and a later silence — after
    the source delivered again — is a new one)."""
    out = []
    s: SourceFact
    for s in sorted(facts.sources, key=lambda s: s.name):
        since = s.last_success_at or s.registered_at
        if s.limit_s is None or since is None:
            continue
        lag = (facts.as_of - since).total_seconds()
        if lag <= s.limit_s:
            continue
        last = s.last_success_at.isoformat() if s.last_success_at else None
        episode = str(int(s.last_success_at.timestamp() * 1000)) if s.last_success_at else "never"
        values = {"source": s.name, "kind": s.kind, "lastSuccessAt": last, "lagSeconds": int(lag),
                  "staleAfterSeconds": s.limit_s}
        evidence = Evidence("SourceLoad", s.last_load or f"{s.name}:never", {k: v for k, v in values.items() if v is not None},
                            s.last_success_at)
        said = (f"最后一次成功送达 {last}" if last else "登记后从未送达数据")
        out.append(Candidate(
            rule=rule_id, type=rule["type"], level=rule["level"], title=f"{rule['title']}：{s.title or s.name}",
            subject_label="SourceSystem", subject_key=s.name, subject_name=s.title or s.name, owner=None, region=None,
            evidence=(evidence,), triggered_at=since + dt.timedelta(seconds=s.limit_s), qualifier=episode,
            description=(f"数据源 {s.name} 已 {_duration(lag)} 未送达数据（{said}；应每 {_duration(s.limit_s)} 内送达）"),
        ))
    return out


RULE_TYPES: dict[str, RuleFunction] = {
    "iot_alarm": iot_alarm,
    "iot_alarm_repeated": iot_alarm_repeated,
    "colour_raised": colour_raised,
    "major_hidden_danger": major_hidden_danger,
    "overdue_rectification": overdue_rectification,
    "credit_listing": credit_listing,
    "major_hazard_raised": major_hazard_raised,
    "coupled_cluster": coupled_cluster,
    "temporal_peak": temporal_peak,
    "source_stale": source_stale,
}


def evaluate(facts: WarningFacts, rules: Rules, only: Iterable[str] | None = None) -> list[Candidate]:
    """Every rule of the file (or only the named ones) over the facts, in the file's order."""
    wanted = set(only) if only is not None else None
    out: list[Candidate] = []
    for rule_id in rules.rule_ids:
        if wanted is not None and rule_id not in wanted:
            continue
        rule = rules.rule(rule_id)
        function = RULE_TYPES.get(rule["type"])
        if function is None:
            raise ValueError(f"rules.toml [rules.{rule_id}]: unknown type {rule['type']!r}; one of {sorted(RULE_TYPES)}")
        out.extend(function(rule_id, rule, facts))
    return out
