"""Raw sensor readings, kept outside the graph: a compact SQLite time series with retention and
down-sampling (`<data dir>/ingest/readings.sqlite3`).

The graph holds what the risk models use (alarms, sensor state and thresholds); the readings
themselves are many (a province: hundreds a second) and only looked at as series. Each reading is
one row of a WITHOUT ROWID table keyed (sensor, epoch ms) — a replay or duplicate is ignored, an
out-of-order reading lands at its own time. Readings older than `raw_days` are folded into hourly
rows (count, min, max, sum) and deleted; hourly rows older than `hourly_days` are deleted.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from riskgraph.api.sqlite import private_file

READINGS_FILE = "readings.sqlite3"
ENV_RAW_DAYS = "RISKGRAPH_READINGS_RAW_DAYS"
ENV_HOURLY_DAYS = "RISKGRAPH_READINGS_HOURLY_DAYS"
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS

_SCHEMA = """
CREATE TABLE IF NOT EXISTS raw (sensor TEXT NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL, seq INTEGER,
                                PRIMARY KEY (sensor, ts)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hourly (sensor TEXT NOT NULL, hour INTEGER NOT NULL, n INTEGER NOT NULL,
                                   lo REAL NOT NULL, hi REAL NOT NULL, total REAL NOT NULL,
                                   PRIMARY KEY (sensor, hour)) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class Reading:
    sensor: str
    ts_ms: int
    value: float


class ReadingStore:
    """One connection, used from one writer thread at a time (a lock guards it)."""

    def __init__(self, directory: Path, *, raw_days: float | None = None, hourly_days: float | None = None) -> None:
        self.path = Path(directory) / READINGS_FILE
        private_file(self.path)
        self.raw_days = raw_days if raw_days is not None else float(os.environ.get(ENV_RAW_DAYS, "30"))
        self.hourly_days = hourly_days if hourly_days is not None else float(os.environ.get(ENV_HOURLY_DAYS, "1095"))
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.executescript(_SCHEMA)
        if "seq" not in {row[1] for row in self._conn.execute("PRAGMA table_info(raw)")}:  # a store made before it
            self._conn.execute("ALTER TABLE raw ADD COLUMN seq INTEGER")

    def add(self, readings: Iterable[Reading]) -> int:
        """Store readings; returns how many were new (duplicates and replays are ignored)."""
        return sum(self.add_each(readings))

    def add_each(self, readings: Iterable[Reading], seqs: Iterable[int | None] | None = None) -> list[bool]:
        """Store readings in one transaction, each with the ingest-log sequence number of the message
        that brought it (`seqs`); whether each is that message's: new, or kept by an earlier attempt
        at the same message (stored, then the batch failed or was killed). A sensor's second reading
        of the same instant from another message is not: the first one kept stands."""
        readings = list(readings)
        numbers = list(seqs) if seqs is not None else [None] * len(readings)
        if not readings:
            return []
        mine = []
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                for r, seq in zip(readings, numbers, strict=True):
                    added = self._conn.execute("INSERT OR IGNORE INTO raw (sensor, ts, value, seq) VALUES (?, ?, ?, ?)",
                                               (r.sensor, r.ts_ms, r.value, seq)).rowcount == 1
                    if not added and seq is not None:
                        kept = self._conn.execute("SELECT seq FROM raw WHERE sensor = ? AND ts = ?", (r.sensor, r.ts_ms)).fetchone()
                        added = kept is not None and kept[0] == seq
                    mine.append(added)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return mine

    def series(self, sensor: str, since_ms: int = 0, until_ms: int | None = None) -> list[tuple[int, float]]:
        """Raw readings of one sensor, oldest first."""
        with self._lock:
            rows = self._conn.execute("SELECT ts, value FROM raw WHERE sensor = ? AND ts >= ? AND ts <= ? ORDER BY ts",
                                      (sensor, since_ms, until_ms if until_ms is not None else 2**62)).fetchall()
        return [(int(t), float(v)) for t, v in rows]

    def previous(self, sensor: str, ts_ms: int) -> float | None:
        """The sensor's reading just before `ts_ms` (None: none kept)."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM raw WHERE sensor = ? AND ts < ? ORDER BY ts DESC LIMIT 1",
                                     (sensor, ts_ms)).fetchone()
        return float(row[0]) if row else None

    def hourly(self, sensor: str) -> list[tuple[int, int, float, float, float]]:
        """Down-sampled hours of one sensor: (hour start ms, count, min, max, mean), oldest first."""
        with self._lock:
            rows = self._conn.execute("SELECT hour, n, lo, hi, total FROM hourly WHERE sensor = ? ORDER BY hour",
                                      (sensor,)).fetchall()
        return [(int(h), int(n), float(lo), float(hi), float(t) / n) for h, n, lo, hi, t in rows]

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM raw").fetchone()[0])

    def compact(self, now_ms: int | None = None) -> tuple[int, int]:
        """Fold raw readings past retention into hourly rows and drop them; drop hourly rows past
        theirs. Returns (raw rows folded, hourly rows dropped)."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        cut = now_ms - int(self.raw_days * DAY_MS)
        cut -= cut % HOUR_MS  # whole hours only, so an hour is folded once
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.execute(
                "INSERT INTO hourly (sensor, hour, n, lo, hi, total) "
                f"SELECT sensor, ts - (ts % {HOUR_MS}) AS h, count(*), min(value), max(value), sum(value) FROM raw "
                "WHERE ts < ? GROUP BY sensor, h "
                "ON CONFLICT (sensor, hour) DO UPDATE SET n = n + excluded.n, lo = min(lo, excluded.lo), "
                "hi = max(hi, excluded.hi), total = total + excluded.total", (cut,))
            folded = self._conn.execute("DELETE FROM raw WHERE ts < ?", (cut,)).rowcount
            dropped = self._conn.execute("DELETE FROM hourly WHERE hour < ?",
                                         (now_ms - int(self.hourly_days * DAY_MS),)).rowcount
            self._conn.execute("COMMIT")
        return folded, dropped

    def close(self) -> None:
        with self._lock:
            self._conn.close()
