"""Enterprises: search, and the one-call portrait (一企一档)."""
from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field

from riskgraph.api.access import check_uscc
from riskgraph.api.deps import CONTEXT, Context
from riskgraph.api.errors import invalid, not_found
from riskgraph.api.facets import FacetValue, enterprise_facets, scale_condition
from riskgraph.api.models import EnterprisePortrait, NodeOut
from riskgraph.api.pagination import Page, PageParams, page_params
from riskgraph.api.portraits import enterprise_portrait
from riskgraph.api.read_cache import cached_read
from riskgraph.api.routes import focus
from riskgraph.api.routes.common import node_out, region_param, scope_condition, vocabulary_param
from riskgraph.api.schema import ENTERPRISE, INDUSTRY_CODE, REGION_CODE, RISK_COLOUR, SUPERVISION_INDUSTRY, TAGS
from riskgraph.graph.dialect import ident, where
from riskgraph.ontology.anchors import EMPLOYEES, ENTERPRISE_SCALES
from riskgraph.ontology.errors import N_, as_message
from riskgraph.ontology.model import Disclosure

router = APIRouter(tags=["enterprises"])

#: the 应急〔2018〕19号 rating's score on the enterprise (reasoning/official_colour.py writes it)
RATING_SCORE = (ENTERPRISE, "ratingScore")

#: full-text hits considered for one search (ranked by the index, then filtered and paged)
SEARCH_CAP = 1_000


class SearchPage(Page[NodeOut]):
    facets: dict[str, list[FacetValue]] = Field(
        description="counts over every matching enterprise (not just this page) per facet: colour, industry, region "
                    "(county), tag, scale; a facet on a property the caller reads nowhere is left out, one it reads "
                    "only in its scope counts only there; {} with facets=false")


@router.get("/enterprises", response_model=SearchPage,
            summary="search enterprises: fuzzy Chinese name, USCC, region prefix, industry, risk colour, tag, size; "
                    "with facet counts")
