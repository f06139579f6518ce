"""How source systems spell dates, money and quantities — the heterogeneity loaders must undo.

Why: these are the baseline format mixtures of the real systems (recorded in the
truth as ``date_format`` / ``money_unit`` / ``quantity_unit`` with the value a
correct loader must store), plus the unparseable junk the dirt injector uses.
"""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta

_CN_NUM = "零一二三四五六七八九十"


def iso(d: date) -> str:
    return d.isoformat()


def cn_date(d: date) -> str:
    """2024年3月5日"""
    return f"{d.year}年{d.month}月{d.day}日"


def slash_date(d: date) -> str:
    """2024/3/5"""
    return f"{d.year}/{d.month}/{d.day}"


def dot_date(d: date) -> str:
    """2024.03.05 (licensing clerks)"""
    return f"{d.year}.{d.month:02d}.{d.day:02d}"


def mixed_date(rng: random.Random, d: date, p_iso: float, alts=(cn_date, slash_date)) -> tuple[str, bool]:
    """A date string in ISO with probability ``p_iso``, otherwise one of ``alts``; (text, is_iso)."""
    if rng.random() < p_iso:
        return d.isoformat(), True
    return rng.choice(alts)(d), False


def bad_date(rng: random.Random) -> str:
    """A date no parser can accept."""
    return rng.choice(("2024年13月40日", "2025-02-30", "2023/00/12", "二〇二四年三月", "20241305", "待定"))


def out_of_range_date(rng: random.Random, today: date) -> tuple[str, date]:
    """A parseable but impossible date: 1900-01-01 or in the future (after ``today``)."""
    if rng.random() < 0.5:
        d = date(1900, 1, 1)
    else:
        d = today + timedelta(days=rng.randint(30, 900))
    return d.isoformat(), d


def rand_date(rng: random.Random, start: date, end: date) -> date:
    """Uniform date in [start, end]."""
    return start + timedelta(days=rng.randint(0, (end - start).days))


def iso_cst(dt: datetime) -> str:
    """ISO 8601 with the China Standard Time offset, e.g. 2026-07-01T08:15:00+08:00."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + "+08:00"


def money(rng: random.Random, yuan: float) -> tuple[str, bool]:
    """Penalty amount as enforcement clerks type it; (text, canonical?).

    Canonical = plain number in 元 ("50000").  Others: "50000元", "5万元", "5.5万".
    """
    x = rng.random()
    if x < 0.45:
        return f"{yuan:.0f}", True
    if x < 0.65:
        return f"{yuan:.0f}元", False
    wan = yuan / 10000
    wan_s = f"{wan:.4f}".rstrip("0").rstrip(".")
    if x < 0.90:
        return f"{wan_s}万元", False
    return f"{wan_s}万", False


def cn_number(n: int) -> str:
    """Chinese numerals for 1–9999: 5 → 五, 30 → 三十, 15 → 十五, 120 → 一百二十."""
    if n < 10:
        return _CN_NUM[n]
    if n < 20:
        return "十" + (_CN_NUM[n - 10] if n > 10 else "")
    out, zero = "", False
    for unit, div in (("千", 1000), ("百", 100), ("十", 10), ("", 1)):
        dgt = n // div % 10
        if dgt:
            if zero and out:
                out += "零"
            out += _CN_NUM[dgt] + unit
            zero = False
        elif out:
            zero = True
    return out


def cn_amount(n: int) -> str:
    """Rough spoken amounts: 约五万, 约三十万, 约一百二十万 (unparseable on purpose)."""
    return "约" + cn_number(max(1, min(9999, n))) + "万"


def quantity(rng: random.Random, tonnes: float) -> tuple[str, bool, float]:
    """Max inventory as hazard-source systems hold it; (text, canonical?, value in t).

    ``tonnes`` is first quantised to whole kilograms, so every spelling denotes the same
    amount exactly.  Canonical = "<number>t".  Others: kg, 吨, 公斤, with or without a space.
    """
    kg = max(1, round(tonnes * 1000))
    t = kg / 1000
    t_s = f"{t:.3f}".rstrip("0").rstrip(".")
    x = rng.random()
    if x < 0.50:
        return t_s + rng.choice(("t", "t", " t")), True, t
    if x < 0.70:
        return f"{kg}" + rng.choice(("kg", " kg")), False, t
    if x < 0.90:
        return t_s + "吨", False, t
    return f"{kg}公斤", False, t
