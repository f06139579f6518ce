"""The web channel: a delivery becomes a `Notification` in the user's inbox, then an SSE event.

The notification's id is the delivery's idempotency key (`MERGE … ON CREATE`), so a delivery retried
after a crash leaves one notification. The SSE event carries the notification id as its event id.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import encode_properties
from riskgraph.notify.adapters import DeliveryError
from riskgraph.notify.channels import Channel
from riskgraph.notify.events import EventHub
from riskgraph.notify.outbox import WARNING, Delivery, now
from riskgraph.ontology.errors import N_

NOTIFICATION = "Notification"
NOTIFIES = "NOTIFIES"


def event_of(props: Mapping[str, Any]) -> dict[str, Any]:
    """A notification as the inbox and the SSE stream show it."""
    body = props.get("notificationBody")
    return {"id": props["id"], "kind": props.get("notificationKind"), "title": props.get("name"),
            "at": props.get("notifiedAt"), "read": props.get("readAt") is not None, "readAt": props.get("readAt"),
            "body": json.loads(body) if isinstance(body, str) else body}


class WebAdapter:
    kind = "web"

    def __init__(self, store: GraphStore, hub: EventHub | None = None) -> None:
        self.store = store
        self.hub = hub

    def send(self, delivery: Delivery, channel: Channel | None) -> Mapping[str, Any]:
        if not delivery.address:
            raise DeliveryError(N_("web delivery {delivery} names no account"), delivery=delivery.id, transient=False)
        body = delivery.body()
        props = encode_properties(self.store.ontology, NOTIFICATION, {
            "id": delivery.id, "notificationRecipient": delivery.address, "notificationKind": body.get("event", "notification"),
            "name": body.get("title") or (body.get("warning") or {}).get("title"), "notificationBody": delivery.payload,
            "notifiedAt": now(),
        })
        key = ident(self.store.ontology.key_of(NOTIFICATION))
        rows = self.store.execute(f"MERGE (n:{ident(NOTIFICATION)} {{{key}: $id}}) ON CREATE SET n += $p "
                                  "RETURN properties(n) AS p", {"id": delivery.id, "p": props})
        if delivery.warning_id:
            self.store.upsert_relationships(NOTIFIES, [{"from": delivery.id, "to": delivery.warning_id}],
                                            to_label=WARNING)
        stored = rows[0]["p"]
        streams = self.hub.publish(delivery.address, event_of(stored)) if self.hub else 0
        return {"notification": delivery.id, "streams": streams}
