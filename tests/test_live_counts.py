"""Live ingest, continued: retries counted as what they were, alarms handed on once, two ingest logs on
one graph, replays across the change of the log's keys, payloads read line by line, states and
readings in message order, times judged against their receipt. The real embedded store."""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

from test_live_trust import POISON, _at, _live

from riskgraph.loaders.live import payload
from riskgraph.loaders.live.registry import SourceRegistry
from riskgraph.loaders.live.service import Live
from riskgraph.loaders.load import load_directory

CST = dt.timezone(dt.timedelta(hours=8))


def _ledger(store, source: str) -> list[dict]:
    return store.read("MATCH (n:SourceLoad {sourceSystem: $s}) RETURN n.rowsRead AS r, n.rowsLoaded AS l, "
                      "n.rowsUnchanged AS u, n.rowsQuarantined AS q", {"s": source})


# 1 ---------------------------------------------------------------------------------------------
def test_a_reading_retried_after_its_part_failed_counts_as_loaded(store, tmp_path: Path) -> None:
    live = _live(store, tmp_path)
    live.receive("iot-a", [json.dumps({"type": "reading", "sensor_id": "S1", "time": _at(5), "value": 5.0})])
    live.receive("iot-a", [POISON])
    live._store(live.log.pending(100))
    assert live.readings.count() == 1
    ledger = _ledger(store, "iot-a")
    assert ledger and ledger[0]["l"] == 1, f"the one new reading must count as loaded: {ledger}"
    live.close()


# 2 ---------------------------------------------------------------------------------------------
def test_a_poisoned_message_is_counted_in_the_ledger(store, tmp_path: Path) -> None:
    live = _live(store, tmp_path, None, "iot-b")
    live.receive("iot-b", [POISON])
    live._store(live.log.pending(100))
    held = store.read("MATCH (q:QuarantinedRow {sourceSystem: 'iot-b'}) RETURN q.reasonCode AS r")
    assert held == [{"r": "processing_error"}]
    ledger = _ledger(store, "iot-b")
    assert [(x["r"], x["q"]) for x in ledger] == [(1, 1)], f"quarantined {held}, ledger {ledger}"
    live.close()


# 3 ---------------------------------------------------------------------------------------------
def test_an_alarm_a_file_load_wrote_is_not_new_when_a_kill_made_the_stream_store_it_again(store, tmp_path: Path) -> None:
    live = _live(store, tmp_path)
    alarm = {"alarm_id": "BJ-1", "sensor_id": "S1", "metric": "温度", "value": 45, "level": "红", "time": _at(30)}
    export = tmp_path / "export"
    (export / "iot").mkdir(parents=True)
    (export / "iot" / "alarms.jsonl").write_text(json.dumps(alarm, ensure_ascii=False) + "\n", encoding="utf-8")
    load_directory(store, export)
    assert store.read("MATCH (a:MonitoringAlarm {id: 'BJ-1'}) RETURN a.id AS id") == [{"id": "BJ-1"}]
    live.receive("iot-a", [json.dumps({"type": "alarm", **alarm}, ensure_ascii=False)])
    first = live.stream.store_batch(live.log.pending(100), live.source)  # killed here: stored, not marked
    assert first.new_alarms == []  # the file load had it: not new
    live.close()
    alarms: list[str] = []
    again = _live(store, tmp_path, alarms)
    again._store(again.log.pending(100))
    assert alarms == [], f"an alarm the file load wrote was handed on as new: {alarms}"
    again.close()


