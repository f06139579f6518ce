"""Watches (画像动态预警): a user subscribes to an enterprise, a risk point or a region; changes to what
it watches — basic information, risk points, hidden dangers and their rectification, penalties,
licences (rules.toml [watch]) — from loads and API writes alike become one notification per
subscriber per batch of changes, through the same outbox and channels as warnings.

A notification shows a subscriber only what its role may read: the level it reads the enterprise
(or region) at decides which changed properties are named with their old and new values (the
ontology's disclosure levels), exactly as a portrait would show them.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from riskgraph.api.access import Caller, region_prefix
from riskgraph.api.users import UserStore
from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.notify import outbox
from riskgraph.notify.channels import WEB, ChannelRegistry
from riskgraph.ontology.errors import N_, RiskGraphError, as_message
from riskgraph.ontology.model import Disclosure, class_term

SUBSCRIPTION = "Subscription"
#: what may be watched: the request's name → the label
TARGETS = {"enterprise": "Enterprise", "riskPoint": "RiskPoint", "region": "Region"}


class WatchError(RiskGraphError, ValueError):
    """A subscription that cannot be made; the message says why."""


class WatchTargetMissing(RiskGraphError, LookupError):
    """What a subscription names is not in the graph (the API answers 404)."""


@dataclass(frozen=True)
class Change:
    """One touched node: new, or changed (with its property changes), and where it belongs."""

    label: str
    key: str
    kind: str                                   # "new" or "changed"
    changes: tuple[tuple[str, Any, Any], ...] = ()
    name: str | None = None
    enterprises: tuple[str, ...] = ()
    risk_points: tuple[str, ...] = ()
    region: str | None = None


def subscription_id(username: str, label: str, key: str) -> str:
    return "SUB-" + hashlib.sha256(f"{username}|{label}|{key}".encode()).hexdigest()[:16].upper()


def subscribe(store: GraphStore, username: str, label: str, key: str, channels: Sequence[str] = (WEB,),
              *, at: dt.datetime | None = None) -> dict[str, Any]:
    """Watch a node (idempotent: the same user, label and key give the same subscription)."""
    if label not in TARGETS.values():
        raise WatchError(N_("one can watch {targets}, not {label}"), targets=", ".join(TARGETS), label=label)
    if label == "Region":
        try:
            region_prefix(key)
        except ValueError as exc:
            raise WatchError(as_message(exc)) from None
    if store.get_node(label, key) is None:
        raise WatchTargetMissing(N_("{label} {key}"), label=class_term(label), key=key)
    sid = subscription_id(username, label, key)
    store.upsert_nodes(SUBSCRIPTION, [{"id": sid, "subscriber": username, "targetLabel": label, "targetKey": key,
                                       "subscriptionChannels": list(dict.fromkeys(channels or (WEB,))),
                                       "subscribedAt": at or outbox.now()}])
    return _shown(store.get_node(SUBSCRIPTION, sid) or {})


def unsubscribe(store: GraphStore, username: str, sid: str) -> bool:
    rows = store.execute(f"MATCH (s:{ident(SUBSCRIPTION)} {{id: $id}}) WHERE s.subscriber = $u DETACH DELETE s RETURN count(*) AS n",
                         {"id": sid, "u": username})
    return bool(rows and rows[0]["n"])


def subscriptions(store: GraphStore, username: str) -> list[dict[str, Any]]:
    rows = store.read(f"MATCH (s:{ident(SUBSCRIPTION)}) WHERE s.subscriber = $u RETURN properties(s) AS p ORDER BY s.id",
                      {"u": username})
    return [_shown(r["p"]) for r in rows]


def _shown(p: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": p.get("id"), "subscriber": p.get("subscriber"), "label": p.get("targetLabel"), "key": p.get("targetKey"),
            "channels": p.get("subscriptionChannels") or [WEB], "subscribedAt": p.get("subscribedAt")}


@dataclass
class WatchReport:
    notifications: int = 0
    subscribers: int = 0
    changes: int = 0
    skipped: list[str] = field(default_factory=list)


def _matching(store: GraphStore, changes: Sequence[Change]) -> list[dict[str, Any]]:
    usccs = sorted({u for c in changes for u in c.enterprises} | {c.key for c in changes if c.label == "Enterprise"})
    points = sorted({p for c in changes for p in c.risk_points} | {c.key for c in changes if c.label == "RiskPoint"})
    rows = store.read(f"MATCH (s:{ident(SUBSCRIPTION)}) WHERE (s.targetLabel = 'Enterprise' AND s.targetKey IN $u) "
                      "OR (s.targetLabel = 'RiskPoint' AND s.targetKey IN $p) OR s.targetLabel = 'Region' "
                      "RETURN properties(s) AS p", {"u": usccs, "p": points})
    return [r["p"] for r in rows]


def _covers(sub: Mapping[str, Any], c: Change) -> bool:
    key, label = sub["targetKey"], sub["targetLabel"]
    if label == "Enterprise":
        return key in c.enterprises or (c.label == "Enterprise" and c.key == key)
    if label == "RiskPoint":
        return key in c.risk_points or (c.label == "RiskPoint" and c.key == key)
    return bool(c.region) and str(c.region).startswith(region_prefix(key))


def _level(caller: Caller, c: Change, regions: Mapping[str, str | None]) -> Disclosure:
    if c.enterprises:
        return max(caller.enterprise_level(u, regions.get(u)) for u in c.enterprises)
    if c.label == "Enterprise":
        return caller.enterprise_level(c.key, c.region)
    return caller.region_level(c.region)


def _item(store: GraphStore, c: Change, level: Disclosure) -> dict[str, Any]:
    onto = store.ontology
    shown = [{"property": p, "old": old, "new": new} for p, old, new in c.changes
             if p in onto.properties_of(c.label) and onto.disclosure_of(c.label, p) <= level]
    item: dict[str, Any] = {"label": c.label, "key": c.key, "name": c.name, "kind": c.kind, "changes": shown}
    hidden = len(c.changes) - len(shown)
    if hidden:
        item["notShown"] = hidden  # changed properties above the subscriber's level: counted, never named
    if c.enterprises:
        item["enterprises"] = list(c.enterprises)
    return item


def notify_changes(store: GraphStore, changes: Iterable[Change], *, users: UserStore, batch: str,
                   registry: ChannelRegistry | None = None, watched_labels: Iterable[str] | None = None,
                   regions: Mapping[str, str | None] | None = None) -> WatchReport:
    """One notification per subscriber for this batch of changes (idempotent per batch)."""
    wanted = set(watched_labels) if watched_labels is not None else None
    todo = [c for c in changes if wanted is None or c.label in wanted]
    report = WatchReport(changes=len(todo))
    if not todo:
        return report
    subs = _matching(store, todo)
    per_user: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for sub in subs:
        per_user[sub["subscriber"]].append(sub)
    regions = dict(regions or {})
    configured = {c.kind: c for c in registry.list()} if registry else {}
    deliveries: list[outbox.NewDelivery] = []
    for username, mine in sorted(per_user.items()):
        user = users.get(username)
        if user is None or not user.active:
            report.skipped.append(username)
            continue
        caller = user.caller()
        # every step a node took in this batch, in order (a hidden danger assigned then rectified is two
        # items); only a change reported twice over (the same node, kind and values) is told once
        items, seen = [], set()
        for c in todo:
            said = json.dumps([c.label, c.key, c.kind, c.changes], ensure_ascii=False, default=str)  # values may be lists
            if said in seen or not any(_covers(s, c) for s in mine):
                continue
            seen.add(said)
            items.append(_item(store, c, _level(caller, c, regions)))
        if not items:
            continue
        report.subscribers += 1
        channels = sorted({ch for s in mine for ch in (s.get("subscriptionChannels") or [WEB])})
        title = f"关注对象有 {len(items)} 项变化"
        for channel in channels:
            key = outbox.idempotency_key("watch", batch, username, channel)
            payload = {"event": "watch.changes", "deliveryId": key, "title": title, "batch": batch, "changes": items,
                       "summary": "；".join(f"{i['name'] or i['key']}（{'新增' if i['kind'] == 'new' else '变更'}）" for i in items[:5]),
                       "subscriptions": [{"id": s["id"], "label": s["targetLabel"], "key": s["targetKey"]} for s in mine]}
            if channel == WEB:
                deliveries.append(outbox.NewDelivery(key, WEB, f"user:{username}", payload, address=username))
            elif channel in configured:
                address = (registry.address(channel, f"user:{username}") if registry else None) or (
                    f"user:{username}" if channel == "mobile" else None)
                if address:
                    deliveries.append(outbox.NewDelivery(key, channel, f"user:{username}", payload, address=address,
                                                         channel_id=configured[channel].id))
    report.notifications = outbox.enqueue(store, deliveries)
    return report


def describe(changes: Sequence[Change]) -> str:
    return json.dumps([{"label": c.label, "key": c.key, "kind": c.kind} for c in changes], ensure_ascii=False)
