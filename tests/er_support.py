"""A tiny export with the issue's look-alike companies, for the review-queue and API tests: a market
registry and one penalty file, written the way the source systems write them. No test functions."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from stdnum.cn import uscc as stdnum_uscc


def code(region: str, serial: str) -> str:
    base = "91" + region + serial.rjust(9, "0")
    return base + stdnum_uscc.calc_check_digit(base)


A = code("130921", "11111111")   # 沧县华润化工
B = code("130921", "22222222")   # 沧县华瑞化工: one character from A
C = code("130921", "33333333")   # 沧县恒信化工
D = code("130981", "44444444")   # 泊头市华通化工
E = code("130921", "55555555")   # 沧县华通化工: the same 字号 + 行业 as D

REGISTRY = [
    (A, "沧县华润化工有限公司", "王建国", "河北省沧州市沧县兴济镇工业路8号"),
    (B, "沧县华瑞化工有限公司", "李振华", ""),                  # the registry lacks its address
    (C, "沧县恒信化工有限公司", "张立新", "河北省沧州市沧县崔尔庄镇东街12号"),
    (D, "泊头市华通化工有限公司", "周文博", "河北省沧州市泊头市交河镇工业区"),
    (E, "沧县华通化工有限公司", "马志刚", "河北省沧州市沧县大官厅乡化工街9号"),
]
#: penalty number → (name as written, deciding authority, fine): the outcome a correct resolver reaches
PENALTIES = {
    "P1": ("沧县华润化工有限公司", "沧县应急管理局", "20000"),     # link A: the registered name
    "P2": ("沧县华锐化工有限公司", "沧县应急管理局", "30000"),     # review: one edit from A and from B
    "P3": ("华通化工有限公司", "沧州市应急管理局", "10000"),       # review: the city does not tell 沧县 from 泊头
    "P4": ("献县华通化工有限公司", "沧州市应急管理局", "50000"),   # no match: 献县 contradicts both
    "P5": ("沧县衡信化工有限公司", "沧县应急管理局", "10000"),     # review: 衡信 may be another company than 恒信
    "P6": ("沧县华润化工有限公司", "沧县应急管理局", "15000"),     # link A
    "P7": ("沧县恒信化工有限公司", "沧县应急管理局", "40000"),     # link C
}
EXPECTED_REVIEW = {"P2", "P3", "P5"}


def write_export(root: Path, penalties: dict[str, tuple[str, str, str]] | None = None,
                 registry: list[tuple[str, str, str, str]] | None = None) -> Path:
    """The export folder (manifest, registry, penalties); `penalties` replaces PENALTIES, `registry` REGISTRY."""
    (root / "market_registry").mkdir(parents=True, exist_ok=True)
    (root / "enforcement").mkdir(parents=True, exist_ok=True)
    with (root / "market_registry" / "subjects.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["统一社会信用代码", "企业名称", "法定代表人", "注册地址", "登记状态"])
        for uscc, name, rep, address in registry or REGISTRY:
            w.writerow([uscc, name, rep, address, "存续"])
    with (root / "enforcement" / "penalties.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["处罚决定书文号", "当事人名称", "统一社会信用代码", "违法行为", "处罚依据", "罚款金额", "处罚日期", "决定机关",
                    "关联检查编号"])
        for number, (name, authority, fine) in (penalties or PENALTIES).items():
            w.writerow([number, name, "", "未按规定排查治理事故隐患", "《安全生产法》第一百零二条", fine, "2026-03-05", authority, ""])
    manifest = {"exportedOn": "2026-11-01", "province": {"code": "130000", "name": "河北省"},
                "files": [{"source": "market_registry", "path": "market_registry/subjects.csv"},
                          {"source": "enforcement", "path": "enforcement/penalties.csv"}]}
    (root / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return root


def penalty_owner(store, number: str) -> list[str]:
    return [r["u"] for r in store.read("MATCH (e:Enterprise)-[:HAS_PENALTY]->(p:Penalty {id: $id}) RETURN e.uscc AS u",
                                       {"id": number})]
