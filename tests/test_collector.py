"""graph/collector.py: a bulk job's full collections made rarer or paused, and the process's settings put back."""
from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from riskgraph.graph.collector import BULK_FULL_EVERY, fewer_full_collections, paused


@contextlib.contextmanager
def other_job(setting: Callable[[], AbstractContextManager[None]]) -> Iterator[None]:
    """Another thread inside `setting` for the block (it entered first, it leaves after)."""
    entered, leave = threading.Event(), threading.Event()

    def job() -> None:
        with setting():
            entered.set()
            leave.wait(timeout=30)

    thread = threading.Thread(target=job)
    thread.start()
    assert entered.wait(timeout=30)
    try:
        yield
    finally:
        leave.set()
        thread.join(timeout=30)


def test_the_thresholds_are_put_back_after_the_last_of_overlapping_jobs():
    before = gc.get_threshold()
    with other_job(fewer_full_collections):
        with fewer_full_collections():
            assert gc.get_threshold() == (before[0], before[1], BULK_FULL_EVERY)
        assert gc.get_threshold()[2] == BULK_FULL_EVERY, "the other job still runs"
    assert gc.get_threshold() == before


def test_an_error_in_the_job_puts_them_back_too():
    before = gc.get_threshold()
    try:
        with fewer_full_collections():
            raise KeyError("x")
    except KeyError:
        pass
    assert gc.get_threshold() == before


def test_paused_collection_resumes_after_the_last_of_overlapping_builds_and_after_an_error():
    assert gc.isenabled()
    with other_job(paused):
        with contextlib.suppress(KeyError), paused():
            assert not gc.isenabled()
            raise KeyError("x")
        assert not gc.isenabled(), "the other build still runs"
    assert gc.isenabled()


def test_a_collector_the_process_turned_off_stays_off():
    gc.disable()
    try:
        with paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
