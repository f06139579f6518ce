"""Reports from the public and from staff (随手记, disaster risk points): filed, triaged, verified.

    (file) ──▶ pending ──confirm──▶ confirmed   → a HiddenDanger of the enterprise, an InspectionLead or a
       │          │                               NaturalDisasterRiskPoint, each EVIDENCED_BY the report
       │          ├──reject────▶ rejected  ──reopen──▶ pending
       │          └──duplicate─▶ duplicate ──reopen──▶ pending
       └─(repeats an open report or a known hidden danger)──▶ duplicate, DUPLICATE_OF it

| step | from | to | who |
|---|---|---|---|
| file | — | pending, or duplicate | anyone (anonymous included); rate and size limits at the API |
| confirm (outcome, note) | pending | confirmed | an inspector whose regions cover the report's region, or an admin |
| reject (note) | pending | rejected | as confirm |
| duplicate (note, of) | pending | duplicate | as confirm |
| reopen (note) | rejected, duplicate | pending | as confirm |

A report with no region can be moved by an admin only. Every step is one compare-and-set write through
the one write service (workflows/writes.py), so its history — who, when, from which state to which,
why — is the report's change log. The reporter follows the state with the receipt code handed out
when filing (only its SHA-256 is stored) and sees nothing but that report's state.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskgraph.api.access import Caller, Role
from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import decode_properties
from riskgraph.ontology.anchors import (
    CHANGE_EVENT,
    CLOSED_STATE,
    CONCERNS,
    DERIVED_FROM,
    DUPLICATE_OF,
    ENTERPRISE,
    EVIDENCED_BY,
    HAS_HIDDEN_DANGER,
    HIDDEN_DANGER,
    INSPECTION_LEAD,
    LOCATED_IN,
    NATURAL_DISASTER_POINT,
    PUBLIC_REPORT,
    REGION,
    REGION_CODE,
    SOURCE_CRS,
    SOURCE_RECORD,
)
from riskgraph.ontology.errors import N_, Term
from riskgraph.reasoning.text.model import shared_model
from riskgraph.reasoning.text.places import distance_km, index_for
from riskgraph.reasoning.text.triage import NATURAL, SAFETY, Triage, triage
from riskgraph.workflows.actors import Denied, Missing, Owner, WorkflowError, WrongState, photos_for_write, require
from riskgraph.workflows.hidden_dangers import Loop
from riskgraph.workflows.origin import Origin
from riskgraph.workflows.photos import PhotoStore
from riskgraph.workflows.writes import Link, WriteConflict, WriteService, Written

STATE = "reviewState"
PENDING, CONFIRMED, REJECTED, DUPLICATE = "pending", "confirmed", "rejected", "duplicate"
STATES = (PENDING, CONFIRMED, REJECTED, DUPLICATE)
#: the states and steps as messages name them in Chinese
STATE_WORDS = {PENDING: Term(PENDING, zh="待核实"), CONFIRMED: Term(CONFIRMED, zh="已核实"),
               REJECTED: Term(REJECTED, zh="不予受理"), DUPLICATE: Term(DUPLICATE, zh="重复举报")}
STEP_WORDS = {"confirm": Term("confirm", zh="核实"), "reject": Term("reject", zh="不予受理"),
              "duplicate": Term("duplicate", zh="标为重复"), "reopen": Term("reopen", zh="重新打开")}
OUTCOMES = ("hidden_danger", "inspection_lead", "disaster_point")
#: what a finding confirmed from a report records as its source (rg:reportSource): its provenance
PUBLIC_REPORT_SOURCE = "public report"
#: rg:reportSource of the reports themselves, by channel
MEMO, DISASTER_POINT_REPORT = "随手记", "灾害风险点上报"
URGENCY_ORDER = {"high": 0, "medium": 1, "low": 2}
#: two texts this alike (character-bigram Dice) about the same enterprise or place are one report
SIMILAR = 0.45
SAME_PLACE_KM = 0.5
DUPLICATE_WINDOW = 500


@dataclass(frozen=True)
class Step:
    name: str
    sources: tuple[str, ...]
    target: str


STEPS = {
    "confirm": Step("confirm", (PENDING,), CONFIRMED),
    "reject": Step("reject", (PENDING,), REJECTED),
    "duplicate": Step("duplicate", (PENDING,), DUPLICATE),
    "reopen": Step("reopen", (REJECTED, DUPLICATE), PENDING),
}
DECISIONS = {"confirmed": "confirm", "rejected": "reject", "duplicate": "duplicate"}


@dataclass
class Filed:
    written: Written
    triage: Triage
    receipt: str
    duplicate_of: tuple[str, str] | None


@dataclass
class Report:
    id: str
    props: dict[str, Any]
    enterprise: str | None
    enterprise_region: str | None

    @property
    def state(self) -> str:
        return str(self.props.get(STATE) or PENDING)

    @property
    def region(self) -> str | None:
        return self.props.get(REGION_CODE) or self.enterprise_region


@dataclass
class Verified:
    report: Report
    previous: str
    written: Written
    result: Written | None = None
    extra: list[Written] = field(default_factory=list)


def receipt_hash(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


def _bigrams(text: str) -> set[str]:
    t = "".join(ch for ch in text if ch.isalnum())
    return {t[i:i + 2] for i in range(len(t) - 1)}


def similarity(a: str, b: str) -> float:
    """Dice coefficient of the texts' character bigrams (punctuation and spaces dropped)."""
    x, y = _bigrams(a), _bigrams(b)
    if not x or not y:
        return 0.0
    return 2 * len(x & y) / (len(x) + len(y))


