"""A loaded row's raw values and facts, deflated against a dictionary made of its file's first rows.

Why: at province scale the raw row and the normalised facts of every SourceRecord were most of the
embedded store's memory (≈ 970 of the ≈ 1,340 bytes a record takes at 10,000 enterprises). A short
JSON row hardly shrinks on its own (−25 %), but a preset deflate dictionary (RFC 1950) made of the
same file's first rows holds its keys, column names and recurring values, and the row then takes
about a quarter of the room. The text stays on the record's node, so a record is still written
with its links in one statement, and backups, copies and exports carry it as it is.

A packed record names its dictionary by a digest of the dictionary's bytes: the dictionary is never
changed, and a reader can tell a wrong one. Records written without packing (through the API, or
by an older version) keep `rawValues` and `facts`; `content` reads both kinds.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from riskgraph.graph.dialect import ident
from riskgraph.graph.store import MAX_TIMEOUT_MS, GraphStore
from riskgraph.ontology.anchors import CONTENT_DICTIONARY, SOURCE_RECORD
from riskgraph.ontology.errors import N_, RiskGraphError

#: deflate's window: a longer dictionary is never looked at
DICTIONARY_BYTES = 32 * 1024
#: rows a dictionary is made of; one made of fewer is replaced when a file's batch brings more
TRAINING_ROWS = 64
LEVEL = 6
_ID_CHARS = 12

#: dictionary id → its bytes; safe across stores and processes because the id is the bytes' digest
_DICTIONARIES: dict[str, bytes] = {}


class PackedContentError(RiskGraphError):
    """A packed record whose dictionary the store does not hold, or whose text does not unpack."""


@dataclass(frozen=True)
class Content:
    """What a source record kept of its row: the raw values and the facts, both JSON text."""

    raw: str | None
    facts: str | None


def dictionary_id(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:_ID_CHARS]


def _joined(raw: str | None, facts: str | None) -> str:
    """One text, split again without ambiguity: the raw text's length (-1 when there is none) first."""
    return f"{-1 if raw is None else len(raw)}:{raw or ''}{facts or ''}"


def _split(text: str) -> Content:
    head, _, rest = text.partition(":")
    n = int(head)
    return Content(None, rest or None) if n < 0 else Content(rest[:n], rest[n:] or None)


class Packer:
    """Packs the records of one source file (`file_key`, source:path) as a loader writes them.

    The first batch written finds the file's newest dictionary in the store, or makes one of its
    own rows and writes it before any record that needs it."""

    def __init__(self, store: GraphStore, file_key: str, *, load_id: str | None = None,
                 loaded_at: object = None) -> None:
        self.store, self.file_key = store, file_key
        self.load_id, self.loaded_at = load_id, loaded_at
        self._id: str | None = None
        self._trained = 0
        self._base: Any = None  # a compressor primed with the dictionary; each record packs from a copy
        self._looked = False

    def pack(self, records: list[dict[str, Any]]) -> None:
        """In place: each record's rawValues and facts become its packedContent (and are set to
        null, so that a record merged again loses its plain copy)."""
        if not records:
            return
        texts = [_joined(r.get("rawValues"), r.get("facts")).encode() for r in records]
        self._ready(texts)
        for record, text in zip(records, texts, strict=True):
            c = self._base.copy()
            packed = c.compress(text) + c.flush()
            record["packedContent"] = f"{self._id}:{base64.b85encode(packed).decode('ascii')}"
            record["rawValues"] = record["facts"] = None

    def _ready(self, texts: list[bytes]) -> None:
        if not self._looked:
            self._looked = True
            self._use(*_newest(self.store, self.file_key))
        if self._id is None or (self._trained < TRAINING_ROWS and len(texts) > self._trained):
            data = b"".join(texts[:TRAINING_ROWS])[-DICTIONARY_BYTES:]
            ident_ = dictionary_id(data)
            self.store.upsert_nodes(CONTENT_DICTIONARY, [{
                "id": ident_, "dictionaryFor": self.file_key, "trainedRows": min(len(texts), TRAINING_ROWS),
                "dictionaryData": base64.b64encode(data).decode("ascii"),
                "loadId": self.load_id, "loadedAt": self.loaded_at}])
            self._use(ident_, data, min(len(texts), TRAINING_ROWS))

    def _use(self, ident_: str | None, data: bytes | None, trained: int) -> None:
        if ident_ is None or data is None:
            return
        _DICTIONARIES[ident_] = data
        self._id, self._trained = ident_, trained
        self._base = zlib.compressobj(LEVEL, zdict=data)


def _newest(store: GraphStore, file_key: str) -> tuple[str | None, bytes | None, int]:
    rows = store.read(
        f"MATCH (d:{ident(CONTENT_DICTIONARY)}) WHERE d.dictionaryFor = $k "
        "RETURN d.id AS id, d.dictionaryData AS data, d.trainedRows AS trained "
        "ORDER BY d.trainedRows DESC, d.loadedAt DESC, d.id LIMIT 1", {"k": file_key})
    if not rows:
        return None, None, 0
    return str(rows[0]["id"]), _checked(str(rows[0]["id"]), rows[0]["data"]), int(rows[0]["trained"] or 0)


