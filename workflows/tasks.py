"""Daily 排查 tasks: the enterprise's recurring checks of its control measures, recorded through its code.

Where they come from: every control measure of every risk point of the enterprise (risk point →
analysis unit → risk event → control measure) is checked by an InspectionTask. The dual-prevention
check lists the source systems export are such tasks already; `generate()` adds one for each
measure that has none, recurring by the risk point's colour (tasks.toml: 红 daily, 橙 weekly,
黄 and 蓝 monthly), and follows a generated task's frequency when the point's colour changes.

A task is due once per period of its frequency (workflows/schedule.py). The enterprise records
the period's check (`record()`: passed, or a hidden danger found — which files the danger, linked
to the record and the risk point, into the rectification loop); a period that ends without one is
overdue. Overdue checks are flagged on the portrait and counted by the rating's dynamic factors.

An occurrence — one task in one period — is named `<task id>@<period key>` (TK-CM1@2024-06-01).
"""
from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from riskgraph.api.access import Caller
from riskgraph.api.schema import CONTROL_MEASURE, ENTERPRISE, REGION_CODE, RISK_POINT, Schema
from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import decode_properties, to_epoch_ms
from riskgraph.ontology import anchors
from riskgraph.ontology.anchors import HIDDEN_DANGER, INSPECTION_RECORD, INSPECTION_TASK, RISK_ANALYSIS_UNIT
from riskgraph.ontology.errors import N_, as_message
from riskgraph.workflows.actors import Missing, Owner, WorkflowError, WrongState, is_owner, level, require
from riskgraph.workflows.hidden_dangers import GENERAL, Loop
from riskgraph.workflows.origin import Origin
from riskgraph.workflows.photos import PhotoError, PhotoStore
from riskgraph.workflows.schedule import STOPPED, Period, lapsed, parse_period, period_of
from riskgraph.workflows.writes import Link, WriteConflict, WriteService, Written

ANALYSIS_UNIT, RISK_EVENT, TASK, RECORD = RISK_ANALYSIS_UNIT, anchors.RISK_EVENT, INSPECTION_TASK, INSPECTION_RECORD
#: the source a hidden danger found by a check records (rg:reportSource)
CHECK_SOURCE = "隐患排查"
GENERATED_PREFIX = "TK-"
DONE, DUE, OVERDUE = "done", "due", "overdue"


