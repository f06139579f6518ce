"""N-K coupling, coupling coordination and spatial coupling, against hand-worked values."""
from __future__ import annotations

import math
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskgraph.reasoning.graph_facts import FactorGroup
from riskgraph.reasoning.models.config import load_config
from riskgraph.reasoning.models.coupling import (
    Point,
    coordination,
    haversine_m,
    nk_coupling,
    nk_coupling_counted,
    spatial_coupling,
)

CFG = load_config("coupling")


# ---------------------------------------------------------------- N-K
def test_nk_two_factor_worked_example():
    # records over 人 (1) and 物 (2): (1,1), (1,1), (1,0), (0,1) → P11 = ½, P10 = ¼, P01 = ¼, P00 = 0 (dropped)
    # marginals: P(人) = ¾, P(物) = ¾
    # T = ½·log2(½ / (¾·¾)) + ¼·log2(¼ / (¾·¼)) + ¼·log2(¼ / (¼·¾)) = ½·log2(8/9) + ½·log2(4/3) = ½·log2(32/27)
    r = nk_coupling({"acc:1": {"1", "2"}, "acc:2": {"1", "2"}, "acc:3": {"1"}, "acc:4": {"2"}})
    assert r.method == "nk-coupling"
    assert r.details["1-2"] == pytest.approx(0.5 * math.log2(32 / 27))
    assert r.details["1-2"] == pytest.approx(0.1225562, abs=1e-7)
    assert r.component("T(1-2)").note == "人的因素-物的因素"
    assert r.evidence == ("acc:1", "acc:2", "acc:3", "acc:4")
    # factors 3 and 4 never occur: their marginal state is certain, so they carry no coupling with 1 or 2
    assert r.details["1-3"] == 0 and r.details["3-4"] == 0
    assert len(r.components) == 6 + 4 + 1  # every 2-, 3- and 4-factor combination


def test_nk_independence_and_full_coupling():
    # all four (人, 物) states equally often: independent → T = 0
    independent = nk_coupling([{"1", "2"}, {"1"}, {"2"}, set()])
    assert independent.details["1-2"] == pytest.approx(0)
    # all-or-nothing over n factors: P = ½ for the all-1 and all-0 states, marginals ½:
    # T = 2 · ½ · log2(½ / ½ⁿ) = n − 1 bits → pairs 1, triples 2, all four 3
    together = nk_coupling([{"1", "2", "3", "4"}, set()])
    assert together.details["1-2"] == pytest.approx(1)
    assert together.details["1-2-3"] == pytest.approx(2)
    assert together.score == together.details["1-2-3-4"] == pytest.approx(3)


def test_nk_sub_codes_and_labels_map_to_their_factor_class_and_unknowns_are_flagged():
    # "12" (行为性) is under 人 (1); "管理" is the label of 4; "x" is unknown
    a = nk_coupling([{"12", "管理"}, {"11", "4"}, set(), {"x"}])
    b = nk_coupling([{"1", "4"}, {"1", "4"}, set(), set()])
    assert a.details == b.details
    assert "unknown-factor:x" in a.flags


def test_nk_of_counted_records_equals_the_records_and_cites_what_it_is_given():
    # a province's group arrives as counts per factor set, each with one record to cite (graph_facts.factor_groups)
    records = {"hd:1": {"1", "2"}, "hd:2": {"1", "2"}, "hd:3": {"y", "1"}, "hd:4": {"2"}, "hd:5": {"x"}}
    counts = Counter(frozenset(codes) for codes in records.values())
    r = nk_coupling_counted(counts, evidence=["hd:1", "hd:2"], evidence_total=5)  # a cited list, however chosen
    whole = nk_coupling(records)
    assert r.details == whole.details and r.parameters["records"] == 5
    assert r.evidence == ("hd:1", "hd:2") and r.evidence_total == 5 and whole.evidence_total is None
    # the flags do not depend on the order the store returned the sets in
    reordered = nk_coupling_counted(Counter(dict(reversed(list(counts.items())))))
    assert r.flags == reordered.flags and set(r.flags) == {"unknown-factor:x", "unknown-factor:y"}


def test_nk_without_records():
    r = nk_coupling([])
    assert r.score is None and r.components == () and "no-records" in r.flags


# ---------------------------------------------------------------- coupling coordination
def test_ccd_worked_examples():
    # U = (0.8, 0.2), α = ½: C = 2·√(0.16) / 1.0 = 0.8; T = 0.5; D = √0.4 = 0.6325 → (0.6, 0.7] 初级协调
    r = coordination({"safety": 0.8, "economy": 0.2})
    assert (r.details["C"], r.details["T"]) == (pytest.approx(0.8), pytest.approx(0.5))
    assert r.score == pytest.approx(math.sqrt(0.4)) and r.level == "初级协调"
    assert sum(c.contribution for c in r.components) == pytest.approx(r.details["T"])
    # α = (0.6, 0.4): T = 0.48 + 0.08 = 0.56; D = √(0.8 · 0.56) = √0.448 = 0.6693 → 初级协调
    w = coordination({"safety": 0.8, "economy": 0.2}, {"safety": 0.6, "economy": 0.4})
    assert w.score == pytest.approx(math.sqrt(0.448)) and w.level == "初级协调"
    # three equal subsystems: C = 1, T = 0.5, D = √0.5 = 0.7071 → 中级协调
    assert coordination({"a": 0.5, "b": 0.5, "c": 0.5}).details["C"] == pytest.approx(1)


