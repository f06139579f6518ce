"""GB 18218-2018 Table 1 in full: qualified entries, the conservative row, the mixture rule.

Every expected value below is worked by hand from the standard's text, not read from the vocabulary:
  表1 (t): 第8项 甲醛(含量>90%) 5 · 第11项 氯化氢(无水) 20 · 第13项 煤气(CO，CO和H2、CH4的混合物等) 20 ·
  第37项 硝化纤维素[干的或含水(或乙醇)<25%] 1 · 第38项 硝化纤维素(未改型的，或增塑的，含增塑剂<18%) 1 ·
  第39项 硝化纤维素(含乙醇≥25%) 10 · 第40项 (含氮≤12.6%) 50 · 第41项 (含水≥25%) 50 ·
  第43项 硝酸铵(含可燃物>0.2%) 5 · 第44项 硝酸铵(含可燃物≤0.2%) 50 · 第45项 硝酸铵肥料(含可燃物≤0.4%) 200 ·
  第48项 二甲醚 50 · 第59项 丙酮 500 · 第64项 甲苯 500 · 第69项 乙酸乙酯 500 · 第81项 硝酸(>70%) 100
  表2: J3 50 · J5 500 · W2 10 · W5.3 1000 · W5.4 5000 · 表3 β: 氯化氢 3 · 表4 β: J3 2 · J5 1 · W2 1.5 · W5.3 1
  α: 1–29 → 1.0, 50–99 → 1.5.  Mixture rule (§4.2, after formula (1)): same category as the pure
  substance → counted whole at the substance's Q; another category → the Q of that category.
"""
from __future__ import annotations

import math

import pytest

from riskgraph.reasoning.models.config import load_config
from riskgraph.reasoning.models.major_hazard import InventoryItem, assess_unit
from riskgraph.reasoning.models.table1 import Interval, parse_specification

CFG = load_config("major_hazard")
WORDS = CFG["qualifiers"]


def item(q, name=None, cas=None, categories=(), evidence="", **kw):
    return InventoryItem(quantity_t=q, name=name, cas=cas, categories=categories, evidence=evidence or name or cas, **kw)


def test_toluene_acetone_ethyl_acetate_are_table1_at_500_t():
    # 300/500 + 200/500 + 100/500 = 0.6 + 0.4 + 0.2 = 1.2 ≥ 1 → major (under Table 2 W5.3 it would be
    # 600/1000 = 0.6, under W5.4 600/5000 = 0.12: not major).  α(60) = 1.5; β = 1 (表4 W5.3) for each:
    # R = 1.5 · (0.6 + 0.4 + 0.2) = 1.8 → 四级.
    unit = [item(300, "甲苯", "108-88-3", "W5.3"), item(200, "丙酮", "67-64-1", "W5.3"),
            item(100, "乙酸乙酯", "141-78-6", "W5.3")]
    r = assess_unit(unit, 60)
    assert r.details["S"] == pytest.approx(1.2) and r.details["major"]
    assert r.score == pytest.approx(1.8) and r.level == "L4"
    notes = {c.name: c.note for c in r.components}
    assert "Q=500 t (GB 18218-2018 表1 第64项)" in notes["甲苯"]
    assert "表1 第59项" in notes["丙酮"] and "表1 第69项" in notes["乙酸乙酯"]
    assert [row["table1_entry"] for row in r.details["items"]] == [64, 59, 69]


def test_formalin_below_90_percent_is_not_the_table1_entry():
    # 37 % formalin, 20 t, its own category J5 (表2 Q 500, β 1): S = 20/500 = 0.04, R = 1·1·0.04 = 0.04.
    solution = assess_unit([item(20, "甲醛溶液", "50-00-0", "J5", concentration_pct=37)], 10)
    assert solution.details["S"] == pytest.approx(0.04)
    assert "表2 J5" in solution.components[0].note and "第8项 does not apply" in solution.components[0].note
    # the same tank at 92 %: 表1 第8项, Q 5 → S = 20/5 = 4 → major
    pure = assess_unit([item(20, "甲醛", "50-00-0", concentration_pct=92)], 10)
    assert pure.details["S"] == pytest.approx(4.0) and pure.details["major"]
    # the content read from the name's bracket: "甲醛（37%）" → 37 % → not 第8项
    named = assess_unit([item(20, "甲醛（37%）", "50-00-0", "J5")], 10)
    assert named.details["S"] == pytest.approx(0.04)


