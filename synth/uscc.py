"""Unified social credit codes (统一社会信用代码, GB 32100-2015) and their corruptions.

Why: entity resolution keys on the USCC.  Real codes are built as
登记管理部门(1) + 机构类别(1) + GB/T 2260 region(6) + 组织机构代码(9, GB 11714 with its
own check char) + check char; the final check char comes from
``stdnum.cn.uscc.calc_check_digit`` (never hand-written).  The corruptions here
are the ones seen in bureau data: pilot-era codes whose check char fails,
malformed codes (I/O/S/V/Z, wrong length) and lower-case letters.
"""
from __future__ import annotations

import random

from stdnum.cn import uscc as _uscc

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ORG_BODY_LETTERS = "ABCDEFGHJKLMNPQRTUWXY"  # GB 11714 letters that are also legal in a USCC
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _org_value(ch: str) -> int:
    return int(ch) if ch.isdigit() else ord(ch) - 55  # GB 11714: A=10 … Z=35


def org_code(rng: random.Random) -> str:
    """A 9-char 组织机构代码 (8 body chars + GB 11714 check char), mostly digits."""
    body = []
    for i in range(8):
        if i >= 2 and rng.random() < 0.06:
            body.append(rng.choice(_ORG_BODY_LETTERS))
        else:
            body.append(str(rng.randrange(10)))
    s = sum(_org_value(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=False))
    c9 = 11 - s % 11
    check = "X" if c9 == 10 else "0" if c9 == 11 else str(c9)
    return "".join(body) + check


def make(rng: random.Random, region_code: str, kind: str = "91") -> str:
    """A valid 18-char USCC for an enterprise (``91`` = 工商 / 企业) registered in ``region_code``."""
    base = kind + region_code + org_code(rng)
    return base + _uscc.calc_check_digit(base)


def is_valid(code: str) -> bool:
    """Strict validity (length, charset, check char) per python-stdnum; case-sensitive."""
    return code == code.upper() and _uscc.is_valid(code)


def legacy_variant(code: str, rng: random.Random) -> str:
    """Same code with a *wrong* check char (pilot-era codes that are real yet fail GB 32100)."""
    good = code[-1]
    bad = rng.choice([c for c in ALPHABET if c != good])
    return code[:-1] + bad


def malformed_variant(code: str, rng: random.Random) -> tuple[str, str]:
    """A code no loader can accept as-is; returns (value, how).

    Kinds: a letter outside the charset (I/O/S/V/Z, typical OCR/typing confusions of 1/0/5/U/2),
    a dropped char (17 chars), a doubled char (19 chars).
    """
    kind = rng.choice(("letter", "letter", "short", "long"))
    pos = rng.randrange(8, 17)
    if kind == "letter":
        sub = {"1": "I", "0": "O", "5": "S", "U": "V", "2": "Z"}
        cands = [i for i in range(2, 17) if code[i] in sub]
        if cands:
            i = rng.choice(cands)
            return code[:i] + sub[code[i]] + code[i + 1:], "letter_" + sub[code[i]]
        return code[:pos] + rng.choice("IOSVZ") + code[pos + 1:], "letter"
    if kind == "short":
        return code[:pos] + code[pos + 1:], "length_17"
    return code[:pos] + code[pos] + code[pos:], "length_19"


def lowercase_variant(code: str) -> str | None:
    """Lower-cased code, or None when it has no letters (nothing to lower-case)."""
    low = code.lower()
    return low if low != code else None
