"""Fresh scores: re-assess only what a change touched, and the aggregates that depend on it.

    reassess(store, Subjects(enterprises={...}, hazard_sources={...}, risk_points={...}))

runs the per-subject models for the touched subjects only (GB 18218 for hazard sources, LEC/LS for
risk points, the rating and residual risk for enterprises, in that order: an enterprise's rating
reads its sources' levels and its points' colours), then the aggregate models whose peers the change
moves (INFORM per region and industry, N-K coupling, CCD, spatial coupling; temporal risk only when
disaster events changed). INFORM and CCD are normalised over all their peers, so they are run whole,
but from the enterprise groups the last run kept with its results, only the changed enterprises'
counties read again (reasoning/group_store.py; the whole province is read when those groups are of
another day or configuration); N-K coupling is run for the changed enterprises' supervision
industries and cities only (each group's result depends on its own records), and not at all when
none of what it counts changed (`Subjects.nk_inputs`); its records are read in a thread while INFORM
is computed and written (only reads, of nothing INFORM writes). Every result it writes or finds
unchanged gets this run's `computedAt`, which the portraits show. Control-measure recommendations
are refreshed by the full `riskgraph assess` (training reads the whole province). Changes of derived
colours and levels are logged, a first value included (reasoning/derived_changes.py).
"""
from __future__ import annotations

import datetime as dt
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from riskgraph.graph.store import GraphStore
from riskgraph.reasoning import group_store
from riskgraph.reasoning.derived_changes import Snapshot, log_changes
from riskgraph.reasoning.region_totals import city_of
from riskgraph.reasoning.run_context import ModelRun, Run
from riskgraph.reasoning.steps.coupling import NkRead, read_nk, step_ccd, step_nk, step_spatial
from riskgraph.reasoning.steps.enterprises import step_enterprises
from riskgraph.reasoning.steps.inform import step_inform_industries, step_inform_regions
from riskgraph.reasoning.steps.major_hazard import step_major_hazard
from riskgraph.reasoning.steps.risk_points import step_risk_points
from riskgraph.reasoning.steps.temporal import step_temporal

#: changed enterprises up to which the last run's groups are reused (reasoning/group_store.py)
REUSE_LIMIT = 200


@dataclass
class Subjects:
    enterprises: set[str] = field(default_factory=set)
    hazard_sources: set[str] = field(default_factory=set)
    risk_points: set[str] = field(default_factory=set)
    areas: bool = False          # regions, disaster points, shelters, resources: the area aggregates
    disaster_events: bool = False
    #: whether what N-K coupling counts may have changed: hidden dangers, accidents, the supervision
    #: industry or region of an enterprise (graph_facts.factor_groups); True when not known
    nk_inputs: bool = True

    @property
    def spatial(self) -> bool:
        """Whether spatial coupling is re-run: its clusters join hazard sources of any enterprise and
        the areas near them, so a change to either may move another enterprise's cluster."""
        return bool(self.hazard_sources or self.areas)

    def __bool__(self) -> bool:
        return bool(self.enterprises or self.hazard_sources or self.risk_points or self.areas or self.disaster_events)

    def describe(self) -> dict[str, int | bool]:
        return {"enterprises": len(self.enterprises), "hazardSources": len(self.hazard_sources),
                "riskPoints": len(self.risk_points), "areas": self.areas, "disasterEvents": self.disaster_events}


