"""应急〔2018〕19号 rating with RiskGraph's dynamic factors, against hand-worked scores.

Weights (enterprise_rating.toml, the guide's wording in standards.md §2): 重大危险源 per level present
一级 10 / 二级 8 / 三级 6 / 四级 4, cap 10 · 物质危险性 2 per explosive or inhalation-toxic substance, 0.1 per other
key-supervised one, cap 5 · 危险化工工艺 2 each, cap 10 · 周边环境 outside park 3, distance not met 10, cap 10 ·
accidents (3 y): 较大+ 10, fatal 8, non-fatal fire/explosion/poisoning with social impact 5, cap 10 ·
标准化 +15/+5/+2 · five accident-free years +5 (only with the register known complete) · fire brigade +3 ·
alarms (90 d) 红 2 / 橙 1 / 黄 0.5 / 蓝 0.2, cap 10 · enforcement (365 d) 0.5 per finding, 2 per penalty +
0.2 per 10 000 元, cap 10 · overdue 一般 1 / 重大 3, cap 10 · open 重大隐患 5, cap 10 · rectification rate (365 d)
5 · (0.95 − rate) / 0.95 · credit 黑名单 10 / 联合惩戒 5 / 经营异常 2, cap 10. Bands ≥ 90 蓝, ≥ 75 黄, ≥ 60 橙,
else 红. Section caps: 物质 5, 工艺 10, 火灾爆炸 5, 周边 10, 设计 10, 设备 5, 自控 10, 人员 15, 管理 10, 绩效 10.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskgraph.reasoning.models.config import load_config
from riskgraph.reasoning.models.enterprise_rating import EnterpriseFacts, automatic_red, rate_enterprise
from riskgraph.reasoning.models.facts import (
    Accident,
    Alarm,
    CreditRecord,
    HiddenDanger,
    Inspection,
    LapsedCheck,
    LicenceFact,
    MajorHazard,
    Penalty,
    Process,
    SubstanceFact,
)
from riskgraph.reasoning.models.vocab import colour_rank

AS_OF = dt.date(2024, 6, 30)
CFG = load_config("enterprise_rating")
# An accident 4 years back: outside the 3-year deduction window, inside the 5-year bonus window, so
# neither deducts nor earns the accident-free bonus — it keeps the edge cases' arithmetic plain.
OLD_ACCIDENT = Accident(dt.date(2020, 8, 1), "GENERAL", 0, "acc:old")


# The bureau's accident register known complete since 2015: "no record" then means "no accident".
REGISTER = dt.date(2015, 1, 1)


def facts(**kw) -> EnterpriseFacts:
    kw.setdefault("accident_register_complete_since", REGISTER)
    return EnterpriseFacts(as_of=AS_OF, subject="ent:1", in_park=True, **kw)


def at(days_ago: int, hour: int = 10) -> dt.datetime:
    day = AS_OF - dt.timedelta(days=days_ago)
    return dt.datetime(day.year, day.month, day.day, hour)


def test_static_worked_example():
    # 二级 + 四级, per level present: 8 + 4 = 12 → cap 10; 2 distinct processes → 4; outside park → 3;
    # 标准化 二级 +5; no accident in 5 years, register complete → +5.  100 − 10 − 4 − 3 + 5 + 5 = 93 → 蓝
    r = rate_enterprise(dataclasses.replace(
        facts(major_hazards=(MajorHazard("L2", "mh:1"), MajorHazard("L4", "mh:2")),
              processes=(Process("03", "p:1"), Process("04", "p:2"), Process("03", "p:3")),
              standardisation="L2"),
        in_park=False))
    assert (r.method, r.score, r.level, r.colour) == ("mem-2018-19", 93, "低风险", "BLUE")
    mh = r.component("major_hazard")
    assert (mh.value, mh.weight, mh.contribution, mh.evidence) == (12, 10, -10, ("mh:1", "mh:2"))
    assert r.component("hazardous_process").contribution == -4
    assert r.component("hazardous_process").evidence == ("p:1", "p:2")  # 03 counted once
    assert r.component("surroundings").contribution == -3
    assert r.component("standardisation").contribution == 5
    assert r.component("accident_free").contribution == 5
    assert 100 + sum(c.contribution for c in r.components) == r.score


@pytest.mark.parametrize("levels, per_level, worst, per_source", [
    (("L4", "L4"), 96, 96, 92),          # one level present: −4; max −4; per source 4 + 4 = 8
    (("L3", "L4", "L4"), 90, 94, 90),    # 6 + 4 = 10; max 6; per source 6 + 4 + 4 = 14 → cap 10
    (("L2",), 92, 92, 92),
])
def test_major_hazard_deducts_per_level_present_by_default(levels, per_level, worst, per_source):
    # OLD_ACCIDENT keeps the accident-free bonus out of the arithmetic
    f = facts(major_hazards=tuple(MajorHazard(lv, f"mh:{i}") for i, lv in enumerate(levels)), accidents=(OLD_ACCIDENT,))
    assert rate_enterprise(f).score == per_level
    for rule, expected in (("max", worst), ("per-source", per_source)):
        cfg = CFG.with_overrides({"static": {"major_hazard": {"aggregate": rule}}})
        assert rate_enterprise(f, config=cfg).score == expected, rule
    # every source is evidence, even those of a level already counted
    assert rate_enterprise(f).component("major_hazard").evidence == tuple(f"mh:{i}" for i in range(len(levels)))


@pytest.mark.parametrize(
    "extra, score, colour",
    [
        # 一级 source only: 100 − 10 = 90 → 蓝 (≥ 90)
        ({}, 90, "BLUE"),
        # + one 蓝 alarm: 89.8 → 黄
        ({"alarms": (Alarm(at(5), "BLUE", evidence="al:1"),)}, 89.8, "YELLOW"),
        # + 5 processes (10) + outside park (3) + 2 overdue 一般 (2, deadlines > 365 d back: no rate term) = 75 → 黄
        ({"processes": tuple(Process(f"0{i}", f"p:{i}") for i in range(1, 6)), "in_park": False,
          "hidden_dangers": (HiddenDanger("GENERAL", "ASSIGNED", dt.date(2023, 1, 1), evidence="hd:1"),
                             HiddenDanger("GENERAL", "RECTIFYING", dt.date(2023, 2, 1), evidence="hd:2"))},
         75, "YELLOW"),
        # 5 processes (10) + surroundings 3 + 10 → cap 10 + 经营异常 2 + one overdue 重大 (3) + it is open (5):
        # 100 − 10 − 10 − 10 − 2 − 3 − 5 = 60 → 橙 (60 is the lower edge of 橙)
        ({"processes": tuple(Process(f"0{i}", f"p:{i}") for i in range(1, 6)), "in_park": False,
          "safety_distance_met": False, "credit_records": (CreditRecord("ABNORMAL", True, "cr:1"),),
          "hidden_dangers": (HiddenDanger("MAJOR", "ASSIGNED", dt.date(2023, 1, 1), evidence="hd:1"),)}, 60, "ORANGE"),
        # the same + one 黄 alarm: 59.5 → 红
        ({"processes": tuple(Process(f"0{i}", f"p:{i}") for i in range(1, 6)), "in_park": False,
          "safety_distance_met": False, "credit_records": (CreditRecord("ABNORMAL", True, "cr:1"),),
          "hidden_dangers": (HiddenDanger("MAJOR", "ASSIGNED", dt.date(2023, 1, 1), evidence="hd:1"),),
          "alarms": (Alarm(at(1), "YELLOW", evidence="al:1"),)}, 59.5, "RED"),
    ],
)
def test_band_edges(extra, score, colour):
    f = dataclasses.replace(facts(major_hazards=(MajorHazard("L1", "mh:1"),), accidents=(OLD_ACCIDENT,)), **extra)
    r = rate_enterprise(f)
    assert r.score == pytest.approx(score)
    assert r.colour == colour
    assert ("focused-inspection" in r.flags) == (score < 75)  # threshold 75: 75 itself is not flagged


def test_bonuses_cannot_lift_the_score_above_100():
    # 四级 −4; 标准化 一级 +15, five accident-free years +5, fire brigade +3: raw 119 → 100, flagged
    r = rate_enterprise(facts(major_hazards=(MajorHazard("L4", "mh:1"),), standardisation="L1", own_fire_brigade=True))
    assert r.details["raw_score"] == 119 and r.score == 100
    assert any(f.startswith("capped-at-100") for f in r.flags)


def test_dynamic_factors_worked_example():
    # alarms in 90 d: 3 红 (6) + 2 橙 (2) + 1 黄 (0.5) = 8.5; a 红 100 d back is outside the window
    alarms = (*(Alarm(at(i), "RED", evidence=f"al:r{i}") for i in (1, 2, 3)),
              *(Alarm(at(i), "ORANGE", evidence=f"al:o{i}") for i in (4, 5)),
              Alarm(at(6), "YELLOW", evidence="al:y"), Alarm(at(100), "RED", evidence="al:old"))
    # enforcement: 4 findings (2) + a 50 000 元 penalty (2 + 0.2·5 = 3) = 5
    inspections = (Inspection(AS_OF - dt.timedelta(days=30), 4, "insp:1"),)
    penalties = (Penalty(AS_OF - dt.timedelta(days=20), 50_000, "pen:1"),)
    # hidden dangers due in 365 d: hd:1 重大, open, overdue; hd:2 rectified; hd:3 verified → rate 2/3
    dangers = (HiddenDanger("MAJOR", "ASSIGNED", dt.date(2024, 5, 1), evidence="hd:1"),
               HiddenDanger("GENERAL", "RECTIFIED", dt.date(2024, 4, 15), dt.date(2024, 4, 1), evidence="hd:2"),
               HiddenDanger("GENERAL", "VERIFIED", dt.date(2024, 3, 1), dt.date(2024, 2, 20), evidence="hd:3"))
    r = rate_enterprise(facts(alarms=alarms, inspections=inspections, penalties=penalties, hidden_dangers=dangers))
    assert r.component("alarms").contribution == pytest.approx(-8.5)
    assert "al:old" not in r.evidence
    assert r.component("enforcement").contribution == pytest.approx(-5)
    assert r.component("overdue_hidden_dangers").contribution == -3
    assert r.component("open_major_hidden_dangers").contribution == -5
    # rate deduction = 5 · (0.95 − 2/3) / 0.95 = 1.491228…, charged to the unrectified hd:1
    rate = r.component("rectification_rate")
    assert rate.contribution == pytest.approx(-5 * (0.95 - 2 / 3) / 0.95)
    assert rate.evidence == ("hd:1",)
    # 100 − 8.5 − 5 − 3 − 5 − 1.491228 + 5 (no accident in 5 years) = 82.008772 → 黄
    assert r.score == pytest.approx(82.008772, abs=1e-6)
    assert r.colour == "YELLOW"


def test_caps_apply_per_project():
    alarms = tuple(Alarm(at(1), "RED", evidence=f"al:{i}") for i in range(8))  # 16 → cap 10
    r = rate_enterprise(facts(alarms=alarms, accidents=(OLD_ACCIDENT,)))
    assert (r.component("alarms").value, r.component("alarms").contribution, r.score) == (16, -10, 90)


def test_lapsed_checks_deduct_per_check_within_their_window_up_to_the_cap():
    spec = CFG["dynamic"]["lapsed_checks"]
    recent = tuple(LapsedCheck(AS_OF - dt.timedelta(days=d), f"TK-1@{d}") for d in range(1, 11))  # 10 in the window
    old = (LapsedCheck(AS_OF - dt.timedelta(days=spec["window_days"] + 1), "TK-1@old"),)
    r = rate_enterprise(facts(lapsed_checks=recent + old, accidents=(OLD_ACCIDENT,)))
    part = r.component("lapsed_checks")
    assert part.value == pytest.approx(10 * spec["per_check"]) and "TK-1@old" not in part.evidence
    assert r.score == pytest.approx(100 - 10 * spec["per_check"])
    many = tuple(LapsedCheck(AS_OF - dt.timedelta(days=d % 30), f"TK-{d}@x") for d in range(200))
    assert rate_enterprise(facts(lapsed_checks=many, accidents=(OLD_ACCIDENT,))).component("lapsed_checks").contribution == -spec["cap"]


@pytest.mark.parametrize(
    "accidents, rule",
    [
        ((Accident(dt.date(2022, 6, 30), "MAJOR", 12, "acc:1"),), "major-accident"),
        ((Accident(dt.date(2021, 6, 30), "EXTRA", 35, "acc:1"),), "major-accident"),  # exactly 3 years: inclusive
        ((Accident(dt.date(2022, 1, 1), "LARGER", 3, "acc:1"), Accident(dt.date(2023, 1, 1), "LARGER", 4, "acc:2")),
         "larger-accidents"),
        ((Accident(dt.date(2023, 9, 1), "GENERAL", 1, "acc:1"), Accident(dt.date(2024, 3, 1), "GENERAL", 2, "acc:2")),
         "fatal-accidents"),
    ],
)
def test_automatic_red_rules(accidents, rule):
    r = rate_enterprise(facts(accidents=accidents))
    assert r.colour == "RED" and r.level == "重大风险"
    assert f"auto-red:{rule}" in r.flags and "focused-inspection" in r.flags
    assert r.score >= 80  # the score itself is not red: the rule is what makes the colour


@pytest.mark.parametrize(
    "accidents",
    [
        (Accident(dt.date(2021, 6, 29), "MAJOR", 12, "acc:1"),),  # 3 years and a day back
        (Accident(dt.date(2023, 1, 1), "LARGER", 3, "acc:1"),),   # one 较大 only
        (Accident(dt.date(2023, 6, 1), "GENERAL", 1, "acc:1"), Accident(dt.date(2024, 3, 1), "GENERAL", 2, "acc:2")),
    ],
)
def test_automatic_red_rules_do_not_fire_short_of_their_condition(accidents):
    assert automatic_red(facts(accidents=accidents)) == ()


def test_other_automatic_red_conditions_when_the_input_carries_them():
    f = dataclasses.replace(facts(), unqualified_special_operators=True, untested_new_process=True,
                            plant_without_formal_design=True)
    assert automatic_red(f) == ("unqualified-special-operators", "untested-new-process", "plant-without-formal-design")
    assert automatic_red(dataclasses.replace(facts(), unqualified_special_operators=None)) == ()


def test_unknown_codes_are_flagged_not_fatal_and_unknown_park_is_flagged():
    r = rate_enterprise(dataclasses.replace(facts(alarms=(Alarm(at(1), "PURPLE", evidence="al:1"),)), in_park=None))
    assert "unknown-alarm-level:PURPLE:al:1" in r.flags and "in-park-unknown" in r.flags
    assert r.component("alarms") is None


# ---------------------------------------------------------------- properties
day_st = st.integers(min_value=0, max_value=6 * 365).map(lambda d: AS_OF - dt.timedelta(days=d))
alarm_st = st.builds(lambda d, lvl, i: Alarm(dt.datetime.combine(d, dt.time(9)), lvl, evidence=f"al:{i}"),
                     day_st, st.sampled_from(["RED", "ORANGE", "YELLOW", "BLUE"]), st.integers())
accident_st = st.builds(lambda d, g, n, i: Accident(d, g, n, f"acc:{i}"), day_st,
                        st.sampled_from(["GENERAL", "LARGER", "MAJOR", "EXTRA"]), st.integers(0, 5), st.integers())
danger_st = st.builds(
    lambda g, s, deadline, rect, i: HiddenDanger(g, s, deadline, rect, evidence=f"hd:{i}"),
    st.sampled_from(["GENERAL", "MAJOR"]), st.sampled_from(["REPORTED", "ASSIGNED", "RECTIFYING", "RECTIFIED", "VERIFIED"]),
    st.one_of(st.none(), day_st), st.one_of(st.none(), day_st), st.integers())
facts_st = st.builds(
    lambda mh, pr, park, std, acc, al, dangers, cr, pens: EnterpriseFacts(
        as_of=AS_OF, subject="ent:1", major_hazards=tuple(MajorHazard(lbl, f"mh:{i}") for i, lbl in enumerate(mh)),
        processes=tuple(Process(p, f"p:{p}") for p in pr), in_park=park, standardisation=std, accidents=tuple(acc),
        alarms=tuple(al), hidden_dangers=tuple(dangers), credit_records=tuple(cr), penalties=tuple(pens)),
    st.lists(st.sampled_from(["L1", "L2", "L3", "L4"]), max_size=3),
    st.lists(st.sampled_from(["01", "03", "05", "08", "10"]), max_size=4, unique=True),
    st.one_of(st.none(), st.booleans()),
    st.one_of(st.none(), st.sampled_from(["L1", "L2", "L3"])),
    st.lists(accident_st, max_size=3), st.lists(alarm_st, max_size=6), st.lists(danger_st, max_size=5),
    st.lists(st.builds(lambda t, a, i: CreditRecord(t, a, f"cr:{i}"),
                       st.sampled_from(["BLACKLIST", "JOINT_PUNISHMENT", "ABNORMAL"]), st.booleans(), st.integers()),
             max_size=2),
    st.lists(st.builds(lambda d, amt, i: Penalty(d, amt, f"pen:{i}"), day_st, st.floats(0, 1e6), st.integers()),
             max_size=2),
)
overdue_st = st.builds(
    lambda g, s, days: HiddenDanger(g, s, AS_OF - dt.timedelta(days=days), None, evidence="hd:new"),
    st.sampled_from(["GENERAL", "MAJOR"]), st.sampled_from(["REPORTED", "ASSIGNED", "RECTIFYING"]), st.integers(1, 800))
worsening_st = st.one_of(
    alarm_st.map(lambda a: ("alarms", a)),
    accident_st.map(lambda a: ("accidents", a)),
    overdue_st.map(lambda h: ("hidden_dangers", h)),
    st.builds(lambda d, amt: ("penalties", Penalty(d, amt, "pen:new")), day_st, st.floats(0, 1e6)),
    st.builds(lambda d, n: ("inspections", Inspection(d, n, "insp:new")), day_st, st.integers(0, 30)),
    st.sampled_from(["BLACKLIST", "JOINT_PUNISHMENT", "ABNORMAL"]).map(lambda t: ("credit_records", CreditRecord(t, True, "cr:new"))),
    st.sampled_from(["L1", "L2", "L3", "L4"]).map(lambda lbl: ("major_hazards", MajorHazard(lbl, "mh:new"))),
)


@settings(max_examples=150, deadline=None)
@given(facts_st, worsening_st)
def test_a_worse_input_never_yields_a_better_score_or_colour(f, worsening):
    field, fact = worsening
    worse = dataclasses.replace(f, **{field: (*getattr(f, field), fact)})
    before, after = rate_enterprise(f), rate_enterprise(worse)
    assert after.score <= before.score
    assert colour_rank(after.colour) >= colour_rank(before.colour)


@settings(max_examples=100, deadline=None)
@given(facts_st)
def test_score_in_range_and_components_add_up(f):
    r = rate_enterprise(f)
    assert 0 <= r.score <= 100
    assert r.details["raw_score"] == pytest.approx(CFG["base"] + sum(c.contribution for c in r.components))
    for c in r.components:
        if c.weight is not None:  # a capped project never takes more than its cap
            assert -c.weight - 1e-9 <= c.contribution <= 0


@settings(max_examples=100, deadline=None)
@given(facts_st, st.data())
def test_removing_an_alarm_removes_its_evidence_and_never_lowers_the_score(f, data):
    if not f.alarms:
        return
    gone = data.draw(st.sampled_from(f.alarms))
    less = dataclasses.replace(f, alarms=tuple(a for a in f.alarms if a is not gone))
    full_r, less_r = rate_enterprise(f), rate_enterprise(less)
    if all(a.evidence != gone.evidence for a in less.alarms):
        assert gone.evidence not in less_r.evidence
    assert less_r.score >= full_r.score
    before = full_r.component("alarms")
    after = less_r.component("alarms")
    unique = all(a.evidence != gone.evidence for a in less.alarms)  # drawn ids may repeat
    if before is not None and unique and gone.evidence in before.evidence:
        assert after is None or after.value == pytest.approx(before.value - CFG["dynamic"]["alarms"]["per_alarm"][gone.level])


# ---------------------------------------------------------------- unknown is never safe
def test_nothing_known_is_not_full_marks():
    # No inventory, no finding, register not known complete. Assessed: 重大危险源 (none filed), 危险化工工艺
    # (none listed), in a park. Open: 物质 5 + 火灾爆炸 5 + 周边 10 (distance) + 设计 10 + 设备 5 + 自控 10 +
    # 人员 15 + 管理 10 + 绩效 10 (unrecorded accidents) = 80 → score 100 over what is known, range [20, 100].
    f = facts(accident_register_complete_since=None)
    r = rate_enterprise(f)
    assert r.score == 100 and r.details["open_points"] == 80
    assert r.details["score_range"] == [20, 100] and r.details["colour_range"] == ["RED", "BLUE"]
    assert r.details["assessed_points"] == 100 - 80
    status = {k: v["status"] for k, v in r.details["sections"].items()}
    assert status == {"major_hazard": "assessed", "substances": "not-assessed", "hazardous_process": "assessed",
                      "fire_explosion": "not-assessed", "surroundings": "evidence", "design": "evidence",
                      "equipment": "evidence", "controls": "evidence", "personnel": "evidence",
                      "management": "evidence", "performance": "evidence"}
    assert "not-assessed:火灾爆炸危险性 (0 to −5)" in r.flags and "not-assessed:物质危险性 (0 to −5)" in r.flags
    assert "partly-assessed:人员资质 (−0 found, up to −15 more not known)" in r.flags
    # the three automatic-红 conditions nothing decides are flagged, not taken as "not the case"
    assert {"auto-red-unknown:unqualified-special-operators", "auto-red-unknown:untested-new-process",
            "auto-red-unknown:plant-without-formal-design"} <= set(r.flags)
    # no accident on record is not no accident: no +5, and the flag says why
    assert r.component("accident_free") is None and any(fl.startswith("accident-free-unknown") for fl in r.flags)
    # unlisted hazardous processes: another 10 open → range [10, 100]
    unknown_processes = rate_enterprise(dataclasses.replace(f, processes_known=False))
    assert unknown_processes.details["score_range"] == [10, 100]
    # "lower-bound" colour basis: the band of 20 → 红
    worst = CFG.with_overrides({"colour_basis": "lower-bound"})
    assert rate_enterprise(f, config=worst).colour == "RED"


def test_substances_from_inventories():
    # 氯 (表3 gas) −2, 光气 (表3) −2, TNT (W1.1, explosive) −2 → 6 → cap 5; 甲苯 key-supervised −0.1 (not counted
    # once the cap is reached); counted once per substance even when two units hold it
    held = (SubstanceFact("液氯", "7782-50-5", "J3", "inv:1"), SubstanceFact("液氯", "7782-50-5", "J3", "inv:2"),
            SubstanceFact("光气", "75-44-5", None, "inv:3"), SubstanceFact("梯恩梯", "118-96-7", None, "inv:4"),
            SubstanceFact("甲苯", "108-88-3", "W5.3", "inv:5"), SubstanceFact("丙酮", "67-64-1", "W5.3", "inv:6"))
    r = rate_enterprise(facts(substances=held, accidents=(OLD_ACCIDENT,)))
    c = r.component("substances")
    assert (c.value, c.contribution) == (pytest.approx(6.1), -5) and "inv:2" not in c.evidence
    # 甲苯 and 乙酸乙酯 (both key-supervised, neither explosive nor inhalation-toxic) and 丙酮 (neither): −0.2
    light = rate_enterprise(facts(substances=held[4:] + (SubstanceFact("乙酸乙酯", "141-78-6", "W5.3", "inv:7"),),
                                  accidents=(OLD_ACCIDENT,)))
    assert light.component("substances").contribution == pytest.approx(-0.2)
    assert light.details["sections"]["substances"]["status"] == "assessed"


@pytest.mark.parametrize("accident, deducted, opened", [
    (Accident(dt.date(2023, 5, 1), "GENERAL", 1, "acc:1", "03"), 8, 0),     # 1 death, 一般: −8
    (Accident(dt.date(2023, 5, 1), "GENERAL", 2, "acc:1", "19"), 8, 0),     # 2 deaths: −8
    (Accident(dt.date(2023, 5, 1), "LARGER", 3, "acc:1", "17"), 10, 0),     # 较大: −10
    (Accident(dt.date(2023, 5, 1), "GENERAL", 0, "acc:1", "08"), 0, 5),     # non-fatal fire: social impact not known
    (Accident(dt.date(2023, 5, 1), "GENERAL", 0, "acc:1", "03"), 0, 0),     # non-fatal 机械伤害: nothing
])
def test_accident_deductions_follow_the_guide(accident, deducted, opened):
    r = rate_enterprise(facts(accidents=(accident,)))
    section = r.details["sections"]["performance"]
    assert (section["deducted"], section["open"]) == (deducted, opened)
    assert r.details["open_points"] == rate_enterprise(facts()).details["open_points"] + opened
    deduct = CFG.with_overrides({"static": {"performance": {"social_impact_unknown": "deduct"}}})
    assert rate_enterprise(facts(accidents=(accident,)), config=deduct).details["sections"]["performance"]["deducted"] \
        == deducted + opened


def test_accident_free_bonus_needs_a_complete_register():
    # register complete since 2015 covers the five years back from 2024-06-30: +5
    assert rate_enterprise(facts()).component("accident_free").contribution == 5
    # complete only since 2020: the five-year window (from 2019-06-30) is not covered → no bonus, open
    late = rate_enterprise(facts(accident_register_complete_since=dt.date(2020, 1, 1)))
    assert late.component("accident_free") is None and late.details["open_bonus"] == 5
    # the bureau can state it in the configuration instead of the facts
    cfg = CFG.with_overrides({"static": {"accident_free": {"register_complete_since": "2018-01-01"}}})
    assert rate_enterprise(facts(accident_register_complete_since=None), config=cfg).component("accident_free")


def test_findings_feed_sections_and_automatic_red():
    open_ = "ASSIGNED"
    dangers = (
        HiddenDanger("MAJOR", open_, description="特种作业人员未持证上岗", evidence="hd:2"),           # 121号 第2项
        HiddenDanger("MAJOR", open_, description="涉及危险化工工艺的装置未实现自动化控制", evidence="hd:4"),  # 第4项
        HiddenDanger("MAJOR", "VERIFIED", description="在役化工装置未经正规设计且未进行安全设计诊断", evidence="hd:10"),
    )
    r = rate_enterprise(facts(hidden_dangers=dangers, accidents=(OLD_ACCIDENT,)))
    assert r.component("personnel").contribution == -5 and r.component("personnel").evidence == ("hd:2",)
    assert r.component("controls").contribution == -5
    assert r.colour == "RED" and "auto-red:unqualified-special-operators" in r.flags
    # the closed 第10项 danger no longer evidences a plant without formal design: still unknown
    assert "auto-red-unknown:plant-without-formal-design" in r.flags
    assert "auto-red-unknown:unqualified-special-operators" not in r.flags
    # the external safety distance finding (第3项) decides the item: −10, and the section is assessed
    far = rate_enterprise(facts(hidden_dangers=(
        HiddenDanger("MAJOR", open_, description="储罐区外部安全防护距离不符合国家标准要求", evidence="hd:3"),)))
    assert far.component("surroundings").contribution == -10
    assert far.details["sections"]["surroundings"]["status"] == "assessed"
    # a penalty for unqualified special operators within a year: −3 人员资质 and 红
    pen = Penalty(AS_OF - dt.timedelta(days=40), 10_000, "pen:1",
                  "特种作业人员未按照规定经专门的安全作业培训并取得相应资格上岗作业")
    p = rate_enterprise(facts(penalties=(pen,)))
    assert p.component("personnel").contribution == -3 and "auto-red:unqualified-special-operators" in p.flags


def test_unmonitored_major_hazards_and_expired_certificates():
    # 2 major sources, one without a sensor: 自控 −2; an expired special-operation certificate: 人员 −2
    r = rate_enterprise(facts(
        major_hazards=(MajorHazard("L3", "mh:1", monitored=False), MajorHazard("L3", "mh:2", monitored=True)),
        licences=(LicenceFact("SPECIAL_OPERATION", dt.date(2023, 12, 31), "lic:1"),
                  LicenceFact("SPECIAL_OPERATION", dt.date(2025, 1, 1), "lic:2"))))
    assert r.component("controls").contribution == -2 and r.component("controls").evidence == ("mh:1",)
    assert r.component("personnel").contribution == -2 and r.component("personnel").evidence == ("lic:1",)


def test_an_active_blacklist_or_joint_punishment_listing_makes_the_rating_red():
    for kind in ("BLACKLIST", "JOINT_PUNISHMENT"):
        listed = facts(credit_records=(CreditRecord(kind, True, "cr:1"),))
        r = rate_enterprise(listed)
        assert r.colour == "RED" and "auto-red:credit-listing" in r.flags and r.score >= 90
        # the bureau's rule holds outside the guide's scope too (dynamic-only rating)
        assert rate_enterprise(listed, static=False).colour == "RED"
    # a listing removed from the list (inactive) or an 经营异常 entry does not
    assert rate_enterprise(facts(credit_records=(CreditRecord("BLACKLIST", False, "cr:1"),))).colour == "BLUE"
    assert "auto-red:credit-listing" not in rate_enterprise(facts(credit_records=(CreditRecord("ABNORMAL", True, "c"),))).flags


def test_dynamic_only_scope_reports_no_guide_sections():
    r = rate_enterprise(facts(accident_register_complete_since=None), static=False)
    assert r.details["sections"] == {} and r.details["open_points"] == 0 and r.score == 100
    assert not any(f.startswith(("not-assessed", "partly-assessed", "auto-red-unknown")) for f in r.flags)
