"""Long, repetitive text properties kept deflated against a dictionary made of their kind's first texts.

Why: at province scale a source row's raw values and facts, a recommendation's measure name, paths, explanation
and citation, and an assessment's components were most of the embedded store's memory. A short
JSON text hardly shrinks on its own (−25 %), but a preset deflate dictionary (RFC 1950) made of the
first texts of the same kind — one source file's rows, one recommender's output, one model's
results — holds their keys, column names, recurring words and ids, and a text then takes a fifth
to a quarter of the room.

Which properties of which class are packed is the ontology's `rg:packs`; they are kept together,
as one JSON object, in the node's `packedContent`. The text stays on the node, so a record is still
written with its links in one statement, and backups, copies and Neo4j imports carry it as it is.
A packed text names its dictionary by a digest of the dictionary's bytes: a dictionary is never
changed, and a reader can tell a wrong one. Nodes written without packing (through the API, or by
an older version) keep the plain properties; the readers here give both kinds back the same way,
and a plain value beside a packed one is the newer.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from riskgraph.graph.dialect import ident
from riskgraph.graph.store import MAX_TIMEOUT_MS, GraphStore
from riskgraph.ontology.anchors import ASSESSMENT, CONTENT_DICTIONARY, RECOMMENDATION, SOURCE_RECORD
from riskgraph.ontology.errors import N_, RiskGraphError
from riskgraph.ontology.model import PACKED_CONTENT

#: deflate's window: a longer dictionary is never looked at
DICTIONARY_BYTES = 32 * 1024
#: texts a dictionary is made of; one made of fewer is replaced when a batch brings more
TRAINING_ROWS = 64
LEVEL = 6
_ID_CHARS = 12

#: dictionary id → its bytes; safe across stores and processes because the id is the bytes' digest
_DICTIONARIES: dict[str, bytes] = {}


class PackedContentError(RiskGraphError):
    """A packed text whose dictionary the store does not hold, or that does not unpack."""


def dictionary_id(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:_ID_CHARS]


class Packer:
    """Packs the nodes of one `label` and one kind (`kind`: source:path of a file, or Label:producer).

    The first batch finds the kind's dictionary in the store, or makes one of its own texts and
    writes it before any node that needs it."""

    def __init__(self, store: GraphStore, label: str, kind: str, *, load_id: str | None = None,
                 loaded_at: object = None) -> None:
        self.store, self.kind = store, kind
        self.fields = store.ontology.classes[label].packs
        self.load_id, self.loaded_at = load_id, loaded_at
        self._id: str | None = None
        self._trained = 0
        self._base: Any = None  # a compressor primed with the dictionary; each text packs from a copy
        self._looked = False

    @property
    def settled(self) -> bool:
        """Its dictionary is found or made and will not be replaced: packing touches the store no
        more, so a forked process or another thread may pack with it."""
        return self._looked and self._id is not None and self._trained >= TRAINING_ROWS

    def pack(self, nodes: list[dict[str, Any]]) -> None:
        """In place: each node's packed properties become its packedContent (and are set to None,
        so that they are not written beside it)."""
        if not nodes or not self.fields:
            return
        texts = [json.dumps({f: n[f] for f in self.fields if n.get(f) is not None}, ensure_ascii=False).encode()
                 for n in nodes]
        self._ready(texts)
        for node, text in zip(nodes, texts, strict=True):
            c = self._base.copy()
            node[PACKED_CONTENT] = f"{self._id}:{base64.b64encode(c.compress(text) + c.flush()).decode('ascii')}"
            for f in self.fields:
                node[f] = None

    def look(self) -> None:
        """Find the kind's dictionary in the store (the first `pack` does it otherwise)."""
        if not self._looked:
            self._looked = True
            self._use(*_newest(self.store, self.kind))

    def _ready(self, texts: list[bytes]) -> None:
        self.look()
        if self._id is None or (self._trained < TRAINING_ROWS and len(texts) > self._trained):
            trained = min(len(texts), TRAINING_ROWS)
            data = b"".join(texts[:TRAINING_ROWS])[-DICTIONARY_BYTES:]
            ident_ = dictionary_id(data)
            self.store.upsert_nodes(CONTENT_DICTIONARY, [{
                "id": ident_, "dictionaryFor": self.kind, "trainedRows": trained,
                "dictionaryData": base64.b64encode(data).decode("ascii"),
                "loadId": self.load_id, "loadedAt": self.loaded_at}])
            self._use(ident_, data, trained)

    def _use(self, ident_: str | None, data: bytes | None, trained: int) -> None:
        if ident_ is None or data is None:
            return
        _DICTIONARIES[ident_] = data
        # the compressor before the id: once `settled` reads true another thread may pack (the loader
        # makes a batch's records while the batch before is written)
        self._base = zlib.compressobj(LEVEL, zdict=data)
        self._id, self._trained = ident_, trained


