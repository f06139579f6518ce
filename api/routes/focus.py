"""The focus-inspection list (重点监管): per county, the enterprises to inspect first, with the reasons."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Query
from pydantic import Field

from riskgraph.api.deps import CONTEXT, Context
from riskgraph.api.models import ColourOut, Out
from riskgraph.api.routes.common import region_param, scope_condition
from riskgraph.api.schema import ENTERPRISE
from riskgraph.ontology.model import Disclosure
from riskgraph.reasoning.focus_list import focus_list
from riskgraph.reasoning.models.config import load_config

router = APIRouter(tags=["enterprises"])


class FocusEnterprise(Out):
    uscc: str
    name: str | None
    score: float | None = Field(description="the 应急〔2018〕19号 rating score as assessed")
    scoreMin: float | None = Field(description="the lowest score the points not assessed allow")
    ratingColour: str | None
    officialColour: ColourOut
    secondaryColour: ColourOut
    autoRed: list[str] = Field(description="the automatic-red rules that apply")
    reasons: list[str] = Field(description="why to inspect first, in words (Chinese)")
    computedAt: str | None
    asOf: str | None
    assessment: str | None = Field(description="the Assessment node the entry comes from")


class FocusCounty(Out):
    county: str
    countyName: str | None
    total: int = Field(description="enterprises listed for the county before the per-county cut")
    enterprises: list[FocusEnterprise]


class FocusList(Out):
    method: str
    methodVersion: str
    below: float
    total: int
    counties: list[FocusCounty] = Field(description="counties, most urgent first")


@router.get("/focus-inspections", response_model=FocusList,
            summary="重点监管: per county, the enterprises whose 应急〔2018〕19号 rating is below the threshold or "
                    "automatically 红, most urgent first, with the reasons")
def get_focus_inspections(
    below: float | None = Query(None, ge=0, le=100, description="rating score threshold (default: the rating's "
                                                                "focus_below, 75)"),
    region: str | None = Query(None, description="GB/T 2260 code; 130100 covers every 1301xx county"),
    per_county: int = Query(50, ge=1, le=1000, description="most enterprises listed per county"),
    ctx: Context = CONTEXT,
) -> dict[str, Any]:
    # scores and their reasons are inspector-level facts: the caller's scope limits the list
    cond, params = scope_condition(ctx, "e", Disclosure.INSPECTOR, "the focus-inspection list")
    counties = focus_list(ctx.store, below=below, region_prefix=region_param(region), scope=(cond, params))
    cfg = load_config("enterprise_rating")
    out = []
    for county in counties:
        shown = county.enterprises[:per_county]
        for e in shown:
            ctx.disclosed.mark(f"{ENTERPRISE}/{e.uscc}#focusInspection", Disclosure.INSPECTOR)
        out.append({"county": county.code, "countyName": county.name, "total": len(county.enterprises),
                    "enterprises": [_entry(e) for e in shown]})
    return {"method": cfg["method"], "methodVersion": cfg.version,
            "below": float(cfg["focus_below"] if below is None else below),
            "total": sum(c["total"] for c in out), "counties": out}


def _entry(e: Any) -> dict[str, Any]:
    d = asdict(e)
    return {"uscc": d["uscc"], "name": d["name"], "score": d["score"], "scoreMin": d["score_min"],
            "ratingColour": d["rating_colour"],
            "officialColour": {"colour": d["official_colour"], "method": d["official_method"]},
            "secondaryColour": {"colour": d["secondary_colour"], "method": d["secondary_method"]},
            "autoRed": list(d["auto_red"]), "reasons": list(d["reasons"]),
            "computedAt": d["computed_at"], "asOf": d["as_of"], "assessment": d["assessment"]}
