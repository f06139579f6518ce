"""The next batch read while this one is scored and written.

Why: a whole-province run alternates reads (the store's server works while this process waits) with
scoring in Python (this process works while the server idles). With the next batch read in a thread,
the two overlap on the machine's cores. Only for batches that are disjoint sets of subjects read
before any of them is written: what a batch writes must not be what the batch read ahead needs.
Both stores take statements from several threads (a FalkorDB connection pool, a Neo4j session per
statement), as the incremental run's N-K read beside INFORM already relies on.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

_END = object()


def read_ahead[T](batches: Iterable[T]) -> Iterator[T]:
    """The batches of `batches`, in order, each one produced in a thread while the one before is used.

    An error while producing a batch is raised here, where that batch would have been yielded."""
    source = iter(batches)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead") as pool:
        pending = pool.submit(next, source, _END)
        while (batch := pending.result()) is not _END:
            pending = pool.submit(next, source, _END)
            yield batch  # type: ignore[misc]  # not _END: a T
