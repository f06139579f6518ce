"""Fresh scores: re-assess only what a change touched, and the aggregates that depend on it.

    reassess(store, Subjects(enterprises={...}, hazard_sources={...}, risk_points={...}))

runs the per-subject models for the touched subjects only (GB 18218 for hazard sources, LEC/LS for
risk points, the rating and residual risk for enterprises, in that order: an enterprise's rating
reads its sources' levels and its points' colours), then the aggregate models whose peers the change
moves (INFORM per region and industry, N-K coupling, CCD, spatial coupling; temporal risk only when
disaster events changed) — each aggregate is normalised over all its peers, so it is run whole; on
the 2,000-enterprise province they take about a second together. Every result gets this run's
`computedAt`, which the portraits show. Control-measure recommendations are refreshed by the full
`riskgraph assess` (training reads the whole province). Changes of derived colours and levels are
logged, a first value included (reasoning/derived_changes.py).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from riskgraph.graph.store import GraphStore
from riskgraph.reasoning.derived_changes import Snapshot, log_changes
from riskgraph.reasoning.run_context import ModelRun, Run
from riskgraph.reasoning.steps.coupling import step_ccd, step_nk, step_spatial
from riskgraph.reasoning.steps.enterprises import step_enterprises
from riskgraph.reasoning.steps.inform import step_inform_industries, step_inform_regions
from riskgraph.reasoning.steps.major_hazard import step_major_hazard
from riskgraph.reasoning.steps.risk_points import step_risk_points
from riskgraph.reasoning.steps.temporal import step_temporal


@dataclass
class Subjects:
    enterprises: set[str] = field(default_factory=set)
    hazard_sources: set[str] = field(default_factory=set)
    risk_points: set[str] = field(default_factory=set)
    areas: bool = False          # regions, disaster points, shelters, resources: the area aggregates
    disaster_events: bool = False

    def __bool__(self) -> bool:
        return bool(self.enterprises or self.hazard_sources or self.risk_points or self.areas or self.disaster_events)

    def describe(self) -> dict[str, int | bool]:
        return {"enterprises": len(self.enterprises), "hazardSources": len(self.hazard_sources),
                "riskPoints": len(self.risk_points), "areas": self.areas, "disasterEvents": self.disaster_events}


def reassess(store: GraphStore, subjects: Subjects, *, as_of: dt.date | None = None) -> list[ModelRun]:
    """Re-run the models for the touched subjects and the aggregates over them; log what changed."""
    if not subjects:
        return []
    run = Run.start(store, as_of)
    before = Snapshot.take(store, {"Enterprise": subjects.enterprises, "RiskPoint": subjects.risk_points,
                                   "HazardSource": subjects.hazard_sources, "Region": _all_regions(store)})
    runs: list[ModelRun] = []
    if subjects.hazard_sources:
        runs.append(step_major_hazard(run, ids=subjects.hazard_sources))
    if subjects.risk_points:
        runs.append(step_risk_points(run, "lec", ids=subjects.risk_points))
        runs.append(step_risk_points(run, "ls", ids=subjects.risk_points))
    if subjects.enterprises:
        runs.extend(step_enterprises(run, rating=True, risk=True, keys=subjects.enterprises))
    runs.extend(step_inform_regions(run))
    runs.extend(step_inform_industries(run))
    runs.extend(step_nk(run))
    runs.append(step_ccd(run))
    if subjects.hazard_sources or subjects.areas:
        runs.append(step_spatial(run))
    if subjects.disaster_events:
        runs.extend(step_temporal(run))
    log_changes(store, before, include_new=True, at=run.computed_at, run=f"fresh-{run.run_ms}")
    return runs


def _all_regions(store: GraphStore) -> set[str]:
    return {str(r["c"]) for r in store.read("MATCH (r:Region) RETURN r.code AS c")}
