"""Deterministic generator of a province's (河北省) raw source-system exports plus ground truth.

Public entry point::

    from riskgraph.synth import generate
    summary = generate("out/", enterprises=2000, seed=1, dirt_rate=0.05)

Same seed + arguments → byte-identical files.  File formats, the truth files and
every defect code are documented in ``synth/FORMATS.md``.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

from .pipeline import DEFAULT_TODAY, GenerationSummary, run

__all__ = ["generate", "GenerationSummary", "DEFAULT_TODAY"]


def generate(out_dir: str | Path, *, enterprises: int = 200, seed: int = 1, dirt_rate: float = 0.05,
             today: date = DEFAULT_TODAY) -> GenerationSummary:
    """Write every source file, ``manifest.json`` and ``truth/`` under ``out_dir``.

    ``today`` is the fixed reference date (default 2026-11-01): nothing is dated on or after
    it except injected out-of-range dates.  Randomness comes only from ``random.Random``
    instances seeded from ``seed``.
    """
    return run(out_dir, enterprises=enterprises, seed=seed, dirt_rate=dirt_rate, today=today)
