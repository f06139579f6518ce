"""The data a run saw (`reasoning.graph_facts.data_version`): the newest SourceRecord, bisected with
index probes instead of reading every record — the same answer as reading them all, however old the
newest is and however many records share its moment or come before it."""
from __future__ import annotations

import datetime as dt

import pytest

from riskgraph.graph.store import GraphStore
from riskgraph.reasoning.graph_facts import data_version
from tests.api_support import statements_sent

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("age", [dt.timedelta(minutes=10), dt.timedelta(days=2), dt.timedelta(days=90),
                                 dt.timedelta(days=3 * 365)], ids=["hour", "month", "year", "older"])
def test_the_newest_record_is_found_in_any_window(store: GraphStore, age: dt.timedelta) -> None:
    newest = NOW - age
    store.upsert_nodes("SourceRecord", [
        {"id": "a", "loadedAt": (newest - dt.timedelta(days=400)).isoformat(), "loadId": "L-old"},
        {"id": "b", "loadedAt": (newest - dt.timedelta(minutes=5)).isoformat(), "loadId": "L-before"},
        {"id": "c", "loadedAt": newest.isoformat(), "loadId": "L-newest"},
    ])
    found = data_version(store)
    assert found["loadId"] == "L-newest" and dt.datetime.fromisoformat(found["loadedAt"]) == newest


def test_many_records_at_one_moment_and_before(store: GraphStore) -> None:
    start = NOW - dt.timedelta(days=30)
    rows = [{"id": f"r{i}", "loadedAt": (start + dt.timedelta(seconds=i * 37)).isoformat(), "loadId": f"L{i % 7}"}
            for i in range(3_000)]
    rows += [{"id": f"s{i}", "loadedAt": rows[-1]["loadedAt"], "loadId": "L-last"} for i in range(50)]
    store.upsert_nodes("SourceRecord", rows)
    everything = store.read("MATCH (r:SourceRecord) RETURN max(r.loadedAtMs) AS t")[0]["t"]
    found = data_version(store)
    assert dt.datetime.fromisoformat(found["loadedAt"]) == dt.datetime.fromisoformat(rows[-1]["loadedAt"])
    assert int(dt.datetime.fromisoformat(found["loadedAt"]).timestamp() * 1000) == everything
    assert found["loadId"] in {"L-last", f"L{2_999 % 7}"}


def test_a_store_never_loaded_has_no_data_version(store: GraphStore) -> None:
    assert data_version(store) == {"loadedAt": None, "loadId": None}


def test_a_second_search_starts_from_the_newest_found_and_survives_its_removal(store: GraphStore) -> None:
    """The service asks after every change: it starts from the newest it found last (one probe when
    nothing newer came, a few when a load did), and searches afresh once that record is gone."""
    rows = [{"id": f"r{i}", "loadedAt": (NOW - dt.timedelta(days=200) + dt.timedelta(hours=i)).isoformat(), "loadId": f"L{i}"}
            for i in range(500)]
    store.upsert_nodes("SourceRecord", rows)
    with statements_sent() as first:
        assert data_version(store)["loadId"] == "L499"
    with statements_sent() as again:
        assert data_version(store)["loadId"] == "L499"
    assert len(again) <= 3 < len(first)
    newer = NOW - dt.timedelta(seconds=3)
    store.upsert_nodes("SourceRecord", [{"id": "n", "loadedAt": newer.isoformat(), "loadId": "L-new"}])
    with statements_sent() as after_a_load:
        found = data_version(store)
    assert found["loadId"] == "L-new" and dt.datetime.fromisoformat(found["loadedAt"]) == newer
    assert len(after_a_load) < len(first)
    store.execute("MATCH (r:SourceRecord) WHERE r.id IN ['n', 'r499'] DELETE r")
    assert data_version(store)["loadId"] == "L498"
