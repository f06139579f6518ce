"""Warnings (风险精准预警): list, read with the push plan, approve, reject, edit the plan, publish, sign for, close, CAP.

Roles as elsewhere: an inspector sees and acts on the warnings of its regions (approving a level
needs the scope rules.toml [approval] gives it: a county account approves blue and yellow, a city
or provincial account every level); an enterprise sees the warnings addressed to it once published
and signs for them; analysts read all; admins do all. Anonymous callers get 401. Every step is a
WarningTransition (who, role, why, when) and an audit-log entry.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from riskgraph.api.access import Role
from riskgraph.api.background import background
from riskgraph.api.deps import CONTEXT, Context, client_of
from riskgraph.api.errors import ApiError, forbidden, invalid, not_found, unauthorized
from riskgraph.api.pagination import Page, PageParams, page_params
from riskgraph.api.routes.common import region_param
from riskgraph.notify import cap, outbox
from riskgraph.ontology.errors import N_
from riskgraph.ontology.model import Disclosure
from riskgraph.reasoning.warnings import load_rules
from riskgraph.workflows import warnings as wf

router = APIRouter(tags=["warnings"])

ID = Path(..., min_length=3, max_length=80, description="the warning id (begins with its region code)")


class Subject(BaseModel):
    label: str | None = None
    key: str | None = None
    name: str | None = None


class CapCodes(BaseModel):
    urgency: str | None = None
    severity: str | None = None
    certainty: str | None = None


class WarningOut(BaseModel):
    id: str
    title: str | None
    type: str | None
    level: str | None = Field(description="RiskColour notation: BLUE 蓝, YELLOW 黄, ORANGE 橙, RED 红")
    state: str | None = Field(description="draft, approved, rejected, published, acknowledged, closed")
    regionCode: str | None
    subject: Subject
    enterprise: str | None = Field(description="the responsible enterprise's USCC")
    responsiblePerson: str | None = None
    description: str | None = None
    rule: str | None
    ruleVersion: str | None
    triggerCount: int | None = None
    firstTriggeredAt: str | None = None
    lastTriggeredAt: str | None = None
    publishedAt: str | None = None
    closedAt: str | None = None
    cap: CapCodes
    evidence: dict[str, Any] | None = Field(None, description="{items: [{label, key, values, at}], total}")
    measures: list[dict[str, Any]] | None = Field(None, description="suggested control measures (the recommender's)")


class Transition(BaseModel):
    from_: str | None = Field(None, alias="from")
    to: str | None
    actor: str | None
    role: str | None
    note: str | None
    at: str | None
    model_config = ConfigDict(populate_by_name=True)


class WarningDetail(WarningOut):
    pushPlan: dict[str, Any] | None = Field(None, description="recipients and channels (inspectors and above)")
    transitions: list[Transition] | None = Field(None, description="every step: who, role, why, when (inspectors and above)")
    acknowledgements: list[dict[str, Any]] | None = Field(
        None, description="recipients' acknowledgements and feedback: who, when, note (inspectors and above)")
    deliveries: dict[str, int] | None = Field(None, description="deliveries per state (inspectors and above)")


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, max_length=2000, description="why (a rejection needs one)")


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    recipients: list[dict[str, Any]] = Field(..., min_length=1, max_length=500,
                                             description="[{id, kind: enterprise|person|bureau|webhook, name, channels, …}]")
    note: str | None = Field(None, max_length=2000)


class PublishOut(BaseModel):
    warning: WarningDetail
    deliveries: int = Field(description="deliveries in the outbox for this warning")
    skipped: list[dict[str, str]] = Field(description="recipient × channel pairs that could not be addressed, and why")


def _actor(ctx: Context) -> wf.Actor:
    if ctx.caller.anonymous:
        raise unauthorized(N_("log in: warnings are for the bureau's staff and the enterprises they are addressed to"))
    return wf.Actor.of(ctx.caller)


def _level(ctx: Context, w: dict[str, Any]) -> Disclosure:
    """The level the caller reads this warning at (it may see it at all: `can_see` said so)."""
    return ctx.caller.ceiling


def _subject(w: dict[str, Any]) -> Subject:
    parts = str(w.get("triggerKey") or "").split(":")
    label, key = (parts[1], parts[2]) if len(parts) >= 3 else (None, None)
    return Subject(label=label, key=key, name=w.get("subjectName"))


def _out(ctx: Context, props: dict[str, Any], detail: bool = False) -> dict[str, Any]:
    level = _level(ctx, props)
    shown = ctx.onto.visible(wf.WARNING, props, level)
    d = wf.decode(shown)
    out: dict[str, Any] = {
        "id": props["id"], "title": d.get("name"), "type": d.get("warningType"), "level": d.get("warningLevel"),
        "state": d.get("warningState"), "regionCode": d.get("regionCode"), "subject": _subject(props),
        "enterprise": d.get("responsibleEnterprise"), "responsiblePerson": d.get("responsiblePerson"),
        "description": d.get("description"), "rule": d.get("ruleId"), "ruleVersion": d.get("ruleVersion"),
        "triggerCount": d.get("triggerCount"), "firstTriggeredAt": d.get("firstTriggeredAt"),
        "lastTriggeredAt": d.get("lastTriggeredAt"), "publishedAt": d.get("publishedAt"), "closedAt": d.get("closedAt"),
        "cap": {"urgency": d.get("urgency"), "severity": d.get("warningSeverity"), "certainty": d.get("certainty")},
        "evidence": d["warningEvidence"] if "warningEvidence" in shown else None,
        "measures": d["suggestedMeasures"] if "suggestedMeasures" in shown else None,
    }
    if detail:
        inspector = level >= Disclosure.INSPECTOR
        out["pushPlan"] = d["pushPlan"] if "pushPlan" in shown else None
        out["acknowledgements"] = d["acknowledgements"] if "acknowledgements" in shown else None
        out["transitions"] = wf.transitions(ctx.store, props["id"]) if inspector else None
        if inspector:
            _, rows = outbox.deliveries(ctx.store, warning_id=props["id"], limit=10_000)
            counts: dict[str, int] = {}
            for r in rows:
                counts[r["state"]] = counts.get(r["state"], 0) + 1
            out["deliveries"] = counts
    return out


def _run(ctx: Context, action: str, step):
    """Run a workflow step; its refusals become the service's errors, audited like every other refusal."""
    req = ctx.request
    try:
        result = step()
    except wf.WarningError as exc:
        status = {"not_found": 404, "forbidden": 403, "conflict": 409, "invalid": 422}[exc.code]
        if status == 403:
            ctx.svc.audit.record(ctx.caller, action, "denied", method=req.method, path=req.url.path, status=403,
                                 client=client_of(req), details={"message": exc.message})
            raise forbidden(exc.message, exc.details) from None
        if status == 404:
            raise ApiError(404, "not_found", exc.message) from None
        if status == 422:
            raise invalid(exc.message) from None
        raise ApiError(status, "conflict", exc.message, exc.details) from None
    return result


