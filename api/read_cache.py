"""Answers of the busiest reads, kept per worker while the store's data stays the same.

A portrait costs about thirteen store round trips and ten CPU-milliseconds; asked again (a
dashboard refreshing, a placard scanned by a queue of inspectors, a desk page opened by a
county's staff) it is answered from here when nothing in the store has changed since
(`GraphStore.change_token`: any process's write renews it, so a load, `assess` or another
worker invalidates every answer at once) and the answer is at most `max_age_s` old — answers that
depend on the clock (overdue, days in a state) lag by at most that.

Answers are kept per caller (the key holds who asks), so no disclosure decision is shared between
roles, scopes or accounts. A hit replays the restricted reads its first computation recorded, so
the audit log gets one entry per read, hit or miss. A backend without a change token (Neo4j:
there is no cheap global one) computes every answer.

A worker that does not hold an answer looks for it among those the service's other workers
computed (api/shared_answers.py, unless RISKGRAPH_READ_CACHE_SHARED=0) before computing it.

Each answer is also kept as the HTTP response it was sent as (`KeptResponse`): the next identical
request is sent those bytes by api/kept_responses.py before routing, validation and serialising,
and without a thread hop — a hit costs well under a CPU-millisecond instead of one or two, and is
answered on the event loop while other requests compute.
"""
from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from riskgraph.api.shared_answers import SharedAnswers
from riskgraph.graph.env import env_float, env_int

if TYPE_CHECKING:
    from riskgraph.api.access import Caller
    from riskgraph.api.deps import Context

#: how many answers a worker keeps (0: none; every read is computed)
ENV_ENTRIES = "RISKGRAPH_READ_CACHE_ENTRIES"
#: the oldest answer reused, in seconds
ENV_MAX_AGE = "RISKGRAPH_READ_CACHE_SECONDS"
#: 0: each worker keeps its answers to itself (default 1: the workers share them)
ENV_SHARED = "RISKGRAPH_READ_CACHE_SHARED"


#: a response larger than this is not kept as bytes (its answer still is)
MAX_RESPONSE_BYTES = 1 << 20
#: the most bytes of responses one worker keeps
RESPONSE_BUDGET = 64 << 20
#: where `answer` notes, in the request's state, what the response it helps make may be kept as
NOTE = "riskgraph.read_cache"
#: the note of a request that asked for several answers (an export's pages): its response is not kept
SEVERAL = "several"
#: set on the endpoints `cached_read` serves: only their responses are kept (api/kept_responses.py)
KEPT_AS_RESPONSE = "riskgraph_kept_as_response"


@dataclass(frozen=True)
class _Entry:
    answer: Any
    restricted: dict[str, str]
    subject: str | None
    made: float


@dataclass(frozen=True)
class Note:
    """What a response made from a kept or computed answer is: of which data, how old, for whom, what it
    disclosed."""
    token: str
    made: float
    caller: Caller
    restricted: dict[str, str]
    subject: str | None


@dataclass(frozen=True)
class KeptResponse:
    """A response as it was sent: replayed to the same caller asking the same while the data holds."""
    headers: list[tuple[bytes, bytes]]
    body: bytes
    note: Note
    route: str


