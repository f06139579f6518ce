"""Regional supplies are counted per category with their unit, never added across units."""
from __future__ import annotations

import pytest

from riskgraph.reasoning.models.config import load_config
from riskgraph.reasoning.models.inform import inform_index
from riskgraph.reasoning.steps.inform import inform_config, supply_groups

ASSESS = load_config("assess")
CONVERSIONS = ASSESS["supplies"]["conversions"]


def test_groups_keep_units_apart_and_convert_only_defined_units():
    area = {"supply|防汛抗旱|艘": 3, "supply|防汛抗旱|件": 200, "supply|危化品处置|吨": 2, "supply|危化品处置|千克": 500,
            "supply|生活救助|箱": 40, "rescue_members": 12}
    # 2 吨 = 2 × 1000 千克 = 2000 千克, plus 500 千克 → 2500 千克; 艘, 件, 箱 stay apart (no conversion defined)
    assert supply_groups(area, CONVERSIONS) == {("防汛抗旱", "艘"): 3, ("防汛抗旱", "件"): 200,
                                               ("危化品处置", "千克"): 2500, ("生活救助", "箱"): 40}


def test_each_group_is_its_own_indicator_with_its_unit_and_a_share_of_the_weight():
    groups = [("防汛抗旱", "艘"), ("生活救助", "箱")]
    cfg = inform_config(ASSESS, "region", groups)
    specs = cfg["indicators"]
    assert "supplies" not in specs and "supplies_per_resident" not in specs
    boats = specs["supplies_per_resident[防汛抗旱/艘]"]
    base = ASSESS["inform"]["region"]["indicators"]["supplies_per_resident"]
    assert boats["unit"] == "艘/人" and boats["label"] == f"{base['label']}（防汛抗旱）"
    assert boats["weight"] == pytest.approx(base["weight"] / 2)
    assert specs["supplies[生活救助/箱]"]["unit"] == "箱"
    assert all("unit" in spec for spec in specs.values())  # every indicator shows its unit
    # two counties: A has 10 boats, 0 boxes; B 0 boats, 400 boxes. Each is scored against its own unit:
    # under "zero" goalposts and log scaling A's boats score 10 and B's boxes 10, never 10 + 400 = 410 "items".
    peers = {c: {k: 0.0 for k in specs} for c in ("A", "B")}
    peers["A"]["supplies[防汛抗旱/艘]"], peers["B"]["supplies[生活救助/箱]"] = 10.0, 400.0
    results = inform_index(peers, config=cfg)
    notes = {c.name: c.note for c in results["A"].components}
    assert "raw 10 艘" in notes["lack_of_coping_capacity.supplies[防汛抗旱/艘]"]
    assert results["A"].parameters["units"]["supplies[生活救助/箱]"] == "箱"
