"""The service's background work: the outbox dispatcher, the SSE hub, fresh scores after writes,
live ingest (the ingest log's worker, which also checks for source systems that stopped delivering;
the MQTT subscription when RISKGRAPH_MQTT_URL is set), the scheduled pulls of export sources.

Started in the app's lifespan (`start_background`), stopped when it shuts down. Route modules reach
it through `background(request)`; a write endpoint calls `wrote(request, [(label, key)])` after
its write, and the models, rules and watches run on a worker thread, never in the request.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fastapi import Request

from riskgraph.api.deps import Services
from riskgraph.loaders.live.mqtt import MqttIngest
from riskgraph.loaders.live.pull import Puller
from riskgraph.loaders.live.service import Live
from riskgraph.notify.channels import ChannelRegistry, channel_registry
from riskgraph.notify.dispatcher import Dispatcher
from riskgraph.notify.events import EventHub
from riskgraph.notify.watches import Change
from riskgraph.ontology.anchors import MONITORING_ALARM
from riskgraph.workflows.freshness import FreshnessWorker
from riskgraph.workflows.source_watch import check_sources


@dataclass
class Background:
    registry: ChannelRegistry
    hub: EventHub
    dispatcher: Dispatcher
    freshness: FreshnessWorker
    live: Live
    puller: Puller
    mqtt: MqttIngest | None = None

    def stop(self) -> None:
        if self.mqtt is not None:
            self.mqtt.stop()
        self.puller.stop()
        self.live.close()
        self.freshness.stop()
        self.dispatcher.stop()


def start_background(svc: Services) -> Background:
    registry = channel_registry(svc.settings.data_dir)
    hub = EventHub()
    dispatcher = Dispatcher(svc.store, registry, hub=hub)
    freshness = FreshnessWorker(svc.store, data_dir=svc.settings.data_dir, registry=registry, schema=svc.schema,
                                on_done=lambda _report: dispatcher.wake())
    live = Live(svc.store, svc.settings.data_dir,
                on_alarms=lambda ids: freshness.submit([Change(MONITORING_ALARM, i, "new") for i in ids]),
                on_check=lambda: check_sources(svc.store, svc.settings.data_dir, registry=registry))
    puller = Puller(svc.store, svc.settings.data_dir, on_changes=freshness.submit)
    mqtt = MqttIngest.from_env(live)
    dispatcher.start()
    freshness.start()
    live.start()
    puller.start()
    if mqtt is not None:
        mqtt.start()
    return Background(registry, hub, dispatcher, freshness, live, puller, mqtt)


def background(request: Request) -> Background:
    return request.app.state.background


def wrote(request: Request, nodes: Iterable[tuple[str, str]], *, kind: str = "new") -> None:
    """Tell the background that this request wrote these nodes (fresh scores, warnings, watches follow)."""
    bg = getattr(request.app.state, "background", None)
    if bg is not None:
        bg.freshness.submit([Change(label, key, kind) for label, key in nodes])
