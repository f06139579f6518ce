"""The focus-inspection list (重点监管): per county, the enterprises to inspect first and why.

An enterprise is on the list when its 应急〔2018〕19号 rating (mem-2018-19) scores below the threshold
(75 by default: 橙 and 红) or an automatic-红 rule fired. Within a county the order is: automatic 红 first,
then the lowest score, then the lowest score the rating's open points allow. Each entry carries its
reasons in words a bureau uses (the rule, the score, the largest deductions, what was not assessed),
the official colour with the model that set it, the secondary colour, and when the score was computed.

Read-only; the API route (`GET /focus-inspections`) and the CLI export (`riskgraph focus-list --out x.xlsx`)
both build on `focus_list`. `scope` is an optional Cypher condition over the enterprise `e` (with its
parameters) that limits an inspector to his regions.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from riskgraph.graph.packed_content import assessment_components, with_components
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import canonical_float
from riskgraph.reasoning import graph_facts as gf
from riskgraph.reasoning import run_stamps
from riskgraph.reasoning.models.config import load_config
from riskgraph.reasoning.run_stamps import AT_MS

#: the guide's rules in the bureau's words (auto-red flags of the rating)
RULE_WORDS = {
    "major-accident": "三年内发生过重大及以上安全事故",
    "larger-accidents": "三年内发生2起较大安全事故",
    "fatal-accidents": "近一年内发生2起以上亡人一般安全事故",
    "unqualified-special-operators": "特种作业人员未持有效证件上岗",
    "untested-new-process": "新开发的危险化学品生产工艺未经小试、中试、工业化试验",
    "plant-without-formal-design": "在役化工装置未经正规设计且未进行安全设计诊断",
    "credit-listing": "列入安全生产严重失信主体名单（黑名单）或联合惩戒",
}


@dataclass(frozen=True)
class FocusEntry:
    county: str | None
    county_name: str | None
    uscc: str
    name: str | None
    score: float | None
    score_min: float | None
    rating_colour: str | None
    official_colour: str | None
    official_method: str | None
    secondary_colour: str | None
    secondary_method: str | None
    auto_red: tuple[str, ...]
    reasons: tuple[str, ...]
    computed_at: str | None
    as_of: str | None
    assessment: str


@dataclass
class County:
    code: str | None
    name: str | None
    enterprises: list[FocusEntry] = field(default_factory=list)


def focus_list(store: GraphStore, *, below: float | None = None, region_prefix: str | None = None,
               scope: tuple[str | None, Mapping[str, Any]] = (None, {}), top_deductions: int = 3) -> list[County]:
    """The list grouped by county (GB/T 2260 code order), each county's enterprises most urgent first."""
    cfg = load_config("enterprise_rating")
    threshold = float(cfg["focus_below"] if below is None else below)
    conditions = ["a.method = $method", "(a.score < $below OR a.riskColour = $red)"]
    params: dict[str, Any] = {"method": cfg["method"], "below": threshold, "red": "RED"}
    if region_prefix:
        conditions.append("e.regionCode STARTS WITH $region")
        params["region"] = region_prefix
    cond, extra = scope
    if cond:
        conditions.append(cond)
        params.update(extra)
    rows = with_components(store, store.read("MATCH (a:Assessment)-[:ASSESSES]->(e:Enterprise) WHERE " + " AND ".join(conditions) +
                   " OPTIONAL MATCH (r:Region {code: e.regionCode}) "
                   "RETURN e.uscc AS uscc, e.name AS name, e.regionCode AS county, r.name AS countyName, "
                   "e.riskColour AS colour, e.riskColourMethod AS method, e.secondaryRiskColour AS secondary, "
                   "e.secondaryRiskColourMethod AS secondaryMethod, a.id AS id, a.score AS score, "
                   f"a.riskColour AS ratingColour, {assessment_components('a')}, "
                   f"a.computedAt AS computedAt, a.asOf AS asOf, a.{AT_MS} AS {AT_MS}",
                   params, timeout_ms=gf.AGGREGATE_TIMEOUT_MS))
    runs = run_stamps.latest(store)
    counties: dict[str | None, County] = {}
    for r in rows:
        entry = _entry(r, run_stamps.current({**r, "method": cfg["method"]}, runs), threshold, top_deductions)
        counties.setdefault(entry.county, County(entry.county, entry.county_name)).enterprises.append(entry)
    for county in counties.values():
        county.enterprises.sort(key=lambda e: (not e.auto_red, _num(e.score), _num(e.score_min), e.uscc))
    return [counties[k] for k in sorted(counties, key=lambda c: (c is None, c or ""))]


def _entry(r: Mapping[str, Any], stamp: Mapping[str, Any], threshold: float, top: int) -> FocusEntry:
    """One enterprise's line; `stamp`: its rating's current stamp (reasoning/run_stamps.py)."""
    doc = json.loads(r["components"]) if r.get("components") else {}
    details = doc.get("details", {})
    auto_red = tuple(details.get("auto_red_rules", ()))
    score_range = details.get("score_range") or [r["score"], r["score"]]
    reasons: list[str] = [f"自动判定为红色：{RULE_WORDS.get(rule, rule)}" for rule in auto_red]
    if r["score"] is not None and r["score"] < threshold:
        reasons.append(f"诊断分级得分 {r['score']:.1f} 低于 {threshold:g} 分")
    deductions = sorted((c for c in doc.get("components", ()) if (c.get("contribution") or 0) < 0),
                        key=lambda c: c["contribution"])
    reasons += [c.get("note") or f"{c['name']} {c['contribution']:g}" for c in deductions[:top]]
    open_points = details.get("open_points") or 0
    if open_points:
        reasons.append(f"{open_points:g} 分未能评估（得分可能低至 {score_range[0]:.1f}）")
    return FocusEntry(
        county=r["county"], county_name=r["countyName"], uscc=r["uscc"], name=r["name"], score=r["score"],
        # the stored score is canonical (15 digits); the range from the JSON document must be too, to compare
        score_min=None if score_range[0] is None else canonical_float(score_range[0]),
        rating_colour=r["ratingColour"], official_colour=r["colour"],
        official_method=r["method"], secondary_colour=r["secondary"], secondary_method=r["secondaryMethod"],
        auto_red=auto_red, reasons=tuple(reasons), computed_at=stamp["computedAt"], as_of=stamp["asOf"],
        assessment=r["id"])


def _num(x: float | None) -> float:
    return float("inf") if x is None else float(x)


def entries(counties: Sequence[County]) -> list[FocusEntry]:
    return [e for c in counties for e in c.enterprises]
