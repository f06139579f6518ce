"""One load at a time per store: `riskgraph load` holds an exclusive lock for its whole run.

Two loads interleaving their batches would each compute "what changed" against the other's half
written state (false ChangeEvents). The lock is a flock, so a killed load releases it at once.
It lives in the embedded store's data directory, or — for a server store — in the local data
directory under a name derived from the store's URL (so it guards loads started on this machine).
"""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from riskgraph.graph.connect import default_data_dir, redact
from riskgraph.graph.store import GraphStore
from riskgraph.ontology.errors import N_, RiskGraphError

LOCK_NAME = "load.lock"
_POLL_S = 0.2


class LoadLocked(RiskGraphError, RuntimeError):
    """Another load holds the store's load lock; the message names it."""


def lock_path(store: GraphStore) -> Path:
    server = getattr(store, "server", None)
    if server is not None:
        return Path(server.data_dir) / LOCK_NAME
    digest = hashlib.sha256(redact(store.url).encode()).hexdigest()[:16]
    return default_data_dir() / "locks" / f"load-{digest}.lock"


@contextmanager
def load_lock(store: GraphStore, *, wait_s: float = 0.0) -> Iterator[Path]:
    """Hold the store's load lock; wait up to `wait_s` for another load to finish, else LoadLocked."""
    path = lock_path(store)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
                    raise LoadLocked(N_("another load is running on {url} ({holder}); wait for it to finish, or pass --wait SECONDS to "
                                        "wait for it"), url=redact(store.url), holder=holder) from None
                time.sleep(_POLL_S)
        os.ftruncate(fd, 0)
        started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        os.pwrite(fd, f"pid {os.getpid()}, started {started}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # releases the flock
