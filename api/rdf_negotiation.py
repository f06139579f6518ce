"""Which RDF format a request asks for (`Accept`), and where the service serves the JSON-LD context."""
from __future__ import annotations

from fastapi import Request

from riskgraph.api.errors import ApiError
from riskgraph.graph.rdf_formats import NotAcceptable, RdfFormat, negotiate
from riskgraph.ontology.errors import N_, as_message
from riskgraph.ontology.jsonld import CONTEXT_PATH


def rdf_format_of(request: Request, default: RdfFormat = RdfFormat.jsonld,
                  allowed: tuple[RdfFormat, ...] = tuple(RdfFormat)) -> RdfFormat:
    """The format `Accept` asks for; 406 when it names none of `allowed`."""
    try:
        fmt = negotiate(request.headers.get("accept"), default)
    except NotAcceptable as exc:
        raise ApiError(406, "not_acceptable", as_message(exc), {"formats": [f.value for f in allowed]}) from None
    if fmt not in allowed:
        raise ApiError(406, "not_acceptable", N_("this resource is not available as {value}"),
                       {"formats": [f.value for f in allowed]}, value=fmt.value)
    return fmt


def context_url(request: Request) -> str:
    """The absolute URL of /context.jsonld on this service, as compact JSON-LD names it."""
    return str(request.base_url).rstrip("/") + CONTEXT_PATH
