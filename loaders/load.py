"""`riskgraph load DIR`: every mapped source of one export folder, in dependency order.

Unusable input (no such folder, a file the manifest lists but that is missing, a source no
mapping knows) stops the load with a LoadError before anything is written. A file that cannot
be read (a corrupt workbook, a header without a required column) is reported in the file's
`error` and the other files still load; `riskgraph load` then exits non-zero. Bad rows never
stop anything: they are quarantined and counted.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from riskgraph.graph.collector import fewer_full_collections
from riskgraph.graph.logs import LOAD_ID, bound
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import LOCAL_TZ
from riskgraph.loaders.engine import FileLoader, FileStats, file_decisions, mapping_version
from riskgraph.loaders.fields import FieldContext
from riskgraph.loaders.ledger import FileState, SourceCounts, file_lines, file_states, forget_file, record_file, record_load
from riskgraph.loaders.line_keys import without
from riskgraph.loaders.locate import locate_enterprises, placed_by
from riskgraph.loaders.mapping import SourceMapping, load_mappings
from riskgraph.loaders.normalise.names import clean_name
from riskgraph.loaders.normalise.regions import region_table
from riskgraph.loaders.normalise.tables import load_and_freeze
from riskgraph.loaders.reference import load_parks, load_reference
from riskgraph.loaders.resolve import EnterpriseIndex
from riskgraph.loaders.review import Stale, stale_items, stamp
from riskgraph.ontology.anchors import ENTERPRISE
from riskgraph.ontology.errors import N_, RiskGraphError

MANIFEST = "manifest.json"
#: Margin around the province's county centroids within which coordinates are plausible.
BOUNDS_MARGIN_DEG = 0.6
#: enterprises placed again one by one after a load; above it, one pass over all of them is cheaper
LOCATE_EACH_UP_TO = 10_000

log = logging.getLogger(__name__)


class LoadError(RiskGraphError, RuntimeError):
    """The export cannot be loaded at all (missing file, unknown source)."""


@dataclass
class LoadReport:
    load_id: str
    #: the time every record and change event this load wrote carries (`loadedAt`, `changedAt`): indexed,
    #: so what the load touched is found from it instead of by reading every record of the province
    loaded_at: dt.datetime
    files: list[FileStats] = field(default_factory=list)
    #: enterprises placed per locationMethod after the load (loaders/locate.py)
    located: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> list[FileStats]:
        """Files that could not be read (the load went on with the others)."""
        return [f for f in self.files if f.error]

    def by_source(self) -> dict[str, FileStats]:
        out: dict[str, FileStats] = {}
        for f in self.files:
            total = out.setdefault(f.source, FileStats(f.source, "*"))
            total.read += f.read
            total.loaded += f.loaded
            total.merged += f.merged
            total.review += f.review
            total.settled += f.settled
            total.unchanged += f.unchanged
            total.changes += f.changes
            total.quarantined.update(f.quarantined)
        return out


def read_manifest(root: Path) -> dict | None:
    path = root / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LoadError(N_("{path} is not valid JSON: {msg} at line {lineno}"),
                        path=path, msg=exc.msg, lineno=exc.lineno) from None


def plan(root: Path, mappings: dict[str, SourceMapping], manifest: dict | None) -> list[tuple[SourceMapping, list]]:
    """Which mapped files to load, in order; refuses missing files and unknown sources."""
    if manifest is not None:
        listed = manifest.get("files", [])
        for entry in listed:
            source = entry.get("source") or entry.get("source_system")
            if source not in mappings:
                raise LoadError(N_("unknown source system {source!r} in {MANIFEST}: no mapping in loaders/mappings/"),
                                source=source, MANIFEST=MANIFEST)
            if not (root / entry["path"]).is_file():
                raise LoadError(N_("{MANIFEST} lists {entry}, which is missing"),
                                MANIFEST=MANIFEST, entry=entry['path'])
        wanted = {e["path"] for e in listed}
    else:
        wanted = {spec.path for m in mappings.values() for spec in m.files if (root / spec.path).is_file()}
    steps = [(m, [spec for spec in m.files if spec.path in wanted]) for m in mappings.values()]
    steps = [(m, specs) for m, specs in steps if specs]
    if not steps:
        raise LoadError(N_("{root} holds no file any mapping knows"), root=root)
    return steps


def file_digests(root: Path, steps: list[tuple[SourceMapping, list]]) -> dict[str, str]:
    """SHA-256 of every file the load reads, by its path in the export (read in 1 MiB blocks)."""
    out = {}
    for _, specs in steps:
        for spec in specs:
            digest = hashlib.sha256()
            with (root / spec.path).open("rb") as fh:
                while block := fh.read(1 << 20):
                    digest.update(block)
            out[spec.path] = digest.hexdigest()
    return out


def make_load_id(digests: dict[str, str], now: dt.datetime) -> str:
    digest = hashlib.sha256()
    for path, file_digest in digests.items():
        digest.update(path.encode())
        digest.update(bytes.fromhex(file_digest))
    return f"load-{now.strftime('%Y%m%dT%H%M%S')}-{digest.hexdigest()[:8]}"


def province_bounds(prefix: str) -> tuple[tuple[float, float], tuple[float, float]]:
    points = [(r.lon, r.lat) for r in region_table().values() if r.code.startswith(prefix) and r.lon]
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    m = BOUNDS_MARGIN_DEG
    return (min(lons) - m, max(lons) + m), (min(lats) - m, max(lats) + m)


def load_directory(store: GraphStore, root: Path, *, today: dt.date | None = None, province: str | None = None,
                   mapping_dir: Path | None = None,
                   progress: Callable[[str, int], None] | None = None, kind: str = "folder",
                   force: bool = False) -> LoadReport:
    """Load every mapped file under `root`. A file whose SHA-256, mapping and review decisions are
    those of its last complete load is skipped unread (FileStats.skipped) unless `force`; a changed
    file still skips its unchanged rows. `province` ("13") narrows plausible regions and coordinates;
    by default it comes from the manifest, as does the export's date (`exportedOn`: "today" for dates
    that must not lie in the future, and for ages). `progress(file, rows_done)` is called as batches finish.
    Each file is logged as it starts and ends (rows read, loaded, unchanged, quarantined, seconds),
    each batch at debug level, every line with the load id. Each source's share is written to the
    ledger (`loaders/ledger.py`, `kind` folder or pull) as soon as its files are done."""
    root = Path(root)
    mappings = load_mappings(store.ontology, mapping_dir)
    if not root.is_dir():
        raise LoadError(N_("{root} is not a folder"), root=root)
    manifest = read_manifest(root)
    steps = plan(root, mappings, manifest)
    manifest = manifest or {}
    province = province or (manifest.get("province") or {}).get("code", "")[:2] or None
    stated_today = manifest.get("exportedOn")
    now = dt.datetime.now(tz=LOCAL_TZ).replace(microsecond=0)
    # the service's day (+08:00), not the machine's: between 00:00 and 08:00 in China a UTC machine is
    # still on yesterday, and a row dated today would read as lying in the future
    today = today or (dt.date.fromisoformat(stated_today) if stated_today else now.date())
    digests = file_digests(root, steps)
    load_id = make_load_id(digests, now)
    with bound(LOAD_ID, load_id), fewer_full_collections():
        return _load(store, root, steps, load_id, now, today, province, progress, kind, digests, force,
                     registry_files(mappings))


def registry_files(mappings: dict[str, SourceMapping]) -> list[tuple[str, str]]:
    """(source, path) of every file whose rows are enterprises: what the enterprise index is made of."""
    return [(m.source, spec.path) for m in mappings.values() for spec in m.files if spec.label == ENTERPRISE]


def registry_state(store: GraphStore, files: list[tuple[str, str]]) -> str:
    """The registry as the ledger knows it — each registry file's digest and the load that recorded
    it — in a short digest. A review item keeps the state its row was resolved against: when the
    state moves on, its fact is resolved again (review.stale_items); while it stands, not."""
    parts = []
    for source in sorted({source for source, _ in files}):
        states = file_states(store, source)
        parts += [f"{source}|{path}|{states[path].digest}|{states[path].load_id}"
                  for s, path in files if s == source and path in states]
    return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()[:16]


def _load(store: GraphStore, root: Path, steps: list[tuple[SourceMapping, list]], load_id: str, now: dt.datetime,
          today: dt.date, province: str | None, progress: Callable[[str, int], None] | None,
          kind: str, digests: dict[str, str], force: bool, registry: list[tuple[str, str]]) -> LoadReport:
    started = time.perf_counter()
    log.info("load started", extra={"folder": str(root), "files": sum(len(specs) for _, specs in steps)})
    store.bootstrap_schema()
    load_reference(store, province_prefix=province)
    parks = load_parks(store)
    ctx = FieldContext(ontology=store.ontology, today=today, province=province,
                       parks={clean_name(p.name): p.code for p in parks})
    if province:
        ctx.lon_range, ctx.lat_range = province_bounds(province)
    built: list[EnterpriseIndex] = []

    def index() -> EnterpriseIndex:
        """Built on first need, by the first row that asks for a match: a load whose files are all
        skipped unchanged, or an IoT feed, never reads the registry."""
        if not built:
            built.append(EnterpriseIndex.from_store(store))
            load_and_freeze()  # a load that matches rows is a large one, worth the tables' 0.3 s
        return built[0]

    report = LoadReport(load_id, now)
    placed: set[str] = set()  # the enterprises whose point the rows written may have moved
    # … or every one: after a forced load, a file's first complete one, or one that finishes a killed
    # load (the killed load's rows are recorded, so its rerun skips them and cannot tell whose point they moved)
    everyone = False
    with store.bulk_load() as bulk:  # no fsync per write, no log rewrites meanwhile; one compaction at the end
        for mapping, specs in steps:
            source_started = dt.datetime.now(tz=LOCAL_TZ)
            known = file_states(store, mapping.source)
            stats = []
            for spec in specs:
                reviewed = spec.enterprise is not None and bool(spec.enterprise.relation)
                state = registry_state(store, registry) if reviewed else ""
                decisions = file_decisions(store, spec)
                version = mapping_version(spec, decisions)
                last = known.get(spec.path)
                unchanged = last if last is not None and not force and last.digest == digests[spec.path] \
                    and last.mapping_version == version else None
                # its facts in review that the registry may place now: their rows are read and written again
                stale = stale_items(store, spec, mapping.source, state, index,
                                    lambda: file_lines(store, mapping.source, spec.path),  # noqa: B023 (called here)
                                    every=not last.digest) if reviewed and last is not None else Stale()
                if unchanged is not None and not unchanged.waiting and not stale.records:
                    stats.append(_skip_file(mapping.source, spec.path, unchanged, progress))
                else:
                    loader = FileLoader(store, mapping, spec, ctx, index, load_id, now, decisions, loaded_before=last is not None,
                                        dangling=last.dangling if last is not None else (), registry=state,
                                        rewrite=stale.records)
                    # the lines its last load took in are passed over, unless the mapping or the decisions changed since
                    lines = without(file_lines(store, mapping.source, spec.path), stale.lines) \
                        if not force and last is not None and last.mapping_version == version else frozenset()
                    stats.append(_load_file(loader, root, progress, digests[spec.path], version,
                                            None if stale.records else unchanged, lines))
                    placed |= loader.placed
                    # a load of the file was killed since its last complete one (forget_file took its digest)
                    interrupted = last is not None and not last.digest
                    everyone = everyone or (force or last is None or interrupted) and placed_by(store.ontology, spec)
                if stats[-1].error is None:
                    stamp(store, stale, state)
            report.files.extend(stats)
            record_load(store, mapping.source, load_id, _counts(stats), kind=kind, started=source_started)
        # a load that wrote no row changed nothing a point is derived from, and rewriting the whole
        # log after it would cost more than the load
        bulk.compact = any(f.loaded or f.changes or f.quarantined_total for f in report.files)
        if placed or everyone:  # every enterprise a point, with its method and accuracy
            report.located = locate_enterprises(store, None if everyone or len(placed) > LOCATE_EACH_UP_TO else placed)
    files = report.files
    log.info("load finished", extra={"rows_read": sum(f.read for f in files), "rows_loaded": sum(f.loaded for f in files),
                                     "rows_unchanged": sum(f.unchanged for f in files),
                                     "rows_quarantined": sum(f.quarantined_total for f in files),
                                     "seconds": round(time.perf_counter() - started, 3)})
    return report


def _counts(files: list[FileStats]) -> SourceCounts:
    """One source's files of a load, added up for the ledger (GET /sources)."""
    counts = SourceCounts()
    for f in files:
        counts.read += f.read
        counts.loaded += f.loaded
        counts.unchanged += f.unchanged
        counts.changes += f.changes
        counts.quarantined.update(f.quarantined)
    errors = [f.error for f in files if f.error]
    counts.error = "; ".join(errors) if errors else None
    return counts


