"""INFORM per region (county, city, province, park; sets Region.riskColour) and per industry."""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

from riskgraph.reasoning import graph_facts as gf
from riskgraph.reasoning import group_store
from riskgraph.reasoning.models.config import ModelConfig, load_config
from riskgraph.reasoning.models.inform import inform_index
from riskgraph.reasoning.models.result import jsonable
from riskgraph.reasoning.region_totals import RegionTotals, region_totals
from riskgraph.reasoning.run_context import ModelRun, Run, Timer
from riskgraph.reasoning.writeback import Written, clear_property, remove_stale, set_properties, write_assessments


def inform_config(assess: ModelConfig, indicator_set: str, groups: Iterable[tuple[str, str]] = ()) -> ModelConfig:
    """inform.toml with its indicators replaced by one of assess.toml's sets; the version says which.

    An indicator with `per_supply_group` becomes one indicator per (category, unit) in `groups`, each with
    an equal share of its weight and its own unit, so supplies of different units are never added up.
    """
    base = load_config("inform")
    data = {k: v for k, v in base.data.items()}
    specs: dict[str, Mapping] = {}
    groups = sorted(set(groups))
    for name, spec in assess["inform"][indicator_set]["indicators"].items():
        if not spec.get("per_supply_group"):
            specs[name] = spec
            continue
        for category, unit in groups:
            specs[supply_indicator(name, category, unit)] = {
                **{k: v for k, v in spec.items() if k != "per_supply_group"},
                "label": f"{spec['label']}（{category}）", "unit": str(spec.get("unit", "{unit}")).format(unit=unit),
                "weight": float(spec["weight"]) / len(groups)}
    data["indicators"] = specs
    return ModelConfig(base.name, f"{base.version}+{indicator_set}.{assess.version}", data)


def supply_indicator(name: str, category: str, unit: str) -> str:
    return f"{name}[{category}/{unit}]"


def supply_groups(area: Mapping[str, float], conversions: Mapping[str, Mapping]) -> dict[tuple[str, str], float]:
    """(category, unit) → quantity from the area measures, units converted where a conversion is defined."""
    out: dict[tuple[str, str], float] = defaultdict(float)
    for key, quantity in area.items():
        if not key.startswith(gf.SUPPLY_PREFIX):
            continue
        _, category, unit = key.split("|", 2)
        conversion = conversions.get(unit)
        if conversion is not None:
            unit, quantity = str(conversion["to"]), quantity * float(conversion["factor"])
        out[(category, unit)] += quantity
    return dict(out)


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


def _coping(area: Counter, population: float | None, supplies: Mapping[tuple[str, str], float]
            ) -> dict[str, float | None]:
    out: dict[str, float | None] = {
        "rescue_members_per_10k": _per_resident(area["rescue_members"], population, 10_000),
        "shelter_capacity_per_resident": _per_resident(area["shelter_capacity"], population),
        "rescue_members": area["rescue_members"], "shelter_capacity": area["shelter_capacity"],
    }
    for (category, unit), quantity in supplies.items():
        out[supply_indicator("supplies", category, unit)] = quantity
        out[supply_indicator("supplies_per_resident", category, unit)] = _per_resident(quantity, population)
    return out


def _supplies(run: Run, area: Mapping[str, float], groups: Iterable[tuple[str, str]]) -> dict[tuple[str, str], float]:
    """The area's supplies per group, 0 for a group the peers stock and this area does not."""
    have = supply_groups(area, run.cfg["supplies"]["conversions"])
    return {g: have.get(g, 0.0) for g in groups}


def region_indicators(totals: RegionTotals, code: str, supplies: Mapping[tuple[str, str], float] | None = None
                      ) -> dict[str, float | None]:
    ent, area = totals.enterprise.get(code, Counter()), totals.area.get(code, Counter())
    population = totals.population.get(code)
    return {
        **_hazard_exposure(ent),
        "disaster_points": area["disaster_points"], "threatened_people": area["threatened_people"],
        "population": population, "vulnerable_sites": totals.sites.get(code),
        **_coping(area, population, supplies or {}),
    }


