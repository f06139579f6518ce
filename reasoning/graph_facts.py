"""Read the models' inputs from the graph: a few batched queries, never one query per subject.

Every statement is parameterised openCypher that FalkorDB and Neo4j both run: labels, types and
properties written plainly (the store checks each against the ontology before sending it; names
passed in as arguments go through `ident()`), times compared as the `<name>Ms` epoch numbers,
aggregation done in `WITH`/`RETURN` or in Python. Large sets are read in keyset pages (`iter_keys`, `scan`) and
per-subject facts in UNWIND batches of keys (`enterprise_batch`, `inventory_batch`).

Facts keep the node key they came from as their `evidence`, so every component of a result can
cite the nodes it was computed from.
"""
from __future__ import annotations

import datetime as dt
import json
import weakref
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from riskgraph.graph.dialect import ident
from riskgraph.graph.packed_content import assessment_components, with_components
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import from_epoch_ms, to_epoch_ms
from riskgraph.ontology.anchors import HIDDEN_DANGER_STATES, RECTIFIED_STATE
from riskgraph.reasoning.models.config import ModelConfig, load_config
from riskgraph.reasoning.models.facts import (
    Accident,
    Alarm,
    CreditRecord,
    EnterpriseFacts,
    HiddenDanger,
    Inspection,
    LapsedCheck,
    LicenceFact,
    MajorHazard,
    Penalty,
    Process,
    RiskPointFact,
    SubstanceFact,
    TailingsPondFact,
    years_before,
)
from riskgraph.reasoning.models.major_hazard import InventoryItem
from riskgraph.reasoning.models.temporal import DisasterEventFact
from riskgraph.reasoning.models.vocab import vocabulary
from riskgraph.workflows.schedule import STOPPED, lapsed

#: aggregation queries scan a whole label: give them more time than the store's default
AGGREGATE_TIMEOUT_MS = 300_000


# ---------------------------------------------------------------- time
def day_start_ms(day: dt.date) -> int:
    """Epoch ms of local midnight starting `day` (how the loaders store dates)."""
    return to_epoch_ms(day)


def as_of_end_ms(as_of: dt.date) -> int:
    """Exclusive upper bound of facts known on `as_of`: the next local midnight."""
    return to_epoch_ms(as_of + dt.timedelta(days=1))


def ms_date(ms: Any) -> dt.date | None:
    return None if ms is None else from_epoch_ms(int(ms)).date()


def ms_datetime(ms: Any) -> dt.datetime | None:
    return None if ms is None else from_epoch_ms(int(ms))


def required_ms_datetime(ms: Any, what: str) -> dt.datetime:
    """A timestamp the query's WHERE already requires (a range or IS NOT NULL): a null is a query bug, said so."""
    if ms is None:
        raise ValueError(f"{what}: the query requires a timestamp but read a null")
    return from_epoch_ms(int(ms))


def required_ms_date(ms: Any, what: str) -> dt.date:
    return required_ms_datetime(ms, what).date()


# ---------------------------------------------------------------- vocabulary-derived state sets
def closed_states() -> list[str]:
    """HiddenDangerState notations of a closed danger: accepted (VERIFIED) and on (as the models read it)."""
    return vocabulary(HIDDEN_DANGER_STATES).at_or_after("VERIFIED")


def rectified_states() -> list[str]:
    """States at or past RECTIFIED."""
    return vocabulary(HIDDEN_DANGER_STATES).at_or_after(RECTIFIED_STATE)


# ---------------------------------------------------------------- paging
def _key(store: GraphStore, label: str) -> str:
    return store.ontology.key_of(label)


def iter_keys(store: GraphStore, label: str, *, where: str = "", params: Mapping[str, Any] | None = None,
              page: int = 5000) -> Iterator[list[str]]:
    """The label's keys in keyset pages (ordered), optionally filtered by `where` over `n`."""
    for rows in scan_pages(store, label, (), where=where, params=params, page=page):
        yield [r["key"] for r in rows]


def scan(store: GraphStore, label: str, fields: Sequence[str], *, where: str = "",
         params: Mapping[str, Any] | None = None, page: int = 5000) -> Iterator[dict[str, Any]]:
    """Rows {key, field…} of every node of `label` (matching `where`), read in keyset pages."""
    for rows in scan_pages(store, label, fields, where=where, params=params, page=page):
        yield from rows


def scan_pages(store: GraphStore, label: str, fields: Sequence[str], *, where: str = "",
               params: Mapping[str, Any] | None = None, page: int = 5000) -> Iterator[list[dict[str, Any]]]:
    key = ident(_key(store, label))
    cond = f" AND ({where})" if where else ""
    cols = "".join(f", n.{ident(f)} AS {ident(f)}" for f in fields)
    statement = (f"MATCH (n:{ident(label)}) WHERE n.{key} > $after{cond} "
              f"RETURN n.{key} AS key{cols} ORDER BY key LIMIT $page")
    after = ""
    while True:
        rows = store.read(statement, {**(params or {}), "after": after, "page": page})
        if not rows:
            return
        yield rows
        if len(rows) < page:
            return
        after = rows[-1]["key"]


