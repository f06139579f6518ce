"""Coupling: N-K per industry and city, coupling coordination per county, spatial clusters of major hazards."""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from riskgraph.reasoning import graph_facts as gf
from riskgraph.reasoning.models.config import ModelConfig, load_config
from riskgraph.reasoning.models.coupling import Point, coordination, haversine_m, nk_coupling_counted, spatial_coupling
from riskgraph.reasoning.region_totals import city_of, region_totals
from riskgraph.reasoning.run_context import ModelRun, Run, Timer
from riskgraph.reasoning.writeback import Written, assessment_id, remove_stale, write_assessments


# ====================================================================== N-K coupling
@dataclass
class NkRead:
    """The records of the N-K groups a run assesses, read (`read_nk`) before they are counted."""

    #: only some groups (an incremental run); the others' results stand
    scoped: bool
    #: per peer set ("supervision_industry", "city"): the groups asked for
    wanted: dict[str, set[str]]
    #: per peer set: the groups with records, and their records counted per factor set
    found: dict[str, dict[str, gf.FactorGroup]]
    seconds: float


def read_nk(run: Run, *, industries: set[str] | None = None, cities: set[str] | None = None) -> NkRead:
    """The records of every group, or (an incremental run) of the groups of `industries` and `cities`.
    Only reads: an incremental run has it done in a thread while it computes INFORM, whose writes
    touch none of it (reasoning/incremental.py)."""
    timer = Timer()
    regions = run.regions()
    scoped = industries is not None or cities is not None
    cities_of = {code: city for code in regions if (city := city_of(regions, code)) is not None}
    wanted_cities = set(cities or ()) if scoped else {c for c, r in regions.items() if r.level == "CITY"}
    members: dict[str, list[str]] = defaultdict(list)
    for code, city in cities_of.items():
        if city in wanted_cities:
            members[city].append(code)
    wanted = {"supervision_industry": set(industries or ()) if scoped else set(run.industries()), "city": wanted_cities}
    found = dict(zip(("supervision_industry", "city"), gf.factor_groups(
        run.store, run.as_of, industries=wanted["supervision_industry"], cities=members, city_of=cities_of),
        strict=True))
    return NkRead(scoped, wanted, found, timer.seconds)


def step_nk(run: Run, read: NkRead | None = None) -> list[ModelRun]:
    """N-K coupling of the groups `read` (default: every group, read now): each group's result depends
    on its own records only, so a scoped run leaves the other groups' results as they stand."""
    read = read or read_nk(run)
    cfg = load_config("coupling")
    known = run.industries()
    limit = int(run.cfg["read"]["evidence_limit"])
    method = cfg["nk"]["method"]
    runs = []
    for name, label in (("supervision_industry", "Industry"), ("city", "Region")):
        t = Timer()
        groups = read.found[name]
        items = [Written(label, code, nk_coupling_counted(group.counts, evidence=group.cited(limit),
                                                          evidence_total=group.total, config=cfg),
                         extra={"groupedBy": name})
                 for code, group in sorted(groups.items()) if label != "Industry" or code in known]
        n = write_assessments(run, items)
        if read.scoped:  # a scoped group left without records: its result goes, as a whole run drops it
            gone = [assessment_id(method, label, code) for code in sorted(read.wanted[name] - set(groups))]
            run.store.execute("UNWIND $ids AS i MATCH (a:Assessment {id: i}) DETACH DELETE a", {"ids": gone})
        runs.append(ModelRun(f"nk_coupling:{name}", method, cfg.version, n, t.seconds + read.seconds / 2))
    if not read.scoped:
        remove_stale(run, method, "Industry")
        remove_stale(run, method, "Region")
    return runs


# ====================================================================== coupling coordination per county
def pooled_effectiveness(m: Counter, risk_cfg: ModelConfig) -> tuple[float | None, dict[str, float]]:
    """enterprise_risk's control effectiveness E over a pool of hidden dangers due and alarms."""
    control = risk_cfg["control"]
    values: dict[str, float] = {}
    if m["hd_due"] > 0:
        values["rectification_rate"] = m["hd_rectified"] / m["hd_due"]
        values["on_time_rate"] = m["hd_on_time"] / m["hd_due"]
    if m["alarms"] > 0:
        values["alarm_handling_rate"] = m["alarms_handled"] / m["alarms"]
    if m["alarms_handled"] > 0:
        hours = m["alarm_handling_ms"] / 3_600_000 / m["alarms_handled"]
        target, worst = float(control["alarm_handling_time"]["target_hours"]), float(control["alarm_handling_time"]["worst_hours"])
        values["alarm_handling_time"] = min(1.0, max(0.0, (worst - hours) / (worst - target)))
    weights = {k: float(w) for k, w in control["weights"].items() if k in values}
    total = sum(weights.values())
    if total <= 0:
        return None, values
    return sum(weights[k] * values[k] for k in weights) / total, values


