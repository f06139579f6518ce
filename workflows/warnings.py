"""The warning workflow: generation from the rules, then draft → approved | rejected → published →
acknowledged → closed, every step recorded (`WarningTransition`: from, to, who, role, why, when).

- `generate(store)` reads the facts, runs the rules (reasoning/warnings/) and `record`s the candidates:
  a candidate whose trigger key (rule + subject [+ period]) has an open warning updates it — new
  evidence, a higher level, one more trigger — and nothing floods; one whose facts were already in a
  rejected or closed warning is suppressed; anything else becomes a new draft with its push plan and
  suggested control measures.
- `approve`, `reject`, `publish`, `acknowledge`, `close` check the actor (role and region, the level's
  approval policy in rules.toml) and move the state with a conditional write, so two people acting
  at once cannot both succeed. `publish` enqueues one delivery per recipient × channel in the outbox
  (notify/outbox.py) before it flips the state, so a crash in between loses nothing.

Warnings are keyed by an id that begins with the region code (it is also the CAP identifier).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from riskgraph.api.access import Caller, Role, region_prefix
from riskgraph.api.users import UserStore
from riskgraph.graph.dialect import ident, where
from riskgraph.graph.store import GraphStore, batched
from riskgraph.graph.values import LOCAL_TZ, encode_properties
from riskgraph.notify import outbox
from riskgraph.notify.channels import ChannelRegistry
from riskgraph.ontology.anchors import CONTROL_MEASURE_TYPE, RECOMMENDATION, RECOMMENDS
from riskgraph.ontology.errors import N_, RiskGraphError, Term, as_message
from riskgraph.reasoning.warnings import Candidate, Rules, evaluate, load_rules
from riskgraph.reasoning.warnings.read import read_facts
from riskgraph.reasoning.warnings.rules import colour_rank, max_colour
from riskgraph.workflows import push_plan

WARNING = "Warning"
TRANSITION = "WarningTransition"
HAS_TRANSITION = "HAS_TRANSITION"
WARNS = "WARNS"
WARNS_REGION = "WARNS_REGION"
SYSTEM = "system"

DRAFT, APPROVED, REJECTED, PUBLISHED, ACKNOWLEDGED, CLOSED = "draft", "approved", "rejected", "published", "acknowledged", "closed"
#: states and actions as refusals name them in Chinese
WORDS = {DRAFT: "草稿", APPROVED: "已审核", REJECTED: "已驳回", PUBLISHED: "已发布", ACKNOWLEDGED: "已签收", CLOSED: "已关闭",
         "approve": "审核", "reject": "驳回", "publish": "发布", "ack": "签收", "close": "关闭", "approval": "审核",
         "rejection": "驳回", "editing the push plan": "修改推送计划", "publishing": "发布", "closing": "关闭"}


def _word(text: object) -> Term:
    return Term(str(text), zh=WORDS.get(str(text), str(text)))


def _either(texts: Iterable[str]) -> Term:
    return Term.joined(map(_word, texts), " or ", zh="或")
STATES = (DRAFT, APPROVED, REJECTED, PUBLISHED, ACKNOWLEDGED, CLOSED)
OPEN_STATES = (DRAFT, APPROVED, PUBLISHED, ACKNOWLEDGED)
#: what an enterprise may see: the warnings addressed to it once they are sent
ADDRESSED_STATES = (PUBLISHED, ACKNOWLEDGED, CLOSED)
#: action → (states it starts from, state it leads to)
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "approve": ((DRAFT,), APPROVED),
    "reject": ((DRAFT, APPROVED), REJECTED),
    "publish": ((APPROVED,), PUBLISHED),
    "ack": ((PUBLISHED, ACKNOWLEDGED), ACKNOWLEDGED),
    "close": ((PUBLISHED, ACKNOWLEDGED), CLOSED),
}


class WarningError(RiskGraphError):
    """A workflow step that cannot be done: `code` is not_found, forbidden, conflict or invalid."""

    def __init__(self, code: str, message: str, details: Any = None, **values: Any) -> None:
        super().__init__(message, **values)
        self.code = code
        self.message = self.text
        self.details = details


def now() -> dt.datetime:
    moment = dt.datetime.now(LOCAL_TZ)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _parsed(text: Any, default: Any) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except (TypeError, json.JSONDecodeError):
        return default


def decode(props: Mapping[str, Any]) -> dict[str, Any]:
    """A stored warning for people: JSON fields parsed, companions left out."""
    out = {k: v for k, v in props.items() if not k.endswith(("Ms", "Tokens"))}
    for name, default in (("warningEvidence", {"items": [], "total": 0}), ("suggestedMeasures", []),
                          ("pushPlan", {"recipients": []}), ("acknowledgements", [])):
        out[name] = _parsed(props.get(name), default)
    return out


# ---------------------------------------------------------------------- who may do what
@dataclass(frozen=True)
class Actor:
    username: str
    role: Role
    regions: tuple[str, ...] = ()
    uscc: str | None = None

    @classmethod
    def of(cls, caller: Caller) -> Actor:
        return cls(caller.username or "anonymous", caller.role, caller.regions, caller.uscc)

    @property
    def prefixes(self) -> tuple[str, ...]:
        return tuple(region_prefix(r) for r in self.regions)

    def covers(self, region: str | None) -> bool:
        return bool(region) and any(str(region).startswith(p) for p in self.prefixes)

    def scope_level(self, region: str | None) -> str | None:
        """COUNTY, CITY or PROVINCE: the broadest of this inspector's regions that covers `region`."""
        covering = [p for p in self.prefixes if region and str(region).startswith(p)]
        if not covering:
            return None
        shortest = min(len(p) for p in covering)
        return {2: "PROVINCE", 4: "CITY"}.get(shortest, "COUNTY")


