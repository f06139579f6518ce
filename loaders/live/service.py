"""The live-ingest service: receives (HTTP, MQTT), logs before acknowledging, stores in the background.

    live = Live(store, data_dir, on_alarms=lambda ids: …)   # started by the API's background
    live.receive("iot-cangzhou", lines)                      # durable when it returns: acknowledge then

One worker thread drains the ingest log in batches (`StreamStore`), marks what it stored, hands the
new alarms' ids to `on_alarms` (the fresh-scores pipeline: re-assessment and warning rules), and
every `check_every_s` sets sensors silent past their limit offline (an alarm each) and calls
`on_check` (the service's check of source systems that stopped delivering: workflows/source_watch.py).
Once the store's log has grown by RISKGRAPH_STORE_COMPACT_MB since it was last compacted, the worker
compacts it in the background, so a restart after a crash loads a snapshot and replays only the rest. When several API
processes share a data directory, only the one holding `ingest/drain.lock` drains; the others only
log what they receive. A batch that fails (the store unreachable) stays pending and is tried again;
a message that fails on its own is quarantined as `processing_error` rather than blocking the rest.
"""
from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from riskgraph.graph.store import GraphStore, StoreError
from riskgraph.loaders.live.readings import ReadingStore
from riskgraph.loaders.live.registry import Source, SourceRegistry
from riskgraph.loaders.live.stream import BatchResult, StreamStore
from riskgraph.loaders.live.wal import Accepted, IngestLog, Message
from riskgraph.ontology.anchors import QUARANTINED_ROW
from riskgraph.ontology.errors import N_

log = logging.getLogger("riskgraph.live")

INGEST_DIR = "ingest"
ENV_OFFLINE_S = "RISKGRAPH_SENSOR_OFFLINE_S"
ENV_BATCH = "RISKGRAPH_INGEST_BATCH"
ENV_CHECK_S = "RISKGRAPH_SENSOR_CHECK_S"
#: the store's log may grow this much (MB) before the worker compacts it: what a restart after a
#: crash replays write by write (the compacted part loads as a snapshot, far faster)
ENV_COMPACT_MB = "RISKGRAPH_STORE_COMPACT_MB"
COMPACT_LOOK_S = 5.0
#: the source system named on alarms the service itself raises for silent sensors
WATCH_SOURCE = "sensor-watch"
KEEP_LOGGED_DAYS = 7.0


