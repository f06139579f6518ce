"""Read what the warning rules need from the graph: a handful of batched queries, windows from the rules.

Times are compared as the stored `<name>Ms` epoch numbers (FalkorDB drops offsets). Only facts in a
rule's window are read, so a run costs the same whatever the province's history. The facts held by
an enterprise (hidden dangers, credit records, the clusters of its hazard sources) can be read for
some enterprises only (`enterprises=`): after a change, the rules need not read the 42,686 open
dangers of a 50,000-enterprise province again (1.1 s, and 0.7 s for their owners) to warn about one.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from riskgraph.graph.dialect import ident
from riskgraph.graph.packed_content import assessment_components, with_components
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import LOCAL_TZ, from_epoch_ms, to_epoch_ms
from riskgraph.reasoning import graph_facts as gf
from riskgraph.reasoning.warnings.facts import (
    AlarmFact,
    ChangeFact,
    ClusterFact,
    CreditFact,
    DangerFact,
    Owner,
    PeriodRisk,
    TemporalFact,
    WarningFacts,
)
from riskgraph.reasoning.warnings.rules import Rules, colour_rank

#: what the owner of a node of each label is found through
OWNER_PATHS = {
    "Enterprise": None,
    "RiskPoint": "(e:Enterprise)-[:HAS_RISK_POINT]->(n:RiskPoint)",
    "HazardSource": "(e:Enterprise)-[:HAS_HAZARD_SOURCE]->(n:HazardSource)",
    "HiddenDanger": "(e:Enterprise)-[:HAS_HIDDEN_DANGER]->(n:HiddenDanger)",
    "Sensor": "(e:Enterprise)-[:HAS_SENSOR]->(n:Sensor)",
}


def now() -> dt.datetime:
    return dt.datetime.now(LOCAL_TZ).replace(microsecond=0)


def _rules_of(rules: Rules, kind: str) -> list[Mapping[str, Any]]:
    return [rules.rule(r) for r in rules.rule_ids if rules.rule(r)["type"] == kind]


def owners(store: GraphStore, usccs: Iterable[str], person_roles: Iterable[str]) -> dict[str, Owner]:
    """Enterprise, region and the answerable person (a Person in one of the roles, else the legal representative)."""
    keys = sorted({u for u in usccs if u})
    if not keys:
        return {}
    rows = store.read("UNWIND $keys AS k MATCH (e:Enterprise {uscc: k}) "
                          "OPTIONAL MATCH (e)-[:HAS_PERSON]->(p:Person) WHERE p.role IN $roles "
                          "RETURN k, e.name AS name, e.regionCode AS region, e.legalRepresentative AS rep, "
                          "collect(p.role + '|' + p.name) AS people", {"keys": keys, "roles": list(person_roles)})
    order = {role: i for i, role in enumerate(person_roles)}
    out = {}
    for r in rows:
        people = sorted((p.split("|", 1) for p in r["people"] if p), key=lambda rp: order.get(rp[0], 99))
        person = people[0][1] if people else r["rep"]
        out[r["k"]] = Owner(r["k"], r["name"], r["region"], person)
    return out


def _owners_of(store: GraphStore, label: str, keys: Iterable[str]) -> dict[str, str]:
    """node key → the enterprise it belongs to (USCC), for labels with a known owner path."""
    keys = sorted(set(keys))
    if label == "Enterprise":
        return {k: k for k in keys}
    path = OWNER_PATHS.get(label)
    if path is None or not keys:
        return {}
    rows = store.read(f"UNWIND $keys AS k MATCH {path} WHERE n.id = k RETURN k, e.uscc AS u", {"keys": keys})
    return {r["k"]: r["u"] for r in rows}


def _ms(value: Any) -> dt.datetime | None:
    return None if value is None else from_epoch_ms(int(value))


def _day(value: Any) -> dt.date | None:
    return None if value is None else from_epoch_ms(int(value)).date()


def _json(text: Any) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError:
        return text


def read_alarms(store: GraphStore, since: dt.datetime, until: dt.datetime) -> list[dict[str, Any]]:
    # the window first, from its index; then the sensor (the other way round FalkorDB read every alarm)
    return store.read("MATCH (a:MonitoringAlarm) WHERE a.occurredAtMs >= $since AND a.occurredAtMs <= $until "
                          "MATCH (s:Sensor)-[:RAISED]->(a) "
                          "OPTIONAL MATCH (e:Enterprise)-[:HAS_SENSOR]->(s) OPTIONAL MATCH (s)-[:MONITORS]->(t) "
                          "RETURN a.id AS id, a.alarmLevel AS level, a.occurredAtMs AS at, a.value AS value, a.metric AS metric, "
                          "a.unit AS unit, a.thresholds AS thresholds, a.handledAtMs AS handled, s.id AS sensor, s.name AS sname, "
                          "s.regionCode AS sregion, e.uscc AS uscc, labels(t) AS tl, t.id AS tid, t.name AS tname, "
                          "t.regionCode AS tregion ORDER BY id",
                   {"since": to_epoch_ms(since), "until": to_epoch_ms(until)})


#: the properties whose changes the rules warn about: a risk colour, a major hazard source's grade
LEVEL_PROPERTIES = ("riskColour", "majorHazardLevel")


def read_level_changes(store: GraphStore, labels: Collection[str], since: dt.datetime,
                       until: dt.datetime) -> list[dict[str, Any]]:
    """The changes of a colour or a hazard grade of nodes of `labels` in the window, oldest first.

    Both the time and the property are indexed, so the store reads only these changes: by time
    alone it read every change of the window (a day of change sets at 50,000 enterprises: 218,000
    events read for 2, 112 ms on every rules pass; 0.4–6 ms by both)."""
    return store.read("MATCH (c:ChangeEvent) WHERE c.changedAtMs >= $since AND c.changedAtMs <= $until "
                      "AND c.property IN $properties AND c.entityLabel IN $labels "
                      "RETURN c.id AS id, c.entityLabel AS label, c.entityKey AS key, c.property AS prop, "
                      "c.oldValue AS old, c.newValue AS new, c.changedAtMs AS at ORDER BY at, id",
                      {"since": to_epoch_ms(since), "until": to_epoch_ms(until), "labels": sorted(labels),
                       "properties": list(LEVEL_PROPERTIES)})


def _held_by(enterprises: Collection[str] | None) -> tuple[str, dict[str, Any]]:
    """The start of a pattern over enterprises: all of them, or the given ones from their key's index."""
    if enterprises is None:
        return "MATCH (e:Enterprise)", {}
    return "UNWIND $enterprises AS u MATCH (e:Enterprise {uscc: u})", {"enterprises": sorted(enterprises)}


