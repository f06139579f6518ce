"""A whole graph as a file, and back; or straight into another store.

`dump` writes every node (labels, properties) and every relationship (type, endpoints by label
and key, properties) as gzip-compressed JSON lines, framed by a header and a trailer that holds
the counts per label and per type and a content checksum. `restore` writes such a file into an
empty store (or one it empties first; restore into a store no one else writes to meanwhile) and checks
the result against the trailer; `copy` does
the same from one store straight into another — how a bureau moves from the embedded default to
a Neo4j cluster.

Consistency: on the embedded store the dump holds the store's write lock (graph/write_lock.py),
which every writer — `serve`, a load, `assess` — takes for each write, so nothing changes under
it while reads go on. A server store (Neo4j, FalkorDB) has no such lock: dump it while no one
writes. The checksum is order-free (a sum of SHA-256 digests of the canonical lines), so two
stores holding the same graph have the same one whatever order they read it in.
"""
from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from riskgraph.graph.connect import redact
from riskgraph.graph.dialect import ident
from riskgraph.graph.shared_values import ROW_PARTS, created_map, shared_groups
from riskgraph.graph.store import GraphStore, StoreError
from riskgraph.ontology.errors import N_, RiskGraphError

FORMAT = "riskgraph-dump"
VERSION = 1
PAGE = 5_000
WRITE_BATCH = 2_000
_MOD = 2**256


class BackupError(RiskGraphError, RuntimeError):
    """A dump that cannot be read or restored, or a copy that does not match; the message says why."""


@dataclass
class Summary:
    labels: Counter = field(default_factory=Counter)
    relationships: Counter = field(default_factory=Counter)
    checksum: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"labels": dict(sorted(self.labels.items())), "relationships": dict(sorted(self.relationships.items())),
                "checksum": self.checksum}


class _Checksum:
    def __init__(self) -> None:
        self.total = 0

    def add(self, line: str) -> None:
        self.total = (self.total + int.from_bytes(hashlib.sha256(line.encode()).digest(), "big")) % _MOD

    def hex(self) -> str:
        return f"{self.total:064x}"