def batched(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# ---------------------------------------------------------------- hazard sources (GB 18218)
@dataclass
class UnitRecord:
    id: str
    residents: int | None
    level_before: str | None
    items: list[InventoryItem] = field(default_factory=list)


def hazard_units(store: GraphStore, page: int = 5000, ids: Iterable[str] | None = None) -> Iterator[list[UnitRecord]]:
    """Hazard sources (all, or only `ids`) in pages, each with its inventory items (one extra query per page)."""
    where, params = ("n.id IN $only", {"only": sorted(set(ids))}) if ids is not None else ("", None)
    for rows in scan_pages(store, "HazardSource", ("residents500m", "majorHazardLevel"), where=where, params=params, page=page):
        units = {r["key"]: UnitRecord(r["key"], _int(r["residents500m"]), r["majorHazardLevel"]) for r in rows}
        for row in store.read(
            "UNWIND $ids AS hid MATCH (h:HazardSource {id: hid})-[:HOLDS]->(i:Inventory) "
            "OPTIONAL MATCH (i)-[:OF_CHEMICAL]->(c:Chemical) "
            "RETURN hid, i.id AS id, i.maxQuantityT AS q, i.name AS iname, c.id AS cas, c.name AS cname, "
            "coalesce(i.hazardCategory, c.hazardCategory) AS category, i.concentrationPct AS pct, "
            "i.specification AS spec ORDER BY hid, id",
            {"ids": list(units)},
        ):
            if row["q"] is None:
                continue
            category = row["category"]
            units[row["hid"]].items.append(InventoryItem(
                quantity_t=float(row["q"]), name=row["iname"] or row["cname"], cas=row["cas"],
                categories=(category,) if category else (), evidence=row["id"],
                concentration_pct=None if row["pct"] is None else float(row["pct"]), specification=row["spec"]))
        yield list(units.values())


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


# ---------------------------------------------------------------- enterprises
@dataclass
class EnterpriseRecord:
    """One enterprise's attributes and facts, and what assess wrote last time (to write only changes)."""

    uscc: str
    name: str | None
    region: str | None
    park: str | None
    supervision_industry: str | None
    industry_code: str | None
    facts: EnterpriseFacts


@dataclass(frozen=True)
class Windows:
    """How far back each kind of fact is read (the models cut the exact windows themselves)."""

    alarms_days: int
    enforcement_days: int
    accident_years: int
    checks_days: int = 30

    @classmethod
    def from_configs(cls, rating: ModelConfig | None = None, risk: ModelConfig | None = None) -> Windows:
        rating = rating or load_config("enterprise_rating")
        risk = risk or load_config("enterprise_risk")
        auto = rating["auto_red"]
        return cls(
            alarms_days=max(int(rating["dynamic"]["alarms"]["window_days"]), int(risk["control"]["window_days"])),
            enforcement_days=int(rating["dynamic"]["enforcement"]["window_days"]),
            accident_years=max(int(rating["static"]["performance"]["years"]), int(rating["static"]["accident_free"]["years"]),
                               *(int(auto[k]["years"]) for k in auto if "years" in auto[k])),
            checks_days=int(rating["dynamic"].get("lapsed_checks", {}).get("window_days", 30)),
        )


_E = "UNWIND $keys AS k MATCH (e:Enterprise {uscc: k})"


def enterprise_batch(store: GraphStore, keys: Sequence[str], as_of: dt.date, *, windows: Windows,
                     failed_conclusions: Sequence[str] = (), fire_brigade_types: Sequence[str] = ()
                     ) -> list[EnterpriseRecord]:
    """EnterpriseFacts for a batch of USCCs, in thirteen queries whatever the batch size."""
    until = as_of_end_ms(as_of)
    p = {"keys": list(keys), "until": until}
    base = store.read(
        f"{_E} RETURN k, e.name AS name, e.regionCode AS region, e.parkCode AS park, "
        "e.supervisionIndustry AS si, e.industryCode AS ic, e.standardisationGrade AS std, "
        "e.hazardousProcesses AS processes", p)
    per: dict[str, dict[str, list]] = {r["k"]: defaultdict(list) for r in base}

    def collect(kind: str, pattern: str, node: str, returns: str, where: str = "",
                params: Mapping[str, Any] | None = None) -> None:
        # the filter comes after the traversal (WITH … WHERE): a WHERE on the far node would let
        # FalkorDB's planner start from a scan of that whole label instead of the keyed enterprises
        statement = f"{_E}{pattern} WITH k, {node}" + (f" WHERE {where}" if where else "") + f" {returns}"
        for row in store.read(statement, {**p, **(params or {})}):
            if row["k"] in per:
                per[row["k"]][kind].append(row)

    collect("hazard", "-[:HAS_HAZARD_SOURCE]->(h:HazardSource)", "h",
            "OPTIONAL MATCH (s:Sensor)-[:MONITORS]->(h) "
            "WITH k, h, count(s) AS sensors RETURN k, h.id AS id, h.majorHazardLevel AS level, sensors ORDER BY id",
            "h.majorHazardLevel IS NOT NULL")
    collect("substance", "-[:HAS_HAZARD_SOURCE]->(:HazardSource)-[:HOLDS]->(i:Inventory)", "i",
            "OPTIONAL MATCH (i)-[:OF_CHEMICAL]->(c:Chemical) "
            "RETURN k, i.id AS id, coalesce(i.name, c.name) AS name, c.id AS cas, "
            "coalesce(i.hazardCategory, c.hazardCategory) AS category ORDER BY id")
    collect("licence", "-[:HAS_LICENCE]->(l:Licence)", "l",
            "RETURN k, l.id AS id, l.licenceType AS type, l.validUntilMs AS until ORDER BY id")
    collect("rp", "-[:HAS_RISK_POINT]->(r:RiskPoint)", "r",
            "RETURN k, r.id AS id, coalesce(r.riskColour, r.reportedColour) AS colour ORDER BY id")
    collect("pond", "-[:HAS_TAILINGS_POND]->(t:TailingsPond)", "t",
            "RETURN k, t.id AS id, t.safetyClass AS cls ORDER BY id")
    collect("hd", "-[:HAS_HIDDEN_DANGER]->(h:HiddenDanger)", "h",
            "OPTIONAL MATCH (h)-[:RECTIFIED_BY]->(r:Rectification) "
            "RETURN k, h.id AS id, h.grade AS grade, h.state AS state, h.deadlineMs AS deadline, "
            "h.foundOnMs AS found, h.description AS description, r.completedOnMs AS done, r.conclusion AS verdict, "
            "r.accepted AS accepted ORDER BY id",
            "h.foundOnMs IS NULL OR h.foundOnMs < $until")
    checks = "-[:HAS_RISK_POINT]->(:RiskPoint)-[:HAS_ANALYSIS_UNIT]->(:RiskAnalysisUnit)-[:HAS_RISK_EVENT]->(:RiskEvent)" \
             "-[:CONTROLLED_BY]->(:ControlMeasure)-[:CHECKED_BY]->(t:InspectionTask)"
    collect("task", checks, "t", "RETURN DISTINCT k, t.id AS id, t.frequency AS frequency, t.activeFromMs AS start, "
            "t.status AS status ORDER BY id")
    since_checks = as_of - dt.timedelta(days=windows.checks_days + 92)  # a quarter's period may start that early
    collect("record", checks + "-[:HAS_RECORD]->(c:InspectionRecord)", "t, c",
            "RETURN k, t.id AS task, c.checkedOnMs AS on, c.period AS period",
            "c.checkedOnMs >= $since AND c.checkedOnMs < $until", {"since": day_start_ms(since_checks)})
    collect("alarm", "-[:HAS_SENSOR]->(:Sensor)-[:RAISED]->(a:MonitoringAlarm)", "a",
            "RETURN k, a.id AS id, a.alarmLevel AS level, a.occurredAtMs AS at, a.handledAtMs AS handled ORDER BY id",
            "a.occurredAtMs >= $since AND a.occurredAtMs < $until",
            {"since": day_start_ms(as_of - dt.timedelta(days=windows.alarms_days))})
    since_enf = day_start_ms(as_of - dt.timedelta(days=windows.enforcement_days))
    collect("inspection", "-[:HAS_INSPECTION]->(i:Inspection)", "i",
            "RETURN k, i.id AS id, i.inspectedOnMs AS on, i.findings AS findings ORDER BY id",
            "i.inspectedOnMs >= $since AND i.inspectedOnMs < $until", {"since": since_enf})
    collect("penalty", "-[:HAS_PENALTY]->(x:Penalty)", "x",
            "RETURN k, x.id AS id, x.decidedOnMs AS on, x.fineAmount AS amount, x.violation AS violation ORDER BY id",
            "x.decidedOnMs >= $since AND x.decidedOnMs < $until", {"since": since_enf})
    collect("credit", "-[:HAS_CREDIT_RECORD]->(c:CreditRecord)", "c",
            "RETURN k, c.id AS id, c.recordType AS type, c.removedOnMs AS removed ORDER BY id",
            "c.listedOnMs IS NULL OR c.listedOnMs < $until")
    collect("accident", "-[:HAD_ACCIDENT]->(a:Accident)", "a",
            "RETURN k, a.id AS id, a.occurredAtMs AS at, a.accidentGrade AS grade, a.deaths AS deaths, "
            "a.accidentType AS type ORDER BY id",
            "a.occurredAtMs >= $since AND a.occurredAtMs < $until",
            {"since": day_start_ms(years_before(as_of, windows.accident_years))})
    collect("team", "-[:HAS_RESCUE_TEAM]->(t:RescueTeam)", "t", "RETURN k, t.id AS id, t.teamType AS type ORDER BY id")

    failed = set(failed_conclusions)
    brigade = set(fire_brigade_types)
    out = []
    for row in base:
        k = row["k"]
        d = per[k]
        facts = EnterpriseFacts(
            as_of=as_of,
            subject=k,
            major_hazards=tuple(MajorHazard(r["level"], r["id"], int(r["sensors"] or 0) > 0) for r in d["hazard"]),
            processes=tuple(Process(code, k) for code in (row["processes"] or [])),
            processes_known=row["processes"] is not None,
            substances=tuple(SubstanceFact(r["name"], r["cas"], r["category"], r["id"]) for r in d["substance"])
            if d["substance"] else None,
            licences=tuple(LicenceFact(r["type"] or "", ms_date(r["until"]), r["id"]) for r in d["licence"]),
            in_park=row["park"] is not None,
            safety_distance_met=None,
            standardisation=row["std"],
            own_fire_brigade=any(r["type"] in brigade for r in d["team"]),
            accidents=tuple(Accident(required_ms_date(r["at"], r["id"]), r["grade"] or "", int(r["deaths"] or 0), r["id"], r["type"])
                            for r in d["accident"]),
            alarms=tuple(Alarm(required_ms_datetime(r["at"], r["id"]), r["level"] or "", ms_datetime(r["handled"]), r["id"])
                         for r in d["alarm"] if r["at"] is not None),
            inspections=tuple(Inspection(required_ms_date(r["on"], r["id"]), int(r["findings"] or 0), r["id"]) for r in d["inspection"]),
            penalties=tuple(Penalty(required_ms_date(r["on"], r["id"]), float(r["amount"] or 0.0), r["id"], r["violation"] or "")
                            for r in d["penalty"]),
            hidden_dangers=_hidden_dangers(d["hd"], failed),
            lapsed_checks=_lapsed_checks(d["task"], d["record"], as_of, windows.checks_days),
            credit_records=tuple(
                CreditRecord(r["type"] or "", r["removed"] is None or int(r["removed"]) >= until, r["id"])
                for r in d["credit"]),
            risk_points=tuple(RiskPointFact(r["colour"], r["id"]) for r in d["rp"] if r["colour"]),
            tailings_ponds=tuple(TailingsPondFact(r["cls"], r["id"]) for r in d["pond"] if r["cls"]),
        )
        out.append(EnterpriseRecord(k, row["name"], row["region"], row["park"], row["si"], row["ic"], facts))
    return out


def _hidden_dangers(rows: Iterable[Mapping[str, Any]], failed: set[str]) -> tuple[HiddenDanger, ...]:
    """One fact per danger; rectified on the earliest completion of an attempt not rejected at acceptance."""
    by_id: dict[str, dict[str, Any]] = {}
    for r in rows:
        current = by_id.setdefault(r["id"], {**r, "done": None})
        # an attempt sent back at acceptance (the rectification loop's accepted = false) does not count either
        if r["done"] is not None and (r["verdict"] or "") not in failed and r.get("accepted") is not False:
            if current["done"] is None or r["done"] < current["done"]:
                current["done"] = r["done"]
    return tuple(
        HiddenDanger(grade=r["grade"] or "", state=r["state"] or "", deadline=ms_date(r["deadline"]),
                     rectified_on=ms_date(r["done"]), found_on=ms_date(r["found"]), evidence=r["id"],
                     description=r["description"] or "")
        for r in by_id.values()
    )


def _lapsed_checks(tasks: Iterable[Mapping[str, Any]], records: Iterable[Mapping[str, Any]], as_of: dt.date,
                   window_days: int) -> tuple[LapsedCheck, ...]:
    """Each check period that ended in the window without a record (workflows/schedule.py decides the periods)."""
    frequencies = vocabulary("CheckFrequency")
    by_task: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for r in records:
        by_task[str(r["task"])].append(r)
    out = []
    for t in tasks:
        concept = frequencies.lookup(t["frequency"])
        if concept is None or str(t["status"] or "").strip() in STOPPED:
            continue
        mine = by_task.get(str(t["id"]), [])
        dates = [d for d in (ms_date(r["on"]) for r in mine) if d is not None]
        for period in lapsed(concept.notation, dates, as_of=as_of, window_days=window_days,
                             active_from=ms_date(t["start"]), done=[str(r["period"]) for r in mine if r["period"]]):
            out.append(LapsedCheck(period.end, f"{t['id']}@{period.key}"))
    return tuple(out)


# ---------------------------------------------------------------- the data a run saw
#: beyond any load time (epoch ms): where the search for the newest record starts from above
_NEVER_MS = 2**53
#: the newest load time found last in each open store: the next search starts from it
_newest_seen: weakref.WeakKeyDictionary[GraphStore, int] = weakref.WeakKeyDictionary()


def data_version(store: GraphStore) -> dict[str, Any]:
    """{loadedAt, loadId} of the newest SourceRecord in the store (both None for a store never loaded).

    A province holds millions of records, and reading them all (84 ms at 500,000, growing with the
    store) is what every re-assessment would pay. Instead the newest load time is bisected with probes on the index of
    SourceRecord.loadedAtMs, each "some record at or after t" with LIMIT 1, so it stops at the
    first it finds: about 50 index seeks, whatever the size of the store. A long-running process
    (the service, live ingest) starts from the newest it found last, if a record still has it: then
    one probe tells nothing newer came, and a few more how far a new load went (50 probes took
    75 ms of each re-assessment at 50,000 enterprises)."""
    def some_at_or_after(t: int) -> int | None:
        rows = store.read("MATCH (r:SourceRecord) WHERE r.loadedAtMs >= $t RETURN r.loadedAtMs AS v LIMIT 1", {"t": t})
        return int(rows[0]["v"]) if rows else None

    def load_at(t: int) -> str | None:
        rows = store.read("MATCH (r:SourceRecord) WHERE r.loadedAtMs = $t RETURN r.loadId AS load LIMIT 1", {"t": t})
        return rows[0]["load"] if rows else None

    seen = _newest_seen.get(store)
    if seen is not None and load_at(seen) is None:
        seen = None  # that record is gone (a restore, a purge): search afresh
    low = seen if seen is not None else some_at_or_after(-_NEVER_MS)  # the newest is at or after it
    if low is None:
        return {"loadedAt": None, "loadId": None}
    high = _NEVER_MS  # nothing at or after it
    if seen is not None:  # gallop up from where the last search ended: a new load is near it
        step = 1
        while (found := some_at_or_after(low + step)) is not None and step < _NEVER_MS:
            low, step = found, step * 1024
        high = min(high, low + step) if found is None else high
    while high - low > 1:
        middle = (low + high) // 2
        found = some_at_or_after(middle)
        if found is None:
            high = middle
        else:
            low = found
    _newest_seen[store] = low
    return {"loadedAt": from_epoch_ms(low).isoformat(), "loadId": load_at(low)}


# ---------------------------------------------------------------- regions
@dataclass(frozen=True)
class RegionRow:
    code: str
    level: str | None
    parent: str | None
    population: int | None
    vulnerable_sites: int | None


def regions(store: GraphStore) -> dict[str, RegionRow]:
    rows = store.read(
        "MATCH (r:Region) OPTIONAL MATCH (r)-[:PART_OF]->(p:Region) "
        "RETURN r.code AS code, r.regionLevel AS level, p.code AS parent, r.population AS population, "
        "r.vulnerableSites AS sites ORDER BY code", timeout_ms=AGGREGATE_TIMEOUT_MS)
    return {r["code"]: RegionRow(r["code"], r["level"], r["parent"], _int(r["population"]), _int(r["sites"]))
            for r in rows}


#: (county or other regionCode, parkCode, supervisionIndustry, industryCode) of an enterprise
GroupKey = tuple[str | None, str | None, str | None, str | None]
_G = "e.regionCode AS region, e.parkCode AS park, e.supervisionIndustry AS si, e.industryCode AS ic"


def sorted_groups(groups: Mapping[GroupKey, Counter]) -> dict[GroupKey, Counter]:
    """Groups in key order (None first), so every way of assembling them sums in the same order."""
    return dict(sorted(groups.items(), key=_group_order))


def _group_order(item: tuple[GroupKey, Counter]) -> tuple[bool, str, bool, str, bool, str, bool, str]:
    region, park, si, ic = item[0]  # spelt out: a province sorts ≈ 10,000 groups twice per run
    return (region is not None, region or "", park is not None, park or "", si is not None, si or "",
            ic is not None, ic or "")


#: every group query opens on all enterprises; an incremental run opens on some regions' only
_ALL_ENTERPRISES = "MATCH (e:Enterprise)"
_SCOPED_ENTERPRISES = "MATCH (e:Enterprise) WHERE e.regionCode IN $scope WITH e MATCH (e)"


def enterprise_groups(store: GraphStore, as_of: dt.date, *, control_window_days: int, accident_years: int,
                      failed_conclusions: Sequence[str] = (), regions: Iterable[str] | None = None,
                      ) -> dict[GroupKey, Counter]:
    """Counts per group of enterprises (region, park, industries), aggregated in the database.

    Measures: enterprises, employees; major_<level> and residents_500m of major hazard sources;
    rp_<colour> (computed colour, else reported); open_<grade> hidden dangers (found by as_of, not
    closed); pond_<class>; accidents and deaths over `accident_years`; own rescue_members; and the
    control pool over `control_window_days`: hd_due, hd_rectified, hd_on_time, alarms,
    alarms_handled, alarm_handling_ms.

    With `regions`, only the enterprises whose regionCode is one of them (an incremental run re-reads
    the counties a change touched; the groups of the others come from the last run, see
    reasoning/group_store.py).
    """
    scope = sorted(set(regions)) if regions is not None else None
    until = as_of_end_ms(as_of)
    since = day_start_ms(as_of - dt.timedelta(days=control_window_days))
    groups: dict[GroupKey, Counter] = defaultdict(Counter)

    def add(statement: str, measures: Mapping[str, str], params: Mapping[str, Any] | None = None,
            suffix: str | None = None) -> None:
        if scope is not None:
            if not statement.startswith(_ALL_ENTERPRISES):  # a scoped run must never read the whole province unnoticed
                raise ValueError(f"internal: a group query opens with {statement[:40]!r}, not {_ALL_ENTERPRISES!r}")
            statement = _SCOPED_ENTERPRISES + statement[len(_ALL_ENTERPRISES):]
        for row in store.read(statement, {"until": until, "since": since, "scope": scope, **(params or {})},
                              timeout_ms=AGGREGATE_TIMEOUT_MS):
            key = (row["region"], row["park"], row["si"], row["ic"])
            for name, column in measures.items():
                label = f"{name}_{row[suffix]}" if suffix else name
                groups[key][label] += float(row[column] or 0)  # type: ignore[assignment]  # float tally; typeshed: Counter values are int

    add(f"MATCH (e:Enterprise) RETURN {_G}, count(e) AS n, sum(coalesce(e.employees, 0)) AS emp",
        {"enterprises": "n", "employees": "emp"})
    add(f"MATCH (e:Enterprise)-[:HAS_HAZARD_SOURCE]->(h:HazardSource) WHERE h.majorHazardLevel IS NOT NULL "
        f"RETURN {_G}, h.majorHazardLevel AS level, count(h) AS n, sum(coalesce(h.residents500m, 0)) AS res",
        {"major": "n"}, suffix="level")
    add(f"MATCH (e:Enterprise)-[:HAS_HAZARD_SOURCE]->(h:HazardSource) WHERE h.majorHazardLevel IS NOT NULL "
        f"RETURN {_G}, sum(coalesce(h.residents500m, 0)) AS res", {"residents_500m": "res"})
    add(f"MATCH (e:Enterprise)-[:HAS_RISK_POINT]->(r:RiskPoint) WITH e, coalesce(r.riskColour, r.reportedColour) AS colour "
        f"WHERE colour IS NOT NULL RETURN {_G}, colour, count(*) AS n", {"rp": "n"}, suffix="colour")
    add(f"MATCH (e:Enterprise)-[:HAS_HIDDEN_DANGER]->(h:HiddenDanger) "
        f"WHERE (h.state IS NULL OR NOT h.state IN $closed) AND (h.foundOnMs IS NULL OR h.foundOnMs < $until) "
        f"RETURN {_G}, coalesce(h.grade, 'UNKNOWN') AS grade, count(h) AS n",
        {"open": "n"}, {"closed": closed_states()}, suffix="grade")
    add(f"MATCH (e:Enterprise)-[:HAS_TAILINGS_POND]->(t:TailingsPond) "
        f"RETURN {_G}, coalesce(t.safetyClass, 'UNKNOWN') AS cls, count(t) AS n", {"pond": "n"}, suffix="cls")
    add(f"MATCH (e:Enterprise)-[:HAD_ACCIDENT]->(a:Accident) WHERE a.occurredAtMs >= $since5 AND a.occurredAtMs < $until "
        f"RETURN {_G}, count(a) AS n, sum(coalesce(a.deaths, 0)) AS deaths",
        {"accidents": "n", "deaths": "deaths"}, {"since5": day_start_ms(years_before(as_of, accident_years))})
    add(f"MATCH (e:Enterprise)-[:HAS_RESCUE_TEAM]->(t:RescueTeam) RETURN {_G}, sum(coalesce(t.members, 0)) AS m",
        {"rescue_members": "m"})
    # the control pool, as enterprise_risk reads it: dangers due in the window, alarms raised in it
    add(f"MATCH (e:Enterprise)-[:HAS_HIDDEN_DANGER]->(h:HiddenDanger) "
        f"WHERE h.deadlineMs >= $since AND h.deadlineMs < $until "
        f"OPTIONAL MATCH (h)-[:RECTIFIED_BY]->(x:Rectification) "
        f"WHERE x.completedOnMs IS NOT NULL AND (x.conclusion IS NULL OR NOT x.conclusion IN $failed) "
        f"WITH e, h, min(x.completedOnMs) AS done "
        f"RETURN {_G}, count(h) AS due, "
        f"sum(CASE WHEN done IS NOT NULL OR h.state IN $rectified THEN 1 ELSE 0 END) AS rectified, "
        f"sum(CASE WHEN done IS NOT NULL AND done <= h.deadlineMs THEN 1 ELSE 0 END) AS onTime",
        {"hd_due": "due", "hd_rectified": "rectified", "hd_on_time": "onTime"},
        {"failed": list(failed_conclusions), "rectified": rectified_states()})
    add(f"MATCH (e:Enterprise)-[:HAS_SENSOR]->(:Sensor)-[:RAISED]->(a:MonitoringAlarm) "
        f"WHERE a.occurredAtMs >= $since AND a.occurredAtMs < $until "
        f"WITH e, a, CASE WHEN a.handledAtMs IS NULL THEN 0 ELSE 1 END AS handled "
        f"RETURN {_G}, count(a) AS n, sum(handled) AS handled, "
        f"sum(CASE WHEN handled = 1 AND a.handledAtMs > a.occurredAtMs THEN a.handledAtMs - a.occurredAtMs ELSE 0 END) AS ms",
        {"alarms": "n", "alarms_handled": "handled", "alarm_handling_ms": "ms"})
    return dict(groups)


#: area-measure key of a supply quantity: never summed across categories or units
SUPPLY_PREFIX = "supply|"


def supply_key(category: str | None, unit: str | None) -> str:
    return f"{SUPPLY_PREFIX}{category or '未分类'}|{unit or '未注明单位'}"


def area_measures(store: GraphStore) -> dict[str, Counter]:
    """Per regionCode: disaster points and their threatened people, rescue team members, supply
    quantities per category and unit (`supply|<category>|<unit>`, over the warehouses there; 台 and 箱
    are never added up) and shelter capacity."""
    out: dict[str, Counter] = defaultdict(Counter)
    queries = (
        ("MATCH (p:NaturalDisasterRiskPoint) RETURN p.regionCode AS region, count(p) AS a, "
         "sum(coalesce(p.threatenedPeople, 0)) AS b", ("disaster_points", "threatened_people")),
        ("MATCH (t:RescueTeam) RETURN t.regionCode AS region, sum(coalesce(t.members, 0)) AS a, count(t) AS b",
         ("rescue_members", "rescue_teams")),
        ("MATCH (s:Supply)-[:STORED_IN]->(w:Warehouse) RETURN w.regionCode AS region, count(s) AS a, count(w) AS b",
         ("supply_items", "supply_rows")),
        ("MATCH (s:Shelter) RETURN s.regionCode AS region, sum(coalesce(s.capacityPeople, 0)) AS a, count(s) AS b",
         ("shelter_capacity", "shelters")),
    )
    for statement, (a, b) in queries:
        for row in store.read(statement, timeout_ms=AGGREGATE_TIMEOUT_MS):
            if row["region"] is None:
                continue
            out[row["region"]][a] += float(row["a"] or 0)  # type: ignore[assignment]  # float tally; typeshed: Counter values are int
            out[row["region"]][b] += float(row["b"] or 0)  # type: ignore[assignment]  # float tally; typeshed: Counter values are int
    for row in store.read("MATCH (s:Supply)-[:STORED_IN]->(w:Warehouse) RETURN w.regionCode AS region, "
                    "s.category AS category, s.unit AS unit, sum(coalesce(s.quantity, 0)) AS q",
                    timeout_ms=AGGREGATE_TIMEOUT_MS):
        if row["region"] is not None:
            out[row["region"]][supply_key(row["category"], row["unit"])] += float(row["q"] or 0)  # type: ignore[assignment]  # float tally
    return dict(out)


# ---------------------------------------------------------------- INFORM results (CCD's input)
def county_informs(store: GraphStore, method: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """County code → (the INFORM Assessment's id, its details) as stored."""
    return {row["code"]: (row["id"], json.loads(row["components"])["details"]) for row in with_components(store, store.read(
        "MATCH (a:Assessment)-[:ASSESSES]->(r:Region) WHERE a.method = $m AND r.regionLevel = $level "
        f"RETURN r.code AS code, a.id AS id, {assessment_components('a')}", {"m": method, "level": "COUNTY"}))}


# ---------------------------------------------------------------- N-K records
@dataclass
class FactorGroup:
    """One N-K group's incident records as the model reads them: how many carry each set of
    HazardFactor codes, and one record of each set to cite (its lowest id; hidden dangers, then accidents)."""

    counts: Counter[frozenset[str]] = field(default_factory=Counter)
    first: dict[frozenset[str], str] = field(default_factory=dict)
    accident_first: dict[frozenset[str], str] = field(default_factory=dict)
    total: int = 0

    def add(self, factors: frozenset[str], count: int, record: str, *, accident: bool = False) -> None:
        self.counts[factors] += count
        self.total += count
        cited = self.accident_first if accident else self.first
        if factors not in cited or record < cited[factors]:
            cited[factors] = record

    def cited(self, limit: int) -> list[str]:
        """The N-K model's evidence: what it counts is records per factor set, so each set is shown by
        one of its records — hidden dangers by id, then accidents by id — at most `limit`."""
        return (sorted(self.first.values()) + sorted(self.accident_first.values()))[:limit]


# the enterprises are found first (by their index) and only then expanded: with the danger filters in the
# same MATCH, FalkorDB scans every hidden danger once per member (100× slower at 2,000 enterprises)
_DANGERS = ("UNWIND $pairs AS p WITH p[0] AS m, p[1] AS g MATCH (e:Enterprise) WHERE e.{prop} = m WITH e, g "
            "MATCH (e)-[:HAS_HIDDEN_DANGER]->(h:HiddenDanger) "
            "WHERE h.hazardFactors IS NOT NULL AND size(h.hazardFactors) > 0 "
            "AND (h.foundOnMs IS NULL OR h.foundOnMs < $until) ")
_ACCIDENTS = ("MATCH (a:Accident) WHERE a.id IS NOT NULL AND a.occurredAtMs < $until "
              "AND size(coalesce(a.hazardFactors, [])) > 0 "
              "OPTIONAL MATCH (e:Enterprise)-[:HAD_ACCIDENT]->(a) "
              "WITH a, head(collect(e)) AS owner "  # one owner's industry and region, if several
              "WITH a, owner.supervisionIndustry AS si, coalesce(a.regionCode, owner.regionCode) AS region "
              "WHERE si IN $industries OR region IN $regions "
              "RETURN a.id AS id, a.hazardFactors AS f, si, region")


#: the enterprise properties N-K coupling groups hidden dangers and accidents by: a change to either
#: moves an enterprise's records to other groups (workflows/freshness.counted_by_nk)
NK_INDUSTRY, NK_REGION = "supervisionIndustry", "regionCode"
NK_GROUPED_BY = frozenset({NK_INDUSTRY, NK_REGION})


def factor_groups(store: GraphStore, as_of: dt.date, *, industries: Iterable[str], cities: Mapping[str, Iterable[str]],
                  city_of: Mapping[str, str]) -> tuple[dict[str, FactorGroup], dict[str, FactorGroup]]:
    """The N-K groups of `industries` (by the enterprises' supervision industry) and of `cities` (city →
    the region codes in it; `city_of` maps every region code to its city), groups without records left out.

    The hidden dangers are counted per factor set in the store, in one pass (a province's group holds
    tens of thousands: only the distinct sets come back, each with its count and lowest id); a record
    is counted once per group however many of the group's enterprises it hangs from. Accidents are
    few: read one by one, grouped by their owner's industry (one owner's, if several) and their own
    region (else their owner's)."""
    until = as_of_end_ms(as_of)
    wanted = {"si": set(industries), "city": set(cities)}
    by_industry = _danger_groups(store, NK_INDUSTRY, {si: [si] for si in wanted["si"]}, until)
    by_city = _danger_groups(store, NK_REGION, {c: sorted(codes) for c, codes in cities.items()}, until)
    for r in store.read(_ACCIDENTS, {"until": until, "industries": sorted(wanted["si"]),
                                     "regions": sorted(code for codes in cities.values() for code in codes)},
                        timeout_ms=AGGREGATE_TIMEOUT_MS):
        for groups, part, code in ((by_industry, "si", r["si"]), (by_city, "city", city_of.get(r["region"] or ""))):
            if code in wanted[part]:
                groups.setdefault(code, FactorGroup()).add(frozenset(r["f"]), 1, r["id"], accident=True)
    return by_industry, by_city


def _danger_groups(store: GraphStore, prop: str, members: Mapping[str, list[str]], until: int,
                   ) -> dict[str, FactorGroup]:
    """Hidden dangers of the enterprises whose `prop` is one of a group's members, counted per group."""
    statement = _DANGERS.format(prop=ident(prop))
    pairs = [[m, g] for g, ms in sorted(members.items()) for m in ms]
    out: dict[str, FactorGroup] = {}
    for row in store.read(statement + "WITH DISTINCT g, h RETURN g, h.hazardFactors AS f, count(*) AS n, "
                          "min(h.id) AS first", {"pairs": pairs, "until": until}, timeout_ms=AGGREGATE_TIMEOUT_MS):
        out.setdefault(row["g"], FactorGroup()).add(frozenset(row["f"]), int(row["n"]), str(row["first"]))
    return out


# ---------------------------------------------------------------- places (spatial coupling)
@dataclass(frozen=True)
class Place:
    id: str
    kind: str  # ontology class name the spatial model knows (MajorHazardSource, Shelter, NaturalDisasterRiskPoint)
    lon: float
    lat: float


def places(store: GraphStore, label: str, kind: str, *, where: str = "", page: int = 5000) -> list[Place]:
    cond = "n.lon IS NOT NULL AND n.lat IS NOT NULL" + (f" AND ({where})" if where else "")
    return [Place(r["key"], kind, float(r["lon"]), float(r["lat"]))
            for r in scan(store, label, ("lon", "lat"), where=cond, page=page)]


# ---------------------------------------------------------------- disaster events (temporal)
def disaster_events(store: GraphStore, as_of: dt.date, *, page: int = 5000) -> dict[str, list[DisasterEventFact]]:
    """regionCode → events that occurred by `as_of`."""
    out: dict[str, list[DisasterEventFact]] = defaultdict(list)
    for r in scan(store, "DisasterEvent", ("regionCode", "disasterType", "occurredAtMs", "deaths", "affectedPeople",
                                           "directLoss10k"),
                  where="n.occurredAtMs IS NOT NULL AND n.occurredAtMs < $until AND n.disasterType IS NOT NULL",
                  params={"until": as_of_end_ms(as_of)}, page=page):
        if r["regionCode"] is None:
            continue
        out[r["regionCode"]].append(DisasterEventFact(
            on=required_ms_date(r["occurredAtMs"], r["key"]), type=r["disasterType"], deaths=int(r["deaths"] or 0),
            affected=int(r["affectedPeople"] or 0), loss_10k=float(r["directLoss10k"] or 0.0), evidence=r["key"]))
    return dict(out)
