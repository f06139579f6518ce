"""graph/collector.py: a bulk job's full collections made rarer or paused, and the process's settings put back."""
from __future__ import annotations

import gc
import threading

from riskgraph.graph.collector import BULK_FULL_EVERY, fewer_full_collections, paused


def test_the_thresholds_are_put_back_after_the_last_of_overlapping_jobs():
    before = gc.get_threshold()
    entered, leave = threading.Event(), threading.Event()

    def other_job() -> None:
        with fewer_full_collections():
            entered.set()
            leave.wait(timeout=30)

    job = threading.Thread(target=other_job)
    job.start()
    assert entered.wait(timeout=30)
    with fewer_full_collections():
        assert gc.get_threshold() == (before[0], before[1], BULK_FULL_EVERY)
    assert gc.get_threshold()[2] == BULK_FULL_EVERY, "the other job still runs"
    leave.set()
    job.join(timeout=30)
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
    entered, leave = threading.Event(), threading.Event()

    def other_build() -> None:
        with paused():
            entered.set()
            leave.wait(timeout=30)

    build = threading.Thread(target=other_build)
    build.start()
    assert entered.wait(timeout=30)
    try:
        with paused():
            assert not gc.isenabled()
            raise KeyError("x")
    except KeyError:
        pass
    assert not gc.isenabled(), "the other build still runs"
    leave.set()
    build.join(timeout=30)
    assert gc.isenabled()


def test_a_collector_the_process_turned_off_stays_off():
    gc.disable()
    try:
        with paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
