"""Shared by the tests of review items a load settles: a registry that gains 沧县衡信化工 (F) or an
unrelated company, penalty files with repeated numbers, a one-row licence workbook, and a wait for
the clock's next second (loads are timed to the second). No test functions."""
from __future__ import annotations

import csv
import json
import time
from pathlib import Path

from er_support import PENALTIES, REGISTRY, B, code, penalty_owner, write_export
from test_loaders_hostile import LICENCE_HEADER, licence_book

from riskgraph.loaders.review import ReviewService

F = code("130921", "66666666")
#: 沧县衡信化工 registers later: P5, in review beside 恒信 (C), is about it
LATER = [*REGISTRY, (F, "沧县衡信化工有限公司", "赵立国", "河北省沧州市沧县崔尔庄镇西街3号")]
OTHER = code("130921", "77777777")
#: an unrelated enterprise registers: the registry moves on, placing nothing
MOVED = [*REGISTRY, (OTHER, "沧县远达机械有限公司", "孙伟", "")]
PEN_HEADER = ["处罚决定书文号", "当事人名称", "统一社会信用代码", "违法行为", "处罚依据", "罚款金额", "处罚日期", "决定机关",
              "关联检查编号"]


def pen_cells(number: str, name: str, fine: str, uscc: str = "") -> list[str]:
    return [number, name, uscc, "未按规定排查治理事故隐患", "《安全生产法》第一百零二条", fine, "2026-03-05", "沧县应急管理局", ""]


def penalty_lines(root: Path, lines: list[str]) -> Path:
    """enforcement/penalties.csv written as these raw CSV lines (after the header)."""
    path = root / "enforcement" / "penalties.csv"
    path.write_text(",".join(PEN_HEADER) + "\r\n" + "".join(line + "\r\n" for line in lines), encoding="utf-8")
    return root


def pen_line(number: str, name: str, fine: str, *, quoted: bool = False, uscc: str = "") -> str:
    """One raw CSV line of penalties.csv; `quoted`: every cell in quotes (the same row, other bytes)."""
    cells = pen_cells(number, name, fine, uscc)
    return ",".join(f'"{c}"' for c in cells) if quoted else ",".join(cells)


def with_penalty_rows(root: Path, rows: list[tuple[str, str, str]]) -> Path:
    """penalties.csv with these rows (number, name, fine): a number may repeat."""
    with (root / "enforcement" / "penalties.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(PEN_HEADER)
        for number, name, fine in rows:
            w.writerow(pen_cells(number, name, fine))
    return root


def penalty_state(store, key: str) -> tuple[list[str], str | None]:
    """The penalty's enterprises and its review item's status."""
    item = store.get_node("ReviewItem", f"Penalty:{key}") or {}
    return penalty_owner(store, key), item.get("reviewStatus")


def with_licences(root: Path, rows: list[list[str]]) -> Path:
    """The export with a licensing workbook of these rows (LICENCE_HEADER's columns)."""
    licence_book(root / "licensing" / "licences.xlsx", {"2024": [LICENCE_HEADER, *rows]})
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"].append({"source": "licensing", "path": "licensing/licences.xlsx"})
    (root / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return root


def with_licence(root: Path, address: str, rep: str = "赵立国", name: str = "沧县衡信化工有限公司") -> Path:
    """The export with a licensing workbook of one licence, LIC-1, held by `name`."""
    return with_licences(root, [["LIC-1", "安全生产许可证", "危险化学品生产", "2024-01-01", "2027-01-01", "河北省应急管理厅", "有效",
                                 "", name, rep, address]])


def decide(store, key: str, decision: str) -> None:
    """A person's decision on the penalty's item: `link` it to B, or `reject` every candidate."""
    reviews = ReviewService(store)
    if decision == "link":
        reviews.link(f"Penalty:{key}", B, by="analyst1")
    else:
        reviews.reject(f"Penalty:{key}", by="analyst1")


def corrected_p2(root: Path) -> Path:
    """The export with P2's party corrected from 沧县华锐化工 (A or B?) to 沧县华润化工 (A, certain)."""
    _, authority, fine = PENALTIES["P2"]
    return write_export(root, {**PENALTIES, "P2": ("沧县华润化工有限公司", authority, fine)})


def next_second() -> None:
    """Wait until the clock's second changes (a condition, not a fixed time)."""
    start = int(time.time())
    while int(time.time()) == start:
        time.sleep(0.01)