def _audit(ctx: Context, action: str, warning: str, note: str | None, details: dict | None = None) -> None:
    req = ctx.request
    ctx.svc.audit.record(ctx.caller, action, "ok", subject=f"Warning/{warning}", method=req.method, path=req.url.path,
                         status=200, client=client_of(req), details={"note": note, **(details or {})})


def _colour(ctx: Context, value: str | None) -> str | None:
    if not value:
        return None
    concept = ctx.onto.vocabulary("RiskColour").lookup(value)
    if concept is None:
        raise invalid(N_("{value!r} is not a warning level; one of RED 红, ORANGE 橙, YELLOW 黄, BLUE 蓝"), "level",
                      value=value)
    return concept.notation


@router.get("/warnings", response_model=Page[WarningOut], summary="warnings the caller may see, newest trigger first")
def list_warnings(
    state: str | None = Query(None, pattern="^(draft|approved|rejected|published|acknowledged|closed)$"),
    level: str | None = Query(None, description="RED/ORANGE/YELLOW/BLUE or 红/橙/黄/蓝"),
    region: str | None = Query(None, description="GB/T 2260 code (130100 covers its counties)"),
    type: str | None = Query(None, max_length=60, description="warning type (iot_alarm, colour_raised, …)"),
    enterprise: str | None = Query(None, max_length=18, description="the responsible enterprise's USCC"),
    paging: PageParams = Depends(page_params),
    ctx: Context = CONTEXT,
) -> dict:
    actor = _actor(ctx)
    filters = wf.Filters(state=state, level=_colour(ctx, level), region=region_param(region), type=type, enterprise=enterprise)
    total, rows = wf.list_warnings(ctx.store, actor, filters, offset=paging.offset, limit=paging.size)
    return paging.wrap([_out(ctx, r) for r in rows], total)


