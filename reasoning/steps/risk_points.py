"""LEC / LS per RiskPoint; sets RiskPoint.riskColour and flags a differing reported colour in dataQuality."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from riskgraph.reasoning import graph_facts as gf
from riskgraph.reasoning.models.config import ModelConfig, load_config
from riskgraph.reasoning.models.result import ModelResult
from riskgraph.reasoning.models.risk_point import lec, ls
from riskgraph.reasoning.read_ahead import read_ahead
from riskgraph.reasoning.run_context import ModelRun, Run, Timer
from riskgraph.reasoning.writeback import Written, clear_property, remove_stale, set_properties, write_assessments

log = logging.getLogger(__name__)

CONFLICT_FLAG = "conflict:reportedColour"


def step_risk_points(run: Run, method: str, ids: Iterable[str] | None = None) -> ModelRun:
    """Every risk point assessed by `method`, or only `ids` (an incremental run leaves the others alone)."""
    timer, cfg = Timer(), load_config("risk_point")
    notation = method.upper()
    model_method = cfg[method]["method"]
    fields = ("likelihood", "exposure", "consequence", "severity", "reportedColour", "riskColour", "dataQuality")
    n = 0
    where, params = "n.assessmentMethod = $m", dict[str, Any](m=notation)
    if ids is not None:
        where, params = where + " AND n.id IN $only", {**params, "only": sorted(set(ids))}
    # the next page read while this one is graded and written
    for rows in read_ahead(gf.scan_pages(run.store, "RiskPoint", fields, where=where, params=params, page=run.page)):
        items, updates, cleared, no_quality = [], [], [], []
        for row in rows:
            result = _risk_point_result(row, method, cfg)
            colour = result.colour if result else None
            quality = set(row["dataQuality"] or [])
            conflict = colour is not None and row["reportedColour"] is not None and colour != row["reportedColour"]
            quality = (quality | {CONFLICT_FLAG}) if conflict else (quality - {CONFLICT_FLAG})
            if result is not None:
                items.append(Written("RiskPoint", row["key"], result,
                                     extra={"reportedColour": row["reportedColour"], "conflict": conflict}))
            update: dict[str, Any] = {}
            if colour is not None and colour != row["riskColour"]:
                update["riskColour"] = colour
            if quality != set(row["dataQuality"] or []):
                if quality:
                    update["dataQuality"] = sorted(quality)
                else:  # an empty list is not stored (Neo4j cannot type it): the property goes
                    no_quality.append(row["key"])
            if update:
                updates.append({"id": row["key"], **update})
            if colour is None and row["riskColour"] is not None:
                cleared.append(row["key"])
        n += write_assessments(run, items)
        set_properties(run.store, "RiskPoint", updates)
        clear_property(run.store, "RiskPoint", "riskColour", cleared)
        clear_property(run.store, "RiskPoint", "dataQuality", no_quality)
    if ids is None:
        remove_stale(run, model_method, "RiskPoint")
    return ModelRun(f"risk_point_{method}", model_method, cfg.version, n, timer.seconds)


def _risk_point_result(row: Mapping[str, Any], method: str, cfg: ModelConfig) -> ModelResult | None:
    """The point's LEC or LS result; None when a factor is missing or not positive (nothing to grade)."""
    try:
        if method == "lec":
            factors = (row["likelihood"], row["exposure"], row["consequence"])
            if any(f is None for f in factors):
                return None
            return lec(*factors, evidence=[row["key"]], config=cfg)
        if row["likelihood"] is None or row["severity"] is None:
            return None
        return ls(row["likelihood"], row["severity"], evidence=[row["key"]], config=cfg)
    except ValueError as exc:
        log.info("risk point %s not graded: %s", row["key"], exc)
        return None
