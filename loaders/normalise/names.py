"""Company names: one display form, and a looser key for matching spellings across sources.

A registered name is 行政区划 + 字号 + 行业 + 组织形式 (企业名称登记管理规定). Sources drop or
abbreviate the place part and swap legal-form spellings, so the matching key keeps only
字号 + 行业 with a canonical legal form.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SPACES = re.compile(r"\s+")
# longest first, so 有限责任公司 is not half-replaced by 有限公司
_SUFFIX_VARIANTS = (("股份有限公司", "股份公司"), ("有限责任公司", "公司"), ("有限公司", "公司"))
_PLACE_SUFFIXES = ("自治县", "自治州", "地区", "新区", "省", "市", "县", "区", "盟", "旗")
_AUTONOMOUS = re.compile(r"^(.{2,}?)(?:[\u4e00-\u9fff]{1,4}?族)+自治(?:县|州|旗)$")
#: 字号 (≥ 2) + 行业 (≥ 2) + 公司: a shorter remainder means the "place" was part of the 字号
MIN_CORE = 6


def clean_name(text: str | None) -> str:
    """Display form: full-width letters and digits folded, spaces removed, brackets as （）."""
    if text is None:
        return ""
    folded = unicodedata.normalize("NFKC", str(text))
    folded = _SPACES.sub("", folded)
    return folded.replace("(", "（").replace(")", "）")


@lru_cache(maxsize=1)
def _places() -> tuple[re.Pattern[str], dict[str, tuple[str, ...]]]:
    """Every GB/T 2260 place name, with and without its 省/市/县/区 suffix, and the codes it names."""
    from riskgraph.loaders.normalise.regions import region_table

    codes: dict[str, set[str]] = {}
    for entry in region_table().values():
        codes.setdefault(entry.name, set()).add(entry.code)
        autonomous = _AUTONOMOUS.match(entry.name)
        if autonomous:  # 孟村回族自治县 is written 孟村
            codes.setdefault(autonomous.group(1), set()).add(entry.code)
        for suffix in _PLACE_SUFFIXES:
            if entry.name.endswith(suffix) and len(entry.name) - len(suffix) >= 2:
                codes.setdefault(entry.name[: -len(suffix)], set()).add(entry.code)
                break
    alternatives = "|".join(re.escape(n) for n in sorted(codes, key=len, reverse=True))
    return re.compile(f"^(?:{alternatives})"), {n: tuple(sorted(c)) for n, c in codes.items()}


def _area(code: str) -> str:
    """The code's significant prefix: 13 for a province, 1301 for a city, 130102 for a county."""
    return code[:2] if code.endswith("0000") else code[:4] if code.endswith("00") else code


def strip_places(name: str) -> str:
    """Remove the leading place names (河北省石家庄市长安区…), each inside the one before it,
    while enough of the name remains: 中山 in 石家庄市长安区中山化工 is a 字号, not 中山市."""
    pattern, codes = _places()
    within = ""
    while True:
        match = pattern.match(name)
        if not match or len(name) - match.end() < MIN_CORE:
            return name
        nested = [c for c in codes[match.group(0)] if c.startswith(within) and _area(c) != within]
        if not nested:
            return name
        within = min((_area(c) for c in nested), key=len)  # 河北: the province, not 天津's 河北区
        name = name[match.end():]


def legal_key(text: str | None) -> str:
    """The display form without brackets and with a canonical legal form (有限责任公司 → 公司)."""
    name = clean_name(text).replace("（", "").replace("）", "")
    for long, short in _SUFFIX_VARIANTS:
        if name.endswith(long):
            return name[: -len(long)] + short
    return name


def match_key(text: str | None) -> str:
    """Matching form: 字号 + 行业 + a canonical legal form, without leading place names."""
    return strip_places(legal_key(text))
