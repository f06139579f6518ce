"""Load one export folder into the graph by its mappings: clean, resolve, keep provenance, lose nothing.

Per batch of rows, in this order so that a kill -9 at any point followed by a rerun gives the
same graph as an uninterrupted load:
1. change events for facts the rows change (deterministic ids: rewriting them is harmless);
2. the row nodes, their enterprise relationships, enterprise facts and links (idempotent MERGEs);
3. last, the rows' SourceRecords with their content hash and their DERIVED_FROM links, in one
   statement — a row whose record exists, linked, with the same hash is skipped next time, so a
   row is only "done" once everything it wrote is written.
Rejected rows become QuarantinedRow nodes with a reason code, written the same way.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import unicodedata
from array import array
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import batched, groupby
from pathlib import Path
from typing import Any, cast

import numpy as np

from riskgraph.graph.dialect import ident
from riskgraph.graph.env import env_int
from riskgraph.graph.packed_content import Packer, dictionary_kind, record_content, with_content
from riskgraph.graph.shared_values import ROW_PARTS, created_map, shared_groups
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import encode_properties
from riskgraph.loaders import positions
from riskgraph.loaders.fields import FieldContext, normalise, raw_value, signed_variant
from riskgraph.loaders.line_keys import LineKeys
from riskgraph.loaders.locate import placed_by
from riskgraph.loaders.mapping import EnterpriseSpec, FieldSpec, FileSpec, LinkSpec, SourceMapping
from riskgraph.loaders.matching.records import Query
from riskgraph.loaders.normalise.errors import RowError
from riskgraph.loaders.normalise.regions import county_near, prefetch_regions, region_table
from riskgraph.loaders.normalise.uscc import Uscc
from riskgraph.loaders.readers import KnownRows, SourceFileError, SourceRow, read_rows
from riskgraph.loaders.resolve import REVIEW, EnterpriseIndex, Resolution, match_method, record_query
from riskgraph.loaders.review import (
    DECIDED,
    OPEN,
    SETTLED,
    Decision,
    Placed,
    apply_decision,
    decisions_for,
    draft,
    drop_items,
    settle_items,
    write_items,
)
from riskgraph.ontology.anchors import CHANGE_EVENT, DERIVED_FROM, ENTERPRISE, PUBLIC_REPORT, QUARANTINED_ROW, SOURCE_RECORD
from riskgraph.ontology.errors import N_, as_message
from riskgraph.ontology.model import TIME_SUFFIX, TOKENS_SUFFIX

#: rows normalised and written together. Large because a part of what a statement costs the embedded
#: store does not depend on its rows and grows with the graph (`benchmarks/edge_statements.py`): a
#: first load of 20,000 enterprises cost the store 193 CPU-s in batches of 1,000 rows, 154 in
#: batches of 5,000 (its loader 45 MB more)
BATCH_ROWS = 5_000
#: the environment variable that sets another size (smaller: less held in memory, more store work)
ENV_BATCH_ROWS = "RISKGRAPH_LOAD_BATCH_ROWS"
#: quarantine reasons that depend on other data (a target or enterprise that may have arrived
#: since), not on the row alone: a skipped file's rows held for these are tried again
RETRYABLE = ("orphan_reference", "unresolved_entity")
#: records, keys or rows sent in one statement where their number is not bounded by a batch
_CHUNK = 5_000
#: provenance a review item keeps of the row that raised it
_ITEM_PROVENANCE = ("sourceSystem", "sourceFile", "rowNumber", "loadId", "loadedAt")


@dataclass
class FileStats:
    source: str
    file: str
    read: int = 0
    loaded: int = 0
    merged: int = 0       # rows whose enterprise was found by name rather than by its USCC
    review: int = 0       # rows loaded without an enterprise until a person decides which
    settled: int = 0      # open review items whose fact this load placed for certain (loaders/review.py)
    unchanged: int = 0    # rows already loaded with the same content
    changes: int = 0      # facts changed by a newer export
    quarantined: Counter = field(default_factory=Counter)
    #: the file could not be read (whole or from some point on): why, naming the file
    error: str | None = None
    #: columns the mapping reads that the file's header lacks (their values are empty)
    warnings: list[str] = field(default_factory=list)
    #: the file is byte for byte the one an earlier load read whole, under the same mapping and
    #: review decisions: its rows were not read (they count as unchanged), only its quarantined
    #: rows that wait on other data were tried again
    skipped: bool = False

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())


@dataclass
class Prepared:
    row: SourceRow
    digest: str
    props: dict[str, Any] = field(default_factory=dict)
    key: str = ""
    resolution: Resolution | None = None
    review: dict[str, Any] | None = None  # the review item the row raises (loaded without an enterprise)
    enterprise_facts: dict[str, Any] = field(default_factory=dict)
    links: list[tuple[LinkSpec, list[str]]] = field(default_factory=list)
    extra_nodes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    error: RowError | None = None
    #: an earlier load wrote this row's SourceRecord (maybe without its links): it is merged, not created
    recorded: bool = False
    #: all the row stated, when `props` keeps only what no later row of its node states (`_yield_to_later_rows`)
    stated: dict[str, Any] | None = None
    #: those later rows, as (record id, line key): the record keeps them (`yieldedTo`)
    yielded_to: list[tuple[str, str | None]] = field(default_factory=list)
    #: a row of its node stands later in the file: that row says which enterprise the node is
    #: about, or raises its review item; this one neither links nor raises (`_yield_to_later_rows`)
    followed: bool = False
    #: the USCC and name the row writes for its enterprise (a review decision is about them)
    written: tuple[str | None, str | None] = (None, None)
    #: the records of this file that fed its node, as (record id, line key), when its own record
    #: exists (`_existing` reads them with it)
    siblings: list[tuple[str, str | None]] | None = None
    #: its SourceRecord, packed and encoded, made while the batch before was written (`_make_records`);
    #: None until then, and again if writing changes what the row states
    record: dict[str, Any] | None = None
    #: the targets of its optional links the graph does not hold ('<type> <label> <key>', `missingTargets`):
    #: later loads link them once they are there (`_link_late_targets`)
    missing: list[str] = field(default_factory=list)


def batch_rows() -> int:
    """Rows a batch: $RISKGRAPH_LOAD_BATCH_ROWS, else BATCH_ROWS."""
    return env_int(ENV_BATCH_ROWS, BATCH_ROWS)


def required_columns(spec: FileSpec) -> list[tuple[str, tuple[str, ...]]]:
    """What the header must have, as (what it is for, columns any one of which will do): the key's
    columns, required fields' columns and the columns that name the row's enterprise."""
    needed: list[tuple[str, tuple[str, ...]]] = []
    for f in spec.fields:
        if f.prop != spec.key and not f.required:
            continue
        what = f"{f.prop}" + (f", the key of {spec.label}" if f.prop == spec.key else ", a required field")
        if f.type in ("compose", "sum"):
            optional = set(f.options.get("optional", ()))
            needed += [(what, (c,)) for c in f.columns if c not in optional]
        else:
            needed.append((what, f.columns))
    ent = spec.enterprise
    if ent is not None and ent.required:
        needed += [("the enterprise the row is about", (c,)) for c in (ent.uscc, ent.name) if c]
    return needed


def check_header(spec: FileSpec, warnings: list[str]) -> Callable[[list[str]], str | None]:
    """A reader's header check for this file: a missing required column refuses the file (the
    message says which and what for); a missing optional one is noted in `warnings`."""
    def check(header: list[str]) -> str | None:
        present = set(header)
        missing = [f"{' or '.join(cols)} ({what})" for what, cols in required_columns(spec) if not present & set(cols)]
        if missing:
            return "the header has no column " + "; no column ".join(missing) + f" — it has: {', '.join(header)}"
        for f in spec.fields:
            if not present & set(f.columns) and not (f.type in ("compose", "sum") and present & set(f.columns)):
                note = f"no column {' or '.join(f.columns)}: {f.prop} is empty in every row"
                if note not in warnings:
                    warnings.append(note)
        return None
    return check


def file_decisions(store: GraphStore, spec: FileSpec) -> dict[str, Decision]:
    """People's review decisions about the facts of this file's class (none: it names no enterprise)."""
    return decisions_for(store, spec.label) if spec.enterprise is not None else {}


def mapping_version(spec: FileSpec, decisions: dict[str, Decision]) -> str:
    """The mapping version a file is recorded with: its mapping (columns, types, options, links)
    and the review decisions made about its class — a change to either changes what its unchanged
    rows give, so the file is read again. Open review items are not decisions."""
    decided = sorted((key, d.status if d.status in DECIDED else OPEN, d.uscc or "" if d.status in DECIDED else "",
                      sorted(d.excluded)) for key, d in decisions.items() if d.status in DECIDED or d.excluded)
    text = json.dumps([repr(spec), decided], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def row_digest(row: SourceRow) -> str:
    return hashlib.sha256(json.dumps(row.values, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:32]


class FileLoader:
    """Loads one mapped file. The engine makes one per file, in the mappings' order."""

    def __init__(self, store: GraphStore, mapping: SourceMapping, spec: FileSpec, ctx: FieldContext,
                 index: EnterpriseIndex | Callable[[], EnterpriseIndex], load_id: str, loaded_at: dt.datetime,
                 decisions: dict[str, Decision] | None = None, loaded_before: bool = False,
                 dangling: Collection[str] = (), registry: str = "", rewrite: Collection[str] = ()) -> None:
        self.store = store
        self.onto = store.ontology
        self.mapping = mapping
        self.spec = spec
        self.ctx = ctx
        #: the registry's matching index, or how to build it on the first row that asks (an IoT feed's never
        #: does: built for a one-line feed it took 21 of 33 s at 50,000 enterprises)
        self._index = index
        self.load_id = load_id
        self.loaded_at = loaded_at
        self.stats = FileStats(mapping.source, spec.path)
        #: each digest read: the row its first copy is (a later copy is a duplicate_row) and where that stands
        self._seen: dict[str, tuple[int, int]] = {}
        #: record id → (record id, line key) of each newer record of its node from this file (`_existing`)
        self._superseded: dict[str, list[tuple[str, str | None]]] = {}
        self._deferred: list[Prepared] = []    # rows of superseded records, settled at the file's end
        #: ids of records that miss an optional link's target, written or read in this reading
        self._missing_seen: list[str] = []
        #: ids of this file's records whose rows stand in it and still miss an optional link's target,
        #: once the file is read (`_link_late_targets`): the ledger's `danglingRows`, tried by every load
        self.dangling: list[str] = []
        #: rows with another row of their node that has no line (`_yield_to_later_rows`), written at the file's end
        self._unplaced: list[Prepared] = []
        self._read_whole = False               # the file's end was reached: every row that stands in it was read
        #: `retry_held` found a held row that loads now: the file must be read (`renewed`) to place it
        self.needs_reading = False
        self._forced: set[str] = set()         # record ids to write again although recorded
        #: whether a complete load of the file came before: only then may its records stand in it
        self.loaded_before = loaded_before
        #: the records that load left missing an optional link's target (the ledger's `danglingRows`)
        self._dangling_before = tuple(dangling)
        #: the keys of this reading's lines, by index (from the reader): where a node's other rows stand
        self._lines: LineKeys | None = None
        #: keys of lines passed over or read that a later row of their node overrode in this load:
        #: kept out of the ledger, so the next load reads them (their node may need them back)
        self._overridden: set[int] = set()
        #: each row written in this reading that has a line key: its node (hashed), where it stands and
        #: its line's key — a node's rows written in one reading override each other in file order,
        #: which the store cannot say until they are written (`_overridden_in_reading`)
        self._written_nodes, self._written_at, self._written_lines = array("q"), array("q"), array("Q")
        #: QuarantinedRow ids of this file's rows held for a RETRYABLE reason (recorded with the file)
        self.held: list[str] = []
        #: line keys (loaders/line_keys.py) of the rows this reading found loaded or loaded itself:
        #: what the file's ledger keeps, so the next load passes over those lines unread
        self.line_keys: list[int] = []
        self._pending = 0  # rows of the batch being written
        self.batch_rows = batch_rows()
        self._located = self.onto.is_a(spec.label, "GeoFeature")
        #: the enterprises whose point the rows written may have moved (`locate.placed_by`), placed again after the load
        self.placed: set[str] = set()
        self._places = placed_by(self.onto, spec)
        #: fields whose text may be an address to resolve to a region
        self._region_fields = [f for f in (*spec.fields, *(f for n in spec.nodes for f in n.fields),
                                           *(spec.enterprise.fields if spec.enterprise else ())) if f.type == "region"]
        #: people's decisions about this class's facts, which every load applies
        self.decisions = decisions if decisions is not None else file_decisions(store, spec)
        #: the registry state the rows are resolved against (`load.registry_state`), kept on their review items
        self.registry = registry
        #: keys of the facts whose rows raised a review item in this reading
        self._raised: set[str] = set()
        #: facts in review: where the last row written of each placed it (None: it raised the item again)
        self._review_outcome: dict[str, Placed | None] = {}
        #: recorded rows read from another line than their record's (`_repeats_passed_over`): the
        #: records' line keys are moved to the line their row stands on now, when a batch is written.
        #: A deque: found while the batch before is written, taken by the writing thread
        self._relocated: deque[dict[str, str]] = deque()
        #: records whose rows are written again although recorded: facts in review that the registry
        #: may place now (`review.stale_items`)
        self._rewrite = frozenset(rewrite)
        #: the rows' raw values and facts are kept deflated against the file's dictionary
        kind = dictionary_kind(SOURCE_RECORD, {"sourceSystem": mapping.source, "sourceFile": spec.path})
        self._packer = Packer(store, SOURCE_RECORD, str(kind), load_id=load_id, loaded_at=loaded_at)

    @property
    def index(self) -> EnterpriseIndex:
        if not isinstance(self._index, EnterpriseIndex):
            self._index = self._index()
        return self._index

    # ------------------------------------------------------------------ preparing rows
    def prepare(self, row: SourceRow) -> Prepared:
        """One row digested and normalised (load_batch does this for many rows at once)."""
        prepared = self._shell(row)
        self._normalise(prepared)
        return prepared

    def _shell(self, row: SourceRow) -> Prepared:
        """The row with its digest; a repeat of an earlier row of the file is a duplicate_row."""
        prepared = Prepared(row=row, digest=row_digest(row), flags=list(row.flags))
        first, _ = self._seen.setdefault(prepared.digest, (row.repeats or row.number, _position(row)))
        if first != row.number:
            prepared.error = RowError("duplicate_row", N_("repeats row {first} exactly"), first=first)
        return prepared

    def _normalise(self, prepared: Prepared) -> None:
        if prepared.error is not None:
            return
        try:
            self._fill(prepared)
        except RowError as exc:
            # kept without its traceback: its frames hold the whole batch in a reference cycle, which
            # only a full collection frees — 93,000 objects a time at 2,000 enterprises
            prepared.error = exc.with_traceback(None)

    def load_batch(self, rows: list[SourceRow]) -> None:
        """Rows in bulk: digest them, skip those an earlier load recorded before normalising
        anything (the costly part), normalise the rest with their addresses resolved in one
        call, and write them. People's review decisions need no unchanged row read again: a
        decision is applied to the graph when it is made (`review.py`), and a recorded row is
        never written again; a changed row is normalised with the decisions applied."""
        self.write(*self._prepare_batch(rows))

    def _prepare_batch(self, rows: list[SourceRow]) -> tuple[list[Prepared], tuple[set[str], set[str]], int]:
        """Everything of load_batch before writing: it reads the graph, writes nothing and counts
        nothing (the rows it skips as unchanged are counted by write), so it may run while the
        batch before is being written."""
        shells = [self._shell(row) for row in rows]
        loaded, quarantined = self._existing(shells)
        fresh: list[Prepared] = []
        recorded: list[Prepared] = []  # loaded by an earlier load: skipped before normalising
        for p in shells:
            skip = p.error is None and self._record_id(p) in loaded
            (recorded if skip else fresh).append(p)
        self._keep_keys(recorded)
        prefetch_regions(self._addresses(fresh))
        for p in fresh:
            self._normalise(p)
        self._packer.look()  # the file's dictionary, if a load made it before: then this batch's records are made here
        if self._packer.settled:  # packing asks the store nothing more: the records are made here too
            self._make_records([p for p in fresh if p.error is None])
        return fresh, (loaded, quarantined), len(recorded)

    def _addresses(self, batch: list[Prepared]) -> list[str]:
        """The texts of the batch that normalising will look up as addresses (cpca-new)."""
        fields = [f for f in self._region_fields if f.columns]
        ent = self.spec.enterprise
        out = []
        for p in batch:
            values = p.row.values
            for f in fields:
                raw = raw_value(f, values)
                text = unicodedata.normalize("NFKC", raw).strip() if raw is not None else ""
                if text and not (text.isdigit() and len(text) == 6):  # a code is no address
                    out.append(text)
            if ent is not None and ent.region_column:
                authority = values.get(ent.region_column)
                if authority is not None and str(authority).strip():
                    out.append(str(authority).strip())
        return out

    def _values(self, fields: tuple[FieldSpec, ...], label: str, p: Prepared) -> dict[str, Any]:
        """Normalise fields; a bad secondary value (invalid: flag) is dropped and flagged, else the row fails."""
        values: dict[str, Any] = {}
        for f in fields:
            try:
                values[f.prop] = normalise(f, label, raw_value(f, p.row.values), self.ctx)
            except RowError as exc:
                if exc.reason == "out_of_range" and (signed := signed_variant(f, p.row.values)) is not None:
                    values[f.prop] = normalise(signed, label, raw_value(f, p.row.values), self.ctx)
                    continue
                if f.options.get("invalid") != "flag" or exc.reason == "missing_required":
                    raise
                values[f.prop] = None
                p.flags.append(f"{exc.reason}:{f.prop}")
        # fields of one group (a coordinate pair) are kept or dropped together
        for f in fields:
            group = f.options.get("group")
            if group and any(values.get(g.prop) is None and g.options.get("group") == group for g in fields):
                values[f.prop] = None
        positions.settle(fields, values)  # GCJ-02 / BD-09 → WGS 84; how an enterprise's point was found
        return values

    def _fill(self, p: Prepared) -> None:
        spec = self.spec
        values = self._values(spec.fields, spec.label, p)
        if spec.label == ENTERPRISE:
            key_value: Any = self._enterprise_key(values, p)
        else:
            key_value = values.get(spec.key)
            if key_value is None:
                raise RowError("missing_required", N_("no {key}"), spec.key, key=spec.key)
        p.key = str(key_value)
        values[spec.key] = p.key
        if spec.enterprise is not None:
            self._resolve_enterprise(spec.enterprise, values, p)
        if spec.label == PUBLIC_REPORT and values.get("regionCode") is None and values.get("lon") is not None \
                and values.get("lat") is not None:  # a citizen's report is where it was made: its county is routed it
            county = county_near(float(values["lon"]), float(values["lat"]))
            if county is not None:
                values["regionCode"], values["regionBasis"] = county, "coordinates"
        for node in spec.nodes:
            node_values = self._values(node.fields, node.label, p)
            if node_values.get(node.key) is not None:
                p.extra_nodes.append((node.label, {k: v for k, v in node_values.items() if v is not None}))
        for link in spec.links:
            if link.when and (p.row.values.get(link.when[0]) or "").strip() != link.when[1]:
                continue
            target = values.get(link.field) if link.field else p.row.values.get(link.column or "")
            if target is None or not str(target).strip():
                continue
            text = unicodedata.normalize("NFKC", str(target)).strip()
            keys = [k.strip() for k in text.split("|") if k.strip()] if link.many else [text]
            p.links.append((link, keys))
        if p.flags:
            values["dataQuality"] = sorted(set(values.get("dataQuality") or []) | set(p.flags))
        p.props = {k: v for k, v in values.items() if v is not None}

    def _enterprise_key(self, values: dict[str, Any], p: Prepared) -> str:
        """A registry row's USCC; a malformed or blank one is resolved by name + region, or rejected."""
        code = values.get("uscc")
        if isinstance(code, Uscc):
            values["usccQuality"] = code.quality
            if code.quality == "legacy":
                p.flags.append("uscc_legacy_check:uscc")
            if values.get("regionCode") is None and code.region_code in region_table():
                values["regionCode"] = code.region_code
            return code.code
        if not values.get("name"):
            raise RowError("missing_required", N_("neither a 统一社会信用代码 nor a name"), "uscc")
        resolution = self.index.match(Query(name=values.get("name"), region=values.get("regionCode"),
                                            address=values.get("address"), legal_rep=values.get("legalRepresentative")))
        if not resolution.resolved or resolution.uscc is None:
            raise RowError("unresolved_entity", N_("no valid 统一社会信用代码 and no unique registry match: {reasons}"), "uscc",
                           reasons="; ".join(resolution.reasons))
        p.resolution = resolution
        return resolution.uscc

    def _resolve_enterprise(self, ent: EnterpriseSpec, values: dict[str, Any], p: Prepared) -> None:
        """Which registered enterprise the row is about; the reason code says why not, if none."""
        query = record_query(ent, p.row.values)
        p.written = (query.uscc, query.name)
        uscc_raw, name_raw, code = query.uscc or "", query.name or "", query.code
        resolution = apply_decision(self.index.match(query), self.decisions.get(p.key), query)
        if resolution.outcome == REVIEW:
            # loaded without an enterprise; the facts it asserts about one wait on the review item
            facts = self._values(ent.fields, ENTERPRISE, p)
            p.resolution = resolution
            p.review = draft(self.spec.label, p.key, resolution, query,
                             _jsonable({k: v for k, v in facts.items() if v is not None}))
            return
        if not resolution.resolved or resolution.uscc is None:
            if not ent.required and not uscc_raw and not name_raw:
                return
            column = ent.uscc or ent.name
            why = as_message(N_("the enterprise cannot be identified: {reasons}"), reasons="; ".join(resolution.reasons))
            if not uscc_raw and not name_raw:
                raise RowError("missing_required", N_("neither a 统一社会信用代码 nor a name"), column)
            if (uscc_raw and code is None) or resolution.ambiguous:
                raise RowError("unresolved_entity", why, column)
            if ent.required:
                raise RowError("orphan_reference", why, column)
            p.flags.append(f"orphan_reference:{column}")
            return
        p.resolution = resolution
        if code is not None and code.quality == "legacy" and code.code == resolution.uscc:
            p.flags.append("uscc_legacy_check:uscc")
        if self._located and values.get("regionCode") is None:
            values["regionCode"] = self.index.region_of(resolution.uscc)  # it lies where its enterprise is
        facts = self._values(ent.fields, ENTERPRISE, p)
        p.enterprise_facts = {k: v for k, v in facts.items() if v is not None}

    # ------------------------------------------------------------------ writing batches
    def write(self, batch: list[Prepared], existing: tuple[set[str], set[str]] | None = None, skipped: int = 0) -> None:
        """Write prepared rows; `existing` is what _existing found for them, if already asked, and
        `skipped` the rows of the batch found unchanged before normalising."""
        loaded, quarantined = existing if existing is not None else self._existing(batch)
        self.stats.unchanged += skipped
        if self._relocated:
            relocated = [self._relocated.popleft() for _ in range(len(self._relocated))]
            self.store.execute(f"UNWIND $rows AS r MATCH (s:{SOURCE_RECORD} {{id: r.id}}) SET s.lineKey = r.line", {"rows": relocated})
        todo, bad = [], []
        for p in batch:
            if p.error is not None:
                bad.append(p)
            elif self._record_id(p) in loaded:
                self.stats.unchanged += 1
            elif self._record_id(p) in self._superseded and self._record_id(p) not in self._forced:
                self._deferred.append(p)
            else:
                # includes rows an earlier load rejected as orphans: their target may exist by now
                todo.append(p)
        self._check_link_targets(todo, bad)
        todo = [p for p in todo if p.error is None]
        waiting = len(self._unplaced)
        todo = self._yield_to_later_rows(todo)
        self._note_written(todo)
        unplaced = {id(p) for p in self._unplaced[waiting:]}  # their lines are kept when they are written
        self._keep_keys(p for p in batch if p.error is None and id(p) not in unplaced)
        self._missing_seen += [self._record_id(p) for p in todo if p.missing]
        current = self._current(todo)
        self._write_changes(todo, current)
        self._write_nodes(todo, current)
        self._write_enterprise_facts(todo)
        self._write_links(todo)
        self._write_reviews(todo)
        self._write_records(todo)
        self._write_quarantine([p for p in bad if self._quarantine_id(p) not in quarantined])
        self.held += [self._quarantine_id(p) for p in bad if p.error is not None and p.error.reason in RETRYABLE]
        self.stats.unchanged += sum(1 for p in bad if self._quarantine_id(p) in quarantined)

    def write_all(self, batch: list[Prepared]) -> None:
        """Write prepared rows that are the whole of their "file" (a stream's batch of messages):
        what `write` defers to the file's end is settled now, so no row goes uncounted."""
        self.write(batch)
        self._settle()

    def _note_written(self, todo: list[Prepared]) -> None:
        """Each keyed row about to be written: its node, where it stands, its line (`_overridden_in_reading`)."""
        for p in todo:
            if p.row.line_key is not None:
                self._written_nodes.append(hash(p.key))
                self._written_at.append(_position(p.row))
                self._written_lines.append(p.row.line_key)

    def _overridden_in_reading(self) -> np.ndarray:
        """The line keys of rows written in this reading that a later row of their node, written in it
        too, overrode: in a first load (and in one batch) the store knew of neither when they were
        written. Kept in the ledger, such a line was passed over when the later row went or moved
        before it, and its values never came back. (A hash collision only keeps a line out: it is read.)"""
        nodes = np.frombuffer(self._written_nodes, dtype=np.int64)
        lines = np.frombuffer(self._written_lines, dtype=np.uint64)
        order = np.lexsort((np.frombuffer(self._written_at, dtype=np.int64), nodes))
        ordered = nodes[order]
        earlier = order[:-1][ordered[1:] == ordered[:-1]]  # each row but the last of its node
        overridden = lines[earlier].copy()
        self._written_nodes, self._written_at, self._written_lines = array("q"), array("q"), array("Q")
        return overridden

    def _keep_keys(self, rows: Iterable[Prepared]) -> None:
        """The line keys of rows now loaded (their line as it was read is the one to pass over)."""
        self.line_keys.extend(p.row.line_key for p in rows if p.row.line_key is not None)

    def _record_id(self, p: Prepared) -> str:
        """A loaded row is known by its content, not its position: a newer export that inserts or
        re-sorts rows neither rewrites an old record nor breaks the lineage of the nodes it fed."""
        return f"{self.mapping.source}:{self.spec.path}:{p.digest}"

    def _quarantine_id(self, p: Prepared) -> str:
        """A rejected row by position and content: each copy of a duplicate is kept with its row number."""
        return f"{self.mapping.source}:{self.spec.path}:{p.row.number}:{p.digest}"

    def _existing(self, batch: list[Prepared]) -> tuple[set[str], set[str]]:
        """Which of the batch's rows an earlier load already recorded, as loaded and as quarantined.

        A record a later load superseded (its node took a row of other content from this file
        since: the row was changed, and is now changed back) is not loaded: the row is deferred to
        the file's end (`_superseded`), and written unless the superseding row is still in the file."""
        # a record counts only with its DERIVED_FROM link: one left without it (by a load killed
        # in an older version) is written again, links and all. Loads are timed to the second: one of
        # the same second counts as newer (a row then settled once more at the file's end, no harm).
        # A record of the same load superseded it when its row stood later in that load's file
        rows = self.store.read(
            f"UNWIND $ids AS i MATCH (s:{SOURCE_RECORD} {{id: i}}) OPTIONAL MATCH (s)<-[l:{DERIVED_FROM}]-() "
            "WITH i, s, count(l) AS links "
            f"OPTIONAL MATCH (s)<-[:{DERIVED_FROM}]-(:{ident(self.spec.label)})-[:{DERIVED_FROM}]->(t:{SOURCE_RECORD}) "
            "RETURN i, links, collect(CASE WHEN t.sourceSystem = s.sourceSystem AND t.sourceFile = s.sourceFile "
            "AND t.id <> s.id THEN [t.id, t.lineKey, t.loadedAtMs >= s.loadedAtMs AND t.loadId <> s.loadId "
            "OR t.loadId = s.loadId AND t.rowNumber > s.rowNumber] END) AS others, "
            "s.yieldedTo AS yielded, s.missingTargets AS missing, s.lineKey AS line",
            {"ids": [self._record_id(p) for p in batch if p.error is None]},
        )
        siblings = {r["i"]: r["others"] for r in rows}
        for p in batch:
            p.recorded = self._record_id(p) in siblings
            if p.recorded:
                p.siblings = [(str(i), k) for i, k, _ in siblings[self._record_id(p)]]
        self._repeats_passed_over(batch, {r["i"]: r["line"] for r in rows})
        for r in rows:
            # a row that gave way to a later row of its node is settled like one superseded: written
            # again once none of them stands after it
            newer = [(str(i), k) for i, k, later in r["others"] if later] + [_yielded(item) for item in r["yielded"] or ()]
            if r["links"] and newer:
                self._superseded[r["i"]] = newer
            if r["links"] and r["missing"]:  # its links are tried at the file's end (`_link_late_targets`)
                self._missing_seen.append(r["i"])
        quarantined = self.store.read(
            f"UNWIND $ids AS i MATCH (q:{QUARANTINED_ROW} {{id: i}}) RETURN i",
            {"ids": [self._quarantine_id(p) for p in batch]},
        )
        return ({r["i"] for r in rows if r["links"] and r["i"] not in self._superseded and r["i"] not in self._rewrite},
                {r["i"] for r in quarantined})

    def _repeats_passed_over(self, batch: list[Prepared], lines: dict[str, str | None]) -> None:
        """A recorded row read from a line of other bytes (other quoting, say) than the line its
        record was loaded from, while that line stands earlier and was passed over unread: the row is
        a copy of that line's row, a duplicate_row, as a fresh load of the file would call it. (A copy
        of a line read in this reading was caught by its digest, `_shell`.)"""
        if self._lines is None:
            return
        moved = {id(p): int(line, 16) for p in batch
                 if p.recorded and p.error is None and p.row.line_key is not None
                 and (line := lines.get(self._record_id(p))) is not None and int(line, 16) != p.row.line_key}
        if not moved:
            return
        at = self._lines.first_at(moved.values())
        for p in batch:
            if (index := at.get(moved.get(id(p), -1))) is not None and index < _position(p.row) \
                    and (first := self._lines.passed_as(index)) is not None:
                p.error = RowError("duplicate_row", N_("repeats row {first} exactly"), first=first)
            elif id(p) in moved and p.row.line_key is not None and moved[id(p)] not in at:
                # its record's line is gone from the file: its row stands on this line now (re-quoted, say)
                self._relocated.append({"id": self._record_id(p), "line": f"{p.row.line_key:016x}"})

    def _present(self, label: str, keys: Iterable[str]) -> set[str]:
        """Which of these keys the graph holds a `label` node for."""
        key = ident(self.onto.key_of(label))
        return {r["k"] for part in batched(sorted(keys), _CHUNK) for r in self.store.read(
            f"UNWIND $keys AS k MATCH (n:{ident(label)} {{{key}: k}}) RETURN k", {"keys": list(part)})}

    def _check_link_targets(self, todo: list[Prepared], bad: list[Prepared]) -> None:
        """Before anything is written: a missing required target makes the row an orphan; a missing
        optional one is dropped and flagged on the row's node."""
        wanted: dict[str, set[str]] = {}
        for p in todo:
            for link, keys in p.links:
                wanted.setdefault(link.other, set()).update(keys)
        found = {label: self._present(label, keys) for label, keys in wanted.items()}
        for p in todo:  # rows of this same batch, and nodes they imply, count as existing
            found.setdefault(self.spec.label, set()).add(p.key)
            for label, props in p.extra_nodes:
                found.setdefault(label, set()).add(str(props[self.onto.key_of(label)]))
        for p in todo:
            kept = []
            for link, keys in p.links:
                present = [k for k in keys if k in found.get(link.other, set())]
                if len(present) < len(keys):
                    missing = ", ".join(k for k in keys if k not in present)
                    if link.required:
                        p.error = RowError("orphan_reference", N_("{rel_type}: no {other} {missing}"),
                                           link.field or link.column,
                                                               rel_type=link.rel_type, other=link.other,
                                                               missing=missing)
                        bad.append(p)
                        break
                    flag = f"orphan_reference:{link.field or link.column}"
                    p.props["dataQuality"] = sorted(set(p.props.get("dataQuality") or []) | {flag})
                    p.missing += [f"{link.rel_type} {link.other} {k}" for k in keys if k not in present]
                    p.record = None  # it states the flag and what it misses too
                if present:
                    kept.append((link, present))
            p.links = kept

    def _current(self, todo: list[Prepared]) -> dict[str, dict[str, Any]]:
        """The batch's nodes as the graph holds them before the batch (absent keys: new nodes)."""
        keys = sorted({p.key for p in todo})
        return self.store.get_nodes(self.spec.label, keys) if keys else {}

    def _write_changes(self, todo: list[Prepared], current: dict[str, dict[str, Any]]) -> None:
        """A ChangeEvent for every fact that differs from what the graph holds now."""
        label = self.spec.label
        key_prop = self.onto.key_of(label)
        events = []
        for p in todo:
            before = current.get(p.key)
            if not before:
                continue
            after = encode_properties(self.onto, label, p.props)
            for prop, new in after.items():
                if prop.endswith((TIME_SUFFIX, TOKENS_SUFFIX)) or prop == key_prop:
                    continue
                old = before.get(prop)
                if old is not None and old != new:
                    event_id = hashlib.sha256(f"{label}|{p.key}|{prop}|{old}|{new}|{p.digest}".encode()).hexdigest()[:24]
                    events.append({
                        "id": event_id, "entityLabel": label, "entityKey": p.key, "property": prop,
                        "oldValue": json.dumps(old, ensure_ascii=False), "newValue": json.dumps(new, ensure_ascii=False),
                        "changedAt": self.loaded_at, "sourceSystem": self.mapping.source, "sourceFile": self.spec.path,
                        "rowNumber": p.row.number, "loadId": self.load_id,
                    })
        if events:
            self.store.upsert_nodes(CHANGE_EVENT, events)
            self.stats.changes += len(events)

    def _write_nodes(self, todo: list[Prepared], current: dict[str, dict[str, Any]]) -> None:
        if not todo:
            return
        extra: dict[str, list[dict[str, Any]]] = {}
        for p in todo:
            for label, props in p.extra_nodes:
                extra.setdefault(label, []).append(props)
        for label, rows in extra.items():
            self._fill_gaps(label, rows)
        # rows of one batch that share a key merge in order; the later row's values win
        self.store.upsert_nodes(self.spec.label, [p.props for p in todo])
        if self.spec.label == ENTERPRISE:
            for p in todo:
                if p.stated is not None:
                    continue  # the index has the node as the later row left it, as the graph does
                self.index.add(p.key, p.props.get("name", ""), p.props.get("regionCode"),
                               address=p.props.get("address"), legal_rep=p.props.get("legalRepresentative"))
        ent = self.spec.enterprise
        if self._places:
            for p in todo:
                uscc = p.key if self.spec.label == ENTERPRISE else p.resolution.uscc if p.resolution else None
                if uscc:
                    self.placed.add(uscc)
        if ent is not None and ent.relation:
            # of a node's rows in the batch the last one places it; none that a row standing later follows
            last = [p for p in {p.key: p for p in todo}.values() if not p.followed]
            self._detach_stale([p for p in last if p.key in current])
            pairs = [(p.resolution.uscc, p.key) for p in last if p.resolution and p.resolution.resolved]
            if ent.outgoing:
                self.store.upsert_relationships(ent.relation, [{"from": e, "to": k} for e, k in pairs],
                                                from_label=ENTERPRISE, to_label=self.spec.label)
            else:
                self.store.upsert_relationships(ent.relation, [{"from": k, "to": e} for e, k in pairs],
                                                from_label=self.spec.label, to_label=ENTERPRISE)
        for p in todo:
            self.stats.loaded += 1
            if p.resolution is not None and p.resolution.resolved and p.resolution.method != "uscc":
                self.stats.merged += 1
            self.stats.review += p.review is not None

    def _detach_stale(self, todo: list[Prepared]) -> None:
        """A newer version of a row may name another enterprise, or need review: its old link goes.
        Only rows whose node existed before the batch can have one; the match starts from that node
        (by its key), as starting from the enterprises would scan all their links for every row."""
        ent = self.spec.enterprise
        if ent is None or not ent.relation or not todo:
            return  # rows of this file name no enterprise: no link to move
        rows = [{"k": p.key, "u": p.resolution.uscc if p.resolution is not None else None} for p in todo]
        node = f"(n:{ident(self.spec.label)} {{{ident(self.onto.key_of(self.spec.label))}: row.k}})"
        rel = f"[r:{ident(ent.relation)}]"
        other = f"(e:{ident(ENTERPRISE)})"
        pattern = f"(n)<-{rel}-{other}" if ent.outgoing else f"(n)-{rel}->{other}"
        # the WITH keeps FalkorDB's planner from starting at a scan of every enterprise
        key = ident(self.onto.key_of(ENTERPRISE))
        detached = self.store.execute(f"UNWIND $rows AS row MATCH {node} WITH n, row MATCH {pattern} "
                                      f"WHERE row.u IS NULL OR e.{key} <> row.u DELETE r RETURN e.{key} AS u", {"rows": rows})
        if self._places:  # an enterprise that lost a unit may move too
            self.placed.update(str(r["u"]) for r in detached)

    def _write_reviews(self, todo: list[Prepared]) -> None:
        """Review items for the rows whose enterprise a person must decide (before the rows' records),
        and where each fact in review stands after its row: settled at the file's end (`_settle_reviews`)."""
        # a fact's last row in the batch decides, unless a row of it standing later in the file does
        todo = [p for p in {p.key: p for p in todo}.values() if not p.followed]
        drafts = [p.review for p in todo if p.review is not None]
        provenance = {p.review["id"]: {k: v for k, v in self._provenance(p).items() if k in _ITEM_PROVENANCE}
                      for p in todo if p.review is not None}
        write_items(self.store, self.spec.label, drafts, provenance, self.registry)
        for p in todo:
            decision = self.decisions.get(p.key)
            if p.key in self._raised and decision is not None and decision.status in DECIDED \
                    and decision.written == p.written:  # an earlier row reopened it; the row decided on stands
                self._review_outcome[p.key] = Placed(None, p.written, None, restores=decision)
            elif p.review is not None:
                self._raised.add(p.key)
                self._review_outcome[p.key] = None
            elif (overrides := self._decision_overridden(p)) or self._in_review(p.key):
                placed = p.resolution.uscc if p.resolution is not None and p.resolution.resolved else None
                facts = json.dumps(_jsonable(p.enterprise_facts), ensure_ascii=False, sort_keys=True,
                                   default=str) if p.enterprise_facts else None
                self._review_outcome[p.key] = Placed(placed, p.written, facts, overrides)

    def _in_review(self, key: str) -> bool:
        """Whether the fact had an item a load may settle when the file was started, or raised one since."""
        decision = self.decisions.get(key)
        return key in self._raised or decision is not None and decision.status in (OPEN, SETTLED)

    def _decision_overridden(self, p: Prepared) -> bool:
        """Whether a person decided about what this fact's row wrote before the source corrected it
        (the decision no longer applies: `review.apply_decision`)."""
        decision = self.decisions.get(p.key)
        return decision is not None and decision.status in DECIDED and decision.written != p.written

    def _settle_reviews(self) -> None:
        """At the file's end: the items of the facts whose last row written placed them for certain are
        settled on that enterprise (`review.settle_items`)."""
        outcomes, self._review_outcome = self._review_outcome, {}
        placed = {key: where for key, where in outcomes.items() if where is not None}
        # raised by a row this reading and placed by a later one: no item, as one batch would have it
        passing = drop_items(self.store, self.spec.label, [key for key in placed if key in self._raised])
        self.stats.settled += settle_items(self.store, self.spec.label,
                                           {key: where for key, where in placed.items() if key not in passing}, self.registry)

    def _fill_gaps(self, label: str, rows: list[dict[str, Any]]) -> None:
        """Nodes a row only implies (the chemical an inventory names): created when absent; an existing
        one only gains the properties it lacks, so reference data is never overwritten by a reload."""
        key = self.onto.key_of(label)
        existing = self.store.get_nodes(label, sorted({str(r[key]) for r in rows}))
        merged: dict[str, dict[str, Any]] = {}
        for row in rows:
            before = existing.get(str(row[key]), {})
            gaps = {k: v for k, v in row.items() if before.get(k) is None}
            merged.setdefault(str(row[key]), {key: row[key]}).update(
                {k: v for k, v in gaps.items() if k not in merged.get(str(row[key]), {})})
        self.store.upsert_nodes(label, [m for m in merged.values() if len(m) > 1 or str(m[key]) not in existing])

    def _write_enterprise_facts(self, todo: list[Prepared]) -> None:
        """Facts other sources assert about an enterprise fill gaps but never override; a
        disagreement is flagged on the enterprise and both values stay in the SourceRecords."""
        facts = [(p, p.resolution.uscc) for p in todo if p.enterprise_facts and p.resolution and p.resolution.uscc]
        if not facts:
            return
        current = self.store.get_nodes(ENTERPRISE, sorted({code for _, code in facts}))
        updates: dict[str, dict[str, Any]] = {}
        for p, code in facts:
            before = current.get(code, {})
            encoded = encode_properties(self.onto, ENTERPRISE, p.enterprise_facts)
            update = updates.setdefault(code, {"uscc": code})
            flags = set(before.get("dataQuality") or []) | set(update.get("dataQuality") or [])
            for prop, value in p.enterprise_facts.items():
                if before.get(prop) is None and prop not in update:
                    update[prop] = value
                elif before.get(prop) is not None and before.get(prop) != encoded.get(prop):
                    flags.add(f"conflict:{prop}")
            if flags != set(before.get("dataQuality") or []):
                update["dataQuality"] = sorted(flags)
        self.store.upsert_nodes(ENTERPRISE, [u for u in updates.values() if len(u) > 1])

    def _write_links(self, todo: list[Prepared]) -> None:
        grouped: dict[tuple[str, str, bool], list[dict[str, str]]] = {}
        for p in todo:
            for link, keys in p.links:
                for key in keys:
                    row = {"from": p.key, "to": key} if link.outgoing else {"from": key, "to": p.key}
                    grouped.setdefault((link.rel_type, link.other, link.outgoing), []).append(row)
        for (rel_type, other, outgoing), rows in grouped.items():
            src, dst = (self.spec.label, other) if outgoing else (other, self.spec.label)
            self.store.upsert_relationships(rel_type, rows, from_label=src, to_label=dst)

    def _provenance(self, p: Prepared) -> dict[str, Any]:
        return {
            "sourceSystem": self.mapping.source, "sourceFile": self.spec.path,
            "rowNumber": p.row.number, "rawValues": json.dumps(p.row.values, ensure_ascii=False),
            "contentHash": p.digest, "loadId": self.load_id, "loadedAt": self.loaded_at,
        }

    def _write_records(self, todo: list[Prepared]) -> None:
        if not todo:
            return
        self._make_records([p for p in todo if p.record is None])
        self._write_records_with_links(todo, cast(list[dict[str, Any]], [p.record for p in todo]))

    def _make_records(self, rows: list[Prepared]) -> None:
        """Each row's SourceRecord, packed and encoded, on `p.record`. Why apart from writing: the
        records are most of the writing thread's Python (their JSON, deflating, encoding); made in
        `_prepare_batch` while the batch before is written, they leave that thread — the load's
        critical path — mostly sending statements and waiting on the store."""
        records = []
        for p in rows:
            facts = {f"{self.spec.label}:{p.key}": _jsonable(p.stated if p.stated is not None else p.props)}
            if p.enterprise_facts and p.resolution:
                facts[f"Enterprise:{p.resolution.uscc}"] = _jsonable(p.enterprise_facts)
            record = {**self._provenance(p), "id": self._record_id(p), "contentHash": None,  # its digest is in its id
                      "facts": json.dumps(facts, ensure_ascii=False, sort_keys=True),
                      "lineKey": f"{p.row.line_key:016x}" if p.row.line_key is not None else None,
                      "yieldedTo": [f"{key or '-'} {record}" for record, key in p.yielded_to] or None,
                      "missingTargets": sorted(p.missing) or None}
            if p.resolution is not None:
                record["matchMethod"] = match_method(p.resolution)
            if p.row.notes:
                record["dataQuality"] = p.row.notes
            records.append(record)
        self._packer.pack(records)
        for p, record in zip(rows, records, strict=True):
            p.record = encode_properties(self.onto, SOURCE_RECORD, record)

    def _write_records_with_links(self, todo: list[Prepared], records: list[dict[str, Any]]) -> None:
        """Each SourceRecord and its DERIVED_FROM links in one statement: a kill can never leave a
        record without the links that make its row count as loaded.

        A record no earlier load wrote (`_existing` looked, and the load lock keeps other loads out)
        is created with its links — a MERGE would look for a node and links that cannot be there;
        one that an older, killed load left behind is merged."""
        onto = self.onto
        fresh: list[dict[str, Any]] = []
        present: list[dict[str, Any]] = []
        for p, encoded in zip(todo, records, strict=True):
            ents = [p.resolution.uscc] if p.enterprise_facts and p.resolution and self.spec.label != ENTERPRISE else []
            (present if p.recorded else fresh).append({"k": encoded["id"], "p": encoded, "node": p.key, "ents": ents})
        label, ent = self.spec.label, ENTERPRISE
        key, ent_key = ident(onto.key_of(label)), ident(onto.key_of(ent))
        shared = onto.shared_values(SOURCE_RECORD)
        for batch, link in ((fresh, "CREATE"), (present, "MERGE")):
            for assigned, rows in shared_groups(self.store.dialect, shared, "s", batch):
                write = (f"WITH row, {ROW_PARTS} CREATE (s:{ident(SOURCE_RECORD)} {created_map(self.store.dialect, rows)})"
                         if link == "CREATE" else
                         f"MERGE (s:{ident(SOURCE_RECORD)} {{{ident(onto.key_of(SOURCE_RECORD))}: row.k}}) "
                         f"SET s.yieldedTo = null, s.missingTargets = null, s += row.p{assigned}, "  # asked anew when written again
                         "s.rawValues = null, s.facts = null")  # packed now: no plain copy left beside it
                self.store.execute(
                    f"UNWIND $rows AS row {write} "
                    f"WITH s, row MATCH (n:{ident(label)} {{{key}: row.node}}) "
                    f"{link} (n)-[:{ident(DERIVED_FROM)}]->(s) "
                    f"WITH s, row UNWIND row.ents AS code MATCH (e:{ident(ent)} {{{ent_key}: code}}) "
                    f"{link} (e)-[:{ident(DERIVED_FROM)}]->(s) RETURN count(s) AS c",
                    {"rows": rows},
                )

    def _write_quarantine(self, bad: list[Prepared]) -> None:
        if not bad:
            return
        rows = []
        for p in bad:
            if p.error is None:
                raise RuntimeError(f"internal: row {p.row.number} of {self.spec.path} was set aside without a reason")
            self.stats.quarantined[p.error.reason] += 1
            row = {**self._provenance(p), "id": self._quarantine_id(p), "reasonCode": p.error.reason,
                   "description": p.error.message, "field": p.error.field}
            if p.row.notes:  # what the reader saw, so that a retry from rawValues (retry_held) is the same row
                row["dataQuality"] = p.row.notes
            rows.append(row)
        self.store.upsert_nodes(QUARANTINED_ROW, rows)

    def quarantine_unreadable(self, number: int, error: RowError) -> None:
        """A line no encoding could read: kept as its error, counted, never dropped."""
        row = SourceRow(number, {"_raw": error.raw or ""}, error.raw or "")
        prepared = Prepared(row=row, digest=row_digest(row), error=error)
        if self._existing([prepared])[1]:
            self.stats.unchanged += 1
        else:
            self._write_quarantine([prepared])

    # ------------------------------------------------------------------ driving
    def retry_held(self, rows: int, held_ids: tuple[str, ...], on_rows: Callable[[int], None] | None = None) -> FileStats:
        """The file is unchanged since a complete load of its `rows` rows: read none of them, but
        do what reading the whole file again would have done: try again the rows that load left
        quarantined for a reason that depends on other data (RETRYABLE; `held_ids`, their
        QuarantinedRow ids) from their kept raw values, and link the records that missed an optional
        link's target to those that are there now (`_link_late_targets`)."""
        self.stats.skipped = True
        held = self.store.read(
            f"UNWIND $ids AS i MATCH (q:{QUARANTINED_ROW} {{id: i}}) "
            "RETURN q.rowNumber AS n, q.rawValues AS raw, q.dataQuality AS notes ORDER BY n",
            {"ids": list(held_ids)})
        batch = [SourceRow.kept(int(r["n"]), json.loads(r["raw"]), list(r["notes"] or [])) for r in held]
        parts = [self._prepare_batch(batch[start:start + self.batch_rows]) for start in range(0, len(batch), self.batch_rows)]
        if self._some_load_now([p for fresh, _, _ in parts for p in fresh]):
            self.needs_reading = True
            return self.stats
        for prepared in parts:  # all held still: counted as unchanged, still held
            self.write(*prepared)
        self._settle()
        self._link_late_targets()
        self.stats.read += rows
        self.stats.unchanged += rows - len(batch)
        if on_rows:
            on_rows(rows)
        return self.stats

    def _some_load_now(self, prepared: list[Prepared]) -> bool:
        """Whether any of these held rows, prepared again, would be loaded now (its enterprise found,
        its required targets there). Such a row has to be placed among the other rows of its node in
        the file, which only reading the file can tell: written from its kept raw values it went over
        a later row of its node."""
        fresh = [p for p in prepared if p.error is None]
        if not fresh:
            return False
        self._check_link_targets(fresh, [])
        return any(p.error is None for p in fresh)

    def renewed(self) -> FileLoader:
        """A loader of the same file for the same load, nothing read or counted yet; the enterprises
        whose points its rows may move are gathered in the same set (the load places them after)."""
        fresh = FileLoader(self.store, self.mapping, self.spec, self.ctx, self._index, self.load_id, self.loaded_at,
                           self.decisions, loaded_before=self.loaded_before, dangling=self._dangling_before,
                           registry=self.registry, rewrite=self._rewrite)
        fresh.placed = self.placed
        return fresh

    def run(self, root: Path, on_rows: Callable[[int], None] | None = None,
            known: Collection[int] = frozenset()) -> FileStats:
        """Load the file; one that cannot be read (a corrupt workbook, a header without a required
        column) is reported in `stats.error` — the rows read before the break are still written.
        `known`: the line keys the file's last complete load left; those lines are passed over
        unread, as unchanged. The records that load left missing an optional link's target are linked
        at the end to those that are there now (`_link_late_targets`)."""
        batch: list[SourceRow] = []
        rows = read_rows(root / self.spec.path, self.spec.format, self.spec.encoding,
                         check_header(self.spec, self.stats.warnings), known, self._take_lines)
        passed_over = 0  # known rows not yet reported to on_rows
        # counted here and added once the writing thread is done: write's
        # `stats.unchanged += sum(…)` lets this thread run between its read and its store, and
        # the increments made meanwhile were lost (2,410 rows uncounted in one change set)
        known_rows = 0
        # registry rows resolve against the enterprises of the batches before them: no overlap there
        overlap = self.spec.label != ENTERPRISE
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="normalise") as pool:
            writing: Future[None] | None = None

            def hand_over(rows: list[SourceRow]) -> None:
                """Normalise this batch here while the previous one is written in the other thread."""
                nonlocal writing
                prepared = self._prepare_batch(rows) if overlap else None
                settle()
                self._pending = len(rows)
                writing = pool.submit(self.write, *prepared) if prepared else pool.submit(self.load_batch, rows)

            def settle() -> None:
                """Wait for the batch being written (its errors are raised here)."""
                nonlocal writing
                if writing is not None:
                    done, writing = writing, None
                    done.result()
                    if on_rows:
                        on_rows(self._pending)

            try:
                for item in rows:
                    self.stats.read += 1
                    if isinstance(item, KnownRows):
                        self.stats.read += len(item) - 1
                        known_rows += len(item)
                        self.line_keys.extend(item.line_keys)
                        passed_over += len(item)
                        if on_rows and passed_over >= self.batch_rows:
                            on_rows(passed_over)
                            passed_over = 0
                        continue
                    if isinstance(item, RowError):
                        settle()  # the write thread counts too: one writer at a time
                        self.quarantine_unreadable(self.stats.read, item)
                        continue
                    batch.append(item)
                    if len(batch) >= self.batch_rows:
                        hand_over(batch)
                        batch = []
            except SourceFileError as exc:
                self.stats.error = str(exc)
            if batch:
                hand_over(batch)
            settle()
        self.stats.unchanged += known_rows
        self._settle()
        self._link_late_targets()
        if on_rows and passed_over:
            on_rows(passed_over)
        return self.stats

    def _link_late_targets(self) -> None:
        """The records of this file that miss an optional link's target (`missingTargets`: the
        ledger's from the last load, and those written or read now) whose rows stand in the file,
        linked to the targets that are there now — as a fresh load of the same files would link
        them. Only links are written: where the row's values stand was settled when it was written.
        A node loses orphan_reference for a link once none of its records standing in the file misses
        that link's target (a row changed since, or gone, no longer earns it). Sets `dangling`: the
        records still missing one. A file read with an error keeps them all for the next load."""
        ids = sorted({*self._dangling_before, *self._missing_seen})
        if self.stats.error is not None or not ids:
            self.dangling = ids
            return
        label, key = self.spec.label, self.onto.key_of(self.spec.label)
        rows = [r for part in batched(ids, _CHUNK) for r in self.store.read(
            f"UNWIND $ids AS i MATCH (s:{SOURCE_RECORD} {{id: i}})<-[:{DERIVED_FROM}]-(n:{ident(label)}) "
            f"WHERE s.missingTargets IS NOT NULL RETURN s.id AS id, s.lineKey AS line, s.missingTargets AS m, "
            f"n.{ident(key)} AS k", {"ids": list(part)})]
        links = {(link.rel_type, link.other): link for link in self.spec.links}
        # an unchanged file stands whole; a read one says where each record's row stands, if anywhere
        standing = (lambda record, line: 0) if self.stats.skipped else self._standing((r["id"], r["line"]) for r in rows)
        wanted: dict[str, set[str]] = defaultdict(set)
        for r in rows:
            for entry in r["m"]:
                rel, other, target = entry.split(" ", 2)
                wanted[other].add(target)
        there = {other: self._present(other, keys) for other, keys in wanted.items()}
        new_links: dict[tuple[str, str, bool], list[dict[str, str]]] = defaultdict(list)
        updates, still = [], []
        earned: dict[str, set[str]] = defaultdict(set)  # node → the flags its standing records still earn
        lost: dict[str, set[str]] = defaultdict(set)    # node → the flags some record no longer earns
        for r in rows:
            stands = standing(r["id"], r["line"]) is not None
            left = []
            for entry in r["m"]:
                rel, other, target = entry.split(" ", 2)
                link = links.get((rel, other))
                flag = f"orphan_reference:{link.field or link.column}" if link is not None else None
                if link is None or not stands or target not in there.get(other, set()):
                    left.append(entry)
                    (earned if stands and link is not None else lost)[r["k"]].add(flag or "")
                    continue
                pair = {"from": r["k"], "to": target} if link.outgoing else {"from": target, "to": r["k"]}
                new_links[(rel, other, link.outgoing)].append(pair)
                lost[r["k"]].add(flag or "")
            if stands and left:
                still.append(r["id"])
            if len(left) != len(r["m"]):
                updates.append({"i": r["id"], "m": left or None})
        for (rel, other, outgoing), pairs in new_links.items():
            src, dst = (label, other) if outgoing else (other, label)
            self.store.upsert_relationships(rel, pairs, from_label=src, to_label=dst)
        # the flags before the records: until a record's missingTargets is cleared it is the evidence
        # a rerun after a kill needs to take them off (both steps are idempotent)
        self._unflag({k: flags - earned[k] for k, flags in lost.items() if flags - earned[k] - {""}})
        for part in batched(updates, _CHUNK):
            self.store.execute(f"UNWIND $rows AS row MATCH (s:{SOURCE_RECORD} {{id: row.i}}) SET s.missingTargets = row.m",
                               {"rows": list(part)})
        self.dangling = still

    def _unflag(self, flags: dict[str, set[str]]) -> None:
        """Take these orphan_reference flags off these nodes; a node left with none loses the property,
        as a fresh load never set it."""
        if not flags:
            return
        label, key = self.spec.label, self.onto.key_of(self.spec.label)
        nodes = self.store.get_nodes(label, sorted(flags), ["dataQuality"])
        rows = [{"k": k, "f": sorted(set(n["dataQuality"]) - flags[k]) or None} for k, n in nodes.items()
                if set(n["dataQuality"] or ()) & flags[k]]
        if rows:
            self.store.execute(f"UNWIND $rows AS row MATCH (n:{ident(label)} {{{ident(key)}: row.k}}) "
                               "SET n.dataQuality = row.f", {"rows": rows})

    def _take_lines(self, keys: LineKeys) -> None:
        self._lines = keys

    def _yield_to_later_rows(self, todo: list[Prepared]) -> list[Prepared]:
        """Rows about to be written, against the other rows of their nodes in this file: a row of
        the node that stands later (passed over unread, or read) keeps its values, so the row
        being written leaves out what that row states (and is recorded with all it said); the
        lines of the node's rows that stand earlier are kept out of the ledger, as this row now
        overrides them. Asked of the store only for a file an earlier load took in, and only for
        new rows (a recorded row's were read with it).

        A row without a line (a workbook's, a CSV row over several lines) is placed only once read:
        a row whose node has such a row not read yet (later in the file, or gone) waits for the
        file's end (`_unplaced`). Returns the rows to write now."""
        if not self.loaded_before or not todo:
            return todo
        new = sorted({p.key for p in todo if p.siblings is None})
        records: dict[str, list[tuple[str, str | None]]] = {
            r["k"]: [(str(i), k) for i, k in r["records"]]
            for r in (self.store.read(*self._records_of_nodes_statement(new)) if new else ())}
        siblings = {id(p): p.siblings if p.siblings is not None else records.get(p.key, []) for p in todo}
        standing = self._standing([pair for pairs in siblings.values() for pair in pairs])
        later: list[tuple[Prepared, list[tuple[str, str | None]]]] = []
        now: list[Prepared] = []
        for p in todo:
            own, here = self._record_id(p), _position(p.row)
            placed = [(record, key, standing(record, key)) for record, key in siblings[id(p)] if record != own]
            if not self._read_whole and any(key is None and at is None for _, key, at in placed):
                self._unplaced.append(p)
                continue
            now.append(p)
            others = [(record, key, at) for record, key, at in placed if at is not None]
            self._overridden.update(int(key, 16) for _, key, at in others if key is not None and at < here)
            if after := [(record, key) for record, key, at in others if at > here]:
                later.append((p, after))
                p.followed = True
                if p.row.line_key is not None:  # read again by the next load: it places its node once they leave
                    self._overridden.add(p.row.line_key)
        if not later:
            return now
        stated = self._facts_stated({record for _, records_after in later for record, _ in records_after})
        for p, records_after in later:
            outranked = {k for record, _ in records_after for k in stated.get(record, {})} - {self.onto.key_of(self.spec.label)}
            if outranked:
                p.stated = p.stated if p.stated is not None else p.props
                p.props = {k: v for k, v in p.props.items() if k not in outranked}
                p.yielded_to = records_after
                p.record = None  # it says whom the row gave way to
        return now

    def _standing(self, records: Iterable[tuple[str, str | None]]) -> Callable[[str, str | None], int | None]:
        """Where the row of each of these records (its id, its line key) stands in the file: its
        line, or where a row of its content was read; None when it is not in the file. The lines
        are looked up for all of them at once."""
        wanted = list(records)
        lines = self._lines.first_at(int(key, 16) for _, key in wanted if key is not None) if self._lines is not None else {}

        def at(record: str, key: str | None) -> int | None:
            read = self._seen.get(record.rsplit(":", 1)[-1])
            found = [n for n in (lines.get(int(key, 16)) if key is not None else None, read[1] if read else None)
                     if n is not None]
            return min(found) if found else None
        return at

    def _records_of_nodes_statement(self, keys: list[str]) -> tuple[str, dict[str, Any]]:
        """The records of this file that fed each of these nodes (with their line keys). The WITH
        keeps FalkorDB's planner from starting at a scan of every SourceRecord: without it a change
        set of 2,000 enterprises stopped at the 30 s query limit."""
        return (f"UNWIND $keys AS k MATCH (n:{ident(self.spec.label)} {{{ident(self.onto.key_of(self.spec.label))}: k}}) "
                f"WITH n, k MATCH (n)-[:{DERIVED_FROM}]->(t:{SOURCE_RECORD}) WHERE t.sourceSystem = $system "
                "AND t.sourceFile = $file RETURN k, collect([t.id, t.lineKey]) AS records",
                {"keys": keys, "system": self.mapping.source, "file": self.spec.path})

    def _settle(self) -> None:
        """What waited for the file's end, now that it was read: the rows deferred as superseded
        (`_existing`). A row is written again unless every row that superseded it stands later in
        the file: the source changed a value and then changed it back (the superseding row is gone, or
        earlier), or the file holds several rows of the node and the later ones' values stand (the
        rows of one batch that share a key merge in file order too). Written again, it leaves out what
        the rows standing after it state (`_yield_to_later_rows`). Such a row's line stays out of
        the ledger: while the superseding row stands, the next load reads it again. Lines a later
        row of their node overrode are dropped from the ledger. The rows that waited to be placed
        against a row without a line (`_unplaced`) are written now too, in file order."""
        self._read_whole = True
        while self._deferred or self._unplaced:  # writing one may defer another (`_existing`): until none waits
            deferred, self._deferred = self._deferred, []
            unplaced, self._unplaced = self._unplaced, []
            standing = self._standing([pair for p in deferred for pair in self._superseded[self._record_id(p)]])
            again = []
            for p in deferred:
                here = _position(p.row)
                if all((at := standing(record, key)) is not None and at > here
                       for record, key in self._superseded[self._record_id(p)]):
                    self.stats.unchanged += 1
                    if p.row.line_key is not None:
                        self._overridden.add(p.row.line_key)
                else:
                    again.append(p)
            self._forced.update(self._record_id(p) for p in (*again, *unplaced))
            # both in file order: a deferred row read again (what it stated may be placed anew), an
            # unplaced one written as prepared (normalised once: a changed workbook's rows all wait)
            waiting = sorted([*((p.row, None) for p in again), *((p.row, p) for p in unplaced)],
                             key=lambda pair: _position(pair[0]))
            for prepared, run in groupby(waiting, key=lambda pair: pair[1] is not None):
                for part in batched(run, self.batch_rows):
                    if prepared:
                        self.write([p for _, p in part if p is not None])
                    else:
                        self.load_batch([row for row, _ in part])
        self._settle_reviews()
        dropped = np.concatenate((np.fromiter(self._overridden, dtype=np.uint64, count=len(self._overridden)),
                                  self._overridden_in_reading()))
        if len(dropped):  # by numpy: a list comprehension over a large file's keys took seconds
            keys = np.fromiter(self.line_keys, dtype=np.uint64, count=len(self.line_keys))
            self.line_keys = keys[~np.isin(keys, dropped)].tolist()

    def _facts_stated(self, records: set[str]) -> dict[str, dict[str, Any]]:
        """What each of these records' rows stated about the node of this file's class."""
        if not records:
            return {}
        rows = with_content(self.store, self.store.read(
            f"UNWIND $ids AS i MATCH (s:{SOURCE_RECORD} {{id: i}}) RETURN s.id AS id, {record_content('s')}",
            {"ids": sorted(records)}))
        out: dict[str, dict[str, Any]] = {}
        for r in rows:
            facts = json.loads(r["facts"]) if r["facts"] else {}
            out[r["id"]] = next((v for k, v in facts.items() if k.startswith(f"{self.spec.label}:")), {})
        return out


def _yielded(item: str) -> tuple[str, str | None]:
    """(record id, line key) from a record's `yieldedTo` entry."""
    key, record = item.split(" ", 1)
    return record, None if key == "-" else key


def _position(row: SourceRow) -> int:
    """Where a row stands in its file: its line's index, or its number where the file has no lines (a workbook)."""
    return row.line if row.line is not None else row.number


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in values.items():
        if isinstance(v, (dt.date, dt.datetime)):
            out[k] = v.isoformat()
        elif isinstance(v, Uscc):
            out[k] = v.code
        else:
            out[k] = v
    return out
