"""SQLite files of the service (users, audit): private to the account that runs it, one connection per use."""
from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_S = 10.0
#: pause between two attempts at a change SQLite does not wait for
RETRY_S = 0.01


def private_file(path: Path) -> None:
    """Create the file (and its directory) readable by its owner only; tighten an existing one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


@contextmanager
def connection(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection in a transaction: committed on success, rolled back on error, always closed."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()


def _write_ahead_logging(conn: sqlite3.Connection) -> None:
    """Switch to WAL, retried: SQLite answers 'locked' at once, without its busy handler, when
    another process (a second worker starting) holds the file while the mode changes."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(RETRY_S)


def initialise(path: Path, schema: str) -> None:
    """Create the private file and its tables (idempotent); write-ahead logging for concurrent readers."""
    private_file(path)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        _write_ahead_logging(conn)
        conn.executescript(schema)
    finally:
        conn.close()
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):  # removed by another process closing it
            os.chmod(path.with_name(path.name + suffix), 0o600)
