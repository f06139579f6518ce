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