SYSTEM_ACTOR = Actor(SYSTEM, Role.ADMIN)


def can_see(actor: Actor, w: Mapping[str, Any]) -> bool:
    if actor.role in (Role.ADMIN, Role.ANALYST):
        return True
    if actor.role is Role.INSPECTOR:
        return actor.covers(w.get("regionCode"))
    if actor.role is Role.ENTERPRISE:
        return w.get("responsibleEnterprise") == actor.uscc and w.get("warningState") in ADDRESSED_STATES
    return False


def can_approve(actor: Actor, w: Mapping[str, Any], rules: Rules) -> bool:
    """Admins; inspectors whose scope over the warning's region is one the level's policy allows."""
    if actor.role is Role.ADMIN:
        return True
    if actor.role is not Role.INSPECTOR:
        return False
    scope = actor.scope_level(w.get("regionCode"))
    return scope is not None and scope in rules["approval"]["levels"][w.get("warningLevel") or "RED"]


def can_acknowledge(actor: Actor, w: Mapping[str, Any]) -> bool:
    """A recipient: the responsible enterprise's account, an inspector of the region, an admin."""
    if actor.role is Role.ADMIN:
        return True
    if actor.role is Role.ENTERPRISE:
        return w.get("responsibleEnterprise") == actor.uscc
    return actor.role is Role.INSPECTOR and actor.covers(w.get("regionCode"))


def visibility(actor: Actor, var: str = "w") -> tuple[str | None, dict[str, Any]]:
    """A Cypher condition limiting warnings to what the actor may see (None: everything)."""
    if actor.role in (Role.ADMIN, Role.ANALYST):
        return None, {}
    if actor.role is Role.INSPECTOR:
        return (f"any(p IN $scope_prefixes WHERE {var}.regionCode STARTS WITH p)", {"scope_prefixes": list(actor.prefixes)})
    if actor.role is Role.ENTERPRISE:
        return (f"{var}.responsibleEnterprise = $scope_uscc AND {var}.warningState IN $scope_states",
                {"scope_uscc": actor.uscc, "scope_states": list(ADDRESSED_STATES)})
    return "false", {}


# ---------------------------------------------------------------------- reading
def get(store: GraphStore, warning_id: str) -> dict[str, Any] | None:
    return store.get_node(WARNING, warning_id)


def transitions(store: GraphStore, warning_id: str) -> list[dict[str, Any]]:
    rows = store.read(f"MATCH (w:{ident(WARNING)} {{id: $id}})-[:{ident(HAS_TRANSITION)}]->(t:{ident(TRANSITION)}) "
                      "RETURN properties(t) AS p ORDER BY t.transitionedAtMs, t.id", {"id": warning_id})
    return [{"from": r["p"].get("fromState"), "to": r["p"].get("toState"), "actor": r["p"].get("transitionActor"),
             "role": r["p"].get("transitionRole"), "note": r["p"].get("transitionNote"), "at": r["p"].get("transitionedAt")}
            for r in rows]


