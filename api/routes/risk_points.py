"""Risk points (风险点): the dual-prevention chain around one point."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query

from riskgraph.api.deps import CONTEXT, Context
from riskgraph.api.errors import not_found
from riskgraph.api.models import RiskPointPortrait
from riskgraph.api.portraits import risk_point_portrait
from riskgraph.api.read_cache import cached_read
from riskgraph.ontology.errors import N_

router = APIRouter(tags=["risk points"])


@router.get("/risk-points/{point_id}", response_model=RiskPointPortrait, response_model_exclude_unset=True,
            summary="a risk point: analysis units → risk events → control measures, hidden dangers at it with "
                    "their rectifications and the inspections that found them, emergency plans covering it, "
                    "natural-disaster points in its county")
@cached_read
def get_risk_point(
    point_id: str = Path(..., min_length=1, max_length=200),
    limit: int = Query(100, ge=1, le=500, description="most items per relationship list (newest first)"),
    ctx: Context = CONTEXT,
) -> dict[str, Any]:
    portrait = risk_point_portrait(ctx, point_id, cap=limit)
    if portrait is None:
        raise not_found(N_("risk point {point_id}"), point_id=point_id)
    return portrait
