"""The one write path for writes people make: check against the ontology, then write the node, its
relationships, its provenance and its change log in one statement.

Provenance follows the loaders (loaders/engine.py): where a loaded row gets a `SourceRecord` (source
system, file, row, raw values, the facts it asserted, load id and time) linked from every node it
fed by `DERIVED_FROM`, a write gets one naming its channel (`sourceSystem` api or cli), `endpoint`,
`actor`, `actorRole`, `requestId` (also its `loadId`: the request is the batch), `loadedAt`, what
the caller sent (`rawValues`, personal data masked by the caller) and the facts written. Where a
newer export gets a `ChangeEvent` per fact it changes, a write gets one per property it sets or
changes (`oldValue` null for a property it sets first, so a node written by people has its whole
history, from its report through each change of state); each event links to the write's record.

Everything is one Cypher statement, so it is atomic on both backends: the nodes to link to are
matched first, and when one is missing nothing at all is written. The checks run before it; a
change that lands between them and the statement (two people updating one node at once) can make
an event's `oldValue` stale, never lose a write.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.graph.subgraph import NodeRef, Subgraph
from riskgraph.graph.values import decode_properties, encode_properties
from riskgraph.ontology.anchors import CHANGE_EVENT, DERIVED_FROM, QUARANTINED_ROW, SOURCE_RECORD
from riskgraph.ontology.errors import N_
from riskgraph.ontology.model import TIME_SUFFIX, TOKENS_SUFFIX, ClassDef, RelationDef, class_term, load_ontology
from riskgraph.workflows.origin import Origin
from riskgraph.workflows.validation import (
    Link,
    WriteConflict,
    WriteError,
    WriteNotFound,
    check_links,
    check_shapes,
    normalise_properties,
)

#: classes only the loaders and this service write, never as the subject of a write
BOOKKEEPING = (SOURCE_RECORD, CHANGE_EVENT, QUARANTINED_ROW)
#: how many of a node's own relationships the shape check reads (shapes constrain a handful)
SHAPE_CONTEXT_LIMIT = 5_000

_RECORD_PROPERTIES = ("sourceSystem", "endpoint", "actor", "actorRole", "requestId", "loadId", "loadedAt", "facts",
                      "rawValues", "contentHash")
_EVENT_PROPERTIES = ("entityLabel", "entityKey", "property", "oldValue", "newValue", "changedAt", "sourceSystem", "loadId")


def _check_ontology() -> None:
    """Fail on import, not on the first write, when the ontology lacks what provenance is written with."""
    onto = load_ontology()
    for label, names in ((SOURCE_RECORD, _RECORD_PROPERTIES), (CHANGE_EVENT, _EVENT_PROPERTIES)):
        missing = [n for n in names if n not in onto.properties_of(label)]
        if missing:
            raise RuntimeError(f"the ontology gives {label} no {', '.join(missing)}: workflows cannot record provenance")


_check_ontology()


@dataclass(frozen=True)
class LinkWritten:
    type: str
    source: NodeRef
    target: NodeRef


@dataclass(frozen=True)
class Change:
    """One ChangeEvent: a property's value before (None: it had none) and after the write."""

    id: str
    property: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Written:
    """What a write stored."""

    label: str
    key: str
    created: bool
    properties: dict[str, Any]   #: the node as stored after the write (without the store's companions)
    links: list[LinkWritten]
    record: str                  #: the SourceRecord's id
    changes: list[Change]
    origin: Origin