# 4 ---------------------------------------------------------------------------------------------
def test_a_second_data_directory_on_the_same_graph_counts_its_messages(store, tmp_path: Path) -> None:
    """Two API hosts (or a data directory restored/recreated) with their own ingest logs: sequence
    numbers restart at 1, but countedThrough in the graph is the other log's."""
    one = _live(store, tmp_path)
    one.receive("iot-a", [json.dumps({"type": "reading", "sensor_id": "S1", "time": _at(10 - i), "value": 1.0 + i})
                          for i in range(3)])
    one._store(one.log.pending(100))
    assert sum(x["r"] for x in _ledger(store, "iot-a")) == 3
    other_dir = tmp_path / "other"
    (other_dir / "data").mkdir(parents=True)
    SourceRegistry.in_dir(other_dir / "data").add("iot-a", "iot")
    two = Live(store, other_dir / "data", check_every_s=3600, offline_after_s=3600)
    two.receive("iot-a", [json.dumps({"type": "reading", "sensor_id": "S1", "time": _at(1), "value": 9.0})])
    two._store(two.log.pending(100))
    assert two.readings.count() == 1
    assert sum(x["r"] for x in _ledger(store, "iot-a")) == 4, _ledger(store, "iot-a")
    one.close()
    two.close()


# 5 ---------------------------------------------------------------------------------------------
def test_a_replay_logged_before_the_upgrade_is_still_a_duplicate(store, tmp_path: Path) -> None:
    live = _live(store, tmp_path)
    body = json.dumps({"type": "reading", "sensor_id": "S1", "time": _at(5), "value": 5.0})
    obj = json.loads(body)
    with sqlite3.connect(live.log.path) as c:  # as the version before 8fc9b7e logged it
        c.execute("INSERT INTO messages (source, idem, received_ms, body, state) VALUES (?, ?, ?, ?, 1)",
                  ("iot-a", f"reading:{obj['sensor_id']}:{obj['time']}", 0, body))
    got = live.receive("iot-a", [body])  # the gateway re-sends it
    assert (got.accepted, got.duplicates) == (0, 1), got
    live.close()


# 6 ---------------------------------------------------------------------------------------------
def test_an_epoch_ms_time_does_not_swallow_the_iso_message_of_its_instant(store, tmp_path: Path) -> None:
    live = _live(store, tmp_path)
    at = dt.datetime.now(CST).replace(microsecond=0) - dt.timedelta(minutes=5)
    ms = int(at.timestamp() * 1000)
    # a gateway sending epoch milliseconds (unreadable: quarantined), then re-sending in ISO 8601
    live.receive("iot-a", [json.dumps({"type": "reading", "sensor_id": "S1", "time": ms, "value": 5.0})])
    got = live.receive("iot-a", [json.dumps({"type": "reading", "sensor_id": "S1", "time": at.isoformat(), "value": 5.0})])
    live._store(live.log.pending(100))
    assert (got.accepted, live.readings.count()) == (1, 1), (got, live.readings.count())
    live.close()


# 7 ---------------------------------------------------------------------------------------------
def test_a_reading_the_series_ignored_raises_no_alarm(store, tmp_path: Path) -> None:
    """Two gateways report S1 at the same instant: the series keeps the first (5.0, no band); the
    second (45.0) is 'not new', counted unchanged — yet its value raises a 红 alarm."""
    alarms: list[str] = []
    live = _live(store, tmp_path, alarms, "iot-a", "iot-b")
    t = _at(5)
    live.receive("iot-a", [json.dumps({"type": "reading", "sensor_id": "S1", "time": t, "value": 5.0})])
    live._store(live.log.pending(100))
    live.receive("iot-b", [json.dumps({"type": "reading", "sensor_id": "S1", "time": t, "value": 45.0})])
    live._store(live.log.pending(100))
    series = [v for _, v in live.readings.series("S1")]
    raised = store.read("MATCH (a:MonitoringAlarm) RETURN a.id AS id, a.value AS v")
    assert series == [5.0] and raised == [], (series, raised, alarms, _ledger(store, "iot-b"))
    live.close()