def _skip_file(source: str, path: str, last: FileState, progress: Callable[[str, int], None] | None) -> FileStats:
    """A file unchanged since its last complete load, which left none of its rows waiting on other data."""
    stats = FileStats(source, path, read=last.rows, unchanged=last.rows, skipped=True)
    log.info("file skipped: unchanged since its last load", extra={
        "source": source, "file": path, "sha256": last.digest, "last_load_id": last.load_id, "rows_read": last.rows,
        "rows_retried": 0, "rows_loaded": 0, "rows_unchanged": last.rows, "rows_quarantined": 0, "seconds": 0})
    if progress:
        progress(path, last.rows)
    return stats


def _version_after(loader: FileLoader, version: str) -> str:
    """The mapping version to record for a file just loaded: the load itself may have changed the
    review decisions it is made of (a person's decision about a row the source corrected, replaced or
    reopened), and the graph holds that already — recording the version from the file's start would
    make the next load read the whole file again for nothing."""
    if loader.stats.settled == 0 and not loader.stats.review:
        return version
    return mapping_version(loader.spec, file_decisions(loader.store, loader.spec))


def _load_file(loader: FileLoader, root: Path, progress: Callable[[str, int], None] | None, digest: str,
               version: str, known: FileState | None, lines: frozenset[int]) -> FileStats:
    """One file, logged as it starts, after each batch (debug) and when it is done. A file read
    whole, without error, is recorded with its digest and line keys after its last row. `known`: the
    file is unchanged since that complete load, but left rows waiting on other data; only those are
    tried. `lines`: the line keys of its last complete load, passed over unread."""
    path = loader.spec.path
    where = {"source": loader.mapping.source, "file": path}
    if known is not None:
        started = time.perf_counter()
        stats = loader.retry_held(known.rows, known.held, (lambda rows: progress(path, rows)) if progress else None)
        if not loader.needs_reading:
            if (set(loader.held), set(loader.dangling)) != (set(known.held), set(known.dangling)):  # some linked now
                record_file(loader.store, loader.mapping.source, path,
                            FileState(digest, _version_after(loader, version), known.rows, known.load_id, tuple(loader.held),
                                      tuple(loader.dangling)),
                            loader.loaded_at)
            log.info("file skipped: unchanged since its last load", extra={
                **where, "sha256": digest, "last_load_id": known.load_id, "rows_read": stats.read,
                "rows_retried": len(known.held) + len(known.dangling), "rows_loaded": stats.loaded,
                "rows_unchanged": stats.unchanged, "rows_quarantined": stats.quarantined_total,
                "seconds": round(time.perf_counter() - started, 3)})
            return stats
        # a held row loads now: the file is read (its known lines passed over) so that the row is
        # placed among the other rows of its node, as a fresh load would place it
        loader = loader.renewed()
    done = 0

    def batch_written(rows: int) -> None:
        nonlocal done
        done += rows
        log.debug("batch written", extra={**where, "rows_done": done})
        if progress:
            progress(path, rows)

    log.info("file started", extra=where)
    started = time.perf_counter()
    if loader.loaded_before:
        forget_file(loader.store, loader.mapping.source, path)
    stats = loader.run(root, batch_written, lines)
    if stats.error is None:
        record_file(loader.store, loader.mapping.source, path,
                    FileState(digest, _version_after(loader, version), stats.read, loader.load_id, tuple(loader.held),
                              tuple(loader.dangling)),
                    loader.loaded_at,
                    loader.line_keys)
    log.info("file loaded", extra={**where, "rows_read": stats.read, "rows_loaded": stats.loaded,
                                   "rows_unchanged": stats.unchanged, "rows_quarantined": stats.quarantined_total,
                                   "changes": stats.changes, "seconds": round(time.perf_counter() - started, 3)})
    return stats