def _checked(ident_: str, text: Any) -> bytes:
    data = base64.b64decode(text or "")
    if dictionary_id(data) != ident_:
        raise PackedContentError(N_("content dictionary {id} does not match its digest: the store's copy is damaged"),
                                 id=ident_)
    return data


def _dictionary(store: GraphStore, ident_: str) -> bytes:
    data = _DICTIONARIES.get(ident_)
    if data is None:
        rows = store.read(f"MATCH (d:{ident(CONTENT_DICTIONARY)} {{id: $id}}) RETURN d.dictionaryData AS data",
                          {"id": ident_})
        if not rows:
            raise PackedContentError(N_("a source record is packed against content dictionary {id}, "
                                        "which the store does not hold"), id=ident_)
        data = _DICTIONARIES[ident_] = _checked(ident_, rows[0]["data"])
    return data


def unpack(store: GraphStore, packed: str) -> Content:
    ident_, _, body = packed.partition(":")
    d = zlib.decompressobj(zdict=_dictionary(store, ident_))
    try:
        text = d.decompress(base64.b85decode(body)) + d.flush()
        if not d.eof:
            raise ValueError("cut short")
        return _split(text.decode())
    except (ValueError, zlib.error) as exc:
        raise PackedContentError(N_("a source record's packed content does not unpack ({reason})"),
                                 reason=str(exc)) from exc


def content(store: GraphStore, row: Mapping[str, Any]) -> Content:
    """The raw values and facts of a record read as `packed`, `raw` and `facts` (any may be absent).

    A plain value beside a packed one is the newer: a review decision rewrote the record's facts."""
    packed = row.get("packed")
    if not packed:
        return Content(row.get("raw"), row.get("facts"))
    kept = unpack(store, str(packed))
    return Content(row.get("raw") or kept.raw, row.get("facts") or kept.facts)


def plain_properties(store: GraphStore, props: Mapping[str, Any]) -> dict[str, Any]:
    """A record's properties with rawValues and facts in place of packedContent (for exports)."""
    c = content(store, {"packed": props.get("packedContent"), "raw": props.get("rawValues"), "facts": props.get("facts")})
    out = {k: v for k, v in props.items() if k != "packedContent"}
    out.update({k: v for k, v in (("rawValues", c.raw), ("facts", c.facts)) if v is not None})
    return out


def with_content(store: GraphStore, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows read with RECORD_CONTENT, their `raw` and `facts` unpacked (`packed` dropped)."""
    out = []
    for row in rows:
        c = content(store, row)
        out.append({**{k: v for k, v in row.items() if k != "packed"}, "raw": c.raw, "facts": c.facts})
    return out



def record_content(var: str) -> str:
    """What a query returns for `with_content` to read: f"RETURN s.id AS id, {record_content('s')}"."""
    return f"{var}.packedContent AS packed, {var}.rawValues AS raw, {var}.facts AS facts"


def pack_plain_records(store: GraphStore, *, batch: int = 5_000,
                       on_batch: Callable[[int, int], None] | None = None) -> int:
    """Pack the loaded records an older version wrote plain (`riskgraph pack-records`); returns how many.

    Only records of a source file (`sourceFile`) are packed, each against its file's dictionary;
    those written through the API or the command line stay as they are. Each batch is one
    statement per file, so a run stopped anywhere leaves every record whole, plain or packed, and
    running it again packs the rest. Written as a bulk load; the store's log is then rewritten
    whatever it grew by, or its next start would load the plain text and replay every packing."""
    with store.bulk_load() as bulk:
        bulk.compact = False  # below, unconditionally
        done = _pack_plain(store, batch, on_batch)
    if done:
        store.compact()
    return done


def _pack_plain(store: GraphStore, batch: int, on_batch: Callable[[int, int], None] | None) -> int:
    label = ident(SOURCE_RECORD)
    ids = [r["id"] for r in store.read(
        f"MATCH (s:{label}) WHERE s.packedContent IS NULL AND s.sourceFile IS NOT NULL "
        "AND (s.rawValues IS NOT NULL OR s.facts IS NOT NULL) RETURN s.id AS id", timeout_ms=MAX_TIMEOUT_MS)]
    packers: dict[str, Packer] = {}
    done = 0
    for start in range(0, len(ids), batch):
        rows = store.read(
            f"UNWIND $ids AS i MATCH (s:{label} {{id: i}}) RETURN s.id AS id, s.sourceSystem AS source, "
            "s.sourceFile AS file, s.rawValues AS rawValues, s.facts AS facts", {"ids": ids[start:start + batch]})
        by_file: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_file.setdefault(f"{row['source']}:{row['file']}", []).append(row)
        for key, records in by_file.items():
            packers.setdefault(key, Packer(store, key)).pack(records)
            store.execute(f"UNWIND $rows AS row MATCH (s:{label} {{id: row.id}}) "
                          "SET s.packedContent = row.packed, s.rawValues = null, s.facts = null",
                          {"rows": [{"id": r["id"], "packed": r["packedContent"]} for r in records]})
        done += len(rows)
        if on_batch is not None:
            on_batch(done, len(ids))
    return done