class ReadCache:
    """A bounded, least-recently-used map from (change token, caller, request) to an answer."""

    def __init__(self, entries: int = 1_000, max_age_s: float = 30.0, shared: bool = False) -> None:
        self.entries = entries
        self.max_age_s = max_age_s
        #: whether the workers share answers (api/shared_answers.py; `share` opens the file): not without entries
        self.shared = shared and entries > 0
        self.hits = self.shared_hits = self.misses = 0
        self._items: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._responses: OrderedDict[Hashable, KeptResponse] = OrderedDict()
        self._response_bytes = 0
        self._token: str | None = None
        self._lock = threading.Lock()
        self._others: SharedAnswers | None = None

    @classmethod
    def from_env(cls) -> ReadCache:
        entries = env_int(ENV_ENTRIES, 1_000, low=0)
        return cls(entries, env_float(ENV_MAX_AGE, 30.0), shared=bool(env_int(ENV_SHARED, 1, low=0)))

    def share(self, path: Path, store_id: str) -> None:
        """Share answers with the other workers of the service through the file at `path` (if `shared`)."""
        if self.shared:
            self._others = SharedAnswers(path, store_id, self.max_age_s)

    def close(self) -> None:
        if self._others is not None:
            self._others.close()
            self._others = None

    def answer[T](self, ctx: Context, key: Hashable, compute: Callable[[], T]) -> T:
        """The answer for `key` as this caller sees it now: kept here, kept by another worker, or
        computed and kept."""
        token = ctx.store.change_token() if self.entries else None
        if token is None:
            return compute()
        full = (ctx.caller, ctx.request.headers.get("accept-language"), key)
        kept = self._lookup(token, full)
        others, shared_key = self._others, ""
        if kept is None and others is not None:
            shared_key = others.key(full)
            found = others.get(token, shared_key)
            if found is not None:
                data, age = found
                kept = _Entry(data["answer"], data["restricted"], data["subject"], time.monotonic() - age)
                self._keep(token, full, kept)
                self.shared_hits += 1
        if kept is not None:
            ctx.disclosed.restricted.update(kept.restricted)
            ctx.disclosed.subject = kept.subject
        else:
            self.misses += 1
            answer = compute()
            kept = _Entry(answer, dict(ctx.disclosed.restricted), ctx.disclosed.subject, time.monotonic())
            self._keep(token, full, kept)
            if others is not None:
                others.put(token, shared_key, {"answer": answer, "restricted": kept.restricted, "subject": kept.subject})
        state = ctx.request.state
        setattr(state, NOTE, SEVERAL if getattr(state, NOTE, None) is not None else
                Note(token, kept.made, ctx.caller, kept.restricted, kept.subject))
        return kept.answer  # stored by this same key's compute

    def response(self, key: Hashable, token_of: Callable[[], str | None]) -> KeptResponse | None:
        """The response kept for `key` (the request as sent), if one is, the store's token (`token_of`) is
        still the one it was made under and it is young enough; whether the caller is the one it was
        made for is the middleware's to check (`count_hit` once it is). A request without a kept
        response costs a dictionary lookup: the store is asked only when one is."""
        with self._lock:
            kept = self._responses.get(key)
        if kept is None:
            return None
        if token_of() != kept.note.token or self._stale(kept.note.made):
            return None  # the token: a store round trip, outside the lock
        with self._lock:
            if key in self._responses:
                self._responses.move_to_end(key)
        return kept

    def count_hit(self) -> None:
        with self._lock:
            self.hits += 1

    def keep_response(self, key: Hashable, kept: KeptResponse) -> None:
        """Keep a response made from an answer of the current token, within the byte budget (its body is
        at most MAX_RESPONSE_BYTES: api/kept_responses.py stops copying past it)."""
        with self._lock:
            if kept.note.token != self._token:  # the data changed since the answer was made
                return
            old = self._responses.pop(key, None)
            self._response_bytes += len(kept.body) - (len(old.body) if old else 0)
            self._responses[key] = kept
            while len(self._responses) > self.entries or self._response_bytes > RESPONSE_BUDGET:
                self._response_bytes -= len(self._responses.popitem(last=False)[1].body)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def responses(self) -> int:
        """How many responses are kept now."""
        return len(self._responses)

    def _lookup(self, token: str, key: Hashable) -> _Entry | None:
        with self._lock:
            if token != self._token:  # the data changed: nothing kept holds any more
                self._items.clear()
                self._responses.clear()
                self._response_bytes = 0
                self._token = token
            entry = self._items.get(key)
            if entry is None or self._stale(entry.made):
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return entry

    def _stale(self, made: float) -> bool:
        return time.monotonic() - made > self.max_age_s

    def _keep(self, token: str, key: Hashable, entry: _Entry) -> None:
        with self._lock:
            if token != self._token:  # the data changed while this answer was computed
                return
            self._items[key] = entry
            self._items.move_to_end(key)
            while len(self._items) > self.entries:
                self._items.popitem(last=False)


def cached_read[**P, R](endpoint: Callable[P, R]) -> Callable[P, R]:
    """Serve a read endpoint through the app's ReadCache. The endpoint takes `ctx: Context` and
    its answer depends only on its arguments, the caller and the store's data."""

    @functools.wraps(endpoint)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        ctx: Context = kwargs["ctx"]  # type: ignore[assignment]  # every cached endpoint declares it
        request = repr(sorted((name, value) for name, value in kwargs.items() if name != "ctx"))
        return ctx.svc.reads.answer(ctx, (endpoint.__qualname__, request), lambda: endpoint(*args, **kwargs))

    setattr(wrapper, KEPT_AS_RESPONSE, True)
    return wrapper
