"""A token bucket per client address, in memory (one process; restarts forget)."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict

from riskgraph.ontology.errors import N_, SettingError


class TokenBucket:
    """`capacity` requests at once, refilled at `per_second`; `take` answers how long to wait (0: go)."""

    def __init__(self, capacity: float, per_second: float, *, max_clients: int = 20_000) -> None:
        if capacity < 1 or per_second <= 0:
            raise SettingError(N_("a bucket holds at least 1 and refills at a positive rate"))
        self.capacity = float(capacity)
        self.per_second = float(per_second)
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, client: str, now: float | None = None) -> float:
        """Spend one token for `client`: 0.0 if it had one, else the seconds until it will."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, at = self._buckets.pop(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.per_second)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[client] = (tokens, now)
                wait = (1.0 - tokens) / self.per_second
            while len(self._buckets) > self.max_clients:  # forget the longest-idle client
                self._buckets.popitem(last=False)
            return wait