def is_bureau_of(caller: Caller, region: str | None) -> bool:
    """An admin, or an inspector whose regions cover the region (a report without one: admins only)."""
    if caller.role is Role.ADMIN:
        return True
    return caller.role is Role.INSPECTOR and region is not None and caller.covers_region(region)


class Reports:
    """The reports over one store; cheap to make per request."""

    def __init__(self, store: GraphStore, photos: PhotoStore | None = None, model_dir: Path | None = None) -> None:
        self.store = store
        self.model_dir = model_dir
        self.onto = store.ontology
        self.writes = WriteService(store)
        self.photos = photos
        self.key = ident(self.onto.key_of(PUBLIC_REPORT))

    # ------------------------------------------------------------------ filing
    def file(self, caller: Caller, origin: Origin, *, text: str, lon: float | None = None, lat: float | None = None,
             region: str | None = None, kind: str | None = None, concerns: tuple[str, str] | None = None,
             code_enterprise: str | None = None, code_region: str | None = None, photos: Sequence[str] = (),
             contact: str | None = None, disaster_type: str | None = None, source: str = MEMO,
             raw: Mapping[str, Any] | None = None, source_crs: str | None = None) -> Filed:
        """A new report, triaged; linked to what it repeats instead of counted twice. lon/lat are WGS 84;
        `source_crs` names the system they were converted from (GCJ-02, BD-09), if any."""
        text = text.strip()
        if len(text) < 5:
            raise WorkflowError(N_("describe what you saw in at least 5 characters"), "text")
        if (lon is None) != (lat is None):
            raise WorkflowError(N_("give both lon and lat, or neither"), "lon")
        index = index_for(self.store)
        if region is not None and region not in index.region_names:
            raise WorkflowError(N_("{region} is not a region of this service"), "region", code="unknown_region", region=region)
        if disaster_type is not None:
            concept = self.onto.vocabulary("DisasterType").lookup(disaster_type)
            if concept is None:
                raise WorkflowError(N_("{disaster_type!r} is not a disaster type (水旱, 气象, 森林火灾, 地质 …)"), "disasterType",
                                    disaster_type=disaster_type)
            disaster_type, kind = concept.notation, NATURAL
        found = triage(index, text, lon=lon, lat=lat, region=region, kind=kind, code_enterprise=code_enterprise,
                       code_region=code_region, prediction=shared_model(self.model_dir).predict([text])[0])
        photo_ids = photos_for_write(self.photos, photos, caller)
        twin = self._duplicate_of(text, found, lon, lat)
        receipt = secrets.token_urlsafe(12)
        report_id = f"PR-{uuid.uuid4().hex[:12].upper()}"
        row = {
            "id": report_id, "name": text[:40], "text": text, STATE: DUPLICATE if twin else PENDING,
            "reportKind": found.kind, "triageAccidentTypes": found.accident_types or None,
            "triageHazardFactor": found.hazard_factor, "reportUrgency": found.urgency,
            "linkScore": found.enterprise.score if found.enterprise else None,
            REGION_CODE: found.region, "regionBasis": found.region_basis, "placeText": found.place,
            "lon": lon, "lat": lat, "occurredAt": origin.at, "reportSource": source, "contact": contact,
            "photos": photo_ids or None, "disasterType": disaster_type, "receiptHash": receipt_hash(receipt),
            "reviewNote": f"重复于 {twin[0]}/{twin[1]}" if twin else None, "revision": 1,
            SOURCE_CRS: source_crs if lon is not None else None,
        }
        links = []
        target = concerns or ((ENTERPRISE, found.enterprise.uscc) if found.enterprise else None)
        if target is not None:
            links.append(Link(CONCERNS, target))
        if twin is not None:
            links.append(Link(DUPLICATE_OF, twin))
        if found.region and found.region in index.region_names:
            links.append(Link(LOCATED_IN, (REGION, found.region)))
        written = self.writes.create(PUBLIC_REPORT, row, origin, links=links, raw=raw)
        if photo_ids and self.photos is not None:
            self.photos.attach(photo_ids, PUBLIC_REPORT, written.key)
        return Filed(written=written, triage=found, receipt=receipt, duplicate_of=twin)

    def _duplicate_of(self, text: str, found: Triage, lon: float | None, lat: float | None) -> tuple[str, str] | None:
        """The open report or open hidden danger this one repeats: same enterprise, or same region and
        near (or both without coordinates), and a similar text."""
        uscc = found.enterprise.uscc if found.enterprise else None
        if uscc is None and found.region is None:
            return None
        best: tuple[float, tuple[str, str]] | None = None
        rows = self.store.read(
            f"MATCH (r:{ident(PUBLIC_REPORT)}) WHERE (r.{ident(STATE)} IS NULL OR r.{ident(STATE)} = $pending) "
            f"AND r.{ident(REGION_CODE)} = $region "
            f"RETURN r.{self.key} AS k, r.text AS text, r.lon AS lon, r.lat AS lat ORDER BY r.occurredAtMs DESC LIMIT $n",
            {"pending": PENDING, "region": found.region, "n": DUPLICATE_WINDOW}) if found.region else []
        if uscc is not None:
            rows += self.store.read(
                # the filter after WITH: in the MATCH, FalkorDB starts from `r` and reads every report
                f"MATCH (e:{ident(ENTERPRISE)} {{{ident(self.onto.key_of(ENTERPRISE))}: $u}})<-[:{ident(CONCERNS)}]-"
                f"(r:{ident(PUBLIC_REPORT)}) WITH r WHERE r.{ident(STATE)} IS NULL OR r.{ident(STATE)} = $pending "
                f"RETURN r.{self.key} AS k, r.text AS text, r.lon AS lon, r.lat AS lat, true AS same LIMIT $n",
                {"u": uscc, "pending": PENDING, "n": DUPLICATE_WINDOW})
        for row in rows:
            if not row.get("same"):
                if lon is not None and row["lon"] is not None:
                    if distance_km(lon, lat or 0.0, float(row["lon"]), float(row["lat"] or 0.0)) > SAME_PLACE_KM:
                        continue
                elif (lon is None) != (row["lon"] is None):
                    continue
            s = similarity(text, str(row["text"] or ""))
            if s >= SIMILAR and (best is None or s > best[0]):
                best = (s, (PUBLIC_REPORT, str(row["k"])))
        if uscc is not None:
            h_key = ident(self.onto.key_of(HIDDEN_DANGER))
            for row in self.store.read(
                    f"MATCH (e:{ident(ENTERPRISE)} {{{ident(self.onto.key_of(ENTERPRISE))}: $u}})-[:{ident(HAS_HIDDEN_DANGER)}]->"
                    f"(h:{ident(HIDDEN_DANGER)}) WHERE h.state IS NULL OR h.state <> $closed "
                    f"RETURN h.{h_key} AS k, h.name AS name, h.description AS d LIMIT $n",
                    {"u": uscc, "closed": CLOSED_STATE, "n": DUPLICATE_WINDOW}):
                s = max(similarity(text, str(row["name"] or "")), similarity(text, str(row["d"] or "")))
                if s >= SIMILAR and (best is None or s > best[0]):
                    best = (s, (HIDDEN_DANGER, str(row["k"])))
        return best[1] if best else None

    # ------------------------------------------------------------------ reading
    def get(self, report_id: str) -> Report | None:
        e_key = ident(self.onto.key_of(ENTERPRISE))
        rows = self.store.read(
            f"MATCH (r:{ident(PUBLIC_REPORT)} {{{self.key}: $id}}) "
            f"OPTIONAL MATCH (r)-[:{ident(CONCERNS)}]->(e:{ident(ENTERPRISE)}) "
            f"RETURN properties(r) AS p, e.{e_key} AS uscc, e.{ident(REGION_CODE)} AS region LIMIT 1", {"id": report_id})
        if not rows:
            return None
        return Report(report_id, decode_properties(rows[0]["p"]), rows[0]["uscc"], rows[0]["region"])

    def _report(self, report_id: str) -> Report:
        found = self.get(report_id)
        if found is None:
            raise Missing(N_("no report {report_id}"), "id", report_id=report_id)
        return found

    def by_receipt(self, code: str) -> Report:
        """The one report this receipt code was handed out for (Missing otherwise)."""
        rows = self.store.read(f"MATCH (r:{ident(PUBLIC_REPORT)}) WHERE r.receiptHash = $h RETURN r.{self.key} AS k LIMIT 1",
                               {"h": receipt_hash(code)})
        if not rows:
            raise Missing(N_("no report has this receipt code"), "code")
        return self._report(str(rows[0]["k"]))

    def listing(self, caller: Caller, *, state: str | None = None, region: str | None = None,
                limit: int = 100) -> list[Report]:
        """Reports in the caller's scope (inspectors: their regions), newest first; loaded reports without
        a review state count as pending."""
        require(caller.role in (Role.INSPECTOR, Role.ADMIN, Role.ANALYST), caller,
                N_("reports are read by inspectors, analysts and admins"))
        if state is not None and state not in STATES:
            raise WorkflowError(N_("state is one of {STATES}"), "state", STATES=', '.join(STATES))
        if region is not None and caller.role is Role.INSPECTOR and not caller.covers_region(region):
            raise Denied(N_("region {region} is outside your regions"), region=region)
        rows = self.store.read(
            f"MATCH (r:{ident(PUBLIC_REPORT)}) WHERE ($state IS NULL OR coalesce(r.{ident(STATE)}, $pending) = $state) "
            f"OPTIONAL MATCH (r)-[:{ident(CONCERNS)}]->(e:{ident(ENTERPRISE)}) "
            f"RETURN properties(r) AS p, e.{ident(self.onto.key_of(ENTERPRISE))} AS uscc, e.{ident(REGION_CODE)} AS er "
            f"ORDER BY coalesce(r.occurredAtMs, 0) DESC",
            {"state": state, "pending": PENDING})
        index = None
        out = []
        for row in rows:
            report = Report(str(row["p"].get("id")), decode_properties(row["p"]), row["uscc"], row["er"])
            reg = report.region
            if reg is None and report.props.get("lon") is not None and report.props.get("lat") is not None:
                index = index or index_for(self.store)  # a loaded report: its county from its coordinates
                reg = index.county_at(float(report.props["lon"]), float(report.props["lat"]))
                if reg:
                    report.props[REGION_CODE] = reg
                    report.props.setdefault("regionBasis", "coordinates")
            if region is not None and not (reg or "").startswith(_prefix(region)):
                continue
            if caller.role is Role.INSPECTOR and not caller.covers_region(reg):
                continue
            out.append(report)
            if len(out) >= limit:
                break
        return out

    def untriaged(self, reports: list[Report]) -> None:
        """Triage, in memory, loaded reports that never were (their stored fields stay as loaded)."""
        todo = [r for r in reports if r.props.get("reportUrgency") is None and r.props.get("text")]
        if not todo:
            return
        index = index_for(self.store)
        preds = shared_model(self.model_dir).predict([str(r.props["text"]) for r in todo])
        for r, pred in zip(todo, preds, strict=True):
            t = triage(index, str(r.props["text"]), lon=_f(r.props.get("lon")), lat=_f(r.props.get("lat")),
                       region=r.props.get(REGION_CODE), code_enterprise=r.enterprise, prediction=pred)
            r.props.update({"reportKind": t.kind, "triageAccidentTypes": t.accident_types,
                            "triageHazardFactor": t.hazard_factor, "reportUrgency": t.urgency})
            if r.props.get(REGION_CODE) is None and t.region:
                r.props[REGION_CODE], r.props["regionBasis"] = t.region, t.region_basis

    def warning_report(self, caller: Caller, region: str) -> dict[str, list[Report]]:
        """预警报告: the pending reports of each county under `region`, most urgent first."""
        reports = self.listing(caller, state=PENDING, region=region, limit=5000)
        self.untriaged(reports)
        by_county: dict[str, list[Report]] = {}
        for r in reports:
            by_county.setdefault(str(r.props.get(REGION_CODE) or r.region), []).append(r)
        for items in by_county.values():
            items.sort(key=lambda r: (URGENCY_ORDER.get(str(r.props.get("reportUrgency")), 3),
                                      -int(r.props.get("occurredAtMs") or 0)))
        return dict(sorted(by_county.items()))

    # ------------------------------------------------------------------ verification
    def allowed(self, caller: Caller, report: Report) -> list[str]:
        if not is_bureau_of(caller, report.region):
            return []
        return [s.name for s in STEPS.values() if report.state in s.sources]

    def verify(self, caller: Caller, origin: Origin, report_id: str, *, decision: str, note: str | None = None,
               outcome: str | None = None, duplicate_of: str | None = None, grade: str = "GENERAL",
               disaster_type: str | None = None, raw: Mapping[str, Any] | None = None) -> Verified:
        """An inspector's verdict: confirmed (→ the finding, with the report as evidence), rejected or
        duplicate (kept, with the reason)."""
        if decision not in DECISIONS:
            raise WorkflowError(N_("decision is confirmed, rejected or duplicate"), "decision")
        note = (note or "").strip() or None
        if decision != "confirmed" and not note:
            raise WorkflowError(N_("say why the report is {decision}"), "note", decision=decision)
        report = self._report(report_id)
        if outcome is not None and outcome not in OUTCOMES:
            raise WorkflowError(N_("outcome is one of {OUTCOMES}"), "outcome", OUTCOMES=', '.join(OUTCOMES))
        changes: dict[str, Any] = {"reviewNote": note}
        links: list[Link] = []
        if decision == "confirmed":
            outcome = outcome or self._default_outcome(report)
            if outcome == "hidden_danger" and report.enterprise is None:
                raise WorkflowError(N_("the report concerns no enterprise: confirm it as an inspection lead"), "outcome")
            if outcome == "disaster_point":
                kind = self.onto.vocabulary("DisasterType").lookup(disaster_type or report.props.get("disasterType"))
                if kind is None:
                    raise WorkflowError(N_("name the disaster type (水旱, 气象, 森林火灾, 地质 …)"), "disasterType")
                disaster_type = kind.notation
            changes["outcome"] = outcome
        if decision == "duplicate":
            if not duplicate_of:
                raise WorkflowError(N_("name the report or hidden danger it repeats"), "duplicateOf")
            twin = self._node_of(duplicate_of)
            if twin == (PUBLIC_REPORT, report_id):
                raise WorkflowError(N_("a report does not repeat itself"), "duplicateOf")
            links.append(Link(DUPLICATE_OF, twin))
        verified = self._move(caller, origin, DECISIONS[decision], report, changes, links, raw)
        if decision == "confirmed":
            verified.result = self._finding(caller, origin, report, str(outcome), grade, disaster_type, raw)
        return verified

    def reopen(self, caller: Caller, origin: Origin, report_id: str, *, note: str,
               raw: Mapping[str, Any] | None = None) -> Verified:
        if not note.strip():
            raise WorkflowError(N_("say why the report is reopened"), "note")
        return self._move(caller, origin, "reopen", self._report(report_id), {"reviewNote": note.strip()}, [], raw)

    def _default_outcome(self, report: Report) -> str:
        if report.props.get("reportKind") == NATURAL or report.props.get("disasterType"):
            return "disaster_point"
        return "hidden_danger" if report.enterprise else "inspection_lead"

    def _node_of(self, ref: str) -> tuple[str, str]:
        """A report or hidden danger named by its id (or Label/id)."""
        label, _, key = ref.partition("/") if "/" in ref else ("", "", ref)
        for candidate in ([label] if label else [PUBLIC_REPORT, HIDDEN_DANGER]):
            if candidate not in (PUBLIC_REPORT, HIDDEN_DANGER):
                break
            if self.store.get_node(candidate, key) is not None:
                return candidate, key
        raise WorkflowError(N_("no report or hidden danger {ref}"), "duplicateOf", code="not_found", ref=ref)

    def _move(self, caller: Caller, origin: Origin, name: str, report: Report, changes: dict[str, Any],
              links: list[Link], raw: Mapping[str, Any] | None) -> Verified:
        step = STEPS[name]
        if not is_bureau_of(caller, report.region):
            raise Denied(N_("only an inspector of the report's region (or an admin) may {name} {id}"),
                         code="unauthorized" if caller.anonymous else "forbidden",
                         name=STEP_WORDS.get(name, Term(name)), id=report.id)
        if report.state not in step.sources:
            raise WrongState(N_("{id} is {state}: {name} applies to {sources} only"), STATE, id=report.id,
                             state=STATE_WORDS.get(report.state, Term(report.state)), name=STEP_WORDS.get(name, Term(name)),
                             sources=Term.joined((STATE_WORDS.get(s, Term(s)) for s in step.sources), zh="、"))
        revision = report.props.get("revision")
        props = {STATE: step.target, "handledBy": caller.username, "reviewedAt": origin.at,
                 "revision": int(revision or 0) + 1, **{k: v for k, v in changes.items() if v is not None}}
        expect: dict[str, Any] = {"revision": revision}
        if report.props.get(STATE) is not None:
            expect[STATE] = report.props.get(STATE)
        try:
            written = self.writes.update(PUBLIC_REPORT, report.id, props, origin, links=links, raw=raw, expect=expect)
        except WriteConflict:
            raise WrongState(N_("{id} moved on while this {name} was checked; reload it"), STATE,
                             id=report.id, name=STEP_WORDS.get(name, Term(name))) from None
        after = Report(report.id, written.properties, report.enterprise, report.enterprise_region)
        return Verified(report=after, previous=report.state, written=written)

    def _finding(self, caller: Caller, origin: Origin, report: Report, outcome: str, grade: str,
                 disaster_type: str | None, raw: Mapping[str, Any] | None) -> Written:
        p = report.props
        evidence = Link(EVIDENCED_BY, (PUBLIC_REPORT, report.id))
        text = str(p.get("text") or "")
        if outcome == "hidden_danger":
            owner = Owner(str(report.enterprise), report.enterprise_region or p.get(REGION_CODE))
            return Loop(self.store).report(
                caller, origin, owner, name=f"群众举报：{text[:60]}", grade=grade, description=text,
                hazard_factors=[p["triageHazardFactor"]] if p.get("triageHazardFactor") else (),
                source=PUBLIC_REPORT_SOURCE, links=[evidence], raw=raw, prefix="HD-PR")
        region = p.get(REGION_CODE)
        links = [evidence]
        if region and self.store.get_node(REGION, str(region)) is not None:
            links.append(Link(LOCATED_IN, (REGION, str(region))))
        common = {"name": f"群众举报：{text[:60]}", "description": text, REGION_CODE: region, "lon": p.get("lon"),
                  "lat": p.get("lat"), SOURCE_CRS: p.get(SOURCE_CRS), "reportSource": PUBLIC_REPORT_SOURCE,
                  "photos": p.get("photos"), "handledBy": caller.username}
        if outcome == "inspection_lead":
            row = {"id": f"IL-{report.id}", "reviewState": "open", **common}
            return self.writes.create(INSPECTION_LEAD, row, origin, links=links, raw=raw)
        row = {"id": f"NDP-{report.id}", "disasterType": disaster_type, **common}
        return self.writes.create(NATURAL_DISASTER_POINT, row, origin, links=links, raw=raw)

    # ------------------------------------------------------------------ history
    def history(self, caller: Caller, report_id: str) -> tuple[Report, list[dict[str, Any]]]:
        """Every change of the report's state, oldest first: when, who (account, role), from, to, note."""
        report = self._report(report_id)
        require(is_bureau_of(caller, report.region) or caller.role is Role.ANALYST, caller,
                N_("a report's history is for the inspectors of its region"))
        return report, state_history(self.store, PUBLIC_REPORT, report_id)