def _visible(ctx: Context, warning: str) -> dict[str, Any]:
    actor = _actor(ctx)
    w = wf.get(ctx.store, warning)
    if w is None or not wf.can_see(actor, w):
        raise not_found(N_("warning {warning}"), warning=warning)
    return w


@router.get("/warnings/{warning_id}", response_model=WarningDetail, summary="one warning with its push plan and history")
def get_warning(warning_id: str = ID, ctx: Context = CONTEXT) -> dict:
    return _out(ctx, _visible(ctx, warning_id), detail=True)


@router.post("/warnings/{warning_id}/approve", response_model=WarningDetail, summary="approve a draft (approvers of its level and region)")
def approve(warning_id: str = ID, body: NoteIn = Body(...), ctx: Context = CONTEXT) -> dict:
    actor = _actor(ctx)
    props = _run(ctx, "warning_approve", lambda: wf.approve(ctx.store, warning_id, actor, body.note))
    _audit(ctx, "warning_approve", warning_id, body.note)
    return _out(ctx, props, detail=True)


@router.post("/warnings/{warning_id}/reject", response_model=WarningDetail, summary="reject a draft or an approved warning, saying why")
def reject(warning_id: str = ID, body: NoteIn = Body(...), ctx: Context = CONTEXT) -> dict:
    actor = _actor(ctx)
    props = _run(ctx, "warning_reject", lambda: wf.reject(ctx.store, warning_id, actor, body.note))
    _audit(ctx, "warning_reject", warning_id, body.note)
    return _out(ctx, props, detail=True)


@router.put("/warnings/{warning_id}/plan", response_model=WarningDetail, summary="edit the push plan before publishing (approvers)")
def edit_plan(warning_id: str = ID, body: PlanIn = Body(...), ctx: Context = CONTEXT) -> dict:
    actor = _actor(ctx)
    props = _run(ctx, "warning_plan", lambda: wf.set_plan(ctx.store, warning_id, actor, {"recipients": body.recipients},
                                                          body.note, registry=background(ctx.request).registry))
    _audit(ctx, "warning_plan", warning_id, body.note, {"recipients": len(body.recipients)})
    return _out(ctx, props, detail=True)


@router.post("/warnings/{warning_id}/publish", response_model=PublishOut,
             summary="publish to every recipient of the plan in one action (approvers); body: {}")
def publish(warning_id: str = ID, body: PublishIn = Body(...), ctx: Context = CONTEXT) -> dict:
    actor = _actor(ctx)
    bg = background(ctx.request)
    result = _run(ctx, "warning_publish", lambda: wf.publish(ctx.store, warning_id, actor, users=ctx.svc.users,
                                                             registry=bg.registry, wake=bg.dispatcher.wake))
    _audit(ctx, "warning_publish", warning_id, None, {"deliveries": result.deliveries, "skipped": len(result.skipped)})
    return {"warning": _out(ctx, result.warning, detail=True), "deliveries": result.deliveries, "skipped": result.skipped}


@router.post("/warnings/{warning_id}/ack", response_model=WarningDetail,
             summary="sign for a published warning with feedback (its recipients)")
def acknowledge(warning_id: str = ID, body: NoteIn = Body(...), ctx: Context = CONTEXT) -> dict:
    actor = _actor(ctx)
    props = _run(ctx, "warning_ack", lambda: wf.acknowledge(ctx.store, warning_id, actor, body.note))
    _audit(ctx, "warning_ack", warning_id, body.note)
    return _out(ctx, props, detail=True)


@router.post("/warnings/{warning_id}/close", response_model=WarningDetail, summary="close a published or acknowledged warning (approvers)")
def close(warning_id: str = ID, body: NoteIn = Body(...), ctx: Context = CONTEXT) -> dict:
    actor = _actor(ctx)
    props = _run(ctx, "warning_close", lambda: wf.close(ctx.store, warning_id, actor, body.note))
    _audit(ctx, "warning_close", warning_id, body.note)
    return _out(ctx, props, detail=True)