def reassess(store: GraphStore, subjects: Subjects, *, as_of: dt.date | None = None) -> list[ModelRun]:
    """Re-run the models for the touched subjects and the aggregates over them; log what changed."""
    if not subjects:
        return []
    run = Run.start(store, as_of, stamp_confirmed=True)  # a few subjects: their results say they were checked
    before = Snapshot.take(store, {"Enterprise": subjects.enterprises, "RiskPoint": subjects.risk_points,
                                   "HazardSource": subjects.hazard_sources, "Region": _all_regions(store)})
    owners = subjects.enterprises | _owners(store, subjects)
    # where the changed enterprises were at their last assessment, read before it is rewritten; past
    # REUSE_LIMIT enterprises (a bulk load) the whole province is read: cheaper than their assessments
    previous = group_store.previous_places(run, owners) if len(owners) <= REUSE_LIMIT else None
    runs: list[ModelRun] = []
    if subjects.hazard_sources:
        runs.append(step_major_hazard(run, ids=subjects.hazard_sources))
    if subjects.risk_points:
        runs.append(step_risk_points(run, "lec", ids=subjects.risk_points))
        runs.append(step_risk_points(run, "ls", ids=subjects.risk_points))
    if subjects.enterprises:
        runs.extend(step_enterprises(run, rating=True, risk=True, keys=subjects.enterprises))
    now = group_store.current_places(run, owners) if previous is not None else {}
    counties = _reuse_groups(run, now, previous)
    run.regions()  # both read here, not by the thread below and this one at once
    run.industries()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nk-read") as ahead:
        # N-K's records are read while INFORM is computed and written (≈ 0.2 s at 50,000 enterprises,
        # a city's and an industry's hidden dangers): only reads, of nothing INFORM writes
        if counties is None or previous is None or subjects.areas:  # a region's PART_OF may have moved it to another city
            nk: Future[NkRead] | None = ahead.submit(read_nk, run)
        elif subjects.nk_inputs:  # an alarm or an inspection moves no group's counts: ≈ 0.25 s saved at 50,000 enterprises
            nk = ahead.submit(read_nk, run, industries=_industries(now, previous), cities=_cities(run, counties))
        else:
            nk = None
        runs.extend(step_inform_regions(run))
        runs.extend(step_inform_industries(run))
        if nk is not None:
            runs.extend(step_nk(run, nk.result()))
    runs.append(step_ccd(run))
    if subjects.spatial:
        runs.append(step_spatial(run))
    if subjects.disaster_events:
        runs.extend(step_temporal(run))
    log_changes(store, before, include_new=True, at=run.computed_at, run=f"fresh-{run.run_ms}")
    return runs


def _owners(store: GraphStore, subjects: Subjects) -> set[str]:
    """The enterprises of the touched risk points and hazard sources: the groups they are counted in."""
    out: set[str] = set()
    if subjects.risk_points:
        out.update(str(r["u"]) for r in store.read(
            "MATCH (e:Enterprise)-[:HAS_RISK_POINT]->(n:RiskPoint) WHERE n.id IN $ids RETURN DISTINCT e.uscc AS u",
            {"ids": sorted(subjects.risk_points)}))
    if subjects.hazard_sources:
        out.update(str(r["u"]) for r in store.read(
            "MATCH (e:Enterprise)-[:HAS_HAZARD_SOURCE]->(n:HazardSource) WHERE n.id IN $ids RETURN DISTINCT e.uscc AS u",
            {"ids": sorted(subjects.hazard_sources)}))
    return out


def _reuse_groups(run: Run, now: dict, previous: dict | None) -> set[str] | None:
    """Use the last run's enterprise groups with the touched counties read again (reasoning/group_store.py);
    the counties read, or None when the whole province is read instead."""
    if previous is None:
        return None
    kept = group_store.stored(run)
    counties = group_store.touched(run, now, previous) if kept is not None else None
    if kept is None or counties is None:
        return None
    run.use_groups(group_store.merge(kept, run.read_groups(counties) if counties else {}, counties))
    return counties


def _industries(now: dict, previous: dict) -> set[str]:
    """The supervision industries the changed enterprises are in now or were in at their last assessment."""
    return {si for _, si in (*now.values(), *previous.values()) if si is not None}


def _cities(run: Run, counties: set[str]) -> set[str]:
    regions = run.regions()
    return {city for county in counties if (city := city_of(regions, county)) is not None}


def _all_regions(store: GraphStore) -> set[str]:
    return {str(r["c"]) for r in store.read("MATCH (r:Region) RETURN r.code AS c")}
