"""Liveness and readiness."""
from __future__ import annotations

import os
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import Field

from riskgraph.api.deps import services
from riskgraph.api.errors import ApiError
from riskgraph.api.models import Out
from riskgraph.graph.store import StoreError
from riskgraph.ontology.errors import N_

router = APIRouter(tags=["health"])


class Health(Out):
    status: Literal["ok"]


class ReadCacheStats(Out):
    worker: int = Field(description="the answering worker's process id (`serve --workers N` runs N, each with its own cache)")
    entries: int = Field(description="answers this worker keeps now")
    responses: int = Field(description="of those, kept as the responses they were sent as (api/kept_responses.py)")
    hits: int = Field(description="reads answered from them (as answers or as the responses they were sent as) "
                                  "since the worker started")
    sharedHits: int = Field(description="reads answered from what the service's other workers computed")
    misses: int = Field(description="reads computed (absent, too old, or the data changed)")


class LayerCacheStats(Out):
    entries: int = Field(description="whole map layers this worker keeps for the pages after the first")
    hits: int = Field(description="layer pages cut from a kept layer since the worker started")
    misses: int = Field(description="layers read whole (absent, too old, or the data changed)")


class WarningRulesStats(Out):
    wholePassDue: bool = Field(description="whether today's pass of the warning rules over the whole province is still "
                                           "to run or running (the service runs it in the background, one worker for all)")
    lastWholePass: str | None = Field(description="the day (the bureau's local date) of the last whole pass this "
                                                  "service knows of")


class Ready(Out):
    status: Literal["ready"]
    store: str = Field(description="the store's Cypher dialect: falkordb or neo4j")
    readCache: ReadCacheStats = Field(description="this worker's cache of portraits, searches, subgraphs and "
                                                  "region risk (api/read_cache.py)")
    layerCache: LayerCacheStats = Field(description="this worker's map layers, read once for all their pages "
                                                    "(api/routes/layers.py)")
    warningRules: WarningRulesStats | None = Field(None, description="the background's day pass of the warning rules "
                                                                     "(absent while the background is not running)")


@router.get("/health", response_model=Health, summary="liveness: the process answers")
def health() -> dict:
    return {"status": "ok"}


@router.get("/ready", response_model=Ready, summary="readiness: the graph store answers a trivial read (503 when it does not)")
def ready(request: Request) -> dict:
    store = services(request).store
    recovering = getattr(store, "recovering", None)  # the embedded store being taken over
    if recovering:
        raise ApiError(503, "store_unavailable", N_("not ready: {recovering}"), recovering=recovering)
    try:
        store.read("RETURN 1 AS ok")
    except StoreError as exc:
        raise ApiError(503, "store_unavailable", N_("not ready: {store}"),
                                                 store=getattr(store, 'recovering', None) or exc) from None
    reads, layers = services(request).reads, services(request).layers
    bg = getattr(request.app.state, "background", None)
    rules = None if bg is None else bg.freshness.rules_scope
    return {"status": "ready", "store": store.dialect.name,
            "warningRules": None if rules is None else {"wholePassDue": rules.whole_due,
                                                        "lastWholePass": rules.whole_on and rules.whole_on.isoformat()},
            "readCache": {"worker": os.getpid(), "entries": len(reads), "responses": reads.responses, "hits": reads.hits,
                          "sharedHits": reads.shared_hits, "misses": reads.misses},
            "layerCache": {"entries": len(layers), "hits": layers.hits, "misses": layers.misses}}
