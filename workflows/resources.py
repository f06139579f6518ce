"""The emergency-resource census (应急资源普查, seed 一(5)): rescue teams, warehouses with their supplies and
shelters register; the region's bureau reviews; approved entries get their code and are kept current
through it.

    (register) ──▶ pending ──approve──▶ approved ──update (audit)────────────▶ approved, changed at once
                      └────reject──▶ rejected        └─update (review)─▶ approved + pendingUpdate
                                                                           ──approve──▶ applied
                                                                           ──reject───▶ discarded

| step | from | to | who |
|---|---|---|---|
| register | — | pending | anyone (signed in or not); rate-limited at the API |
| approve / reject (note) | pending | approved / rejected | an admin, or an inspector whose regions cover the entry |
| update (headcount, stock, capacity, status) | approved | approved | whoever holds the entry's code (QR) |
| approve / reject the update | approved with a pending update | approved | as approve |
| list (the review queue) | any | — | an admin or analyst (all), an inspector (its regions) |

`RISKGRAPH_RESOURCE_UPDATES` = `audit` (default: an update through the code is applied at once and
audited) or `review` (it waits as `pendingUpdate` for the bureau). Every step is a write through the
one write service, so each entry's change log is its history.
"""
from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from riskgraph.api.access import Caller, Role
from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import decode_properties
from riskgraph.ontology.anchors import LOCATED_IN, REGION, REGION_CODE, RESCUE_TEAM, SHELTER, STORED_IN, SUPPLY, WAREHOUSE
from riskgraph.ontology.errors import N_, SettingError
from riskgraph.ontology.model import class_term
from riskgraph.workflows.actors import Denied, Missing, WorkflowError, WrongState, require
from riskgraph.workflows.origin import Origin
from riskgraph.workflows.public_reports import is_bureau_of, state_history
from riskgraph.workflows.writes import Link, WriteConflict, WriteService, Written

ENV_UPDATES = "RISKGRAPH_RESOURCE_UPDATES"
STATE = "reviewState"
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
#: the listing's filter for approved entries with an update waiting for review (not a state of its own)
HELD = "held"
LISTED = (PENDING, APPROVED, REJECTED, HELD)
KINDS = {"team": RESCUE_TEAM, "warehouse": WAREHOUSE, "shelter": SHELTER}
PREFIX = {RESCUE_TEAM: "RT", WAREHOUSE: "WH", SHELTER: "SH"}
#: what an update through a code may change, per class
UPDATABLE = {RESCUE_TEAM: ("members", "equipment", "status"), SUPPLY: ("quantity", "status"),
             SHELTER: ("capacityPeople", "facilities", "status"), WAREHOUSE: ("status",)}


def update_mode() -> str:
    mode = (os.environ.get(ENV_UPDATES) or "audit").strip().lower()
    if mode not in ("audit", "review"):
        raise SettingError(N_("{name} is audit or review, not {mode!r}"), name=ENV_UPDATES, mode=mode)
    return mode


@dataclass(frozen=True)
class SupplyIn:
    name: str
    category: str | None
    quantity: float
    unit: str | None


@dataclass
class Entry:
    label: str
    key: str
    props: dict[str, Any]

    @property
    def state(self) -> str | None:
        return self.props.get(STATE)

    @property
    def region(self) -> str | None:
        return self.props.get(REGION_CODE)


@dataclass
class Done:
    entry: Entry
    previous: str | None
    written: Written
    supplies: list[Written] = field(default_factory=list)
    applied: dict[str, Any] | None = None


@dataclass
class Listed:
    """One line of the census listing: the entry, a warehouse's supplies, a supply's warehouse (key, name)."""
    entry: Entry
    supplies: list[dict[str, Any]] = field(default_factory=list)
    warehouse: tuple[str, str | None] | None = None


def _prefix(code: str) -> str:
    text = str(code)
    while len(text) > 2 and text.endswith("00"):
        text = text[:-2]
    return text


