"""Send a read the read cache answered before as the bytes it was sent as, before routing.

A cached portrait still cost one to two CPU-milliseconds through FastAPI: routing, four thread
hops for the sync dependencies and the endpoint, validating and serialising the answer again. With
32 clients on two cores those hops queued behind the reads being computed. This middleware sits
inside the edge checks (rate limits, input checks, request id: a hit passes them all) and, for a
GET whose URL, language, `Accept` and caller match a response kept from an answer of the store's
current data (api/read_cache.py), sends that response on the event loop. Anything else goes on to
the routes, and a response made from a cached endpoint's answer is kept on its way out.

The caller is resolved as the routes resolve it (a bearer token checked for signature, expiry and
revocation), whenever a response is kept for the request; a token the routes would refuse goes on to
them. A hit
that carried non-public fields writes its audit entry before it is sent, as the routes do.
"""
from __future__ import annotations

import hashlib
from collections.abc import Hashable

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from riskgraph.api.access import ANONYMOUS, Caller
from riskgraph.api.deps import Services
from riskgraph.api.read_cache import NOTE, KeptResponse, Note
from riskgraph.ontology.errors import RiskGraphError


class KeptResponses:
    """ASGI middleware: kept responses out, fresh ones of cached endpoints kept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        svc: Services | None = getattr(getattr(scope.get("app"), "state", None), "services", None)
        if scope["type"] != "http" or scope["method"] != "GET" or svc is None or not svc.reads.entries:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization")
        # the request as sent (a bearer token by its digest: no secret is kept); the caller it names is
        # resolved only when a response is kept for it, and must be the one that response was made for
        key = (hashlib.blake2b(authorization, digest_size=16).digest() if authorization else None,
               headers.get(b"accept-language"), headers.get(b"accept"), scope["path"], scope["query_string"])
        kept = svc.reads.response(key, svc.store.change_token, lambda: _caller(svc, authorization))
        if kept is not None:
            await _send_kept(svc, scope, kept, send)
            return
        await self._answer_and_keep(svc, key, scope, receive, send)

    async def _answer_and_keep(self, svc: Services, key: Hashable, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def send_and_copy(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, send_and_copy)
        note: Note | None = scope.get("state", {}).get(NOTE)
        if note is not None and start is not None and start["status"] == 200:
            route = getattr(scope.get("route"), "name", None) or scope["path"]
            svc.reads.keep_response(key, KeptResponse(list(start.get("headers", [])), b"".join(chunks), note, route))


def _caller(svc: Services, authorization: bytes | None) -> Caller | None:
    """Who asks, as the routes would find (None: a header they refuse, and answer for themselves)."""
    if authorization is None:
        return ANONYMOUS
    scheme, _, token = authorization.decode("latin-1").partition(" ")  # as OAuth2PasswordBearer splits it
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        return svc.tokens.caller(token)
    except RiskGraphError:
        return None


async def _send_kept(svc: Services, scope: Scope, kept: KeptResponse, send: Send) -> None:
    note = kept.note
    if note.restricted:  # audited before the data leaves, as api/deps.get_context does
        client = scope.get("client")
        await run_in_threadpool(lambda: svc.audit.restricted_read(
            note.caller, kept.route, note.restricted, subject=note.subject, method="GET", path=scope["path"],
            client=client[0] if client else None))
    await send({"type": "http.response.start", "status": 200, "headers": kept.headers})
    await send({"type": "http.response.body", "body": kept.body})