def _canonical(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@contextmanager
def writes_paused(store: GraphStore) -> Iterator[None]:
    """Hold the embedded store's write lock (no-op for server stores)."""
    lock = getattr(store, "_write_lock", None)
    with lock.held() if lock is not None else nullcontext():
        yield


# ---------------------------------------------------------------------- reading a store
def _nodes(store: GraphStore) -> Iterator[dict[str, Any]]:
    """Every node once: under its first label, paged by that label's key."""
    onto = store.ontology
    for label in onto.labels:
        key = onto.key_of(label)
        skip = 0
        while True:
            rows = store.read(
                f"MATCH (n:{ident(label)}) WHERE labels(n)[0] = $label "
                f"RETURN labels(n) AS l, properties(n) AS p ORDER BY n.{ident(key)} SKIP $skip LIMIT $limit",
                {"label": label, "skip": skip, "limit": PAGE}, timeout_ms=300_000)
            for row in rows:
                yield {"node": label, "labels": list(row["l"]), "p": row["p"]}
            if len(rows) < PAGE:
                break
            skip += PAGE


def _relationships(store: GraphStore) -> Iterator[dict[str, Any]]:
    onto = store.ontology
    for rel in onto.relations.values():
        for src in onto.labels:
            if not onto.is_a(src, rel.domain):
                continue
            for dst in onto.labels:
                if not onto.is_a(dst, rel.range):
                    continue
                rows = store.read(
                    f"MATCH (a:{ident(src)})-[r:{ident(rel.type)}]->(b:{ident(dst)}) "
                    f"WHERE labels(a)[0] = $src AND labels(b)[0] = $dst "
                    f"RETURN a.{ident(onto.key_of(src))} AS f, b.{ident(onto.key_of(dst))} AS t, properties(r) AS p",
                    {"src": src, "dst": dst}, timeout_ms=300_000)
                for row in rows:
                    yield {"rel": rel.type, "from": [src, str(row["f"])], "to": [dst, str(row["t"])], "p": row["p"] or {}}


def _by_node_id(store: GraphStore) -> tuple[Iterator[dict[str, Any]], Iterator[dict[str, Any]]]:
    """Every node, then every relationship, read in pages of node ids (a relationship with the page
    of its start node). Paging by key with SKIP sorts the label's nodes again for every page —
    1.9 s a page at 500,000 records, hours at a province's millions — while an id range is a seek:
    60 ms a page, whatever the size. The same records as the paging by label and type, in another
    order (the checksum does not depend on it)."""
    onto = store.ontology
    top = store.read("MATCH (n) RETURN max(id(n)) AS m", timeout_ms=300_000)[0]["m"]
    pages = range(0, int(top) + 1, PAGE) if top is not None else range(0)
    labels = set(onto.labels)
    allowed = {(rel.type, src, dst) for rel in onto.relations.values()
               for src in onto.labels if onto.is_a(src, rel.domain)
               for dst in onto.labels if onto.is_a(dst, rel.range)}

    def nodes() -> Iterator[dict[str, Any]]:
        for lo in pages:
            for row in store.read("MATCH (n) WHERE id(n) >= $lo AND id(n) < $hi RETURN labels(n) AS l, properties(n) AS p",
                                  {"lo": lo, "hi": lo + PAGE}, timeout_ms=300_000):
                found = list(row["l"])
                if found and found[0] in labels:
                    yield {"node": found[0], "labels": found, "p": row["p"]}

    def relationships() -> Iterator[dict[str, Any]]:
        keys = sorted({onto.key_of(label) for label in labels})
        ends = ", ".join(f"a.{ident(k)} AS a_{k}, b.{ident(k)} AS b_{k}" for k in keys)
        for lo in pages:
            for row in store.read(f"MATCH (a)-[r]->(b) WHERE id(a) >= $lo AND id(a) < $hi RETURN type(r) AS t, "
                                  f"labels(a)[0] AS fa, labels(b)[0] AS fb, properties(r) AS p, {ends}",
                                  {"lo": lo, "hi": lo + PAGE}, timeout_ms=300_000):
                src, dst = row["fa"], row["fb"]
                if (row["t"], src, dst) in allowed:
                    yield {"rel": row["t"], "from": [src, str(row[f"a_{onto.key_of(src)}"])],
                           "to": [dst, str(row[f"b_{onto.key_of(dst)}"])], "p": row["p"] or {}}

    return nodes(), relationships()


def records(store: GraphStore) -> Iterator[dict[str, Any]]:
    if store.dialect.seeks_node_id_ranges:
        nodes, relationships = _by_node_id(store)
        yield from nodes
        yield from relationships
        return
    yield from _nodes(store)
    yield from _relationships(store)


def summarise(items: Iterator[dict[str, Any]], sink: Callable[[dict[str, Any], str], None] | None = None) -> Summary:
    summary, digest = Summary(), _Checksum()
    for item in items:
        line = _canonical(item)
        digest.add(line)
        if "node" in item:
            summary.labels[item["node"]] += 1
        else:
            summary.relationships[item["rel"]] += 1
        if sink is not None:
            sink(item, line)
    summary.checksum = digest.hex()
    return summary


def summary_of(store: GraphStore) -> Summary:
    """Counts per label and type and the content checksum of what the store holds now."""
    return summarise(records(store))


# ---------------------------------------------------------------------- writing a store
class _Writer:
    """Batches nodes and relationships into `store` as they come (nodes come first)."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.onto = store.ontology
        self.nodes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        self.rels: dict[tuple[str, str, str], list[dict[str, Any]]] = {}

    def add(self, item: dict[str, Any]) -> None:
        if "node" in item:
            labels = tuple(item["labels"]) or (item["node"],)
            for label in labels:
                self.onto.check_label(label)
            batch = self.nodes.setdefault(labels, [])
            batch.append({"p": item["p"]})
            if len(batch) >= WRITE_BATCH:
                self._flush_nodes(labels)
        else:
            self.flush_nodes()
            key = (item["rel"], item["from"][0], item["to"][0])
            self.onto.relation(item["rel"])
            self.onto.check_label(key[1])
            self.onto.check_label(key[2])
            batch = self.rels.setdefault(key, [])
            batch.append({"f": item["from"][1], "t": item["to"][1], "p": item["p"]})
            if len(batch) >= WRITE_BATCH:
                self._flush_rels(key)

    def _flush_nodes(self, labels: tuple[str, ...]) -> None:
        rows = self.nodes.pop(labels, [])
        if rows:
            names = ":".join(ident(label) for label in labels)
            shared = self.onto.shared_values(labels[0])
            # the target is empty (_prepare_target): each node is created whole, as it was
            for _, group in shared_groups(self.store.dialect, shared, "n", rows):
                self.store.execute(f"UNWIND $rows AS row WITH row, {ROW_PARTS} "
                                   f"CREATE (n:{names} {created_map(self.store.dialect, group)})",
                                   {"rows": group})

    def flush_nodes(self) -> None:
        for labels in list(self.nodes):
            self._flush_nodes(labels)

    def _flush_rels(self, key: tuple[str, str, str]) -> None:
        rows = self.rels.pop(key, [])
        if rows:
            rel, src, dst = key
            self.store.execute(
                f"UNWIND $rows AS row MATCH (a:{ident(src)} {{{ident(self.onto.key_of(src))}: row.f}}) "
                f"MATCH (b:{ident(dst)} {{{ident(self.onto.key_of(dst))}: row.t}}) "
                f"CREATE (a)-[r:{ident(rel)}]->(b) SET r = row.p", {"rows": rows})

    def flush(self) -> None:
        self.flush_nodes()
        for key in list(self.rels):
            self._flush_rels(key)


def _prepare_target(store: GraphStore, replace: bool) -> None:
    store.bootstrap_schema()
    present = store.read("MATCH (n) RETURN count(n) AS c")[0]["c"]
    if present and not replace:
        raise BackupError(N_("{url} already holds {present:,} nodes; restore or copy only into an empty store, or pass --replace to "
                             "empty it first"), url=redact(store.url), present=present)
    while store.execute("MATCH (n) WITH n LIMIT 10000 DETACH DELETE n RETURN count(*) AS c")[0]["c"]:
        pass


def check_equal(target: GraphStore, expected: Summary) -> Summary:
    """The target's summary, when it equals `expected` (counts and checksum); BackupError with the differences if not."""
    got = summary_of(target)
    if got.as_dict() != expected.as_dict():
        diff = {k: (expected.labels.get(k, 0), got.labels.get(k, 0)) for k in expected.labels | got.labels
                if expected.labels.get(k, 0) != got.labels.get(k, 0)}
        diff.update({k: (expected.relationships.get(k, 0), got.relationships.get(k, 0))
                     for k in expected.relationships | got.relationships
                     if expected.relationships.get(k, 0) != got.relationships.get(k, 0)})
        raise BackupError(N_("the result differs from the original: counts (expected, got) {diff}; checksum {checksum}… vs {checksum2}…"),
                          diff=diff or 'equal', checksum=expected.checksum[:16], checksum2=got.checksum[:16])
    return got


# ---------------------------------------------------------------------- the three operations
def dump(store: GraphStore, path: Path) -> Summary:
    """Write the whole graph to `path` (gzip JSON lines), consistent on the embedded store."""
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    with writes_paused(store), gzip.open(tmp, "wt", encoding="utf-8") as out:
        out.write(_canonical({"format": FORMAT, "version": VERSION, "ontology": store.ontology.version,
                              "source": redact(store.url),
                              "createdAt": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}) + "\n")
        def write(_item: dict[str, Any], line: str) -> None:
            out.write(line + "\n")

        summary = summarise(records(store), write)
        out.write(_canonical({"end": summary.as_dict()}) + "\n")
    tmp.replace(path)
    return summary


def _read_dump(fh: IO[str]) -> tuple[dict[str, Any], Iterator[dict[str, Any]], dict[str, Any]]:
    header = json.loads(fh.readline() or "{}")
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise BackupError(N_("not a {FORMAT} version {VERSION} file (header: {header})"),
                          FORMAT=FORMAT, VERSION=VERSION, header=str(header)[:200])
    trailer: dict[str, Any] = {}

    def items() -> Iterator[dict[str, Any]]:
        for n, line in enumerate(fh, start=2):
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BackupError(N_("line {n} is not JSON ({msg}): the file is damaged"), n=n, msg=exc.msg) from None
            if "end" in item:
                trailer.update(item["end"])
                return
            yield item
        raise BackupError(N_("the file ends before its trailer: it is truncated"))

    return header, items(), trailer


@contextmanager
def opened_dump(path: Path) -> Iterator[tuple[Iterator[dict[str, Any]], dict[str, Any]]]:
    """A dump file's items, and its trailer (filled once the items are read); a file that is not a
    readable dump is a BackupError saying why."""
    try:
        with gzip.open(Path(path), "rt", encoding="utf-8") as fh:
            _header, items, trailer = _read_dump(fh)
            yield items, trailer
    except gzip.BadGzipFile:
        raise BackupError(N_("{path} is not a backup: it is not gzip-compressed (riskgraph backup writes FILE.dump.gz)"),
                          path=path) from None
    except (OSError, EOFError) as exc:
        raise BackupError(N_("{path} cannot be read: {exc}"), path=path, exc=exc) from None


def checked_trailer(path: Path, read: Summary, trailer: dict[str, Any]) -> Summary:
    """The summary a dump's trailer records, when what was read from it matches; BackupError if not."""
    expected = Summary(Counter(trailer.get("labels", {})), Counter(trailer.get("relationships", {})),
                       trailer.get("checksum", ""))
    if read.as_dict() != expected.as_dict():
        raise BackupError(N_("{path} is damaged: its content does not match its own trailer"), path=path)
    return expected


def restore(store: GraphStore, path: Path, *, replace: bool = False) -> Summary:
    """Write a dump into `store` (empty, or emptied with replace=True) and check it against the dump."""
    with opened_dump(path) as (items, trailer):
        _prepare_target(store, replace)  # each write takes the store's write lock itself
        writer = _Writer(store)
        read = summarise(items, lambda item, _line: writer.add(item))
        writer.flush()
    return check_equal(store, checked_trailer(path, read, trailer))


def copy(source: GraphStore, target: GraphStore, *, replace: bool = False) -> Summary:
    """Copy the whole graph of `source` into `target` and check that they are equal."""
    if redact(source.url) == redact(target.url):
        raise BackupError(N_("the source and the target are the same store"))
    _prepare_target(target, replace)
    writer = _Writer(target)
    with writes_paused(source):
        expected = summarise(records(source), lambda item, _line: writer.add(item))
        writer.flush()
    return check_equal(target, expected)


__all__ = ["BackupError", "Summary", "StoreError", "copy", "dump", "restore", "summary_of"]
