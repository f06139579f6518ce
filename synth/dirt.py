"""Defect injection: decides *whether* and *how* a row gets dirty, and records it.

Why: dirt must be reproducible and independent of the clean data — each source
draws dirt from its own ``Random`` stream (``"{seed}:{source}:dirt"``), so two
runs with different ``dirt_rate`` share the same underlying clean records.
Every mutation made here is written to truth/defects.jsonl with the outcome a
correct loader must reach.
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from . import uscc as uscc_mod
from .names import variants
from .truth import FLAG, QUARANTINE, REPAIR, Truth

#: one defect a source decides on before writing its row, handed to `Dirt.defect` after:
#: (field, code, original, injected, expected, reason, expected_value, extra)
DefectRecord = tuple[str | None, str, Any, Any, str, str | None, Any, dict[str, Any]]
#: the same without `extra`, for sources whose defects carry none
PlainDefectRecord = tuple[str | None, str, Any, Any, str, str | None, Any]

#: Free-typed sources (inspectors, clerks, citizens) misspell names this many times more often.
NAME_VARIANT_MULT = 3.0
#: Exact duplicate rows happen at this fraction of ``dirt_rate`` per row.
DUPLICATE_MULT = 0.2


class Dirt:
    """Per-source dirt decisions plus defect recording."""

    def __init__(self, source: str, rng: random.Random, rate: float, truth: Truth, cores: set[str]) -> None:
        self.source = source
        self.rng = rng
        self.rate = rate
        self.truth = truth
        self.cores = cores

    # -- decisions ---------------------------------------------------------------------------
    def hit(self, mult: float = 1.0) -> bool:
        """True with probability ``rate × mult`` (never when rate is 0)."""
        return self.rate > 0 and self.rng.random() < min(0.95, self.rate * mult)

    def choose(self, menu: Sequence[tuple[str, float]]) -> str:
        kinds, weights = zip(*menu, strict=False)
        return self.rng.choices(kinds, weights)[0]

    def name_variant(self, e, typo: bool = False) -> tuple[str, str] | None:
        """A misspelling of enterprise ``e``'s name: (variant, kind), or None if none applies."""
        vs = variants(e.name, e.place, e.core, self.rng, typo, self.cores)
        if not vs:
            return None
        kind, v = self.rng.choice(vs)
        return v, kind

    def misspell(self, e, row: list, index: int, field: str, typo_rate: float = 0.0) -> tuple | None:
        """In a free-typed source, sometimes write enterprise ``e``'s name the way a clerk might:
        ``row[index]`` is changed and the defect record for ``field`` returned (else None)."""
        if not self.hit(NAME_VARIANT_MULT):
            return None
        v = self.name_variant(e, typo=typo_rate > 0 and self.rng.random() < typo_rate)
        if not v:
            return None
        row[index] = v[0]
        return (field, "name_variant", e.name, v[0], REPAIR, None, e.name, {"variant": v[1]})

    # -- recording ---------------------------------------------------------------------------
    def defect(self, file: str, row: int | None, field: str | None, code: str, original: Any, injected: Any,
               expected: str, reason: str | None = None, expected_value: Any = None, **extra: Any) -> None:
        self.truth.defect(self.source, file, row, field, code, original, injected, expected, reason,
                          expected_value, **extra)

    def maybe_duplicate(self, writer, file: str, payload: Any, orig_row: int,
                        uscc: str | None = None, via: str | None = None, mult: float = 1.0) -> None:
        """Sometimes re-emit an exact copy of a clean row 1–40 rows later (quarantine duplicate_row)."""
        if not self.hit(DUPLICATE_MULT * mult):
            return
        delay = self.rng.randint(1, 40)

        def cb(row: int) -> None:
            self.defect(file, row, None, "duplicate_row", orig_row, None, QUARANTINE, "duplicate_row",
                        None, duplicate_of_row=orig_row)
            if via is not None:
                self.truth.entity(self.source, file, row, uscc, via)

        writer.schedule_duplicate(list(payload) if isinstance(payload, list) else dict(payload), delay, cb)

    # -- common corruptions --------------------------------------------------------------------
    def corrupt_uscc(self, code: str, has_name: bool) -> tuple[str, str, str, str | None, Any, dict]:
        """Lower-case or malformed USCC → (value, defect, expected, reason, expected_value, extra)."""
        low = uscc_mod.lowercase_variant(code)
        if low and self.rng.random() < 0.45:
            return low, "uscc_lowercase", REPAIR, None, code, {}
        bad, how = uscc_mod.malformed_variant(code, self.rng)
        if has_name:
            return bad, "uscc_malformed", REPAIR, None, code, {"malformation": how}
        return bad, "uscc_malformed", QUARANTINE, "unresolved_entity", None, {"malformation": how}

    def bad_coords(self) -> tuple[float, float, str]:
        """An impossible or far-away position: (lon, lat, kind)."""
        k = self.rng.choice(("lat_91", "null_island", "far_away", "lon_over_180"))
        if k == "lat_91":
            return round(self.rng.uniform(114, 119), 6), 91.0, k
        if k == "null_island":
            return 0.0, 0.0, k
        if k == "far_away":
            return round(self.rng.uniform(121.3, 121.6), 6), round(self.rng.uniform(31.1, 31.3), 6), k
        return round(self.rng.uniform(181, 200), 6), round(self.rng.uniform(37, 40), 6), k


__all__ = ["Dirt", "REPAIR", "QUARANTINE", "FLAG", "NAME_VARIANT_MULT", "DUPLICATE_MULT"]
