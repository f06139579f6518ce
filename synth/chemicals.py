"""GB 18218-2018 substances, critical quantities and the S / R computation.

Why: inventories must make S = Σ q/Q cross 1 for a realistic share of chemical
enterprises and R span 一级…四级, and the truth must carry the values a correct
loader + model would compute.  Every value below is typed from the standard's text
(GB 18218-2018 Table 1 entry 序号 and Q; Table 2 Q by category; Table 3 β for named
toxic gases; Table 4 β by category) and says which entry it is; a substance not in
Table 1 uses its Table 2 category.

Categories: flammable liquids of GHS category 2 without special process conditions are W5.3
(Table 2: "不属于W5.1或W5.2的其他类别2", 1000 t), category 3 are W5.4 (5000 t).

Formaldehyde: Table 1 entry 8 is 甲醛 (含量>90%) only. Pure formaldehyde is written without a 含量,
so the standard's conservative reading applies (entry 8, Q 5 t); the 37 % solution (福尔马林) is a
mixture that takes the Table 2 Q of its own category (J5, 500 t) by §4.2's mixture rule.

These numbers deliberately do NOT come from the ontology's vocabularies: the generator's truth is an
independent oracle, so a wrong value in `ontology/vocabularies.ttl` or a slip in the reasoning models
shows up as a disagreement in the tests instead of being copied into the expected answers.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Chemical:
    name: str      # as written in inventories (GB 18218 Table 1 name or 别名 where named)
    cas: str
    category: str  # GB 18218 hazard category written in 危险性类别 (primary)
    Q: float       # critical quantity, t (Table 1 if named, else Table 2 by category)
    beta: float    # correction factor β (Table 3 if a named toxic gas, else Table 4 by category)
    entry: int | None  # GB 18218-2018 Table 1 序号 the Q comes from; None = Table 2 by category
    content: str = ""  # 含量 (%) written in the inventory; "" = not stated

    @property
    def named(self) -> bool:
        """Q from Table 1."""
        return self.entry is not None

    @property
    def source(self) -> str:
        return f"GB 18218-2018 表1 第{self.entry}项" if self.entry else f"GB 18218-2018 表2 {self.category}"


CHEMICALS: dict[str, Chemical] = {c.name: c for c in (
    # named in Table 1 (序号); β from Table 3 for the named toxic gases, otherwise Table 4 by category
    Chemical("液氯", "7782-50-5", "J3", 5, 4, 12),          # 表1 第12项 氯 (液氯), 表3 β 4
    Chemical("氨", "7664-41-7", "J3", 10, 2, 1),            # 第1项, 表3 β 2
    Chemical("氯化氢(无水)", "7647-01-0", "J3", 20, 3, 11),  # 第11项, 表3 β 3
    Chemical("硫化氢", "7783-06-4", "J3", 5, 5, 10),        # 第10项, 表3 β 5
    Chemical("光气", "75-44-5", "J1", 0.3, 20, 6),          # 第6项 碳酰氯 (光气), 表3 β 20
    Chemical("环氧乙烷", "75-21-8", "W2", 10, 2, 7),        # 第7项, 表3 β 2
    Chemical("甲醇", "67-56-1", "W5.3", 500, 1, 65),        # 第65项; 表4 W5.3 β 1
    Chemical("汽油", "86290-81-5", "W5.3", 200, 1, 66),     # 第66项
    Chemical("液化石油气", "68476-85-7", "W2", 50, 1.5, 52),  # 第52项; 表4 W2 β 1.5
    Chemical("苯", "71-43-2", "W5.3", 50, 1, 57),           # 第57项
    Chemical("氢", "1333-74-0", "W2", 5, 1.5, 51),          # 第51项
    Chemical("甲醛", "50-00-0", "J3", 5, 2, 8),             # 第8项 (含量>90%): 含量 not stated → this row; 表4 J3 β 2
    Chemical("乙炔", "74-86-2", "W2", 1, 1.5, 54),          # 第54项
    Chemical("甲烷/天然气", "74-82-8", "W2", 50, 1.5, 49),   # 第49项 甲烷，天然气
    Chemical("甲苯", "108-88-3", "W5.3", 500, 1, 64),       # 第64项
    Chemical("丙酮", "67-64-1", "W5.3", 500, 1, 59),        # 第59项
    Chemical("乙酸乙酯", "141-78-6", "W5.3", 500, 1, 69),   # 第69项
    # not in Table 1: Q and β by category
    Chemical("二甲苯", "1330-20-7", "W5.4", 5000, 1, None),  # flammable liquid cat. 3: 表2 W5.4, 表4 β 1
    Chemical("甲醛溶液", "50-00-0", "J5", 500, 1, None, "37"),  # 37 % ≤ 90 %: not 第8项; 表2 J5 500, 表4 β 1
)}


def alpha(residents: int) -> float:
    """α by permanent residents within 500 m outside the boundary (GB 18218-2018 Table 5)."""
    if residents >= 100:
        return 2.0
    if residents >= 50:
        return 1.5
    if residents >= 30:
        return 1.2
    if residents >= 1:
        return 1.0
    return 0.5


def level(R: float) -> str:
    """Grade of a major hazard source from R."""
    if R >= 100:
        return "一级"
    if R >= 50:
        return "二级"
    if R >= 10:
        return "三级"
    return "四级"


def s_and_r(items: list[tuple[str, float]], residents: int) -> tuple[float, float]:
    """S = Σ q/Q and R = α Σ β q/Q for (chemical name, q in t) items."""
    S = sum(q / CHEMICALS[n].Q for n, q in items)
    R = alpha(residents) * sum(CHEMICALS[n].beta * q / CHEMICALS[n].Q for n, q in items)
    return S, R