def test_unknown_content_takes_the_conservative_row_and_says_so():
    # 3 t formaldehyde, content not stated: 第8项 (Q 5) is the lower Q → S = 3/5 = 0.6, flagged
    r = assess_unit([item(3, "甲醛", "50-00-0", evidence="inv:hcho")], 10)
    assert r.details["S"] == pytest.approx(0.6)
    assert any(f.startswith("qualifier-unknown:inv:hcho:took GB 18218-2018 表1 第8项") for f in r.flags)


def test_formalin_without_a_category_is_left_out_and_flagged():
    r = assess_unit([item(20, "甲醛溶液", "50-00-0", concentration_pct=37, evidence="inv:f")], 10)
    assert r.components == () and "table1-not-applicable-and-no-category:inv:f" in r.flags
    assert any(f.startswith("incomplete:1 item") for f in r.flags) and r.details["items_left_out"] == 1


@pytest.mark.parametrize("spec, expected_s, entry", [
    ("可燃物≤0.2%", 10 / 50, 44),      # 第44项
    ("可燃物>0.2%", 10 / 5, 43),       # 第43项
    ("工业级 可燃物 0.1%", 10 / 50, 44),
    (None, 10 / 5, 43),                # unknown → the lower Q of 第43项 (5) and 第44项 (50), flagged
])
def test_ammonium_nitrate_by_combustible_content(spec, expected_s, entry):
    r = assess_unit([item(10, "硝酸铵", "6484-52-2", specification=spec)], 10)
    assert r.details["S"] == pytest.approx(expected_s)
    assert r.details["items"][0]["table1_entry"] == entry
    assert any(f.startswith("qualifier-unknown") for f in r.flags) == (spec is None)


def test_ammonium_nitrate_fertiliser_is_its_own_entry():
    # 硝酸铵肥料(含可燃物≤0.4%) 第45项, Q 200: 10/200 = 0.05 (the name finds it even with the AN CAS number)
    r = assess_unit([item(10, "硝酸铵肥料", "6484-52-2", specification="可燃物≤0.3%")], 10)
    assert r.details["S"] == pytest.approx(0.05) and r.details["items"][0]["table1_entry"] == 45
    assert not r.flags


@pytest.mark.parametrize("spec, expected_s", [
    ("含乙醇≥25%", 12 / 10),   # 第39项
    ("含水≥30%", 12 / 50),     # 第41项 (and not 第37项: water ≥ 25 % is not < 25 %)
    ("含氮≤12.6%", 12 / 50),   # 第40项
    (None, 12 / 1),            # unknown: 第37/38项, Q 1 → S = 12, flagged
])
def test_nitrocellulose_forms(spec, expected_s):
    r = assess_unit([item(12, "硝化棉", "9004-70-0", specification=spec)], 10)
    assert r.details["S"] == pytest.approx(expected_s)


def test_hydrogen_chloride_only_when_anhydrous():
    # anhydrous 10 t: 第11项 Q 20, β 3 (表3) → S = 0.5, R = 1·3·0.5 = 1.5
    dry = assess_unit([item(10, "氯化氢", "7647-01-0", specification="无水 含量≥99.9%")], 10)
    assert (dry.details["S"], dry.score) == (pytest.approx(0.5), pytest.approx(1.5))
    # 盐酸 31 % (same CAS number): a solution, not 第11项; no Table 2 category given → left out, flagged
    acid = assess_unit([item(10, "盐酸", "7647-01-0", concentration_pct=31, evidence="inv:hcl")], 10)
    assert acid.components == () and "table1-not-applicable-and-no-category:inv:hcl" in acid.flags


