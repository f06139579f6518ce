"""时度 risk per disaster group and period, against hand-worked values.

Shipped parameters (temporal.toml): no recency decay, prior 0.5 events spread over the k periods of a
year, prior 1 year; severity floor 0.1 + 0.9 · (0.5·deaths + 0.3·affected + 0.2·loss) on ln(1 + x) / ln(1 + ref)
with refs 10 deaths, 100 000 affected, 10 000 万元; group-mean prior weight 1; exposure 0.6·population
(ref 1 000 000) + 0.4·disaster points (ref 200); score = 10 · P^0.4 · S^0.3 · E^0.3.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskgraph.reasoning.models.config import load_config
from riskgraph.reasoning.models.temporal import DisasterEventFact, Exposure, temporal_risk

CFG = load_config("temporal")
FULL = Exposure(population=1_000_000, disaster_points=200, evidence=("region:330102",))  # E = 1
EVENTS = [
    DisasterEventFact(dt.date(2019, 7, 3), "洪涝", evidence="ev:1"),                 # severity = floor 0.1
    DisasterEventFact(dt.date(2020, 7, 10), "FLOOD", evidence="ev:2"),               # 0.1
    DisasterEventFact(dt.date(2021, 8, 1), "干旱", deaths=10, evidence="ev:3"),      # 0.1 + 0.9·0.5 = 0.55
]
YEARS = (2019, 2023)  # 5 years observed


def test_monthly_profile_worked_example():
    # all three are 水旱 (FLOOD_DROUGHT); group mean severity = (0.1 + 0.1 + 0.55) / 3 = 0.25
    # July: 2 events. rate = (2 + 0.5/12) / (5 + 1) = 0.340278; P = 1 − e^−rate = 0.288427
    #       S = (0.1 + 0.1 + 1·0.25) / (2 + 1) = 0.15; seasonality = 12 · 2/3 = 8
    #       score = 10 · 0.288427^0.4 · 0.15^0.3 · 1 = 3.4422 → 中 (2.5 ≤ x < 5)
    # Aug:  rate = (1 + 0.5/12) / 6 = 0.173611; P = 0.159376; S = (0.55 + 0.25) / 2 = 0.4; season 4
    #       score = 10 · 0.159376^0.4 · 0.4^0.3 = 3.6441
    # Jan:  rate = (0.5/12) / 6 = 0.006944; P = 0.006920; S = 0.25 (the group mean alone); season 0
    #       score = 10 · 0.006920^0.4 · 0.25^0.3 = 0.9025 → 低
    months = temporal_risk(EVENTS, FULL, by="month", years=YEARS)
    assert list(months) == ["FLOOD_DROUGHT"]
    jan, jul, aug = months["FLOOD_DROUGHT"][0], months["FLOOD_DROUGHT"][6], months["FLOOD_DROUGHT"][7]
    assert jul.method == "temporal-seasonal" and jul.parameters["period"] == 7
    assert jul.details["rate_per_year"] == pytest.approx(0.340278, abs=1e-6)
    assert jul.details["chance"] == pytest.approx(0.288427, abs=1e-6)
    assert (jul.details["severity"], jul.details["seasonality"], jul.details["exposure"]) == \
        (pytest.approx(0.15), 8, 1)
    assert jul.score == pytest.approx(3.4422, abs=1e-4) and (jul.level, jul.colour) == ("中", "YELLOW")
    assert aug.score == pytest.approx(3.6441, abs=1e-4) and aug.details["seasonality"] == 4
    assert jan.score == pytest.approx(0.9025, abs=1e-4) and jan.level == "低"
    assert jul.evidence == ("ev:1", "ev:2", "region:330102")
    assert math.prod(c.contribution for c in jul.components if c.weight is not None) * 10 == pytest.approx(jul.score)
    assert sum(r.details["seasonality"] for r in months["FLOOD_DROUGHT"]) == pytest.approx(12)


def test_quarterly_and_yearly_views():
    # Q3 holds all 3 events: rate = (3 + 0.5/4) / 6 = 0.520833; seasonality = 4 · 3/3 = 4
    q3 = temporal_risk(EVENTS, FULL, by="quarter", years=YEARS)["FLOOD_DROUGHT"][2]
    assert q3.details["rate_per_year"] == pytest.approx(0.520833, abs=1e-6) and q3.details["seasonality"] == 4
    # by year: 2019 has 1 event → rate = (1 + 0.5) / (1 + 1) = 0.75, P = 1 − e^−0.75 = 0.527633;
    # 2022 has none → rate = 0.5 / 2 = 0.25, P = 0.221199
    years = {r.parameters["period"]: r for r in temporal_risk(EVENTS, FULL, by="year", years=YEARS)["FLOOD_DROUGHT"]}
    assert sorted(years) == [2019, 2020, 2021, 2022, 2023]
    assert years[2019].details["chance"] == pytest.approx(0.527633, abs=1e-6)
    assert years[2022].details["chance"] == pytest.approx(0.221199, abs=1e-6)
    assert years[2019].details["seasonality"] is None


def test_recency_weighting_is_a_parameter():
    # half-life 1 year, last year 2023: weights 2019…2023 = 1/16, 1/8, 1/4, 1/2, 1 (Σ 1.9375)
    # July count = 1/16 + 1/8 = 0.1875; rate = (0.1875 + 0.5/12) / (1.9375 + 1) = 0.078014
    cfg = CFG.with_overrides({"frequency": {"half_life_years": 1.0}})
    jul = temporal_risk(EVENTS, FULL, by="month", years=YEARS, config=cfg)["FLOOD_DROUGHT"][6]
    assert jul.details["rate_per_year"] == pytest.approx(0.078014, abs=1e-6)


def test_exposure_and_groups():
    # population 0 → 0; 200 points → 1: E = 0.6·0 + 0.4·1 = 0.4; nobody and nothing exposed → score 0
    assert temporal_risk(EVENTS, Exposure(0, 200), years=YEARS)["FLOOD_DROUGHT"][6].details["exposure"] == \
        pytest.approx(0.4)
    assert temporal_risk(EVENTS, Exposure(0, 0), years=YEARS)["FLOOD_DROUGHT"][6].score == 0
    mixed = EVENTS + [DisasterEventFact(dt.date(2020, 5, 1), "暴雨", evidence="ev:4"),
                      DisasterEventFact(dt.date(2021, 4, 1), "滑坡", evidence="ev:5"),
                      DisasterEventFact(dt.date(2021, 3, 1), "森林火灾", evidence="ev:6"),
                      DisasterEventFact(dt.date(2021, 3, 1), "陨石", evidence="ev:7")]
    groups = temporal_risk(mixed, FULL, years=YEARS)
    assert set(groups) == {"FLOOD_DROUGHT", "METEOROLOGICAL", "GEOLOGICAL", "FOREST_FIRE"}
    assert "unknown-disaster-type:陨石:ev:7" in groups["GEOLOGICAL"][0].flags
    assert temporal_risk([], FULL) == {}
    with pytest.raises(ValueError):
        temporal_risk(EVENTS, FULL, by="week")


# ---------------------------------------------------------------- properties
event_st = st.builds(
    lambda d, t, deaths, affected, loss, i: DisasterEventFact(d, t, deaths, affected, loss, f"ev:{i}"),
    st.dates(dt.date(2015, 1, 1), dt.date(2023, 12, 31)), st.sampled_from(["FLOOD", "DROUGHT", "RAINSTORM", "LANDSLIDE"]),
    st.integers(0, 100), st.integers(0, 10**6), st.floats(0, 1e5), st.integers())
exposure_st = st.builds(Exposure, st.floats(0, 1e8), st.integers(0, 5000))


@settings(max_examples=40, deadline=None)
@given(st.lists(event_st, max_size=12), exposure_st, st.sampled_from(["month", "quarter", "year"]))
def test_scores_stay_in_range(events, exposure, by):
    for results in temporal_risk(events, exposure, by=by, years=(2015, 2023)).values():
        for r in results:
            assert 0 <= r.score <= 10
            assert 0 <= r.details["chance"] < 1 and 0 < r.details["severity"] <= 1 and 0 <= r.details["exposure"] <= 1


@settings(max_examples=40, deadline=None)
@given(st.lists(event_st, max_size=12), event_st, exposure_st)
def test_another_event_never_lowers_its_months_frequency(events, extra, exposure):
    extra = dataclasses.replace(extra, evidence="ev:extra")
    before = temporal_risk(events, exposure, years=(2015, 2023))
    after = temporal_risk(events + [extra], exposure, years=(2015, 2023))
    group = next(g for g, rs in after.items() if extra.evidence in {e for r in rs for e in r.evidence})
    month = extra.on.month - 1
    if group in before:
        assert after[group][month].details["chance"] >= before[group][month].details["chance"]
    assert extra.evidence in after[group][month].component("frequency").evidence
