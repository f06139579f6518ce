"""The review queue: facts whose enterprise a person must decide, and their decisions, in the graph.

A fact the resolver cannot place for certain is loaded without an enterprise and gets a
`ReviewItem` (keyed `Label:key`, so every later version of the same penalty or inspection meets
the same item). A person links it to one candidate or rejects them all; every later load applies
that decision instead of guessing again. An item is also closed by a load (`settled`) once the fact
can be placed for certain — its row changed, or the registry did (`stale_items`) — as a fresh load of
the same files would place it; a later row in doubt raises it again. Decisions are reversible: `unlink` takes a fact off its
enterprise — the link, the enterprise facts it contributed and their provenance — and puts it back
in review with the enterprise excluded from automatic linking; `split` does that for several facts
a merge put on one enterprise, optionally moving them to another. Every action is appended to the
item's history with who, when and why.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from itertools import batched
from typing import Any

from riskgraph.graph.dialect import ident
from riskgraph.graph.packed_content import record_content, with_content
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import LOCAL_TZ, encode_properties
from riskgraph.loaders.fields import FieldContext, normalise, raw_value
from riskgraph.loaders.mapping import EnterpriseSpec, FileSpec, LinkSpec, load_mappings
from riskgraph.loaders.matching.records import Query
from riskgraph.loaders.normalise.errors import RowError
from riskgraph.loaders.resolve import LINK, EnterpriseIndex, Resolution, record_query
from riskgraph.ontology.anchors import DERIVED_FROM, ENTERPRISE, REGION_CODE, REVIEW_ITEM, REVIEWS, SOURCE_RECORD
from riskgraph.ontology.errors import N_, RiskGraphError
from riskgraph.ontology.model import TIME_SUFFIX, TOKENS_SUFFIX, class_term, load_ontology

OPEN, LINKED, REJECTED, SETTLED = "open", "linked", "rejected", "settled"
STATUSES = (OPEN, LINKED, REJECTED, SETTLED)
#: a person's decisions; an open item, or one a load settled, is none (a person's exclusions on it still hold)
DECIDED = (LINKED, REJECTED)


class ReviewError(RiskGraphError, ValueError):
    """A review action that cannot be done; `kind` is not_found, conflict or invalid."""

    def __init__(self, kind: str, message: str, **values: Any) -> None:
        super().__init__(message, **values)
        self.kind = kind


def item_id(label: str, key: str) -> str:
    return f"{label}:{key}"


@dataclass(frozen=True)
class Decision:
    """What a person decided about one fact, as the next load must respect it."""

    item: str
    status: str
    uscc: str | None
    excluded: frozenset[str]
    by: str | None
    #: the USCC and name the row wrote when the item was raised: a decision is about those
    written: tuple[str | None, str | None] = (None, None)


def decisions_for(store: GraphStore, label: str) -> dict[str, Decision]:
    """Every review item of facts of this class, by the fact's key."""
    rows = store.read(
        f"MATCH (r:{ident(REVIEW_ITEM)}) WHERE r.reviewedLabel = $label "
        "RETURN r.id AS id, r.reviewedKey AS k, r.reviewStatus AS s, r.decidedUscc AS u, r.excludedUsccs AS x, r.decidedBy AS b, "
        "r.writtenUscc AS wu, r.writtenName AS wn", {"label": label})
    return {str(r["k"]): Decision(r["id"], r["s"] or OPEN, r["u"], frozenset(r["x"] or ()), r["b"], (r["wu"], r["wn"]))
            for r in rows}


def apply_decision(resolution: Resolution, decision: Decision | None, query: Query | None = None) -> Resolution:
    """The loader's resolution after a person's decision: theirs wins; an excluded enterprise is never linked.
    A decision is about the USCC and name the row wrote then: once the source corrects either (`query`),
    it no longer applies, and the row is resolved afresh (raising the item again if a person must decide)."""
    if decision is None or query is not None and decision.status in DECIDED and decision.written != (query.uscc, query.name):
        return resolution
    if decision.status == LINKED and decision.uscc:
        return Resolution(decision.uscc, "review_decision", 1.0,
                          (f"decided in review item {decision.item} by {decision.by or 'a reviewer'}",), outcome=LINK,
                          candidates=resolution.candidates)
    if decision.status == REJECTED:
        return Resolution(None, "none", 0.0, (f"rejected in review item {decision.item} by {decision.by or 'a reviewer'}",),
                          ambiguous=True, outcome="review", candidates=resolution.candidates)
    if resolution.uscc in decision.excluded:
        return Resolution(None, "none", resolution.score,
                          (f"{resolution.uscc} was unlinked from this fact by a reviewer", *resolution.reasons),
                          ambiguous=True, outcome="review", candidates=resolution.candidates)
    return resolution