class Census:
    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.onto = store.ontology
        self.writes = WriteService(store)

    # ------------------------------------------------------------------ register
    def register(self, caller: Caller, origin: Origin, kind: str, values: Mapping[str, Any],
                 supplies: Sequence[SupplyIn] = (), raw: Mapping[str, Any] | None = None) -> Done:
        label = KINDS.get(kind)
        if label is None:
            raise WorkflowError(N_("kind is one of {KINDS}"), "kind", KINDS=', '.join(KINDS))
        region = values.get(REGION_CODE)
        if not region or self.store.get_node(REGION, str(region)) is None:
            raise WorkflowError(N_("{region} is not a region of this service"), "region", code="unknown_region", region=region)
        if label != WAREHOUSE and supplies:
            raise WorkflowError(N_("only a warehouse lists supplies"), "supplies")
        own = self.onto.properties_of(label)
        unknown = [k for k, v in values.items() if v is not None and k not in own]
        if unknown:
            raise WorkflowError(N_("a {kind} has no {unknown}"), unknown[0], kind=kind, unknown=', '.join(unknown))
        key = f"{PREFIX[label]}-C-{uuid.uuid4().hex[:10].upper()}"
        row = {**{k: v for k, v in values.items() if v is not None}, "id": key, STATE: PENDING,
               "handledBy": caller.username, "revision": 1}
        written = self.writes.create(label, row, origin, links=[Link(LOCATED_IN, (REGION, str(region)))], raw=raw)
        made = []
        seen: set[str] = set()
        for s in supplies:
            name = s.name.strip()
            if not name or name in seen:
                raise WorkflowError(N_("each supply is named once ({name})"), "supplies", name=name or 'a blank name')
            seen.add(name)
            made.append(self.writes.create(SUPPLY, {"id": f"{key}:{name}", "name": name, "category": s.category,
                                                    "quantity": s.quantity, "unit": s.unit, STATE: PENDING},
                                           origin, links=[Link(STORED_IN, (WAREHOUSE, key))], raw=raw))
        return Done(entry=Entry(label, key, written.properties), previous=None, written=written, supplies=made)

    # ------------------------------------------------------------------ reading
    def get(self, key: str) -> Entry | None:
        for label in (RESCUE_TEAM, WAREHOUSE, SHELTER, SUPPLY):
            found = self.store.get_node(label, key)
            if found is not None:
                props = decode_properties(found)
                if label == SUPPLY and props.get(REGION_CODE) is None:
                    props[REGION_CODE] = self._warehouse_region(key)
                return Entry(label, key, props)
        return None

    def _entry(self, key: str) -> Entry:
        found = self.get(key)
        if found is None:
            raise Missing(N_("no census entry {key}"), "id", key=key)
        return found

    def _warehouse_region(self, supply: str) -> str | None:
        rows = self.store.read(
            f"MATCH (s:{ident(SUPPLY)} {{{ident(self.onto.key_of(SUPPLY))}: $k}})-[:{ident(STORED_IN)}]->(w:{ident(WAREHOUSE)}) "
            f"RETURN w.{ident(REGION_CODE)} AS r, w.{ident(STATE)} AS st LIMIT 1", {"k": supply})
        return rows[0]["r"] if rows else None

    def supplies_of(self, warehouse: str) -> list[str]:
        rows = self.store.read(
            f"MATCH (s:{ident(SUPPLY)})-[:{ident(STORED_IN)}]->(w:{ident(WAREHOUSE)} {{{ident(self.onto.key_of(WAREHOUSE))}: $k}}) "
            f"RETURN s.{ident(self.onto.key_of(SUPPLY))} AS k ORDER BY k", {"k": warehouse})
        return [str(r["k"]) for r in rows]

    def listing(self, caller: Caller, *, state: str | None = None, region: str | None = None, kind: str | None = None,
                limit: int = 200) -> list[Listed]:
        """The review queue and the census: entries in the caller's scope (inspectors: their regions), with a
        warehouse's supplies; `held` lists entries (supplies too) whose update through the code waits for
        review. Entries loaded from census files carry no review state and count as approved."""
        require(caller.role in (Role.INSPECTOR, Role.ADMIN, Role.ANALYST), caller,
                N_("the census is listed for inspectors, analysts and admins"))
        if state is not None and state not in LISTED:
            raise WorkflowError(N_("state is one of {LISTED}"), "state", LISTED=', '.join(LISTED))
        if kind is not None and kind not in KINDS:
            raise WorkflowError(N_("kind is one of {KINDS}"), "kind", KINDS=', '.join(KINDS))
        if region is not None and caller.role is Role.INSPECTOR and not caller.covers_region(region):
            raise Denied(N_("region {region} is outside your regions"), region=region)
        prefix = _prefix(region) if region else ""
        held = state == HELD
        where = (f"coalesce(n.{ident(STATE)}, $approved) = $state" if state in (PENDING, APPROVED, REJECTED) else
                 "n.pendingUpdate IS NOT NULL AND n.pendingUpdate <> ''" if held else "true")
        labels = [KINDS[kind]] if kind else list(KINDS.values())
        out: list[Listed] = []
        for label in labels:
            rows = self.store.read(f"MATCH (n:{ident(label)}) WHERE {where} RETURN properties(n) AS p",
                                   {"state": state, "approved": APPROVED})
            for row in rows:
                props = decode_properties(row["p"])
                out.append(Listed(Entry(label, str(props.get(self.onto.key_of(label))), props)))
        if held and (kind is None or kind == "warehouse"):
            rows = self.store.read(
                f"MATCH (n:{ident(SUPPLY)})-[:{ident(STORED_IN)}]->(w:{ident(WAREHOUSE)}) "
                "WHERE n.pendingUpdate IS NOT NULL AND n.pendingUpdate <> '' "
                f"RETURN properties(n) AS p, w.{ident(self.onto.key_of(WAREHOUSE))} AS wk, w.name AS wn, "
                f"w.{ident(REGION_CODE)} AS wr")
            for row in rows:
                props = decode_properties(row["p"])
                props[REGION_CODE] = row["wr"]
                out.append(Listed(Entry(SUPPLY, str(props.get(self.onto.key_of(SUPPLY))), props),
                                  warehouse=(str(row["wk"]), row["wn"])))
        out = [i for i in out if (i.entry.region or "").startswith(prefix)
               and (caller.role is not Role.INSPECTOR or caller.covers_region(i.entry.region))]
        out.sort(key=lambda i: (str(i.entry.props.get("reviewedAt") or ""), i.entry.key), reverse=True)
        out = out[:limit]
        self._attach_supplies([i for i in out if i.entry.label == WAREHOUSE])
        return out

    def _attach_supplies(self, items: Sequence[Listed]) -> None:
        if not items:
            return
        by_key = {i.entry.key: i for i in items}
        rows = self.store.read(
            f"MATCH (s:{ident(SUPPLY)})-[:{ident(STORED_IN)}]->(w:{ident(WAREHOUSE)}) "
            f"WHERE w.{ident(self.onto.key_of(WAREHOUSE))} IN $keys "
            f"RETURN w.{ident(self.onto.key_of(WAREHOUSE))} AS w, properties(s) AS p", {"keys": list(by_key)})
        for row in rows:
            by_key[str(row["w"])].supplies.append(decode_properties(row["p"]))
        for i in items:
            i.supplies.sort(key=lambda p: str(p.get("name") or ""))

    # ------------------------------------------------------------------ review
    def review(self, caller: Caller, origin: Origin, key: str, *, approve: bool, note: str | None = None,
               raw: Mapping[str, Any] | None = None) -> Done:
        """Approve or reject a pending entry, or the update waiting on an approved one."""
        entry = self._entry(key)
        if not is_bureau_of(caller, entry.region):
            raise Denied(N_("only the bureau of {region} (an inspector of it, or an admin) may review {key}"),
                         code="unauthorized" if caller.anonymous else "forbidden", region=entry.region or 'the entry’s region', key=key)
        note = (note or "").strip() or None
        if not approve and not note:
            raise WorkflowError(N_("say why it is rejected"), "note")
        if entry.state == PENDING:
            done = self._move(entry, origin, caller, {STATE: APPROVED if approve else REJECTED, "reviewNote": note}, raw)
            if entry.label == WAREHOUSE:
                for supply in self.supplies_of(key):
                    s = self._entry(supply)
                    done.supplies.append(self._move(s, origin, caller, {STATE: APPROVED if approve else REJECTED}, raw).written)
            return done
        pending = entry.props.get("pendingUpdate")
        if entry.state == APPROVED and pending:
            update = json.loads(pending)
            changes: dict[str, Any] = {"pendingUpdate": "", "reviewNote": note}
            if approve:
                changes.update(update)
            done = self._move(entry, origin, caller, changes, raw)
            done.applied = update if approve else None
            return done
        raise WrongState(N_("{key} is {state}: nothing waits for review"), STATE,
                         key=key, state=entry.state or 'not under review')

    def _move(self, entry: Entry, origin: Origin, caller: Caller | None, changes: dict[str, Any],
              raw: Mapping[str, Any] | None) -> Done:
        revision = entry.props.get("revision")
        props = {**{k: v for k, v in changes.items() if v is not None}, "revision": int(revision or 0) + 1,
                 "reviewedAt": origin.at}
        if caller is not None:
            props["handledBy"] = caller.username
        expect = {STATE: entry.state, "revision": revision}
        try:
            written = self.writes.update(entry.label, entry.key, props, origin, raw=raw, expect=expect)
        except WriteConflict:
            raise WrongState(N_("{key} changed while this step was checked; reload it"), STATE, key=entry.key) from None
        return Done(entry=Entry(entry.label, entry.key, written.properties), previous=entry.state, written=written)

    def history(self, caller: Caller, key: str) -> tuple[Entry, list[dict[str, Any]]]:
        """Every review and update of the entry (its bureau, analysts)."""
        entry = self._entry(key)
        if not (is_bureau_of(caller, entry.region) or caller.role is Role.ANALYST):
            raise Denied(N_("the history of {key} is for the bureau of its region"),
                         code="unauthorized" if caller.anonymous else "forbidden", key=key)
        return entry, state_history(self.store, entry.label, key)

    # ------------------------------------------------------------------ update through the code
    def update(self, origin: Origin, label: str, key: str, values: Mapping[str, Any],
               raw: Mapping[str, Any] | None = None) -> Done:
        """Headcount, stock, capacity or status sent through the entry's code: applied (audit mode) or
        kept for review (review mode)."""
        entry = self._entry(key)
        if entry.label != label:
            raise Missing(N_("no {label} {key}"), "id", label=class_term(label), key=key)
        if entry.state not in (APPROVED, None):  # None: loaded from the census files, approved there
            raise WrongState(N_("{key} is {state}: only approved entries are updated through their code"), STATE,
                             key=key, state=entry.state)
        allowed = UPDATABLE[entry.label]
        given = {k: v for k, v in values.items() if v is not None}
        wrong = [k for k in given if k not in allowed]
        if wrong or not given:
            raise WorkflowError(N_("a {label} is updated in {allowed} only"), (wrong or ["values"])[0],
                                label=entry.label, allowed=', '.join(allowed))
        if update_mode() == "review":
            return self._move(entry, origin, None, {"pendingUpdate": json.dumps(given, ensure_ascii=False, sort_keys=True)}, raw)
        done = self._move(entry, origin, None, given, raw)
        done.applied = given
        return done


__all__ = ["APPROVED", "Census", "Done", "ENV_UPDATES", "Entry", "HELD", "KINDS", "LISTED", "Listed", "PENDING",
           "REJECTED", "SupplyIn", "UPDATABLE",
           "update_mode"]
