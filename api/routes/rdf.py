"""RDF that is not about one node: the JSON-LD context, the SHACL shapes per disclosure level, and
the whole graph as a streamed dump (analysts and admins)."""
from __future__ import annotations

import json
from collections.abc import Iterator

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from riskgraph.api.access import Caller, Role
from riskgraph.api.deps import client_of, require, services
from riskgraph.api.errors import invalid
from riskgraph.api.rdf_negotiation import rdf_format_of
from riskgraph.graph.rdf_dataset import DatasetInfo
from riskgraph.graph.rdf_dump import STREAMABLE, DumpStats, iter_dump
from riskgraph.graph.rdf_formats import MEDIA_TYPES, RdfFormat, content_type
from riskgraph.ontology.errors import N_, as_message
from riskgraph.ontology.jsonld import CONTEXT_PATH, shipped_context
from riskgraph.ontology.model import Disclosure
from riskgraph.ontology.profiles import NEIGHBOURHOOD, shapes_for

router = APIRouter(tags=["rdf"])
ANALYSTS = Depends(require(Role.ANALYST, Role.ADMIN))

_CONTEXT_SCHEMA = {
    "type": "object", "required": ["@context"],
    "properties": {"@context": {"type": "object", "description": "prefixes, and one term per class, property and relation "
                                                                 "of the ontology (its local name)",
                                "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "object"}],
                                                         "description": "an IRI, or a term definition"}}},
}
_TURTLE = {"text/turtle": {"schema": {"type": "string", "description": "SHACL shapes in Turtle"}}}
_STREAM = {MEDIA_TYPES[f]: {"schema": {"type": "string", "description": f"the whole graph as {f.value}"}} for f in STREAMABLE}


def _context() -> Response:
    body = json.dumps(shipped_context(), ensure_ascii=False)
    return Response(content=body, media_type="application/ld+json",
                    headers={"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"})


@router.get(CONTEXT_PATH, response_class=Response, summary="the JSON-LD context of RiskGraph RDF (derived from the ontology)",
            responses={200: {"description": "the context document", "content": {"application/ld+json": {"schema": _CONTEXT_SCHEMA}}}})
def context() -> Response:
    return _context()


@router.get("/ontology/context.jsonld", response_class=Response, summary="the JSON-LD context (same as /context.jsonld)",
            responses={200: {"description": "the context document", "content": {"application/ld+json": {"schema": _CONTEXT_SCHEMA}}}})
def ontology_context() -> Response:
    return _context()


def _shapes(level: str, complete: bool) -> Response:
    try:
        parsed = Disclosure.parse(level)
    except ValueError as exc:
        raise invalid(as_message(exc), "level") from None
    text = shapes_for(parsed, complete=complete).serialize(format="turtle")
    return Response(content=text, media_type=content_type(RdfFormat.turtle), headers={"Cache-Control": "public, max-age=3600"})


@router.get("/ontology/shapes/{level}", response_class=Response,
            summary="SHACL shapes a complete export of this disclosure level conforms to "
                    "(sh:minCount dropped for fields above the level)",
            responses={200: {"description": "the shapes", "content": _TURTLE}})
def shapes(level: str) -> Response:
    return _shapes(level, True)


@router.get(f"/ontology/shapes/{{level}}/{NEIGHBOURHOOD}", response_class=Response,
            summary="SHACL shapes a dossier (a neighbourhood) of this disclosure level conforms to "
                    "(relationships may end outside it)",
            responses={200: {"description": "the shapes", "content": _TURTLE}})
def neighbourhood_shapes(level: str) -> Response:
    return _shapes(level, False)


@router.get("/export/rdf", response_class=StreamingResponse,
            summary="the whole graph as RDF, streamed (analyst and admin roles; audited): N-Triples by default, "
                    "Turtle by `format` or `Accept`",
            responses={200: {"description": "the dump: a dataset node first, the SKOS concepts used last", "content": _STREAM},
                       406: {"description": "`Accept` names neither N-Triples nor Turtle"}})
def export_rdf(request: Request, format: RdfFormat | None = Query(None, description="ntriples or turtle; overrides `Accept`"),
               caller: Caller = ANALYSTS) -> StreamingResponse:
    svc = services(request)
    fmt = format or rdf_format_of(request, RdfFormat.ntriples, STREAMABLE)
    if fmt not in STREAMABLE:
        raise invalid(N_("the whole graph is streamed as ntriples or turtle, not {value}"), "format", value=fmt.value)
    info = DatasetInfo(level=caller.ceiling, source=str(request.url), complete=True,
                       title=f"RiskGraph whole-graph dump ({caller.ceiling.name.lower()})")
    stats = DumpStats()

    def body() -> Iterator[bytes]:
        result = "incomplete"
        try:
            for chunk in iter_dump(svc.store, fmt, info, stats, consistent=False):
                yield chunk.encode("utf-8")
            result = "ok"
        finally:  # audited once the stream ends, complete or not
            svc.audit.record(caller, "export_rdf", result, method="GET", path=request.url.path, status=200,
                             client=client_of(request),
                             details={"format": fmt.value, "nodes": stats.nodes, "relationships": stats.relationships})

    suffix = ".nt" if fmt is RdfFormat.ntriples else ".ttl"
    return StreamingResponse(body(), media_type=content_type(fmt),
                             headers={"Content-Disposition": f'attachment; filename="riskgraph{suffix}"', "Vary": "Accept"})