@cached_read
def list_enterprises(
    q: str | None = Query(None, max_length=100, description="name, fuzzy (jieba-segmented full-text search)"),
    uscc: str | None = Query(None, description="统一社会信用代码"),
    region: str | None = Query(None, description="GB/T 2260 code; 130100 covers every 1301xx county"),
    industry: str | None = Query(None, description="supervision industry (HC, NCM …) or GB/T 4754 industry code; "
                                                   "broader codes cover narrower ones"),
    colour: str | None = Query(None, description="risk colour: RED, ORANGE, YELLOW, BLUE (or 红, 橙 …)"),
    tag: str | None = Query(None, max_length=100, description="classification tag (inspector level and above)"),
    rating_below: float | None = Query(None, ge=0, le=100, description="应急〔2018〕19号 rating score below this "
                                                                      "(inspector level and above)"),
    scale: str | None = Query(None, max_length=20, description="size by head count: LARGE, MEDIUM, SMALL, MICRO "
                                                                 "(or 大型 …; enterprise level and above, scoped)"),
    sort: Literal["key", "score"] = Query("key", description="score: lowest rating score first (unrated last)"),
    facets: bool = Query(True, description="count the matches per colour, industry, region, tag and scale"),
    paging: PageParams = Depends(page_params),
    ctx: Context = CONTEXT,
) -> dict:
    onto, schema = ctx.onto, ctx.schema
    key = onto.key_of(ENTERPRISE)
    conditions: list[str] = []
    params: dict[str, Any] = {}
    if uscc:
        try:
            params["uscc"] = check_uscc(uscc)
        except ValueError as exc:
            raise invalid(as_message(exc), "uscc") from None
        conditions.append(f"e.{ident(key)} = $uscc")
    prefix = region_param(region)
    if prefix:
        conditions.append(f"e.{ident(REGION_CODE)} STARTS WITH $region")
        params["region"] = prefix
    if industry:
        sup = schema.narrower(schema.vocabulary_of(SUPERVISION_INDUSTRY) or "", industry)
        cls = schema.narrower(schema.vocabulary_of(INDUSTRY_CODE) or "", industry) or [industry]
        conditions.append(f"(e.{ident(SUPERVISION_INDUSTRY[1])} IN $sup OR e.{ident(INDUSTRY_CODE[1])} IN $ind "
                          f"OR e.{ident(INDUSTRY_CODE[1])} STARTS WITH $industry)")
        params.update(sup=sup, ind=cls, industry=industry)
    notation = vocabulary_param(ctx, RISK_COLOUR, colour, "colour")
    if notation:
        conditions.append(f"e.{ident(RISK_COLOUR[1])} = $colour")
        params["colour"] = notation
    if tag:
        conditions.append(f"$tag IN e.{ident(TAGS[1])}")
        params["tag"] = tag
    size_band = None
    if scale:
        concept = onto.vocabulary(ENTERPRISE_SCALES).lookup(scale)
        if concept is None:
            raise invalid(N_("{scale!r} is not a size; one of {concepts}"), "scale",
                          scale=scale, concepts=sorted(onto.vocabulary(ENTERPRISE_SCALES).concepts))
        size_band, extra = scale_condition(onto, concept.notation)
        conditions.append(size_band)
        params.update(extra)
    if rating_below is not None:
        conditions.append(f"e.{ident(RATING_SCORE[1])} < $rating_below")
        params["rating_below"] = rating_below
    # a filter on a non-public property only answers where the caller may read that property
    for prop, value in ((TAGS, tag), (RISK_COLOUR, colour), (INDUSTRY_CODE, industry), (SUPERVISION_INDUSTRY, industry),
                        (RATING_SCORE, True if rating_below is not None or sort == "score" else None),
                        (EMPLOYEES, size_band)):
        needed = schema.disclosure(prop)
        if value and needed > Disclosure.PUBLIC:
            cond, extra = scope_condition(ctx, "e", needed, f"filtering on {prop[1]}")
            if cond:
                conditions.append(cond)
                params.update(extra)

    label = ident(ENTERPRISE)
    if q:
        hits = ctx.store.search(ENTERPRISE, q, limit=SEARCH_CAP)
        rank = {str(h[key]): i for i, h in enumerate(hits)}
        if not rank:
            return {**paging.wrap([], 0), "facets": {}}
        rows = ctx.store.read(
            f"MATCH (e:{label}){where([f'e.{ident(key)} IN $hits', *conditions])} "
            f"RETURN e.{ident(key)} AS k, e.{ident(RATING_SCORE[1])} AS s",
            {**params, "hits": list(rank)},
        )
        ordered = sorted((str(r["k"]) for r in rows), key=lambda k: rank[k])
        if sort == "score":
            scores = {str(r["k"]): r["s"] for r in rows}
            ordered.sort(key=lambda k: (scores[k] is None, scores[k] or 0.0))
        page_keys = ordered[paging.offset:paging.offset + paging.size]
        found = {str(r["p"][key]): r["p"] for r in ctx.store.read(
            f"MATCH (e:{label}) WHERE e.{ident(key)} IN $keys RETURN properties(e) AS p", {"keys": page_keys})}
        items = [found[k] for k in page_keys if k in found]
        total = len(ordered)
        matched: tuple[list[str], dict[str, Any]] = ([f"e.{ident(key)} IN $matched"], {"matched": ordered})
    else:
        order = (f"CASE WHEN e.{ident(RATING_SCORE[1])} IS NULL THEN 1 ELSE 0 END, e.{ident(RATING_SCORE[1])}, "
                 if sort == "score" else "") + f"e.{ident(key)}"
        total = int(ctx.store.read(f"MATCH (e:{label}){where(conditions)} RETURN count(e) AS c", params)[0]["c"])
        items = [r["p"] for r in ctx.store.read(
            f"MATCH (e:{label}){where(conditions)} WITH e ORDER BY {order} SKIP $skip LIMIT $limit "
            "RETURN properties(e) AS p",
            {**params, "skip": paging.offset, "limit": paging.size},
        )]
        matched = (conditions, params)
    counts = enterprise_facets(ctx, *matched) if facets and total else {}
    return {**paging.wrap([node_out(ctx, ENTERPRISE, p, ctx.scope.enterprise_level(p)) for p in items], total), "facets": counts}


@router.get("/enterprises/{uscc}", response_model=EnterprisePortrait, response_model_exclude_unset=True,
            summary="the enterprise's portrait (一企一档) in one call")
@cached_read
def get_enterprise(
    uscc: str = Path(..., min_length=1, max_length=64, description="统一社会信用代码"),
    limit: int = Query(100, ge=1, le=500, description="most items per relationship list (newest first)"),
    alarms: int = Query(20, ge=1, le=200, description="most recent IoT alarms"),
    ctx: Context = CONTEXT,
) -> dict[str, Any]:
    portrait = enterprise_portrait(ctx, uscc.strip().upper(), cap=limit, alarms=alarms)
    if portrait is None:
        raise not_found(N_("enterprise {uscc}"), uscc=uscc)
    return portrait


# the focus-inspection list is an enterprise view of its own module, served with the enterprise routes
router.include_router(focus.router)
