"""GB 18218-2018 identification and grading, checked against answers worked by hand from the standard.

Values used below (standards.md §1, read from the vocabularies by the model):
  氯 (液氯) Q 5 t (表1 第12项), β 4 (表3) · 氨 Q 10 t (第1项), β 2 · 甲醇 Q 500 t (第65项), no 表3 β ·
  一氧化碳 β 2 (表3), Q 20 t by 表1 第13项 煤气（CO，CO和H2、CH4的混合物等）, W2
  W2 Q 10, β 1.5 · W5.1 Q 10, β 1.5 · J3 Q 50, β 2 · J2 Q 50, β 1
  α: 0 → 0.5; 1–29 → 1.0; 30–49 → 1.2; 50–99 → 1.5; ≥ 100 → 2.0
  一级 R ≥ 100; 二级 50 ≤ R < 100; 三级 10 ≤ R < 50; 四级 R < 10
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskgraph.reasoning.models.config import load_config
from riskgraph.reasoning.models.major_hazard import InventoryItem, assess_unit
from riskgraph.reasoning.models.vocab import vocabulary

CFG = load_config("major_hazard")


def item(q, name=None, cas=None, categories=(), evidence=""):
    return InventoryItem(quantity_t=q, name=name, cas=cas, categories=categories, evidence=evidence)


def test_worked_example_two_named_chemicals():
    # S = 10/5 + 5/10 = 2.5 ≥ 1 → major.  α(40 residents) = 1.2.
    # R = 1.2 · (4·2 + 2·0.5) = 1.2 · 9 = 10.8 → 三级 (10 ≤ R < 50) → YELLOW.
    r = assess_unit([item(10, "液氯", evidence="inv:cl2"), item(5, "氨", evidence="inv:nh3")], 40, evidence=["unit:1"])
    assert r.method == "gb18218-2018" and r.version == CFG.version
    assert r.details["S"] == pytest.approx(2.5)
    assert r.score == pytest.approx(10.8)
    assert (r.level, r.colour) == ("L3", "YELLOW")
    cl2 = r.component("氯")
    assert (cl2.value, cl2.weight, cl2.contribution) == (pytest.approx(2.0), 4.0, pytest.approx(9.6))
    assert cl2.evidence == ("inv:cl2",) and "Q=5 t (GB 18218-2018 表1 第12项)" in cl2.note and "表3" in cl2.note
    assert r.evidence == ("unit:1", "inv:cl2", "inv:nh3")
    assert r.parameters["alpha"] == 1.2


@pytest.mark.parametrize(
    "q, expected_r, level, colour",
    [
        # α = 1.0 (10 residents), 液氯: R = 4 · q/5
        (125, 100, "L1", "RED"),      # R = 4 · 25 = 100 exactly → 一级 (R ≥ 100)
        (124.9, 99.92, "L2", "ORANGE"),  # just below 100 → 二级
        (62.5, 50, "L2", "ORANGE"),   # R = 4 · 12.5 = 50 exactly → 二级 (50 ≤ R)
        (62.4, 49.92, "L3", "YELLOW"),
        (12.5, 10, "L3", "YELLOW"),   # R = 4 · 2.5 = 10 exactly → 三级 (10 ≤ R)
        (12.4, 9.92, "L4", "BLUE"),
        (5, 4, "L4", "BLUE"),         # S = 1 exactly → major; R = 4 → 四级
    ],
)
def test_r_band_edges(q, expected_r, level, colour):
    r = assess_unit([item(q, "液氯")], 10)
    assert r.score == pytest.approx(expected_r)
    assert (r.level, r.colour) == (level, colour)


def test_s_exactly_one_is_major_and_just_below_is_not():
    # 2.5/5 + 5/10 = 0.5 + 0.5 = 1.0 → major; R = 1.0 · (4·0.5 + 2·0.5) = 3 → 四级
    on_edge = assess_unit([item(2.5, "液氯"), item(5, "氨")], 10)
    assert on_edge.details["S"] == 1.0 and on_edge.details["major"]
    assert (on_edge.level, on_edge.score) == ("L4", pytest.approx(3.0))
    # 2.5/5 + 4.99/10 = 0.999 → not major: no level, no colour, R still reported
    below = assess_unit([item(2.5, "液氯"), item(4.99, "氨")], 10)
    assert not below.details["major"] and below.level is None and below.colour is None
    assert below.score == pytest.approx(2 + 2 * 0.499)


@pytest.mark.parametrize(
    "residents, alpha",
    [(0, 0.5), (1, 1.0), (29, 1.0), (30, 1.2), (49, 1.2), (50, 1.5), (99, 1.5), (100, 2.0), (5000, 2.0)],
)
def test_alpha_by_residents(residents, alpha):
    # 液氯 5 t: S = 1, Σβq/Q = 4 → R = 4α
    r = assess_unit([item(5, "液氯")], residents)
    assert r.parameters["alpha"] == alpha
    assert r.score == pytest.approx(4 * alpha)


def test_unknown_residents_take_the_configured_alpha_and_are_flagged():
    r = assess_unit([item(5, "液氯")], None)
    assert r.parameters["alpha"] == 2.0 and "residents-unknown" in r.flags  # "max": highest α of the table
    low = assess_unit([item(5, "液氯")], None, config=CFG.with_overrides({"residents": {"unknown": "min"}}))
    assert low.parameters["alpha"] == 0.5
    assert "invalid-residents:-3" in assess_unit([item(5, "液氯")], -3).flags


def test_category_path_table2_and_table4():
    # unnamed W5.1: Q = 10 (表2), β = 1.5 (表4); q = 20 → S = 2, R = 1.0 · 1.5 · 2 = 3 → 四级
    r = assess_unit([item(20, name="某溶剂", categories="W5.1", evidence="inv:x")], 10)
    c = r.component("某溶剂")
    assert (c.value, c.weight) == (2.0, 1.5) and "表2 W5.1" in c.note and "表4 W5.1" in c.note
    assert (r.details["S"], r.score, r.level) == (2.0, pytest.approx(3.0), "L4")


def test_several_categories_lowest_q_and_named_beta_rule():
    # J3 (Q 50, β 2) and W2 (Q 10, β 1.5): Q = min = 10; q = 10 → q/Q = 1
    unit = [item(10, name="混合气", categories=("J3", "W2"))]
    assert assess_unit(unit, 10).score == pytest.approx(2.0)  # "max": β = 2 (J3)
    governing = CFG.with_overrides({"beta": {"multi_category": "governing"}})
    assert assess_unit(unit, 10, config=governing).score == pytest.approx(1.5)  # β of W2, which sets Q


def test_named_chemical_keeps_table1_q_and_takes_table4_beta_from_given_category():
    # 甲醇 + W5.1: Q = 500 (表1 wins over 表2's 10); β = 1.5 (表4 W5.1); q = 1000 → S = 2, R = 3
    r = assess_unit([item(1000, "甲醇", categories="W5.1")], 10)
    assert (r.details["S"], r.score) == (2.0, pytest.approx(3.0))


def test_named_chemical_without_beta_or_category_is_defaulted_and_flagged():
    # 甲醇 alone: Q 500, β = uncategorised default 1; q = 500 → S = 1, R = 1
    r = assess_unit([item(500, "甲醇", evidence="inv:meoh")], 10)
    assert r.score == pytest.approx(1.0) and "beta-defaulted:inv:meoh" in r.flags


def test_carbon_monoxide_reading_is_a_named_choice():
    # default "coal-gas-covers-co": 表1 第13项 names CO, Q = 20 t; β 2 (表3); q = 20 → S = 20/20 = 1, R = 1·2·1 = 2
    coal = assess_unit([item(20, "一氧化碳")], 10)
    assert (coal.details["S"], coal.score) == (1.0, pytest.approx(2.0))
    assert coal.parameters["critical_quantity_reading"] == "coal-gas-covers-co"
    assert "表1 第13项" in coal.components[0].note
    # "co-by-category": Q from W2 (表2) = 10 t, β 2 (表3); q = 20 → S = 2, R = 1·2·2 = 4
    by_category = assess_unit([item(20, "一氧化碳")], 10,
                              config=CFG.with_overrides({"critical_quantity": {"reading": "co-by-category"}}))
    assert (by_category.details["S"], by_category.score) == (2.0, pytest.approx(4.0))
    assert "表2 W2" in by_category.components[0].note


def test_j2_beta_table_is_a_named_choice():
    # J2: Q 50; q = 50 → S = 1; β = 1 (standards.md) → R = 1; "j2-is-2" → R = 2
    unit = [item(50, name="剧毒液体", categories="J2")]
    assert assess_unit(unit, 10).score == pytest.approx(1.0)
    assert assess_unit(unit, 10, config=CFG.with_overrides({"beta": {"table": "j2-is-2"}})).score == pytest.approx(2.0)


def test_lookup_by_cas_and_alternative_names():
    by_cas = assess_unit([item(10, cas="7782-50-5")], 10)
    by_alt = assess_unit([item(10, "氯气")], 10)
    assert by_cas.score == by_alt.score == pytest.approx(8.0)
    assert by_cas.components[0].name == "氯"  # Table 1 entry 12's own name; 液氯 and 氯气 are its 别名


def test_unknown_chemical_is_flagged_and_excluded_never_a_crash():
    r = assess_unit([item(10, "液氯", evidence="a"), item(99, "神秘物质", evidence="b"),
                     item(3, "另一物质", categories="W99", evidence="c"), item(-1, "氨", evidence="d")], 10)
    assert [c.evidence for c in r.components] == [("a",)]
    assert {"unidentified-chemical:b", "unknown-category:W99:c", "unidentified-chemical:c",
            "invalid-quantity:d"} <= set(r.flags)
    assert r.evidence == ("a",)


def test_empty_unit_is_not_major():
    r = assess_unit([], 10)
    assert (r.details["S"], r.score, r.level, r.components) == (0, 0, None, ())
    assert any(f.startswith("no-inventory-records") for f in r.flags)  # unknown, not "nothing held"


def test_colour_mapping_is_a_named_parameter():
    cfg = CFG.with_overrides({"colour": {"mapping": "alt", "mappings": {"alt": {"L1": "ORANGE"}}}})
    assert assess_unit([item(125, "液氯")], 10, config=cfg).colour == "ORANGE"
    with pytest.raises(ValueError):
        assess_unit([item(125, "液氯")], 10, config=CFG.with_overrides({"colour": {"mapping": "nope"}}))


# ---------------------------------------------------------------- properties
_CHEMICALS = [(c.pref_zh, ()) for c in vocabulary("NamedChemical").concepts.values()] + [
    (None, (code,)) for code in vocabulary("HazardCategory").concepts
] + [("未知", ()), (None, ("J3", "W2"))]
_LEVEL_RANK = {c.notation: c.rank for c in vocabulary("MajorHazardLevel").concepts.values()}

items_st = st.lists(
    st.tuples(st.sampled_from(_CHEMICALS), st.floats(min_value=0, max_value=5000, allow_nan=False)),
    max_size=8,
).map(lambda rows: [item(q, name, categories=cats, evidence=f"inv:{i}") for i, ((name, cats), q) in enumerate(rows)])
residents_st = st.one_of(st.none(), st.integers(min_value=0, max_value=1000))


def _rank(result):
    return _LEVEL_RANK.get(result.level, 0)


@settings(max_examples=60, deadline=None)
@given(items_st, residents_st, st.sampled_from(_CHEMICALS), st.floats(min_value=0, max_value=5000, allow_nan=False))
def test_adding_a_chemical_never_lowers_s_r_or_level(items, residents, chem, q):
    before = assess_unit(items, residents)
    after = assess_unit(items + [item(q, chem[0], categories=chem[1], evidence="inv:new")], residents)
    assert after.details["S"] >= before.details["S"]
    assert after.score >= before.score
    assert _rank(after) >= _rank(before)


@settings(max_examples=60, deadline=None)
@given(items_st, residents_st, st.data())
def test_raising_q_never_lowers_s_r_or_level(items, residents, data):
    if not items:
        return
    i = data.draw(st.integers(min_value=0, max_value=len(items) - 1))
    extra = data.draw(st.floats(min_value=0, max_value=5000, allow_nan=False))
    raised = list(items)
    raised[i] = item(items[i].quantity_t + extra, items[i].name, categories=items[i].categories,
                     evidence=items[i].evidence)
    before, after = assess_unit(items, residents), assess_unit(raised, residents)
    assert after.details["S"] >= before.details["S"] and after.score >= before.score
    assert _rank(after) >= _rank(before)


@settings(max_examples=60, deadline=None)
@given(items_st, residents_st)
def test_components_decompose_s_and_r(items, residents):
    r = assess_unit(items, residents)
    assert r.score >= 0 and r.details["S"] >= 0
    assert sum(c.value for c in r.components) == pytest.approx(r.details["S"])
    assert sum(c.contribution for c in r.components) == pytest.approx(r.score)
    assert (r.level is not None) == (r.details["S"] >= 1)


@settings(max_examples=60, deadline=None)
@given(items_st, residents_st, st.data())
def test_removing_an_item_removes_its_component(items, residents, data):
    full = assess_unit(items, residents)
    if not full.components:
        return
    gone = data.draw(st.sampled_from([c.evidence[0] for c in full.components]))
    removed = next(c for c in full.components if c.evidence == (gone,))
    less = assess_unit([i for i in items if i.evidence != gone], residents)
    assert gone not in less.evidence
    assert all(gone not in c.evidence for c in less.components)
    assert len(less.components) == len(full.components) - 1
    assert less.details["S"] == pytest.approx(full.details["S"] - removed.value, abs=1e-9)
    assert less.score == pytest.approx(full.score - removed.contribution, abs=1e-9)
