"""The closed hidden-danger loop (上报 → 整改 → 验收 → 销号), for the API and the command line alike.

    REPORTED ──assign──▶ RECTIFYING ──submit──▶ RECTIFIED ──accept──▶ VERIFIED ──close──▶ CLOSED
        └────────────submit (立查立改)────────────▲        └──reject──▶ RECTIFYING

The states are the HiddenDangerState vocabulary's notations: RECTIFIED is the issue's SUBMITTED
(rectification handed in, awaiting acceptance), VERIFIED its ACCEPTED; ASSIGNED (交办) comes from the
source systems and counts as open. A rectification may be submitted from any open state.

| step | from | to | who |
|---|---|---|---|
| assign (deadline, responsible person) | open | RECTIFYING | the enterprise, or its bureau |
| submit (description, cost, photos) | open | RECTIFIED | the enterprise |
| accept (note) | RECTIFIED | VERIFIED | its bureau; the enterprise itself for 一般隐患 |
| reject (note) | RECTIFIED | RECTIFYING | as accept |
| close (销号, note) | VERIFIED | CLOSED | as accept |

The bureau is an inspector whose regions cover the enterprise, or an admin; 重大隐患 need the bureau.
Every step is one compare-and-set write of the danger through the one write service (it happens
only while the danger is still in the state the step was checked against), then — for a
submission — the rectification node with its evidence, linked to the danger. Each write keeps who,
when, through what and what was sent; `history()` reads the danger's writes back, step by step.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from riskgraph.api.access import Caller
from riskgraph.api.schema import ENTERPRISE, HIDDEN_DANGER, RECTIFICATION, REGION_CODE, RISK_POINT, Schema
from riskgraph.graph.dialect import ident
from riskgraph.graph.packed_content import record_content, with_content
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import decode_properties
from riskgraph.ontology.anchors import (
    ACCEPTED_STATE,
    CHANGE_EVENT,
    CLOSED_STATE,
    DERIVED_FROM,
    RECTIFIED_STATE,
    SOURCE_RECORD,
)
from riskgraph.ontology.errors import N_, Message, Term, as_message
from riskgraph.workflows.actors import (
    Denied,
    Missing,
    Owner,
    WorkflowError,
    WrongState,
    is_bureau,
    is_owner,
    level,
    photos_for_write,
    require,
)
from riskgraph.workflows.origin import Origin
from riskgraph.workflows.photos import PhotoStore
from riskgraph.workflows.writes import Link, WriteConflict, WriteService, Written

STATE = "state"
GRADE = "grade"
REPORTED, ASSIGNED, RECTIFYING = "REPORTED", "ASSIGNED", "RECTIFYING"
SUBMITTED, ACCEPTED, CLOSED = RECTIFIED_STATE, ACCEPTED_STATE, CLOSED_STATE
OPEN = (REPORTED, ASSIGNED, RECTIFYING)
GENERAL = "GENERAL"
#: who may take a step: the enterprise, its bureau, or (acceptance) the enterprise for 一般隐患 only
OWNER, OWNER_OR_BUREAU, REVIEWER = "owner", "owner_or_bureau", "reviewer"


#: the steps' names as messages say them (the catalog translates them: 交办, 提交整改 …)
STEP_WORDS = {"assign": N_("assign"), "submit": N_("submit"), "accept": N_("accept"), "reject": N_("reject"),
              "close": N_("close")}


def step_word(name: str) -> Message:
    return as_message(STEP_WORDS.get(name, name))


@dataclass(frozen=True)
class Step:
    name: str
    sources: tuple[str, ...]
    target: str
    who: str


STEPS = {
    "assign": Step("assign", OPEN, RECTIFYING, OWNER_OR_BUREAU),
    "submit": Step("submit", OPEN, SUBMITTED, OWNER),
    "accept": Step("accept", (SUBMITTED,), ACCEPTED, REVIEWER),
    "reject": Step("reject", (SUBMITTED,), RECTIFYING, REVIEWER),
    "close": Step("close", (ACCEPTED,), CLOSED, REVIEWER),
}


def _check_vocabulary() -> None:
    from riskgraph.ontology.model import load_ontology

    onto = load_ontology()
    states = onto.vocabulary(onto.properties_of(HIDDEN_DANGER)[STATE].vocabulary or "")
    missing = [s for s in (*OPEN, SUBMITTED, ACCEPTED, CLOSED) if s not in states]
    if missing:
        raise RuntimeError(f"the HiddenDangerState vocabulary lacks {missing}: the rectification loop cannot run")


_check_vocabulary()


@dataclass(frozen=True)
class Danger:
    """A hidden danger as stored, and the enterprise it belongs to."""

    id: str
    props: dict[str, Any]
    owner: Owner
    risk_point: str | None = None

    @property
    def state(self) -> str | None:
        return self.props.get(STATE)

    @property
    def grade(self) -> str | None:
        return self.props.get(GRADE)


@dataclass
class Moved:
    """What a step wrote: the danger after it, and the rectification it created or reviewed."""

    danger: Danger
    previous: str | None
    written: Written
    rectification: Written | None = None
    photos: list[str] = field(default_factory=list)


class Loop:
    """The loop over one store; cheap to make per request."""

    def __init__(self, store: GraphStore, photos: PhotoStore | None = None) -> None:
        self.store = store
        self.onto = store.ontology
        self.schema = Schema(self.onto)
        self.writes = WriteService(store)
        self.photos = photos
        self.has = self.schema.relation_between(ENTERPRISE, HIDDEN_DANGER).type
        self.at = self.schema.relation_between(HIDDEN_DANGER, RISK_POINT).type
        self.rectified_by = self.schema.relation_between(HIDDEN_DANGER, RECTIFICATION).type

    # ------------------------------------------------------------------ reading
    def get(self, danger_id: str) -> Danger | None:
        e_key = ident(self.onto.key_of(ENTERPRISE))
        rows = self.store.read(
            f"MATCH (h:{ident(HIDDEN_DANGER)} {{{ident(self.onto.key_of(HIDDEN_DANGER))}: $id}}) "
            f"OPTIONAL MATCH (e:{ident(ENTERPRISE)})-[:{ident(self.has)}]->(h) "
            f"OPTIONAL MATCH (h)-[:{ident(self.at)}]->(p:{ident(RISK_POINT)}) "
            f"RETURN properties(h) AS h, e.{e_key} AS uscc, e.{ident(REGION_CODE)} AS region, e.name AS name, "
            f"p.{ident(self.onto.key_of(RISK_POINT))} AS point LIMIT 1",
            {"id": danger_id})
        if not rows:
            return None
        row = rows[0]
        props = row["h"]
        owner = Owner(uscc=str(row["uscc"] or ""), region=row["region"] or props.get(REGION_CODE), name=row["name"])
        return Danger(id=danger_id, props=props, owner=owner, risk_point=row["point"])

    def of_enterprise(self, owner: Owner, *, limit: int = 50, risk_point: str | None = None) -> list[Danger]:
        """The enterprise's dangers that are not closed yet (at one risk point, if given), newest first."""
        e_key = ident(self.onto.key_of(ENTERPRISE))
        p_key = ident(self.onto.key_of(RISK_POINT))
        where = f" MATCH (h)-[:{ident(self.at)}]->(p:{ident(RISK_POINT)} {{{p_key}: $point}})" if risk_point else ""
        rows = self.store.read(
            f"MATCH (e:{ident(ENTERPRISE)} {{{e_key}: $u}})-[:{ident(self.has)}]->(h:{ident(HIDDEN_DANGER)}){where} "
            f"WHERE h.{ident(STATE)} IS NULL OR h.{ident(STATE)} <> $closed "
            f"OPTIONAL MATCH (h)-[:{ident(self.at)}]->(q:{ident(RISK_POINT)}) "
            f"RETURN properties(h) AS h, q.{p_key} AS point ORDER BY coalesce(h.foundOnMs, 0) DESC LIMIT $limit",
            {"u": owner.uscc, "closed": CLOSED, "limit": limit, "point": risk_point})
        key = self.onto.key_of(HIDDEN_DANGER)
        return [Danger(id=str(r["h"].get(key)), props=r["h"], owner=owner, risk_point=r["point"]) for r in rows]

    def _danger(self, danger_id: str) -> Danger:
        found = self.get(danger_id)
        if found is None:
            raise Missing(N_("no hidden danger {danger_id}"), "id", danger_id=danger_id)
        return found

    def visible(self, caller: Caller, label: str, props: Mapping[str, Any], owner: Owner) -> dict[str, Any]:
        """A node of this enterprise's as the caller may read it."""
        return decode_properties(self.onto.visible(label, dict(props), min(level(caller, owner), caller.ceiling)))

    # ------------------------------------------------------------------ reporting
    def report(self, caller: Caller, origin: Origin, owner: Owner, *, name: str, grade: str = GENERAL,
               description: str | None = None, hazard_factors: Sequence[str] = (), deadline: dt.date | None = None,
               responsible: str | None = None, risk_point: str | None = None, source: str, photos: Sequence[str] = (),
               links: Sequence[Link] = (), raw: Mapping[str, Any] | None = None, prefix: str = "HD") -> Written:
        """A new hidden danger of the enterprise: REPORTED, or RECTIFYING when it comes with both its
        deadline and the person responsible (as `assign` would set them)."""
        require(is_owner(caller, owner) or is_bureau(caller, owner), caller,
                N_("hidden dangers are filed by the enterprise itself or by its bureau"))
        today = origin.at.date()
        if deadline is not None and deadline < today:
            raise WorkflowError(N_("a rectification deadline cannot lie in the past"), "deadline")
        photo_ids = photos_for_write(self.photos, photos, caller)
        responsible = (responsible or "").strip() or None
        row = {
            "id": f"{prefix}-{uuid.uuid4().hex[:12].upper()}", "name": name.strip(), GRADE: grade,
            STATE: RECTIFYING if deadline is not None and responsible else REPORTED, "foundOn": today,
            "deadline": deadline, "rectificationPerson": responsible, "description": description,
            "hazardFactors": list(hazard_factors) or None, REGION_CODE: owner.region, "reportSource": source,
            "photos": photo_ids or None, "handledBy": caller.username, "stateChangedAt": origin.at, "revision": 1,
        }
        all_links = [Link(self.has, (ENTERPRISE, owner.uscc), outgoing=False)]
        if risk_point:
            all_links.append(Link(self.at, (RISK_POINT, risk_point)))
        written = self.writes.create(HIDDEN_DANGER, row, origin, links=[*all_links, *links], raw=raw)
        self._attach(photo_ids, HIDDEN_DANGER, written.key)
        return written

    # ------------------------------------------------------------------ the steps
    def assign(self, caller: Caller, origin: Origin, danger_id: str, *, deadline: dt.date, responsible: str,
               note: str | None = None, raw: Mapping[str, Any] | None = None) -> Moved:
        if deadline < origin.at.date():
            raise WorkflowError(N_("a rectification deadline cannot lie in the past"), "deadline")
        if not responsible.strip():
            raise WorkflowError(N_("name the person responsible for the rectification"), "responsible")
        return self._move(caller, origin, "assign", danger_id,
                          {"deadline": deadline, "rectificationPerson": responsible.strip(), "stateNote": note}, raw)

    def submit(self, caller: Caller, origin: Origin, danger_id: str, *, description: str, cost: float | None = None,
               photos: Sequence[str] = (), raw: Mapping[str, Any] | None = None) -> Moved:
        """The rectification's evidence: the danger moves to RECTIFIED, then a Rectification node
        holding the evidence is linked to it (one write each; the first decides, so a second
        submission racing this one is refused rather than recorded twice)."""
        if not description.strip():
            raise WorkflowError(N_("describe what was done"), "description")
        if cost is not None and cost < 0:
            raise WorkflowError(N_("a cost cannot be negative"), "cost")
        danger = self._danger(danger_id)
        self._may(caller, STEPS["submit"], danger)
        photo_ids = photos_for_write(self.photos, photos, caller)
        moved = self._move(caller, origin, "submit", danger_id, {"stateNote": ""}, raw, danger=danger)
        rect = {"id": f"RF-{danger_id}-{origin.request_id[:8].upper()}", "name": f"整改：{danger.props.get('name') or danger_id}",
                "measure": description.strip(), "cost": cost, "photos": photo_ids or None,
                "completedOn": origin.at.date(), "handledBy": caller.username}
        moved.rectification = self.writes.create(RECTIFICATION, rect, origin, raw=raw,
                                                 links=[Link(self.rectified_by, (HIDDEN_DANGER, danger_id), outgoing=False)])
        self._attach(photo_ids, RECTIFICATION, moved.rectification.key)
        moved.photos = photo_ids
        return moved

    def accept(self, caller: Caller, origin: Origin, danger_id: str, *, note: str | None = None,
               raw: Mapping[str, Any] | None = None) -> Moved:
        moved = self._move(caller, origin, "accept", danger_id, {"stateNote": note}, raw)
        moved.rectification = self._review(caller, origin, danger_id, True, note, raw)
        return moved

    def reject(self, caller: Caller, origin: Origin, danger_id: str, *, note: str, deadline: dt.date | None = None,
               raw: Mapping[str, Any] | None = None) -> Moved:
        if not note.strip():
            raise WorkflowError(N_("say why the rectification is sent back"), "note")
        if deadline is not None and deadline < origin.at.date():
            raise WorkflowError(N_("a rectification deadline cannot lie in the past"), "deadline")
        moved = self._move(caller, origin, "reject", danger_id, {"stateNote": note.strip(), "deadline": deadline}, raw)
        moved.rectification = self._review(caller, origin, danger_id, False, note, raw)
        return moved

    def close(self, caller: Caller, origin: Origin, danger_id: str, *, note: str | None = None,
              raw: Mapping[str, Any] | None = None) -> Moved:
        return self._move(caller, origin, "close", danger_id, {"stateNote": note}, raw)

    def allowed(self, caller: Caller, danger: Danger) -> list[str]:
        """The steps this caller may take on the danger as it is now (what a page offers)."""
        out = []
        for step in STEPS.values():
            if danger.state in step.sources and self._permitted(caller, step, danger):
                out.append(step.name)
        return out

    # ------------------------------------------------------------------ machinery
    def _permitted(self, caller: Caller, step: Step, danger: Danger) -> bool:
        owner, bureau = is_owner(caller, danger.owner), is_bureau(caller, danger.owner)
        if step.who == OWNER:
            return owner
        if step.who == OWNER_OR_BUREAU:
            return owner or bureau
        return bureau or (owner and danger.grade == GENERAL)

    def _may(self, caller: Caller, step: Step, danger: Danger) -> None:
        if self._permitted(caller, step, danger):
            return
        if step.who == REVIEWER and is_owner(caller, danger.owner):
            message = N_("{id} is a major hidden danger (重大隐患): only its bureau may {step} it")
        elif step.who == OWNER:
            message = N_("only the enterprise's own account may {step} {id}")
        else:
            message = N_("only the enterprise or an inspector of its region may {step} {id}")
        raise Denied(message, code="unauthorized" if caller.anonymous else "forbidden", id=danger.id, step=step_word(step.name))

    def _move(self, caller: Caller, origin: Origin, name: str, danger_id: str, changes: dict[str, Any],
              raw: Mapping[str, Any] | None, *, danger: Danger | None = None) -> Moved:
        step = STEPS[name]
        danger = danger or self._danger(danger_id)
        self._may(caller, step, danger)
        if danger.state not in step.sources:
            raise WrongState(N_("{danger_id} is {state}: {name} applies to {sources} only"), STATE,
                             danger_id=danger_id, state=self._state_label(danger.state), name=step_word(name),
                             sources=Term.joined((self._state_label(s) for s in step.sources), zh="、"))
        revision = danger.props.get("revision")
        props = {STATE: step.target, "handledBy": caller.username, "stateChangedAt": origin.at,
                 "revision": int(revision or 0) + 1, **{k: v for k, v in changes.items() if v is not None}}
        try:  # the revision orders the steps (several may share a second) and guards against a racing one
            written = self.writes.update(HIDDEN_DANGER, danger_id, props, origin, raw=raw,
                                         expect={STATE: danger.state, "revision": revision})
        except WriteConflict:
            raise WrongState(N_("{danger_id} moved on while this {name} was checked; reload it"), STATE,
                             danger_id=danger_id, name=step_word(name)) from None
        after = Danger(id=danger_id, props=written.properties, owner=danger.owner, risk_point=danger.risk_point)
        return Moved(danger=after, previous=danger.state, written=written)

    def _review(self, caller: Caller, origin: Origin, danger_id: str, accepted: bool, note: str | None,
                raw: Mapping[str, Any] | None) -> Written | None:
        """The acceptance's verdict on the rectification awaiting it (the newest without one)."""
        key = ident(self.onto.key_of(RECTIFICATION))
        rows = self.store.read(
            f"MATCH (h:{ident(HIDDEN_DANGER)} {{{ident(self.onto.key_of(HIDDEN_DANGER))}: $id}})"
            f"-[:{ident(self.rectified_by)}]->(r:{ident(RECTIFICATION)}) WHERE r.accepted IS NULL "
            f"RETURN r.{key} AS k ORDER BY coalesce(r.completedOnMs, 0) DESC, r.{key} DESC LIMIT 1", {"id": danger_id})
        if not rows:
            return None
        verdict = {"accepted": accepted, "verifiedOn": origin.at.date(), "conclusion": (note or "").strip() or None}
        return self.writes.update(RECTIFICATION, str(rows[0]["k"]), verdict, origin, raw=raw)

    def _attach(self, photo_ids: Sequence[str], label: str, key: str) -> None:
        if photo_ids and self.photos is not None:
            self.photos.attach(photo_ids, label, key)

    def _state_label(self, state: str | None) -> Term:
        """The state as messages name it: its notation, in Chinese its skos:prefLabel@zh."""
        return self.onto.vocabulary(self.onto.properties_of(HIDDEN_DANGER)[STATE].vocabulary or "").term(str(state))

    # ------------------------------------------------------------------ history
    def history(self, caller: Caller, danger_id: str) -> tuple[Danger, list[dict[str, Any]]]:
        """Every write of the danger, oldest first: when, by whom, what it set (as far as the caller
        may read the danger), the state before and after, and a submission's evidence."""
        danger = self._danger(danger_id)
        seen = min(level(caller, danger.owner), caller.ceiling)
        if self.onto.disclosure_of(HIDDEN_DANGER, STATE) > seen:
            require(False, caller, N_("the history of {danger_id} is for the enterprise and its bureau"),
                                   danger_id=danger_id)
        written = self._writes_of(HIDDEN_DANGER, danger_id)
        # the loop's own steps carry a revision: they follow, in its order, whatever wrote the danger before
        order = {request: i for i, request in enumerate(written)}
        entries = dict(sorted(written.items(), key=lambda kv: (
            kv[1][0].get("revision") is not None, int(kv[1][0].get("revision") or 0), order[kv[0]])))
        evidence = self._rectification_writes(danger_id)
        out: list[dict[str, Any]] = []
        state: str | None = None
        first = next(iter(entries.values()), None)
        if first is None or "foundOn" not in first[0]:  # it existed before its first recorded write
            state = self._state_before_writes(danger_id) if first is not None else danger.state
            out.append({"step": "import", "at": None, "by": None, "fromState": None, "toState": state, "note": None,
                        "values": {}, "evidence": None})
        for request, (facts, channel) in entries.items():
            shown = {k: v for k, v in facts.items() if self.onto.disclosure_of(HIDDEN_DANGER, k) <= seen
                     and k != self.onto.key_of(HIDDEN_DANGER)}
            after = facts.get(STATE, state)
            entry: dict[str, Any] = {
                "step": _step_name(state, after, first=not out, imported=channel != "api" and channel != "cli"),
                "at": facts.get("stateChangedAt"), "by": shown.get("handledBy"), "fromState": state, "toState": after,
                "note": shown.get("stateNote"), "values": shown, "evidence": None,
            }
            for rect_facts in evidence.get(request, []):
                entry["evidence"] = {k: v for k, v in rect_facts.items()
                                     if self.onto.disclosure_of(RECTIFICATION, k) <= seen}
            out.append(entry)
            state = after
        return danger, out

    def _state_before_writes(self, danger_id: str) -> str | None:
        """The state a danger had before its first logged change of state."""
        rows = self.store.read(
            f"MATCH (c:{ident(CHANGE_EVENT)}) WHERE c.entityKey = $key AND c.entityLabel = $label AND c.property = $p "
            "RETURN c.oldValue AS old ORDER BY c.changedAtMs LIMIT 1", {"key": danger_id, "label": HIDDEN_DANGER, "p": STATE})
        if not rows or rows[0]["old"] is None:
            return None
        try:
            old = json.loads(rows[0]["old"])
        except json.JSONDecodeError:
            return None
        return str(old) if old is not None else None

    def _writes_of(self, label: str, key: str) -> dict[str, tuple[dict[str, Any], str]]:
        """request → (the facts it wrote about the node, its channel), in the order written."""
        rows = with_content(self.store, self.store.read(
            f"MATCH (n:{ident(label)} {{{ident(self.onto.key_of(label))}: $key}})-[:{ident(DERIVED_FROM)}]->"
            f"(s:{ident(SOURCE_RECORD)}) RETURN {record_content('s')}, s.requestId AS request, s.loadId AS load, "
            "s.id AS id, s.sourceSystem AS channel ORDER BY coalesce(s.loadedAtMs, 0), s.id",
            {"key": key}))
        out: dict[str, tuple[dict[str, Any], str]] = {}
        for row in rows:
            facts = _facts_of(row["facts"], label, key)
            out[str(row["request"] or row["load"] or row["id"])] = (facts, str(row["channel"] or ""))
        return out

    def _rectification_writes(self, danger_id: str) -> dict[str, list[dict[str, Any]]]:
        r_key = ident(self.onto.key_of(RECTIFICATION))
        rows = with_content(self.store, self.store.read(
            f"MATCH (h:{ident(HIDDEN_DANGER)} {{{ident(self.onto.key_of(HIDDEN_DANGER))}: $id}})"
            f"-[:{ident(self.rectified_by)}]->(r:{ident(RECTIFICATION)})-[:{ident(DERIVED_FROM)}]->(s:{ident(SOURCE_RECORD)}) "
            f"RETURN r.{r_key} AS key, {record_content('s')}, s.requestId AS request, s.loadId AS load "
            "ORDER BY coalesce(s.loadedAtMs, 0)",
            {"id": danger_id}))
        out: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            out.setdefault(str(row["request"] or row["load"]), []).append(
                {"id": str(row["key"]), **_facts_of(row["facts"], RECTIFICATION, str(row["key"]))})
        return out


def _facts_of(text: str | None, label: str, key: str) -> dict[str, Any]:
    try:
        facts = json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}
    return decode_properties(facts.get(f"{label}:{key}") or {})


def _step_name(before: str | None, after: str | None, *, first: bool, imported: bool) -> str:
    """Which step a write was, from the states before and after it."""
    if first:
        return "import" if imported else "report"
    if before == after:
        return "update"
    for step in STEPS.values():
        if after == step.target and before in step.sources:
            return step.name
    return "import" if imported else "update"


__all__ = ["ACCEPTED", "CLOSED", "Danger", "Denied", "Loop", "Missing", "Moved", "OPEN", "REPORTED", "RECTIFYING",
           "STEPS", "SUBMITTED", "WorkflowError", "WrongState"]
