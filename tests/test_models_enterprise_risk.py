"""Enterprise residual risk and supervision tags, against hand-worked values.

Weights (enterprise_risk.toml): inherent points 一级 40 / 二级 30 / 三级 20 / 四级 10 (cap 60);
risk points 红 10 / 橙 4 / 黄 1 / 蓝 0.2 (cap 40); ponds 危库 60 / 险库 40 / 病库 20 / 正常库 5 (cap 60);
processes 6 each (cap 30); I ≤ 100. Controls: w = 0.3 rectification, 0.3 on time, 0.2 alarm handling rate,
0.2 handling time (1 at ≤ 1 h, 0 at ≥ 24 h); R = I · (1 − 0.5 · E). Bands ≥ 60 红, ≥ 40 橙, ≥ 20 黄, else 蓝.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskgraph.reasoning.models.enterprise_risk import assess_enterprise_risk, supervision_tags
from riskgraph.reasoning.models.facts import (
    Alarm,
    CreditRecord,
    EnterpriseFacts,
    HiddenDanger,
    MajorHazard,
    Process,
    RiskPointFact,
    TailingsPondFact,
)
from riskgraph.reasoning.models.vocab import colour_rank

AS_OF = dt.date(2024, 6, 30)


def t(days_ago: int, hours: float = 0.0) -> dt.datetime:
    return dt.datetime.combine(AS_OF - dt.timedelta(days=days_ago), dt.time(8)) + dt.timedelta(hours=hours)


def test_worked_example():
    # I: 一级 40 + 三级 20 = 60 (cap 60); risk points 2·10 + 4 + 5·0.2 = 25; processes 2·6 = 12 → I = 97
    # controls: 4 dangers due, 3 rectified (rate 0.75), 2 on time (0.5); 4 alarms, 3 handled (0.75) after
    # 0.5, 1 and 4.5 h → mean 2 h → time score (24 − 2) / (24 − 1) = 22/23
    # E = 0.3·0.75 + 0.3·0.5 + 0.2·0.75 + 0.2·22/23 = 0.716304…; R = 97 · (1 − 0.5·E) = 62.259… → 红
    dangers = (
        HiddenDanger("GENERAL", "VERIFIED", dt.date(2024, 3, 1), dt.date(2024, 2, 1), evidence="hd:1"),
        HiddenDanger("GENERAL", "RECTIFIED", dt.date(2024, 4, 1), dt.date(2024, 4, 1), evidence="hd:2"),
        HiddenDanger("GENERAL", "RECTIFIED", dt.date(2024, 5, 1), dt.date(2024, 5, 9), evidence="hd:3"),
        HiddenDanger("MAJOR", "RECTIFYING", dt.date(2024, 6, 1), evidence="hd:4"),
    )
    alarms = (Alarm(t(3), "RED", t(3, 0.5), "al:1"), Alarm(t(4), "YELLOW", t(4, 1), "al:2"),
              Alarm(t(5), "ORANGE", t(5, 4.5), "al:3"), Alarm(t(6), "BLUE", None, "al:4"))
    f = EnterpriseFacts(
        as_of=AS_OF, subject="ent:1",
        major_hazards=(MajorHazard("L1", "mh:1"), MajorHazard("L3", "mh:2")),
        risk_points=(RiskPointFact("RED", "rp:1"), RiskPointFact("RED", "rp:2"), RiskPointFact("ORANGE", "rp:3"),
                     *(RiskPointFact("BLUE", f"rp:b{i}") for i in range(5))),
        processes=(Process("03", "p:1"), Process("08", "p:2")), hidden_dangers=dangers, alarms=alarms)
    r = assess_enterprise_risk(f)
    e = 0.3 * 0.75 + 0.3 * 0.5 + 0.2 * 0.75 + 0.2 * 22 / 23
    assert r.details["inherent"] == pytest.approx(97)
    assert r.details["effectiveness"] == pytest.approx(e)
    assert r.score == pytest.approx(97 * (1 - 0.5 * e)) and r.score == pytest.approx(62.2593, abs=1e-4)
    assert (r.level, r.colour) == ("重大风险", "RED")
    assert sum(c.contribution for c in r.components) == pytest.approx(r.score)
    assert r.component("risk_points").value == pytest.approx(25)
    assert r.component("on_time_rate").value == 0.5
    assert r.component("alarm_handling_time").value == pytest.approx(22 / 23)


@pytest.mark.parametrize(
    "levels, residual, colour",
    [(("L1", "L3"), 60, "RED"), (("L1",), 40, "ORANGE"), (("L3",), 20, "YELLOW"), (("L4",), 10, "BLUE")],
)
def test_band_edges_without_control_data(levels, residual, colour):
    # no control data: E = 0 (flagged) → R = I
    f = EnterpriseFacts(as_of=AS_OF, major_hazards=tuple(MajorHazard(lbl, f"mh:{lbl}") for lbl in levels))
    r = assess_enterprise_risk(f)
    assert (r.score, r.colour) == (residual, colour)
    assert "control-no-data" in r.flags


def test_perfect_control_halves_inherent_risk():
    # I = 60; one danger rectified on time, one alarm handled within the hour → E = 1 → R = 30 → 黄
    f = EnterpriseFacts(
        as_of=AS_OF, major_hazards=(MajorHazard("L1", "mh:1"), MajorHazard("L3", "mh:2")),
        hidden_dangers=(HiddenDanger("GENERAL", "VERIFIED", dt.date(2024, 5, 1), dt.date(2024, 4, 20), evidence="hd:1"),),
        alarms=(Alarm(t(1), "RED", t(1, 0.25), "al:1"),))
    r = assess_enterprise_risk(f)
    assert r.details["effectiveness"] == 1.0 and r.score == 30 and r.colour == "YELLOW"


def test_inherent_risk_is_capped_and_scaled():
    # ponds 危库 60 + 正常库 5 → cap 60; 一级 + 二级 = 70 → cap 60; 2 红 risk points 20 → 140 → I = 100
    f = EnterpriseFacts(
        as_of=AS_OF, tailings_ponds=(TailingsPondFact("DANGER", "tp:1"), TailingsPondFact("NORMAL", "tp:2")),
        major_hazards=(MajorHazard("L1", "mh:1"), MajorHazard("L2", "mh:2")),
        risk_points=(RiskPointFact("RED", "rp:1"), RiskPointFact("RED", "rp:2")))
    r = assess_enterprise_risk(f)
    assert r.details["inherent"] == 100 and "inherent-capped-at-100" in r.flags
    assert r.component("tailings_ponds").contribution == pytest.approx(60 * 100 / 140)
    assert sum(c.contribution for c in r.components) == pytest.approx(100)


def test_supervision_tags():
    f = EnterpriseFacts(
        as_of=AS_OF,
        major_hazards=(MajorHazard("L1", "mh:1"), MajorHazard("L3", "mh:2")),
        processes=(Process("03", "p:1"),),
        tailings_ponds=(TailingsPondFact("DANGER", "tp:1"), TailingsPondFact("RISK", "tp:2"),
                        TailingsPondFact("NORMAL", "tp:3")),
        credit_records=(CreditRecord("BLACKLIST", True, "cr:1"), CreditRecord("JOINT_PUNISHMENT", False, "cr:2"),
                        CreditRecord("ABNORMAL", True, "cr:3")),
        risk_points=(RiskPointFact("RED", "rp:1"), RiskPointFact("YELLOW", "rp:2")),
        hidden_dangers=(HiddenDanger("MAJOR", "ASSIGNED", dt.date(2024, 6, 1), evidence="hd:1"),
                        HiddenDanger("GENERAL", "VERIFIED", dt.date(2024, 1, 1), evidence="hd:2")),
    )
    tags = {tag.code: tag for tag in supervision_tags(f)}
    assert set(tags) == {"KEY_SUPERVISION", "MAJOR_HAZARD", "MAJOR_HAZARD_L1", "HAZARDOUS_PROCESS", "TAILINGS_POND",
                         "DANGER_POND", "RISK_POND", "BLACKLIST", "ABNORMAL", "RED_RISK_POINT",
                         "OVERDUE_HIDDEN_DANGER", "OPEN_MAJOR_HIDDEN_DANGER"}
    assert tags["MAJOR_HAZARD_L1"].evidence == ("mh:1",) and tags["MAJOR_HAZARD_L1"].label == "一级重大危险源"
    assert tags["KEY_SUPERVISION"].evidence == ("mh:1", "mh:2", "p:1")
    assert tags["DANGER_POND"].label == "危库"
    assert supervision_tags(EnterpriseFacts(as_of=AS_OF)) == ()


# ---------------------------------------------------------------- properties
facts_st = st.builds(
    lambda mh, rp, tp, pr, dangers, alarms: EnterpriseFacts(
        as_of=AS_OF, major_hazards=tuple(MajorHazard(lbl, f"mh:{i}") for i, lbl in enumerate(mh)),
        risk_points=tuple(RiskPointFact(c, f"rp:{i}") for i, c in enumerate(rp)),
        tailings_ponds=tuple(TailingsPondFact(c, f"tp:{i}") for i, c in enumerate(tp)),
        processes=tuple(Process(p, f"p:{p}") for p in pr), hidden_dangers=tuple(dangers), alarms=tuple(alarms)),
    st.lists(st.sampled_from(["L1", "L2", "L3", "L4"]), max_size=3),
    st.lists(st.sampled_from(["RED", "ORANGE", "YELLOW", "BLUE"]), max_size=8),
    st.lists(st.sampled_from(["DANGER", "RISK", "ILL", "NORMAL"]), max_size=2),
    st.lists(st.sampled_from(["01", "03", "05"]), max_size=3, unique=True),
    st.lists(st.builds(lambda dl, i: HiddenDanger("GENERAL", "ASSIGNED", AS_OF - dt.timedelta(days=dl), None,
                                                 evidence=f"hd:{i}"),
                       st.integers(0, 300), st.integers()), max_size=4),
    st.lists(st.builds(lambda d, h, handled, i: Alarm(t(d), "RED", t(d, h) if handled else None, f"al:{i}"),
                       st.integers(0, 300), st.floats(0, 48), st.booleans(), st.integers()), max_size=4),
)
hazard_st = st.one_of(
    st.sampled_from(["L1", "L2", "L3", "L4"]).map(lambda lbl: ("major_hazards", MajorHazard(lbl, "mh:new"))),
    st.sampled_from(["RED", "ORANGE", "YELLOW", "BLUE"]).map(lambda c: ("risk_points", RiskPointFact(c, "rp:new"))),
    st.sampled_from(["DANGER", "RISK", "ILL", "NORMAL"]).map(lambda c: ("tailings_ponds", TailingsPondFact(c, "tp:new"))),
)


@settings(max_examples=100, deadline=None)
@given(facts_st)
def test_residual_in_range_and_components_add_up(f):
    r = assess_enterprise_risk(f)
    assert 0 <= r.score <= r.details["inherent"] <= 100
    assert 0 <= r.details["effectiveness"] <= 1
    assert sum(c.contribution for c in r.components) == pytest.approx(r.score, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(facts_st, hazard_st)
def test_adding_a_hazard_never_lowers_residual_risk(f, hazard):
    field, fact = hazard
    worse = dataclasses.replace(f, **{field: (*getattr(f, field), fact)})
    before, after = assess_enterprise_risk(f), assess_enterprise_risk(worse)
    assert after.score >= before.score - 1e-9
    assert colour_rank(after.colour) >= colour_rank(before.colour)


@settings(max_examples=100, deadline=None)
@given(facts_st, st.data())
def test_rectifying_a_danger_on_time_never_raises_residual_risk(f, data):
    if not f.hidden_dangers:
        return
    i = data.draw(st.integers(0, len(f.hidden_dangers) - 1))
    h = f.hidden_dangers[i]
    fixed = dataclasses.replace(h, state="VERIFIED", rectified_on=h.deadline)
    better = dataclasses.replace(f, hidden_dangers=(*f.hidden_dangers[:i], fixed, *f.hidden_dangers[i + 1:]))
    assert assess_enterprise_risk(better).score <= assess_enterprise_risk(f).score + 1e-9
