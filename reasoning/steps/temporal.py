"""Temporal risk per county × disaster-type group × granularity (year / quarter / month)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from riskgraph.reasoning import graph_facts as gf
from riskgraph.reasoning.models.config import load_config
from riskgraph.reasoning.models.result import ModelResult
from riskgraph.reasoning.models.temporal import Exposure, temporal_risk
from riskgraph.reasoning.region_totals import region_totals
from riskgraph.reasoning.run_context import ModelRun, Run, Timer
from riskgraph.reasoning.writeback import Written, remove_stale, write_assessments


def step_temporal(run: Run) -> list[ModelRun]:
    timer = Timer()
    cfg = load_config("temporal")
    regions = run.regions()
    totals = region_totals(run)
    events = gf.disaster_events(run.store, run.as_of, page=run.page)
    counties = sorted(c for c, r in regions.items() if r.level == "COUNTY")
    first = min((e.on.year for evs in events.values() for e in evs), default=run.as_of.year)
    years = (first, run.as_of.year)
    read_s = timer.seconds
    runs = []
    for by in run.cfg["temporal"]["granularities"]:
        t = Timer()
        items = []
        for code in counties:
            evs = events.get(code)
            if not evs:
                continue
            area = totals.area.get(code, Counter())
            exposure = Exposure(population=float(totals.population.get(code) or 0.0),
                                disaster_points=int(area["disaster_points"]), evidence=(code,))
            for group, results in temporal_risk(evs, exposure, by=by, years=years, config=cfg).items():
                items.append(fold_periods(code, group, by, results))
        n = write_assessments(run, items)
        runs.append(ModelRun(f"temporal:{by}", cfg["method"], cfg.version, n,
                             t.seconds + read_s / len(run.cfg["temporal"]["granularities"])))
    remove_stale(run, cfg["method"], "Region")
    return runs


def fold_periods(county: str, group: str, by: str, results: Sequence[ModelResult]) -> Written:
    """One Assessment per (county, group, granularity): the peak period's result, every period in the JSON."""
    peak = max(results, key=lambda r: (r.score if r.score is not None else -1.0))
    periods = [{"period": r.parameters["period"], "score": r.score, "level": r.level, "colour": r.colour,
                "details": r.details, "evidence": list(r.evidence)} for r in results]
    folded = replace(peak, evidence=tuple(dict.fromkeys(e for r in results for e in r.evidence)))
    return Written("Region", county, folded, qualifier=f"{group}:{by}", extra={
        "group": group, "by": by, "peakPeriod": peak.parameters["period"],
        "score": "the peak period's score; every period in periods", "periods": periods})
