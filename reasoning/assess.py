"""Run every model over the graph and write the results back (`riskgraph assess`).

    run_all(store, as_of=date(2026, 11, 1)) -> [ModelRun(name, method, version, subjects, seconds), …]

Each step reads its facts with reasoning/graph_facts.py (batched, paged), runs a pure model from
reasoning/models/, and writes one `Assessment` node per result:

    id           "{method}:{subject label}:{subject key}" (+ ":{qualifier}" where a subject has several,
                 e.g. temporal risk per disaster-type group and granularity) — deterministic, so a
                 re-run replaces; an Assessment of the step's (method, label) not rewritten by this
                 run (its subject is gone) is deleted
    method, methodVersion, score, level, riskColour (when the model gives a colour)
    components   JSON: the result's components, parameters, details and flags, plus
                 evidenceTotal, run (assess.toml's method and version) and step-specific context
                 (rating scope, INFORM peer set and raw indicators, tags, temporal periods …);
                 stored deflated in packedContent (graph/packed_content.py): read it in Cypher as
                 assessment_components('a'), the rows through with_components
    evidence     node keys the result cites (at most [read] evidence_limit; the total is in the JSON)
    resultDigest digest of all the above: a result found again the same is confirmed, not rewritten
    computedAt   the wall-clock time of the run that wrote it, ISO 8601 with +08:00
    asOf         the date that run's facts run to; dataLoadId / dataLoadedAt: the newest load it saw
    (Assessment)-[:ASSESSES]->(subject)

A step that covered every subject of its (method, label) stamps one AssessmentRun "{method}:{label}"
with the same four: a result's current stamp is the later of its own and its run's (a confirmed
result is not written at all; reasoning/run_stamps.py says why).

and the subject's derived properties: HazardSource.majorHazardLevel (removed when no longer major),
RiskPoint.riskColour (+ `conflict:reportedColour` in dataQuality when the reported colour differs),
Enterprise.riskColour (the official colour: the model assess.toml [enterprise.official_colour] names, the
other model's colour as secondaryRiskColour, both methods recorded; reasoning/official_colour.py),
Enterprise.ratingScore / ratingScoreMin and Enterprise.tags (supervision tag codes), Region.riskColour
(INFORM). Subject properties are set with MATCH, never MERGE: a result never re-creates a deleted node.

Steps (names for `only`; aliases: risk_point, enterprise, inform, coupling):
    major_hazard       GB 18218-2018 per HazardSource
    risk_point_lec     LEC per RiskPoint assessed by LEC
    risk_point_ls      LS per RiskPoint assessed by LS
    enterprise_rating  应急〔2018〕19号 per Enterprise — full for HC, dynamic factors only for the others
    enterprise_risk    residual risk and supervision tags per Enterprise
    inform_region      INFORM per county, city, province and park
    inform_industry    INFORM per supervision industry and industry class
    nk_coupling        N-K coupling per supervision industry and per city (hidden dangers, accidents)
    ccd                coupling coordination per county (hazard, control, coping; see assess.toml);
                       reads the county INFORM results last written, so run it after inform_region
    spatial_coupling   clusters of major hazard sources with the shelters / disaster points in reach
    temporal           temporal risk per county × disaster-type group × year / quarter / month

Choices and indicator sets: reasoning/config/assess.toml. `as_of` bounds every fact read (nothing
that happened after it counts; windows end on it); states (a danger's state, a colour) are the
graph's current ones.

Layout: this module selects and orders the steps; reasoning/steps/ holds one module per step family;
reasoning/run_context.py the Run every step shares (and the facts read once per run);
reasoning/writeback.py the Assessment writing; reasoning/region_totals.py the region tree walk and
the measures rolled up it (INFORM, coupling and temporal steps).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from riskgraph.graph.collector import fewer_full_collections
from riskgraph.graph.store import GraphStore
from riskgraph.reasoning.derived_changes import Snapshot, log_changes
from riskgraph.reasoning.run_context import ModelRun, Run
from riskgraph.reasoning.steps.coupling import step_ccd, step_nk, step_spatial
from riskgraph.reasoning.steps.enterprises import step_enterprises
from riskgraph.reasoning.steps.inform import step_inform_industries, step_inform_regions
from riskgraph.reasoning.steps.major_hazard import step_major_hazard
from riskgraph.reasoning.steps.recommend import step_recommend
from riskgraph.reasoning.steps.risk_points import step_risk_points
from riskgraph.reasoning.steps.temporal import step_temporal

__all__ = ["ALIASES", "STEPS", "ModelRun", "run_all", "select_steps"]

STEPS = ("major_hazard", "risk_point_lec", "risk_point_ls", "enterprise_rating", "enterprise_risk",
         "inform_region", "inform_industry", "nk_coupling", "ccd", "spatial_coupling", "temporal", "recommend")
ALIASES = {
    "risk_point": {"risk_point_lec", "risk_point_ls"},
    "enterprise": {"enterprise_rating", "enterprise_risk"},
    "inform": {"inform_region", "inform_industry"},
    "coupling": {"nk_coupling", "ccd", "spatial_coupling"},
}


def run_all(store: GraphStore, *, as_of: dt.date | None = None, only: set[str] | None = None,
            progress: Callable[[str, int], None] | None = None) -> list[ModelRun]:
    """Run the selected steps (all by default) as of `as_of` (default: today, local time); one ModelRun per model.

    `progress(step, done)` is called as each step starts (done: steps finished so far), for a progress bar."""
    steps = select_steps(only)
    # the whole run in the store's bulk-load persistence (no fsync per write, one compaction at the
    # end, durability restored even on an error): the run writes tens of thousands of results, and
    # re-running it repairs what a power loss during it could cost (see GraphStore.bulk_load)
    with store.bulk_load(), fewer_full_collections():
        return _run_steps(store, steps, as_of, progress)


def _run_steps(store: GraphStore, steps: set[str], as_of: dt.date | None,
               progress: Callable[[str, int], None] | None) -> list[ModelRun]:
    run = Run.start(store, as_of)
    started: list[str] = []

    def starting(*names: str) -> None:
        if progress is not None:
            for name in names:
                if name in steps and name not in started:
                    progress(name, len(started))
                    started.append(name)
    before = Snapshot.take(store)  # derived colours and levels, to log what this run changes
    runs: list[ModelRun] = []
    starting("major_hazard")
    if "major_hazard" in steps:
        runs.append(step_major_hazard(run))
    for method in ("lec", "ls"):
        starting(f"risk_point_{method}")
        if f"risk_point_{method}" in steps:
            runs.append(step_risk_points(run, method))
    starting("enterprise_rating", "enterprise_risk")
    if steps & {"enterprise_rating", "enterprise_risk"}:
        runs.extend(step_enterprises(run, rating="enterprise_rating" in steps, risk="enterprise_risk" in steps))
    starting("inform_region")
    if "inform_region" in steps:
        runs.extend(step_inform_regions(run))
    starting("inform_industry")
    if "inform_industry" in steps:
        runs.extend(step_inform_industries(run))
    starting("nk_coupling")
    if "nk_coupling" in steps:
        runs.extend(step_nk(run))
    starting("ccd")
    if "ccd" in steps:
        runs.append(step_ccd(run))
    starting("spatial_coupling")
    if "spatial_coupling" in steps:
        runs.append(step_spatial(run))
    starting("temporal")
    if "temporal" in steps:
        runs.extend(step_temporal(run))
    starting("recommend")
    if "recommend" in steps:
        runs.append(step_recommend(run))
    log_changes(store, before, include_new=False, at=run.computed_at, run=f"assess-{run.run_ms}")
    if progress is not None:
        progress("done", len(steps))
    return runs


def select_steps(only: Iterable[str] | None) -> set[str]:
    if only is None:
        return set(STEPS)
    chosen: set[str] = set()
    for name in only:
        if name in ALIASES:
            chosen |= ALIASES[name]
        elif name in STEPS:
            chosen.add(name)
        else:
            raise ValueError(f"unknown assessment step {name!r}; one of {sorted(set(STEPS) | set(ALIASES))}")
    return chosen
