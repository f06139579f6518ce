"""The change set's reading at full size: a province's export read with the line keys a complete
load would have left, once unchanged and once with `--change-share` of every CSV/JSON-lines file's
rows changed — without the hour a first load of 100,000 enterprises takes here.

    python benchmarks/line_skip.py --enterprises 100000 [--export DIR]

Prints the machine's cores and load average, the rows and bytes of the export, the CPU-seconds of
keying every line (what a first load adds), of passing over an unchanged export (every line known)
and of reading the change set (the changed rows come out to be normalised, the rest passed over),
per row and in all, and this process's peak memory. What a real change set adds on top — writing
the changed rows, the registry's matching index, the store's final compaction — is measured at
smaller sizes by `load_throughput.py`.
"""
from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

from load_throughput import change_rows, machine  # a sibling script, not a package

from riskgraph.loaders.mapping import load_mappings
from riskgraph.loaders.readers import KnownRows, SourceRow, read_rows
from riskgraph.ontology.model import load_ontology
from riskgraph.synth import generate


def line_files(export: Path) -> list[tuple[Path, str, str]]:
    """(path, format, encoding) of every mapped CSV and JSON-lines file of the export."""
    out = []
    for mapping in load_mappings(load_ontology()).values():
        for spec in mapping.files:
            path = export / spec.path
            if spec.format != "xlsx" and path.is_file():
                out.append((path, spec.format, spec.encoding))
    return out


def read_all(files: list[tuple[Path, str, str]], known: dict[Path, frozenset[int]]) -> tuple[int, int, dict[Path, frozenset[int]], float]:
    """Rows read, rows passed over, each file's keys of one-line rows, CPU-seconds."""
    started = time.process_time()
    rows = passed = 0
    keys: dict[Path, frozenset[int]] = {}
    for path, fmt, encoding in files:
        mine = []
        for item in read_rows(path, fmt, encoding, None, known.get(path, frozenset())):
            if isinstance(item, KnownRows):
                rows += len(item)
                passed += len(item)
                mine.extend(item.line_keys)
                continue
            rows += 1
            if isinstance(item, SourceRow) and item.line_key is not None:
                mine.append(item.line_key)
        keys[path] = frozenset(mine)
    return rows, passed, keys, time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--export", type=Path, help="an export generated before (it is copied before changing)")
    parser.add_argument("--change-share", type=float, default=0.01)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        export = args.export
        if export is None:
            export = Path(tmp) / "export"
            started = time.perf_counter()
            generate(export, enterprises=args.enterprises, seed=args.seed)
            print(f"generated {args.enterprises:,} enterprises in {time.perf_counter() - started:.0f} s")
        files = line_files(export)
        size = sum(p.stat().st_size for p, _, _ in files)
        rows, _, keys, first = read_all(files, {})
        print(f"export: {rows:,} rows in {len(files)} CSV/JSON-lines files, {size / 2**20:,.0f} MiB")
        print(f"reading every row and keying its line (a first load's reading): {first:.1f} CPU-s, "
              f"{first / rows * 1e6:.1f} µs/row")
        rows, passed, _, again = read_all(files, keys)
        print(f"unchanged export, every line known: {passed:,} of {rows:,} rows passed over, {again:.1f} CPU-s, "
              f"{again / rows * 1e6:.2f} µs/row")
        changed = Path(tmp) / "changed"
        shutil.copytree(export, changed)
        count = sum(change_rows(changed, load_ontology(), args.change_share).values())
        moved = [(changed / p.relative_to(export), fmt, enc) for p, fmt, enc in files]
        known = {changed / p.relative_to(export): k for p, k in keys.items()}
        rows, passed, _, change = read_all(moved, known)
        print(f"{args.change_share:.0%} change set ({count:,} rows changed): {rows - passed:,} rows read to be "
              f"normalised, {passed:,} passed over, {change:.1f} CPU-s, {change / rows * 1e6:.2f} µs/row")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"peak memory of this process {peak:.2f} GB; machine now {machine()}")


if __name__ == "__main__":
    main()
