"""The read cache's answers shared by the service's workers: a SQLite file in the data folder.

With `serve --workers N` each worker keeps its own answers (api/read_cache.py), so a portrait
asked of each worker in turn was computed N times, and more workers meant fewer reuses. A worker
that does not hold an answer looks here before computing it, and puts what it computes here for
the others. The file is a cache, not a record: written without waiting for the disk (synchronous
OFF; a crash may lose it, never a request), answers keyed by the store's change token (a write
from any process starts afresh), older ones pruned as new ones arrive, deleted content zeroed
(`secure_delete`: the answers hold what a role may see), private to the service's account. A
lock held by another worker is a miss, never a wait: the answer is computed instead.
"""
from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from riskgraph.api.sqlite import BUSY_TIMEOUT_S, initialise

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    token TEXT NOT NULL,
    key TEXT NOT NULL,
    made REAL NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (token, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS answers_made ON answers (made);
"""
#: puts between two prunings of answers past their age or of another token
PRUNE_EVERY = 200
#: an answer larger than this (as JSON) is kept by its worker only
MAX_BODY_CHARS = 2_000_000


class SharedAnswers:
    """Answers of one store, by change token and request key, at most `max_age_s` old."""

    def __init__(self, path: Path, store_id: str, max_age_s: float) -> None:
        initialise(path, SCHEMA)
        self.path = path
        self.max_age_s = max_age_s
        self._store = hashlib.sha256(store_id.encode()).hexdigest()[:16]
        # opening waits for a worker that is creating the file or checkpointing it on close;
        # afterwards a lock is a miss, never a wait (WAL: set by initialise)
        self._conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        for pragma in ("synchronous = OFF", "secure_delete = ON", "busy_timeout = 0"):
            self._conn.execute(f"PRAGMA {pragma}")
        self._lock = threading.Lock()
        self._puts = 0

    def key(self, request: Any) -> str:
        """The request's key (its repr holds who asks, the language and the arguments)."""
        return hashlib.sha256(f"{self._store}|{request!r}".encode()).hexdigest()

    def get(self, token: str, key: str) -> tuple[dict[str, Any], float] | None:
        """The answer and how many seconds ago it was made, if one young enough is here."""
        try:
            with self._lock:
                row = self._conn.execute("SELECT made, body FROM answers WHERE token = ? AND key = ?",
                                         (token, key)).fetchone()
        except sqlite3.Error as exc:  # locked by a worker writing: computed instead
            log.debug("shared read cache: %s", exc)
            return None
        if row is None:
            return None
        age = time.time() - row[0]
        if not 0 <= age <= self.max_age_s:
            return None
        return json.loads(row[1]), age

    def put(self, token: str, key: str, entry: dict[str, Any]) -> None:
        """Keep an answer for the others, if it is plain JSON data; never fails the request."""
        try:
            body = json.dumps(entry, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError):
            return  # not plain JSON data: this worker keeps it alone
        if len(body) > MAX_BODY_CHARS:
            return
        now = time.time()
        try:
            with self._lock:
                self._conn.execute("INSERT OR REPLACE INTO answers (token, key, made, body) VALUES (?, ?, ?, ?)",
                                   (token, key, now, body))
                self._puts += 1
                if self._puts % PRUNE_EVERY == 0:
                    self._conn.execute("DELETE FROM answers WHERE made < ? OR token <> ?", (now - self.max_age_s, token))
        except sqlite3.Error as exc:
            log.debug("shared read cache: %s", exc)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
