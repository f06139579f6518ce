"""The outbox: one `Delivery` node per message per recipient per channel, in the graph store.

A delivery's id is its idempotency key (the same key for every attempt, sent to the receiver), so
enqueueing twice — a publish retried after a crash — creates it once (`MERGE … ON CREATE`), and a
receiver that remembers keys processes it once. Sending takes a lease: `claim` marks a batch
`sending` with an owner and an expiry in one statement; a sender that dies leaves the lease to run
out, after which the delivery is claimed again. `complete` stores the receipt; `fail` schedules a
retry with backoff, or moves the delivery to the dead-letter list (`dead`) when the error is
permanent or the attempts are spent. Deliveries of a warning are only claimed once the warning is
published (an enqueue whose publish did not complete sends nothing).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import LOCAL_TZ, encode_properties, to_epoch_ms
from riskgraph.ontology.errors import N_, RiskGraphError

DELIVERY = "Delivery"
DELIVERY_FOR = "DELIVERY_FOR"
WARNING = "Warning"
PENDING, SENDING, DELIVERED, DEAD = "pending", "sending", "delivered", "dead"
STATES = (PENDING, SENDING, DELIVERED, DEAD)
#: warning states whose deliveries may go out
LIVE_WARNING_STATES = ("published", "acknowledged", "closed")


def idempotency_key(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:32]


def now() -> dt.datetime:
    moment = dt.datetime.now(LOCAL_TZ)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class NewDelivery:
    id: str                       # the idempotency key
    channel: str                  # web, webhook, wechat, mobile
    recipient_id: str
    payload: Mapping[str, Any]
    address: str | None = None    # username, openid, push alias; a webhook's channel id
    channel_id: str | None = None
    recipient_name: str | None = None


@dataclass(frozen=True)
class Delivery:
    id: str
    channel: str
    recipient_id: str
    payload: str                  # the JSON text sent, identical on every attempt
    state: str
    attempts: int
    address: str | None = None
    channel_id: str | None = None
    recipient_name: str | None = None
    warning_id: str | None = None

    @classmethod
    def from_props(cls, p: Mapping[str, Any], warning_id: str | None = None) -> Delivery:
        return cls(id=p["id"], channel=p.get("deliveryChannel") or "", recipient_id=p.get("recipientId") or "",
                   payload=p.get("deliveryPayload") or "{}", state=p.get("deliveryState") or PENDING,
                   attempts=int(p.get("deliveryAttempts") or 0), address=p.get("deliveryAddress"),
                   channel_id=p.get("channelId"), recipient_name=p.get("recipientName"), warning_id=warning_id)

    def body(self) -> dict[str, Any]:
        return json.loads(self.payload)


def _props(store: GraphStore, values: Mapping[str, Any]) -> dict[str, Any]:
    return encode_properties(store.ontology, DELIVERY, values)


def payload_text(payload: Mapping[str, Any]) -> str:
    """The one serialisation of a payload: sorted keys, so a retried enqueue builds the same bytes."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def enqueue(store: GraphStore, items: Sequence[NewDelivery], *, warning_id: str | None = None,
            at: dt.datetime | None = None) -> int:
    """Create the deliveries that do not exist yet (by id); return how many were new."""
    if not items:
        return 0
    at = at or now()
    rows = []
    for d in items:
        props = _props(store, {
            "id": d.id, "deliveryChannel": d.channel, "recipientId": d.recipient_id, "recipientName": d.recipient_name,
            "deliveryAddress": d.address, "channelId": d.channel_id, "deliveryPayload": payload_text(d.payload),
            "deliveryState": PENDING, "deliveryAttempts": 0, "nextAttemptAt": at,
        })
        rows.append({"k": d.id, "p": props})
    key = ident(store.ontology.key_of(DELIVERY))
    existing = store.read(f"UNWIND $ids AS i MATCH (d:{ident(DELIVERY)} {{{key}: i}}) RETURN i", {"ids": [d.id for d in items]})
    # ON CREATE only: a delivery already delivered (or dead) keeps its state when the publish is retried
    store.execute(f"UNWIND $rows AS row MERGE (d:{ident(DELIVERY)} {{{key}: row.k}}) ON CREATE SET d += row.p", {"rows": rows})
    if warning_id is not None:
        store.upsert_relationships(DELIVERY_FOR, [{"from": d.id, "to": warning_id} for d in items])
    return len(items) - len(existing)


def claim(store: GraphStore, owner: str, *, lease_s: float, limit: int, at: dt.datetime | None = None) -> list[Delivery]:
    """Reserve up to `limit` due deliveries for `owner` (pending and due, or sending with an expired lease)."""
    at = at or now()
    until = at + dt.timedelta(seconds=lease_s)
    lease = _props(store, {"leaseUntil": until})
    rows = store.execute(
        # the states first, alone: FalkorDB answers them from the index; with the OR of the due
        # conditions beside them it read every delivery ever made, on every poll, holding the write lock
        f"MATCH (d:{ident(DELIVERY)}) WHERE d.deliveryState IN [$pending, $sending] "
        "WITH d WHERE (d.deliveryState = $pending AND d.nextAttemptAtMs <= $now) "
        "OR (d.deliveryState = $sending AND d.leaseUntilMs < $now) "
        f"OPTIONAL MATCH (d)-[:{ident(DELIVERY_FOR)}]->(w:{ident(WARNING)}) "
        "WITH d, w WHERE w IS NULL OR w.warningState IN $live "
        "WITH d, w ORDER BY d.nextAttemptAtMs, d.id LIMIT $limit "
        "SET d.deliveryState = $sending, d.leaseOwner = $owner, d.leaseUntil = $until, d.leaseUntilMs = $untilMs "
        "RETURN properties(d) AS p, w.id AS w",
        {"pending": PENDING, "sending": SENDING, "now": to_epoch_ms(at), "live": list(LIVE_WARNING_STATES),
         "limit": limit, "owner": owner, "until": lease["leaseUntil"], "untilMs": lease["leaseUntilMs"]})
    return [Delivery.from_props(r["p"], r["w"]) for r in rows]


