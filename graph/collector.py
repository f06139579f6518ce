"""How long-running processes keep Python's cyclic garbage collector out of their way.

`freeze_alive()`: what a process builds once and keeps (the ontology, name tables, a matching index,
clients) is moved out of the collector's walks. Each full collection walks every live container:
a loading process holds ≈ 500,000 that outlive its batches (a first load of 10,000 enterprises ran
59 full collections, 20 of its 111 CPU-s), and an API worker's walks paused every request it held
for 0.39–0.73 s, most of the portraits' p99 (0.12–0.22 s frozen). Frozen objects are still freed
by reference counting.

`fewer_full_collections()`: a bulk job (a load, an `assess`) keeps hundreds of thousands of
containers alive for its whole length, and its batches push enough short-lived objects into the
oldest generation to start a full collection every second batch or so. Each one walks everything
alive and, once rows no longer keep their tracebacks (`loaders/engine.py`), finds almost nothing to
free: 76 full collections freed 150 objects in a first load of 10,000 enterprises and cost 7.5 of
its 102 CPU-s (1.2 of 11.3 in a 2,000-enterprise `assess`). The oldest generation's threshold
counts the younger collections between two full ones; ten times it (10 → 100) cut the load's CPU
by 11 % and left its peak memory as it was.

`paused()`: while a process builds what it keeps (a load's matching index of 100,000 registered
enterprises: ≈ 1.5 M sets and strings), every full collection walks the growing index and frees
nothing; under `fewer_full_collections` they still cost 2.3 of the index's 6.3 CPU-s. The block
runs without the cyclic collector; reference counting still frees.

It lives in `graph/` because loaders, reasoning and the API all build on it; it concerns the
Python process, not the store.
"""
from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any


def freeze_alive() -> None:
    """Collect what is garbage now, then freeze everything alive (`gc.freeze()`): for what lives
    as long as the process, once it is built."""
    gc.collect()
    gc.freeze()


#: younger collections between two full ones while a bulk job runs (Python's default: 10)
BULK_FULL_EVERY = 100


class _Overlapping:
    """A process-wide collector setting that jobs in several threads may hold at once: the first to
    enter saves the process's own setting and applies the job's, the last to leave puts it back."""

    def __init__(self, apply: Callable[[], Any], restore: Callable[[Any], None]) -> None:
        self._apply, self._restore = apply, restore
        self._lock = threading.Lock()
        self._depth = 0
        self._saved: Any = None

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._saved = self._apply()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    self._restore(self._saved)


def _raise_full_threshold() -> tuple[int, ...]:
    saved = gc.get_threshold()
    young, middle, oldest = saved
    gc.set_threshold(young, middle, max(BULK_FULL_EVERY, oldest))
    return saved


def _disable() -> bool:
    was_enabled = gc.isenabled()
    gc.disable()
    return was_enabled


def _enable_if(was_enabled: bool) -> None:
    if was_enabled:
        gc.enable()


_fewer_full = _Overlapping(_raise_full_threshold, lambda saved: gc.set_threshold(*saved))
_pause = _Overlapping(_disable, _enable_if)


def fewer_full_collections() -> AbstractContextManager[None]:
    """Raise the oldest generation's threshold for the block; the first to enter saves the
    process's thresholds and the last to leave puts them back (jobs may overlap in threads)."""
    return _fewer_full.held()


def paused() -> AbstractContextManager[None]:
    """No cyclic collection during the block (for building what lives as long as the process, then
    `freeze_alive`); the first to enter saves whether the collector ran, the last to leave restores it."""
    return _pause.held()
