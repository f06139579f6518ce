"""The single streaming pass: enterprises in, every source file and the truth out.

Why one pass: cross-source references (an inspection's hidden dangers, a
pond's licence and sensors) are trivial when all sources see the same
enterprise at the same time, and memory stays flat — only the current
enterprise's scratch state is held.  Region-level sources (disaster census,
resources) are written at the end.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from . import enterprises as ent_mod
from .context import Ctx, EntState
from .regions import load_region
from .sources.accidents import Accidents
from .sources.credit import Credit
from .sources.disaster_census import DisasterCensus
from .sources.dual_prevention import DualPrevention
from .sources.enforcement import Enforcement
from .sources.hazard_sources import HazardSources
from .sources.iot import Iot
from .sources.licensing import Licensing
from .sources.market_registry import MarketRegistry
from .sources.mines import Mines
from .sources.public_reports import PublicReports
from .sources.resources import Resources
from .truth import Truth

GENERATOR_VERSION = "1.2"
#: The generator's parameters and ground truth, beside the truth files (never read by the loader).
GENERATION_FILE = "truth/generation.json"
DEFAULT_TODAY = date(2026, 11, 1)


@dataclass
class GenerationSummary:
    """What :func:`generate` wrote: files, data-row counts per file, defects per type."""

    out_dir: Path
    seed: int
    enterprises: int
    dirt_rate: float
    today: date
    files: list[str] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    defects: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    chemical_enterprises: int = 0
    major_hazard_enterprises: int = 0


def run(out_dir: str | Path, *, enterprises: int = 200, seed: int = 1, dirt_rate: float = 0.05,
        today: date = DEFAULT_TODAY) -> GenerationSummary:
    if enterprises < 1:
        raise ValueError("enterprises must be ≥ 1")
    if not 0.0 <= dirt_rate <= 0.5:
        raise ValueError("dirt_rate must be within [0, 0.5]")
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    region = load_region()
    truth = Truth(root)
    ents, names = ent_mod.build(region, enterprises, random.Random(f"{seed}:enterprises"),
                                random.Random(f"{seed}:enterprises:dirt"), dirt_rate, today,
                                siblings=random.Random(f"{seed}:siblings"))
    ctx = Ctx(root=root, seed=seed, dirt_rate=dirt_rate, today=today, region=region, truth=truth, names=names,
              registered={e.uscc for e in ents})
    registry = MarketRegistry(ctx)
    hazard = HazardSources(ctx)
    mines = Mines(ctx)
    licensing = Licensing(ctx)
    accidents = Accidents(ctx)
    dual = DualPrevention(ctx)
    enforcement = Enforcement(ctx)
    iot = Iot(ctx)
    credit = Credit(ctx)
    reports = PublicReports(ctx)
    census = DisasterCensus(ctx)
    resources = Resources(ctx, ents)
    for e in ents:
        st = EntState()
        registry.emit(e, st)
        hazard.emit(e, st)
        mines.emit(e, st)
        licensing.emit(e, st)
        accidents.emit(e, st)
        dual.emit(e, st)
        enforcement.emit(e, st)
        dual.emit_after(e, st)
        iot.emit(e, st)
        credit.emit(e, st)
        reports.emit(e, st)
    for s in (registry, hazard, mines, licensing, accidents, dual, enforcement, iot, credit, reports, census, resources):
        s.finish()
    truth.close()

    truth_files = truth.files()
    files = ctx.files + truth_files
    # manifest.json is the neutral export manifest any source system could write: the loader reads only it
    manifest = {
        "exportedOn": today.isoformat(),
        "province": {"code": "130000", "name": "河北省"},
        "files": [_file_entry(f) for f in ctx.files],
    }
    (root / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    # the generator's own account (parameters, ground truth) stays under truth/, for tests and benchmarks
    generation = {
        "generator": "riskgraph.synth", "version": GENERATOR_VERSION,
        "parameters": {"enterprises": enterprises, "seed": seed, "dirt_rate": dirt_rate, "today": today.isoformat()},
        "files": [_file_entry(f) for f in truth_files],
        "defects": dict(sorted(truth.counts.items())),
        "expected_outcomes": dict(sorted(truth.outcomes.items())),
        "documentation": "synth/FORMATS.md",
    }
    (root / GENERATION_FILE).write_text(json.dumps(generation, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return GenerationSummary(
        out_dir=root, seed=seed, enterprises=enterprises, dirt_rate=dirt_rate, today=today,
        files=[f.path for f in files] + ["manifest.json", GENERATION_FILE], row_counts={f.path: f.rows for f in files},
        defects=dict(sorted(truth.counts.items())), outcomes=dict(sorted(truth.outcomes.items())),
        chemical_enterprises=hazard.chem_ent, major_hazard_enterprises=hazard.major_ent)


def _file_entry(f) -> dict:
    return {"source": f.source, "path": f.path, "format": f.format, "encoding": f.encoding, "rows": f.rows,
            **({"columns": list(f.columns)} if f.columns else {})}
