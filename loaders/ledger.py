"""Per-source load ledger: one `SourceLoad` node per load of a source system, what GET /sources reads.

A folder load (`riskgraph load`), a scheduled pull and the live stream (one node per source and
hour, its counters added to as batches are stored) all write here, so a source's freshness — when it
last delivered, how many rows were read, loaded, unchanged and quarantined by reason, how many facts
changed — is kept in the graph beside the data it describes, and survives backups and copies.

Per file, a `LoadedFile` node keeps the SHA-256 and mapping version of the file's last complete
load, so a later load can skip a file that has not changed at all without reading its rows, and
the keys of its lines, so that a load of a changed file passes over its unchanged lines unread.
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import LOCAL_TZ
from riskgraph.loaders.line_keys import KeySet, pack, unpack
from riskgraph.ontology.anchors import CHANGE_EVENT, LOADED_FILE, QUARANTINED_ROW, SOURCE_LOAD

KINDS = ("folder", "pull", "stream")


@dataclass
class SourceCounts:
    """What one load (or one batch of a stream) did for one source."""

    read: int = 0
    loaded: int = 0
    unchanged: int = 0
    changes: int = 0
    quarantined: Counter = field(default_factory=Counter)
    error: str | None = None

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())


def record_load(store: GraphStore, source: str, load_id: str, counts: SourceCounts, *, kind: str,
                started: dt.datetime, finished: dt.datetime | None = None) -> None:
    """One source's share of a folder load or pull, written once the load is done."""
    if kind not in KINDS:
        raise ValueError(f"load kind {kind!r} is not one of {', '.join(KINDS)}")
    finished = finished or dt.datetime.now(tz=LOCAL_TZ)
    store.upsert_nodes(SOURCE_LOAD, [{
        "id": f"{load_id}:{source}", "sourceSystem": source, "loadId": load_id, "loadKind": kind,
        "startedAt": started, "finishedAt": finished, "loadOk": counts.error is None, "loadError": counts.error,
        "rowsRead": counts.read, "rowsLoaded": counts.loaded, "rowsUnchanged": counts.unchanged,
        "rowsQuarantined": counts.quarantined_total, "changeCount": counts.changes,
        "quarantineReasons": json.dumps(dict(sorted(counts.quarantined.items())), ensure_ascii=False),
    }])


@dataclass(frozen=True)
class FileState:
    """A file as its last complete load saw it."""

    digest: str           # SHA-256 of its bytes
    mapping_version: str  # its mapping and the review decisions applied (loaders/engine.py: FileLoader.version)
    rows: int
    load_id: str
    #: QuarantinedRow ids of its rows held for a reason that depends on other data (engine.RETRYABLE)
    held: tuple[str, ...] = ()
    #: SourceRecord ids of its rows written without an optional link's target (engine: `missingTargets`)
    dangling: tuple[str, ...] = ()

    @property
    def waiting(self) -> bool:
        """Some of its rows wait on other data: a load tries them again even while the file is unchanged."""
        return bool(self.held or self.dangling)


def file_states(store: GraphStore, source: str) -> dict[str, FileState]:
    """The files of one source system that a load has recorded, by path."""
    rows = store.read(f"MATCH (f:{LOADED_FILE}) WHERE f.sourceSystem = $s "
                      "RETURN f.sourceFile AS path, f.fileDigest AS d, f.mappingVersion AS v, f.fileRows AS n, f.loadId AS l, "
                      "f.heldRows AS h, f.danglingRows AS g", {"s": source})
    return {str(r["path"]): FileState(str(r["d"] or ""), str(r["v"]), int(r["n"] or 0), str(r["l"]), tuple(r["h"] or ()),
                                      tuple(r["g"] or ())) for r in rows}


def record_file(store: GraphStore, source: str, path: str, state: FileState, loaded_at: dt.datetime,
                lines: Iterable[int] | None = None) -> None:
    """A file loaded whole (no read error): written after its last row. `lines`: the keys of the lines
    whose rows are now loaded (loaders/line_keys.py); None keeps those recorded before."""
    store.upsert_nodes(LOADED_FILE, [{
        "id": f"{source}:{path}", "sourceSystem": source, "sourceFile": path, "fileDigest": state.digest,
        "mappingVersion": state.mapping_version, "fileRows": state.rows, "loadId": state.load_id, "loadedAt": loaded_at,
        "heldRows": sorted(set(state.held)), "danglingRows": sorted(set(state.dangling)),
        "rowLines": pack(lines) if lines is not None else None,
    }])


def forget_file(store: GraphStore, source: str, path: str) -> None:
    """Before a changed file's first row is written: its last complete load no longer describes the
    graph, so its digest and line keys go. A load killed midway has written rows of the new content;
    had they stayed, the next load would skip the file put back as it was by its digest, or pass over
    a line put back as it was, and the node would keep the killed load's values. Until a load of the
    file completes (`record_file`), it is read whole, every row checked against its record."""
    store.execute(f"MATCH (f:{LOADED_FILE} {{id: $id}}) SET f.fileDigest = null, f.rowLines = null",
                  {"id": f"{source}:{path}"})


def file_lines(store: GraphStore, source: str, path: str) -> KeySet:
    """The line keys the file's last complete load left (empty if none)."""
    rows = store.read(f"MATCH (f:{LOADED_FILE} {{id: $id}}) RETURN f.rowLines AS k", {"id": f"{source}:{path}"})
    return unpack(rows[0]["k"] if rows else None)


