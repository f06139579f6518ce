"""Liveness and readiness."""
from __future__ import annotations

from fastapi import APIRouter, Request

from riskgraph.api.deps import services

router = APIRouter(tags=["health"])


@router.get("/health", summary="liveness: the process answers")
def health() -> dict:
    return {"status": "ok"}


@router.get("/ready", summary="readiness: the graph store answers a trivial read (503 when it does not)")
def ready(request: Request) -> dict:
    store = services(request).store
    store.read("RETURN 1 AS ok")
    return {"status": "ready", "store": store.dialect.name}