def with_event(history: str | None, event: dict[str, Any]) -> str:
    """An item's history (JSON) with one more action appended."""
    return json.dumps([*json.loads(history or "[]"), event], ensure_ascii=False)


def _by_load(action: str, **details: Any) -> dict[str, Any]:
    """A history entry for what a load did to an item."""
    return {"action": action, **details, "by": "load", "at": _now().isoformat()}


def written_fields(query: Query) -> str:
    fields = {"region": query.region, "address": query.address, "legalRepresentative": query.legal_rep,
              "phone": query.phone, "licence": query.licence}
    return json.dumps({k: v for k, v in fields.items() if v}, ensure_ascii=False, sort_keys=True)


def draft(label: str, key: str, resolution: Resolution, query: Query, facts: Mapping[str, Any]) -> dict[str, Any]:
    """The review item a load raises for one fact (without status or history, which a load never overwrites)."""
    candidates = [c.as_dict() for c in resolution.candidates]
    region = query.region or next((c.region for c in resolution.candidates if c.region), None)
    return {
        "id": item_id(label, key), "reviewedLabel": label, "reviewedKey": key, "writtenName": query.name,
        "writtenUscc": query.uscc, "writtenFields": written_fields(query), REGION_CODE: region,
        "candidates": json.dumps(candidates, ensure_ascii=False), "candidateUsccs": [c["uscc"] for c in candidates],
        "reviewReason": "; ".join(resolution.reasons) or None,
        "pendingFacts": json.dumps(facts, ensure_ascii=False, sort_keys=True, default=str) if facts else None,
    }


def write_items(store: GraphStore, label: str, drafts: list[dict[str, Any]], provenance: Mapping[str, dict[str, Any]],
                registry: str) -> None:
    """Raise or refresh review items: an open item takes the newer evidence; a decided one keeps its
    decision; one a load settled is raised again. `registry`: the registry state (`registry_state`)
    the drafts were resolved against."""
    if not drafts:
        return
    existing = {r["id"]: r for r in store.read(
        f"UNWIND $ids AS i MATCH (r:{ident(REVIEW_ITEM)} {{id: i}}) RETURN i AS id, r.reviewStatus AS s, "
        "r.writtenUscc AS wu, r.writtenName AS wn, r.history AS h, r.decidedUscc AS u", {"ids": [d["id"] for d in drafts]})}
    rows = []
    for d in drafts:
        known = existing.get(d["id"])
        status = known["s"] if known is not None else None
        row = {**d, **provenance.get(d["id"], {}), "registryState": registry}
        if known is None:
            row.update(reviewStatus=OPEN, history="[]")
        elif status == SETTLED:  # a load placed it; its row is in doubt again
            row.update(reviewStatus=OPEN, decidedUscc=None, history=with_event(known["h"], _by_load("raise")))
        elif status in DECIDED and (known["wu"], known["wn"]) != (d["writtenUscc"], d["writtenName"]):
            # decided about what the row wrote then; the source has corrected it since: decided again
            row.update(reviewStatus=OPEN, decidedUscc=None, history=with_event(known["h"], _reopened(known["u"], d)))
        elif status in DECIDED:
            row = {"id": d["id"], "pendingFacts": d["pendingFacts"], "registryState": registry}
        rows.append(row)
    _write_items(store, rows)
    store.upsert_relationships(REVIEWS, [{"from": d["id"], "to": d["reviewedKey"]} for d in drafts],
                               from_label=REVIEW_ITEM, to_label=label)


def _reopened(uscc: str | None, written: Mapping[str, Any]) -> dict[str, Any]:
    """The history entry of a decision a load reopens: the source writes another USCC or name now."""
    return _by_load("reopen", **({"from": uscc} if uscc else {}),
                    note=f"the source now writes {written['writtenUscc'] or '-'} {written['writtenName'] or '-'}")


@dataclass(frozen=True)
class Placed:
    """Where a load's last row of a fact in review put it (no item raised)."""

    #: the enterprise it names for certain; None: none (an optional enterprise it does not name, or
    #: one the registry does not hold)
    uscc: str | None
    #: the USCC and name that row writes: what a person's later decision is about
    written: tuple[str | None, str | None]
    #: what that row asserts about its enterprise (JSON), as the item's pendingFacts
    facts: str | None
    #: the item holds a person's decision about what the row wrote before the source corrected it
    #: (`apply_decision` no longer applies it): the load's placing replaces it
    overrides: bool = False
    #: the person's decision this row applies (it writes what was decided on): an earlier row of the
    #: same reading that reopened the item does not stand, so the decision is restored
    restores: Decision | None = None


