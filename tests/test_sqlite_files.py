"""The service's SQLite files are opened by several workers at once: none may fail to start."""
from __future__ import annotations

import multiprocessing
import stat
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from riskgraph.api.shared_answers import SharedAnswers

WORKERS = 6
ROUNDS = 12


def _open_and_close(path: str) -> str | None:
    """What a starting worker does with the shared read cache; the error it met, if any."""
    try:
        SharedAnswers(Path(path), "store", 60.0).close()
    except Exception as exc:  # reported to the test, which names it
        return repr(exc)
    return None


def test_workers_starting_together_all_open_the_shared_file(tmp_path):
    # Before the fix, about one start in twenty failed here with "database is locked" (switching to
    # WAL does not wait for SQLite's busy handler) or with a missing -wal file removed by another
    # process closing it; `serve --workers 2` then stopped.
    paths = [str(tmp_path / f"round-{n}" / "read-cache.sqlite3") for n in range(ROUNDS)]
    # spawned, not forked: pytest's process has threads, and a forked child may inherit a held lock
    with ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn")) as pool:
        errors = [error for path in paths for error in pool.map(_open_and_close, [path] * WORKERS) if error]
    assert errors == []
    for path in paths:
        assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600
