"""Live ingest over the real service: `POST /ingest/{source}` with a source key, and an MQTT
subscription on a real mosquitto broker — validation and quarantine through the IoT mapping,
idempotency, out-of-order readings, sensor state, and a new alarm's draft warning within seconds."""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from live_support import LiveService, serve_live, start_mosquitto
from notify_support import wait_for

from riskgraph import graph
from riskgraph.loaders.live.readings import ReadingStore
from riskgraph.loaders.live.registry import SourceRegistry

pytestmark = pytest.mark.slow
CST = dt.timezone(dt.timedelta(hours=8))
KEYS: dict[str, str] = {}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    proc, port = start_mosquitto(tmp_path_factory.mktemp("mqtt"))
    yield port
    proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, generated: Callable[..., Path], broker: int,
         monkeypatch_module: pytest.MonkeyPatch) -> Iterator[LiveService]:
    tmp = tmp_path_factory.mktemp("live")
    export = tmp / "export"
    shutil.copytree(generated(enterprises=30, seed=2), export, ignore=shutil.ignore_patterns("truth"))
    monkeypatch_module.setenv("RISKGRAPH_MQTT_URL", f"mqtt://127.0.0.1:{broker}")
    monkeypatch_module.setenv("RISKGRAPH_MQTT_CLIENT_ID", f"riskgraph-test-{os.getpid()}")
    monkeypatch_module.setenv("RISKGRAPH_SENSOR_OFFLINE_S", "1800")
    monkeypatch_module.setenv("RISKGRAPH_SENSOR_CHECK_S", "0.5")

    def register(data_dir: Path) -> None:
        reg = SourceRegistry.in_dir(data_dir)
        KEYS["iot-test"] = reg.add("iot-test", "iot")
        KEYS["iot-other"] = reg.add("iot-other", "iot")
        KEYS["drop"] = reg.add("drop", "export")
        KEYS["iot-quiet"] = reg.add("iot-quiet", "iot", title="静默测试平台", stale_after_s=2)

    yield from serve_live(tmp, export, monkeypatch_module, before_start=register)


def _sensors(live: LiveService) -> list[dict]:
    with graph.connect(live.store_url) as store:
        return store.read("MATCH (e:Enterprise)-[:HAS_SENSOR]->(s:Sensor)-[:MONITORS]->(u) WHERE s.thresholdRed IS NOT NULL "
                          "AND s.alarmDirection = '上限' RETURN s.id AS id, s.thresholdYellow AS y, s.thresholdRed AS red, "
                          "s.thresholdBlue AS blue ORDER BY s.id")


def _post(live: LiveService, source: str, lines: list, key: str | None = None):
    body = "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines)
    headers = {"Content-Type": "application/x-ndjson"}
    if key != "":
        headers["Authorization"] = f"Bearer {key if key is not None else KEYS[source]}"
    with live.client() as c:
        return c.post(f"/ingest/{source}", content=body.encode(), headers=headers)


def _stored(live: LiveService) -> None:
    wait_for(lambda: live.app.state.background.live.pending() == 0, 60, "the ingest log to drain")  # type: ignore[attr-defined]


def _read(live: LiveService, cypher: str, **params) -> list[dict]:
    with graph.connect(live.store_url) as store:
        return store.read(cypher, params)


def _now(minutes: float = 0) -> str:
    return (dt.datetime.now(CST) + dt.timedelta(minutes=minutes)).replace(microsecond=0).isoformat()


