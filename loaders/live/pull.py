"""Scheduled pulls: export sources fetched on their schedule and loaded through the loader.

A source registered with `--pull-folder DIR` (a drop folder the source system writes its export to)
or `--pull-url URL` (an HTTP(S) export serving a zip of the export folder) is looked at every
`--every` seconds. Only a delivery that differs from the last one is loaded — a folder whose files
(names, sizes, times) changed, a URL whose ETag / Last-Modified changed (sent back as
If-None-Match / If-Modified-Since) — and the loader itself skips the rows it already has, so a pull
is incremental twice over. Each pull is in the ledger under the registered source's name (and,
through the loader, under each mapped source it held); a failed one with its error. A source that
delivers nothing new for longer than its stale limit raises a warning once per silence (the ingest
worker's check, workflows/source_watch.py), and `GET /sources` shows it stale until it delivers
again. What a pull changed goes to the fresh-scores pipeline (`on_changes`) like the service's own writes.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import httpx

from riskgraph.graph.connect import redact_text
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import LOCAL_TZ
from riskgraph.loaders.ledger import SourceCounts, record_load
from riskgraph.loaders.live.registry import Source, SourceRegistry
from riskgraph.loaders.load import load_directory
from riskgraph.loaders.lock import load_lock
from riskgraph.notify.watches import Change
from riskgraph.ontology.errors import N_, RiskGraphError
from riskgraph.workflows.freshness import touched_by_load

log = logging.getLogger("riskgraph.live.pull")

MAX_ARCHIVE_BYTES = 512 * 1024 * 1024


class PullError(RiskGraphError, RuntimeError):
    """A delivery that cannot be fetched or unpacked; the message says why."""


def folder_signature(root: Path) -> str:
    """What a drop folder holds, by file name, size and modification time."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        st = path.stat()
        digest.update(f"{path.relative_to(root)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def unpack(data: bytes, into: Path) -> None:
    """A zip of an export folder, refusing members that would land outside `into`."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise PullError(N_("the export URL did not answer with a zip archive")) from None
    total = 0
    for info in archive.infolist():
        name = PurePosixPath(info.filename)
        if name.is_absolute() or ".." in name.parts:
            raise PullError(N_("the archive holds a path outside its folder: {filename!r}"),
                            filename=info.filename)
        total += info.file_size
        if total > MAX_ARCHIVE_BYTES:
            raise PullError(N_("the archive unpacks to more than {MAX_ARCHIVE_BYTES:,} bytes"),
                            MAX_ARCHIVE_BYTES=MAX_ARCHIVE_BYTES)
    archive.extractall(into)


class Puller:
    """One thread: pulls what is due."""

    def __init__(self, store: GraphStore, data_dir: Path, *, on_changes: Callable[[list[Change]], None] | None = None,
                 tick_s: float = 1.0) -> None:
        self.store = store
        self.registry = SourceRegistry.in_dir(data_dir)
        self.on_changes = on_changes
        self.tick_s = tick_s
        self._due: dict[str, float] = {}
        self._seen: dict[str, str] = {}          # source → signature / validator of its last delivery
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="riskgraph-pull", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                sources = self.registry.list()
                now = time.monotonic()
                for source in sources:
                    if (source.pull_folder or source.pull_url) and self._due.get(source.name, 0.0) <= now:
                        self._due[source.name] = now + float(source.pull_every_s or 3600)
                        self.pull(source)
            except Exception:
                log.exception("scheduled pulls: a round failed; the next one tries again")

    # ------------------------------------------------------------------ one pull
    def pull(self, source: Source) -> str | None:
        """Pull one source now; returns the load id when something new was loaded."""
        started = dt.datetime.now(tz=LOCAL_TZ)
        try:
            if source.pull_folder:
                return self._pull_folder(source, Path(source.pull_folder), started)
            return self._pull_url(source, started)
        except Exception as exc:  # recorded, shown by GET /sources, tried again on schedule
            why = redact_text(str(exc), source.pull_url)  # an HTTP error names the URL, token and all
            log.warning("pull of %s failed: %s", source.name, why)
            record_load(self.store, source.name, f"pull-{source.name}-{started.strftime('%Y%m%dT%H%M%S')}",
                        SourceCounts(error=why[:500]), kind="pull", started=started)
            return None

    def _pull_folder(self, source: Source, root: Path, started: dt.datetime) -> str | None:
        if not root.is_dir():
            raise PullError(N_("the drop folder {root} does not exist"), root=root)
        signature = folder_signature(root)
        if self._seen.get(source.name) == signature:
            return None  # nothing new delivered
        load_id = self._load(source, root, started)
        self._seen[source.name] = signature
        return load_id

    def _pull_url(self, source: Source, started: dt.datetime) -> str | None:
        url = source.pull_url or ""
        headers = {}
        validator = self._seen.get(source.name, "")
        kind, _, value = validator.partition(":")
        if kind == "etag":
            headers["If-None-Match"] = value
        elif kind == "modified":
            headers["If-Modified-Since"] = value
        with httpx.Client(timeout=120.0, follow_redirects=True) as client:
            answer = client.get(url, headers=headers)
        if answer.status_code == 304:
            return None
        if answer.status_code != 200:
            raise PullError(N_("the export URL answered HTTP {status_code}"), status_code=answer.status_code)
        body = answer.content
        new = (f"etag:{answer.headers['etag']}" if answer.headers.get("etag")
               else f"modified:{answer.headers['last-modified']}" if answer.headers.get("last-modified")
               else f"sha256:{hashlib.sha256(body).hexdigest()}")
        if new == validator:
            return None
        with tempfile.TemporaryDirectory(prefix="riskgraph-pull-") as tmp:
            unpack(body, Path(tmp))
            entries = [p for p in Path(tmp).iterdir()]
            root = entries[0] if len(entries) == 1 and entries[0].is_dir() else Path(tmp)
            load_id = self._load(source, root, started)
        self._seen[source.name] = new
        return load_id

    def _load(self, source: Source, root: Path, started: dt.datetime) -> str:
        with load_lock(self.store, wait_s=600.0):
            report = load_directory(self.store, root, kind="pull")
        totals = SourceCounts()
        for f in report.files:
            totals.read += f.read
            totals.loaded += f.loaded
            totals.unchanged += f.unchanged
            totals.changes += f.changes
            totals.quarantined.update(f.quarantined)
        errors = [f.error for f in report.failed if f.error]
        totals.error = "; ".join(errors)[:500] if errors else None
        record_load(self.store, source.name, report.load_id, totals, kind="pull", started=started)
        log.info("pulled", extra={"source": source.name, "load_id": report.load_id, "rows_read": totals.read,
                                  "rows_loaded": totals.loaded, "rows_quarantined": totals.quarantined_total})
        if self.on_changes is not None:
            changes = touched_by_load(self.store, report)
            if changes:
                self.on_changes(changes)
        return report.load_id
