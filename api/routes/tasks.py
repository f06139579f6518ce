"""Daily 排查 tasks over HTTP (workflows/tasks.py holds the rules):

    GET  /enterprises/{uscc}/tasks?date=   the checks due in the periods containing the date (default today)
    POST /tasks/{id}/record                result passed | hidden_danger, note, photos (the enterprise)
    PUT  /enterprises/{uscc}/commitment    the enterprise's public safety commitment (the enterprise)
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from riskgraph.api.access import check_uscc
from riskgraph.api.deps import CONTEXT, Context
from riskgraph.api.errors import invalid
from riskgraph.api.models import PROPERTIES_DESCRIPTION, NodeOut, Out
from riskgraph.api.routes.workflow_common import after, audit, node, photo_store, step
from riskgraph.api.schema import ENTERPRISE
from riskgraph.api.writes import origin_of
from riskgraph.graph.values import LOCAL_TZ
from riskgraph.ontology.errors import N_, as_message
from riskgraph.workflows.actors import Owner, is_owner, level, require
from riskgraph.workflows.tasks import DONE, DUE, OVERDUE, Occurrence, Tasks, overdue_checks, settings
from riskgraph.workflows.writes import WriteService

router = APIRouter(tags=["self-service"])


class PointRef(Out):
    id: str
    name: str | None
    colour: str | None = Field(description="RiskColour notation: the assessed colour, else the reported one")


class MeasureRef(Out):
    id: str
    name: str | None


class TaskOut(Out):
    id: str = Field(description="the occurrence: <task id>@<period key>; POST /tasks/{id}/record takes it")
    task: str = Field(description="the InspectionTask's id")
    name: str
    frequency: str = Field(description="CheckFrequency notation")
    period: str = Field(description="2024-06-01, 2024-W23, 2024-06 or 2024-Q2")
    periodStart: dt.date
    periodEnd: dt.date
    status: Literal["done", "due", "overdue"]
    riskPoint: PointRef
    measure: MeasureRef
    record: dict[str, Any] | None = Field(description="the period's check, when done: " + PROPERTIES_DESCRIPTION)


class TaskSummary(Out):
    due: int
    done: int
    overdue: int
    lapsed: int = Field(description="periods that ended without a check in the last `window` days")
    window: int


class TasksOut(Out):
    uscc: str
    date: dt.date
    tasks: list[TaskOut]
    summary: TaskSummary


class DangerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=2, max_length=200, description="what is wrong (default: the note)")
    grade: str = Field("GENERAL", description="GENERAL (一般隐患) or MAJOR (重大隐患): notation or label")
    description: str | None = Field(None, max_length=4000)
    deadline: dt.date | None = None
    responsible: str | None = Field(None, max_length=100)


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    result: str = Field(description="passed, or hidden_danger (a hidden danger is filed with the check)")
    note: str | None = Field(None, max_length=2000)
    photos: list[str] = Field(default_factory=list, max_length=9,
                              description="photo ids from POST /photos, or data:image/…;base64 URLs")
    danger: DangerIn | None = Field(None, description="the hidden danger found, when result is hidden_danger")


class RecordOut(Out):
    id: str = Field(description="the occurrence recorded")
    status: Literal["done"]
    record: NodeOut
    hiddenDanger: NodeOut | None = Field(description="the hidden danger filed, when one was found")


class CommitmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=4, max_length=2000, description="the enterprise's public safety commitment")


class CommitmentOut(Out):
    uscc: str
    safetyCommitment: str
    commitmentOn: dt.date


def _today() -> dt.date:
    return dt.datetime.now(LOCAL_TZ).date()


def _uscc(uscc: str) -> str:
    try:
        return check_uscc(uscc)
    except ValueError as exc:
        raise invalid(as_message(exc), "uscc") from None


def _task_out(ctx: Context, occ: Occurrence, owner: Owner) -> dict[str, Any]:
    point, measure = occ.task.point, occ.task.measure
    record = None
    if occ.record is not None:
        record = ctx.disclosed.properties("InspectionRecord", occ.record, level(ctx.caller, owner))
    return {"id": occ.id, "task": occ.task.id, "name": occ.task.name, "frequency": occ.task.frequency,
            "period": occ.period.key, "periodStart": occ.period.start, "periodEnd": occ.period.end, "status": occ.status,
            "riskPoint": {"id": str(point.get("id")), "name": point.get("name"),
                          "colour": point.get("riskColour") or point.get("reportedColour")},
            "measure": {"id": str(measure.get("id")), "name": measure.get("name") or measure.get("description")},
            "record": record}


@router.get("/enterprises/{uscc}/tasks", response_model=TasksOut,
            summary="the enterprise's 排查 checks due in the periods containing the date: done, due or overdue "
                    "(the enterprise and its bureau)")
def tasks_of(uscc: str = Path(...), date: dt.date | None = Query(None, description="default: today"),
             ctx: Context = CONTEXT) -> dict[str, Any]:
    code = _uscc(uscc)
    tasks = Tasks(ctx.store, photo_store(ctx.request))
    today = _today()
    day = date or today
    owner, occurrences = step(ctx, "tasks", f"{ENTERPRISE}/{code}", lambda: tasks.day(ctx.caller, code, day, today))
    defs, _ = tasks.definitions(code)
    lapsed = overdue_checks(tasks, defs, today)
    ctx.disclosed.mark(f"{ENTERPRISE}/{code}#tasks", level(ctx.caller, owner))
    ctx.disclosed.subject = f"{ENTERPRISE}/{code}"
    counts = {s: sum(1 for o in occurrences if o.status == s) for s in (DONE, DUE, OVERDUE)}
    return {"uscc": code, "date": day, "tasks": [_task_out(ctx, o, owner) for o in occurrences],
            "summary": {**counts, "lapsed": len(lapsed), "window": int(settings()["overdue"]["window_days"])}}


@router.post("/tasks/{id}/record", response_model=RecordOut, status_code=201,
             summary="record this period's check of a task: passed, or a hidden danger found (filed into the "
                     "rectification loop); the enterprise's own account")
def record(id: str = Path(..., min_length=1, max_length=300, description="<task id>@<period key>, or the task id "
                                                                          "for its current period"),
           body: RecordIn = Body(...), ctx: Context = CONTEXT) -> dict[str, Any]:
    tasks = Tasks(ctx.store, photo_store(ctx.request))
    raw = {**body.model_dump(mode="json"), "photos": [p if len(p) <= 64 else "data:…" for p in body.photos]}
    done = step(ctx, "task_record", f"InspectionTask/{id.partition('@')[0]}", lambda: tasks.record(
        ctx.caller, origin_of(ctx), id, result=body.result, note=body.note, photos=body.photos,
        danger=body.danger.model_dump() if body.danger else None, raw=raw))
    seen = level(ctx.caller, done.occurrence.task.owner)
    details: dict[str, Any] = {"record": done.record.record, "occurrence": done.occurrence.id}
    if done.danger is not None:
        details["hiddenDanger"] = done.danger.key
    audit(ctx, "task_record", "ok", 201, subject=f"InspectionTask/{done.occurrence.task.id}", details=details)
    after(ctx, done.record, done.danger)
    return {"id": done.occurrence.id, "status": "done", "record": node(ctx, done.record, seen),
            "hiddenDanger": node(ctx, done.danger, seen) if done.danger is not None else None}


@router.put("/enterprises/{uscc}/commitment", response_model=CommitmentOut,
            summary="set the enterprise's public safety commitment (安全承诺), dated today (the enterprise's own account)")
def commitment(uscc: str = Path(...), body: CommitmentIn = Body(...), ctx: Context = CONTEXT) -> dict[str, Any]:
    code = _uscc(uscc)
    tasks = Tasks(ctx.store)
    owner = step(ctx, "commitment", f"{ENTERPRISE}/{code}", lambda: tasks.owner(code))
    step(ctx, "commitment", f"{ENTERPRISE}/{code}", lambda: require(
        is_owner(ctx.caller, owner), ctx.caller, N_("the safety commitment is set by the enterprise's own account")))
    origin = origin_of(ctx)
    written = step(ctx, "commitment", f"{ENTERPRISE}/{code}", lambda: WriteService(ctx.store).update(
        ENTERPRISE, code, {"safetyCommitment": body.text.strip(), "commitmentOn": origin.at.date()}, origin,
        raw=body.model_dump(mode="json")))
    audit(ctx, "commitment", "ok", 200, subject=f"{ENTERPRISE}/{code}", details={"record": written.record})
    after(ctx, written)
    return {"uscc": code, "safetyCommitment": written.properties["safetyCommitment"],
            "commitmentOn": written.properties["commitmentOn"]}
