"""reasoning/read_ahead.py: the next batch is produced while this one is used, in order, errors where they belong."""
from __future__ import annotations

import threading

import pytest

from riskgraph.reasoning.read_ahead import read_ahead


def test_the_next_batch_is_produced_while_the_consumer_still_holds_this_one():
    produced = [threading.Event() for _ in range(3)]

    def batches():
        for i in range(3):
            produced[i].set()
            yield [i]

    seen = []
    for batch in read_ahead(batches()):
        seen.append(batch)
        if batch[0] < 2:  # without reading ahead this would wait in vain: nothing asks for the next batch yet
            assert produced[batch[0] + 1].wait(timeout=30)
    assert seen == [[0], [1], [2]]


def test_an_error_producing_a_batch_is_raised_where_that_batch_was_due():
    def batches():
        yield 1
        raise ValueError("the store refused the second page")

    got = []
    with pytest.raises(ValueError, match="second page"):
        for batch in read_ahead(batches()):
            got.append(batch)
    assert got == [1]


def test_nothing_and_stopping_early():
    assert list(read_ahead(iter(()))) == []
    taken = []
    for batch in read_ahead(range(1000)):
        taken.append(batch)
        if batch == 2:
            break
    assert taken == [0, 1, 2]
