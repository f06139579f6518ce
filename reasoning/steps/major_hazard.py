"""GB 18218-2018 per HazardSource; sets HazardSource.majorHazardLevel (removed when no longer major)."""
from __future__ import annotations

from collections.abc import Iterable

from riskgraph.reasoning import graph_facts as gf
from riskgraph.reasoning.models.config import load_config
from riskgraph.reasoning.models.major_hazard import assess_unit
from riskgraph.reasoning.run_context import ModelRun, Run, Timer
from riskgraph.reasoning.writeback import Written, clear_property, remove_stale, set_properties, write_assessments


def step_major_hazard(run: Run, ids: Iterable[str] | None = None) -> ModelRun:
    """Every hazard source, or only `ids` (an incremental run leaves the others' results alone)."""
    timer, cfg, n = Timer(), load_config("major_hazard"), 0
    for units in gf.hazard_units(run.store, page=run.page, ids=ids):
        items, levels, cleared = [], [], []
        for unit in units:
            result = assess_unit(unit.items, unit.residents, evidence=[unit.id], config=cfg)
            items.append(Written("HazardSource", unit.id, result))
            if result.level is not None:
                if result.level != unit.level_before:
                    levels.append({"id": unit.id, "majorHazardLevel": result.level})
            elif unit.level_before is not None:
                cleared.append(unit.id)
        n += write_assessments(run, items)
        set_properties(run.store, "HazardSource", levels)
        clear_property(run.store, "HazardSource", "majorHazardLevel", cleared)
    if ids is None:
        remove_stale(run, cfg["method"], "HazardSource")
    return ModelRun("major_hazard", cfg["method"], cfg.version, n, timer.seconds)
