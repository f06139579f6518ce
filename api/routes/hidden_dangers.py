"""The closed hidden-danger loop over HTTP (workflows/hidden_dangers.py holds the rules):

    POST /hidden-dangers/{id}/assign          deadline, responsible person   → RECTIFYING
    POST /hidden-dangers/{id}/rectification   description, cost, photos      → RECTIFIED (submitted)
    POST /hidden-dangers/{id}/accept          note                           → VERIFIED (accepted)
    POST /hidden-dangers/{id}/reject          note (and a new deadline)      → RECTIFYING (sent back)
    POST /hidden-dangers/{id}/close           note                           → CLOSED (销号)
    GET  /hidden-dangers/{id}/history

A step the state does not allow is a 409, a caller who may not take it a 403 (401 anonymous).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel, ConfigDict, Field

from riskgraph.api.deps import CONTEXT, Context
from riskgraph.api.models import PROPERTIES_DESCRIPTION, LevelName, NodeOut, Out
from riskgraph.api.routes.workflow_common import after, audit, node, photo_store, step
from riskgraph.api.schema import HIDDEN_DANGER
from riskgraph.api.writes import origin_of
from riskgraph.workflows.actors import level
from riskgraph.workflows.hidden_dangers import Loop, Moved

router = APIRouter(tags=["hidden dangers"])

ID = Path(..., min_length=1, max_length=200, description="the hidden danger's id")
NOTE = Field(None, max_length=2000, description="办理意见")


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    deadline: dt.date = Field(description="rectification deadline (not in the past)")
    responsible: str = Field(min_length=1, max_length=100, description="整改责任人")
    note: str | None = NOTE


class RectificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = Field(min_length=2, max_length=4000, description="what was done (整改措施)")
    cost: float | None = Field(None, ge=0, le=1e12, description="整改资金 in 元")
    photos: list[str] = Field(default_factory=list, max_length=9,
                              description="photo ids from POST /photos, or data:image/…;base64 URLs")


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = NOTE


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=2000, description="why it is sent back")
    deadline: dt.date | None = Field(None, description="a new rectification deadline")


class StepOut(Out):
    """The danger after the step, as the caller may read it, and what the caller may do next."""

    id: str
    state: str | None = Field(description="HiddenDangerState notation (null if the caller may not read it)")
    previousState: str | None
    allowed: list[str] = Field(description="the steps the caller may take now: assign, submit, accept, reject, close")
    danger: NodeOut
    rectification: NodeOut | None = Field(None, description="the rectification the step created (submit) or reviewed")


class HistoryEntry(Out):
    step: str = Field(description="import, report, assign, submit, accept, reject, close or update")
    at: str | None = Field(description="when (the step's stateChangedAt)")
    by: str | None = Field(description="the account that took the step (handledBy)")
    fromState: str | None
    toState: str | None
    note: str | None
    values: dict[str, Any] = Field(description="what the step set on the danger: " + PROPERTIES_DESCRIPTION)
    evidence: dict[str, Any] | None = Field(description="a submission's rectification: " + PROPERTIES_DESCRIPTION)


class HistoryOut(Out):
    id: str
    level: LevelName
    state: str | None
    entries: list[HistoryEntry]


def _loop(ctx: Context) -> Loop:
    return Loop(ctx.store, photo_store(ctx.request))


def _answer(ctx: Context, loop: Loop, action: str, moved: Moved) -> dict[str, Any]:
    seen = level(ctx.caller, moved.danger.owner)
    subject = f"{HIDDEN_DANGER}/{moved.danger.id}"
    details: dict[str, Any] = {"record": moved.written.record, "from": moved.previous, "to": moved.danger.state}
    if moved.rectification is not None:
        details["rectification"] = moved.rectification.key
    audit(ctx, action, "ok", 200, subject=subject, details=details)
    after(ctx, moved.written, moved.rectification)
    danger = node(ctx, moved.written, seen)
    return {"id": moved.danger.id, "state": danger["properties"].get("state"), "previousState":
            moved.previous if "state" in danger["properties"] else None,
            "allowed": loop.allowed(ctx.caller, moved.danger), "danger": danger,
            "rectification": node(ctx, moved.rectification, seen) if moved.rectification is not None else None}


@router.post("/hidden-dangers/{id}/assign", response_model=StepOut,
             summary="set the rectification deadline and responsible person: → RECTIFYING (the enterprise or its bureau)")
def assign(id: str = ID, body: AssignIn = Body(...), ctx: Context = CONTEXT) -> dict[str, Any]:
    loop = _loop(ctx)
    moved = step(ctx, "danger_assign", f"{HIDDEN_DANGER}/{id}", lambda: loop.assign(
        ctx.caller, origin_of(ctx), id, deadline=body.deadline, responsible=body.responsible, note=body.note,
        raw=body.model_dump(mode="json")))
    return _answer(ctx, loop, "danger_assign", moved)


@router.post("/hidden-dangers/{id}/rectification", response_model=StepOut,
             summary="submit the rectification (description, cost, photos) from any open state: → RECTIFIED "
                     "(the enterprise's own account)")
def submit(id: str = ID, body: RectificationIn = Body(...), ctx: Context = CONTEXT) -> dict[str, Any]:
    loop = _loop(ctx)
    raw = {**body.model_dump(mode="json"), "photos": [p if len(p) <= 64 else "data:…" for p in body.photos]}
    moved = step(ctx, "danger_submit", f"{HIDDEN_DANGER}/{id}", lambda: loop.submit(
        ctx.caller, origin_of(ctx), id, description=body.description, cost=body.cost, photos=body.photos, raw=raw))
    return _answer(ctx, loop, "danger_submit", moved)


@router.post("/hidden-dangers/{id}/accept", response_model=StepOut,
             summary="accept the rectification: → VERIFIED (its bureau; the enterprise itself for 一般隐患 only)")
def accept(id: str = ID, body: NoteIn = Body(default_factory=NoteIn), ctx: Context = CONTEXT) -> dict[str, Any]:
    loop = _loop(ctx)
    moved = step(ctx, "danger_accept", f"{HIDDEN_DANGER}/{id}", lambda: loop.accept(
        ctx.caller, origin_of(ctx), id, note=body.note, raw=body.model_dump(mode="json")))
    return _answer(ctx, loop, "danger_accept", moved)


@router.post("/hidden-dangers/{id}/reject", response_model=StepOut,
             summary="send the rectification back: → RECTIFYING (as accept)")
def reject(id: str = ID, body: RejectIn = Body(...), ctx: Context = CONTEXT) -> dict[str, Any]:
    loop = _loop(ctx)
    moved = step(ctx, "danger_reject", f"{HIDDEN_DANGER}/{id}", lambda: loop.reject(
        ctx.caller, origin_of(ctx), id, note=body.note, deadline=body.deadline, raw=body.model_dump(mode="json")))
    return _answer(ctx, loop, "danger_reject", moved)


@router.post("/hidden-dangers/{id}/close", response_model=StepOut,
             summary="close an accepted danger (销号): → CLOSED (as accept)")
def close(id: str = ID, body: NoteIn = Body(default_factory=NoteIn), ctx: Context = CONTEXT) -> dict[str, Any]:
    loop = _loop(ctx)
    moved = step(ctx, "danger_close", f"{HIDDEN_DANGER}/{id}", lambda: loop.close(
        ctx.caller, origin_of(ctx), id, note=body.note, raw=body.model_dump(mode="json")))
    return _answer(ctx, loop, "danger_close", moved)


@router.get("/hidden-dangers/{id}/history", response_model=HistoryOut,
            summary="every step of the danger: when, by whom, from which state to which, notes and evidence "
                    "(the enterprise and its bureau)")
def history(id: str = ID, ctx: Context = CONTEXT) -> dict[str, Any]:
    loop = _loop(ctx)
    danger, entries = step(ctx, "danger_history", f"{HIDDEN_DANGER}/{id}", lambda: loop.history(ctx.caller, id))
    seen = min(level(ctx.caller, danger.owner), ctx.caller.ceiling)
    ctx.disclosed.mark(f"{HIDDEN_DANGER}/{id}#history", seen)
    ctx.disclosed.subject = f"{HIDDEN_DANGER}/{id}"
    return {"id": id, "level": seen.name.lower(), "state": danger.state, "entries": entries}
