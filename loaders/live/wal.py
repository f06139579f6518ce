"""The ingest log: every message is written here, durably, before it is acknowledged.

`<data dir>/ingest/wal.sqlite3` in SQLite's write-ahead-log mode. A message is acknowledged (HTTP
202, MQTT PUBACK) only after its transaction committed, so a kill -9 of the service loses nothing
acknowledged: the committed log survives in the operating system's files and the worker stores
what is pending when it starts again. (`synchronous = NORMAL`: a process crash loses nothing; a
power cut may lose the last transactions not yet checkpointed — set RISKGRAPH_INGEST_SYNC=full to
fsync every commit.)

Each message carries an idempotency key — (source, sensor, timestamp) for a reading or a sensor
state, (source, alarm id) for an alarm, the hash of the line for one that cannot be read — and the
log keeps one row per key: a replay or duplicate is recognised at receipt and changes nothing.
Stored messages are kept `keep_days` for that recognition, then pruned (the graph's keys and the
readings' primary key still make a late replay harmless).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskgraph.api.sqlite import private_file
from riskgraph.graph.values import LOCAL_TZ, to_epoch_ms

WAL_FILE = "wal.sqlite3"
ENV_SYNC = "RISKGRAPH_INGEST_SYNC"
PENDING, STORED = 0, 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    idem TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    body TEXT NOT NULL,
    state INTEGER NOT NULL DEFAULT 0,
    UNIQUE (source, idem)
);
CREATE INDEX IF NOT EXISTS pending ON messages (state, seq);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class Message:
    seq: int
    source: str
    idem: str
    received_ms: int
    body: str


@dataclass
class Accepted:
    """What one append did: new messages logged, and duplicates of ones already logged."""

    accepted: int = 0
    duplicates: int = 0


def idempotency_key(body: str) -> str:
    """The message's key: alarm id, else sensor + instant (+ type), else the hash of the line. An
    ISO 8601 time is keyed as its instant (`t` + epoch milliseconds; a naive one is China Standard
    Time, as the stream reads it): one instant written two ways is one message. Any other time text
    is keyed as written (as every time was before), apart from the instants."""
    return _keys(body)[0]


def _keys(body: str) -> tuple[str, str | None]:
    """The message's key, and the key the log gave it before instants were keyed (None: the same)."""
    try:
        obj = json.loads(body)
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        kind = str(obj.get("type") or ("alarm" if obj.get("alarm_id") else "reading"))
        if kind == "alarm" and obj.get("alarm_id"):
            return f"alarm:{obj['alarm_id']}", None
        if obj.get("sensor_id") and obj.get("time"):
            written = f"{kind}:{obj['sensor_id']}:{obj['time']}"
            try:
                at = dt.datetime.fromisoformat(str(obj["time"]).strip())
            except ValueError:
                return written, None
            at = at if at.tzinfo is not None else at.replace(tzinfo=LOCAL_TZ)
            return f"{kind}:{obj['sensor_id']}:t{to_epoch_ms(at)}", written
    return "line:" + hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:32], None


class IngestLog:
    """The durable queue between receipt and storage. Thread-safe; one connection per process."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / WAL_FILE
        private_file(self.path)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode = WAL")
        sync = "FULL" if os.environ.get(ENV_SYNC, "").lower() == "full" else "NORMAL"
        self._conn.execute(f"PRAGMA synchronous = {sync}")
        self._conn.execute("PRAGMA busy_timeout = 30000")
        self._conn.executescript(_SCHEMA)
        self._conn.execute("INSERT OR IGNORE INTO meta (name, value) VALUES ('log_id', ?)", (uuid.uuid4().hex,))
        #: this log's identity: its sequence numbers count only within it (the ledger keeps what it
        #: counted per log, as a graph may be fed by several data directories, or a recreated one)
        self.log_id = str(self._conn.execute("SELECT value FROM meta WHERE name = 'log_id'").fetchone()[0])
        self.appended = threading.Condition()

    def append(self, source: str, bodies: Iterable[str], received_ms: int | None = None) -> Accepted:
        """Log messages in one transaction; returns once they are committed (then they may be acknowledged)."""
        now = received_ms if received_ms is not None else int(time.time() * 1000)
        keyed = [(_keys(b), b) for b in bodies]
        out = Accepted()
        if not keyed:
            return out
        with self._lock:
            before = self._conn.total_changes
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                # a message logged before instants were keyed is known by its old key
                known = [old for (_, old), _ in keyed if old is not None and self._conn.execute(
                    "SELECT 1 FROM messages WHERE source = ? AND idem = ?", (source, old)).fetchone()]
                rows = [(source, key, now, b) for (key, old), b in keyed if old is None or old not in known]
                self._conn.executemany("INSERT OR IGNORE INTO messages (source, idem, received_ms, body) VALUES (?, ?, ?, ?)", rows)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            out.accepted = self._conn.total_changes - before
        out.duplicates = len(keyed) - out.accepted
        with self.appended:
            self.appended.notify_all()
        return out

    def pending(self, limit: int) -> list[Message]:
        with self._lock:
            rows = self._conn.execute("SELECT seq, source, idem, received_ms, body FROM messages WHERE state = 0 "
                                      "ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [Message(*r) for r in rows]

    def count_pending(self, source: str | None = None) -> int:
        with self._lock:
            if source is None:
                return int(self._conn.execute("SELECT count(*) FROM messages WHERE state = 0").fetchone()[0])
            return int(self._conn.execute("SELECT count(*) FROM messages WHERE state = 0 AND source = ?",
                                          (source,)).fetchone()[0])

    def mark_stored(self, seqs: Iterable[int]) -> None:
        ids = [(s,) for s in seqs]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany("UPDATE messages SET state = 1 WHERE seq = ?", ids)
            self._conn.execute("COMMIT")

    def prune(self, keep_days: float, now_ms: int | None = None) -> int:
        """Forget stored messages older than `keep_days` (pending ones are never pruned)."""
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        with self._lock:
            return self._conn.execute("DELETE FROM messages WHERE state = 1 AND received_ms < ?",
                                      (now - int(keep_days * 86_400_000),)).rowcount

    def wait(self, timeout: float) -> None:
        with self.appended:
            self.appended.wait(timeout)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            rows = self._conn.execute("SELECT source, state, count(*) FROM messages GROUP BY source, state").fetchall()
        out: dict[str, Any] = {}
        for source, state, n in rows:
            out.setdefault(source, {"pending": 0, "stored": 0})["pending" if state == PENDING else "stored"] += n
        return out

    def close(self) -> None:
        with self._lock:
            self._conn.close()
