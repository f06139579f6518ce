"""Start-up time of an existing embedded store: AOF replay (as written) vs. after compact().

Run: .venv/bin/python benchmarks/embedded_startup.py [--nodes 50000 --rels 100000 --runs 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from falkordb import FalkorDB

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from riskgraph.graph.embedded_server import EmbeddedServer  # noqa: E402

BATCH = 5000


def load(srv: EmbeddedServer, nodes: int, rels: int) -> None:
    """Loader-style writes: indexed UNWIND-batched MERGE, as the real loaders issue them."""
    g = FalkorDB(unix_socket_path=srv.socket_path).select_graph("bench")
    g.query("CREATE INDEX FOR (e:E) ON (e.id)")
    for lo in range(0, nodes, BATCH):
        rows = [{"id": i, "name": f"企业{i}", "risk": i % 5} for i in range(lo, min(lo + BATCH, nodes))]
        g.query("UNWIND $rows AS r MERGE (e:E {id: r.id}) SET e += r", {"rows": rows})
    rnd = random.Random(7)
    for lo in range(0, rels, BATCH):
        rows = [{"s": rnd.randrange(nodes), "t": rnd.randrange(nodes)} for _ in range(min(BATCH, rels - lo))]
        g.query(
            "UNWIND $rows AS r MATCH (a:E {id: r.s}), (b:E {id: r.t}) CREATE (a)-[:R]->(b)", {"rows": rows}
        )


def timed_start(data_dir: Path) -> tuple[float, int, int]:
    """Seconds until the server answers (data loaded), plus node and relationship counts."""
    t0 = time.perf_counter()
    srv = EmbeddedServer(data_dir, start_timeout_s=300).start()
    elapsed = time.perf_counter() - t0
    g = FalkorDB(unix_socket_path=srv.socket_path).select_graph("bench")
    n = g.query("MATCH (e:E) RETURN count(e)").result_set[0][0]
    r = g.query("MATCH ()-[x:R]->() RETURN count(x)").result_set[0][0]
    srv.stop()
    return elapsed, n, r


def aof_bytes(data_dir: Path) -> str:
    files = sorted((data_dir / "appendonlydir").iterdir())
    return ", ".join(f"{p.name}={p.stat().st_size / 2**20:.1f} MB" for p in files if p.suffix != ".manifest")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--nodes", type=int, default=50_000)
    ap.add_argument("--rels", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="rg-bench-") as tmp:
        data_dir = Path(tmp) / "store"
        with EmbeddedServer(data_dir) as srv:
            t0 = time.perf_counter()
            load(srv, args.nodes, args.rels)
            print(f"loaded {args.nodes} nodes + {args.rels} relationships in {time.perf_counter() - t0:.1f} s")
        print(f"AOF as written: {aof_bytes(data_dir)}")
        cold = [timed_start(data_dir) for _ in range(args.runs)]

        with EmbeddedServer(data_dir) as srv:
            t0 = time.perf_counter()
            srv.compact()
            print(f"compact() took {time.perf_counter() - t0:.2f} s")
        print(f"AOF after compact: {aof_bytes(data_dir)}")
        warm = [timed_start(data_dir) for _ in range(args.runs)]

    for label, runs in (("replaying AOF (no compact)", cold), ("after compact()", warm)):
        times = [t for t, _, _ in runs]
        print(
            f"start {label:27s}: median {statistics.median(times) * 1000:7.1f} ms "
            f"(runs: {', '.join(f'{t * 1000:.0f}' for t in times)} ms); "
            f"nodes={runs[0][1]} rels={runs[0][2]}"
        )
    ratio = statistics.median(t for t, _, _ in cold) / statistics.median(t for t, _, _ in warm)
    print(f"speed-up from compact(): {ratio:.1f}x")


if __name__ == "__main__":
    main()
