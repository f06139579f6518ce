"""INFORM-style index: hand-worked normalisation, dimensions, geometric mean, classes and percentiles.

Shipped weights (inform.toml): H&E major hazard sources 0.3 (log), disaster points 0.3 (log), red 0.2,
orange 0.1, yellow 0.1 risk points (log); V population 0.6 (log), vulnerable sites 0.4; coping (inverted)
rescue teams 0.4, supplies 0.3, shelter capacity 0.3 (all log). Classes ≥ 6.5 很高, ≥ 5 高, ≥ 3.5 中, ≥ 2 低.
Counts 0 / 9 / 99 / 999 are chosen so that ln(1 + x) is 0, ln 10, 2 ln 10, 3 ln 10: min-max gives round numbers.
"""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskgraph.reasoning.models.config import load_config
from riskgraph.reasoning.models.inform import inform_index

CFG = load_config("inform")
PEERS = {
    "A": {"major_hazard_sources": 0, "disaster_points": 99, "population": 9, "vulnerable_sites": 30,
          "rescue_teams": 9, "supplies": 999, "shelter_capacity": 99},
    "B": {"major_hazard_sources": 9, "disaster_points": 9, "population": 99, "vulnerable_sites": 20,
          "rescue_teams": 99, "supplies": 99, "shelter_capacity": 999},
    "C": {"major_hazard_sources": 99, "disaster_points": 0, "population": 999, "vulnerable_sites": 10,
          "rescue_teams": 999, "supplies": 9, "shelter_capacity": 9},
}


def test_worked_example_with_shipped_weights():
    # H&E (risk-point counts missing: weights 0.3/0.3 renormalised to 0.5/0.5)
    #   mhs ln1p: 0, ln10, 2ln10 → 0, 5, 10;  dp: 2ln10, ln10, 0 → 10, 5, 0  → HE = 5, 5, 5
    # V: population ln1p 1,2,3 ·ln10 → 0, 5, 10; vulnerable sites 30, 20, 10 → 10, 5, 0
    #   V_A = 0.6·0 + 0.4·10 = 4;  V_B = 0.6·5 + 0.4·5 = 5;  V_C = 0.6·10 + 0.4·0 = 6
    # coping (inverted): rescue 0,5,10 → 10,5,0; supplies 10,5,0 → 0,5,10; shelter 5,10,0 → 5,0,10
    #   LCC_A = 0.4·10 + 0.3·0 + 0.3·5 = 5.5;  LCC_B = 2 + 1.5 + 0 = 3.5;  LCC_C = 0 + 3 + 3 = 6
    # Risk_A = ∛(5·4·5.5) = ∛110 = 4.791 (中); Risk_B = ∛87.5 = 4.440 (中); Risk_C = ∛180 = 5.646 (高)
    r = inform_index(PEERS, evidence={"A": ["region:A"]})
    a, b, c = r["A"], r["B"], r["C"]
    assert a.method == "inform-2024" and a.evidence == ("region:A",)
    assert [a.details[k] for k in ("hazard_exposure", "vulnerability", "lack_of_coping_capacity")] == \
        pytest.approx([5, 4, 5.5])
    assert [c.details[k] for k in ("hazard_exposure", "vulnerability", "lack_of_coping_capacity")] == \
        pytest.approx([5, 6, 6])
    assert a.score == pytest.approx(110 ** (1 / 3)) and b.score == pytest.approx(87.5 ** (1 / 3))
    assert c.score == pytest.approx(180 ** (1 / 3))
    assert (a.level, a.colour, b.level, c.level, c.colour) == ("中", "YELLOW", "中", "高", "ORANGE")
    # percentile: share of the other peers strictly below
    assert (a.details["percentile"], b.details["percentile"], c.details["percentile"]) == (50, 0, 100)
    assert "missing:risk_points_red" in a.flags
    # decomposition: indicator contributions sum to the dimension, dimension contributions multiply to Risk
    assert sum(x.contribution for x in a.components if x.name.startswith("vulnerability.")) == pytest.approx(4)
    dims = [x for x in a.components if "." not in x.name]
    assert math.prod(x.contribution for x in dims) == pytest.approx(a.score)
    assert a.component("lack_of_coping_capacity.rescue_teams").value == pytest.approx(10)  # inverted


def _simple(**overrides):
    """One min-max indicator per dimension, lower goalpost 0: HE = 10·h/max(h), likewise V; LCC = 10 − 10·c/max(c)."""
    return CFG.with_overrides({
        "lower_goalpost": "zero", "scaling": "minmax",
        "indicators": {name: {"weight": 0} for name in CFG["indicators"]} | {
            "h": {"label": "h", "dimension": "hazard_exposure", "weight": 1},
            "v": {"label": "v", "dimension": "vulnerability", "weight": 1},
            "c": {"label": "c", "dimension": "lack_of_coping_capacity", "weight": 1}},
        **overrides,
    })