def settle_items(store: GraphStore, label: str, placed: Mapping[str, Placed], registry: str) -> int:
    """The items of these facts after a load placed each (key → Placed): an open one placed on an
    enterprise is `settled` (history: settle by load), a settled one follows its fact to another
    enterprise, or back to open when its row names none now; each takes the row's written USCC,
    name and facts, so a person's later decision is about the row that stands. A person's decision
    is replaced only when it is about what the row wrote before the source corrected it. Returns how
    many were settled."""
    if not placed:
        return 0
    ids = {item_id(label, key): key for key in placed}
    items = store.read(f"UNWIND $ids AS i MATCH (r:{ident(REVIEW_ITEM)} {{id: i}}) "
                       "RETURN i AS id, r.reviewStatus AS s, r.history AS h, r.decidedUscc AS u",
                       {"ids": sorted(ids)})
    now = _now()
    rows, settled = [], 0
    for r in items:
        where = placed[ids[r["id"]]]
        if where.restores is not None:
            if r["s"] != where.restores.status:  # reopened by an earlier row of this reading
                decided = where.restores
                rows.append({"id": r["id"], "reviewStatus": decided.status, "decidedUscc": decided.uscc,
                             "decidedBy": decided.by, "writtenUscc": decided.written[0], "writtenName": decided.written[1],
                             "registryState": registry, "history": with_event(r["h"], _by_load(
                                 "restore", note="the row the decision is about stands last in the file"))})
            continue
        if r["s"] in DECIDED and not where.overrides:
            continue
        row: dict[str, Any] = {"id": r["id"], "writtenUscc": where.written[0], "writtenName": where.written[1],
                               "pendingFacts": where.facts, "registryState": registry}
        event = None
        if r["s"] in DECIDED and where.uscc is None:  # the corrected row names no enterprise: a person decides again
            event = _reopened(r["u"], row)
            row.update(reviewStatus=OPEN, decidedUscc=None)
        elif where.uscc is not None and (where.uscc != r["u"] or r["s"] in DECIDED):
            event = _by_load("settle", uscc=where.uscc)
            row.update(reviewStatus=SETTLED, decidedUscc=where.uscc, decidedBy="load", decidedAt=now)
            settled += 1
        elif where.uscc is None and r["s"] == SETTLED:  # its row names no enterprise for certain now
            event = _by_load("unsettle", **({"from": r["u"]} if r["u"] else {}))
            row.update(reviewStatus=OPEN, decidedUscc=None)
        if event is not None:
            row["history"] = with_event(r["h"], event)
        rows.append(row)
    _write_items(store, rows)
    return settled


def _write_items(store: GraphStore, rows: list[dict[str, Any]]) -> None:
    """Items written with their None values removed from the node (a row that no longer states one)."""
    store.upsert_nodes(REVIEW_ITEM, [{k: v for k, v in row.items() if v is not None} for row in rows])
    for prop in sorted({k for row in rows for k, v in row.items() if v is None}):
        ids = [row["id"] for row in rows if prop in row and row[prop] is None]
        store.execute(f"UNWIND $ids AS i MATCH (r:{ident(REVIEW_ITEM)} {{id: i}}) SET r.{ident(prop)} = null", {"ids": ids})


def drop_items(store: GraphStore, label: str, keys: Iterable[str]) -> set[str]:
    """Items a load raised and then, further down the same file, placed for certain: as a fresh load
    reading the file in one batch, it leaves no item — unless a person acted on it meanwhile (the
    review API takes no load lock), which its history tells. Returns the keys whose items went."""
    ids = [item_id(label, key) for key in keys]
    if not ids:
        return set()
    rows = store.execute(f"UNWIND $ids AS i MATCH (r:{ident(REVIEW_ITEM)} {{id: i}}) "
                         "WHERE r.reviewStatus = $open AND coalesce(r.history, '[]') = '[]' "
                         "WITH r, r.reviewedKey AS k DETACH DELETE r RETURN k", {"ids": ids, "open": OPEN})
    return {str(r["k"]) for r in rows}


@dataclass(frozen=True)
class Stale:
    """What a load does about one file's open items that were resolved against another registry."""

    #: records of the facts the registry may place now: their rows are read and written again,
    #: so that the loader places each fact as a fresh load would (and settles its item)
    records: frozenset[str] = frozenset()
    #: their line keys: read again, not passed over
    lines: frozenset[int] = frozenset()
    #: every stale item: stamped with today's registry once the file is loaded (`stamp`)
    items: tuple[str, ...] = ()


