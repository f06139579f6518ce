"""Any node: its neighbourhood for visualisation, and its dossier in RDF (JSON-LD, Turtle or N-Triples)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import Field

from riskgraph.api.deps import CONTEXT, Context
from riskgraph.api.errors import invalid, not_found
from riskgraph.api.models import PROPERTIES_DESCRIPTION, Out
from riskgraph.api.rdf_negotiation import context_url, rdf_format_of
from riskgraph.api.read_cache import cached_read
from riskgraph.api.routes.common import known_label
from riskgraph.graph.export import node_iri, to_rdf
from riskgraph.graph.rdf_dataset import DatasetInfo, describe
from riskgraph.graph.rdf_formats import RdfFormat, content_type, serialize
from riskgraph.graph.subgraph import MAX_DEPTH, Subgraph
from riskgraph.ontology.errors import N_
from riskgraph.ontology.model import Disclosure, class_term

router = APIRouter(tags=["nodes"])

SUBGRAPH_LIMIT = 2_000


#: compact JSON-LD with the service's context (/context.jsonld): one object per node in "@graph"
JSONLD_SCHEMA = {
    "type": "object",
    "description": "compact JSON-LD: \"@context\" names the service's context (/context.jsonld); \"@graph\" holds one "
                   "object per node (keys are the ontology's property and relation names), one for the dataset "
                   "(dcat:Dataset: disclosure level, generation time, source, licence, shapes) and one per SKOS concept used",
    "required": ["@context", "@graph"],
    "properties": {
        "@context": {"type": "string", "description": "URL of the JSON-LD context"},
        "@graph": {"type": "array", "items": {
            "type": "object", "required": ["@id"],
            "properties": {"@id": {"type": "string"},
                           "@type": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}},
            "additionalProperties": {"description": "a property's or relation's value(s)"}}},
    },
}
RDF_CONTENT = {
    "application/ld+json": {"schema": JSONLD_SCHEMA},
    "text/turtle": {"schema": {"type": "string", "description": "Turtle, in the ontology's terms"}},
    "application/n-triples": {"schema": {"type": "string", "description": "N-Triples, one triple a line"}},
}


class SubgraphNode(Out):
    id: str = Field(description="Label/key")
    label: str
    key: str
    properties: dict[str, Any] = Field(description=PROPERTIES_DESCRIPTION)


class SubgraphEdge(Out):
    source: str = Field(description="Label/key of the start node")
    target: str = Field(description="Label/key of the end node")
    type: str = Field(description="the relationship type (HAS_LICENCE …)")


class SubgraphOut(Out):
    centre: str = Field(description="Label/key of the node asked for")
    nodes: list[SubgraphNode]
    edges: list[SubgraphEdge]
    truncated: bool = Field(description="there were more relationships than `limit`")


def _labels(ctx: Context, labels: list[str] | None) -> list[str] | None:
    """`labels=A&labels=B` or `labels=A,B`; 422 for a label the ontology does not define."""
    if not labels:
        return None
    out = []
    for item in labels:
        for name in (n.strip() for n in item.split(",")):
            if not name:
                continue
            try:
                out.append(ctx.onto.check_label(name).name)
            except KeyError:
                raise invalid(N_("unknown label {name!r}"), "labels", name=name) from None
    return out or None


def _neighbourhood(ctx: Context, label: str, key: str, depth: int, labels: list[str] | None,
                   limit: int) -> tuple[Subgraph, dict]:
    label = known_label(ctx, label)
    wanted = _labels(ctx, labels)
    if ctx.caller.ceiling < Disclosure.INTERNAL:
        # provenance, change log and quarantine are internal: neither a centre nor a path through them
        hidden = ctx.schema.bookkeeping
        if label in hidden:
            raise not_found(N_("{label} {key}"), label=class_term(label), key=key)
        wanted = [lbl for lbl in (wanted or ctx.onto.labels) if lbl not in hidden]
    # a keyed node (an enterprise, a region, an industry) ends a path: through it a neighbourhood
    # would be its every member's
    sub = ctx.store.neighbourhood(label, key, depth=depth, labels=wanted, stop_at=ctx.schema.independent, limit=limit)
    if not sub.nodes:
        raise not_found(N_("{label} {key}"), label=class_term(label), key=key)
    ctx.disclosed.subject = f"{label}/{key}"
    levels = ctx.scope.levels(sub.nodes)
    filtered = Subgraph(truncated=sub.truncated)
    for ref, props in sub.nodes.items():
        filtered.add_node(ref[0], ref[1], ctx.disclosed.properties(ref[0], props, levels[ref]))
    filtered.edges = list(sub.edges)
    return filtered, levels


def _id(ref: tuple[str, str]) -> str:
    return f"{ref[0]}/{ref[1]}"


@router.get("/nodes/{label}/{key}/subgraph", response_model=SubgraphOut,
            summary="the node's neighbourhood as nodes and edges, for visualisation")
@cached_read
def subgraph(
    label: str = Path(..., description="an ontology class, e.g. Enterprise, HazardSource, Region"),
    key: str = Path(..., min_length=1, max_length=200, description="the node's key (uscc, code or id)"),
    depth: int = Query(1, ge=1, le=MAX_DEPTH),
    labels: list[str] | None = Query(None, description="keep only paths through these labels (repeat or comma-separate)"),
    limit: int = Query(500, ge=1, le=SUBGRAPH_LIMIT, description="most relationships"),
    ctx: Context = CONTEXT,
) -> dict[str, Any]:
    sub, levels = _neighbourhood(ctx, label, key, depth, labels, limit)
    centre = (ctx.onto.check_label(label).name, key)
    return {
        "centre": _id(centre),
        "nodes": [{"id": _id(ref), "label": ref[0], "key": ref[1], "properties": props}
                  for ref, props in sub.nodes.items()],
        "edges": [{"source": _id(src), "target": _id(dst), "type": rel_type} for src, rel_type, dst, _ in sub.edges],
        "truncated": sub.truncated,
    }


@router.get("/nodes/{label}/{key}/dossier",
            summary="the node's dossier (its neighbourhood) as RDF in the ontology's terms; the format by "
                    "`format` or else by `Accept` (JSON-LD by default)",
            response_class=Response,
            responses={200: {"description": "the dossier, with its dataset node", "content": RDF_CONTENT},
                       406: {"description": "`Accept` names no RDF format the service writes"}})
def dossier(
    request: Request,
    label: str = Path(...),
    key: str = Path(..., min_length=1, max_length=200),
    format: RdfFormat | None = Query(None, description="jsonld, turtle or ntriples; overrides `Accept`"),
    depth: int = Query(1, ge=1, le=MAX_DEPTH),
    ctx: Context = CONTEXT,
) -> Response:
    fmt = format or rdf_format_of(request)
    sub, levels = _neighbourhood(ctx, label, key, depth, None, SUBGRAPH_LIMIT)
    centre = (ctx.onto.check_label(label).name, key)
    # readable by whoever may see its most restricted node; each node meets the shapes of its own level
    info = DatasetInfo(level=max(levels.values(), default=ctx.caller.ceiling), source=str(request.url),
                       shapes_level=min(levels.values(), default=ctx.caller.ceiling),
                       title=f"RiskGraph dossier of {centre[0]}/{centre[1]}", subject=node_iri(*centre), complete=False)
    g = describe(to_rdf(sub, ctx.onto), info, ctx.onto)
    text = serialize(g, fmt, context_url=context_url(request))
    return Response(content=text, media_type=content_type(fmt), headers={"Vary": "Accept"})