def test_a_source_key_is_printed_once_and_kept_only_as_a_hash(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "riskgraph.cli", "source-add", "iot-cz", "--kind", "iot",
                          "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    key = run.stdout.strip()
    assert key.startswith("rgs_") and len(key) > 40
    assert key not in run.stderr
    assert key.encode() not in (tmp_path / "sources.sqlite3").read_bytes()
    listed = subprocess.run([sys.executable, "-m", "riskgraph.cli", "source-list", "--data-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert json.loads(listed.stdout)["name"] == "iot-cz" and key not in listed.stdout
    again = subprocess.run([sys.executable, "-m", "riskgraph.cli", "source-add", "iot-cz", "--kind", "iot",
                            "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert again.returncode != 0 and "exists" in again.stderr
    assert SourceRegistry.in_dir(tmp_path).authenticate("iot-cz", key) is not None


def test_a_key_is_good_for_its_own_source_only(live: LiveService) -> None:
    line = [{"type": "reading", "sensor_id": "CG000000001", "time": _now(), "value": 1}]
    assert _post(live, "iot-test", line, key="").status_code == 401
    assert _post(live, "iot-test", line, key="rgs_not-a-key").status_code == 401
    assert _post(live, "iot-test", line, key=KEYS["iot-other"]).status_code == 401
    assert _post(live, "nonexistent", line, key=KEYS["iot-test"]).status_code == 401
    refused = _post(live, "drop", line)
    assert refused.status_code == 403 and refused.json()["error"]["details"] == {"kind": "export"}
    with live.client() as c:  # a user's token is no source key
        assert c.post("/ingest/iot-test", content=b"{}", headers={"Authorization": "Bearer x.y.z"}).status_code == 401


def test_a_mixed_batch_is_stored_and_quarantined_line_by_line_and_a_replay_changes_nothing(live: LiveService) -> None:
    sensor = _sensors(live)[0]
    # well inside the 30-minute offline limit (RISKGRAPH_SENSOR_OFFLINE_S): a sensor last heard 29 minutes ago went
    # offline, with an alarm of its own, when a loaded machine took a minute over this test
    t0 = dt.datetime.now(CST).replace(microsecond=0) - dt.timedelta(minutes=10)
    lines = [
        {"type": "alarm", "alarm_id": "LIVE-A1", "sensor_id": sensor["id"], "metric": "温度", "value": sensor["red"] + 1,
         "unit": "℃", "level": "红", "time": (t0 - dt.timedelta(minutes=5)).isoformat()},
        "{not json",
        {"type": "alarm", "alarm_id": "LIVE-A2", "sensor_id": "CG999999999", "value": 1, "level": "红", "time": t0.isoformat()},
        {"type": "reading", "sensor_id": sensor["id"], "time": t0.isoformat(), "value": sensor["blue"] / 2},
        {"type": "reading", "sensor_id": sensor["id"], "time": (t0 + dt.timedelta(minutes=1)).isoformat(), "value": sensor["red"] + 5},
        {"type": "reading", "sensor_id": sensor["id"], "time": "yesterday-ish", "value": 3},
        {"type": "reading", "sensor_id": "CG999999998", "time": t0.isoformat(), "value": 3},
        # below zero: a concentration's is out of range, a temperature's (a cold store's) is not
        {"type": "alarm", "alarm_id": "LIVE-A3", "sensor_id": sensor["id"], "value": -5, "level": "红", "time": t0.isoformat()},
        {"type": "alarm", "alarm_id": "LIVE-A4", "sensor_id": sensor["id"], "metric": "温度", "value": -5, "level": "红",
         "time": t0.isoformat()},
        {"type": "teleport", "sensor_id": sensor["id"], "time": t0.isoformat()},
        # hours ahead of the service's clock (local time sent as UTC): it would pin the sensor's state
        {"type": "reading", "sensor_id": sensor["id"], "time": (t0 + dt.timedelta(hours=8)).isoformat(), "value": 3},
    ]
    r = _post(live, "iot-test", lines)
    assert r.status_code == 202, r.text
    assert r.json()["accepted"] == len(lines) and r.json()["duplicates"] == 0
    _stored(live)
    assert _read(live, "MATCH (s:Sensor {id: $s})-[:RAISED]->(a:MonitoringAlarm {id: 'LIVE-A1'}) RETURN a.alarmLevel AS l",
                 s=sensor["id"]) == [{"l": "RED"}]
    assert _read(live, "MATCH (a:MonitoringAlarm) WHERE a.id IN ['LIVE-A3', 'LIVE-A4'] RETURN a.id AS id, a.value AS v") \
        == [{"id": "LIVE-A4", "v": -5}]
    reasons = {r["reason"]: r["n"] for r in _read(
        live, "MATCH (q:QuarantinedRow) WHERE q.sourceSystem = 'iot-test' RETURN q.reasonCode AS reason, count(q) AS n")}
    assert reasons == {"invalid_value": 2, "orphan_reference": 2, "unparseable_date": 1, "out_of_range": 2}
    # the reading that crossed into 红 raised an alarm of its own, at the reading's time
    derived = _read(live, "MATCH (s:Sensor {id: $s})-[:RAISED]->(a:MonitoringAlarm) WHERE a.id STARTS WITH 'iot-test-' "
                          "RETURN a.alarmLevel AS l, a.occurredAt AS t, a.value AS v", s=sensor["id"])
    assert derived == [{"l": "RED", "t": (t0 + dt.timedelta(minutes=1)).isoformat(), "v": sensor["red"] + 5}]
    store = ReadingStore(live.data_dir / "ingest")
    assert [v for _, v in store.series(sensor["id"])] == [sensor["blue"] / 2, sensor["red"] + 5]
    store.close()
    sources = {s["source"]: s for s in _staff_get(live, "/sources")["sources"]}
    mine = sources["iot-test"]
    assert mine["lastLoadKind"] == "stream" and mine["rowsRead"] >= len(lines) and mine["stale"] is False
    assert mine["quarantined"]["orphan_reference"] >= 2 and mine["pending"] == 0
    _settled(live)  # the fresh-scores run the new alarms started writes change events of its own
    before = _counts(live)
    replay = _post(live, "iot-test", lines)
    assert replay.json()["accepted"] == 0 and replay.json()["duplicates"] == len(lines)
    _stored(live)
    _settled(live)
    assert _counts(live) == before


def test_out_of_order_readings_are_placed_by_their_time(live: LiveService) -> None:
    sensor = _sensors(live)[1]
    t = dt.datetime.now(CST).replace(microsecond=0) - dt.timedelta(minutes=10)
    late = {"type": "reading", "sensor_id": sensor["id"], "time": t.isoformat(), "value": sensor["red"] + 2}
    newer = {"type": "reading", "sensor_id": sensor["id"], "time": (t + dt.timedelta(minutes=2)).isoformat(),
             "value": sensor["blue"] / 2}
    older = {"type": "reading", "sensor_id": sensor["id"], "time": (t - dt.timedelta(minutes=2)).isoformat(),
             "value": sensor["blue"] / 2}
    assert _post(live, "iot-test", [newer, older]).status_code == 202
    _stored(live)
    assert _post(live, "iot-test", [late]).status_code == 202  # arrives last, belongs in the middle
    _stored(live)
    rows = _read(live, "MATCH (s:Sensor {id: $s}) OPTIONAL MATCH (s)-[:RAISED]->(a:MonitoringAlarm) "
                       "WHERE a.id STARTS WITH 'iot-test-' RETURN s.lastReadingAt AS last, s.lastValue AS v, s.status AS st, "
                       "collect(a.occurredAt) AS alarms", s=sensor["id"])
    assert rows[0]["last"] == newer["time"] and rows[0]["v"] == sensor["blue"] / 2 and rows[0]["st"] == "在线"
    assert rows[0]["alarms"] == [late["time"]]
    store = ReadingStore(live.data_dir / "ingest")
    assert [ts for ts, _ in store.series(sensor["id"])] == sorted(ts for ts, _ in store.series(sensor["id"]))
    assert len(store.series(sensor["id"])) == 3
    store.close()


def test_a_new_red_alarm_becomes_a_draft_warning_within_seconds(live: LiveService) -> None:
    sensor = _sensors(live)[2]
    alarm = {"type": "alarm", "alarm_id": "LIVE-RED-1", "sensor_id": sensor["id"], "metric": "压力",
             "value": sensor["red"] + 1, "unit": "MPa", "level": "红", "time": _now(-1)}
    assert _post(live, "iot-test", [alarm]).status_code == 202
    warning = wait_for(lambda: _read(live, "MATCH (w:Warning) WHERE w.warningEvidence CONTAINS 'LIVE-RED-1' "
                                           "RETURN w.warningState AS state, w.warningLevel AS level, w.ruleId AS rule"),
                       30, "the alarm's warning")
    assert {"state": "draft", "level": "RED", "rule": "iot_alarm"} in warning


def test_mqtt_messages_are_logged_before_they_are_acknowledged_and_stored_like_http(live: LiveService, broker: int) -> None:
    sensor = _sensors(live)[3]
    wait_for(lambda: live.app.state.background.mqtt.connected.is_set(), 30, "the service's MQTT subscription")  # type: ignore[attr-defined]
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="platform-test")
    client.connect("127.0.0.1", broker)
    client.loop_start()
    t0 = dt.datetime.now(CST).replace(microsecond=0) - dt.timedelta(minutes=20)
    messages = [json.dumps({"type": "reading", "sensor_id": sensor["id"], "time": (t0 + dt.timedelta(seconds=i)).isoformat(),
                            "value": sensor["blue"] / 3}) for i in range(50)]
    messages.append("garbage, not JSON")
    messages.append(json.dumps({"type": "alarm", "alarm_id": "LIVE-MQTT-1", "sensor_id": sensor["id"], "value": sensor["red"],
                                "level": "红", "time": t0.isoformat()}))
    infos = [client.publish("riskgraph/ingest/iot-test/plant-7", m, qos=1) for m in messages]
    infos.append(client.publish("riskgraph/ingest/iot-unregistered", messages[0], qos=1))
    for info in infos:
        info.wait_for_publish(30)
    client.loop_stop()
    client.disconnect()
    store = ReadingStore(live.data_dir / "ingest")
    wait_for(lambda: len(store.series(sensor["id"], since_ms=int(t0.timestamp() * 1000))) == 50, 60, "50 readings")
    store.close()

    def alarm() -> list[dict]:
        return _read(live, "MATCH (:Sensor {id: $s})-[:RAISED]->(a:MonitoringAlarm {id: 'LIVE-MQTT-1'}) RETURN count(a) AS n",
                     s=sensor["id"])

    def garbage() -> list[dict]:
        return _read(live, "MATCH (q:QuarantinedRow) WHERE q.sourceSystem = 'iot-test' AND q.rawValues CONTAINS 'garbage' "
                           "RETURN q.reasonCode AS r")

    def unregistered() -> list[dict]:
        return _read(live, "MATCH (q:QuarantinedRow) WHERE q.sourceSystem = 'iot-unregistered' RETURN q.reasonCode AS r")

    # the readings being stored says nothing of the three messages published after them: the broker may still
    # be passing those on when the log has drained, so wait for what each of them leaves behind
    wait_for(lambda: alarm()[0]["n"] and garbage() and unregistered(), 60, "the alarm and the two refused messages")
    _stored(live)
    assert alarm() == [{"n": 1}]
    assert garbage() == [{"r": "invalid_value"}]
    assert unregistered() == [{"r": "not_allowed"}]


def test_a_sensor_that_stops_reporting_goes_offline_with_an_alarm(live: LiveService) -> None:
    sensor = _sensors(live)[4]
    silent_since = (dt.datetime.now(CST) - dt.timedelta(hours=1)).replace(microsecond=0)
    assert _post(live, "iot-test", [{"type": "reading", "sensor_id": sensor["id"], "time": silent_since.isoformat(),
                                      "value": sensor["blue"] / 2}]).status_code == 202
    # the alarm is written before the sensor's state (a crash between them is healed by the next check), so wait for both
    rows = wait_for(lambda: _read(live, "MATCH (s:Sensor {id: $s})-[:RAISED]->(a:MonitoringAlarm) "
                                        "WHERE a.metric = '离线' AND s.status = '离线' "
                                        "RETURN s.status AS st, a.alarmLevel AS l, a.occurredAt AS t", s=sensor["id"]),
                    30, "the offline alarm and state")
    assert rows == [{"st": "离线", "l": "YELLOW", "t": silent_since.isoformat()}]
    stale = _post(live, "iot-test", [{"type": "state", "sensor_id": sensor["id"], "time": _now(), "status": "在线"}])
    assert stale.status_code == 202
    _stored(live)
    assert _read(live, "MATCH (s:Sensor {id: $s}) RETURN s.status AS st", s=sensor["id"]) == [{"st": "在线"}]


def _settled(live: LiveService) -> None:
    assert live.app.state.background.freshness.wait_idle(120)  # type: ignore[attr-defined]


def _counts(live: LiveService) -> dict[str, int]:
    """What a replay must not change. Not the silence warnings of iot-quiet, the 2-second source of the
    staleness test: they come on the clock, whenever the staleness check runs (a busy CI machine saw
    one arrive between two counts)."""
    out = {label: _read(live, f"MATCH (n:{label}) RETURN count(n) AS n")[0]["n"]
           for label in ("MonitoringAlarm", "QuarantinedRow", "SourceRecord", "ChangeEvent")}
    out["Warning"] = _read(live, "MATCH (w:Warning) WHERE NOT w.triggerKey STARTS WITH $quiet RETURN count(w) AS n",
                           quiet="source_stale:SourceSystem:iot-quiet:")[0]["n"]
    return out


def _staff_get(live: LiveService, path: str) -> dict:
    with live.client("analyst1") as c:
        r = c.get(path)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_source_that_stops_delivering_raises_one_warning_per_silence(live: LiveService) -> None:
    worker = live.app.state.background.live  # type: ignore[attr-defined]
    sensor = _sensors(live)[-1]

    def deliver() -> None:
        assert _post(live, "iot-quiet", [{"type": "reading", "sensor_id": sensor["id"], "time": _now(), "value": 0}]).status_code == 202
        _stored(live)

    def warnings() -> list[dict]:
        return _read(live, "MATCH (w:Warning) WHERE w.ruleId = 'source_stale' AND w.triggerKey STARTS WITH $k "
                           "RETURN w.id AS id, w.triggerKey AS key, w.triggerCount AS n, w.warningState AS state, "
                           "w.warningLevel AS level, w.description AS text, w.warningEvidence AS evidence "
                           "ORDER BY w.firstTriggeredAtMs", k="source_stale:SourceSystem:iot-quiet:")

    def checks_later(n: int) -> None:
        start = worker.checks
        wait_for(lambda: worker.checks >= start + n, 30, f"{n} more checks of the ingest worker")

    # registered with a 2 s interval and silent since: a warning, once
    first = wait_for(warnings, 30, "the silent source's warning")
    assert len(first) == 1 and first[0]["state"] == "draft" and first[0]["level"] == "YELLOW"
    assert first[0]["key"].endswith(":never") and "iot-quiet" in first[0]["text"] and "从未送达" in first[0]["text"]
    facts = json.loads(first[0]["evidence"])["items"][0]["values"]
    assert facts["source"] == "iot-quiet" and facts["staleAfterSeconds"] == 2 and facts["lagSeconds"] >= 2
    with live.client("admin1") as c:  # administrators see the draft with the other warnings
        listed = c.get("/warnings", params={"type": "source_stale", "state": "draft"}).json()
        assert first[0]["id"] in {w["id"] for w in listed["items"]}
        quiet = next(s for s in c.get("/sources").json()["sources"] if s["source"] == "iot-quiet")
        assert quiet["stale"] and quiet["staleAfterSeconds"] == 2
    checks_later(4)  # the same silence, checked again and again: still one warning, not re-triggered
    assert [(w["id"], w["n"]) for w in warnings()] == [(first[0]["id"], 1)]

    delivered = dt.datetime.now(CST) - dt.timedelta(seconds=1)
    deliver()  # the source delivers (the first silence is over: its warning is never raised again) ...
    # ... and when it falls silent again, that silence is a new warning with its last success and lag
    second = wait_for(lambda: (lambda ws: ws if len(ws) == 2 else None)(warnings()), 30, "the second silence's warning")
    assert second[0]["id"] == first[0]["id"] and not second[1]["key"].endswith(":never")
    facts = json.loads(second[1]["evidence"])["items"][0]["values"]
    assert delivered <= dt.datetime.fromisoformat(facts["lastSuccessAt"]) <= dt.datetime.now(CST)
    assert facts["lagSeconds"] >= 2 and "最后一次成功送达" in second[1]["text"]
    checks_later(4)
    assert [(w["id"], w["n"]) for w in warnings()] == [(first[0]["id"], 1), (second[1]["id"], 1)]