def stale_items(store: GraphStore, spec: FileSpec, source: str, registry: str, index: Callable[[], EnterpriseIndex],
                standing: Callable[[], Collection[int]], *, every: bool = False) -> Stale:
    """The open items this file's rows raised while the registry was in another state than
    `registry` (`load.registry_state`) — or, after a killed load of the file (`every`: it may have
    placed facts it never settled; the file is then read whole), every open or settled one —,
    resolved again from the last row of each fact that stands in the file (`standing`: the line keys
    of its last complete load, a row without a line key counting as standing; `last_standing`). A
    fact whose last row now resolves for certain (a person's exclusions still hold) is handed back to
    the loader to be written again; the others' items get today's candidates. A fact whose rows left
    the file is left as it is."""
    ent = spec.enterprise
    if ent is None:
        return Stale()
    label = spec.label
    items = store.read(
        f"MATCH (r:{ident(REVIEW_ITEM)}) WHERE r.reviewStatus IN $statuses AND r.reviewedLabel = $label "
        "AND r.sourceSystem = $source AND r.sourceFile = $path AND ($every OR coalesce(r.registryState, '') <> $registry) "
        "RETURN r.id AS id, r.reviewedKey AS k, r.excludedUsccs AS x, r.reviewStatus AS s ORDER BY k",
        {"statuses": [OPEN, SETTLED] if every else [OPEN], "label": label, "source": source, "path": spec.path,
         "registry": registry, "every": every})
    if not items:
        return Stale()
    # after a killed load the file is read whole (its line keys are gone): a row not in it is just not read
    lines = None if every else standing()
    key = ident(store.ontology.key_of(label))
    records: dict[str, list[dict[str, Any]]] = {}
    for part in batched([str(r["k"]) for r in items], 5000):
        # the WITH keeps FalkorDB's planner from starting at every SourceRecord (it filters them by file)
        rows = with_content(store, store.read(
            f"UNWIND $keys AS k MATCH (n:{ident(label)} {{{key}: k}}) "
            f"WITH n, k MATCH (n)-[:{ident(DERIVED_FROM)}]->(s:{ident(SOURCE_RECORD)}) "
            "WHERE s.sourceSystem = $source AND s.sourceFile = $path "
            f"RETURN k, s.id AS id, s.lineKey AS line, s.loadedAtMs AS at, s.rowNumber AS n, s.yieldedTo AS yielded, "
            f"{record_content('s')}",
            {"keys": list(part), "source": source, "path": spec.path}))
        for row in rows:
            records.setdefault(str(row["k"]), []).append(row)
    rewrite: set[str] = set()
    reread: set[int] = set()
    refreshed = []
    for item in items:
        mine = [r for r in records.get(str(item["k"]), [])
                if lines is None or r["line"] is None or int(r["line"], 16) in lines]
        last = last_standing(mine)
        if last is None:
            continue
        decision = Decision(item["id"], OPEN, None, frozenset(item["x"] or ()), None)
        query = record_query(ent, json.loads(last["raw"]))
        latest = apply_decision(index().match(query), decision, query)
        if latest.outcome == LINK and latest.uscc is not None:
            rewrite.update(str(r["id"]) for r in mine)
            reread.update(int(r["line"], 16) for r in mine if r["line"])
        else:  # the standing row's candidates, as today's registry gives them
            candidates = [c.as_dict() for c in latest.candidates]
            refreshed.append({"id": item["id"], "candidates": json.dumps(candidates, ensure_ascii=False),
                              "candidateUsccs": [c["uscc"] for c in candidates],
                              "reviewReason": "; ".join(latest.reasons) or None})  # the registry state: `stamp`
    store.upsert_nodes(REVIEW_ITEM, refreshed)
    return Stale(frozenset(rewrite), frozenset(reread), tuple(str(item["id"]) for item in items))