def complete(store: GraphStore, delivery: Delivery, owner: str, receipt: Mapping[str, Any], *,
             at: dt.datetime | None = None) -> bool:
    """Record the receipt; False when the lease had been lost to another sender (its result stands)."""
    props = _props(store, {"deliveryState": DELIVERED, "deliveredAt": at or now(), "deliveryAttempts": delivery.attempts + 1,
                           "deliveryReceipt": payload_text(receipt)})
    rows = store.execute(
        f"MATCH (d:{ident(DELIVERY)} {{id: $id}}) WHERE d.deliveryState = $sending AND d.leaseOwner = $owner "
        "SET d += $p, d.deliveryError = null RETURN d.id AS id",
        {"id": delivery.id, "sending": SENDING, "owner": owner, "p": props})
    return bool(rows)


def fail(store: GraphStore, delivery: Delivery, owner: str, error: str, *, retry_in: float | None,
         at: dt.datetime | None = None) -> str:
    """Record a failed attempt: retry after `retry_in` seconds, or dead-letter it (`retry_in` None)."""
    at = at or now()
    attempts = delivery.attempts + 1
    values: dict[str, Any] = {"deliveryAttempts": attempts, "deliveryError": error[:500]}
    if retry_in is None:
        values["deliveryState"] = DEAD
        state = DEAD
    else:
        values["deliveryState"] = PENDING
        values["nextAttemptAt"] = at + dt.timedelta(seconds=retry_in)
        state = PENDING
    store.execute(
        f"MATCH (d:{ident(DELIVERY)} {{id: $id}}) WHERE d.deliveryState = $sending AND d.leaseOwner = $owner SET d += $p",
        {"id": delivery.id, "sending": SENDING, "owner": owner, "p": _props(store, values)})
    return state


def requeue(store: GraphStore, ids: Iterable[str], *, at: dt.datetime | None = None) -> int:
    """Give dead letters another round of attempts (after the receiver was fixed)."""
    props = _props(store, {"deliveryState": PENDING, "deliveryAttempts": 0, "nextAttemptAt": at or now()})
    rows = store.execute(f"UNWIND $ids AS i MATCH (d:{ident(DELIVERY)} {{id: i}}) WHERE d.deliveryState = $dead "
                         "SET d += $p RETURN count(d) AS n", {"ids": list(ids), "dead": DEAD, "p": props})
    return int(rows[0]["n"]) if rows else 0


class DeliveryStateError(RiskGraphError, ValueError):
    """A delivery state filter that is none of the outbox's states."""


def deliveries(store: GraphStore, *, state: str | None = None, warning_id: str | None = None,
               channel: str | None = None, limit: int = 200, offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """Deliveries (newest first) with their warning id; filters by state, warning and channel."""
    if state is not None and state not in STATES:
        raise DeliveryStateError(N_("unknown delivery state {state!r}; one of {states}"), state=state, states=", ".join(STATES))
    cond = ["($state IS NULL OR d.deliveryState = $state)", "($channel IS NULL OR d.deliveryChannel = $channel)",
            "($warning IS NULL OR w.id = $warning)"]
    base = (f"MATCH (d:{ident(DELIVERY)}) OPTIONAL MATCH (d)-[:{ident(DELIVERY_FOR)}]->(w:{ident(WARNING)}) "
            "WITH d, w WHERE " + " AND ".join(cond))
    params = {"state": state, "channel": channel, "warning": warning_id}
    total = store.read(base + " RETURN count(d) AS n", params)
    rows = store.read(base + " RETURN properties(d) AS p, w.id AS w ORDER BY d.nextAttemptAtMs DESC, d.id SKIP $skip LIMIT $limit",
                      {**params, "skip": offset, "limit": limit})
    return int(total[0]["n"]) if total else 0, [{**_shown(r["p"]), "warningId": r["w"]} for r in rows]


def _shown(p: Mapping[str, Any]) -> dict[str, Any]:
    """A delivery for people: companions dropped, JSON parsed; the payload is summarised, not repeated."""
    receipt = p.get("deliveryReceipt")
    return {"id": p["id"], "channel": p.get("deliveryChannel"), "channelId": p.get("channelId"),
            "recipientId": p.get("recipientId"), "recipientName": p.get("recipientName"), "state": p.get("deliveryState"),
            "attempts": p.get("deliveryAttempts"), "nextAttemptAt": p.get("nextAttemptAt"), "deliveredAt": p.get("deliveredAt"),
            "error": p.get("deliveryError"), "receipt": json.loads(receipt) if receipt else None}
