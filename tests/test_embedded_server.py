"""EmbeddedServer against real redis-server processes: kill -9, concurrent openers, timeouts."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import redis
from falkordb import FalkorDB

from riskgraph.graph.embedded_server import EmbeddedServer, EmbeddedServerError

REPO = Path(__file__).resolve().parents[1]

# A child process that owns (or attaches to) a store, writes one node named argv[2], reports,
# waits until it sees `expect` nodes, reports again, then waits for stdin to close.
# It never calls stop(): exit must go through atexit.
OPENER = textwrap.dedent(
    """
    import json, sys, time
    from falkordb import FalkorDB
    from riskgraph.graph.embedded_server import EmbeddedServer
    data_dir, name, expect = sys.argv[1], sys.argv[2], int(sys.argv[3])
    srv = EmbeddedServer(data_dir).start()
    g = FalkorDB(unix_socket_path=srv.socket_path).select_graph("t")
    g.query("CREATE (:N {name: $n})", {"n": name})
    print(json.dumps({"owner": srv.owner, "pid": srv.pid}), flush=True)
    deadline = time.monotonic() + 120  # the other opener may take long to start on a loaded machine
    while (n := g.query("MATCH (x:N) RETURN count(x)").result_set[0][0]) < expect and time.monotonic() < deadline:
        time.sleep(0.02)
    print(n, flush=True)
    sys.stdin.read()
    """
)


def _spawn_opener(tmp_path: Path, data_dir: Path, name: str, expect: int = 1) -> subprocess.Popen[str]:
    script = tmp_path / "opener.py"
    script.write_text(OPENER)
    return subprocess.Popen(
        [sys.executable, str(script), str(data_dir), name, str(expect)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _alive(pid: int) -> bool:
    """Running and not a zombie (orphans may stay unreaped in containers)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def _wait_gone(pid: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _servers_on(data_dir: Path) -> list[int]:
    """Live redis-servers whose cwd (their --dir) is data_dir; their argv is rewritten by redis."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            exe, cwd = os.readlink(proc / "exe"), os.readlink(proc / "cwd")
        except OSError:
            continue
        if Path(exe).name == "redis-server" and cwd == str(data_dir.resolve()) and _alive(int(proc.name)):
            found.append(int(proc.name))
    return found


def _graph(srv: EmbeddedServer):
    return FalkorDB(unix_socket_path=srv.socket_path).select_graph("t")


def _count(srv: EmbeddedServer) -> int:
    return _graph(srv).query("MATCH (x:N) RETURN count(x)").result_set[0][0]


def _lock_is_free(data_dir: Path) -> bool:
    with open(data_dir / ".lock", "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


@pytest.fixture
def server(tmp_path: Path):
    srv = EmbeddedServer(tmp_path / "db")
    yield srv
    srv.stop()


def test_acknowledged_writes_survive_kill9_of_server(server: EmbeddedServer) -> None:
    server.start()
    g = _graph(server)
    acked = 0

    def writer() -> None:
        nonlocal acked
        try:
            while True:
                g.query("CREATE (:N {i: $i})", {"i": acked})
                acked += 1
        except (redis.RedisError, OSError):
            return  # the server was killed under us

    t = threading.Thread(target=writer)
    t.start()
    deadline = time.monotonic() + 60  # each write is fsynced: on a busy disk 0.5 s saw fewer than 10
    while acked <= 10 and t.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    old_pid = server.pid
    os.kill(old_pid, signal.SIGKILL)
    t.join(timeout=10)
    assert acked > 10
    assert _wait_gone(old_pid)
    server.start()  # notices its server died and starts a fresh one on the same files
    assert server.pid != old_pid
    assert acked <= _count(server) <= acked + 1  # +1: a write applied but killed before its reply


def test_server_dies_when_owner_process_is_kill9ed(tmp_path: Path) -> None:
    data_dir = tmp_path / "db"
    owner = _spawn_opener(tmp_path, data_dir, "a")
    assert owner.stdout is not None
    assert json.loads(owner.stdout.readline())["owner"] is True
    server_pid = json.loads((data_dir / "server.json").read_text())["pid"]
    assert _alive(server_pid)
    owner.kill()
    owner.communicate()  # reaps it and closes our pipe ends
    assert _wait_gone(server_pid), "redis-server outlived its kill -9'ed owner"


def test_reopen_right_after_owner_kill9_waits_for_dying_server(tmp_path: Path) -> None:
    data_dir = tmp_path / "db"
    owner = _spawn_opener(tmp_path, data_dir, "a")
    assert owner.stdout is not None
    old_pid = json.loads(owner.stdout.readline())["pid"]
    owner.kill()
    owner.communicate()  # reaps it and closes our pipe ends
    with EmbeddedServer(data_dir) as srv:  # no wait in between: the old server may still be dying
        assert srv.owner and not _alive(old_pid)
        assert _servers_on(data_dir) == [srv.pid]
        assert _count(srv) == 1


def test_server_outlives_short_lived_opening_thread(server: EmbeddedServer) -> None:
    t = threading.Thread(target=server.start)  # e.g. a web server's pool thread
    t.start()
    t.join()
    time.sleep(1.0)  # PDEATHSIG would have fired when a forking thread exited
    assert _alive(server.pid)
    _graph(server).query("CREATE (:N)")
    assert _count(server) == 1


def test_two_processes_share_one_server_and_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "db"
    procs = [_spawn_opener(tmp_path, data_dir, name, expect=2) for name in ("a", "b")]
    try:
        first = [json.loads(p.stdout.readline()) for p in procs]  # type: ignore[union-attr]
        assert sorted(r["owner"] for r in first) == [False, True]
        assert first[0]["pid"] == first[1]["pid"]
        assert _servers_on(data_dir) == [first[0]["pid"]]
        assert [int(p.stdout.readline()) for p in procs] == [2, 2]  # type: ignore[union-attr]
    finally:
        for p in procs:
            p.communicate(timeout=20)  # closes stdin: each exits normally
    assert [p.returncode for p in procs] == [0, 0]
    # atexit shut the owner's server down cleanly (a kill would leave server.json behind).
    assert not _alive(first[0]["pid"])
    assert not (data_dir / "server.json").exists()
    assert "ready to exit" in (data_dir / "falkordb.log").read_text()
    assert _lock_is_free(data_dir)


def test_runaway_query_is_cut_off_by_default_timeout(tmp_path: Path) -> None:
    # Not `UNWIND range(1, 100000000)`: one huge range() is built before the first record, which
    # the timeout cannot interrupt (≈ 9 s, 1.6 GB). Nested UNWINDs are checked record by record.
    runaway = (
        "UNWIND range(1, 100000) AS x UNWIND range(1, 100000) AS y "
        "WITH x, y WHERE (x + y) % 7 = 3 RETURN count(*)"
    )
    with EmbeddedServer(tmp_path / "db", timeout_default_ms=200) as srv:
        g = _graph(srv)
        t0 = time.monotonic()
        with pytest.raises(redis.ResponseError, match="timed out"):
            g.query(runaway)
        assert time.monotonic() - t0 < 30  # uncut, it runs for many minutes
        assert g.query("RETURN 1").result_set == [[1]]  # server still serves


def test_restart_after_stop_sees_data(server: EmbeddedServer, tmp_path: Path) -> None:
    data_dir = tmp_path / "db"
    server.start()
    assert oct(data_dir.stat().st_mode & 0o777) == "0o700"
    _graph(server).query("CREATE (:N)")
    old_pid = server.pid
    server.stop()
    assert not _alive(old_pid)
    assert not (data_dir / "server.json").exists()
    assert _lock_is_free(data_dir)
    server.start()
    assert server.pid != old_pid
    assert _count(server) == 1


def test_compact_rewrites_aof_base_as_rdb(server: EmbeddedServer, tmp_path: Path) -> None:
    aof_dir = tmp_path / "db" / "appendonlydir"
    server.start()
    _graph(server).query("UNWIND range(1, 1000) AS i CREATE (:N {i: i})")
    assert (aof_dir / "appendonly.aof.1.incr.aof").stat().st_size > 0
    server.compact()
    assert [p.name for p in aof_dir.glob("*.incr.aof")] == ["appendonly.aof.2.incr.aof"]
    assert (aof_dir / "appendonly.aof.2.base.rdb").exists()
    server.stop()
    assert _count(server.start()) == 1000


def test_long_unusual_data_dir_gets_private_socket(tmp_path: Path) -> None:
    data_dir = tmp_path / ("数据 目录 'q' " + "x" * 110)
    with EmbeddedServer(data_dir) as srv:
        socket_dir = Path(srv.socket_path).parent
        assert len(os.fsencode(srv.socket_path)) <= 107
        assert oct(socket_dir.stat().st_mode & 0o777) == "0o700"
        assert json.loads((data_dir / "server.json").read_text())["socket"] == srv.socket_path
        _graph(srv).query("CREATE (:N)")
        assert _count(srv) == 1
    assert not socket_dir.exists()


def test_attach_gives_up_naming_the_lock_holder(tmp_path: Path) -> None:
    data_dir = tmp_path / "db"
    data_dir.mkdir()
    with open(data_dir / ".lock", "w") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        holder.write("424242\n")
        holder.flush()
        with pytest.raises(EmbeddedServerError, match="locked by process 424242"):
            EmbeddedServer(data_dir, start_timeout_s=0.3).start()


def test_server_exiting_early_reports_log_tail(tmp_path: Path) -> None:
    data_dir = tmp_path / "db"
    bad = EmbeddedServer(data_dir, timeout_default_ms=5000, timeout_max_ms=1000)
    with pytest.raises(EmbeddedServerError, match=r"exited during start-up(.|\n)*higher than TIMEOUT_MAX"):
        bad.start()
    assert _lock_is_free(data_dir) and not _servers_on(data_dir)


def test_corrupt_aof_reports_log_tail(tmp_path: Path) -> None:
    data_dir = tmp_path / "db"
    EmbeddedServer(data_dir).start().stop()
    (data_dir / "appendonlydir" / "appendonly.aof.manifest").write_text("garbage\n")
    with pytest.raises(EmbeddedServerError, match=r"(?i)manifest"):
        EmbeddedServer(data_dir).start()


def test_unusable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(EmbeddedServerError, match="cannot create data directory"):
        EmbeddedServer(tmp_path / "file" / "db").start()
