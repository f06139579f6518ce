"""Limits on abusive or careless callers, held at the edge of the service.

`EdgeMiddleware` (installed by `create_app`) runs before any route parses anything:

- input: a NUL or control character in the path, a NUL in a query value, a query parameter
  without a name, or a JSON / form body holding NUL or a lone surrogate is refused with 400 and
  audited (the store cannot hold such text; it once answered 503 or 500, unaudited);
- body size per route class: a declared or streamed body over the class's limit is refused with
  413 before it is parsed (login 4 KiB, analyst 64 KiB, QR reports 256 KiB, other writes 1 MiB);
- request rate per route class and per caller — the account for a signed-in caller, else the
  client address — by token bucket: 429 with Retry-After; heavy reads (dossiers, subgraphs,
  layers, placard batches) also have a cap on how many run at once; one past the cap waits up to
  `heavy_queue_s` for a slot before its 429, so a burst is served late rather than refused.

`LoginThrottle` slows password guessing by address and by username (unknown names too, so the
answer does not reveal which exist), with exponential backoff; password hashing runs a few at a
time so guessing cannot starve other requests. `OnePerAccount` lets each analyst run one query at
a time. Counters live in memory, per process: a restart forgets them.
"""
from __future__ import annotations

import asyncio
import json
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from riskgraph.api.errors import ApiError, error_response
from riskgraph.api.qr.ratelimit import TokenBucket
from riskgraph.cli.i18n import negotiate
from riskgraph.ontology.errors import N_, RiskGraphError, SettingError, Term, as_message

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ENV_LIMITS = "RISKGRAPH_LIMITS"


@dataclass(frozen=True)
class Rate:
    burst: float
    per_second: float


@dataclass(frozen=True)
class Limits:
    """What the service allows; `RISKGRAPH_LIMITS` (JSON with these field names) overrides any."""

    body_bytes: dict[str, int] = field(default_factory=lambda: {
        "login": 4 * 1024, "analyst": 64 * 1024, "report": 256 * 1024, "write": 1024 * 1024,
        "read": 16 * 1024, "heavy": 16 * 1024,
        # an evidence photo upload (POST /photos): above RISKGRAPH_PHOTO_MAX_BYTES (8 MiB) with multipart framing
        "photo": 9 * 1024 * 1024,
        # a batch of JSON lines from a source system (POST /ingest/{source})
        "ingest": 8 * 1024 * 1024})
    rates: dict[str, Rate] = field(default_factory=lambda: {
        "read": Rate(600, 100), "heavy": Rate(60, 5), "login": Rate(30, 2), "analyst": Rate(30, 1),
        "report": Rate(30, 0.5), "write": Rate(120, 20), "photo": Rate(60, 5),
        "ingest": Rate(1200, 400)})
    heavy_at_once: int = 4
    #: how long a heavy read past `heavy_at_once` waits for a slot before its 429 (a burst queues briefly)
    heavy_queue_s: float = 2.0
    login_free_failures_user: int = 5
    login_free_failures_address: int = 20
    #: the wait after the first failure past the free ones; each further failure doubles it
    login_first_backoff_s: float = 1.0
    login_max_backoff_s: float = 900.0
    password_checks_at_once: int = 1
    password_queue_s: float = 5.0

    @classmethod
    def from_env(cls) -> Limits:
        raw = os.environ.get(ENV_LIMITS)
        if not raw:
            return cls()
        try:
            given = json.loads(raw)
            base = cls()
            rates = {**base.rates, **{k: Rate(*v) for k, v in given.pop("rates", {}).items()}}
            body = {**base.body_bytes, **given.pop("body_bytes", {})}
            return cls(body_bytes=body, rates=rates, **given)
        except (ValueError, TypeError) as exc:
            raise SettingError(N_("{name} is not valid: {exc}"), name=ENV_LIMITS, exc=exc) from None


HEAVY_MARKERS = ("/dossier", "/subgraph")
#: writes anyone may send without an account: the report classes' body size and rate
PUBLIC_WRITES = ("/reports", "/disaster-points/reports", "/reports/receipt", "/resources")
HEAVY_PREFIXES = ("/layers", "/qr/regions/")


