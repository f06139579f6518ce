"""Send a read the read cache answered before as the bytes it was sent as, before routing.

A cached portrait still cost one to two CPU-milliseconds through FastAPI: routing, four thread
hops for the sync dependencies and the endpoint, validating and serialising the answer again. With
32 clients on two cores those hops queued behind the reads being computed. This middleware sits
inside the edge checks (rate limits, input checks, request id: a hit passes them all) and, for a
GET whose URL, language, `Accept` and caller match a response kept from an answer of the store's
current data (api/read_cache.py), sends that response on the event loop. Anything else goes on to
the routes; the 200 response of an endpoint served by `cached_read` from one answer is copied on
its way out (up to `MAX_RESPONSE_BYTES`) and kept. Nothing else is copied: not a stream, not an
export assembled from several answers.

The caller is resolved as the routes resolve it (a bearer token checked for signature, expiry and
revocation, in a worker thread: the accounts file may be busy), whenever a response is kept for the
request; a header the routes would refuse goes on to them. A hit that carried non-public fields
writes its audit entry before it is sent, as the routes do.
"""
from __future__ import annotations

import hashlib
from collections.abc import Hashable

from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from riskgraph.api.access import ANONYMOUS, Caller
from riskgraph.api.deps import Services
from riskgraph.api.read_cache import KEPT_AS_RESPONSE, MAX_RESPONSE_BYTES, NOTE, KeptResponse, Note


class KeptResponses:
    """ASGI middleware: kept responses out, fresh ones of cached endpoints kept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        svc: Services | None = getattr(getattr(scope.get("app"), "state", None), "services", None)
        if scope["type"] != "http" or scope["method"] != "GET" or svc is None or not svc.reads.entries:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)  # the first of a repeated header, as the routes read it
        authorization = headers.get("authorization")
        # the request as sent, with the headers an answer may depend on (a bearer token by its digest:
        # no secret is kept)
        key = (hashlib.blake2b(authorization.encode("latin-1"), digest_size=16).digest() if authorization else None,
               headers.get("accept-language"), headers.get("accept"), scope["path"], scope["query_string"])
        kept = svc.reads.response(key, svc.store.change_token)
        if kept is not None and await _caller(svc, authorization) == kept.note.caller:
            svc.reads.count_hit()
            await _send_kept(svc, scope, kept, send)
            return
        await self._answer_and_keep(svc, key, scope, receive, send)

    async def _answer_and_keep(self, svc: Services, key: Hashable, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0

        async def send_and_copy(message: Message) -> None:
            nonlocal start, size
            if message["type"] == "http.response.start":
                # the endpoint has answered by now: its note says whether this response may be kept
                start = message if message["status"] == 200 and _note(scope) is not None else None
            elif start is not None and message["type"] == "http.response.body":
                size += len(message.get("body", b""))
                if size > MAX_RESPONSE_BYTES:
                    start, chunks[:] = None, []
                else:
                    chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, send_and_copy)
        note = _note(scope)
        if start is not None and note is not None:
            route = getattr(scope.get("route"), "name", None) or scope["path"]
            svc.reads.keep_response(key, KeptResponse(list(start.get("headers", [])), b"".join(chunks), note, route))


def _note(scope: Scope) -> Note | None:
    """What the request's one answer was, if it came from an endpoint whose responses are kept."""
    note = scope.get("state", {}).get(NOTE)
    endpoint = scope.get("endpoint")
    return note if isinstance(note, Note) and getattr(endpoint, KEPT_AS_RESPONSE, False) else None


async def _caller(svc: Services, authorization: str | None) -> Caller | None:
    """Who asks, as the routes would find (None: a header they refuse, or could not check now, and
    answer for themselves)."""
    if authorization is None:
        return ANONYMOUS
    scheme, token = get_authorization_scheme_param(authorization)  # as OAuth2PasswordBearer reads it
    if scheme.lower() != "bearer" or not token:
        return None

    def check() -> Caller | None:
        try:
            return svc.tokens.caller(token)
        except Exception:  # noqa: BLE001 - refused or not checkable now: the routes answer with the reason
            return None

    return await run_in_threadpool(check)


async def _send_kept(svc: Services, scope: Scope, kept: KeptResponse, send: Send) -> None:
    note = kept.note
    if note.restricted:  # audited before the data leaves, as api/deps.get_context does
        client = scope.get("client")
        await run_in_threadpool(lambda: svc.audit.restricted_read(
            note.caller, kept.route, note.restricted, subject=note.subject, method="GET", path=scope["path"],
            client=client[0] if client else None))
    await send({"type": "http.response.start", "status": 200, "headers": kept.headers})
    await send({"type": "http.response.body", "body": kept.body})