# 8 ---------------------------------------------------------------------------------------------
def test_one_stray_byte_does_not_turn_a_bodys_chinese_into_mojibake(store, tmp_path: Path) -> None:
    live = _live(store, tmp_path)
    good = (json.dumps({"type": "alarm", "alarm_id": "A1", "sensor_id": "S1", "value": 45, "level": "红", "time": _at(5),
                        "metric": "@@", "unit": "C"}).replace('"@@"', '"温度"'))
    bad = good.replace('"A1"', '"A2"').replace('"C"', '"@C"')  # a platform writing ° as Latin-1
    body = (good + "\n" + bad).encode("utf-8").replace(b"@", b"\xb0")
    live.receive("iot-a", payload.messages(body))  # as api/routes/ingest.py does
    live._store(live.log.pending(100))
    got = {r["id"]: r["m"] for r in store.read("MATCH (a:MonitoringAlarm) RETURN a.id AS id, a.metric AS m")}
    assert got == {"A1": "温度"}, got                      # A2 is not stored garbled: quarantined, its byte kept
    held = store.read("MATCH (q:QuarantinedRow) RETURN q.reasonCode AS r, q.rawValues AS raw")
    assert [q["r"] for q in held] == ["invalid_value"] and "\\xb0" in held[0]["raw"], held
    live.close()


# 9 ---------------------------------------------------------------------------------------------
def test_an_older_offline_state_batched_with_a_newer_reading_raises_no_alarm(store, tmp_path: Path) -> None:
    live = _live(store, tmp_path)
    live.receive("iot-a", [json.dumps({"type": "reading", "sensor_id": "S1", "time": _at(1), "value": 5.0}),
                           json.dumps({"type": "state", "sensor_id": "S1", "time": _at(5), "status": "离线"})])
    live._store(live.log.pending(100))
    offline = store.read("MATCH (a:MonitoringAlarm) RETURN a.id AS id")
    c = live.last_batch.counts["iot-a"]
    assert offline == [] and c.unchanged == 1, (offline, c)
    live.close()


# 10 --------------------------------------------------------------------------------------------
def test_a_reading_ahead_of_the_clock_when_received_is_caught_after_an_outage(store, tmp_path: Path) -> None:
    """The store was down for 2 hours; the log kept receiving. A gateway with its clock an hour
    ahead sent a reading then: stored after the outage it is no longer 'ahead', and pins the sensor
    over the readings the other gateway sent later in the outage."""
    import time
    live = _live(store, tmp_path)
    now_ms = int(time.time() * 1000)
    received = now_ms - 2 * 3_600_000
    ahead = dt.datetime.fromtimestamp((received + 3_600_000) / 1000, CST).replace(microsecond=0)
    live.log.append("iot-a", [json.dumps({"type": "reading", "sensor_id": "S1", "time": ahead.isoformat(), "value": 1.0})],
                    received_ms=received)
    later = dt.datetime.fromtimestamp((received + 1_800_000) / 1000, CST).replace(microsecond=0)
    live.log.append("iot-a", [json.dumps({"type": "reading", "sensor_id": "S1", "time": later.isoformat(), "value": 2.0})],
                    received_ms=received + 1_800_000)
    live._store(live.log.pending(100))  # the store is back
    p = store.read("MATCH (s:Sensor {id: 'S1'}) RETURN s.lastValue AS v")[0]
    assert p["v"] == 2.0, f"a reading stamped an hour after its receipt holds the sensor: {p}"
    live.close()


# 11 --------------------------------------------------------------------------------------------
def test_only_a_temperature_may_be_below_zero(store) -> None:
    from riskgraph.loaders import fields
    from riskgraph.loaders.mapping import load_mappings
    spec = next(s for s in load_mappings(store.ontology)["iot"].files if s.label == "MonitoringAlarm")
    value = next(f for f in spec.fields if f.prop == "value")
    assert value.options["min"] == 0 and fields.signed_variant(value, {"metric": "可燃气体浓度"}) is None
    signed = fields.signed_variant(value, {"metric": " 温度 "})
    assert signed is not None and "min" not in signed.options and signed.required