@pytest.mark.parametrize(
    "u, d, level",
    [
        # U = (u, u): C = 1, T = u, D = √u exactly on each edge → the band below ((lower, upper])
        (0.0, 0.0, "极度失调"), (0.01, 0.1, "极度失调"), (0.04, 0.2, "严重失调"), (0.09, 0.3, "中度失调"),
        (0.16, 0.4, "轻度失调"), (0.25, 0.5, "濒临失调"), (0.36, 0.6, "勉强协调"), (0.49, 0.7, "初级协调"),
        (0.64, 0.8, "中级协调"), (0.81, 0.9, "良好协调"), (1.0, 1.0, "优质协调"),
        (0.3025, 0.55, "勉强协调"),  # inside a band
    ],
)
def test_ccd_band_edges(u, d, level):
    r = coordination({"a": u, "b": u})
    assert r.score == pytest.approx(d) and r.level == level


def test_ccd_input_checks():
    assert "all-zero: C undefined, taken as 0" in coordination({"a": 0, "b": 0}).flags
    assert any(f.startswith("weights-normalised") for f in coordination({"a": 0.5, "b": 0.5}, {"a": 3, "b": 2}).flags)
    with pytest.raises(ValueError):
        coordination({"a": 1.2, "b": 0.5})
    with pytest.raises(ValueError):
        coordination({"a": 0.5})
    with pytest.raises(ValueError):
        coordination({"a": 0.5, "b": 0.5}, {"a": 1})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1), min_size=2, max_size=6), st.data())
def test_ccd_c_t_d_stay_in_unit_interval(us, data):
    scores = {f"s{i}": u for i, u in enumerate(us)}
    weights = data.draw(st.one_of(st.none(), st.lists(st.floats(min_value=0.01, max_value=1), min_size=len(us),
                                                      max_size=len(us)).map(lambda w: {f"s{i}": x for i, x in enumerate(w)})))
    r = coordination(scores, weights)
    for key in ("C", "T", "D"):
        assert 0 <= r.details[key] <= 1
    assert r.level is not None
    if len(set(us)) == 1 and us[0] > 0:
        assert r.details["C"] == pytest.approx(1)


# ---------------------------------------------------------------- spatial coupling
# On the equator 0.001° of longitude = 2π · 6 371 008.8 / 360 / 1000 = 111.195 m.
M_PER_MILLIDEGREE = 2 * math.pi * 6371008.8 / 360 / 1000


def _points():
    return [
        Point("h1", "MajorHazardSource", 0.0, 0.0),
        Point("h2", "MajorHazardSource", 0.008, 0.0),    # 889.6 m from h1 → linked
        Point("h3", "MajorHazardSource", 0.017, 0.0),    # 1000.8 m from h2 → not linked at 1000 m
        Point("h4", "MajorHazardSource", 0.025, 0.0),    # 889.6 m from h3 → linked
        Point("h5", "MajorHazardSource", 1.0, 1.0),      # alone
        Point("s1", "Shelter", 0.004, 0.005),            # ≈ 712 m from h1
        Point("d1", "NaturalDisasterRiskPoint", 0.017, 0.0085),  # 945.2 m north of h3
        Point("e1", "Enterprise", 0.0, 0.0),             # not a kind the model looks at
    ]


def test_haversine_on_the_equator():
    assert haversine_m(0, 0, 0.008, 0) == pytest.approx(8 * M_PER_MILLIDEGREE)
    assert haversine_m(0, 0, 1, 0) == pytest.approx(111195.08, abs=0.01)


def test_spatial_clusters_and_exposure():
    first, second, third = spatial_coupling(_points())
    assert first.details["members"] == ["h1", "h2"] and first.details["links"] == [("h1", "h2")]
    assert first.details["exposed"] == ["s1"] and set(first.flags) == {"domino", "natech-exposure"}
    assert first.component("s1").value == pytest.approx(haversine_m(0, 0, 0.004, 0.005))
    assert second.details["members"] == ["h3", "h4"] and second.details["exposed"] == ["d1"]
    assert second.component("d1").value == pytest.approx(8.5 * M_PER_MILLIDEGREE, rel=1e-6)
    assert third.details["members"] == ["h5"] and third.flags == () and third.score == 1
    assert first.method == "spatial-coupling" and first.score == 2
    assert "e1" not in first.evidence


def test_spatial_distance_is_a_parameter_and_clusters_chain():
    # at 1001 m h2–h3 (1000.8 m) link too: one chain h1–h2–h3–h4 (connected components)
    (chain, alone) = spatial_coupling(_points(), distance_m=1001)
    assert chain.details["members"] == ["h1", "h2", "h3", "h4"] and chain.details["exposed"] == ["s1", "d1"]
    assert spatial_coupling(_points(), config=CFG.with_overrides({"spatial": {"distance_m": 1001}}))[0].score == 4


def test_spatial_refuses_bad_coordinates():
    with pytest.raises(ValueError):
        spatial_coupling([Point("h", "MajorHazardSource", 200.0, 0.0)])


def test_an_nk_group_cites_one_record_of_each_factor_set():
    group = FactorGroup()
    group.add(frozenset({"1", "2"}), 3, "hd:9")
    group.add(frozenset({"2", "1"}), 2, "hd:4")  # the store returns the list in either order: one set
    group.add(frozenset({"3"}), 1, "hd:7")
    group.add(frozenset({"3"}), 1, "ac:2", accident=True)
    group.add(frozenset({"3"}), 1, "ac:1", accident=True)
    assert group.counts == Counter({frozenset({"1", "2"}): 5, frozenset({"3"}): 3}) and group.total == 8
    assert group.cited(10) == ["hd:4", "hd:7", "ac:1"] and group.cited(2) == ["hd:4", "hd:7"]
