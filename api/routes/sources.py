"""`GET /sources`: per source system, its freshness — last load and last success, lag, rows read,
loaded, unchanged and quarantined (by reason), what its last load changed, and whether it is stale.

Sources are those the loaders' mappings know, those registered with `riskgraph source-add`, and any
the ledger has loads for (`loaders/ledger.py`). Bureau staff only (analyst, admin): the ledger is
internal bookkeeping.
"""
from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from riskgraph.api.access import Caller, Role
from riskgraph.api.deps import require, services
from riskgraph.api.models import Out
from riskgraph.graph.connect import redact
from riskgraph.graph.values import LOCAL_TZ, from_epoch_ms
from riskgraph.loaders.ledger import SourceState, source_states
from riskgraph.loaders.live.registry import Source, SourceRegistry
from riskgraph.loaders.mapping import load_mappings
from riskgraph.ontology.model import Ontology

router = APIRouter(tags=["sources"])
STAFF = Depends(require(Role.ANALYST, Role.ADMIN))


class ChangedFacts(Out):
    label: str = Field(description="the ontology class of the changed nodes")
    property: str
    count: int


class SourceOut(Out):
    source: str = Field(description="the source system's id (a mapping's `source`, or a registered name)")
    title: str | None = Field(description="the mapping's or the registration's title")
    kind: str | None = Field(description="registered sources: iot (pushed) or export (loaded or pulled); null otherwise")
    registered: bool = Field(description="registered with `riskgraph source-add` (it has a key)")
    pull: str | None = Field(description="where a scheduled pull fetches from (a folder or an export URL), if any")
    loads: int = Field(description="ledger entries: folder loads, pulls, and hours of the live stream")
    lastLoadedAt: str | None = Field(description="ISO 8601: when the newest load (any outcome) finished")
    lastLoadId: str | None
    lastLoadKind: str | None = Field(description="folder, pull or stream")
    lastLoadOk: bool | None = Field(description="false when a file of the newest load could not be read")
    lastError: str | None
    lastSuccessAt: str | None = Field(description="ISO 8601: when the newest load that read everything finished")
    lagSeconds: int | None = Field(description="seconds since the last success (null: never loaded)")
    staleAfterSeconds: int | None = Field(description="how long the source may be silent (null: no expectation)")
    stale: bool = Field(description="a registered or scheduled source silent past its limit, or never delivered")
    rowsRead: int = Field(description="rows (messages) the newest load read")
    rowsLoaded: int
    rowsUnchanged: int = Field(description="rows already loaded with the same content (replays, re-exports)")
    rowsQuarantined: int
    quarantined: dict[str, int] = Field(description="the newest load's quarantined rows per reason code")
    quarantinedHeld: dict[str, int] = Field(description="quarantined rows of this source the graph holds now, per reason")
    changes: int = Field(description="facts the newest load changed")
    changed: list[ChangedFacts] = Field(description="what the newest load changed: per class and property")
    pending: int | None = Field(description="live sources: messages acknowledged but not yet stored (null: not live here)")


class SourcesOut(Out):
    asOf: str = Field(description="ISO 8601: when this answer was made")
    sources: list[SourceOut]


@lru_cache(maxsize=1)
def _titles(onto: Ontology) -> dict[str, str]:
    return {name: m.title for name, m in load_mappings(onto).items()}


def _iso(props: dict[str, Any] | None, name: str) -> str | None:
    if not props or props.get(name + "Ms") is None:
        return None
    return from_epoch_ms(int(props[name + "Ms"])).isoformat()


def source_view(state: SourceState, registered: Source | None, title: str | None, now: dt.datetime,
                pending: int | None = None) -> dict[str, Any]:
    """One source's freshness, as GET /sources answers it."""
    last, ok = state.last or {}, state.last_success
    lag = None
    if ok and ok.get("finishedAtMs") is not None:
        lag = max(0, int(now.timestamp() - int(ok["finishedAtMs"]) / 1000))
    limit = registered.stale_limit_s if registered else None
    stale = bool(limit is not None and (lag is None or lag > limit))
    pull = (registered.pull_folder or (redact(registered.pull_url) if registered.pull_url else None)) if registered else None
    return {
        "source": state.source, "title": (registered.title if registered and registered.title else title),
        "kind": registered.kind if registered else None, "registered": registered is not None, "pull": pull,
        "loads": state.loads, "lastLoadedAt": _iso(last, "finishedAt"), "lastLoadId": last.get("loadId"),
        "lastLoadKind": last.get("loadKind"), "lastLoadOk": last.get("loadOk") if last else None,
        "lastError": last.get("loadError"), "lastSuccessAt": _iso(ok, "finishedAt"), "lagSeconds": lag,
        "staleAfterSeconds": limit, "stale": stale,
        "rowsRead": int(last.get("rowsRead") or 0), "rowsLoaded": int(last.get("rowsLoaded") or 0),
        "rowsUnchanged": int(last.get("rowsUnchanged") or 0), "rowsQuarantined": int(last.get("rowsQuarantined") or 0),
        "quarantined": json.loads(last.get("quarantineReasons") or "{}"),
        "quarantinedHeld": dict(sorted(state.quarantined_held.items())),
        "changes": int(last.get("changeCount") or 0), "changed": state.changed[:50], "pending": pending,
    }


def sources_answer(request: Request) -> dict[str, Any]:
    svc = services(request)
    registry = SourceRegistry.in_dir(svc.settings.data_dir)
    registered = {s.name: s for s in registry.list()}
    titles = _titles(svc.onto)
    states = source_states(svc.store, {**dict.fromkeys(titles), **dict.fromkeys(registered)})
    live = getattr(getattr(request.app.state, "background", None), "live", None)
    now = dt.datetime.now(tz=LOCAL_TZ)
    out = [source_view(state, registered.get(name), titles.get(name), now,
                       live.pending(name) if live is not None and name in registered else None)
           for name, state in sorted(states.items())]
    return {"asOf": now.isoformat(timespec="seconds"), "sources": out}


@router.get("/sources", response_model=SourcesOut, summary="per source system: freshness, rows, quarantine, changes")
async def list_sources(request: Request, caller: Caller = STAFF) -> dict[str, Any]:
    return await run_in_threadpool(sources_answer, request)
