"""Webhooks: the delivery's JSON POSTed to the channel's URL, signed so the receiver can trust it.

Headers: `X-RiskGraph-Signature: sha256=<hex>` (HMAC-SHA256 of the exact body bytes with the
channel's secret), `X-RiskGraph-Delivery` and `Idempotency-Key` (the delivery id: the same on every
attempt; a receiver keeps the keys it has processed and ignores a repeat), `X-RiskGraph-Event`.
2xx is delivered; 408, 425, 429 and 5xx and network errors are retried; any other status is
permanent (dead letter). To check a delivery on the receiving side:

    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    hmac.compare_digest(expected, request.headers["X-RiskGraph-Signature"])
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import httpx

from riskgraph.notify.adapters import USER_AGENT, DeliveryError, http_error, transport_error
from riskgraph.notify.channels import Channel
from riskgraph.notify.outbox import Delivery
from riskgraph.ontology.errors import N_

SIGNATURE_HEADER = "X-RiskGraph-Signature"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    return header is not None and hmac.compare_digest(sign(secret, body), header)


class WebhookAdapter:
    kind = "webhook"

    def __init__(self, timeout_s: float = 10.0) -> None:
        self.client = httpx.Client(timeout=timeout_s, follow_redirects=False, headers={"User-Agent": USER_AGENT})

    def send(self, delivery: Delivery, channel: Channel | None) -> Mapping[str, Any]:
        if channel is None or not channel.active:
            raise DeliveryError(N_("webhook channel {channel} is no longer configured"), channel=delivery.channel_id,
                                transient=False)
        body = delivery.payload.encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", SIGNATURE_HEADER: sign(channel.secret, body),
                   "X-RiskGraph-Delivery": delivery.id, "Idempotency-Key": delivery.id,
                   "X-RiskGraph-Event": str(delivery.body().get("event", "notification"))}
        try:
            response = self.client.post(channel.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise transport_error(exc, f"webhook {channel.id}") from None
        if not response.is_success:
            raise http_error(response, f"webhook {channel.id}")
        return {"status": response.status_code, "body": response.text[:500]}

    def close(self) -> None:
        self.client.close()