CAP_SCHEMA = {"schema": {"type": "string", "description": "an OASIS CAP 1.2 alert (XML)"}}


@router.get("/warnings/{warning_id}/cap", response_class=Response, responses={200: {"content": {cap.MEDIA_TYPE: CAP_SCHEMA}}},
            summary="a published warning as CAP 1.2 XML (application/cap+xml)")
def warning_cap(warning_id: str = ID, ctx: Context = CONTEXT) -> Response:
    w = _visible(ctx, warning_id)
    if w.get("warningState") not in wf.ADDRESSED_STATES:
        raise ApiError(409, "conflict", N_("warning {warning_id} is {value}: only published warnings have a CAP alert"),
                                        warning_id=warning_id, value=w.get('warningState'))
    d = wf.decode(w)
    names = [r["name"] for r in ctx.store.read("MATCH (r:Region) WHERE r.code = $c RETURN r.name AS name",
                                               {"c": d.get("regionCode") or ""}) if r["name"]]
    point = None
    rows = ctx.store.read("MATCH (w:Warning {id: $id}) OPTIONAL MATCH (w)-[:WARNS]->(s) "
                          "OPTIONAL MATCH (e:Enterprise {uscc: $u}) RETURN s.lon AS lon, s.lat AS lat, e.lon AS elon, e.lat AS elat",
                          {"id": warning_id, "u": d.get("responsibleEnterprise") or ""})
    if rows:
        r = rows[0]
        if r["lon"] is not None and r["lat"] is not None:
            point = (float(r["lon"]), float(r["lat"]))
        elif r["elon"] is not None and r["elat"] is not None:
            point = (float(r["elon"]), float(r["elat"]))
    body = cap.alert(d, load_rules(), region_names=names, point=point,
                     web=f"{str(ctx.request.base_url).rstrip('/')}/warnings/{warning_id}",
                     evidence=d["warningEvidence"].get("items", []), measures=d["suggestedMeasures"])
    return Response(body, media_type=cap.MEDIA_TYPE)


# ---------------------------------------------------------------------- the outbox
class DeliveryOut(BaseModel):
    id: str
    channel: str | None
    channelId: str | None = None
    recipientId: str | None
    recipientName: str | None = None
    state: str | None
    attempts: int | None
    nextAttemptAt: str | None = None
    deliveredAt: str | None = None
    error: str | None = None
    receipt: dict[str, Any] | None = Field(None, description="what the channel answered (status, message id), as stored")
    warningId: str | None = None


class RequeueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[str] = Field(..., min_length=1, max_length=1000)


@router.get("/deliveries", response_model=Page[DeliveryOut],
            summary="the outbox: deliveries and their receipts; state=dead is the dead-letter list (admin)")
def list_deliveries(state: str | None = Query(None, pattern="^(pending|sending|delivered|dead)$"),
                    warning: str | None = Query(None, max_length=80), channel: str | None = Query(None, max_length=20),
                    paging: PageParams = Depends(page_params), ctx: Context = CONTEXT) -> dict:
    if ctx.caller.role is not Role.ADMIN:
        raise unauthorized(N_("log in as an admin")) if ctx.caller.anonymous else forbidden(N_("the outbox is for admins"))
    total, rows = outbox.deliveries(ctx.store, state=state, warning_id=warning, channel=channel,
                                    offset=paging.offset, limit=paging.size)
    return paging.wrap(rows, total)


class Requeued(BaseModel):
    requeued: int = Field(description="how many dead letters were put back in the outbox")


@router.post("/deliveries/requeue", response_model=Requeued, summary="send dead letters again (admin)")
def requeue(body: RequeueIn = Body(...), ctx: Context = CONTEXT) -> dict:
    if ctx.caller.role is not Role.ADMIN:
        raise unauthorized(N_("log in as an admin")) if ctx.caller.anonymous else forbidden(N_("the outbox is for admins"))
    n = outbox.requeue(ctx.store, body.ids)
    background(ctx.request).dispatcher.wake()
    _audit(ctx, "deliveries_requeue", "-", None, {"requeued": n})
    return {"requeued": n}
