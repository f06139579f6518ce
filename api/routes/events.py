"""The web channel for signed-in users: `GET /events` (Server-Sent Events), the inbox
(`GET /notifications`), and watches (`POST /subscriptions`, 画像动态预警).

`GET /events` streams `event: notification` with the notification as JSON `data` and its id as the
event `id`, as soon as the dispatcher delivers it; a client that reconnects with `Last-Event-ID`
first gets what reached its inbox after that notification. Comments (`: ping`) keep idle streams open.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from riskgraph.api.access import Caller, check_uscc, region_prefix
from riskgraph.api.background import background
from riskgraph.api.deps import get_caller, services
from riskgraph.api.errors import invalid, not_found, unauthorized
from riskgraph.api.pagination import Page, PageParams, page_params
from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import encode_properties
from riskgraph.notify import watches
from riskgraph.notify.channels import KINDS, WEB
from riskgraph.notify.outbox import now
from riskgraph.notify.web import NOTIFICATION, event_of
from riskgraph.ontology.errors import N_, RiskGraphError, as_message
from riskgraph.ontology.model import class_term

router = APIRouter(tags=["notifications"])
REPLAY_LIMIT = 200


def _user(caller: Caller) -> str:
    if caller.anonymous or not caller.username:
        raise unauthorized(N_("log in: notifications are per account"))
    return caller.username


def signed_in(caller: Caller = Depends(get_caller)) -> str:
    """The account name; 401 before any stream starts."""
    return _user(caller)


class NotificationOut(BaseModel):
    id: str
    kind: str | None
    title: str | None
    at: str | None
    read: bool
    readAt: str | None = None
    body: dict[str, Any] | None = Field(description="what changed or what the warning says: its fields depend on `kind`")


def _inbox(store: GraphStore, username: str, *, unread: bool, offset: int, limit: int, after_ms: int | None = None
           ) -> tuple[int, list[dict[str, Any]]]:
    cond = "n.notificationRecipient = $u AND ($unread = false OR n.readAt IS NULL) AND ($after IS NULL OR n.notifiedAtMs > $after)"
    params = {"u": username, "unread": unread, "after": after_ms}
    total = store.read(f"MATCH (n:{ident(NOTIFICATION)}) WHERE {cond} RETURN count(n) AS c", params)
    rows = store.read(f"MATCH (n:{ident(NOTIFICATION)}) WHERE {cond} RETURN properties(n) AS p "
                      "ORDER BY n.notifiedAtMs DESC, n.id SKIP $skip LIMIT $limit", {**params, "skip": offset, "limit": limit})
    return int(total[0]["c"]) if total else 0, [event_of(r["p"]) for r in rows]


@router.get("/notifications", response_model=Page[NotificationOut], summary="the caller's inbox, newest first")
def notifications(request: Request, unread: bool = Query(False, description="only unread ones"),
                  paging: PageParams = Depends(page_params), caller: Caller = Depends(get_caller)) -> dict:
    total, items = _inbox(services(request).store, _user(caller), unread=unread, offset=paging.offset, limit=paging.size)
    return paging.wrap(items, total)


@router.post("/notifications/{notification_id}/read", response_model=NotificationOut, summary="mark one notification read")
def mark_read(request: Request, notification_id: str = Path(..., max_length=64), caller: Caller = Depends(get_caller)) -> dict:
    store = services(request).store
    props = encode_properties(store.ontology, NOTIFICATION, {"readAt": now()})
    rows = store.execute(f"MATCH (n:{ident(NOTIFICATION)} {{id: $id}}) WHERE n.notificationRecipient = $u "
                         "SET n.readAt = coalesce(n.readAt, $at), n.readAtMs = coalesce(n.readAtMs, $ms) RETURN properties(n) AS p",
                         {"id": notification_id, "u": _user(caller), "at": props["readAt"], "ms": props["readAtMs"]})
    if not rows:
        raise not_found(N_("notification {notification_id}"), notification_id=notification_id)
    return event_of(rows[0]["p"])


@router.get("/events", response_class=EventSourceResponse,
            summary="Server-Sent Events: the caller's notifications as they are delivered (resume with Last-Event-ID)")
async def events(request: Request, username: str = Depends(signed_in),
                 last_event_id: str | None = Header(None, alias="Last-Event-ID")) -> AsyncIterator[ServerSentEvent]:
    hub = background(request).hub
    stream = hub.subscribe(username)
    store = services(request).store
    try:
        yield ServerSentEvent(event="ready", data={"user": username}, retry=3000)
        if last_event_id:
            rows = await run_in_threadpool(store.read, f"MATCH (n:{ident(NOTIFICATION)} {{id: $id}}) "
                                                       "WHERE n.notificationRecipient = $u RETURN n.notifiedAtMs AS t",
                                           {"id": last_event_id, "u": username})
            if rows:
                _, missed = await run_in_threadpool(_inbox, store, username, unread=False, offset=0, limit=REPLAY_LIMIT,
                                                    after_ms=int(rows[0]["t"]))
                for item in reversed(missed):
                    yield ServerSentEvent(event="notification", id=item["id"], data=item)
        while True:
            try:
                item = await asyncio.wait_for(stream.queue.get(), timeout=1.0)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                continue
            yield ServerSentEvent(event="notification", id=item["id"], data=item)
    finally:
        hub.unsubscribe(stream)


# ---------------------------------------------------------------------- watches
class SubscriptionTargetError(RiskGraphError, ValueError):
    """A subscription names none or several of its possible targets."""


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enterprise: str | None = Field(None, max_length=18, description="统一社会信用代码")
    riskPoint: str | None = Field(None, max_length=200, description="风险点编号")
    region: str | None = Field(None, max_length=12, description="GB/T 2260 code (130100 covers its counties)")
    channels: list[str] = Field(default_factory=lambda: [WEB], max_length=4, description=f"{WEB} and any of {', '.join(KINDS[1:])}")

    @model_validator(mode="after")
    def _one_target(self) -> SubscriptionIn:
        if sum(v is not None for v in (self.enterprise, self.riskPoint, self.region)) != 1:
            raise SubscriptionTargetError(N_("give exactly one of enterprise, riskPoint, region"))
        return self


class SubscriptionOut(BaseModel):
    id: str
    subscriber: str | None
    label: str | None
    key: str | None
    channels: list[str]
    subscribedAt: str | None


@router.post("/subscriptions", response_model=SubscriptionOut, status_code=201,
             summary="watch an enterprise, a risk point or a region: its changes reach the caller's notifications")
def subscribe(request: Request, body: SubscriptionIn = Body(...), caller: Caller = Depends(get_caller)) -> dict:
    username = _user(caller)
    bad = [c for c in body.channels if c not in (WEB, "mobile")]
    if bad:
        raise invalid(N_("watch notifications go to the web inbox or mobile push, not {bad}"), "channels", bad=bad)
    if body.enterprise is not None:
        try:
            label, key = "Enterprise", check_uscc(body.enterprise)
        except ValueError as exc:
            raise invalid(as_message(exc), "enterprise") from None
    elif body.riskPoint is not None:
        label, key = "RiskPoint", body.riskPoint
    else:
        try:
            region_prefix(body.region or "")
        except ValueError as exc:
            raise invalid(as_message(exc), "region") from None
        label, key = "Region", str(body.region)
    try:
        return watches.subscribe(services(request).store, username, label, key, body.channels)
    except LookupError:
        raise not_found(N_("{label} {key}"), label=class_term(label), key=key) from None
    except watches.WatchError as exc:
        raise invalid(as_message(exc)) from None


@router.get("/subscriptions", response_model=list[SubscriptionOut], summary="what the caller watches")
def list_subscriptions(request: Request, caller: Caller = Depends(get_caller)) -> list[dict]:
    return watches.subscriptions(services(request).store, _user(caller))


@router.delete("/subscriptions/{subscription_id}", status_code=204, summary="stop watching")
def unsubscribe(request: Request, subscription_id: str = Path(..., max_length=40), caller: Caller = Depends(get_caller)) -> None:
    if not watches.unsubscribe(services(request).store, _user(caller), subscription_id):
        raise not_found(N_("subscription {subscription_id}"), subscription_id=subscription_id)