def state_history(store: GraphStore, label: str, key: str) -> list[dict[str, Any]]:
    """Every write that moved a record's review state, oldest first (its change log: who, role, endpoint,
    when, from, to, the note)."""
    rows = store.read(
        f"MATCH (c:{ident(CHANGE_EVENT)})-[:{ident(DERIVED_FROM)}]->(s:{ident(SOURCE_RECORD)}) "
        "WHERE c.entityLabel = $label AND c.entityKey = $key AND c.property IN $props "
        "RETURN c.property AS prop, c.oldValue AS old, c.newValue AS new, c.changedAt AS at, s.actor AS actor, "
        "s.actorRole AS role, s.requestId AS request, s.endpoint AS endpoint ORDER BY c.changedAtMs",
        {"label": label, "key": key, "props": [STATE, "reviewNote", "revision"]})
    steps: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = steps.setdefault(str(row["request"]), {"at": row["at"], "by": row["actor"], "role": row["role"],
                                                       "endpoint": row["endpoint"], "fromState": None, "toState": None,
                                                       "note": None, "revision": 0})
        value = _json(row["new"])
        if row["prop"] == STATE:
            entry["fromState"], entry["toState"] = _json(row["old"]), value
        elif row["prop"] == "reviewNote":
            entry["note"] = value
        else:
            entry["revision"] = int(value or 0)
    entries = sorted(steps.values(), key=lambda e: e["revision"])
    for e in entries:
        e.pop("revision")
        e["at"] = e["at"].isoformat() if isinstance(e["at"], dt.datetime) else (str(e["at"]) if e["at"] else None)
    return entries


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError:
        return text


def _f(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _prefix(code: str) -> str:
    text = str(code)
    while len(text) > 2 and text.endswith("00"):
        text = text[:-2]
    return text


__all__ = ["CONFIRMED", "DECISIONS", "DUPLICATE", "Filed", "MEMO", "DISASTER_POINT_REPORT", "OUTCOMES", "PENDING",
           "PUBLIC_REPORT_SOURCE", "REJECTED", "Report", "Reports", "SAFETY", "STEPS", "Verified", "is_bureau_of",
           "receipt_hash", "similarity", "state_history"]
