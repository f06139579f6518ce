"""What every channel adapter is: `send(delivery, channel) -> receipt`, or a DeliveryError saying whether to retry."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from riskgraph.notify.channels import Channel
from riskgraph.notify.outbox import Delivery
from riskgraph.ontology.errors import N_, RiskGraphError

USER_AGENT = "RiskGraph-Notify/1.0"
#: HTTP statuses worth another attempt: time-outs, rate limits, the receiver's own failures
TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class DeliveryError(RiskGraphError):
    """An attempt that failed: `transient` ones are retried with backoff, the others go to dead letters."""

    def __init__(self, message: str, *, transient: bool, retry_after: float | None = None, **values: Any) -> None:
        super().__init__(message, **values)
        self.transient = transient
        self.retry_after = retry_after


class Adapter(Protocol):
    kind: str

    def send(self, delivery: Delivery, channel: Channel | None) -> Mapping[str, Any]: ...


def retry_after(response: httpx.Response) -> float | None:
    """A Retry-After in seconds (the HTTP-date form is not used by the receivers we talk to)."""
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def http_error(response: httpx.Response, what: str) -> DeliveryError:
    text = response.text[:200].replace("\n", " ")
    return DeliveryError(N_("{what} answered HTTP {status}: {text}"), what=what, status=response.status_code, text=text,
                         transient=response.status_code in TRANSIENT_STATUS, retry_after=retry_after(response))


def transport_error(exc: httpx.HTTPError, what: str) -> DeliveryError:
    """Connection refused, reset, time-out: the receiver may be back later."""
    return DeliveryError(N_("{what} unreachable: {kind}: {reason}"), what=what, kind=type(exc).__name__,
                         reason=str(exc)[:250], transient=True)
