"""Each HTTP request gets an id, carried by every log line written while it runs, and one log line.

The id is the caller's `X-Request-ID` when it is a plain token (a proxy's or a client's, so one
id follows a request through several systems), else a new one; it comes back in the response's
`X-Request-ID` header and as the `ref` of a 500 or 503 error body. The request's line gives the
method, the path without its query string (queries may carry search terms) and with a QR code's
token cut out (it is a capability), the status and the duration; never headers, so no bearer
token or cookie reaches the log.
"""
from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from riskgraph.graph.logs import REQUEST_ID

HEADER = "X-Request-ID"
_ACCEPTED = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_QR_TOKEN = re.compile(r"^/([qQ])/[^/]+")

log = logging.getLogger("riskgraph.api.requests")


def loggable_path(path: str) -> str:
    """The path as the log shows it: `/q/{token}/…` becomes `/q/[token]/…`."""
    return _QR_TOKEN.sub(r"/\1/[token]", path)


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


def incoming_request_id(scope: Scope) -> str | None:
    """The caller's id, if it sent a plain one (anything else could forge or break log lines)."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1").strip()
            return text if _ACCEPTED.fullmatch(text) else None
    return None


class RequestContext:
    """ASGI middleware: sets the request id for the request's whole task and logs the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(scope) or new_request_id()
        # not reset afterwards: each request runs in its own task (its own context), and the
        # handler of an unhandled error runs outside this middleware but must still see the id
        REQUEST_ID.set(request_id)
        status = 500  # what the caller gets if the app fails before it starts a response
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info("request", extra={"method": scope["method"], "path": loggable_path(scope["path"]), "status": status,
                                       "ms": round((time.perf_counter() - started) * 1000, 1)})
