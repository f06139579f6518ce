"""One error shape for every failure: `{"error": {"code": "...", "message": "...", "details": ...}}`.

Routing misses (404, 405), validation (422), authentication (401), authorisation (403), the
store's refusals and time-outs and unhandled exceptions all come out in it. An unhandled error
says only "internal error" and a reference (the request id); the traceback goes to the server log.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from riskgraph.graph.logs import REQUEST_ID
from riskgraph.graph.store import QueryTimeout, ReadOnlyViolation, StoreError
from riskgraph.ontology.errors import RiskGraphError

log = logging.getLogger("riskgraph.api")

_STATUS_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    406: "not_acceptable", 408: "request_timeout", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "validation_error", 429: "too_many_requests", 500: "internal_error",
    503: "unavailable", 504: "timeout",
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = Field(None, description="depends on the code: `validation_error` a list of {field, in, message, "
                                           "type}; `internal_error` and `store_unavailable` {ref}; others null or "
                                           "a small object (the role required, the values allowed …)")


class ErrorBody(BaseModel):
    """Every error response has this body."""

    error: ErrorDetail


class ApiError(RiskGraphError):
    """An error the service raises on purpose; becomes the one error shape."""

    def __init__(self, status: int, code: str, message: str, details: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers


def not_found(what: str, details: Any = None) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found", details)


def forbidden(message: str, details: Any = None) -> ApiError:
    return ApiError(403, "forbidden", message, details)


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def bad_request(code: str, message: str, details: Any = None) -> ApiError:
    return ApiError(400, code, message, details)


def invalid(message: str, field: str | None = None) -> ApiError:
    """422 for a value that passes the type checks but not the service's own (an unknown label filter)."""
    return ApiError(422, "validation_error", message, [{"field": field, "message": message}] if field else None)


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status, headers=headers)


#: the responses every route may give, for the OpenAPI description
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in ((401, "bad or expired token"), (403, "the caller's role may not do this"),
                       (404, "no such resource"), (422, "invalid parameters"),
                       (500, "internal error"), (503, "the graph store is unavailable"))
}


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        out.append({"field": ".".join(loc[1:]) if len(loc) > 1 else ".".join(loc),
                    "in": loc[0] if loc else None, "message": err.get("msg"), "type": err.get("type")})
    return out


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the one shape."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route {request.url.path}"
        if exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        return error_response(exc.status_code, code, message, None, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "validation_error", "invalid request parameters", _validation_details(exc))

    @app.exception_handler(ReadOnlyViolation)
    async def _read_only(request: Request, exc: ReadOnlyViolation) -> JSONResponse:
        return error_response(400, "read_only", "this entry is read-only: the query tried to write", None)

    @app.exception_handler(QueryTimeout)
    async def _timeout(request: Request, exc: QueryTimeout) -> JSONResponse:
        return error_response(504, "query_timeout", "the query ran past its time limit and was stopped", None)

    @app.exception_handler(StoreError)
    async def _store_error(request: Request, exc: StoreError) -> JSONResponse:
        ref = REQUEST_ID.get() or uuid.uuid4().hex[:12]
        log.error("store error (ref %s) on %s %s: %s", ref, request.method, request.url.path, exc)
        return error_response(503, "store_unavailable", "the graph store could not answer", {"ref": ref})

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        ref = REQUEST_ID.get() or uuid.uuid4().hex[:12]
        log.exception("unhandled error (ref %s) on %s %s", ref, request.method, request.url.path)
        return error_response(500, "internal_error", "internal error", {"ref": ref})
