"""Run-wide context shared by all source modules, and the per-enterprise scratch state.

Why: sources are written in a single streaming pass over enterprises; what one
source produced for the current enterprise (units, risk points, inspections …)
is handed to the next through :class:`EntState`, then dropped.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .dirt import Dirt
from .names import NameFactory
from .regions import Region
from .truth import Truth
from .uscc import make as make_uscc
from .writers import CsvWriter, FileInfo, JsonlWriter, XlsxWriter


@dataclass
class Ctx:
    root: Path
    seed: int
    dirt_rate: float
    today: date
    region: Region
    truth: Truth
    names: NameFactory
    registered: set[str] = field(default_factory=set)   # every registry USCC (orphans must avoid them)
    files: list[FileInfo] = field(default_factory=list)

    def rng(self, name: str) -> random.Random:
        """Clean-data stream for ``name`` (string seeds are hashed with SHA-512: stable)."""
        return random.Random(f"{self.seed}:{name}")

    def unregistered_uscc(self, rng: random.Random, region_code: str) -> str:
        """A valid USCC that belongs to no registered enterprise (for orphan rows)."""
        code = make_uscc(rng, region_code)
        while code in self.registered:
            code = make_uscc(rng, region_code)
        return code

    def dirt(self, source: str) -> Dirt:
        return Dirt(source, random.Random(f"{self.seed}:{source}:dirt"), self.dirt_rate, self.truth,
                    self.names.cores)


@dataclass(slots=True)
class EntState:
    """What earlier sources produced for the current enterprise."""

    units: list[tuple[str, str, str]] = field(default_factory=list)        # (unit id, name, type)
    unit_chems: dict[str, list[str]] = field(default_factory=dict)         # unit id → chemicals
    ponds: list[tuple[str, str]] = field(default_factory=list)             # (pond id, name)
    risk_points: list[tuple[str, str, str]] = field(default_factory=list)  # (id, name, colour)
    inspections: list[tuple[str, date, int]] = field(default_factory=list) # (id, date, problems)
    accidents: list[dict[str, Any]] = field(default_factory=list)
    penalties: int = 0
    major_hazard: str | None = None


class Source:
    """Base of one source system: owns its writers, its clean RNG and its dirt."""

    id = "base"

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.rng = ctx.rng(self.id)
        self.dirt = ctx.dirt(self.id)
        self.today = ctx.today
        self._writers: list[Any] = []

    def csv(self, path: str, header: list[str], encoding: str = "utf-8") -> CsvWriter:
        info = FileInfo(self.id, path, "csv", encoding)
        self.ctx.files.append(info)
        w = CsvWriter(self.ctx.root, info, header)
        self._writers.append(w)
        return w

    def jsonl(self, path: str) -> JsonlWriter:
        info = FileInfo(self.id, path, "jsonl", "utf-8")
        self.ctx.files.append(info)
        w = JsonlWriter(self.ctx.root, info)
        self._writers.append(w)
        return w

    def xlsx(self, path: str, header: list[str], sheet: str) -> XlsxWriter:
        info = FileInfo(self.id, path, "xlsx", "binary")
        self.ctx.files.append(info)
        w = XlsxWriter(self.ctx.root, info, header, sheet)
        self._writers.append(w)
        return w

    def entity(self, file: str, row: int, uscc: str | None, via: str, pattern: str | None = None,
               expect: str | None = None) -> None:
        self.ctx.truth.entity(self.id, file, row, uscc, via, pattern, expect)

    def emit(self, e, st: EntState) -> None:  # pragma: no cover - overridden
        pass

    def finish(self) -> None:
        """Write rows not tied to an enterprise, then close every writer."""
        for w in self._writers:
            w.close()