def route_class(method: str, path: str) -> str:
    """Which limits a request falls under."""
    if method in ("GET", "HEAD", "OPTIONS"):
        return "heavy" if path.startswith(HEAVY_PREFIXES) or path.endswith(HEAVY_MARKERS) else "read"
    if path == "/auth/token":
        return "login"
    if path.startswith("/analyst/"):
        return "analyst"
    if path == "/photos":
        return "photo"
    if path.startswith("/ingest/"):
        return "ingest"
    if path.lower().startswith("/q/") or path in PUBLIC_WRITES:
        return "report"
    return "write"


#: the request classes as messages name them
CLASS_WORDS = {"heavy": Term("heavy", zh="大查询"), "read": Term("read", zh="读取"), "login": Term("login", zh="登录"),
               "analyst": Term("analyst", zh="分析查询"), "photo": Term("photo", zh="照片上传"),
               "ingest": Term("ingest", zh="数据接入"), "report": Term("report", zh="举报"), "write": Term("write", zh="写入")}


def too_many(message: str, wait_s: float, **values: Any) -> ApiError:
    seconds = max(1, math.ceil(wait_s))
    return ApiError(429, "too_many_requests", N_("{reason}; try again in {seconds} s"), {"retryAfter": seconds},
                    headers={"Retry-After": str(seconds)}, reason=as_message(message, **values), seconds=seconds)


# ---------------------------------------------------------------------- input checks
def text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "text that is not valid Unicode (a lone surrogate)"
    return None


def path_problem(path: str, query: bytes) -> str | None:
    if any(ord(c) < 32 or c == "\x7f" for c in path):
        return "the path holds a control character"
    if problem := text_problem(path):
        return f"the path holds {problem}"
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="replace"):
        if name == "":
            return "a query parameter has no name"
        for part in (name, value):
            if problem := text_problem(part):
                return f"query parameter {name[:40]!r} holds {problem}"
    return None


def json_problem(value: Any, where: str = "body") -> str | None:
    if isinstance(value, str):
        problem = text_problem(value)
        return f"{where} holds {problem}" if problem else None
    if isinstance(value, dict):
        for k, v in value.items():
            if (p := json_problem(k, f"{where} key")) or (p := json_problem(v, f"{where}.{k}"[:80])):
                return p
    elif isinstance(value, list):
        for v in value:
            if p := json_problem(v, where):
                return p
    return None


def body_problem(content_type: str, body: bytes) -> str | None:
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        try:
            return json_problem(json.loads(body))
        except (ValueError, RecursionError):
            return None  # not JSON: the route answers 422
    if kind == "application/x-www-form-urlencoded":
        for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            if problem := text_problem(name) or text_problem(value):
                return f"form field {name[:40]!r} holds {problem}"
    return None