def stream_load_id(source: str, at: dt.datetime) -> str:
    """The stream's ledger entry for the hour `at` falls in (local time)."""
    return f"stream-{source}-{at.astimezone(LOCAL_TZ).strftime('%Y%m%dT%H')}"


def counted_through(store: GraphStore, source: str, log_id: str) -> int:
    """The last sequence number of ingest log `log_id` that a live stream's entries counted (0: none)."""
    rows = store.read(f"MATCH (n:{SOURCE_LOAD}) WHERE n.sourceSystem = $s AND n.loadKind = 'stream' "
                      "AND n.countedThrough IS NOT NULL RETURN n.countedThrough AS c", {"s": source})
    return max((int(json.loads(r["c"]).get(log_id, 0)) for r in rows), default=0)


def add_stream_counts(store: GraphStore, source: str, counts: SourceCounts, at: dt.datetime,
                      counted_through: tuple[str, int] | None = None) -> None:
    """Add one stored batch of a live stream to the source's entry for this hour (one writer per
    source); `counted_through`: the ingest log's id and the batch's last sequence number in it."""
    load_id = stream_load_id(source, at)
    key = f"{load_id}:{source}"
    rows = store.read(f"MATCH (n:{SOURCE_LOAD} {{id: $k}}) RETURN properties(n) AS p", {"k": key})
    before = rows[0]["p"] if rows else {}
    reasons = Counter(json.loads(before.get("quarantineReasons") or "{}"))
    reasons.update(counts.quarantined)
    store.upsert_nodes(SOURCE_LOAD, [{
        "id": key, "sourceSystem": source, "loadId": load_id, "loadKind": "stream",
        "startedAt": before.get("startedAt") or at, "finishedAt": at, "loadOk": True,
        "rowsRead": int(before.get("rowsRead") or 0) + counts.read,
        "rowsLoaded": int(before.get("rowsLoaded") or 0) + counts.loaded,
        "rowsUnchanged": int(before.get("rowsUnchanged") or 0) + counts.unchanged,
        "rowsQuarantined": sum(reasons.values()),
        "changeCount": int(before.get("changeCount") or 0) + counts.changes,
        "quarantineReasons": json.dumps(dict(sorted(reasons.items())), ensure_ascii=False),
        **({"countedThrough": _counted(before.get("countedThrough"), counted_through)}
           if counted_through is not None else {}),
    }])


def _counted(before: str | None, counted: tuple[str, int]) -> str:
    logs = json.loads(before or "{}")
    log_id, seq = counted
    logs[log_id] = max(seq, int(logs.get(log_id, 0)))
    return json.dumps(logs, sort_keys=True)


@dataclass
class SourceState:
    """A source's freshness as the ledger and the graph tell it."""

    source: str
    last: dict[str, Any] | None = None          # the newest SourceLoad (any outcome)
    last_success: dict[str, Any] | None = None  # the newest one that read everything it was given
    loads: int = 0
    quarantined_held: dict[str, int] = field(default_factory=dict)  # QuarantinedRow nodes now held, per reason
    changed: list[dict[str, Any]] = field(default_factory=list)     # the last load's changes: label, property, count


def last_loads(store: GraphStore) -> dict[str, tuple[int, dict[str, Any] | None, dict[str, Any] | None]]:
    """Per source: how many ledger entries, the newest one, the newest successful one."""
    rows = store.read(f"MATCH (n:{SOURCE_LOAD}) RETURN n.sourceSystem AS s, properties(n) AS p")
    out: dict[str, tuple[int, dict[str, Any] | None, dict[str, Any] | None]] = {}
    for r in rows:
        p = r["p"]
        count, last, ok = out.get(r["s"], (0, None, None))
        at = p.get("finishedAtMs") or 0
        if last is None or at > (last.get("finishedAtMs") or 0):
            last = p
        if p.get("loadOk") and (ok is None or at > (ok.get("finishedAtMs") or 0)):
            ok = p
        out[r["s"]] = (count + 1, last, ok)
    return out


def source_states(store: GraphStore, sources: Mapping[str, Any] | None = None) -> dict[str, SourceState]:
    """Every source the ledger knows (plus the names in `sources`), with its newest loads, the
    quarantined rows held for it by reason, and what its newest load changed."""
    latest = last_loads(store)
    states = {name: SourceState(name) for name in (sources or {})}
    for name, (count, last, ok) in latest.items():
        state = states.setdefault(name, SourceState(name))
        state.loads, state.last, state.last_success = count, last, ok
    for r in store.read(f"MATCH (q:{QUARANTINED_ROW}) RETURN q.sourceSystem AS s, q.reasonCode AS r, count(q) AS c"):
        if r["s"] in states:
            states[r["s"]].quarantined_held[str(r["r"])] = int(r["c"])
    newest: dict[tuple[str, str], SourceState] = {(s.last["loadId"], s.source): s for s in states.values() if s.last}
    if newest:
        for r in store.read(f"MATCH (c:{ident(CHANGE_EVENT)}) WHERE c.loadId IN $ids "
                            "RETURN c.loadId AS l, c.sourceSystem AS s, c.entityLabel AS label, c.property AS prop, count(c) AS n",
                            {"ids": sorted({load_id for load_id, _ in newest})}):
            hit = newest.get((r["l"], r["s"]))
            if hit is not None:
                hit.changed.append({"label": r["label"], "property": r["prop"], "count": int(r["n"])})
    for state in states.values():
        state.changed.sort(key=lambda c: (-c["count"], c["label"], c["property"]))
    return states