def _newest(store: GraphStore, kind: str) -> tuple[str | None, bytes | None, int]:
    rows = store.read(
        f"MATCH (d:{ident(CONTENT_DICTIONARY)}) WHERE d.dictionaryFor = $k "
        "RETURN d.id AS id, d.dictionaryData AS data, d.trainedRows AS trained "
        "ORDER BY d.trainedRows DESC, d.loadedAt DESC, d.id LIMIT 1", {"k": kind})
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
            raise PackedContentError(N_("a node's content is packed against content dictionary {id}, "
                                        "which the store does not hold"), id=ident_)
        data = _DICTIONARIES[ident_] = _checked(ident_, rows[0]["data"])
    return data


def unpack(store: GraphStore, packed: str) -> dict[str, str]:
    """The packed properties, by name."""
    ident_, _, body = packed.partition(":")
    d = zlib.decompressobj(zdict=_dictionary(store, ident_))
    try:
        text = d.decompress(base64.b64decode(body, validate=True)) + d.flush()
        if not d.eof:
            raise ValueError("cut short")
        values = json.loads(text)
        if not isinstance(values, dict):
            raise ValueError("not an object")
        return values
    except (ValueError, zlib.error) as exc:
        raise PackedContentError(N_("a node's packed content does not unpack ({reason})"), reason=str(exc)) from exc


def unpacked_properties(store: GraphStore, props: Mapping[str, Any]) -> dict[str, Any]:
    """A node's properties with its packed ones in place of packedContent (a plain one is the newer)."""
    packed = props.get(PACKED_CONTENT)
    if not packed:  # as it is: most nodes have nothing packed, and the readers only read it
        return props if isinstance(props, dict) else dict(props)
    out = {k: v for k, v in props.items() if k != PACKED_CONTENT}
    for name, value in unpack(store, str(packed)).items():
        if out.get(name) is None:
            out[name] = value
    return out


def packed_columns(var: str, columns: Mapping[str, str]) -> str:
    """What a query returns for `unpacked_columns`: `var`'s packed text, and each packed property
    (alias → property) plain, as an older version or the API may have left it."""
    plain = ", ".join(f"{var}.{ident(prop)} AS {ident(alias)}" for alias, prop in columns.items())
    return f"{var}.{PACKED_CONTENT} AS packed, {plain}"


def unpacked_columns(store: GraphStore, rows: list[dict[str, Any]], columns: Mapping[str, str]) -> list[dict[str, Any]]:
    """Rows read with `packed_columns`, each alias holding its property unpacked (`packed` dropped)."""
    out = []
    for row in rows:
        props = unpacked_properties(store, {PACKED_CONTENT: row.get("packed"),
                                            **{prop: row.get(alias) for alias, prop in columns.items()}})
        out.append({**{k: v for k, v in row.items() if k != "packed"},
                    **{alias: props.get(prop) for alias, prop in columns.items()}})
    return out


#: a SourceRecord's packed properties, as record readers name them
_RECORD_COLUMNS = {"raw": "rawValues", "facts": "facts"}
#: an Assessment's
_ASSESSMENT_COLUMNS = {"components": "components"}


