"""One error shape for every failure: `{"error": {"code": "...", "message": "...", "details": ...}}`.

`message` is in the language the caller's Accept-Language prefers (English, or Chinese for zh…;
`Content-Language` says which): the message's template translated by the catalog (cli/locale) and
filled in with its values (`riskgraph.cli.i18n.render`, the CLI's own mechanism: a refusal raised
deep in a workflow as `WrongState(N_("… {state}"), state=s)` arrives here with its template), else
the code's sentence in that language with the English message in brackets. `code` never changes.

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

from riskgraph.api.validation_text import field_message
from riskgraph.cli.i18n import N_, negotiate, render
from riskgraph.graph.logs import REQUEST_ID
from riskgraph.graph.store import QueryTimeout, ReadOnlyViolation, StoreError
from riskgraph.ontology.errors import Message, RiskGraphError, as_message

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
                 headers: dict[str, str] | None = None, **values: Any) -> None:
        super().__init__(message, **values)
        self.status = status
        self.code = code
        self.message = self.text
        self.details = details
        self.headers = headers


def not_found(what: str, details: Any = None, **values: Any) -> ApiError:
    """404 "<what> not found"; `what` is a template (`N_("enterprise {uscc}")`) filled with `values`."""
    return ApiError(404, "not_found", N_("{what} not found"), details, what=as_message(what, **values))


def forbidden(message: str, details: Any = None, **values: Any) -> ApiError:
    return ApiError(403, "forbidden", message, details, **values)


def unauthorized(message: str, **values: Any) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"}, **values)


def bad_request(code: str, message: str, details: Any = None, **values: Any) -> ApiError:
    return ApiError(400, code, message, details, **values)


def invalid(message: str, field: str | None = None, **values: Any) -> ApiError:
    """422 for a value that passes the type checks but not the service's own (an unknown label filter)."""
    text = as_message(message, **values)
    return ApiError(422, "validation_error", text, [{"field": field, "message": text}] if field else None)


#: what each code means, to translate messages the catalog does not hold word for word
_CODE_SENTENCES = {
    "bad_request": "请求有误", "unauthorized": "未登录或登录已失效", "forbidden": "无权进行此操作", "not_found": "未找到",
    "method_not_allowed": "不支持此请求方法", "not_acceptable": "无法提供所要求的格式", "request_timeout": "请求超时",
    "conflict": "与当前状态冲突", "payload_too_large": "请求内容过大", "unsupported_media_type": "不支持的内容类型",
    "validation_error": "请求参数无效", "too_many_requests": "请求过于频繁", "internal_error": "内部错误",
    "unavailable": "服务暂不可用", "timeout": "处理超时", "store_unavailable": "图数据库暂时无法响应",
    "query_timeout": "查询超过时间限制，已停止", "read_only": "只读入口：查询试图写入",
}


def localise(message: str, code: str, lang: str) -> str:
    """`message` in `lang`: the catalog's translation (of its template, filled in), else the code's
    sentence with the original in brackets."""
    if lang == "en":
        return str(message)
    translated = render(message, lang)
    if translated != message:
        return translated
    sentence = _CODE_SENTENCES.get(code)
    return f"{sentence}（{message}）" if sentence and sentence != message else message


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: dict[str, str] | None = None, *, lang: str = "en") -> JSONResponse:
    body = {"error": {"code": code, "message": localise(message, code, lang), "details": _localise_details(details, lang)}}
    return JSONResponse(body, status_code=status, headers={**(headers or {}), "Content-Language": "zh-CN" if lang == "zh" else "en"})


def _localise_details(details: Any, lang: str) -> Any:
    """A field's message in `details` (`invalid(..., field)`) in `lang` too, when it is a Message."""
    if lang == "en" or not isinstance(details, list):
        return details
    return [{**d, "message": render(d["message"], lang)} if isinstance(d, dict) and isinstance(d.get("message"), Message)
            else d for d in details]


def _lang(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"))


#: the responses every route may give, for the OpenAPI description
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in ((401, "bad or expired token"), (403, "the caller's role may not do this"),
                       (404, "no such resource"), (422, "invalid parameters"),
                       (500, "internal error"), (503, "the graph store is unavailable"))
}


def _validation_details(exc: RequestValidationError, lang: str) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        out.append({"field": ".".join(loc[1:]) if len(loc) > 1 else ".".join(loc),
                    "in": loc[0] if loc else None, "message": field_message(err, lang), "type": err.get("type")})
    return out


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the one shape."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers, lang=_lang(request))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 404 and message == "Not Found":
            message = as_message(N_("no route {path}"), path=request.url.path)
        if exc.status_code == 405:
            message = as_message(N_("{method} is not allowed on {path}"), method=request.method, path=request.url.path)
        return error_response(exc.status_code, code, message, None, getattr(exc, "headers", None), lang=_lang(request))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        lang = _lang(request)
        return error_response(422, "validation_error", N_("invalid request parameters"), _validation_details(exc, lang), lang=lang)

    @app.exception_handler(ReadOnlyViolation)
    async def _read_only(request: Request, exc: ReadOnlyViolation) -> JSONResponse:
        return error_response(400, "read_only", N_("this entry is read-only: the query tried to write"), None, lang=_lang(request))

    @app.exception_handler(QueryTimeout)
    async def _timeout(request: Request, exc: QueryTimeout) -> JSONResponse:
        return error_response(504, "query_timeout", N_("the query ran past its time limit and was stopped"), None,
                              lang=_lang(request))

    @app.exception_handler(StoreError)
    async def _store_error(request: Request, exc: StoreError) -> JSONResponse:
        ref = REQUEST_ID.get() or uuid.uuid4().hex[:12]
        log.error("store error (ref %s) on %s %s: %s", ref, request.method, request.url.path, exc)
        return error_response(503, "store_unavailable", N_("the graph store could not answer"), {"ref": ref}, lang=_lang(request))

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        ref = REQUEST_ID.get() or uuid.uuid4().hex[:12]
        log.exception("unhandled error (ref %s) on %s %s", ref, request.method, request.url.path)
        return error_response(500, "internal_error", N_("internal error"), {"ref": ref}, lang=_lang(request))
