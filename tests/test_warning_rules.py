"""The warning rules are pure functions over facts: each rule type on hand-made facts, at its edges."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from riskgraph.reasoning.derived_changes import Snapshot, log_changes
from riskgraph.reasoning.warnings import evaluate, load_rules
from riskgraph.reasoning.warnings.evaluate import RULE_TYPES, coming_month
from riskgraph.reasoning.warnings.facts import (
    AlarmFact,
    ChangeFact,
    ClusterFact,
    CreditFact,
    DangerFact,
    Owner,
    PeriodRisk,
    SourceFact,
    TemporalFact,
    WarningFacts,
)
from riskgraph.reasoning.warnings.rules import _check

CST = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=CST)
OWNER = Owner("91130100MA0CEFGH1X", "石家庄冀中化工有限公司", "130102", "王一")
RULES = load_rules()


def facts(**kw) -> WarningFacts:
    return WarningFacts(as_of=NOW, **kw)


def alarm(i: int, level: str, hours_ago: float, sensor: str = "S1") -> AlarmFact:
    return AlarmFact(id=f"A{i}", sensor=sensor, level=level, occurred_at=NOW - dt.timedelta(hours=hours_ago), value=2.0,
                     metric="压力", unit="MPa", thresholds={"红": 1.6}, subject_label="HazardSource", subject_key="HS1",
                     subject_name="液氯储罐区", owner=OWNER, region="130102")


def run(rule: str, f: WarningFacts):
    return evaluate(f, RULES, only=[rule])


def test_every_rule_type_of_the_file_has_a_function():
    assert {RULES.rule(r)["type"] for r in RULES.rule_ids} <= set(RULE_TYPES)


def test_an_over_threshold_alarm_warns_at_its_level_within_the_window():
    [c] = run("iot_alarm", facts(alarms=[alarm(1, "ORANGE", 2), alarm(2, "RED", 23.9), alarm(3, "YELLOW", 1),
                                         alarm(4, "RED", 24.5)]))
    assert c.level == "RED" and c.subject_key == "HS1" and c.owner == OWNER and c.region == "130102"
    assert [e.key for e in c.evidence] == ["A1", "A2"]  # newest first; the yellow one is below the floor, A4 too old
    assert c.trigger_key == "iot_alarm:HazardSource:HS1" and "红色报警阈值" in c.description
    assert run("iot_alarm", facts(alarms=[alarm(1, "YELLOW", 1)])) == []


def test_repeated_alarms_reach_bands_by_count():
    few = [alarm(i, "YELLOW", i) for i in range(2)]
    assert run("iot_alarm_repeated", facts(alarms=few)) == []
    [c] = run("iot_alarm_repeated", facts(alarms=[alarm(i, "YELLOW", i) for i in range(5)]))
    assert c.level == "ORANGE" and c.subject_label == "Sensor" and len(c.evidence) == 5
    [c] = run("iot_alarm_repeated", facts(alarms=[alarm(i, "BLUE" if i % 2 else "YELLOW", i) for i in range(8)]))
    assert c.level == "YELLOW" and len(c.evidence) == 4  # only the 4 yellow ones count (blue is below the floor)


def change(i: int, label: str, prop: str, old, new, days_ago: float = 1) -> ChangeFact:
    return ChangeFact(id=f"C{i}", label=label, key="K1", property=prop, old=old, new=new,
                      changed_at=NOW - dt.timedelta(days=days_ago), name="某某", owner=OWNER, region="130102")


def test_a_colour_warns_when_it_rises_to_red_or_orange_and_stays():
    [c] = run("colour_raised", facts(changes=[change(1, "Enterprise", "riskColour", "YELLOW", "ORANGE")]))
    assert c.level == "ORANGE" and "黄" in c.description and "橙" in c.description
    [c] = run("colour_raised", facts(changes=[change(1, "RiskPoint", "riskColour", None, "RED")]))
    assert c.level == "RED"  # a new red point
    assert run("colour_raised", facts(changes=[change(1, "Enterprise", "riskColour", "RED", "ORANGE")])) == []  # lowered
    assert run("colour_raised", facts(changes=[change(1, "Enterprise", "riskColour", "BLUE", "YELLOW")])) == []
    went_back = [change(1, "Enterprise", "riskColour", "YELLOW", "RED", 2), change(2, "Enterprise", "riskColour", "RED", "BLUE", 1)]
    assert run("colour_raised", facts(changes=went_back)) == []
    assert run("colour_raised", facts(changes=[change(1, "Enterprise", "riskColour", "YELLOW", "RED", 8)])) == []


def test_a_major_hazard_source_whose_level_rises():
    [c] = run("major_hazard_raised", facts(changes=[replace(change(1, "HazardSource", "majorHazardLevel", "L3", "L2"))]))
    assert c.level == "ORANGE"
    [c] = run("major_hazard_raised", facts(changes=[change(1, "HazardSource", "majorHazardLevel", None, "L1")]))
    assert c.level == "RED"
    assert run("major_hazard_raised", facts(changes=[change(1, "HazardSource", "majorHazardLevel", "L1", "L3")])) == []


def danger(i: int, grade: str, found_days: int, deadline_days: int | None, state: str = "RECTIFYING") -> DangerFact:
    today = NOW.date()
    return DangerFact(id=f"HD{i}", grade=grade, state=state, open=True, name=f"隐患{i}",
                      found_on=today - dt.timedelta(days=found_days),
                      deadline=today + dt.timedelta(days=deadline_days) if deadline_days is not None else None, owner=OWNER)


def test_new_major_hidden_dangers_and_overdue_rectification():
    [c] = run("major_hidden_danger", facts(dangers=[danger(1, "MAJOR", 3, 10), danger(2, "MAJOR", 30, 10),
                                                    danger(3, "GENERAL", 1, 10)]))
    assert c.subject_key == "HD1" and c.level == "ORANGE"
    generals = [danger(i, "GENERAL", 40, -i) for i in range(1, 3)]
    assert run("overdue_rectification", facts(dangers=generals)) == []  # two overdue general ones: below the count
    [c] = run("overdue_rectification", facts(dangers=generals + [danger(9, "GENERAL", 40, -5)]))
    assert c.level == "YELLOW" and c.subject_key == OWNER.uscc and len(c.evidence) == 3
    [c] = run("overdue_rectification", facts(dangers=generals + [danger(8, "MAJOR", 60, -30)]))
    assert c.level == "RED" and c.evidence[0].values["daysOverdue"] == 30
    assert run("overdue_rectification", facts(dangers=[danger(7, "MAJOR", 60, 0)])) == []  # due today: not overdue yet


def test_new_credit_listings_that_still_stand():
    today = NOW.date()
    listed = CreditFact("CR1", "BLACKLIST", today - dt.timedelta(days=3), reason="重大事故隐患未整改", owner=OWNER)
    [c] = run("credit_listing", facts(credits=[listed, replace(listed, id="CR2", record_type="ABNORMAL")]))
    assert c.level == "ORANGE" and c.evidence[0].key == "CR1"
    assert run("credit_listing", facts(credits=[replace(listed, removed_on=today - dt.timedelta(days=1))])) == []
    assert run("credit_listing", facts(credits=[replace(listed, listed_on=today - dt.timedelta(days=31))])) == []


def test_coupled_clusters_by_size():
    lone = ClusterFact("AS1", "HS1", ("HS1",), ("SH1",), region="130102")
    assert run("coupled_cluster", facts(clusters=[lone])) == []
    [c] = run("coupled_cluster", facts(clusters=[ClusterFact("AS2", "HS1", ("HS1", "HS2", "HS3"), ("SH1",), ("domino",),
                                                             region="130102")]))
    assert c.level == "ORANGE" and "多米诺" in c.description
    [c] = run("coupled_cluster", facts(clusters=[ClusterFact("AS3", "HS1", ("HS1",), ("SH1", "ND1"), region="130102")]))
    assert c.level == "YELLOW"


def test_temporal_peaks_of_the_coming_month():
    year, month = coming_month(NOW)
    assert (year, month) == (2026, 12) and coming_month(NOW.replace(month=12)) == (2027, 1)
    periods = tuple(PeriodRisk(m, "RED" if m == 12 else "YELLOW", 8.0 if m == 12 else 3.0) for m in range(1, 13))
    t = TemporalFact("temporal-seasonal:Region:130102:FLOOD:month", "130102", "FLOOD", periods, "长安区")
    [c] = run("temporal_peak", facts(temporal=[t]))
    assert c.level == "RED" and c.qualifier == "FLOOD:2026-12" and c.subject_label == "Region"
    assert run("temporal_peak", WarningFacts(as_of=NOW.replace(month=6), temporal=[t])) == []


def test_the_rules_file_is_checked_against_the_vocabularies():
    data = {**RULES.data, "rules": {**RULES.data["rules"], "x": {"type": "major_hidden_danger", "level": "PURPLE"}}}
    with pytest.raises(ValueError, match="PURPLE"):
        _check(replace(RULES, data=data))
    with pytest.raises(ValueError, match="unknown type"):
        evaluate(facts(), replace(RULES, data={**RULES.data, "rules": {"y": {"type": "astrology"}}}))


def test_assessments_log_changed_colours_for_the_rules(store):
    store.upsert_nodes("Enterprise", [{"uscc": "91130100MA0CEFGH1X", "name": "甲", "riskColour": "YELLOW"},
                                      {"uscc": "91130100MA0XYZAB3C", "name": "乙"}])
    before = Snapshot.take(store)
    store.upsert_nodes("Enterprise", [{"uscc": "91130100MA0CEFGH1X", "riskColour": "RED"},
                                      {"uscc": "91130100MA0XYZAB3C", "riskColour": "ORANGE"}])
    [event] = log_changes(store, before, include_new=False)  # a full run: a first colour is a baseline
    assert (event["entityKey"], event["oldValue"], event["newValue"]) == ("91130100MA0CEFGH1X", '"YELLOW"', '"RED"')
    before = Snapshot.take(store, {"Enterprise": ["91130100MA0XYZAB3C"]})
    store.execute("MATCH (e:Enterprise {uscc: '91130100MA0XYZAB3C'}) SET e.riskColour = 'RED'")
    [event] = log_changes(store, before, include_new=True)
    assert event["oldValue"] == '"ORANGE"' and store.read("MATCH (c:ChangeEvent) RETURN count(c) AS n")[0]["n"] == 2


def test_approval_needs_a_scope_the_level_allows():
    from riskgraph.api.access import Role
    from riskgraph.workflows.warnings import Actor, can_acknowledge, can_approve, can_see

    county = Actor("insp.county", Role.INSPECTOR, ("130102",))
    city = Actor("insp.city", Role.INSPECTOR, ("130100",))
    elsewhere = Actor("insp.ts", Role.INSPECTOR, ("130209",))
    red = {"regionCode": "130102", "warningLevel": "RED", "warningState": "draft", "responsibleEnterprise": OWNER.uscc}
    yellow = {**red, "warningLevel": "YELLOW"}
    assert not can_approve(county, red, RULES) and can_approve(county, yellow, RULES)
    assert can_approve(city, red, RULES) and not can_approve(elsewhere, yellow, RULES)
    assert not can_approve(Actor("a", Role.ANALYST), yellow, RULES) and can_approve(Actor("root", Role.ADMIN), red, RULES)
    ent = Actor("ent", Role.ENTERPRISE, uscc=OWNER.uscc)
    assert not can_see(ent, red) and can_see(ent, {**red, "warningState": "published"})
    assert can_acknowledge(ent, red) and not can_acknowledge(Actor("other", Role.ENTERPRISE, uscc="91130200MA0ABCDE2Y"), red)


def test_a_watch_shows_only_what_the_subscriber_may_read(store, tmp_path):
    from riskgraph.api.users import UserStore
    from riskgraph.notify import outbox
    from riskgraph.notify.watches import Change, notify_changes, subscribe

    users = UserStore(tmp_path / "users.sqlite3")
    users.create("ent.other", "a-long-password-1", "enterprise", uscc="91130200MA0ABCDE2Y")
    users.create("insp.city", "a-long-password-2", "inspector", regions=["130100"])
    store.upsert_nodes("Enterprise", [{"uscc": OWNER.uscc, "name": "甲化工", "regionCode": "130102", "employees": 420}])
    store.upsert_nodes("Region", [{"code": "130100", "name": "石家庄市"}])
    subscribe(store, "ent.other", "Enterprise", OWNER.uscc)
    subscribe(store, "insp.city", "Region", "130100")
    change = Change("Enterprise", OWNER.uscc, "changed", (("name", "甲化工", "甲化工集团"), ("employees", 420, 380)),
                    "甲化工集团", region="130102")
    report = notify_changes(store, [change], users=users, batch="load-1")
    assert (report.notifications, report.subscribers) == (2, 2)
    assert notify_changes(store, [change], users=users, batch="load-1").notifications == 0  # one per batch
    _, rows = outbox.deliveries(store, limit=10)
    by_user = {}
    for d in rows:
        props = store.get_node("Delivery", d["id"])
        by_user[props["deliveryAddress"]] = outbox.Delivery.from_props(props).body()["changes"][0]
    public = by_user["ent.other"]  # another enterprise reads this one at the public level
    assert [c["property"] for c in public["changes"]] == ["name"] and public["notShown"] == 1
    assert [c["property"] for c in by_user["insp.city"]["changes"]] == ["name", "employees"]


def test_a_source_silent_past_its_limit_warns_once_per_silence():
    last = NOW - dt.timedelta(minutes=15)
    quiet = SourceFact("iot-cz", 600, last, "stream-iot-cz-20261120T09:iot-cz", NOW - dt.timedelta(days=3), "沧州平台", "iot")
    [c] = run("source_stale", facts(sources=[quiet, replace(quiet, name="iot-ok", last_success_at=NOW - dt.timedelta(minutes=5)),
                                             replace(quiet, name="drop", limit_s=None)]))
    assert (c.level, c.subject_key, c.triggered_at) == ("YELLOW", "iot-cz", last + dt.timedelta(seconds=600))
    assert c.evidence[0].values == {"source": "iot-cz", "kind": "iot", "lastSuccessAt": last.isoformat(), "lagSeconds": 900,
                                    "staleAfterSeconds": 600}
    assert "15 分钟" in c.description and "沧州平台" in c.title
    # later checks of the same silence keep the trigger key (the open warning is found); a later silence does not
    [again] = run("source_stale", replace(facts(sources=[quiet]), as_of=NOW + dt.timedelta(hours=2)))
    assert again.trigger_key == c.trigger_key
    [next_silence] = run("source_stale", facts(sources=[replace(quiet, last_success_at=NOW - dt.timedelta(minutes=11))]))
    assert next_silence.trigger_key != c.trigger_key
    # registered and never delivered: stale once its first interval has passed since registration
    never = replace(quiet, last_success_at=None, last_load=None, registered_at=NOW - dt.timedelta(seconds=599))
    assert run("source_stale", facts(sources=[never])) == []
    [n] = run("source_stale", facts(sources=[replace(never, registered_at=NOW - dt.timedelta(seconds=601))]))
    assert n.trigger_key.endswith(":never") and "从未送达" in n.description