def step_ccd(run: Run) -> ModelRun:
    timer = Timer()
    cfg, risk_cfg = load_config("coupling"), load_config("enterprise_risk")
    regions = run.regions()
    totals = region_totals(run)
    informs = run.county_informs()
    section = run.cfg["ccd"]
    weights = {k: float(section["weights"][k]) for k in section["subsystems"]}
    items = []
    for code in sorted(c for c, r in regions.items() if r.level == "COUNTY"):
        if code not in informs:
            continue
        inform_id, dims = informs[code]
        he, lcc = dims.get("hazard_exposure"), dims.get("lack_of_coping_capacity")
        effectiveness, parts = pooled_effectiveness(totals.enterprise.get(code, Counter()), risk_cfg)
        if he is None or lcc is None or effectiveness is None:
            continue
        scores = {"hazard": 1 - he / 10, "control": effectiveness, "coping": 1 - lcc / 10}
        scores = {k: min(1.0, max(0.0, v)) for k, v in scores.items()}
        result = coordination({k: scores[k] for k in section["subsystems"]}, weights,
                              evidence=[code, inform_id], config=cfg)
        items.append(Written("Region", code, result, extra={
            "subsystems": {"hazard": "1 − INFORM hazard_exposure / 10", "control": "pooled control effectiveness",
                           "coping": "1 − INFORM lack_of_coping_capacity / 10"},
            "controlIndicators": parts, "informAssessment": inform_id}))
    n = write_assessments(run, items)
    remove_stale(run, cfg["ccd"]["method"], "Region")
    return ModelRun("ccd", cfg["ccd"]["method"], cfg.version, n, timer.seconds)


# ====================================================================== spatial coupling
def step_spatial(run: Run) -> ModelRun:
    timer = Timer()
    cfg = load_config("coupling")
    section = cfg["spatial"]
    reach = float(section["distance_m"])
    hazards = gf.places(run.store, "HazardSource", "MajorHazardSource", where="n.majorHazardLevel IS NOT NULL",
                        page=run.page)
    exposed = [*gf.places(run.store, "Shelter", "Shelter", page=run.page),
               *gf.places(run.store, "NaturalDisasterRiskPoint", "NaturalDisasterRiskPoint", page=run.page)]
    exposed = [p for p in exposed if p.kind in section["exposed_kinds"]]
    items = []
    for group, candidates in partition(hazards, exposed, reach, float(run.cfg["spatial"]["cell_factor"])):
        points = [Point(p.id, p.kind, p.lon, p.lat) for p in (*group, *candidates)]
        for result in spatial_coupling(points, distance_m=reach, config=cfg):
            members = tuple(result.details["members"])
            items.append(Written("HazardSource", members[0], result, targets=members))
    n = write_assessments(run, items, multi_target=True)
    remove_stale(run, section["method"], "HazardSource")
    return ModelRun("spatial_coupling", section["method"], cfg.version, n, timer.seconds)


def partition(hazards: Sequence[gf.Place], exposed: Sequence[gf.Place], reach: float, factor: float = 1.0
              ) -> list[tuple[list[gf.Place], list[gf.Place]]]:
    """Hazards split into groups no link of `reach` crosses, each with the exposed points that may be in reach.

    A grid of cells at least `reach` wide (in both directions, at the highest latitude present)
    puts every pair within reach in the same or neighbouring cells; union-find joins the hazards
    linked there. The model then runs per group: same clusters, no n² matrix over the province.
    """
    if not hazards:
        return []
    top_lat = max(abs(p.lat) for p in (*hazards, *exposed))
    metres_per_deg = 111_195.0
    dlat = factor * reach / metres_per_deg
    dlon = factor * reach / (metres_per_deg * max(1e-6, math.cos(math.radians(min(89.0, top_lat + dlat)))))

    def cell(p: gf.Place) -> tuple[int, int]:
        return (math.floor(p.lon / dlon), math.floor(p.lat / dlat))

    grid: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, p in enumerate(hazards):
        grid[cell(p)].append(i)
    parent = list(range(len(hazards)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, p in enumerate(hazards):
        cx, cy = cell(p)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for j in grid.get((cx + dx, cy + dy), ()):
                    if j > i and find(i) != find(j) and haversine_m(p.lon, p.lat, hazards[j].lon, hazards[j].lat) <= reach:
                        parent[find(j)] = find(i)
    exposed_grid: dict[tuple[int, int], list[gf.Place]] = defaultdict(list)
    for q in exposed:
        exposed_grid[cell(q)].append(q)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(hazards)):
        groups[find(i)].append(i)
    out = []
    for members in groups.values():
        cells = {cell(hazards[i]) for i in members}
        near = {(cx + dx, cy + dy) for cx, cy in cells for dx in (-1, 0, 1) for dy in (-1, 0, 1)}
        candidates = [q for c in sorted(near) for q in exposed_grid.get(c, ())]
        out.append(([hazards[i] for i in members], candidates))
    return out