# ---------------------------------------------------------------------- login
class LoginThrottle:
    """Failures per address and per username; after the free ones, each try waits first · 2^(n - free) s."""

    def __init__(self, limits: Limits, *, max_keys: int = 50_000) -> None:
        self.limits = limits
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._max_keys = max_keys
        self._hashing = threading.BoundedSemaphore(limits.password_checks_at_once)

    def _wait(self, key: str, free: int, now: float) -> float:
        count, last = self._failures.get(key, (0, 0.0))
        if count < free:
            return 0.0
        backoff = self.limits.login_first_backoff_s * 2.0 ** (count - free)
        return max(0.0, last + min(backoff, self.limits.login_max_backoff_s) - now)

    def wait(self, address: str, username: str, now: float | None = None) -> float:
        """Seconds until this address may try this username again (0: now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            return max(self._wait(f"addr:{address}", self.limits.login_free_failures_address, now),
                       self._wait(f"user:{username.lower()}", self.limits.login_free_failures_user, now))

    def failed(self, address: str, username: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"addr:{address}", f"user:{username.lower()}"):
                count, _ = self._failures.pop(key, (0, 0.0))
                self._failures[key] = (count + 1, now)
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, address: str, username: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{username.lower()}", None)
            self._failures.pop(f"addr:{address}", None)

    @contextmanager
    def hashing(self) -> Iterator[None]:
        """A turn to check a password; 429 if none comes within password_queue_s."""
        if not self._hashing.acquire(timeout=self.limits.password_queue_s):
            raise too_many(N_("too many logins at once"), 1)
        try:
            yield
        finally:
            self._hashing.release()


class OnePerAccount:
    """At most one running request per account (the analyst's Cypher)."""

    def __init__(self) -> None:
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def enter(self, account: str) -> bool:
        with self._lock:
            if account in self._running:
                return False
            self._running.add(account)
            return True

    def leave(self, account: str) -> None:
        with self._lock:
            self._running.discard(account)


class Edge:
    """The limits' state for one app: buckets, the login throttle, the analyst gate."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.buckets = {name: TokenBucket(rate.burst, rate.per_second) for name, rate in limits.rates.items()}
        self.login = LoginThrottle(limits)
        self.analysts = OnePerAccount()
        self.heavy = asyncio.Semaphore(limits.heavy_at_once)  # taken and given back on the event loop

    async def heavy_slot(self) -> bool:
        """A slot for one heavy read, waiting up to `heavy_queue_s` for one; False: none came free."""
        if not self.heavy.locked():
            await self.heavy.acquire()
            return True
        try:
            await asyncio.wait_for(self.heavy.acquire(), self.limits.heavy_queue_s)
        except TimeoutError:
            return False
        return True


# ---------------------------------------------------------------------- the middleware
class _TooLarge(RiskGraphError):
    pass


class EdgeMiddleware:
    """Input checks, body size and rate limits, before the routes see the request."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = getattr(scope.get("app"), "state", None)
        edge: Edge | None = getattr(state, "limits", None)
        svc = getattr(state, "services", None)
        if scope["type"] != "http" or edge is None or svc is None:
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        klass = route_class(method, path)
        client = (scope.get("client") or ("unknown",))[0]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        account = _account(svc, headers.get("authorization"))

        async def refuse(status: int, code: str, message: str, extra: dict[str, str] | None = None,
                         audited: bool = False) -> None:
            if audited:
                _audit(svc, account, method, path, status, client, message)
            await error_response(status, code, message, None, extra,
                                 lang=negotiate(headers.get("accept-language")))(scope, receive, send)

        bucket = edge.buckets.get(klass)
        if bucket is not None:
            wait = bucket.take(f"user:{account}" if account else f"addr:{client}")
            if wait > 0:
                who = N_("too many {klass} requests from this account") if account else N_(
                    "too many {klass} requests from this address")
                err = too_many(who, wait, klass=CLASS_WORDS.get(klass, Term(klass)))
                await refuse(429, err.code, err.message, err.headers)
                return
        if problem := path_problem(path, scope.get("query_string", b"")):
            await refuse(400, "invalid_input", f"refused: {problem}", audited=True)
            return
        limit = edge.limits.body_bytes.get(klass, 1024 * 1024)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await refuse(413, "payload_too_large", f"the request body is {int(declared):,} bytes; {klass} requests "
                         f"take at most {limit:,}")
            return
        body = b""
        if method not in ("GET", "HEAD", "OPTIONS") or declared not in (None, "0"):
            try:
                body = await _read_body(receive, limit)
            except _TooLarge:
                await refuse(413, "payload_too_large", f"the request body is over {limit:,} bytes, the most "
                             f"{klass} requests take")
                return
            if problem := body_problem(headers.get("content-type", ""), body):
                await refuse(400, "invalid_input", f"refused: the {problem}", audited=True)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        if klass == "heavy":
            if not await edge.heavy_slot():
                err = too_many(N_("too many large reads at once; the service is busy"), 1)
                await refuse(429, err.code, err.message, err.headers)
                return
            try:
                await self.app(scope, replay, send)
            finally:
                edge.heavy.release()
            return
        await self.app(scope, replay, send)


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge()
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _account(svc: Any, authorization: str | None) -> str | None:
    """The signed-in account a request's bearer token names (signature and expiry checked)."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    return svc.tokens.subject(authorization[7:].strip())


def _audit(svc: Any, account: str | None, method: str, path: str, status: int, client: str, message: str) -> None:
    from riskgraph.api.access import ANONYMOUS

    user = svc.users.get(account) if account else None
    shown = path.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace").replace("\x00", "\\x00")
    svc.audit.record(user.caller() if user else ANONYMOUS, "invalid_request", "refused", method=method,
                     path=shown[:300], status=status, client=client, details={"problem": message[:300]})
