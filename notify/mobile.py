"""Mobile push through JPush (极光推送) REST API v3, on the outbox.

The channel's URL is the API base (https://api.jpush.cn, or a server answering the same way), its
secret the app's master secret, its option `app_key`. A message goes to `POST /v3/push` with HTTP
Basic auth (app_key:master_secret) to the audience `alias` = the recipient's push alias: its binding
(`riskgraph channel-bind mobile RECIPIENT ALIAS`), else the recipient id itself (the app registers
the signed-in account's recipient id as its alias). `sendno` carries a number derived from the
delivery id. 200 with `msg_id` is delivered; 429 and 5xx are retried; 400 (e.g. 1011: no device
with that alias) and 401/403 (bad credentials) are dead letters.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from riskgraph.notify.adapters import USER_AGENT, DeliveryError, http_error, transport_error
from riskgraph.notify.channels import Channel
from riskgraph.notify.outbox import Delivery
from riskgraph.ontology.errors import N_

TIME_TO_LIVE_S = 86_400


class MobilePushAdapter:
    kind = "mobile"

    def __init__(self, timeout_s: float = 10.0) -> None:
        self.client = httpx.Client(timeout=timeout_s, headers={"User-Agent": USER_AGENT})

    def message(self, delivery: Delivery) -> dict[str, Any]:
        body = delivery.body()
        w = body.get("warning") or {}
        title = w.get("title") or body.get("title") or "RiskGraph 通知"
        alert = (w.get("description") or body.get("summary") or title)[:200]
        extras = {"deliveryId": delivery.id, "warningId": w.get("id"), "level": w.get("level"), "event": body.get("event")}
        extras = {k: v for k, v in extras.items() if v is not None}
        return {
            "platform": "all",
            "audience": {"alias": [delivery.address or delivery.recipient_id]},
            "notification": {"alert": alert, "android": {"alert": alert, "title": title, "extras": extras},
                             "ios": {"alert": alert, "extras": extras}},
            "options": {"sendno": int(delivery.id[:8], 16) % 2_147_483_647, "time_to_live": TIME_TO_LIVE_S},
        }

    def send(self, delivery: Delivery, channel: Channel | None) -> Mapping[str, Any]:
        if channel is None or not channel.active:
            raise DeliveryError(N_("mobile channel {channel} is no longer configured"), channel=delivery.channel_id,
                                transient=False)
        try:
            response = self.client.post(f"{channel.url.rstrip('/')}/v3/push", json=self.message(delivery),
                                        auth=(str(channel.options["app_key"]), channel.secret))
        except httpx.HTTPError as exc:
            raise transport_error(exc, "mobile push") from None
        if not response.is_success:
            raise http_error(response, "mobile push")
        data = response.json()
        if "msg_id" not in data:
            raise DeliveryError(N_("mobile push answered without msg_id: {answer}"), answer=str(data)[:200], transient=True)
        return {"msg_id": data["msg_id"], "sendno": data.get("sendno")}

    def close(self) -> None:
        self.client.close()