def read_facts(store: GraphStore, rules: Rules, as_of: dt.datetime | None = None,
               enterprises: Collection[str] | None = None) -> WarningFacts:
    """Every fact some rule of `rules` may warn about as of `as_of` (default: now).

    With `enterprises`, the facts an enterprise holds are read for those enterprises only; alarms
    and changes (read by their time window) and the regions' temporal risk are read whole either way.
    """
    as_of = as_of or now()
    held, held_params = _held_by(enterprises)
    facts = WarningFacts(as_of=as_of)
    labels = set(store.ontology.labels)
    owned: dict[str, set[str]] = {}

    alarm_rules = _rules_of(rules, "iot_alarm") + _rules_of(rules, "iot_alarm_repeated")
    alarm_rows: list[dict[str, Any]] = []
    if alarm_rules:
        hours = max(float(r["window_hours"]) for r in alarm_rules)
        alarm_rows = read_alarms(store, as_of - dt.timedelta(hours=hours), as_of)
        owned.setdefault("alarm", set()).update(r["uscc"] for r in alarm_rows if r["uscc"])

    change_rules = _rules_of(rules, "colour_raised") + _rules_of(rules, "major_hazard_raised")
    change_rows: list[dict[str, Any]] = []
    change_owner: dict[tuple[str, str], str] = {}
    names: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    if change_rules:
        days = max(float(r["window_days"]) for r in change_rules)
        wanted = sorted({lbl for r in _rules_of(rules, "colour_raised") for lbl in r["labels"]}
                        | ({"HazardSource"} if _rules_of(rules, "major_hazard_raised") else set()))
        change_rows = read_level_changes(store, wanted, as_of - dt.timedelta(days=days), as_of)
        by_label: dict[str, set[str]] = {}
        for r in change_rows:
            by_label.setdefault(r["label"], set()).add(r["key"])
        for label, keys in by_label.items():
            if label not in labels:
                continue
            key_prop = store.ontology.key_of(label)
            for row in store.read(f"UNWIND $keys AS k MATCH (n:{ident(label)}) WHERE n.{ident(key_prop)} = k "
                                  "RETURN k, n.name AS name, n.regionCode AS region", {"keys": sorted(keys)}):
                names[(label, row["k"])] = (row["name"], row["region"])
            for key, uscc in _owners_of(store, label, keys).items():
                change_owner[(label, key)] = uscc
        owned.setdefault("change", set()).update(change_owner.values())

    danger_rows: list[dict[str, Any]] = []
    danger_rules = _rules_of(rules, "major_hidden_danger") + _rules_of(rules, "overdue_rectification")
    if danger_rules:
        rectified = gf.rectified_states()
        days = max([int(r["window_days"]) for r in _rules_of(rules, "major_hidden_danger")] or [0])
        grades = [r["grade"] for r in _rules_of(rules, "major_hidden_danger")]
        danger_rows = store.read(f"{held}-[:HAS_HIDDEN_DANGER]->(h:HiddenDanger) "
                                     "WITH e, h WHERE NOT h.state IN $rectified AND (h.deadlineMs < $today "
                                     "OR (h.grade IN $grades AND h.foundOnMs >= $since)) "
                                     "OPTIONAL MATCH (h)-[:AT_RISK_POINT]->(r:RiskPoint) "
                                     "RETURN h.id AS id, h.name AS name, h.grade AS grade, h.state AS state, "
                                     "h.foundOnMs AS found, h.deadlineMs AS deadline, r.id AS rp, e.uscc AS uscc ORDER BY id",
                              {"rectified": rectified, "today": gf.day_start_ms(as_of.date()), "grades": grades,
                               "since": gf.day_start_ms(as_of.date() - dt.timedelta(days=days)), **held_params})
        owned.setdefault("danger", set()).update(r["uscc"] for r in danger_rows)

    credit_rows: list[dict[str, Any]] = []
    if _rules_of(rules, "credit_listing"):
        days = max(int(r["window_days"]) for r in _rules_of(rules, "credit_listing"))
        types = sorted({t for r in _rules_of(rules, "credit_listing") for t in r["levels"]})
        credit_rows = store.read(f"{held}-[:HAS_CREDIT_RECORD]->(c:CreditRecord) "
                                     "WITH e, c WHERE c.listedOnMs >= $since AND c.listedOnMs < $until AND c.recordType IN $types "
                                     "RETURN c.id AS id, c.recordType AS type, c.listedOnMs AS listed, c.removedOnMs AS removed, "
                                     "c.reason AS reason, e.uscc AS uscc ORDER BY id",
                              {"since": gf.day_start_ms(as_of.date() - dt.timedelta(days=days)),
                               "until": gf.as_of_end_ms(as_of.date()), "types": types, **held_params})
        owned.setdefault("credit", set()).update(r["uscc"] for r in credit_rows)

    cluster_rows: list[dict[str, Any]] = []
    # every hazard source a cluster assessment is linked to is a subject, with its owner if it has one
    clusters = ("MATCH (a:Assessment)-[:ASSESSES]->(h:HazardSource) WHERE a.method = $m "
                "OPTIONAL MATCH (e:Enterprise)-[:HAS_HAZARD_SOURCE]->(h) " if enterprises is None else
                f"{held}-[:HAS_HAZARD_SOURCE]->(h:HazardSource)<-[:ASSESSES]-(a:Assessment) WHERE a.method = $m ")
    for rule in _rules_of(rules, "coupled_cluster"):
        cluster_rows += with_components(store, store.read(
            f"{clusters}RETURN a.id AS id, {assessment_components('a')}, a.computedAtMs AS at, h.id AS hid, "
            "h.name AS name, h.regionCode AS region, e.uscc AS uscc ORDER BY id", {"m": rule["method"], **held_params}))
    owned.setdefault("cluster", set()).update(r["uscc"] for r in cluster_rows if r["uscc"])

    person_roles = list(rules["push"]["person_roles"])
    all_owners = owners(store, set().union(*owned.values()) if owned else set(), person_roles)

    for r in alarm_rows:
        owner = all_owners.get(r["uscc"]) if r["uscc"] else None
        target = next((lbl for lbl in (r["tl"] or []) if lbl in labels), None)
        thresholds = _json(r["thresholds"])
        facts.alarms.append(AlarmFact(
            id=r["id"], sensor=r["sensor"], level=r["level"] or "", occurred_at=_ms(r["at"]),  # type: ignore[arg-type]
            value=r["value"], metric=r["metric"], unit=r["unit"],
            thresholds=thresholds if isinstance(thresholds, dict) else None, handled_at=_ms(r["handled"]),
            subject_label=target or "Sensor", subject_key=r["tid"] if target else r["sensor"],
            subject_name=(r["tname"] if target else r["sname"]) or r["sname"],
            owner=owner, region=r["tregion"] or r["sregion"] or (owner.region if owner else None)))
    for r in change_rows:
        owner = all_owners.get(change_owner.get((r["label"], r["key"]), ""))
        name, region = names.get((r["label"], r["key"]), (None, None))
        facts.changes.append(ChangeFact(
            id=r["id"], label=r["label"], key=r["key"], property=r["prop"], old=_json(r["old"]), new=_json(r["new"]),
            changed_at=_ms(r["at"]), name=name, owner=owner, region=region or (owner.region if owner else None)))  # type: ignore[arg-type]
    for r in danger_rows:
        facts.dangers.append(DangerFact(
            id=r["id"], grade=r["grade"] or "", state=r["state"] or "", open=True, name=r["name"],
            found_on=_day(r["found"]), deadline=_day(r["deadline"]), risk_point=r["rp"], owner=all_owners.get(r["uscc"])))
    for r in credit_rows:
        facts.credits.append(CreditFact(
            id=r["id"], record_type=r["type"], listed_on=_day(r["listed"]), removed_on=_day(r["removed"]),
            reason=r["reason"], owner=all_owners.get(r["uscc"])))
    for r in cluster_rows:
        doc = _json(r["components"]) or {}
        details = doc.get("details") or {}
        owner = all_owners.get(r["uscc"]) if r["uscc"] else None
        facts.clusters.append(ClusterFact(
            assessment=r["id"], subject=r["hid"], members=tuple(details.get("members") or ()),
            exposed=tuple(str(x) for x in details.get("exposed") or ()), flags=tuple(doc.get("flags") or ()),
            computed_at=_ms(r["at"]), subject_name=r["name"], owner=owner,
            region=r["region"] or (owner.region if owner else None)))
    for rule in _rules_of(rules, "temporal_peak"):
        facts.temporal.extend(read_temporal(store, rule["method"], rule["min_colour"]))
    return facts


def read_temporal(store: GraphStore, method: str, min_colour: str) -> list[TemporalFact]:
    """Monthly temporal assessments whose peak reaches `min_colour` (no month of the others can)."""
    colours = [c for c in store.ontology.vocabulary("RiskColour").concepts if colour_rank(c) >= colour_rank(min_colour)]
    rows = with_components(store, store.read(
        "MATCH (a:Assessment)-[:ASSESSES]->(r:Region) WHERE a.method = $m AND a.riskColour IN $colours "
        f"AND a.id ENDS WITH ':month' RETURN a.id AS id, {assessment_components('a')}, r.code AS code, "
        "r.name AS name ORDER BY id", {"m": method, "colours": colours}))
    out = []
    for r in rows:
        doc = _json(r["components"]) or {}
        periods = tuple(PeriodRisk(int(p["period"]), p.get("colour"), p.get("score"), tuple(p.get("evidence") or ()))
                        for p in doc.get("periods") or ())
        out.append(TemporalFact(r["id"], r["code"], str(doc.get("group") or r["id"].split(":")[-2]), periods, r["name"]))
    return out
