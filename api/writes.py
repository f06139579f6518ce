"""Writes through the API go through `riskgraph.workflows` (one write path, with provenance): here is
what the HTTP side adds — who and what the request is, and how a refused write is answered."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request

from riskgraph.api.background import wrote
from riskgraph.api.deps import Context
from riskgraph.api.errors import ApiError
from riskgraph.workflows.origin import API, Origin, new_request_id
from riskgraph.workflows.writes import Link, WriteConflict, WriteError, WriteNotFound, WriteService, Written


def request_id(request: Request) -> str:
    """The request's id: the one already given to it (by logging middleware, say), else a new one, kept
    on the request so its log lines, audit entry and provenance records share it."""
    value = getattr(request.state, "request_id", None)
    if not value:
        value = new_request_id()
        request.state.request_id = value
    return str(value)


def origin_of(ctx: Context) -> Origin:
    """The caller, the route (its template: a code's token never lands in the graph) and the request."""
    request = ctx.request
    route = request.scope.get("route")
    path = getattr(route, "path", None) or request.url.path
    return Origin(actor=ctx.caller.username, role=ctx.caller.role.value, channel=API,
                  endpoint=f"{request.method} {path}", request_id=request_id(request))


def api_error(exc: WriteError) -> ApiError:
    """A refused write in the one error shape: 404 for a node that is not there, 409 for a key taken,
    422 for anything the ontology refuses."""
    if isinstance(exc, WriteNotFound):
        return ApiError(404, "not_found", exc.message, {"field": exc.field})
    if isinstance(exc, WriteConflict):
        return ApiError(409, "conflict", exc.message, {"field": exc.field})
    return ApiError(422, "validation_error", exc.message,
                    [{"field": exc.field, "message": exc.message, "type": exc.code}])


def create(ctx: Context, label: str, properties: Mapping[str, Any], *, links: Sequence[Link] = (),
           raw: Mapping[str, Any] | None = None) -> Written:
    """A new node written for the caller, with its provenance; a refusal becomes an ApiError. The
    background then re-assesses what the node touches and runs the warning rules and watches."""
    try:
        written = WriteService(ctx.store).create(label, properties, origin_of(ctx), links=links, raw=raw)
    except WriteError as exc:
        raise api_error(exc) from None
    # fresh scores, warning rules and watches follow every write, in the background
    wrote(ctx.request, [(written.label, written.key)])
    return written