class Live:
    def __init__(self, store: GraphStore, data_dir: Path, *, on_alarms: Callable[[list[str]], None] | None = None,
                 on_check: Callable[[], object] | None = None,
                 offline_after_s: float | None = None, check_every_s: float | None = None, batch: int | None = None,
                 compact_after_mb: float | None = None) -> None:
        self.store = store
        self.dir = Path(data_dir) / INGEST_DIR
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.log = IngestLog(self.dir)
        self.readings = ReadingStore(self.dir)
        self.registry = SourceRegistry.in_dir(Path(data_dir))
        offline = offline_after_s if offline_after_s is not None else float(os.environ.get(ENV_OFFLINE_S, "600"))
        self.stream = StreamStore(store, self.readings, offline_after_s=offline, log_id=self.log.log_id)
        self.on_alarms = on_alarms
        self.on_check = on_check
        self.checks = 0  # periodic checks done (tests wait on it instead of sleeping)
        self.check_every_s = check_every_s if check_every_s is not None else float(os.environ.get(ENV_CHECK_S, "30"))
        self.batch = batch or int(os.environ.get(ENV_BATCH, "2000"))
        mb = compact_after_mb if compact_after_mb is not None else float(os.environ.get(ENV_COMPACT_MB, "16"))
        self.compact_after_bytes = int(mb * 2**20)
        self.compactions = 0
        self._compacting: threading.Thread | None = None
        self._sources: dict[str, tuple[float, Source | None]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock_fd: int | None = None
        self.stored = 0
        self.last_batch: BatchResult | None = None

    # ------------------------------------------------------------------ receiving
    def receive(self, source: str, lines: Iterable[str]) -> Accepted:
        """Log messages durably (returns after the commit: then acknowledge them)."""
        return self.log.append(source, [line for line in lines if line.strip()])

    def pending(self, source: str | None = None) -> int:
        return self.log.count_pending(source)

    def source(self, name: str) -> Source | None:
        hit = self._sources.get(name)
        if hit is None or hit[0] < time.monotonic():
            hit = (time.monotonic() + 5.0, self.registry.get(name))
            self._sources[name] = hit
        return hit[1]

    # ------------------------------------------------------------------ the worker
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="riskgraph-live", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def wait_stored(self, timeout: float) -> bool:
        """True once nothing logged is pending (for tests and the benchmark)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pending() == 0:
                return True
            time.sleep(0.05)
        return self.pending() == 0

    def _drainer(self) -> bool:
        if self._lock_fd is None:
            fd = os.open(self.dir / "drain.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            self._lock_fd = fd
        return True

    def _run(self) -> None:
        next_check = time.monotonic() + self.check_every_s
        next_tidy = time.monotonic() + 60.0
        next_look = time.monotonic() + COMPACT_LOOK_S
        while not self._stop.is_set():
            if not self._drainer():
                self._stop.wait(5.0)
                continue
            try:
                messages = self.log.pending(self.batch)
                if messages:
                    self._store(messages)
                else:
                    self.log.wait(0.1)
                now = time.monotonic()
                if now >= next_check:
                    next_check = now + self.check_every_s
                    if any(s.kind == "iot" for s in self.registry.list()):
                        self._alarms(self.stream.check_offline(WATCH_SOURCE))
                    if self.on_check is not None:
                        self.on_check()
                    self.checks += 1
                if now >= next_look:
                    next_look = now + COMPACT_LOOK_S
                    self.compact_store_log()
                if now >= next_tidy:
                    next_tidy = now + 3600.0
                    self.readings.compact()
                    self.log.prune(KEEP_LOGGED_DAYS)
            except Exception:
                log.exception("live ingest: a batch could not be stored; it stays pending and is tried again")
                self._stop.wait(1.0)

    def compact_store_log(self) -> bool:
        """Start compacting the store's log (on its own thread: writes go on meanwhile) once it has grown
        past the limit since the last compaction, so a restart after kill -9 replays little. True if started."""
        if self._compacting is not None and self._compacting.is_alive():
            return False
        growth = self.store.log_growth()
        if growth is None or growth < self.compact_after_bytes:
            return False
        self._compacting = threading.Thread(target=self._compact, args=(growth,), name="riskgraph-compact", daemon=True)
        self._compacting.start()
        return True

    def _compact(self, growth: int) -> None:
        started = time.monotonic()
        try:
            self.store.compact()
        except Exception:
            log.exception("live ingest: compacting the store's log failed; tried again later")
            return
        self.compactions += 1
        log.info("store log compacted", extra={"grown_bytes": growth, "seconds": round(time.monotonic() - started, 2)})

    def _store(self, messages: list[Message]) -> None:
        """Store a batch; the messages of a source whose part failed are stored one by one, and one
        that fails alone is quarantined (`_poison`)."""
        result = self.stream.store_batch(messages, self.source)
        failed = set(result.failed)
        done = [m for m in messages if m.seq not in failed]
        # the new alarms go to the fresh-scores pipeline before the batch counts as stored: whoever sees
        # nothing pending (GET /sources, a test) and then waits for that pipeline to be idle waits for them too
        self._alarms(result.new_alarms)
        self.log.mark_stored(m.seq for m in done)
        self.stored += len(done)
        if done:
            self.last_batch = result
        if not failed:
            return
        if len(messages) == 1:
            self._poison(messages[0])
            return
        log.warning("live ingest: %d of a batch of %d failed; storing them one by one", len(failed), len(messages))
        for m in messages:
            if m.seq in failed:
                self._store([m])

    def _alarms(self, ids: list[str]) -> None:
        if ids and self.on_alarms is not None:
            self.on_alarms(ids)

    def _poison(self, m: Message) -> None:
        """A message that fails on its own (not its content's fault): kept, quarantined, out of the way."""
        if self.store_is_down():
            raise StoreError(N_("the graph store does not answer"))  # not the message's fault: retry the batch later
        log.error("live ingest: message %d of %s could not be stored (the failure is logged above); "
                  "quarantined as processing_error", m.seq, m.source)
        self.store.upsert_nodes(QUARANTINED_ROW, [{
            "id": f"{m.source}:ingest/{m.source}:{m.seq}:processing_error", "sourceSystem": m.source,
            "sourceFile": f"ingest/{m.source}", "rowNumber": m.seq, "rawValues": m.body[:20000],
            "reasonCode": "processing_error", "description": "the message could not be stored; see the service log",
        }])
        self.stream.count_quarantined(m, "processing_error")
        self.log.mark_stored([m.seq])

    def store_is_down(self) -> bool:
        try:
            self.store.read("RETURN 1 AS one")
            return False
        except Exception:
            return True

    def close(self) -> None:
        self.stop()
        if self._compacting is not None:
            self._compacting.join(60.0)
        self.log.close()
        self.readings.close()
