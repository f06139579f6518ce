"""GB 18218-2018 substances, critical quantities and the S / R computation.

Why: inventories must make S = Σ q/Q cross 1 for a realistic share of chemical
enterprises and R span 一级…四级, and the truth must carry the values a correct
loader + model would compute.  Values come from standards.md §1 (Table 1 named
substances, Table 3 β for named toxic gases, Table 4 β by category).  Substances
not named in Table 1 use their Table 2 category.

These numbers deliberately do NOT come from the ontology's vocabularies: the generator's truth is an
independent oracle, so a wrong value in `ontology/vocabularies.ttl` or a slip in the reasoning models
shows up as a disagreement in the tests instead of being copied into the expected answers.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Chemical:
    name: str      # as written in inventories (GB 18218 Table 1 name where named)
    cas: str
    category: str  # GB 18218 hazard category written in 危险性类别 (primary)
    Q: float       # critical quantity, t (Table 1 if named, else Table 2 by category)
    beta: float    # correction factor β (Table 3 if a named toxic gas, else Table 4 by category)
    named: bool    # named in Table 1


CHEMICALS: dict[str, Chemical] = {c.name: c for c in (
    # named in Table 1; β from Table 3 for the named toxic gases, otherwise from the category
    Chemical("液氯", "7782-50-5", "J3", 5, 4, True),
    Chemical("氨", "7664-41-7", "J3", 10, 2, True),
    Chemical("氯化氢(无水)", "7647-01-0", "J3", 20, 3, True),
    Chemical("硫化氢", "7783-06-4", "J3", 5, 5, True),
    Chemical("光气", "75-44-5", "J1", 0.3, 20, True),
    Chemical("环氧乙烷", "75-21-8", "W2", 10, 2, True),
    Chemical("甲醇", "67-56-1", "W5.4", 500, 1, True),
    Chemical("汽油", "86290-81-5", "W5.4", 200, 1, True),
    Chemical("液化石油气", "68476-85-7", "W2", 50, 1.5, True),
    Chemical("苯", "71-43-2", "W5.4", 50, 1, True),
    Chemical("氢", "1333-74-0", "W2", 5, 1.5, True),
    Chemical("甲醛", "50-00-0", "J3", 5, 2, True),
    Chemical("乙炔", "74-86-2", "W2", 1, 1.5, True),
    Chemical("甲烷/天然气", "74-82-8", "W2", 50, 1.5, True),
    # not named in Table 1: Q and β by category (W5.4 = other flammable liquids category 2)
    Chemical("甲苯", "108-88-3", "W5.4", 5000, 1, False),
    Chemical("二甲苯", "1330-20-7", "W5.4", 5000, 1, False),
    Chemical("丙酮", "67-64-1", "W5.4", 5000, 1, False),
    Chemical("乙酸乙酯", "141-78-6", "W5.4", 5000, 1, False),
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
