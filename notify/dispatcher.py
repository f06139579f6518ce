"""The outbox worker: claims due deliveries, sends each through its channel's adapter, records the outcome.

Runs as one thread in the service (`start`/`stop`); `wake()` makes it look at once (a publish just
enqueued), otherwise it looks every `poll_s`. Channels are re-read from the registry every round, so
a channel added with `riskgraph channel-add` while the service runs is used at once. Secrets are
never logged: errors are logged with the delivery id and the channel id only.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Mapping

from riskgraph.graph.store import GraphStore, StoreError
from riskgraph.notify import outbox
from riskgraph.notify.adapters import Adapter, DeliveryError
from riskgraph.notify.channels import WEB, Channel, ChannelRegistry
from riskgraph.notify.events import EventHub
from riskgraph.notify.mobile import MobilePushAdapter
from riskgraph.notify.settings import DeliverySettings
from riskgraph.notify.web import WebAdapter
from riskgraph.notify.webhook import WebhookAdapter
from riskgraph.notify.wechat import WeChatAdapter
from riskgraph.ontology.errors import N_

log = logging.getLogger("riskgraph.notify")


def default_adapters(store: GraphStore, hub: EventHub | None, settings: DeliverySettings) -> dict[str, Adapter]:
    return {WEB: WebAdapter(store, hub), "webhook": WebhookAdapter(settings.timeout_s),
            "wechat": WeChatAdapter(settings.timeout_s), "mobile": MobilePushAdapter(settings.timeout_s)}


class Dispatcher:
    def __init__(self, store: GraphStore, registry: ChannelRegistry, *, hub: EventHub | None = None,
                 settings: DeliverySettings | None = None, adapters: Mapping[str, Adapter] | None = None) -> None:
        self.store = store
        self.registry = registry
        self.settings = settings or DeliverySettings.from_env()
        self.adapters = dict(adapters) if adapters is not None else default_adapters(store, hub, self.settings)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.failed = 0

    # ------------------------------------------------------------------ one round
    def run_once(self) -> int:
        """Claim and send one batch; how many deliveries were attempted."""
        batch = outbox.claim(self.store, self.owner, lease_s=self.settings.lease_s, limit=self.settings.batch)
        if not batch:
            return 0
        channels = {c.id: c for c in self.registry.list(active_only=False)}
        for delivery in batch:
            if self._stop.is_set():
                break  # the rest keep their lease and are sent again after it runs out
            self._send(delivery, channels.get(delivery.channel_id or ""))
        return len(batch)

    def _send(self, delivery: outbox.Delivery, channel: Channel | None) -> None:
        adapter = self.adapters.get(delivery.channel)
        try:
            if adapter is None:
                raise DeliveryError(N_("no adapter for channel kind {kind!r}"), kind=delivery.channel, transient=False)
            receipt = adapter.send(delivery, channel)
        except DeliveryError as exc:
            self._failed(delivery, str(exc), exc.transient, exc.retry_after)
            return
        except Exception as exc:  # an adapter bug must not stop the outbox: retried, logged
            log.exception("delivery %s (%s) failed unexpectedly", delivery.id, delivery.channel)
            self._failed(delivery, f"{type(exc).__name__}: {exc}", True, None)
            return
        if outbox.complete(self.store, delivery, self.owner, receipt):
            self.sent += 1
        else:
            log.warning("delivery %s was sent after its lease ran out; another sender may have sent it too", delivery.id)

    def _failed(self, delivery: outbox.Delivery, error: str, transient: bool, retry_after: float | None) -> None:
        self.failed += 1
        attempts = delivery.attempts + 1
        if transient and attempts < self.settings.max_attempts:
            delay = max(self.settings.backoff(attempts), retry_after or 0.0)
            outbox.fail(self.store, delivery, self.owner, error, retry_in=delay)
            log.info("delivery %s (%s to %s) attempt %d failed, retry in %.1f s: %s", delivery.id, delivery.channel,
                     delivery.recipient_id, attempts, delay, error)
        else:
            outbox.fail(self.store, delivery, self.owner, error, retry_in=None)
            log.warning("delivery %s (%s to %s) is a dead letter after %d attempts: %s", delivery.id, delivery.channel,
                        delivery.recipient_id, attempts, error)

    # ------------------------------------------------------------------ the thread
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="riskgraph-dispatcher", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        for adapter in self.adapters.values():
            close = getattr(adapter, "close", None)
            if close is not None:
                close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except StoreError as exc:
                log.warning("outbox round failed (store): %s", exc)
                busy = 0
            except Exception:
                log.exception("outbox round failed")
                busy = 0
            if busy:
                continue
            self._wake.wait(self.settings.poll_s)
            self._wake.clear()