@dataclass(frozen=True)
class Filters:
    state: str | None = None
    level: str | None = None
    region: str | None = None     # a GB/T 2260 prefix
    type: str | None = None
    enterprise: str | None = None


def list_warnings(store: GraphStore, actor: Actor, filters: Filters, *, offset: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
    """The warnings the actor may see, newest trigger first.

    Only the filters given are written into the statement: a `($state IS NULL OR …)` form keeps
    FalkorDB from its index on the property and reads every warning ever raised."""
    given = {"state": ("w.warningState = $state", filters.state), "level": ("w.warningLevel = $level", filters.level),
             "region": ("w.regionCode STARTS WITH $region", filters.region), "type": ("w.warningType = $type", filters.type),
             "enterprise": ("w.responsibleEnterprise = $enterprise", filters.enterprise)}
    conds = [cond for cond, value in given.values() if value is not None]
    scope, params = visibility(actor)
    if scope:
        conds.append(scope)
    params.update({name: value for name, (_, value) in given.items() if value is not None})
    base = f"MATCH (w:{ident(WARNING)}){where(conds)}"
    total = store.read(base + " RETURN count(w) AS n", params)
    rows = store.read(base + " RETURN properties(w) AS p ORDER BY w.lastTriggeredAtMs DESC, w.id SKIP $skip LIMIT $limit",
                      {**params, "skip": offset, "limit": limit})
    return int(total[0]["n"]) if total else 0, [r["p"] for r in rows]


# ---------------------------------------------------------------------- generation
@dataclass
class GenerationReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    suppressed: int = 0
    candidates: int = 0
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {"candidates": self.candidates, "created": len(self.created), "updated": len(self.updated),
                "unchanged": self.unchanged, "suppressed": self.suppressed, "seconds": round(self.seconds, 3)}


def generate(store: GraphStore, *, rules: Rules | None = None, as_of: dt.datetime | None = None,
             registry: ChannelRegistry | None = None, only: Iterable[str] | None = None,
             enterprises: Collection[str] | None = None) -> GenerationReport:
    """Run the rules now (or as of `as_of`) and record what they found.

    `enterprises` limits the facts an enterprise holds to those enterprises' (after a change that
    touched only them); what the other enterprises' facts trigger is left as the last pass left it.
    """
    import time

    started = time.perf_counter()
    rules = rules or load_rules()
    # a store just started builds its indexes in the background: read by key without them, the
    # owners of 24,412 enterprises (50,000-enterprise province) outlasted the 30 s query limit
    store.wait_for_indexes()
    facts = read_facts(store, rules, as_of, enterprises)
    candidates = evaluate(facts, rules, only)
    report = record(store, candidates, rules, registry=registry)
    report.seconds = time.perf_counter() - started
    return report


def warning_id(region: str | None, trigger_key: str, seq: int) -> str:
    """Region code first (CAP identifiers of a bureau begin with it), then a digest of the trigger and its count."""
    digest = hashlib.sha256(f"{trigger_key}#{seq}".encode()).hexdigest()[:12].upper()
    return f"{region or '000000'}-{digest}"


def _evidence_keys(doc: Mapping[str, Any]) -> set[tuple[str, str]]:
    return {(e.get("label"), e.get("key")) for e in doc.get("items", [])}


def _suggested_measures(store: GraphStore, candidates: Sequence[Candidate], limit: int) -> list[list[dict[str, Any]]]:
    """Per candidate: the recommender's stored top measures for its subject, else for its enterprise
    (best first), read for all of them in a few statements."""
    def keys(c: Candidate) -> list[str]:
        return [c.subject_key] + ([c.owner.uscc] if c.owner and c.owner.uscc != c.subject_key else [])

    labels = store.ontology.labels
    if RECOMMENDATION not in labels or CONTROL_MEASURE_TYPE not in labels:
        return [[] for _ in candidates]
    held: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for chunk in batched(sorted({k for c in candidates for k in keys(c)}), push_plan.LOOKUP_BATCH):
        rows = store.read(f"UNWIND $keys AS k MATCH (r:{RECOMMENDATION} {{subjectKey: k}})-[:{RECOMMENDS}]->(m:{CONTROL_MEASURE_TYPE}) "
                          "RETURN k AS subject, r.subjectLabel AS label, r.position AS position, m.id AS id, "
                          "m.name AS name, m.hierarchyLevel AS hierarchy, m.citation AS citation", {"keys": chunk})
        for r in rows:
            held[r["subject"]].append(r)
    for found in held.values():
        found.sort(key=lambda r: (r["position"], r["id"]))
    out = []
    for c in candidates:
        mine = next((held[key][:limit] for key in keys(c) if held.get(key)), [])
        out.append([{"measure": r["id"], "name": r["name"], "hierarchyLevel": r["hierarchy"], "citation": r["citation"],
                     "for": f"{r['label']}/{r['subject']}", "position": r["position"]} for r in mine])
    return out


def _cap_codes(rules: Rules, c_type: str, level: str) -> dict[str, str]:
    cap = rules["cap"]
    return {"urgency": cap["levels"][level]["urgency"], "warningSeverity": cap["levels"][level]["severity"],
            "certainty": cap["certainty"].get(c_type, cap["certainty"]["default"])}


def record(store: GraphStore, candidates: Sequence[Candidate], rules: Rules, *, registry: ChannelRegistry | None = None,
           at: dt.datetime | None = None) -> GenerationReport:
    """Turn candidates into new drafts or updates of the open warnings with the same trigger; nothing floods."""
    at = at or now()
    report = GenerationReport(candidates=len(candidates))
    if not candidates:
        return report
    keys = sorted({c.trigger_key for c in candidates})
    existing: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in store.read(f"MATCH (w:{ident(WARNING)}) WHERE w.triggerKey IN $keys RETURN properties(w) AS p", {"keys": keys}):
        existing[r["p"]["triggerKey"]].append(r["p"])
    limit = int(rules["evidence"]["limit"])
    batch = _Writes()
    for c in candidates:
        history = sorted(existing.get(c.trigger_key, []), key=lambda p: (p.get("firstTriggeredAtMs") or 0, p["id"]))
        latest = history[-1] if history else None
        fresh = [e.to_json() for e in c.evidence]
        if latest is not None:
            doc = _parsed(latest.get("warningEvidence"), {"items": []})
            known = _evidence_keys(doc)
            new_items = [e for e in fresh if (e["label"], e["key"]) not in known]
            if latest.get("warningState") in OPEN_STATES:
                raised = colour_rank(c.level) > colour_rank(latest.get("warningLevel"))
                if not new_items and not raised:
                    report.unchanged += 1
                    continue
                batch.update(latest, c, new_items, doc, raised, limit, rules, at)
                report.updated.append(latest["id"])
                continue
            if not new_items:  # these facts were already warned about, and the warning was rejected or closed
                report.suppressed += 1
                continue
        wid = warning_id(c.region, c.trigger_key, len(history))
        batch.create(wid, c, fresh, rules, at)
        existing[c.trigger_key].append({"id": wid, "triggerKey": c.trigger_key, "warningState": DRAFT,
                                        "warningLevel": c.level, "firstTriggeredAtMs": 2**62,
                                        "warningEvidence": _json({"items": fresh})})
        report.created.append(wid)
    batch.write(store, rules, registry, limit)
    return report


def _write(store: GraphStore, warning: str, values: Mapping[str, Any]) -> None:
    _write_all(store, [(warning, values)])


def _write_all(store: GraphStore, changes: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
    """Set these values on these warnings (by id), in order, a batch per statement."""
    rows = []
    for warning, values in changes:
        props = encode_properties(store.ontology, WARNING, values)
        props.pop("id", None)
        rows.append({"id": warning, "p": props})
    for chunk in batched(rows, store.batch_size):
        store.execute(f"UNWIND $rows AS row MATCH (w:{ident(WARNING)} {{id: row.id}}) SET w += row.p", {"rows": chunk})


def _transition(warning: str, from_state: str | None, to_state: str, actor: Actor, note: str | None,
                at: dt.datetime) -> dict[str, Any]:
    tid = hashlib.sha256(f"{warning}|{from_state}|{to_state}|{actor.username}|{at.isoformat()}|{note}".encode()).hexdigest()[:24]
    role = SYSTEM if actor is SYSTEM_ACTOR else actor.role.value
    return {"id": tid, "fromState": from_state, "toState": to_state, "transitionActor": actor.username,
            "transitionRole": role, "transitionNote": note, "transitionedAt": at}


def _log(store: GraphStore, warning: str, from_state: str | None, to_state: str, actor: Actor, note: str | None,
         at: dt.datetime) -> None:
    _log_all(store, [(warning, _transition(warning, from_state, to_state, actor, note, at))])


def _log_all(store: GraphStore, transitions: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Record these transitions (warning id, `_transition` row), each linked to its warning."""
    if transitions:
        store.upsert_nodes(TRANSITION, [row for _, row in transitions])
        store.upsert_relationships(HAS_TRANSITION, [{"from": warning, "to": row["id"]} for warning, row in transitions])


class _Writes:
    """One run's new drafts and updates, written in a few batched statements (the store syncs every
    write to disk; a whole pass at 100,000 enterprises makes tens of thousands of drafts)."""

    def __init__(self) -> None:
        self.created: list[tuple[str, Candidate, list[dict[str, Any]]]] = []
        self.updates: list[tuple[str, dict[str, Any]]] = []
        self.transitions: list[tuple[str, dict[str, Any]]] = []

    def create(self, wid: str, c: Candidate, evidence: list[dict[str, Any]], rules: Rules, at: dt.datetime) -> None:
        self.created.append((wid, c, evidence))
        self.transitions.append((wid, _transition(wid, None, DRAFT, SYSTEM_ACTOR,
                                                  f"{c.rule} ({rules.stamp}): {c.description}"[:500], at)))

    def update(self, w: Mapping[str, Any], c: Candidate, new_items: list[dict[str, Any]],
               doc: Mapping[str, Any], raised: bool, limit: int, rules: Rules, at: dt.datetime) -> None:
        """An open warning triggered again: new evidence, its level raised, one more trigger (logged)."""
        items = new_items + list(doc.get("items", []))
        total = int(doc.get("total") or len(doc.get("items", []))) + len(new_items)
        level = max_colour(w.get("warningLevel"), c.level) or c.level
        values: dict[str, Any] = {
            "name": c.title, "description": c.description, "warningLevel": level,
            "triggerCount": int(w.get("triggerCount") or 1) + 1, "warningEvidence": _json({"items": items[:limit], "total": total}),
            "ruleVersion": rules.stamp, **_cap_codes(rules, c.type, level),
        }
        last = dt.datetime.fromisoformat(w["lastTriggeredAt"]) if w.get("lastTriggeredAt") else None
        if last is None or c.triggered_at > last:
            values["lastTriggeredAt"] = c.triggered_at
        self.updates.append((w["id"], values))
        note = f"repeated trigger: {len(new_items)} new facts" + (f"; level {w.get('warningLevel')} → {level}" if raised else "")
        state = w.get("warningState")
        self.transitions.append((w["id"], _transition(w["id"], state, state or DRAFT, SYSTEM_ACTOR, note, at)))

    def write(self, store: GraphStore, rules: Rules, registry: ChannelRegistry | None, limit: int) -> None:
        if self.created:
            drafts = [_draft(wid, c, evidence, limit, rules) for wid, c, evidence in self.created]
            measures = _suggested_measures(store, [c for _, c, _ in self.created], int(rules["measures"]["limit"]))
            directory = push_plan.Directory.read(store, drafts, rules)
            warns: dict[str, list[dict[str, str]]] = defaultdict(list)
            regions = []
            onto = store.ontology
            for values, suggested, (wid, c, _) in zip(drafts, measures, self.created, strict=True):
                values["suggestedMeasures"] = _json(suggested)
                values["pushPlan"] = _json(push_plan.propose(directory, values, rules, registry))
                if c.subject_label in onto.labels and onto.is_a(c.subject_label, onto.relation(WARNS).range):
                    warns[c.subject_label].append({"from": wid, "to": c.subject_key})
                if c.region:
                    regions.append({"from": wid, "to": c.region})
            store.upsert_nodes(WARNING, drafts)
            for label, rows in warns.items():
                store.upsert_relationships(WARNS, rows, to_label=label)
            if regions:
                store.upsert_relationships(WARNS_REGION, regions)
        _write_all(store, self.updates)
        _log_all(store, self.transitions)


def _draft(wid: str, c: Candidate, evidence: list[dict[str, Any]], limit: int, rules: Rules) -> dict[str, Any]:
    return {
        "id": wid, "name": c.title, "description": c.description, "warningType": c.type, "warningLevel": c.level,
        "warningState": DRAFT, "ruleId": c.rule, "ruleVersion": rules.stamp, "triggerKey": c.trigger_key,
        "triggerCount": 1, "firstTriggeredAt": c.triggered_at, "lastTriggeredAt": c.triggered_at,
        "subjectName": c.subject_name, "responsibleEnterprise": c.owner.uscc if c.owner else None,
        "responsiblePerson": c.owner.person if c.owner else None, "regionCode": c.region,
        "warningEvidence": _json({"items": evidence[:limit], "total": len(evidence)}),
        "acknowledgements": "[]", "planEdited": False, **_cap_codes(rules, c.type, c.level),
    }


def _require(store: GraphStore, warning: str, actor: Actor) -> dict[str, Any]:
    w = get(store, warning)
    if w is None or not can_see(actor, w):
        raise WarningError("not_found", N_("warning {warning} not found"), warning=warning)
    return w


def _move(store: GraphStore, w: Mapping[str, Any], action: str, actor: Actor, note: str | None,
          extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The conditional state change: only from a state the action starts from, so concurrent steps cannot both win."""
    sources, target = ACTIONS[action]
    props = encode_properties(store.ontology, WARNING, {"warningState": target, **(extra or {})})
    at = now()
    rows = store.execute(f"MATCH (w:{ident(WARNING)} {{id: $id}}) WHERE w.warningState IN $from SET w += $p "
                         "RETURN properties(w) AS p", {"id": w["id"], "from": list(sources), "p": props})
    if not rows:
        current = (get(store, w["id"]) or {}).get("warningState")
        raise WarningError("conflict", N_("warning {w} is {current}; {action} needs it {sources}"),
                           {"state": current, "allowed": list(sources)},
                                       w=w['id'], current=_word(current), action=_word(action), sources=_either(sources))
    _log(store, w["id"], w.get("warningState"), target, actor, note, at)
    return rows[0]["p"]


def _check_state(w: Mapping[str, Any], action: str) -> None:
    sources, _ = ACTIONS[action]
    if w.get("warningState") not in sources:
        raise WarningError("conflict", N_("warning {w} is {value}; {action} needs it {sources}"),
                           {"state": w.get("warningState"), "allowed": list(sources)},
                                       w=w['id'], value=_word(w.get('warningState')), action=_word(action),
                                       sources=_either(sources))


def _approver(w: Mapping[str, Any], actor: Actor, rules: Rules, action: str) -> None:
    if not can_approve(actor, w, rules):
        allowed = rules["approval"]["levels"][w.get("warningLevel") or "RED"]
        raise WarningError("forbidden", N_("{action} of a {value} warning in {value2} is for admins and inspectors whose scope over it "
                                           "is {allowed}"),
                           {"role": actor.role.value, "scope": actor.scope_level(w.get("regionCode"))},
                                        action=_word(action), value=w.get('warningLevel'), value2=w.get('regionCode'),
                                        allowed=' or '.join(allowed))


def approve(store: GraphStore, warning: str, actor: Actor, note: str | None, *, rules: Rules | None = None) -> dict[str, Any]:
    rules = rules or load_rules()
    w = _require(store, warning, actor)
    _approver(w, actor, rules, "approval")
    _check_state(w, "approve")
    return _move(store, w, "approve", actor, note)


def reject(store: GraphStore, warning: str, actor: Actor, note: str | None, *, rules: Rules | None = None) -> dict[str, Any]:
    rules = rules or load_rules()
    w = _require(store, warning, actor)
    _approver(w, actor, rules, "rejection")
    _check_state(w, "reject")
    if not (note or "").strip():
        raise WarningError("invalid", N_("a rejection needs a note saying why"))
    return _move(store, w, "reject", actor, note)


def set_plan(store: GraphStore, warning: str, actor: Actor, plan: Mapping[str, Any], note: str | None, *,
             registry: ChannelRegistry | None, rules: Rules | None = None) -> dict[str, Any]:
    """Replace the push plan of a warning not yet published (approvers only)."""
    rules = rules or load_rules()
    w = _require(store, warning, actor)
    _approver(w, actor, rules, "editing the push plan")
    if w.get("warningState") not in (DRAFT, APPROVED):
        raise WarningError("conflict", N_("warning {warning} is {value}: its plan can no longer change"),
                                       warning=warning, value=w.get('warningState'))
    try:
        checked = push_plan.check(plan, registry)
    except push_plan.PlanError as exc:
        raise WarningError("invalid", as_message(exc)) from None
    checked = {**checked, "editedBy": actor.username, "editedAt": now().isoformat()}
    _write(store, warning, {"pushPlan": _json(checked), "planEdited": True})
    _log(store, warning, w.get("warningState"), w.get("warningState") or DRAFT, actor,
         f"push plan edited: {len(checked['recipients'])} recipients" + (f"; {note}" if note else ""), now())
    return get(store, warning) or {}


def summary(w: Mapping[str, Any]) -> dict[str, Any]:
    """What a published warning says to its recipients (the body every channel carries)."""
    d = decode(w)
    onto_levels = {"RED": "红色", "ORANGE": "橙色", "YELLOW": "黄色", "BLUE": "蓝色"}
    return {"id": d["id"], "title": d.get("name"), "type": d.get("warningType"), "level": d.get("warningLevel"),
            "levelName": onto_levels.get(d.get("warningLevel") or "", d.get("warningLevel")),
            "regionCode": d.get("regionCode"), "subjectName": d.get("subjectName"),
            "enterprise": d.get("responsibleEnterprise"), "responsiblePerson": d.get("responsiblePerson"),
            "description": d.get("description"), "publishedAt": d.get("publishedAt"),
            "evidence": d["warningEvidence"].get("items", [])[:5], "measures": d["suggestedMeasures"],
            "rule": d.get("ruleId"), "ruleVersion": d.get("ruleVersion"), "cap": f"/warnings/{d['id']}/cap"}


@dataclass
class Published:
    warning: dict[str, Any]
    deliveries: int
    new: int
    skipped: list[dict[str, str]]


def publish(store: GraphStore, warning: str, actor: Actor, *, users: UserStore, registry: ChannelRegistry | None,
            rules: Rules | None = None, wake: Callable[[], None] | None = None) -> Published:
    """One action: every recipient × channel of the plan into the outbox, then the state to published."""
    rules = rules or load_rules()
    w = _require(store, warning, actor)
    _approver(w, actor, rules, "publishing")
    _check_state(w, "publish")
    plan = _parsed(w.get("pushPlan"), {"recipients": []})
    if not w.get("planEdited"):
        plan = push_plan.refresh_webhooks(plan, w, registry)
    at = now()
    stamped = {**w, "publishedAt": at.isoformat(), "pushPlan": _json(plan)}
    body = summary(stamped)

    def payload(recipient: Mapping[str, Any], key: str) -> dict[str, Any]:
        return {"event": "warning.published", "deliveryId": key, "title": body["title"], "warning": body,
                "recipient": {"id": recipient["id"], "kind": recipient["kind"], "name": recipient.get("name")}}

    resolved = push_plan.resolve(plan, warning, payload, users=users, registry=registry)
    new = outbox.enqueue(store, resolved.deliveries, warning_id=warning, at=at)
    moved = _move(store, w, "publish", actor, f"{len(resolved.deliveries)} deliveries", {
        "publishedAt": at, "issuedAt": at, "pushPlan": _json({**plan, "published": {
            "deliveries": len(resolved.deliveries), "skipped": resolved.skipped}})})
    if wake:
        wake()
    return Published(moved, len(resolved.deliveries), new, resolved.skipped)


def acknowledge(store: GraphStore, warning: str, actor: Actor, note: str | None) -> dict[str, Any]:
    """A recipient signs for the warning (签收) with its feedback; the first one moves it to acknowledged."""
    w = _require(store, warning, actor)
    if not can_acknowledge(actor, w):
        raise WarningError("forbidden", N_("only the warning's recipients (its enterprise, the region's inspectors) sign for it"))
    _check_state(w, "ack")
    acks = _parsed(w.get("acknowledgements"), [])
    acks.append({"by": actor.username, "role": actor.role.value, "note": note, "at": now().isoformat()})
    return _move(store, w, "ack", actor, note, {"acknowledgements": _json(acks)})


def close(store: GraphStore, warning: str, actor: Actor, note: str | None, *, rules: Rules | None = None) -> dict[str, Any]:
    rules = rules or load_rules()
    w = _require(store, warning, actor)
    _approver(w, actor, rules, "closing")
    _check_state(w, "close")
    return _move(store, w, "close", actor, note, {"closedAt": now()})
