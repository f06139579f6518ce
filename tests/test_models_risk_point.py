"""LEC and LS risk-point grading, with hand-worked D and R values on every band edge.

standards.md §3: L ∈ {10, 6, 3, 1, 0.5, 0.2, 0.1}, E ∈ {10, 6, 3, 2, 1, 0.5}, C ∈ {100, 40, 15, 7, 3, 1}.
Four colours (common): D ≥ 320 红; 160 ≤ D < 320 橙; 70 ≤ D < 160 黄; D < 70 蓝.
Classic: D > 320 极其; 160–320 高度; 70–160 显著; 20–70 一般; < 20 稍有 — so 320 is 高度 (the top band
needs D > 320) and 20 is 一般 (稍有 needs D < 20); 160 and 70 are read like 320 (the range holds its upper edge).
D = 320 and D = 160 cannot be made from the scale values (no L·E·C product equals them), so their
edges are checked through grade_lec, the grading of a reported D.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskgraph.reasoning.models.config import load_config
from riskgraph.reasoning.models.risk_point import grade_lec, lec, ls
from riskgraph.reasoning.models.vocab import colour_rank

CFG = load_config("risk_point")
L, E, C = (list(CFG["lec"][k]) for k in "LEC")


def test_lec_worked_examples():
    # 3 · 6 · 15 = 270: 160 ≤ 270 < 320 → 橙 较大风险; classic 160–320 → 高度危险
    r = lec(3, 6, 15, evidence=["rp:1"])
    assert (r.method, r.score, r.level, r.colour) == ("lec-classic", 270, "较大风险", "ORANGE")
    assert r.details["danger_band"] == "高度危险"
    assert [(c.name, c.value) for c in r.components] == [("L", 3), ("E", 6), ("C", 15)]
    assert r.evidence == ("rp:1",) and r.components[0].evidence == ("rp:1",)
    # 10 · 6 · 40 = 2400 → 红, 极其危险
    r = lec(10, 6, 40)
    assert (r.score, r.colour, r.details["danger_band"]) == (2400, "RED", "极其危险")


@pytest.mark.parametrize(
    "d, common, upper, classic_upper, classic_lower",
    [
        # D     ≥ convention      > convention       classic (per edge)  classic "≥"
        (320, "RED", "ORANGE", "高度危险", "极其危险"),   # "D > 320": 320 is not 极其危险
        (160, "ORANGE", "YELLOW", "显著危险", "高度危险"),
        (70, "YELLOW", "BLUE", "一般危险", "显著危险"),
        (20, "BLUE", "BLUE", "一般危险", "一般危险"),     # "< 20 稍有危险": 20 itself is 一般危险
        (19.99, "BLUE", "BLUE", "稍有危险", "稍有危险"),
        (320.01, "RED", "RED", "极其危险", "极其危险"),
    ],
)
def test_lec_edges_under_both_conventions(d, common, upper, classic_upper, classic_lower):
    assert grade_lec(d)[1:] == (common, classic_upper)
    assert grade_lec(d, colour_bands="four-colour-upper")[1] == upper
    assert grade_lec(d, danger_bands="graham-kinney-lower")[2] == classic_lower
    # the convention is a config value too: flip the default set's edge and get the other answer
    flipped = CFG.with_overrides({"lec": {"colour": {"four-colour-common": {"edge_inclusive": "upper"}}}})
    assert grade_lec(d, config=flipped)[1] == upper


def test_lec_edges_reached_from_scale_values():
    # 1 · 10 · 7 = 70 exactly
    assert lec(1, 10, 7).colour == "YELLOW"
    assert lec(1, 10, 7, colour_bands="four-colour-upper").colour == "BLUE"
    assert lec(1, 10, 7).details["danger_band"] == "一般危险"
    # 0.5 · 1 · 40 = 20 exactly
    r = lec(0.5, 1, 40)
    assert (r.score, r.colour, r.details["danger_band"]) == (20, "BLUE", "一般危险")
    edges = {b["lower"]: b["lower_inclusive"] for b in r.parameters["danger_bands"]["bands"]}
    assert edges == {320: False, 160: False, 70: False, 20: True, 0: True}


def test_lec_variant_that_leaves_d_below_20_unrated():
    # 0.5 · 1 · 15 = 7.5 < 20: rated 蓝 by the common set, unrated by four-colour-rated-from-20
    assert lec(0.5, 1, 15).colour == "BLUE"
    r = lec(0.5, 1, 15, colour_bands="four-colour-rated-from-20")
    assert (r.level, r.colour) == (None, None) and "unrated:below-20" in r.flags
    assert r.details["danger_band"] == "稍有危险"
    # D = 20 itself is the lowest rated value: 蓝
    assert lec(0.5, 1, 40, colour_bands="four-colour-rated-from-20").colour == "BLUE"


def test_lec_off_scale_values_are_flagged_or_rejected():
    r = lec(5, 6, 15)  # L = 5 is not on the scale; D = 450 still computed
    assert r.score == 450 and "off-scale:L=5" in r.flags and r.colour == "RED"
    strict = CFG.with_overrides({"lec": {"off_scale": "reject"}})
    with pytest.raises(ValueError):
        lec(5, 6, 15, config=strict)
    with pytest.raises(ValueError):
        lec(0, 6, 15)
    with pytest.raises(ValueError):
        lec(3, 6, 15, colour_bands="no-such-set")


@pytest.mark.parametrize(
    "l, s, r, gb_common, abcd",
    [
        (5, 5, 25, "RED", "RED"),
        (5, 4, 20, "RED", "RED"),          # 20 = lower edge of 重大 in both sets
        (4, 4, 16, "ORANGE", "ORANGE"),
        (5, 3, 15, "ORANGE", "ORANGE"),    # 15 = lower edge of 较大 in ls-abcd-15
        (4, 3, 12, "ORANGE", "YELLOW"),
        (3, 3, 9, "ORANGE", "YELLOW"),     # 9 = lower edge of 较大 in ls-gb-common, of 一般 in ls-abcd-15
        (4, 2, 8, "YELLOW", "BLUE"),
        (2, 2, 4, "YELLOW", "BLUE"),       # 4 = lower edge of 一般 in ls-gb-common
        (3, 1, 3, "BLUE", "BLUE"),
        (1, 1, 1, "BLUE", "BLUE"),
    ],
)
def test_ls_band_variants(l, s, r, gb_common, abcd):  # noqa: E741 -- L of the LS method
    default = ls(l, s)
    assert (default.method, default.score, default.colour) == ("ls-matrix", r, gb_common)
    assert ls(l, s, bands="ls-abcd-15").colour == abcd
    assert default.parameters["bands"]["name"] == "ls-gb-common"


def test_ls_labels_and_off_scale():
    assert ls(5, 4).level == "重大风险" and ls(1, 2).level == "低风险"
    assert "off-scale:S=6" in ls(1, 6).flags
    with pytest.raises(ValueError):
        ls(1, 6, config=CFG.with_overrides({"ls": {"off_scale": "reject"}}))


# ---------------------------------------------------------------- properties
@settings(max_examples=100, deadline=None)
@given(st.sampled_from(L), st.sampled_from(E), st.sampled_from(C), st.sampled_from(L), st.sampled_from(E),
       st.sampled_from(C), st.sampled_from(["four-colour-common", "four-colour-upper", "four-colour-rated-from-20"]))
def test_lec_colour_is_monotone_in_every_factor(l1, e1, c1, l2, e2, c2, bands):
    lo = lec(min(l1, l2), min(e1, e2), min(c1, c2), colour_bands=bands)
    hi = lec(max(l1, l2), max(e1, e2), max(c1, c2), colour_bands=bands)
    assert hi.score >= lo.score
    assert colour_rank(hi.colour) >= colour_rank(lo.colour)
    assert not lo.flags or lo.flags == ("unrated:below-20",)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5), st.integers(1, 5))
def test_ls_colour_is_monotone_and_always_rated(l1, s1, l2, s2):
    lo, hi = ls(min(l1, l2), min(s1, s2)), ls(max(l1, l2), max(s1, s2))
    assert 1 <= lo.score <= hi.score <= 25
    assert lo.colour is not None and colour_rank(hi.colour) >= colour_rank(lo.colour)
