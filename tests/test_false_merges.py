"""No false merge: a row whose code and name point at different registered enterprises, whose name
is one enterprise's registered full name under another county's authority, whose second fields
belong to a rival, whose 字号 is a district's name, or whose code is another enterprise's (valid, or
of the legacy kind) waits for a person instead of being put on an enterprise; and a person's old
decision does not hold for a row the source has corrected since. Found by a review on 2026-12-07;
each case failed before. The registry is the hand-labelled one of tests/test_entity_resolution.py."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from stdnum.cn import uscc as stdnum_uscc

from riskgraph.loaders.load import load_directory
from riskgraph.loaders.resolve import EnterpriseIndex
from riskgraph.loaders.review import ReviewService
from tests.test_entity_resolution import registry  # noqa: F401 (a fixture)
from tests.test_loaders_hostile import REGISTRY_HEADER, csv_text, write_registry


@pytest.fixture
def reg(registry):  # noqa: F811
    index, rows = registry
    return index, {k: r["uscc"] for k, r in rows.items()}


# 1. a registered USCC + the registered full name of ANOTHER enterprise: linked by the code alone
@pytest.mark.parametrize("code_of, name", [
    ("R01", "沧县华瑞化工有限公司"),               # R02's registered name, one character from R01's
    ("R07", "沧县鸿达机械有限公司"),               # R06's registered name
    ("R09", "泊头市华通化工有限公司"),             # R10's registered name; its place contradicts R09's county
    ("R15", "沧州市华润化工有限公司黄骅分公司"),   # R23's name: the branch's row carries its parent's code
])
def test_a_code_and_another_registered_name_go_to_review(reg, code_of, name):
    index, U = reg
    r = index.resolve(U[code_of], name, None)
    assert r.outcome == "review", (r.outcome, r.uscc, r.reasons)


# 2. the exact registered name of one enterprise, under another county's authority: put on a third
@pytest.mark.parametrize("name, authority, named", [
    ("沧州市华润化工有限公司", "130983", "R15"),   # 黄骅 bureau; linked to R16 黄骅市华润化工有限公司
    ("唐山冀东化工有限公司", "130224", "R27"),     # 滦南 bureau; linked to R28 唐山冀东化工股份有限公司
])
def test_the_registered_full_name_under_another_county_is_not_put_on_another_enterprise(reg, name, authority, named):
    index, U = reg
    r = index.resolve(None, name, authority)
    assert not (r.outcome == "link" and r.uscc != U[named]), (r.outcome, r.uscc, r.reasons)


# 3. the full name of R17, but legal rep and address of R18 (which the model scores 0.9998 vs 0.73)
def test_second_fields_of_a_rival_stop_a_link_on_the_full_name(reg):
    index, U = reg
    r = index.resolve(None, "沧州金泰化工有限公司", None, legal_rep="高俊峰", address="河北省沧州市运河区黄河路19号")
    assert r.outcome != "link" or r.uscc == U["R18"], (r.outcome, r.uscc, [(c.uscc, c.score) for c in r.candidates])


# 4. a 字号 that is also a district name is stripped as a place: 新华 ≠ 裕华, both become "化工设备"
def test_a_district_name_used_as_the_trade_name_is_not_a_county_agreeing():
    index = EnterpriseIndex()
    index.add("91130105MA0000001X", "石家庄裕华建筑工程有限公司", "130105")  # 字号 裕华, seated in 新华区
    r = index.resolve(None, "石家庄新华建筑工程有限公司", None)             # 字号 新华: another company
    assert r.outcome != "link", (r.uscc, r.method, r.reasons)


# 5. a VALID but unregistered USCC two characters from R01's is read as "R01's, mistyped"
def test_a_valid_unregistered_uscc_is_not_another_enterprise_s_mistyped(reg):
    index, U = reg
    r01 = U["R01"]
    body = r01[:8] + ("0" if r01[8] != "0" else "1") + r01[9:17]
    code = body + stdnum_uscc.calc_check_digit(body)
    assert stdnum_uscc.is_valid(code) and code != r01
    r = index.resolve(code, "华润化工有限公司", None)   # alone, this name is ambiguous (R01, R15, R16)
    assert r.outcome != "link", (r.uscc, r.reasons)


# 6. a legacy (bad check digit) code one character from R01's + R02's registered name: conflicting
def test_a_mistyped_code_of_one_and_the_name_of_another_go_to_review(reg):
    index, U = reg
    r01 = U["R01"]
    bad = r01[:12] + ("7" if r01[12] != "7" else "8") + r01[13:]
    assert not stdnum_uscc.is_valid(bad)
    r = index.resolve(bad, "沧县华瑞化工有限公司", None)
    assert r.outcome == "review", (r.outcome, r.uscc, r.reasons)


# 7. a well-formed unregistered code contradicts the name when it is valid, but not when it is legacy
def test_an_unregistered_legacy_code_contradicts_like_a_valid_one(reg):
    index, _ = reg
    body = "91130921MA07ABCDE"
    valid = body + stdnum_uscc.calc_check_digit(body)
    legacy = body + ("1" if valid[-1] != "1" else "2")
    assert index.resolve(valid, "沧县华润化工有限公司", None).outcome == "review"
    r = index.resolve(legacy, "沧县华润化工有限公司", None)
    assert r.outcome == "review", (r.outcome, r.uscc, r.reasons)


# ---------------------------------------------------------------- through the loader
PENALTY_HEADER = ["处罚决定书文号", "违法行为", "处罚依据", "罚款金额", "处罚日期", "决定机关", "统一社会信用代码", "当事人名称",
                  "关联检查编号"]
R15, R16, R23 = "91130902096229608A", "911309838878109469", "9113098342527115X4"  # tests/data/er_registry.csv
R01, R02 = "91130921217533772M", "91130921747434158P"


def registry_row(code: str, name: str, rep: str, address: str) -> list[str]:
    row = {"统一社会信用代码": code, "企业名称": name, "法定代表人": rep, "注册地址": address, "所属行业代码": "2614",
           "成立日期": "2001-05-06", "注册资本（万元）": "500", "登记状态": "存续", "从业人数": "40", "所在园区": ""}
    return [row[h] for h in REGISTRY_HEADER]


REGISTRY = [
    registry_row(R15, "沧州市华润化工有限公司", "陈志强", "河北省沧州市新华区化工路2号"),
    registry_row(R16, "黄骅市华润化工有限公司", "徐建军", "河北省沧州市黄骅市滕庄子乡工业区"),
    registry_row(R23, "沧州市华润化工有限公司黄骅分公司", "陈志刚", "河北省沧州市黄骅市南排河镇港城路7号"),
    registry_row(R01, "沧县华润化工有限公司", "王建国", "河北省沧州市沧县兴济镇工业路8号"),
    registry_row(R02, "沧县华瑞化工有限公司", "李振华", "河北省沧州市沧县旧州镇化工园路3号"),
]


def penalty(number: str, authority: str, code: str, name: str) -> list[str]:
    return [number, "未按规定开展隐患排查", "安全生产法", "10000", "2024-03-01", authority, code, name, ""]


def export(root: Path, penalties: list[list[str]]) -> Path:
    write_registry(root, csv_text(REGISTRY_HEADER, REGISTRY))
    path = root / "enforcement" / "penalties.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(csv_text(PENALTY_HEADER, penalties), encoding="utf-8")
    return root


def penalised(s) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r in s.read("MATCH (e:Enterprise)-[:HAS_PENALTY]->(p:Penalty) RETURN p.id AS p, e.uscc AS u"):
        out.setdefault(r["p"], set()).add(r["u"])
    return out


def test_a_branch_s_penalty_with_its_parent_s_code_is_not_put_on_the_parent(tmp_path, store):  # noqa: F811
    # the 黄骅 bureau fines the 黄骅 branch (its registered name); the exporter filled in the parent's code
    load_directory(store, export(tmp_path / "x", [
        penalty("黄应急罚〔2024〕1号", "黄骅市应急管理局", R15, "沧州市华润化工有限公司黄骅分公司")]))
    assert penalised(store).get("黄应急罚〔2024〕1号") != {R15}, "the branch's penalty is on the head office"


def test_a_penalty_naming_one_registered_enterprise_is_not_put_on_another(tmp_path, store):  # noqa: F811
    # the 黄骅 bureau fines "沧州市华润化工有限公司": R15's registered full name, no code
    load_directory(store, export(tmp_path / "x", [
        penalty("黄应急罚〔2024〕2号", "黄骅市应急管理局", "", "沧州市华润化工有限公司")]))
    assert penalised(store).get("黄应急罚〔2024〕2号") != {R16}, "a penalty on 沧州市华润化工 is on 黄骅市华润化工"


def test_a_reviewer_s_old_decision_does_not_override_a_corrected_row(tmp_path, store):  # noqa: F811
    # first version: 华锐 is one character from both 华润 (R01) and 华瑞 (R02) -> review; a person picks R01
    load_directory(store, export(tmp_path / "v1", [penalty("沧应急罚〔2024〕7号", "沧县应急管理局", "", "沧县华锐化工有限公司")]))
    assert penalised(store).get("沧应急罚〔2024〕7号") is None
    ReviewService(store).link("Penalty:沧应急罚〔2024〕7号", R01, by="analyst")
    # the source corrects the row: R02's registered code and R02's registered full name
    load_directory(store, export(tmp_path / "v2", [penalty("沧应急罚〔2024〕7号", "沧县应急管理局", R02, "沧县华瑞化工有限公司")]))
    assert penalised(store).get("沧应急罚〔2024〕7号") != {R01}, "the corrected penalty stays on R01 by the old decision"
    assert penalised(store).get("沧应急罚〔2024〕7号") == {R02}  # by its registered code and name


def test_a_decided_item_is_reopened_when_the_corrected_row_is_still_ambiguous(tmp_path, store):  # noqa: F811
    load_directory(store, export(tmp_path / "v1", [penalty("沧应急罚〔2024〕8号", "沧县应急管理局", "", "沧县华锐化工有限公司")]))
    ReviewService(store).link("Penalty:沧应急罚〔2024〕8号", R01, by="analyst")
    assert penalised(store).get("沧应急罚〔2024〕8号") == {R01}
    # corrected to another name one character from both 华润 (R01) and 华瑞 (R02): a person decides again
    load_directory(store, export(tmp_path / "v2", [penalty("沧应急罚〔2024〕8号", "沧县应急管理局", "", "沧县华睿化工有限公司")]))
    item = store.read("MATCH (r:ReviewItem {id: 'Penalty:沧应急罚〔2024〕8号'}) "
                      "RETURN r.reviewStatus AS s, r.decidedUscc AS u, r.writtenName AS n, r.history AS h")[0]
    assert (item["s"], item["u"], item["n"]) == ("open", None, "沧县华睿化工有限公司")
    assert json.loads(item["h"])[-1]["action"] == "reopen"
    assert penalised(store).get("沧应急罚〔2024〕8号") is None
