"""Helpers shared by several source modules."""
from __future__ import annotations

from ..truth import FLAG


def num(x: float) -> str:
    """Compact decimal text: 1200.0 → '1200', 12.50 → '12.5'."""
    return f"{x:.6f}".rstrip("0").rstrip(".") if isinstance(x, float) else str(x)


def legacy_flag(src, file: str, row: int, field: str, e) -> None:
    """Rows carrying a pilot-era USCC: keep the record, raise a quality flag."""
    if e is not None and e.legacy:
        src.dirt.defect(file, row, field, "uscc_legacy_check", e.uscc, e.uscc, FLAG, None, e.uscc)


def name_outcome(e, uscc_written: str, kind: str | None, authority: str | None) -> tuple[str, str]:
    """(pattern, expect) for a row that names enterprise ``e`` as variant ``kind`` (None: as registered).

    ``authority`` is the level of the region the row states besides the name: county, city, province
    or None. The rules are the issue's: a USCC (even mistyped) with the name links; a one-edit name
    alone goes to review; 字号 + 行业 without the place links only when a county authority confirms it.
    """
    pattern = kind or "exact"
    if uscc_written:
        return pattern, "link"
    if kind == "typo":
        return pattern, "review"
    body_only = kind == "no_place" or (kind == "drop_prefix" and not e.place.endswith(("省", "市")))
    if body_only and authority != "county":
        return pattern, "review"
    return pattern, "link"


def authority_level(e, text: str | None) -> str | None:
    """county, city or province for an authority named after the enterprise's county, city or province."""
    if not text:
        return None
    if text.startswith(e.county.full_name):
        return "county"
    if text.startswith(e.county.city_name):
        return "city"
    return "province" if text.startswith("河北") else None


def variant_of(rec) -> str | None:
    """The name variant a row's defect records carry (None: the name is written as registered)."""
    for r in rec or ():
        if r[1] == "name_variant":
            return r[7].get("variant")
    return None
