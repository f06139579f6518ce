"""One writer at a time on an embedded store, across threads and processes.

FalkorDB runs a write query's reading part (MERGE's "does it exist?") concurrently with other
queries and only serialises the commit, so two processes MERGEing the same relationship at once
both create it (measured: 4 writers × 20,000 MERGEs → 26,000 relationships). Holding this lock
around every write makes MERGE mean "exactly once" again; reads never take it.
"""
from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".write.lock"


class WriteLock:
    """An exclusive flock on `<data_dir>/.write.lock`, plus a thread lock (flock is per open file)."""

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.path = Path(data_dir) / LOCK_NAME
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def _descriptor(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a fork()ed child opens its own
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._thread_lock:
            fd = self._descriptor()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None