def test_nitric_acid_by_content():
    # 68 % nitric acid, no category given: not 第81项 (>70 %) → left out and flagged; 98 %: Q 100 → 50/100 = 0.5
    assert assess_unit([item(50, "硝酸", "7697-37-2", concentration_pct=68)], 10).components == ()
    assert assess_unit([item(50, "硝酸", "7697-37-2", concentration_pct=98)], 10).details["S"] == pytest.approx(0.5)


def test_mixture_rule_same_and_other_category():
    # 二甲醚 (第48项, Q 50, its category W2): a 60 % mixture classified W2 is counted whole as 二甲醚:
    # S = 30/50 = 0.6; β 1.5 (表4 W2) → R = 0.9
    same = assess_unit([item(30, "二甲醚", "115-10-6", "W2", concentration_pct=60)], 10)
    assert (same.details["S"], same.score) == (pytest.approx(0.6), pytest.approx(0.9))
    # the same mixture classified only J3 (another category): 表2 J3, Q 50, β 2 → S = 0.6, R = 1.2
    other = assess_unit([item(30, "二甲醚", "115-10-6", "J3", concentration_pct=60)], 10)
    assert (other.details["S"], other.score) == (pytest.approx(0.6), pytest.approx(1.2))
    assert "表2 J3" in other.components[0].note
    # a 40 % toluene mixture of unstated category: the comparison cannot be made → the lower of 表1's 500
    # and nothing else → 500, flagged: S = 100/500 = 0.2
    unknown = assess_unit([item(100, "甲苯", "108-88-3", concentration_pct=40, evidence="inv:t")], 10)
    assert unknown.details["S"] == pytest.approx(0.2) and "mixture-category-unknown:inv:t" in unknown.flags
    # given W5.4 (5000) the lower Q is still 表1's 500 (toluene's own category is not linked)
    given = assess_unit([item(100, "甲苯", "108-88-3", "W5.4", concentration_pct=40)], 10)
    assert given.details["S"] == pytest.approx(0.2)
    # a technical grade (≥ 99 %) is the substance itself: no flag
    assert not assess_unit([item(100, "甲苯", "108-88-3", "W5.3", specification="含量≥99.5%")], 10).flags


def test_coal_gas_entry_by_name():
    # 焦炉煤气 (a 煤气 of 第13项, no CAS number): Q 20, β 2 (表3 一氧化碳) → 4 t: S = 0.2, R = 0.4
    r = assess_unit([item(4, "焦炉煤气")], 10)
    assert (r.details["S"], r.score) == (pytest.approx(0.2), pytest.approx(0.4))
    assert "表1 第13项" in r.components[0].note and "一氧化碳" in r.components[0].note


def test_name_and_cas_disagreeing_trusts_the_cas_and_flags():
    # named 甲苯 but CAS 71-43-2 (苯, 第57项, Q 50): 10/50 = 0.2
    r = assess_unit([item(10, "甲苯", "71-43-2", evidence="inv:x")], 10)
    assert r.details["S"] == pytest.approx(0.2) and "name-cas-disagree:inv:x" in r.flags


def test_specification_text_is_read_as_intervals():
    measures, states = parse_specification("工业级，含量≥99.9%，无水", WORDS)
    assert measures["content"] == Interval(99.9, math.inf, True, True) and states == {"anhydrous"}
    measures, states = parse_specification("37%水溶液", WORDS)
    assert measures["content"] == Interval.exactly(37.0) and states == {"solution"}
    measures, _ = parse_specification("可燃物<0.2%，含水：5%", WORDS)
    assert measures["combustibles"] == Interval(-math.inf, 0.2, True, False)
    assert measures["water"] == Interval.exactly(5.0) and "content" not in measures