def test_class_edges_and_zero_goalpost():
    # zero goalpost: HE A=10, B=5, C=2.5; V A=2.5, B=5, C=10; LCC (10 − 10·c/4) A=10, B=5, C=0
    # A = ∛(10·2.5·10) = ∛250 = 6.2996 (高, just under 6.5); B = ∛125 = 5 exactly → 高 (≥ 5); C = 0 → 很低
    peers = {"A": {"h": 8, "v": 2, "c": 0}, "B": {"h": 4, "v": 4, "c": 2}, "C": {"h": 2, "v": 8, "c": 4}}
    r = inform_index(peers, config=_simple())
    assert r["A"].score == pytest.approx(250 ** (1 / 3)) and r["A"].level == "高"
    assert r["B"].score == 5.0 and (r["B"].level, r["B"].colour) == ("高", "ORANGE")
    assert r["C"].score == 0 and r["C"].level == "很低"


def test_peer_min_goalpost_and_flat_indicators():
    # peer-min: h 8,4 → 10, 0;  v equal → flat 5 (flagged);  c 0, 2 → 0, 10 → LCC 10, 0
    cfg = _simple(lower_goalpost="peer-min")
    r = inform_index({"A": {"h": 8, "v": 3, "c": 0}, "B": {"h": 4, "v": 3, "c": 2}}, config=cfg)
    assert r["A"].details["vulnerability"] == 5 and "flat:v" in r["A"].flags
    assert r["A"].score == pytest.approx((10 * 5 * 10) ** (1 / 3)) and r["B"].score == 0


def test_missing_dimension_leaves_risk_unrated_and_unknown_indicators_are_flagged():
    r = inform_index({"A": {"h": 1, "v": 1, "x": 3}, "B": {"h": 2, "v": 2, "c": 1}}, config=_simple())
    assert r["A"].score is None and r["A"].level is None and r["A"].details["percentile"] is None
    assert "no-data:lack_of_coping_capacity" in r["A"].flags and "unknown-indicator:x" in r["A"].flags
    assert r["B"].details["percentile"] is None  # no other rated peer to rank against


def test_mid_rank_percentile():
    peers = {p: {"h": h, "v": 1, "c": 0} for p, h in {"A": 1, "B": 1, "C": 2}.items()}
    r = inform_index(peers, config=_simple(percentile="mid-rank"))
    # A and B tie: 0 below + ½ · 1 tie out of 2 others = 25 %; C: 2 below = 100 %
    assert (r["A"].details["percentile"], r["C"].details["percentile"]) == (25, 100)


# ---------------------------------------------------------------- properties
HE = [n for n, s in CFG["indicators"].items() if s["dimension"] == "hazard_exposure"]
value_st = st.one_of(st.none(), st.floats(min_value=0, max_value=1e6, allow_nan=False))
peers_st = st.dictionaries(
    st.sampled_from(["R1", "R2", "R3", "R4", "R5"]),
    st.fixed_dictionaries({name: value_st for name in CFG["indicators"]}),
    min_size=1, max_size=5,
)


@settings(max_examples=100, deadline=None)
@given(peers_st, st.data(), st.sampled_from(["peer-min", "zero"]))
def test_raising_a_hazard_indicator_never_lowers_risk(peers, data, goalpost):
    cfg = CFG.with_overrides({"lower_goalpost": goalpost})
    peer = data.draw(st.sampled_from(sorted(peers)))
    name = data.draw(st.sampled_from(HE))
    extra = data.draw(st.floats(min_value=0, max_value=1e6, allow_nan=False))
    raised = {p: dict(v) for p, v in peers.items()}
    raised[peer][name] = (raised[peer][name] or 0) + extra
    if peers[peer][name] is None:
        return  # adding a missing indicator changes which weights apply, not a raise
    before, after = inform_index(peers, config=cfg)[peer], inform_index(raised, config=cfg)[peer]
    if before.score is not None:
        assert after.score >= before.score - 1e-9
        assert after.details["hazard_exposure"] >= before.details["hazard_exposure"] - 1e-9


@settings(max_examples=100, deadline=None)
@given(peers_st)
def test_scores_and_percentiles_stay_in_range(peers):
    for r in inform_index(peers).values():
        for dim in ("hazard_exposure", "vulnerability", "lack_of_coping_capacity"):
            assert r.details[dim] is None or -1e-9 <= r.details[dim] <= 10 + 1e-9
        assert r.score is None or 0 <= r.score <= 10
        assert r.details["percentile"] is None or 0 <= r.details["percentile"] <= 100
