"""The service's background work: the outbox dispatcher, the SSE hub, fresh scores after writes.

Started in the app's lifespan (`start_background`), stopped when it shuts down. Route modules reach
it through `background(request)`; a write endpoint calls `wrote(request, [(label, key)])` after
its write, and the models, rules and watches run on a worker thread, never in the request.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fastapi import Request

from riskgraph.api.deps import Services
from riskgraph.notify.channels import ChannelRegistry, channel_registry
from riskgraph.notify.dispatcher import Dispatcher
from riskgraph.notify.events import EventHub
from riskgraph.notify.watches import Change
from riskgraph.workflows.freshness import FreshnessWorker


@dataclass
class Background:
    registry: ChannelRegistry
    hub: EventHub
    dispatcher: Dispatcher
    freshness: FreshnessWorker

    def stop(self) -> None:
        self.freshness.stop()
        self.dispatcher.stop()


def start_background(svc: Services) -> Background:
    registry = channel_registry(svc.settings.data_dir)
    hub = EventHub()
    dispatcher = Dispatcher(svc.store, registry, hub=hub)
    freshness = FreshnessWorker(svc.store, data_dir=svc.settings.data_dir, registry=registry, schema=svc.schema,
                                on_done=lambda _report: dispatcher.wake())
    dispatcher.start()
    freshness.start()
    return Background(registry, hub, dispatcher, freshness)


def background(request: Request) -> Background:
    return request.app.state.background


def wrote(request: Request, nodes: Iterable[tuple[str, str]], *, kind: str = "new") -> None:
    """Tell the background that this request wrote these nodes (fresh scores, warnings, watches follow)."""
    bg = getattr(request.app.state, "background", None)
    if bg is not None:
        bg.freshness.submit([Change(label, key, kind) for label, key in nodes])