@lru_cache(maxsize=1)
def settings() -> dict[str, Any]:
    """tasks.toml: frequency by colour, the overdue window."""
    text = resources.files("riskgraph.workflows").joinpath("tasks.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@dataclass(frozen=True)
class TaskDef:
    id: str
    props: dict[str, Any]
    frequency: str | None           #: CheckFrequency notation (None: the source's wording is unknown)
    measure: dict[str, Any]
    point: dict[str, Any]
    owner: Owner

    @property
    def name(self) -> str:
        return str(self.props.get("name") or self.props.get("description") or self.id)

    @property
    def active_from(self) -> dt.date | None:
        value = self.props.get("activeFrom")
        return dt.date.fromisoformat(value) if isinstance(value, str) else None

    @property
    def stopped(self) -> bool:
        return str(self.props.get("status") or "").strip() in STOPPED


@dataclass
class Occurrence:
    task: TaskDef
    period: Period
    status: str
    record: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return f"{self.task.id}@{self.period.key}"


@dataclass
class Recorded:
    record: Written
    occurrence: Occurrence
    danger: Written | None = None
    photos: list[str] = field(default_factory=list)


class Tasks:
    def __init__(self, store: GraphStore, photos: PhotoStore | None = None) -> None:
        self.store = store
        self.onto = store.ontology
        self.schema = Schema(self.onto)
        self.writes = WriteService(store)
        self.photos = photos
        self.loop = Loop(store, photos)
        rel = self.schema.relation_between
        self.path = [rel(ENTERPRISE, RISK_POINT).type, rel(RISK_POINT, ANALYSIS_UNIT).type,
                     rel(ANALYSIS_UNIT, RISK_EVENT).type, rel(RISK_EVENT, CONTROL_MEASURE).type]
        self.checked_by = rel(CONTROL_MEASURE, TASK).type
        self.has_record = rel(TASK, RECORD).type
        self.reported = rel(RECORD, HIDDEN_DANGER).type
        self.frequencies = self.onto.vocabulary(self.onto.properties_of(TASK)["frequency"].vocabulary or "")
        self.results = self.onto.vocabulary(self.onto.properties_of(RECORD)["checkResult"].vocabulary or "")

    # ------------------------------------------------------------------ reading
    def _chain(self, where: str, start: str = "") -> str:
        """Control measures of risk points of enterprises, with their tasks (`start` matches first)."""
        e, p, u, v, m = (ident(x) for x in (ENTERPRISE, RISK_POINT, ANALYSIS_UNIT, RISK_EVENT, CONTROL_MEASURE))
        hp, hu, hv, hm = (ident(t) for t in self.path)
        return (f"{start}MATCH (e:{e})-[:{hp}]->(p:{p})-[:{hu}]->(:{u})-[:{hv}]->(:{v})-[:{hm}]->(m:{m}) {where} "
                f"OPTIONAL MATCH (m)-[:{ident(self.checked_by)}]->(t:{ident(TASK)}) "
                f"RETURN e.{ident(self.onto.key_of(ENTERPRISE))} AS uscc, e.{ident(REGION_CODE)} AS region, e.name AS ename, "
                "properties(p) AS p, properties(m) AS m, properties(t) AS t")

    def _defs(self, rows: Sequence[Mapping[str, Any]]) -> tuple[list[TaskDef], list[tuple[dict, dict, Owner]]]:
        tasks: dict[str, TaskDef] = {}
        untasked: dict[str, tuple[dict, dict, Owner]] = {}
        for row in rows:
            owner = Owner(uscc=str(row["uscc"]), region=row["region"], name=row["ename"])
            point, measure = decode_properties(row["p"]), decode_properties(row["m"])
            if row["t"] is None:
                untasked.setdefault(str(measure.get("id")), (measure, point, owner))
                continue
            props = decode_properties(row["t"])
            concept = self.frequencies.lookup(props.get("frequency"))
            tid = str(props.get("id"))
            tasks.setdefault(tid, TaskDef(id=tid, props=props, frequency=concept.notation if concept else None,
                                          measure=measure, point=point, owner=owner))
        return sorted(tasks.values(), key=lambda t: t.id), list(untasked.values())

    def owner(self, uscc: str) -> Owner:
        key = ident(self.onto.key_of(ENTERPRISE))
        rows = self.store.read(f"MATCH (e:{ident(ENTERPRISE)} {{{key}: $u}}) RETURN e.{ident(REGION_CODE)} AS r, e.name AS n",
                               {"u": uscc})
        if not rows:
            raise Missing(N_("no enterprise {uscc}"), "uscc", uscc=uscc)
        return Owner(uscc=uscc, region=rows[0]["r"], name=rows[0]["n"])

    def definitions(self, uscc: str) -> tuple[list[TaskDef], list[tuple[dict, dict, Owner]]]:
        """The enterprise's tasks, and its control measures that have none yet."""
        key = ident(self.onto.key_of(ENTERPRISE))
        return self._defs(self.store.read(self._chain(f"WHERE e.{key} = $u"), {"u": uscc}))

    def task(self, task_id: str) -> TaskDef:
        tkey = ident(self.onto.key_of(TASK))
        start = (f"MATCH (x:{ident(TASK)} {{{tkey}: $t}})<-[:{ident(self.checked_by)}]-(m:{ident(CONTROL_MEASURE)}) "
                 "WITH m ")
        rows = self.store.read(self._chain("", start), {"t": task_id})
        defs, _ = self._defs([r for r in rows if r["t"] is not None and str(r["t"].get("id")) == task_id])
        if not defs:
            raise Missing(N_("no inspection task {task_id}"), "id", task_id=task_id)
        return defs[0]

    def records(self, task_ids: Sequence[str], since: dt.date) -> dict[str, list[dict[str, Any]]]:
        """The tasks' records dated on or after `since`, per task."""
        if not task_ids:
            return {}
        tkey = ident(self.onto.key_of(TASK))
        rows = self.store.read(
            f"MATCH (t:{ident(TASK)})-[:{ident(self.has_record)}]->(r:{ident(RECORD)}) "
            f"WHERE t.{tkey} IN $ids AND r.checkedOnMs >= $since RETURN t.{tkey} AS t, properties(r) AS r",
            {"ids": list(task_ids), "since": to_epoch_ms(dt.datetime.combine(since, dt.time()))})
        out: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            out.setdefault(str(row["t"]), []).append(decode_properties(row["r"]))
        return out

    # ------------------------------------------------------------------ a day's list
    def day(self, caller: Caller, uscc: str, day: dt.date, today: dt.date) -> tuple[Owner, list[Occurrence]]:
        """The enterprise's checks due in the periods that contain `day`, each done, due or overdue."""
        owner = self.owner(uscc)
        self._readable(caller, owner)
        defs, _ = self.definitions(uscc)
        live = [t for t in defs if t.frequency and not t.stopped and (t.active_from is None or t.active_from <= day)]
        spans = {t.id: period_of(t.frequency or "", day) for t in live}
        since = min((p.start for p in spans.values()), default=day)
        recs = self.records([t.id for t in live], since)
        out = []
        for t in live:
            period = spans[t.id]
            mine = [r for r in recs.get(t.id, []) if r.get("period") == period.key
                    or (r.get("period") is None and _date(r.get("checkedOn")) in period)]
            status = DONE if mine else (OVERDUE if period.end < today else DUE)
            out.append(Occurrence(t, period, status, max(mine, key=lambda r: str(r.get("checkedOn"))) if mine else None))
        out.sort(key=lambda o: (o.status != OVERDUE, o.status == DONE, o.task.point.get("name") or "", o.task.id))
        return owner, out

    def overdue(self, uscc: str, as_of: dt.date) -> list[tuple[TaskDef, Period]]:
        """Checks that lapsed in the configured window before `as_of`."""
        defs, _ = self.definitions(uscc)
        return overdue_checks(self, defs, as_of)

    def _readable(self, caller: Caller, owner: Owner) -> None:
        seen = min(level(caller, owner), caller.ceiling)
        require(self.onto.disclosure_of(TASK, "frequency") <= seen, caller,
                N_("an enterprise's checks are for the enterprise and its bureau"))

    # ------------------------------------------------------------------ generating
    def generate(self, origin: Origin, uscc: str, today: dt.date) -> list[Written]:
        """A task for each control measure without one; generated tasks follow their point's colour."""
        defs, untasked = self.definitions(uscc)
        cfg = settings()["frequency"]
        out = []
        for measure, point, _owner in untasked:
            freq = cfg.get(_colour(point) or "", cfg["default"])
            name = str(measure.get("name") or measure.get("description") or measure.get("id"))
            row = {"id": f"{GENERATED_PREFIX}{measure.get('id')}", "name": f"检查：{name}"[:200],
                   "description": f"{point.get('name') or point.get('id')}：{name}"[:1000], "frequency": freq,
                   "activeFrom": today}
            try:
                out.append(self.writes.create(TASK, row, origin,
                                              links=[Link(self.checked_by, (CONTROL_MEASURE, str(measure.get("id"))),
                                                          outgoing=False)]))
            except WriteConflict:  # made by a sweep running at the same time
                continue
        for t in defs:
            wanted = cfg.get(_colour(t.point) or "", cfg["default"])
            if t.id.startswith(GENERATED_PREFIX) and t.frequency != wanted:
                out.append(self.writes.update(TASK, t.id, {"frequency": wanted}, origin))
        return out

    # ------------------------------------------------------------------ recording a check
    def record(self, caller: Caller, origin: Origin, occurrence: str, *, result: str, note: str | None = None,
               photos: Sequence[str] = (), danger: Mapping[str, Any] | None = None,
               raw: Mapping[str, Any] | None = None) -> Recorded:
        task_id, _, key = occurrence.partition("@")
        task = self.task(task_id)
        require(is_owner(caller, task.owner), caller, N_("checks are recorded by the enterprise's own account"))
        if task.frequency is None:
            raise WorkflowError(N_("{task_id} has a frequency this service does not know: {value!r}"),
                                "frequency",
                                task_id=task_id, value=task.props.get('frequency'))
        if task.stopped:
            raise WrongState(N_("{task_id} is stopped"), "status", task_id=task_id)
        today = origin.at.date()
        current = period_of(task.frequency, today)
        if key:
            try:
                asked = parse_period(task.frequency, key)
            except ValueError as exc:
                raise WorkflowError(as_message(exc), "id") from None
            if asked != current:
                raise WrongState(N_("{occurrence}: a check is recorded within its own period ({key} now)"), "id",
                                 occurrence=occurrence, key=current.key)
        concept = self.results.lookup(result)
        if concept is None:
            raise WorkflowError(N_("result is passed or hidden_danger, not {result!r}"), "result", result=result)
        found = concept.rank is not None and concept.rank > 1
        grade = GENERAL
        if found:
            grade_vocab = self.onto.vocabulary(self.onto.properties_of(HIDDEN_DANGER)["grade"].vocabulary or "")
            grade_concept = grade_vocab.lookup((danger or {}).get("grade") or GENERAL)
            if grade_concept is None:
                raise WorkflowError(N_("{value!r} is not a hidden-danger grade"), "danger.grade",
                                    value=(danger or {}).get('grade'))
            grade = grade_concept.notation
        try:
            photo_ids = self.photos.resolve(photos, uploaded_by=caller.username) if photos and self.photos else []
        except PhotoError as exc:
            raise WorkflowError(exc.message, "photos", code=f"photo_{exc.code}") from None
        if photos and self.photos is None:
            raise WorkflowError(N_("photos are not kept by this service"), "photos")
        row = {"id": f"IR-{task_id}-{current.key}", "name": task.name[:200], "checkedOn": today,
               "checkResult": concept.notation, "conclusion": (note or "").strip() or None, "period": current.key,
               "photos": photo_ids or None, "handledBy": caller.username}
        try:
            record = self.writes.create(RECORD, row, origin, raw=raw, links=[Link(self.has_record, (TASK, task_id), outgoing=False)])
        except WriteConflict:
            raise WrongState(N_("{task_id} is already recorded for {key}"), "id", task_id=task_id, key=current.key) from None
        if photo_ids and self.photos is not None:
            self.photos.attach(photo_ids, RECORD, record.key)
        occ = Occurrence(task, current, DONE, record.properties)
        out = Recorded(record=record, occurrence=occ, photos=photo_ids)
        if found:
            d = danger or {}
            name = str(d.get("name") or note or f"{task.name}：发现隐患").strip()
            out.danger = self.loop.report(
                caller, origin, task.owner, name=name[:200], grade=grade, description=d.get("description"),
                deadline=d.get("deadline"), responsible=d.get("responsible"), risk_point=str(task.point.get("id")),
                source=CHECK_SOURCE, photos=photo_ids, raw=raw,
                links=[Link(self.reported, (RECORD, record.key), outgoing=False)])
        return out


def overdue_checks(tasks: Tasks, defs: Sequence[TaskDef], as_of: dt.date,
                   window_days: int | None = None) -> list[tuple[TaskDef, Period]]:
    window = int(window_days if window_days is not None else settings()["overdue"]["window_days"])
    live = [t for t in defs if t.frequency and not t.stopped]
    recs = tasks.records([t.id for t in live], as_of - dt.timedelta(days=window + 92))
    out = []
    for t in live:
        mine = recs.get(t.id, [])
        dates = [d for d in (_date(r.get("checkedOn")) for r in mine) if d is not None]
        named = [str(r["period"]) for r in mine if r.get("period")]
        for period in lapsed(t.frequency or "", dates, as_of=as_of, window_days=window, active_from=t.active_from,
                             done=named):
            out.append((t, period))
    return out


def _colour(point: Mapping[str, Any]) -> str | None:
    return point.get("riskColour") or point.get("reportedColour")


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


__all__ = ["DONE", "DUE", "OVERDUE", "Occurrence", "Recorded", "TaskDef", "Tasks", "overdue_checks", "settings"]
