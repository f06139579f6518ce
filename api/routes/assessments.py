"""Risk results the reasoning models wrote as Assessment nodes: by region, by industry, over time, coupling.

An assessment belongs to what it assesses: the caller reads it at the level it reads its subject
(a county for an inspector of that county, an enterprise for that enterprise …). None yet → 200
with an empty list.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field

from riskgraph.api.deps import CONTEXT, Context
from riskgraph.api.disclosure import level_name
from riskgraph.api.errors import not_found
from riskgraph.api.models import LEVEL, LevelName, NodeOut, Out
from riskgraph.api.pagination import Page, PageParams, page_params
from riskgraph.api.read_cache import cached_read
from riskgraph.api.routes.common import node_out, region_param
from riskgraph.api.schema import ASSESSMENT, ASSESSMENT_METHOD, ASSESSMENT_TIME, INDUSTRY, REGION, REGION_CODE
from riskgraph.api.views import ontology_label
from riskgraph.graph.dialect import ident, where
from riskgraph.ontology.errors import N_
from riskgraph.ontology.model import TIME_SUFFIX, class_term

router = APIRouter(tags=["risk"])

#: method-name prefixes the reasoning package writes (configurable per request)
TEMPORAL_METHODS = ("temporal-",)
COUPLING_METHODS = ("nk-coupling", "ccd", "spatial-coupling")
TEMPORAL_HELP = f"method prefixes (default {', '.join(TEMPORAL_METHODS)})"
COUPLING_HELP = f"method prefixes (default {', '.join(COUPLING_METHODS)})"
HISTORY_CAP = 500


class SubjectRisk(Out):
    subject: NodeOut = Field(description="the region or industry")
    level: LevelName = Field(description=LEVEL)
    assessments: list[NodeOut] = Field(description="Assessment nodes, newest first (per method unless `history`)")


class SubjectRef(Out):
    label: str
    key: str
    name: str | None


class AssessmentItem(NodeOut):
    subject: SubjectRef = Field(description="what the assessment assesses")


def _assesses(ctx: Context) -> str:
    return ident(ctx.schema.relation_between(ASSESSMENT, REGION).type)


def _time(ctx: Context) -> str:
    return ident(ASSESSMENT_TIME[1] + TIME_SUFFIX)


def subject_assessments(ctx: Context, label: str, code: str, methods: list[str] | None, history: bool) -> dict[str, Any]:
    key = ctx.onto.key_of(label)
    rows = ctx.store.read(f"MATCH (t:{ident(label)} {{{ident(key)}: $code}}) RETURN properties(t) AS p", {"code": code})
    if not rows:
        raise not_found(N_("{label} {code_}"), label=class_term(label), code_=code)
    subject = rows[0]["p"]
    level = ctx.scope.level(label, subject)
    ctx.disclosed.subject = f"{label}/{code}"
    method = ident(ASSESSMENT_METHOD[1])
    cond = f" AND any(m IN $methods WHERE a.{method} STARTS WITH m)" if methods else ""
    # the filter on `a` after WITH: in the MATCH, FalkorDB starts from it and reads every assessment
    found = ctx.store.read(
        f"MATCH (t:{ident(label)} {{{ident(key)}: $code}})<-[:{_assesses(ctx)}]-(a:{ident(ASSESSMENT)}) "
        f"WITH a WHERE a.{method} IS NOT NULL{cond} "
        f"RETURN properties(a) AS p ORDER BY coalesce(a.{_time(ctx)}, -1) DESC LIMIT $cap",
        {"code": code, "methods": methods or [], "cap": HISTORY_CAP},
    )
    items, seen = [], set()
    for row in found:
        # one result per assessment id: a method may write several per subject (temporal: per
        # disaster group and granularity), and re-running a model replaces its own ids
        slot = row["p"].get("id") or row["p"].get(ASSESSMENT_METHOD[1])
        if not history and slot in seen:
            continue
        seen.add(slot)
        items.append(node_out(ctx, ASSESSMENT, row["p"], level))
    return {"subject": node_out(ctx, label, subject, level), "level": level_name(min(level, ctx.caller.ceiling)),
            "assessments": items}


@router.get("/regions/{code}/risk", response_model=SubjectRisk,
            summary="a region's assessments (INFORM-style indices and others), newest per method")
@cached_read
def region_risk(
    code: str = Path(..., pattern=r"^[A-Za-z0-9]{2,16}$", description="GB/T 2260 code (or a chemical park's code)"),
    method: list[str] | None = Query(None, description="only methods starting with these (repeat)"),
    history: bool = Query(False, description="every assessment, not only the newest per method"),
    ctx: Context = CONTEXT,
) -> dict:
    return subject_assessments(ctx, REGION, code, method, history)


@router.get("/industries/{code}/risk", response_model=SubjectRisk, summary="an industry's assessments, newest per method")
def industry_risk(
    code: str = Path(..., min_length=1, max_length=32),
    method: list[str] | None = Query(None),
    history: bool = Query(False),
    ctx: Context = CONTEXT,
) -> dict:
    return subject_assessments(ctx, INDUSTRY, code, method, history)


def list_assessments(ctx: Context, methods: list[str], region: str | None, paging: PageParams) -> dict:
    """Assessments whose method starts with one of `methods`, optionally of subjects in a region; paged."""
    method = ident(ASSESSMENT_METHOD[1])
    conditions = [f"any(m IN $methods WHERE a.{method} STARTS WITH m)"]
    params: dict[str, Any] = {"methods": methods}
    prefix = region_param(region)
    if prefix:
        region_labels = ctx.schema.descendants(REGION)
        conditions.append(
            f"(t.{ident(REGION_CODE)} STARTS WITH $region OR "
            f"(any(l IN labels(t) WHERE l IN $regionLabels) AND t.{ident(ctx.onto.key_of(REGION))} STARTS WITH $region))"
        )
        params.update(region=prefix, regionLabels=region_labels)
    match = f"MATCH (a:{ident(ASSESSMENT)})-[:{_assesses(ctx)}]->(t){where(conditions)}"
    total = int(ctx.store.read(f"{match} RETURN count(a) AS c", params)[0]["c"])
    rows = ctx.store.read(
        f"{match} WITH a, t ORDER BY coalesce(a.{_time(ctx)}, -1) DESC, a.{ident(ctx.onto.key_of(ASSESSMENT))} "
        "SKIP $skip LIMIT $limit RETURN properties(a) AS p, labels(t) AS tl, properties(t) AS tp",
        {**params, "skip": paging.offset, "limit": paging.size},
    )
    subjects = {}
    for row in rows:
        t_label = ontology_label(ctx.schema, row["tl"])
        if t_label is not None:
            subjects[(t_label, str(row["tp"].get(ctx.onto.key_of(t_label))))] = row["tp"]
    levels = ctx.scope.levels(subjects)
    items = []
    for row in rows:
        t_label = ontology_label(ctx.schema, row["tl"])
        if t_label is None:
            continue
        ref = (t_label, str(row["tp"].get(ctx.onto.key_of(t_label))))
        item = node_out(ctx, ASSESSMENT, row["p"], levels[ref])
        item["subject"] = {"label": t_label, "key": ref[1], "name": row["tp"].get("name")}
        items.append(item)
    return paging.wrap(items, total)


@router.get("/temporal-risk", response_model=Page[AssessmentItem],
            summary="time-series risk assessments (methods temporal-*), newest first")
def temporal_risk(
    region: str | None = Query(None, description="only subjects in this region (GB/T 2260 prefix)"),
    method: list[str] | None = Query(None, description=TEMPORAL_HELP),
    paging: PageParams = Depends(page_params),
    ctx: Context = CONTEXT,
) -> dict:
    return list_assessments(ctx, method or list(TEMPORAL_METHODS), region, paging)


@router.get("/coupling", response_model=Page[AssessmentItem],
            summary="risk-coupling assessments (N-K coupling, coupling coordination degree, spatial clusters), newest first")
def coupling(
    region: str | None = Query(None),
    method: list[str] | None = Query(None, description=COUPLING_HELP),
    paging: PageParams = Depends(page_params),
    ctx: Context = CONTEXT,
) -> dict:
    return list_assessments(ctx, method or list(COUPLING_METHODS), region, paging)