def park_indicators(totals: RegionTotals, regions: Mapping[str, gf.RegionRow], code: str,
                    supplies: Mapping[tuple[str, str], float] | None = None) -> dict[str, float | None]:
    ent = totals.park.get(code, Counter())
    county = regions[code].parent  # None for a park not placed in a county: no coping data then
    area = totals.area.get(county, Counter()) if county is not None else Counter()
    population = totals.population.get(county) if county is not None else None
    return {
        **_hazard_exposure(ent),
        "enterprises": ent["enterprises"], "employees": ent["employees"], "residents_500m": ent["residents_500m"],
        **_coping(area, population, supplies or {}),
    }


def _area_of(totals: RegionTotals, regions: Mapping[str, gf.RegionRow], code: str, level: str) -> Counter:
    """The area whose coping capacity a peer draws on: its own, or for a park its county's."""
    area = regions[code].parent if level == "PARK" else code
    return totals.area.get(area, Counter()) if area is not None else Counter()


def step_inform_regions(run: Run) -> list[ModelRun]:
    timer = Timer()
    regions = run.regions()
    totals = region_totals(run)
    by_level: dict[str, list[str]] = defaultdict(list)
    for code, r in regions.items():
        by_level[r.level or ""].append(code)
    kept, other = group_store.encode(run.groups(), regions)  # the groups, kept for incremental runs
    read_s = timer.seconds
    runs, colours, cleared = [], [], []
    conversions = run.cfg["supplies"]["conversions"]
    plans = [
        ("county", "COUNTY", by_level["COUNTY"], by_level["COUNTY"], "region"),
        ("city", "CITY", by_level["CITY"], by_level["CITY"], "region"),
        # one province has no peers of its own: it is read against its cities (same goalposts)
        ("province", "PROVINCE", by_level["PROVINCE"] + by_level["CITY"], by_level["PROVINCE"], "region"),
        ("park", "PARK", by_level["PARK"], by_level["PARK"], "park"),
    ]
    for name, level, peers, subjects, indicator_set in plans:
        t = Timer()
        if not subjects:
            continue
        groups = sorted({g for c in peers for g in supply_groups(_area_of(totals, regions, c, level), conversions)})
        cfg = inform_config(run.cfg, indicator_set, groups)
        values = {c: park_indicators(totals, regions, c, _supplies(run, _area_of(totals, regions, c, level), groups))
                  if level == "PARK" else
                  region_indicators(totals, c, _supplies(run, _area_of(totals, regions, c, level), groups))
                  for c in peers}
        results = inform_index(values, evidence={c: [c] for c in peers}, config=cfg)
        items = []
        for code in subjects:
            result = results[code]
            counted_in = regions[code].parent if level == "PARK" else code
            extra = {
                "peerSet": name if level != "PROVINCE" else "province+cities", "regionLevel": level,
                "indicators": values[code],
                "countiesWithoutPopulation": totals.population_missing.get(counted_in, 0) if counted_in is not None else 0}
            if level == "COUNTY":
                extra[group_store.GROUPS] = kept.get(code, [])
            elif level == "PROVINCE":
                extra |= {group_store.OTHER_GROUPS: other, group_store.READING: run.group_reading()}
            items.append(Written("Region", code, result, extra=extra))
            if result.colour is not None:
                colours.append({"code": code, "riskColour": result.colour})
            else:
                cleared.append(code)
        n = write_assessments(run, items)
        if level == "COUNTY":  # CCD's input: as written (details as JSON values), not read back
            run.keep_county_informs({w.key: (w.id, jsonable(w.result.details)) for w in items})
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
    timer = Timer()
    known = run.industries()
    by_si: dict[str, Counter] = defaultdict(Counter)
    by_ic: dict[str, Counter] = defaultdict(Counter)
    for (_region, _park, si, ic), measures in run.groups().items():
        if si is not None:
            by_si[si].update(measures)
        if ic is not None:
            by_ic[ic].update(measures)
    read_s = timer.seconds
    cfg = inform_config(run.cfg, "industry")
    runs = []
    for name, groups in (("supervision_industry", by_si), ("industry_class", by_ic)):
        t = Timer()
        peers = {code: industry_indicators(m) for code, m in groups.items() if code in known}
        if not peers:
            continue
        results = inform_index(peers, evidence={c: [c] for c in peers}, config=cfg)
        n = write_assessments(run, [Written("Industry", code, results[code],
                                            extra={"peerSet": name, "indicators": peers[code]}) for code in peers])
        runs.append(ModelRun(f"inform_industry:{name}", cfg["method"], cfg.version, n, t.seconds + read_s / 2))
    remove_stale(run, cfg["method"], "Industry")
    return runs