def with_content(store: GraphStore, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows read with record_content, their `raw` and `facts` unpacked (`packed` dropped)."""
    return unpacked_columns(store, rows, _RECORD_COLUMNS)


def record_content(var: str) -> str:
    """What a query returns for `with_content` to read: f"RETURN s.id AS id, {record_content('s')}"."""
    return packed_columns(var, _RECORD_COLUMNS)


def with_components(store: GraphStore, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows read with assessment_components, their `components` unpacked (`packed` dropped)."""
    return unpacked_columns(store, rows, _ASSESSMENT_COLUMNS)


def assessment_components(var: str) -> str:
    """What a query returns for `with_components` to read: f"RETURN a.id AS id, {assessment_components('a')}"."""
    return packed_columns(var, _ASSESSMENT_COLUMNS)


#: what names a node's dictionary, per label (dictionary_kind)
_KIND_FIELDS = {SOURCE_RECORD: ("sourceSystem", "sourceFile"), RECOMMENDATION: ("recommender",),
                ASSESSMENT: ("method",)}


def dictionary_kind(label: str, props: Mapping[str, Any]) -> str | None:
    """The kind a node is packed as, which names its dictionary: source:path of a record's file (the
    LoadedFile id), Recommendation:recommender, Assessment:method (one model's components share their
    keys and words); None: the node stays plain (a record not from a file)."""
    if label == SOURCE_RECORD:
        return f"{props.get('sourceSystem')}:{props['sourceFile']}" if props.get("sourceFile") else None
    fields = _KIND_FIELDS.get(label, ())
    return f"{label}:" + ":".join(str(props.get(f)) for f in fields)


# ---------------------------------------------------------------- what an older version wrote plain
def pack_plain(store: GraphStore, *, batch: int = 5_000,
               on_batch: Callable[[str, int, int], None] | None = None) -> dict[str, int]:
    """Pack what an older version wrote plain (`riskgraph pack-records`); how many nodes, per label.

    Every class with `rg:packs`; source records not from a file (written through the API) stay as
    they were. Each batch is one statement per dictionary, so a run stopped anywhere leaves every
    node whole, plain or packed, and running it again packs the rest. Written as a bulk load; the
    store's log is then rewritten whatever it grew by, or its next start would load the plain text
    and replay every packing."""
    done: dict[str, int] = {}
    with store.bulk_load() as bulk:
        bulk.compact = False  # below, unconditionally
        for label, cls in store.ontology.classes.items():
            if cls.packs:
                done[label] = _pack_label(store, label, cls.packs, batch, on_batch)
    if any(done.values()):
        store.compact()
    return done


def _pack_label(store: GraphStore, label: str, fields: Iterable[str], batch: int,
                on_batch: Callable[[str, int, int], None] | None) -> int:
    node, key = ident(label), ident(store.ontology.key_of(label))
    plain = " OR ".join(f"n.{ident(f)} IS NOT NULL" for f in fields)
    ids = [r["k"] for r in store.read(f"MATCH (n:{node}) WHERE n.{PACKED_CONTENT} IS NULL AND ({plain}) "
                                      f"RETURN n.{key} AS k", timeout_ms=MAX_TIMEOUT_MS)]
    wanted = ", ".join(f"n.{ident(f)} AS {ident(f)}" for f in (*_KIND_FIELDS.get(label, ()), *fields))
    packers: dict[str, Packer] = {}
    done = 0
    for start in range(0, len(ids), batch):
        rows = store.read(f"UNWIND $ids AS i MATCH (n:{node} {{{key}: i}}) RETURN n.{key} AS k, {wanted}",
                          {"ids": ids[start:start + batch]})
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            kind = dictionary_kind(label, row)
            if kind is not None:
                by_kind.setdefault(kind, []).append(row)
        for kind, nodes in by_kind.items():
            packers.setdefault(kind, Packer(store, label, kind)).pack(nodes)
            unset = ", ".join(f"n.{ident(f)} = null" for f in fields)
            store.execute(f"UNWIND $rows AS row MATCH (n:{node} {{{key}: row.k}}) "
                          f"SET n.{PACKED_CONTENT} = row.packed, {unset}",
                          {"rows": [{"k": n["k"], "packed": n[PACKED_CONTENT]} for n in nodes]})
            done += len(nodes)
        if on_batch is not None:
            on_batch(label, min(start + batch, len(ids)), len(ids))
    return done