def last_standing(records: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """Of the records of one fact whose rows stand in its file, the one whose row stands last, as
    far as the records tell: not one that gave way to another of them (`yieldedTo`: a row written
    while a row of its fact stood later in the file), and of the rest the newest (the last row
    loaded, then the row furthest down)."""
    records = list(records)
    ids = {str(r["id"]) for r in records}
    free = [r for r in records if not any(entry.split(" ", 1)[-1] in ids for entry in r.get("yielded") or ())]
    return max(free or records, key=lambda r: (r.get("at") or 0, r.get("n") or 0), default=None)


def stamp(store: GraphStore, stale: Stale, registry: str) -> None:
    """After the file's load: its stale items were resolved against today's registry (an item whose
    rows no longer stand in the file is not tried again until the registry moves on)."""
    if stale.items:
        store.execute(f"UNWIND $ids AS i MATCH (r:{ident(REVIEW_ITEM)} {{id: i}}) SET r.registryState = $registry",
                      {"ids": list(stale.items), "registry": registry})


@dataclass(frozen=True)
class Subject:
    """How facts of one class hang off their enterprise, by their mapping."""

    label: str
    spec: FileSpec
    ent: EnterpriseSpec
    relation: str
    outgoing: bool


def subjects(store: GraphStore) -> dict[str, Subject]:
    out: dict[str, Subject] = {}
    for mapping in load_mappings(store.ontology).values():
        for spec in mapping.files:
            ent = spec.enterprise
            if ent is not None and ent.relation and spec.label not in out:
                out[spec.label] = Subject(spec.label, spec, ent, ent.relation, ent.outgoing)
    return out


def _now() -> dt.datetime:
    return dt.datetime.now(tz=LOCAL_TZ).replace(microsecond=0)


class ReviewService:
    """Review actions over one store. `index` gives a current EnterpriseIndex (for fresh candidates)."""

    def __init__(self, store: GraphStore, index: Callable[[], EnterpriseIndex] | None = None) -> None:
        self.store = store
        self.onto = store.ontology
        self._index = index or (lambda: EnterpriseIndex.from_store(store))
        self._subjects: dict[str, Subject] | None = None

    # ------------------------------------------------------------------ reading
    def subject(self, label: str) -> Subject:
        if self._subjects is None:
            self._subjects = subjects(self.store)
        found = self._subjects.get(label)
        if found is None:
            raise ReviewError("invalid", N_("{label} facts are not linked to enterprises by any source mapping"),
                                         label=label)
        return found

    def list_items(self, *, status: str | None = OPEN, prefixes: Iterable[str] | None = None, uscc: str | None = None,
             offset: int = 0, limit: int = 20) -> tuple[int, list[dict[str, Any]]]:
        """(total, items) newest load first; `prefixes` keeps items of those regions (an inspector's scope)."""
        if status is not None and status not in STATUSES:
            raise ReviewError("invalid", N_("status must be one of {STATUSES}"), STATUSES=', '.join(STATUSES))
        where = ["($status IS NULL OR r.reviewStatus = $status)",
                 "($prefixes IS NULL OR any(p IN $prefixes WHERE r.regionCode STARTS WITH p))",
                 "($uscc IS NULL OR $uscc IN r.candidateUsccs OR r.decidedUscc = $uscc)"]
        params = {"status": status, "prefixes": list(prefixes) if prefixes is not None else None, "uscc": uscc}
        label = ident(REVIEW_ITEM)
        total = self.store.read(f"MATCH (r:{label}) WHERE {' AND '.join(where)} RETURN count(r) AS c", params)[0]["c"]
        rows = self.store.read(
            f"MATCH (r:{label}) WHERE {' AND '.join(where)} "
            "WITH r ORDER BY coalesce(r.loadedAtMs, 0) DESC, r.id SKIP $skip LIMIT $limit RETURN properties(r) AS p",
            {**params, "skip": offset, "limit": limit})
        return int(total), [self._out(r["p"]) for r in rows]

    def get(self, item: str) -> dict[str, Any]:
        return self._out(self._props(item))

    def _props(self, item: str) -> dict[str, Any]:
        props = self.store.get_node(REVIEW_ITEM, item)
        if props is None:
            raise ReviewError("not_found", N_("review item {item}"), item=item)
        return props

    def _out(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """An item as the API shows it: JSON fields parsed, machine companions dropped."""
        out = {k: v for k, v in props.items() if not k.endswith((TIME_SUFFIX, TOKENS_SUFFIX))}
        for key in ("candidates", "history", "writtenFields", "pendingFacts"):
            if isinstance(out.get(key), str):
                out[key] = json.loads(out[key])
        out.setdefault("history", [])
        out.setdefault("candidates", [])
        return out

    def linked_to(self, label: str, key: str) -> list[str]:
        """The enterprises a fact hangs off now (one, unless something went wrong)."""
        s = self.subject(label)
        pattern = self._pattern(s)
        return [r["u"] for r in self.store.read(f"MATCH {pattern} RETURN e.{self._ekey} AS u", {"k": key})]

    @property
    def _ekey(self) -> str:
        return ident(self.onto.key_of(ENTERPRISE))

    def _pattern(self, s: Subject) -> str:
        node = f"(n:{ident(s.label)} {{{ident(self.onto.key_of(s.label))}: $k}})"
        rel = f"[r:{ident(s.relation)}]"
        return f"(e:{ident(ENTERPRISE)})-{rel}->{node}" if s.outgoing else f"{node}-{rel}->(e:{ident(ENTERPRISE)})"

    def _records(self, label: str, key: str) -> list[dict[str, Any]]:
        return with_content(self.store, self.store.read(
            f"MATCH (n:{ident(label)} {{{ident(self.onto.key_of(label))}: $k}})-[:{ident(DERIVED_FROM)}]->"
            f"(s:{ident(SOURCE_RECORD)}) RETURN s.id AS id, {record_content('s')}, s.loadedAtMs AS at, "
            "s.sourceSystem AS sourceSystem, s.sourceFile AS sourceFile, s.rowNumber AS n, s.yieldedTo AS yielded "
            "ORDER BY at DESC, n DESC, id", {"k": key}))

    # ------------------------------------------------------------------ deciding
    def link(self, item: str, uscc: str, *, by: str, note: str | None = None) -> dict[str, Any]:
        """Decide: the fact is about this enterprise."""
        props = self._props(item)
        label, key = props["reviewedLabel"], props["reviewedKey"]
        if self.store.get_node(ENTERPRISE, uscc) is None:
            raise ReviewError("invalid", N_("no enterprise {uscc} is registered"), uscc=uscc)
        s = self.subject(label)
        self._unlink_all(s, key)  # what the enterprise it was on took from it goes back (a load's link, a person's)
        method = json.dumps({"method": "review_decision", "item": item, "by": by, "uscc": uscc}, ensure_ascii=False)
        self._attach(s, key, uscc, json.loads(props.get("pendingFacts") or "{}"), method)
        excluded = [u for u in props.get("excludedUsccs") or [] if u != uscc]
        return self._update(props, {"reviewStatus": LINKED, "decidedUscc": uscc, "excludedUsccs": excluded},
                            {"action": "link", "uscc": uscc}, by, note)

    def reject(self, item: str, *, by: str, note: str | None = None) -> dict[str, Any]:
        """Decide: none of the candidates; the fact stays loaded without an enterprise."""
        props = self._props(item)
        s = self.subject(props["reviewedLabel"])
        previous = self._unlink_all(s, props["reviewedKey"])
        excluded = sorted(set(props.get("excludedUsccs") or []) | set(previous))
        return self._update(props, {"reviewStatus": REJECTED, "decidedUscc": None, "excludedUsccs": excluded},
                            {"action": "reject", **({"from": previous} if previous else {})}, by, note)

    def reopen(self, item: str, *, by: str, note: str | None = None) -> dict[str, Any]:
        """Undo a decision: the item waits for a person again (a linked fact is unlinked). Reopening
        what a load settled doubts the load's link: that enterprise is no longer linked automatically."""
        props = self._props(item)
        s = self.subject(props["reviewedLabel"])
        previous = self._unlink_all(s, props["reviewedKey"])
        changes: dict[str, Any] = {"reviewStatus": OPEN, "decidedUscc": None}
        if props.get("reviewStatus") == SETTLED:
            changes["excludedUsccs"] = sorted(set(props.get("excludedUsccs") or []) | set(previous))
        return self._update(props, changes,
                            {"action": "reopen", **({"from": previous} if previous else {})}, by, note)

    def unlink(self, label: str, key: str, *, by: str, note: str | None = None, action: str = "unlink") -> dict[str, Any]:
        """Take a fact off its enterprise and back into review; that enterprise is excluded from now on."""
        s = self.subject(label)
        if self.store.get_node(label, key) is None:
            raise ReviewError("not_found", N_("{label} {key}"), label=class_term(label), key=key)
        previous = self._unlink_all(s, key)
        if not previous:
            raise ReviewError("conflict", N_("{label} {key} is not linked to an enterprise"),
                                          label=class_term(label), key=key)
        item = item_id(label, key)
        props = self.store.get_node(REVIEW_ITEM, item)
        records = self._records(label, key)
        row = last_standing(records)  # the row a later load resolves, and a decision is about
        resolution, query, facts = self._fresh(s, row)
        raised = draft(label, key, resolution, query, facts)
        if props is None:  # the row it comes from, as a load's item has it: later loads resolve it again
            origin = {k: row[k] for k in ("sourceSystem", "sourceFile") if row and row.get(k)} | \
                ({"rowNumber": row["n"]} if row and row.get("n") else {})
            props = {**raised, **origin, "reviewStatus": OPEN, "history": "[]"}
            self.store.upsert_nodes(REVIEW_ITEM, [props])
            self.store.upsert_relationships(REVIEWS, [{"from": item, "to": key}], from_label=REVIEW_ITEM, to_label=label)
        excluded = sorted(set(props.get("excludedUsccs") or []) | set(previous))
        changes = {k: v for k, v in raised.items() if k not in ("id",)}
        changes.update(reviewStatus=OPEN, decidedUscc=None, excludedUsccs=excluded)
        return self._update(props, changes, {"action": action, "from": previous}, by, note)

    def split(self, uscc: str, facts: list[tuple[str, str]], *, by: str, note: str | None = None,
              to: str | None = None) -> list[dict[str, Any]]:
        """Split a merge: these facts are not about `uscc`; each goes back to review, or to `to`."""
        if not facts:
            raise ReviewError("invalid", N_("name at least one fact to split off"))
        wrong = [f"{label} {key}" for label, key in facts if uscc not in self.linked_to(label, key)]
        if wrong:
            raise ReviewError("conflict", N_("not linked to {uscc}: {wrong}"), uscc=uscc, wrong=', '.join(wrong))
        if to is not None and (to == uscc or self.store.get_node(ENTERPRISE, to) is None):
            raise ReviewError("invalid", N_("cannot move the facts to {to!r}: not another registered enterprise"),
                                         to=to)
        out = []
        for label, key in facts:
            item = self.unlink(label, key, by=by, note=note, action="split")
            if to is not None:
                item = self.link(item["id"], to, by=by, note=note)
            out.append(item)
        return out

    # ------------------------------------------------------------------ graph changes
    def _fresh(self, s: Subject, record: Mapping[str, Any] | None) -> tuple[Resolution, Query, dict[str, Any]]:
        """Candidates for the fact, recomputed from the row that stands, and what that row asserts
        about its enterprise, normalised as a load normalises it (a bad value is left out)."""
        raw = json.loads(record["raw"]) if record else {}
        query = record_query(s.ent, raw)
        ctx = FieldContext(ontology=self.onto, today=_now().date())
        facts: dict[str, Any] = {}
        for f in s.ent.fields:
            try:
                value = normalise(f, ENTERPRISE, raw_value(f, raw), ctx)
            except RowError:
                continue
            if value is not None:
                facts[f.prop] = value
        return self._index().match(query), query, facts

    def _detach(self, s: Subject, key: str) -> list[str]:
        rows = self.store.execute(f"MATCH {self._pattern(s)} DELETE r RETURN e.{self._ekey} AS u", {"k": key})
        return sorted({r["u"] for r in rows})

    def _attach(self, s: Subject, key: str, uscc: str, pending: dict[str, Any], method: str) -> None:
        """Link the fact to `uscc` with what its rows assert about it; `method`: the records' matchMethod."""
        pair = {"from": uscc, "to": key} if s.outgoing else {"from": key, "to": uscc}
        src, dst = (ENTERPRISE, s.label) if s.outgoing else (s.label, ENTERPRISE)
        self.store.upsert_relationships(s.relation, [pair], from_label=src, to_label=dst)
        node = self.store.get_node(s.label, key) or {}
        if self.onto.is_a(s.label, "GeoFeature") and REGION_CODE in self.onto.properties_of(s.label) and not node.get(REGION_CODE):
            region = (self.store.get_node(ENTERPRISE, uscc) or {}).get(REGION_CODE)
            if region:  # it lies where its enterprise is, linked to its region as a load links it
                self.store.upsert_nodes(s.label, [{self.onto.key_of(s.label): key, REGION_CODE: region}])
                for link in self._region_links(s):
                    pair = {"from": key, "to": region} if link.outgoing else {"from": region, "to": key}
                    self.store.upsert_relationships(link.rel_type, [pair], from_label=s.label if link.outgoing else link.other,
                                                    to_label=link.other if link.outgoing else s.label)
        records = self._records(s.label, key)
        updates = []
        for rec in records:
            facts = json.loads(rec["facts"] or "{}")
            if pending:
                facts[f"{ENTERPRISE}:{uscc}"] = pending
            updates.append({"id": rec["id"], "facts": json.dumps(facts, ensure_ascii=False, sort_keys=True), "matchMethod": method})
        self.store.upsert_nodes(SOURCE_RECORD, updates)
        if pending:
            self._fill_gaps(uscc, pending)
            self.store.upsert_relationships(DERIVED_FROM, [{"from": uscc, "to": rec["id"]} for rec in records],
                                            from_label=ENTERPRISE, to_label=SOURCE_RECORD)

    def _fill_gaps(self, uscc: str, facts: dict[str, Any]) -> None:
        """As a load would: the facts fill gaps, never override; a disagreement is flagged."""
        before = self.store.get_node(ENTERPRISE, uscc) or {}
        encoded = encode_properties(self.onto, ENTERPRISE, facts)
        update: dict[str, Any] = {self.onto.key_of(ENTERPRISE): uscc}
        flags = set(before.get("dataQuality") or [])
        for prop, value in facts.items():
            if before.get(prop) is None:
                update[prop] = value
            elif before.get(prop) != encoded.get(prop):
                flags.add(f"conflict:{prop}")
        if flags != set(before.get("dataQuality") or []):
            update["dataQuality"] = sorted(flags)
        self.store.upsert_nodes(ENTERPRISE, [update])

    def _unlink_all(self, s: Subject, key: str) -> list[str]:
        """Detach the fact from every enterprise, and take back what it told them."""
        previous = self._detach(s, key)
        if not previous:
            return []
        records = self._records(s.label, key)
        for uscc in previous:
            self._take_back(uscc, records)
        self._drop_inherited_region(s, key, records)
        return previous

    def _take_back(self, uscc: str, records: list[dict[str, Any]]) -> None:
        """Facts these records gave the enterprise, unless another record of it says the same."""
        ids = [r["id"] for r in records]
        asserted: dict[str, Any] = {}
        for rec in records:
            asserted.update(json.loads(rec["facts"] or "{}").get(f"{ENTERPRISE}:{uscc}", {}))
        ekey = self._ekey
        self.store.execute(
            f"MATCH (e:{ident(ENTERPRISE)} {{{ekey}: $u}})-[d:{ident(DERIVED_FROM)}]->(s:{ident(SOURCE_RECORD)}) "
            "WHERE s.id IN $ids DELETE d", {"u": uscc, "ids": ids})
        if not asserted:
            return
        others = [json.loads(r["facts"] or "{}").get(f"{ENTERPRISE}:{uscc}", {}) for r in with_content(self.store, self.store.read(
            f"MATCH (e:{ident(ENTERPRISE)} {{{ekey}: $u}})-[:{ident(DERIVED_FROM)}]->(s:{ident(SOURCE_RECORD)}) "
            f"RETURN {record_content('s')}", {"u": uscc}))]
        node = self.store.get_node(ENTERPRISE, uscc) or {}
        current = encode_properties(self.onto, ENTERPRISE, {p: v for p, v in asserted.items() if p in self.onto.properties_of(ENTERPRISE)})
        flags = set(node.get("dataQuality") or [])
        for prop in asserted:
            said = [o[prop] for o in others if prop in o]
            if not said and node.get(prop) == current.get(prop):
                self.store.execute(
                    f"MATCH (e:{ident(ENTERPRISE)} {{{ekey}: $u}}) "
                    + " ".join(f"SET e.{ident(p)} = null" for p in (prop, prop + TIME_SUFFIX, prop + TOKENS_SUFFIX)
                               if p in self.onto.stored_names(ENTERPRISE)),  # only the companions it has
                    {"u": uscc})
            disagreeing = [v for v in said if encode_properties(self.onto, ENTERPRISE, {prop: v}).get(prop) != node.get(prop)]
            if not disagreeing:
                flags.discard(f"conflict:{prop}")
        if flags != set(node.get("dataQuality") or []):
            self.store.execute(f"MATCH (e:{ident(ENTERPRISE)} {{{ekey}: $u}}) SET e.dataQuality = $f",
                               {"u": uscc, "f": sorted(flags)})

    def _drop_inherited_region(self, s: Subject, key: str, records: list[dict[str, Any]]) -> None:
        """A located fact whose own row gave no region took its enterprise's: it no longer applies."""
        if not self.onto.is_a(s.label, "GeoFeature"):
            return
        spec_field = s.spec.field(REGION_CODE)
        row = last_standing(records)
        raw = json.loads(row["raw"]) if row else {}
        if spec_field is not None and raw_value(spec_field, raw) is not None:
            return
        node = f"(n:{ident(s.label)} {{{ident(self.onto.key_of(s.label))}: $k}})"
        self.store.execute(f"MATCH {node} SET n.{ident(REGION_CODE)} = null", {"k": key})
        for link in self._region_links(s):
            rel = f"[r:{ident(link.rel_type)}]"
            self.store.execute(f"MATCH {node}{'-' + rel + '->' if link.outgoing else '<-' + rel + '-'}(:{ident(link.other)}) DELETE r",
                               {"k": key})

    @staticmethod
    def _region_links(s: Subject) -> list[LinkSpec]:
        """The links the fact's mapping makes from its region code (an accident's LOCATED_IN)."""
        return [link for link in s.spec.links if link.field == REGION_CODE]

    def _update(self, props: Mapping[str, Any], changes: dict[str, Any], event: dict[str, Any], by: str,
                note: str | None) -> dict[str, Any]:
        now = _now()
        entry = {**event, "by": by, "at": now.isoformat(), **({"note": note} if note else {})}
        _write_items(self.store, [{"id": props["id"], **changes, "history": with_event(props.get("history"), entry),
                                   "decidedBy": by, "decidedAt": now}])
        return self.get(props["id"])


def _check() -> None:
    onto = load_ontology()
    onto.check_label(REVIEW_ITEM)
    onto.relation(REVIEWS)


_check()