class WriteService:
    """Writes through one store; cheap to make (it holds the store and reads the ontology from it)."""

    def __init__(self, store: GraphStore, *, shapes: bool = True) -> None:
        self.store = store
        self.onto = store.ontology
        self.shapes = shapes

    def create(self, label: str, properties: Mapping[str, Any], origin: Origin, *, links: Sequence[Link] = (),
               raw: Mapping[str, Any] | None = None) -> Written:
        """A new node (its key among `properties`); WriteConflict when the key exists.

        `raw` is what the caller sent, kept in the record as the loaders keep a raw row: mask
        personal data (a reporter's phone) before passing it.
        """
        cls = self._writable(label)
        key = properties.get(cls.key)
        if key is None or str(key).strip() == "":
            raise WriteError(N_("a new {label} needs its key {key}"), cls.key, code="missing_key", label=class_term(label), key=cls.key)
        return self._write(label, str(key), properties, links, origin, raw, create=True)

    def update(self, label: str, key: str, properties: Mapping[str, Any], origin: Origin, *,
               links: Sequence[Link] = (), raw: Mapping[str, Any] | None = None,
               expect: Mapping[str, Any] | None = None) -> Written:
        """Set properties of an existing node (None leaves one unchanged) and add relationships;
        WriteNotFound when the node does not exist.

        `expect` makes it a compare-and-set: the write happens only while the node still has these
        stored values (None: the property is absent), checked in the same statement, else
        WriteConflict — so two people moving one hidden danger on at once cannot both succeed."""
        cls = self._writable(label)
        given = properties.get(cls.key)
        if given is not None and str(given) != str(key):
            raise WriteError(N_("a write does not change a node's key ({key} {key2} → {given})"), cls.key,
                             code="key_change",
                             key=cls.key, key2=key, given=given)
        return self._write(label, str(key), {**properties, cls.key: key}, links, origin, raw, create=False,
                           expect=expect)

    # ------------------------------------------------------------------ checks
    def _writable(self, label: str) -> ClassDef:
        try:
            cls = self.onto.check_label(label)
        except KeyError:
            raise WriteError(N_("{label!r} is not a class of the ontology"), "label", code="unknown_label", label=label) from None
        if cls.name in BOOKKEEPING:
            raise WriteError(N_("{label} nodes are bookkeeping: the service writes them itself"), "label",
                             code="bookkeeping", label=label)
        return cls

    def _current(self, ref: NodeRef) -> dict[str, Any] | None:
        return self.store.get_node(*ref)

    def _context(self, label: str, key: str, props: dict[str, Any], links: Sequence[Link],
                 others: dict[NodeRef, dict[str, Any]], existed: bool) -> Subgraph:
        """The node as it will be, with the relationships it will have, for the shapes."""
        sub = Subgraph()
        me = sub.add_node(label, key, props)
        if existed:
            rows = self.store.read(
                f"MATCH (n:{ident(label)} {{{ident(self.onto.key_of(label))}: $key}})-[r]->(m) "
                "RETURN type(r) AS t, labels(m) AS l, properties(m) AS p LIMIT $limit",
                {"key": key, "limit": SHAPE_CONTEXT_LIMIT})
            for row in rows:
                far = next((lbl for lbl in row["l"] if lbl in self.onto.classes), None)
                if far is None or row["t"] not in self.onto.relationship_types:
                    continue
                ref = sub.add_node(far, str(row["p"].get(self.onto.key_of(far))), row["p"])
                sub.edges.append((me, row["t"], ref, {}))
        for link in links:
            ref = sub.add_node(*link.other, others[link.other])
            rel = self.onto.relation(link.type)
            sub.edges.append((me, rel.type, ref, {}) if link.outgoing else (ref, rel.type, me, {}))
        return sub

    # ------------------------------------------------------------------ the write
    def _write(self, label: str, key: str, properties: Mapping[str, Any], links: Sequence[Link], origin: Origin,
               raw: Mapping[str, Any] | None, *, create: bool, expect: Mapping[str, Any] | None = None) -> Written:
        onto = self.onto
        key_prop = onto.key_of(label)
        encoded = normalise_properties(onto, label, properties)
        rels = check_links(onto, label, links, reserved=(DERIVED_FROM,))
        current = self._current((label, key))
        if create and current is not None:
            raise WriteConflict(N_("{label} {key} already exists"), key_prop, label=class_term(label), key=key)
        if not create and current is None:
            raise WriteNotFound(N_("{label} {key} not found"), key_prop, label=class_term(label), key=key)
        if expect and current is not None:
            _check_expected(label, key, current, expect)
        others: dict[NodeRef, dict[str, Any]] = {}
        for link in links:
            found = self._current(link.other)
            if found is None:
                raise WriteNotFound(N_("{other} {other2} not found (for {type})"), "links",
                                    other=link.other[0], other2=link.other[1], type=link.type)
            others[link.other] = found
        if self.shapes:
            check_shapes(onto, self._context(label, key, {**(current or {}), **encoded}, links, others, current is not None),
                         (label, key))

        changes = self._changes(label, key, key_prop, current or {}, encoded, origin)
        record_id = f"{origin.channel}:{origin.request_id}:{label}:{key}"
        record = self._record(record_id, label, key, encoded, origin, raw)
        events = [encode_properties(onto, CHANGE_EVENT, {
            "id": c.id, "entityLabel": label, "entityKey": key, "property": c.property,
            "oldValue": json.dumps(c.old, ensure_ascii=False), "newValue": json.dumps(c.new, ensure_ascii=False),
            "changedAt": origin.at, "sourceSystem": origin.channel, "loadId": origin.request_id,
        }) for c in changes]

        cypher, params = self._statement(label, key, encoded, links, rels, create=create, expect=expect)
        params.update(rid=record_id, record=record, changes=events)
        rows = self.store.execute(cypher, params)
        if not rows:  # a node to link to (or the node updated) went away after the checks: nothing was written
            now = self.store.get_node(label, key) if expect else None
            if now is not None and expect:
                _check_expected(label, key, now, expect)
            raise WriteNotFound(N_("{label} {key}: a node it links to is gone"), "links", label=class_term(label), key=key)
        written_links = [LinkWritten(rel.type, (label, key), link.other) if link.outgoing
                         else LinkWritten(rel.type, link.other, (label, key)) for link, rel in zip(links, rels, strict=True)]
        return Written(label=class_term(label), key=key, created=create, properties=decode_properties(rows[0]["p"]),
                       links=written_links, record=record_id, changes=changes, origin=origin)

    def _changes(self, label: str, key: str, key_prop: str, before: dict[str, Any], after: dict[str, Any],
                 origin: Origin) -> list[Change]:
        """A change for every stored property the write sets to a new value (companions and the key aside)."""
        out = []
        for prop, new in after.items():
            if prop == key_prop or _companion(prop, after):
                continue
            old = before.get(prop)
            if old == new:
                continue
            digest = hashlib.sha256(f"{label}|{key}|{prop}|{old}|{new}|{origin.request_id}".encode()).hexdigest()[:24]
            out.append(Change(id=digest, property=prop, old=old, new=new))
        return out

    def _record(self, record_id: str, label: str, key: str, encoded: dict[str, Any], origin: Origin,
                raw: Mapping[str, Any] | None) -> dict[str, Any]:
        facts = json.dumps({f"{label}:{key}": decode_properties(encoded)}, ensure_ascii=False, sort_keys=True)
        raw_text = json.dumps(raw, ensure_ascii=False, sort_keys=True, default=str) if raw is not None else None
        return encode_properties(self.onto, SOURCE_RECORD, {
            "id": record_id, "sourceSystem": origin.channel, "endpoint": origin.endpoint, "actor": origin.actor,
            "actorRole": origin.role, "requestId": origin.request_id, "loadId": origin.request_id,
            "loadedAt": origin.at, "facts": facts, "rawValues": raw_text,
            "contentHash": hashlib.sha256((raw_text or facts).encode()).hexdigest()[:32],
        })

    def _statement(self, label: str, key: str, encoded: dict[str, Any], links: Sequence[Link],
                   rels: list[RelationDef], *, create: bool,
                   expect: Mapping[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """One statement: match what to link to, merge (create) or match (update) the node, set its
        properties, merge the relationships, the record and the change events."""
        onto = self.onto
        lines: list[str] = []
        params: dict[str, Any] = {"key": key, "props": encoded}
        for i, link in enumerate(links):
            other_label, other_key = link.other
            lines.append(f"MATCH (o{i}:{ident(other_label)} {{{ident(onto.key_of(other_label))}: $o{i}}})")
            params[f"o{i}"] = other_key
        node = f"(n:{ident(label)} {{{ident(onto.key_of(label))}: $key}})"
        lines.append(("MERGE " if create else "MATCH ") + node)
        if expect and not create:
            tests = []
            for i, (prop, value) in enumerate(sorted(expect.items())):
                if value is None:
                    tests.append(f"n.{ident(prop)} IS NULL")
                else:
                    tests.append(f"n.{ident(prop)} = $x{i}")
                    params[f"x{i}"] = value
            lines[-1] += " WHERE " + " AND ".join(tests)
        lines.append("SET n += $props")
        for i, (link, rel) in enumerate(zip(links, rels, strict=True)):
            arrow = f"(n)-[:{ident(rel.type)}]->(o{i})" if link.outgoing else f"(o{i})-[:{ident(rel.type)}]->(n)"
            lines.append("MERGE " + arrow)
        record_key = ident(onto.key_of(SOURCE_RECORD))
        event_key = ident(onto.key_of(CHANGE_EVENT))
        derived = ident(DERIVED_FROM)
        lines += [
            f"MERGE (s:{ident(SOURCE_RECORD)} {{{record_key}: $rid}}) SET s += $record",
            f"MERGE (n)-[:{derived}]->(s)",
            f"FOREACH (c IN $changes | MERGE (e:{ident(CHANGE_EVENT)} {{{event_key}: c.{event_key}}}) SET e += c "
            f"MERGE (e)-[:{derived}]->(s))",
            "RETURN properties(n) AS p",
        ]
        return "\n".join(lines), params


def _check_expected(label: str, key: str, current: Mapping[str, Any], expect: Mapping[str, Any]) -> None:
    """WriteConflict unless the node still holds the expected stored values."""
    for prop, value in expect.items():
        if current.get(prop) != value:
            raise WriteConflict(N_("{label} {key}: {prop} is {prop2!r} now, not {value!r}"), prop,
                                label=class_term(label), key=key, prop=prop, prop2=current.get(prop), value=value)


def _companion(name: str, props: Mapping[str, Any]) -> bool:
    """A store companion (…Ms beside a time, …Tokens beside a text) of a property in `props`."""
    for suffix in (TIME_SUFFIX, TOKENS_SUFFIX):
        if name.endswith(suffix) and name[: -len(suffix)] in props:
            return True
    return False


__all__ = ["Change", "Link", "LinkWritten", "Origin", "WriteConflict", "WriteError", "WriteNotFound", "WriteService",
           "Written"]
