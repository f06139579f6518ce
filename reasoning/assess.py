"""Run every model over the graph and write the results back (`riskgraph assess`).

    run_all(store, as_of=date(2026, 11, 1)) -> [ModelRun(name, method, version, subjects, seconds), …]

Each step reads its facts with reasoning/graph_facts.py (batched, paged), runs a pure model from
reasoning/models/, and writes one `Assessment` node per result:

    id           "{method}:{subject label}:{subject key}" (+ ":{qualifier}" where a subject has several,
                 e.g. temporal risk per disaster-type group and granularity) — deterministic, so a
                 re-run replaces; an Assessment of the step's (method, label) not rewritten by this
                 run (its subject is gone) is deleted
    method, methodVersion, score, level, riskColour (when the model gives a colour)
    components   JSON: the result's components, parameters, details and flags, plus asOf,
                 evidenceTotal, run (assess.toml's method and version) and step-specific context
                 (rating scope, INFORM peer set and raw indicators, tags, temporal periods …)
    evidence     node keys the result cites (at most [read] evidence_limit; the total is in the JSON)
    computedAt   this run's wall-clock time, ISO 8601 with +08:00
    (Assessment)-[:ASSESSES]->(subject)

and the subject's derived properties: HazardSource.majorHazardLevel (removed when no longer major),
RiskPoint.riskColour (+ `conflict:reportedColour` in dataQuality when the reported colour differs),
Enterprise.riskColour (residual risk) and Enterprise.tags (supervision tag codes), Region.riskColour
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
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Sequence

from graph.dialect import ident
from graph.store import GraphStore
from graph.values import LOCAL_TZ, encode_properties, to_epoch_ms
from reasoning import graph_facts as gf
from reasoning.models.config import ModelConfig, load_config
from reasoning.models.coupling import Point, coordination, haversine_m, nk_coupling, spatial_coupling
from reasoning.models.enterprise_rating import rate_enterprise
from reasoning.models.enterprise_risk import assess_enterprise_risk, supervision_tags
from reasoning.models.inform import inform_index
from reasoning.models.major_hazard import assess_unit
from reasoning.models.result import ModelResult
from reasoning.models.risk_point import lec, ls
from reasoning.models.temporal import Exposure, temporal_risk

log = logging.getLogger(__name__)

ASSESSMENT = "Assessment"
CONFLICT_FLAG = "conflict:reportedColour"
STEPS = ("major_hazard", "risk_point_lec", "risk_point_ls", "enterprise_rating", "enterprise_risk",
         "inform_region", "inform_industry", "nk_coupling", "ccd", "spatial_coupling", "temporal", "recommend")
ALIASES = {
    "risk_point": {"risk_point_lec", "risk_point_ls"},
    "enterprise": {"enterprise_rating", "enterprise_risk"},
    "inform": {"inform_region", "inform_industry"},
    "coupling": {"nk_coupling", "ccd", "spatial_coupling"},
}


class ModelRun(NamedTuple):
    name: str
    method: str
    version: str
    subjects: int
    seconds: float


# ====================================================================== entry point
def run_all(store: GraphStore, *, as_of: dt.date | None = None, only: set[str] | None = None) -> list[ModelRun]:
    """Run the selected steps (all by default) as of `as_of` (default: today, local time); one ModelRun per model."""
    run = Run.start(store, as_of)
    steps = select_steps(only)
    runs: list[ModelRun] = []
    if "major_hazard" in steps:
        runs.append(step_major_hazard(run))
    for method in ("lec", "ls"):
        if f"risk_point_{method}" in steps:
            runs.append(step_risk_points(run, method))
    if steps & {"enterprise_rating", "enterprise_risk"}:
        runs.extend(step_enterprises(run, rating="enterprise_rating" in steps, risk="enterprise_risk" in steps))
    if "inform_region" in steps:
        runs.extend(step_inform_regions(run))
    if "inform_industry" in steps:
        runs.extend(step_inform_industries(run))
    if "nk_coupling" in steps:
        runs.extend(step_nk(run))
    if "ccd" in steps:
        runs.append(step_ccd(run))
    if "spatial_coupling" in steps:
        runs.append(step_spatial(run))
    if "temporal" in steps:
        runs.extend(step_temporal(run))
    if "recommend" in steps:
        runs.append(step_recommend(run))
    return runs


def step_recommend(run: "Run") -> ModelRun:
    """Control measures for every enterprise, risk point and open hidden danger (reasoning/recommend)."""
    from reasoning.recommend.run import run as recommend

    started = time.monotonic()
    summary = recommend(run.store, as_of=run.as_of)
    subjects = summary.enterprises + summary.risk_points + summary.hidden_dangers
    return ModelRun("recommend", summary.method, summary.version, subjects, time.monotonic() - started)


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


# ====================================================================== run context and writing
@dataclass
class Run:
    store: GraphStore
    as_of: dt.date
    computed_at: dt.datetime
    cfg: ModelConfig
    _cache: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def start(cls, store: GraphStore, as_of: dt.date | None) -> "Run":
        now = dt.datetime.now(tz=LOCAL_TZ)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        return cls(store, as_of or now.date(), now, load_config("assess"))

    @property
    def run_ms(self) -> int:
        return to_epoch_ms(self.computed_at)

    @property
    def page(self) -> int:
        return int(self.cfg["read"]["page_size"])

    @property
    def batch(self) -> int:
        return int(self.cfg["read"]["batch_size"])

    def cached(self, name: str, build: Callable[[], Any]) -> Any:
        if name not in self._cache:
            self._cache[name] = build()
        return self._cache[name]

    # facts shared by several steps, read once per run
    def regions(self) -> dict[str, gf.RegionRow]:
        return self.cached("regions", lambda: gf.regions(self.store))

    def groups(self) -> dict[gf.GroupKey, Counter]:
        risk = load_config("enterprise_risk")
        windows = gf.Windows.from_configs(risk=risk)
        return self.cached("groups", lambda: gf.enterprise_groups(
            self.store, self.as_of, control_window_days=int(risk["control"]["window_days"]),
            accident_years=windows.accident_years,
            failed_conclusions=list(self.cfg["rectification"]["failed_conclusions"])))

    def areas(self) -> dict[str, Counter]:
        return self.cached("areas", lambda: gf.area_measures(self.store))

    def industries(self) -> set[str]:
        return self.cached("industries", lambda: {r["key"] for r in gf.scan(self.store, "Industry", ())})


@dataclass
class Written:
    """One result to write: its subject, optional qualifier, ASSESSES targets and JSON extras."""

    label: str
    key: str
    result: ModelResult
    qualifier: str = ""
    targets: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return assessment_id(self.result.method, self.label, self.key, self.qualifier)


def assessment_id(method: str, label: str, key: str, qualifier: str = "") -> str:
    return f"{method}:{label}:{key}" + (f":{qualifier}" if qualifier else "")


def components_json(w: Written, run: Run) -> str:
    j = w.result.to_json()
    doc = {"components": j["components"], "parameters": j["parameters"], "details": j["details"],
           "flags": j["flags"], "asOf": run.as_of.isoformat(), "evidenceTotal": len(j["evidence"]),
           "run": f"{run.cfg['method']} {run.cfg.version}", **w.extra}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)


def write_assessments(run: Run, items: Sequence[Written], *, multi_target: bool = False) -> int:
    """Upsert the Assessment nodes and their ASSESSES edges; None score/level/colour are removed."""
    if not items:
        return 0
    store = run.store
    limit = int(run.cfg["read"]["evidence_limit"])
    rows, nulls = [], defaultdict(list)
    for w in items:
        r = w.result
        row = {"id": w.id, "method": r.method, "methodVersion": r.version, "score": _finite(r.score),
               "level": r.level, "riskColour": r.colour, "components": components_json(w, run),
               "evidence": list(r.evidence[:limit]), "computedAt": run.computed_at}
        rows.append(row)
        for prop in ("score", "level", "riskColour"):
            if row[prop] is None:
                nulls[prop].append(w.id)
    store.upsert_nodes(ASSESSMENT, rows)
    for prop, ids in nulls.items():
        clear_property(store, ASSESSMENT, prop, ids)
    by_label: dict[str, list[dict]] = defaultdict(list)
    for w in items:
        for target in w.targets or (w.key,):
            by_label[w.label].append({"from": w.id, "to": target})
    key = ident(store.ontology.key_of(ASSESSMENT))
    if multi_target:  # the subject set may have changed (a cluster's members): edges are rewritten
        gf.execute(store, f"UNWIND $ids AS id MATCH (a:{ident(ASSESSMENT)} {{{key}: id}})-[r:ASSESSES]->() DELETE r",
                   {"ids": [w.id for w in items]})
    orphans = []
    for label, rels in by_label.items():
        result = store.upsert_relationships("ASSESSES", rels, from_label=ASSESSMENT, to_label=label)
        orphans.extend(rels[i]["from"] for i in result.missing)
    if orphans:  # a subject deleted while the run read it: its assessment goes with it
        log.warning("%d assessments lost their subject while running", len(orphans))
        gf.execute(store, f"UNWIND $ids AS id MATCH (a:{ident(ASSESSMENT)} {{{key}: id}}) "
                   "OPTIONAL MATCH (a)-[r:ASSESSES]->() WITH a, count(r) AS n WHERE n = 0 DETACH DELETE a",
                   {"ids": sorted(set(orphans))})
    return len(items) - len(set(orphans))


def remove_stale(run: Run, method: str, label: str) -> int:
    """Delete the (method, label) Assessments this run did not write: their subjects are gone."""
    rows = gf.execute(run.store, f"MATCH (a:{ident(ASSESSMENT)}) WHERE a.method = $method AND a.id STARTS WITH $prefix "
                      "AND (a.computedAtMs IS NULL OR a.computedAtMs <> $run) WITH a DETACH DELETE a RETURN count(*) AS c",
                      {"method": method, "prefix": f"{method}:{label}:", "run": run.run_ms})
    return int(rows[0]["c"]) if rows else 0


def set_properties(store: GraphStore, label: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """SET properties on existing nodes (matched on the label's key); every property must be in the ontology."""
    key = store.ontology.key_of(label)
    for chunk in gf.batched(list(rows), store.batch_size):
        payload = []
        for row in chunk:
            props = encode_properties(store.ontology, label, row)
            payload.append({"k": props.pop(key), "p": props})
        gf.execute(store, f"UNWIND $rows AS row MATCH (n:{ident(label)} {{{ident(key)}: row.k}}) SET n += row.p",
                   {"rows": payload})


def clear_property(store: GraphStore, label: str, prop: str, keys: Sequence[str]) -> None:
    """Remove one property (set it to null) on the given nodes; the property must be in the ontology."""
    if not keys:
        return
    if prop not in store.ontology.properties_of(label):
        raise KeyError(f"{label} has no property {prop!r} in the ontology")
    key = store.ontology.key_of(label)
    extra = ""
    if store.ontology.properties_of(label)[prop].is_time:
        extra = f", n.{ident(prop + 'Ms')} = null"
    for chunk in gf.batched(list(keys), store.batch_size):
        gf.execute(store, f"UNWIND $keys AS k MATCH (n:{ident(label)} {{{ident(key)}: k}}) "
                   f"SET n.{ident(prop)} = null{extra}", {"keys": list(chunk)})


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


class _Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start


# ====================================================================== GB 18218 per hazard source
def step_major_hazard(run: Run) -> ModelRun:
    timer, cfg, n = _Timer(), load_config("major_hazard"), 0
    for units in gf.hazard_units(run.store, page=run.page):
        items, levels, cleared = [], [], []
        for unit in units:
            result = assess_unit(unit.items, unit.residents, evidence=[unit.id], config=cfg)
            items.append(Written("HazardSource", unit.id, result))
            if result.level is not None:
                if result.level != unit.level_before:
                    levels.append({"id": unit.id, "majorHazardLevel": result.level})
            elif unit.level_before is not None:
                cleared.append(unit.id)
        n += write_assessments(run, items)
        set_properties(run.store, "HazardSource", levels)
        clear_property(run.store, "HazardSource", "majorHazardLevel", cleared)
    remove_stale(run, cfg["method"], "HazardSource")
    return ModelRun("major_hazard", cfg["method"], cfg.version, n, timer.seconds)


# ====================================================================== LEC / LS per risk point
def step_risk_points(run: Run, method: str) -> ModelRun:
    timer, cfg = _Timer(), load_config("risk_point")
    notation = method.upper()
    model_method = cfg[method]["method"]
    fields = ("likelihood", "exposure", "consequence", "severity", "reportedColour", "riskColour", "dataQuality")
    n = 0
    for rows in gf.scan_pages(run.store, "RiskPoint", fields, where="n.assessmentMethod = $m",
                              params={"m": notation}, page=run.page):
        items, updates, cleared, no_quality = [], [], [], []
        for row in rows:
            result = _risk_point_result(row, method, cfg)
            colour = result.colour if result else None
            quality = set(row["dataQuality"] or [])
            conflict = colour is not None and row["reportedColour"] is not None and colour != row["reportedColour"]
            quality = (quality | {CONFLICT_FLAG}) if conflict else (quality - {CONFLICT_FLAG})
            if result is not None:
                items.append(Written("RiskPoint", row["key"], result,
                                     extra={"reportedColour": row["reportedColour"], "conflict": conflict}))
            update: dict[str, Any] = {}
            if colour is not None and colour != row["riskColour"]:
                update["riskColour"] = colour
            if quality != set(row["dataQuality"] or []):
                if quality:
                    update["dataQuality"] = sorted(quality)
                else:  # an empty list is not stored (Neo4j cannot type it): the property goes
                    no_quality.append(row["key"])
            if update:
                updates.append({"id": row["key"], **update})
            if colour is None and row["riskColour"] is not None:
                cleared.append(row["key"])
        n += write_assessments(run, items)
        set_properties(run.store, "RiskPoint", updates)
        clear_property(run.store, "RiskPoint", "riskColour", cleared)
        clear_property(run.store, "RiskPoint", "dataQuality", no_quality)
    remove_stale(run, model_method, "RiskPoint")
    return ModelRun(f"risk_point_{method}", model_method, cfg.version, n, timer.seconds)


def _risk_point_result(row: Mapping[str, Any], method: str, cfg: ModelConfig) -> ModelResult | None:
    """The point's LEC or LS result; None when a factor is missing or not positive (nothing to grade)."""
    try:
        if method == "lec":
            factors = (row["likelihood"], row["exposure"], row["consequence"])
            if any(f is None for f in factors):
                return None
            return lec(*factors, evidence=[row["key"]], config=cfg)
        if row["likelihood"] is None or row["severity"] is None:
            return None
        return ls(row["likelihood"], row["severity"], evidence=[row["key"]], config=cfg)
    except ValueError as exc:
        log.info("risk point %s not graded: %s", row["key"], exc)
        return None


# ====================================================================== enterprises: rating, residual risk, tags
_NOT_APPLICABLE = dict(major_hazards=(), processes=(), in_park=None, safety_distance_met=None, standardisation=None,
                       own_fire_brigade=False, accidents=(), unqualified_special_operators=None,
                       untested_new_process=None, plant_without_formal_design=None)


def rate(record: gf.EnterpriseRecord, full: ModelConfig, dynamic: ModelConfig,
         full_industries: Iterable[str]) -> tuple[ModelResult, str]:
    """The enterprise's rating and its scope ("full" or "dynamic-only").

    Outside the guide's scope the static items, bonuses and automatic-红 rules do not apply: the
    facts they read are left out, the only bonus that would still fire (accident-free) is zeroed by
    the dynamic-only config, and the not-applicable items (all 0) are dropped from the result.
    """
    if record.supervision_industry in set(full_industries):
        return rate_enterprise(record.facts, config=full), "full"
    result = rate_enterprise(replace(record.facts, **_NOT_APPLICABLE), config=dynamic)
    static = set(dynamic["static"])
    dropped = [c for c in result.components if c.name in static]
    if any(c.contribution != 0 for c in dropped):
        raise AssertionError(f"dynamic-only rating of {record.uscc} kept static points: {dropped}")
    return replace(result, components=tuple(c for c in result.components if c.name not in static),
                   flags=tuple(f for f in result.flags if f != "in-park-unknown")), "dynamic-only"


def dynamic_only_config(cfg: ModelConfig) -> ModelConfig:
    return cfg.with_overrides({"static": {"accident_free": {"bonus": 0.0}}}, version=f"{cfg.version}+dynamic-only")


def step_enterprises(run: Run, *, rating: bool, risk: bool) -> list[ModelRun]:
    rating_cfg, risk_cfg = load_config("enterprise_rating"), load_config("enterprise_risk")
    dynamic_cfg = dynamic_only_config(rating_cfg)
    full_industries = list(run.cfg["enterprise"]["full_rating_industries"])
    windows = gf.Windows.from_configs(rating_cfg, risk_cfg)
    read_s = rating_s = risk_s = 0.0
    n_rating = n_risk = 0
    rating_versions: set[str] = set()
    for keys in gf.iter_keys(run.store, "Enterprise", page=run.page):
        for chunk in gf.batched(keys, run.batch):
            t = _Timer()
            records = gf.enterprise_batch(
                run.store, chunk, run.as_of, windows=windows,
                failed_conclusions=list(run.cfg["rectification"]["failed_conclusions"]),
                fire_brigade_types=list(run.cfg["enterprise"]["fire_brigade_team_types"]))
            read_s += t.seconds
            if rating:
                t = _Timer()
                items = []
                for rec in records:
                    result, scope = rate(rec, rating_cfg, dynamic_cfg, full_industries)
                    rating_versions.add(result.version)
                    items.append(Written("Enterprise", rec.uscc, result,
                                         extra={"scope": scope, "supervisionIndustry": rec.supervision_industry}))
                n_rating += write_assessments(run, items)
                rating_s += t.seconds
            if risk:
                t = _Timer()
                items, updates, untagged = [], [], []
                for rec in records:
                    result = assess_enterprise_risk(rec.facts, config=risk_cfg)
                    tags = supervision_tags(rec.facts, config=risk_cfg)
                    items.append(Written("Enterprise", rec.uscc, result, extra={
                        "tags": [{"code": tag.code, "label": tag.label, "evidence": list(tag.evidence)} for tag in tags]}))
                    update = {"uscc": rec.uscc, "riskColour": result.colour}
                    if tags:
                        update["tags"] = [tag.code for tag in tags]
                    else:
                        untagged.append(rec.uscc)
                    updates.append(update)
                n_risk += write_assessments(run, items)
                set_properties(run.store, "Enterprise", updates)
                clear_property(run.store, "Enterprise", "tags", untagged)
                risk_s += t.seconds
    out = []
    share = read_s / (int(rating) + int(risk))
    if rating:
        remove_stale(run, rating_cfg["method"], "Enterprise")
        version = ", ".join(sorted(rating_versions)) or rating_cfg.version
        out.append(ModelRun("enterprise_rating", rating_cfg["method"], version, n_rating, rating_s + share))
    if risk:
        remove_stale(run, risk_cfg["method"], "Enterprise")
        out.append(ModelRun("enterprise_risk", risk_cfg["method"], risk_cfg.version, n_risk, risk_s + share))
    return out


# ====================================================================== INFORM
def inform_config(run: Run, indicator_set: str) -> ModelConfig:
    """inform.toml with its indicators replaced by one of assess.toml's sets; the version says which."""
    base = load_config("inform")
    data = {k: v for k, v in base.data.items()}
    data["indicators"] = run.cfg["inform"][indicator_set]["indicators"]
    return ModelConfig(base.name, f"{base.version}+{indicator_set}.{run.cfg.version}", data)


def region_ancestors(regions: Mapping[str, gf.RegionRow], code: str | None) -> list[str]:
    """The code and every region above it, parks left out (a park is counted through parkCode)."""
    out, seen = [], set()
    while code is not None and code in regions and code not in seen:
        seen.add(code)
        if regions[code].level != "PARK":
            out.append(code)
        code = regions[code].parent
    return out


@dataclass
class RegionTotals:
    enterprise: dict[str, Counter]   # region code → enterprise-group measures, rolled up
    park: dict[str, Counter]         # park code → enterprise-group measures
    area: dict[str, Counter]         # region code → area measures, rolled up
    population: dict[str, float]
    sites: dict[str, float]
    #: counties under a region whose population is unknown (their residents are not in the region's sum)
    population_missing: dict[str, int]


def region_totals(run: Run) -> RegionTotals:
    def build() -> RegionTotals:
        regions = run.regions()
        ent: dict[str, Counter] = defaultdict(Counter)
        park: dict[str, Counter] = defaultdict(Counter)
        for (region, park_code, _si, _ic), measures in run.groups().items():
            for code in region_ancestors(regions, region):
                ent[code].update(measures)
            p = park_code or (region if region in regions and regions[region].level == "PARK" else None)
            if p is not None:
                park[p].update(measures)
        area: dict[str, Counter] = defaultdict(Counter)
        for region, measures in run.areas().items():
            for code in region_ancestors(regions, region):
                area[code].update(measures)
        population: dict[str, float] = defaultdict(float)
        sites: dict[str, float] = defaultdict(float)
        own_pop = {c for c, r in regions.items() if r.population is not None}
        own_sites = {c for c, r in regions.items() if r.vulnerable_sites is not None}
        missing: dict[str, int] = defaultdict(int)
        for code, r in regions.items():
            if r.level == "PARK":
                continue
            chain = region_ancestors(regions, code)
            if r.population is None and r.level == "COUNTY":
                for c in chain:
                    missing[c] += 1
            if r.population is not None:
                for c in chain:
                    if c == code or c not in own_pop:
                        population[c] += r.population
            if r.vulnerable_sites is not None:
                for c in chain:
                    if c == code or c not in own_sites:
                        sites[c] += r.vulnerable_sites
        return RegionTotals(dict(ent), dict(park), dict(area), dict(population), dict(sites), dict(missing))
    return run.cached("region_totals", build)


def _hazard_exposure(m: Counter) -> dict[str, float]:
    return {
        "major_hazard_l1": m["major_L1"], "major_hazard_l2": m["major_L2"], "major_hazard_l3": m["major_L3"],
        "major_hazard_l4": m["major_L4"],
        "risk_points_red": m["rp_RED"], "risk_points_orange": m["rp_ORANGE"], "risk_points_yellow": m["rp_YELLOW"],
        "open_major_hidden_dangers": m["open_MAJOR"],
        "open_general_hidden_dangers": sum(v for k, v in m.items() if k.startswith("open_") and k != "open_MAJOR"),
    }


def _per_resident(value: float, population: float | None, scale: float = 1.0) -> float | None:
    return None if not population else scale * value / population


def _coping(area: Counter, population: float | None) -> dict[str, float | None]:
    return {
        "rescue_members_per_10k": _per_resident(area["rescue_members"], population, 10_000),
        "supplies_per_resident": _per_resident(area["supplies"], population),
        "shelter_capacity_per_resident": _per_resident(area["shelter_capacity"], population),
        "rescue_members": area["rescue_members"], "supplies": area["supplies"],
        "shelter_capacity": area["shelter_capacity"],
    }


def region_indicators(totals: RegionTotals, code: str) -> dict[str, float | None]:
    ent, area = totals.enterprise.get(code, Counter()), totals.area.get(code, Counter())
    population = totals.population.get(code)
    return {
        **_hazard_exposure(ent),
        "disaster_points": area["disaster_points"], "threatened_people": area["threatened_people"],
        "population": population, "vulnerable_sites": totals.sites.get(code),
        **_coping(area, population),
    }


def park_indicators(totals: RegionTotals, regions: Mapping[str, gf.RegionRow], code: str) -> dict[str, float | None]:
    ent = totals.park.get(code, Counter())
    county = regions[code].parent
    return {
        **_hazard_exposure(ent),
        "enterprises": ent["enterprises"], "employees": ent["employees"], "residents_500m": ent["residents_500m"],
        **_coping(totals.area.get(county, Counter()), totals.population.get(county)),
    }


def step_inform_regions(run: Run) -> list[ModelRun]:
    timer = _Timer()
    regions = run.regions()
    totals = region_totals(run)
    by_level: dict[str, list[str]] = defaultdict(list)
    for code, r in regions.items():
        by_level[r.level or ""].append(code)
    read_s = timer.seconds
    runs, colours, cleared = [], [], []
    region_cfg, park_cfg = inform_config(run, "region"), inform_config(run, "park")
    plans = [
        ("county", "COUNTY", by_level["COUNTY"], by_level["COUNTY"], region_cfg),
        ("city", "CITY", by_level["CITY"], by_level["CITY"], region_cfg),
        # one province has no peers of its own: it is read against its cities (same goalposts)
        ("province", "PROVINCE", by_level["PROVINCE"] + by_level["CITY"], by_level["PROVINCE"], region_cfg),
        ("park", "PARK", by_level["PARK"], by_level["PARK"], park_cfg),
    ]
    for name, level, peers, subjects, cfg in plans:
        t = _Timer()
        if not subjects:
            continue
        values = {c: park_indicators(totals, regions, c) if level == "PARK" else region_indicators(totals, c)
                  for c in peers}
        results = inform_index(values, evidence={c: [c] for c in peers}, config=cfg)
        items = []
        for code in subjects:
            result = results[code]
            items.append(Written("Region", code, result, extra={
                "peerSet": name if level != "PROVINCE" else "province+cities", "regionLevel": level,
                "indicators": values[code],
                "countiesWithoutPopulation": totals.population_missing.get(
                    regions[code].parent if level == "PARK" else code, 0)}))
            if result.colour is not None:
                colours.append({"code": code, "riskColour": result.colour})
            else:
                cleared.append(code)
        n = write_assessments(run, items)
        runs.append(ModelRun(f"inform_region:{name}", cfg["method"], cfg.version, n,
                             t.seconds + read_s * len(subjects) / max(1, len(regions))))
    set_properties(run.store, "Region", colours)
    clear_property(run.store, "Region", "riskColour", cleared)
    remove_stale(run, load_config("inform")["method"], "Region")
    return runs


def industry_indicators(m: Counter) -> dict[str, float | None]:
    def rate_(num: str, den: str) -> float | None:
        return m[num] / m[den] if m[den] > 0 else None

    return {
        "major_hazard_l1_l2": m["major_L1"] + m["major_L2"],
        "major_hazard_l3_l4": m["major_L3"] + m["major_L4"],
        "tailings_ponds_danger_risk": m["pond_DANGER"] + m["pond_RISK"],
        "tailings_ponds_other": sum(v for k, v in m.items() if k.startswith("pond_")) - m["pond_DANGER"] - m["pond_RISK"],
        "risk_points_red": m["rp_RED"], "risk_points_orange": m["rp_ORANGE"],
        "open_major_hidden_dangers": m["open_MAJOR"],
        "accidents_5y": m["accidents"], "deaths_5y": m["deaths"],
        "enterprises": m["enterprises"], "employees": m["employees"], "residents_500m": m["residents_500m"],
        "rectification_rate": rate_("hd_rectified", "hd_due"),
        "on_time_rate": rate_("hd_on_time", "hd_due"),
        "alarm_handling_rate": rate_("alarms_handled", "alarms"),
        "rescue_members_per_1k_employees": 1000 * m["rescue_members"] / m["employees"] if m["employees"] > 0 else None,
    }


def step_inform_industries(run: Run) -> list[ModelRun]:
    timer = _Timer()
    known = run.industries()
    by_si: dict[str, Counter] = defaultdict(Counter)
    by_ic: dict[str, Counter] = defaultdict(Counter)
    for (_region, _park, si, ic), measures in run.groups().items():
        if si is not None:
            by_si[si].update(measures)
        if ic is not None:
            by_ic[ic].update(measures)
    read_s = timer.seconds
    cfg = inform_config(run, "industry")
    runs = []
    for name, groups in (("supervision_industry", by_si), ("industry_class", by_ic)):
        t = _Timer()
        peers = {code: industry_indicators(m) for code, m in groups.items() if code in known}
        if not peers:
            continue
        results = inform_index(peers, evidence={c: [c] for c in peers}, config=cfg)
        n = write_assessments(run, [Written("Industry", code, results[code],
                                            extra={"peerSet": name, "indicators": peers[code]}) for code in peers])
        runs.append(ModelRun(f"inform_industry:{name}", cfg["method"], cfg.version, n, t.seconds + read_s / 2))
    remove_stale(run, cfg["method"], "Industry")
    return runs


# ====================================================================== N-K coupling
def step_nk(run: Run) -> list[ModelRun]:
    timer = _Timer()
    cfg = load_config("coupling")
    regions = run.regions()
    by_si: dict[str, dict[str, tuple[str, ...]]] = defaultdict(dict)
    by_city: dict[str, dict[str, tuple[str, ...]]] = defaultdict(dict)
    for rec in gf.factor_records(run.store, run.as_of, page=run.page, batch=run.batch):
        if rec.supervision_industry is not None:
            by_si[rec.supervision_industry][rec.id] = rec.factors
        city = next((c for c in region_ancestors(regions, rec.region) if regions[c].level == "CITY"), None)
        if city is not None:
            by_city[city][rec.id] = rec.factors
    read_s = timer.seconds
    known = run.industries()
    method = cfg["nk"]["method"]
    runs = []
    for name, label, groups in (("supervision_industry", "Industry", by_si), ("city", "Region", by_city)):
        t = _Timer()
        items = [Written(label, code, nk_coupling(records, config=cfg), extra={"groupedBy": name})
                 for code, records in sorted(groups.items()) if label != "Industry" or code in known]
        n = write_assessments(run, items)
        runs.append(ModelRun(f"nk_coupling:{name}", method, cfg.version, n, t.seconds + read_s / 2))
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
    timer = _Timer()
    cfg, risk_cfg = load_config("coupling"), load_config("enterprise_risk")
    regions = run.regions()
    totals = region_totals(run)
    inform_method = load_config("inform")["method"]
    informs = {}
    for row in gf.read(run.store, f"MATCH (a:{ident(ASSESSMENT)})-[:ASSESSES]->(r:Region) "
                       "WHERE a.method = $m AND r.regionLevel = $level "
                       "RETURN r.code AS code, a.id AS id, a.components AS c", {"m": inform_method, "level": "COUNTY"}):
        informs[row["code"]] = (row["id"], json.loads(row["c"])["details"])
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
    timer = _Timer()
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


# ====================================================================== temporal risk
def step_temporal(run: Run) -> list[ModelRun]:
    timer = _Timer()
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
        t = _Timer()
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
