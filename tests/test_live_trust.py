"""Live ingest loses nothing and counts each message once: a batch one message breaks, a kill between
storing and marking stored, older state messages, numbers and times written in unusual but valid
ways, payloads in GBK or with U+2028 inside a string, negative readings. The real embedded store;
the MQTT handler is called as paho calls it (no broker)."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import paho.mqtt.client as mqtt

from riskgraph.loaders.live.mqtt import MqttIngest
from riskgraph.loaders.live.registry import SourceRegistry
from riskgraph.loaders.live.service import Live

CST = dt.timezone(dt.timedelta(hours=8))


def _live(store, tmp_path: Path, alarms: list | None = None, *sources: str) -> Live:
    store.upsert_nodes("Sensor", [{"id": "S1", "metric": "温度", "unit": "℃", "alarmDirection": "上限",
                                   "thresholdBlue": 10.0, "thresholdYellow": 20.0, "thresholdOrange": 30.0,
                                   "thresholdRed": 40.0, "status": "在线"}])
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    reg = SourceRegistry.in_dir(data)
    for s in sources or ("iot-a",):
        if reg.get(s) is None:
            reg.add(s, "iot")
    cb = (lambda ids: alarms.extend(ids)) if alarms is not None else None
    return Live(store, data, on_alarms=cb, check_every_s=3600, offline_after_s=3600)


def _at(minutes_ago: float) -> str:
    return (dt.datetime.now(CST).replace(microsecond=0) - dt.timedelta(minutes=minutes_ago)).isoformat()


# a line a broken platform (or anyone allowed to publish) may send: valid JSON, but the NUL
# character makes the store refuse the batch's write (StoreError "Failed to parse query parameter")
POISON = json.dumps({"type": "alarm", "alarm_id": "BAD-1", "sensor_id": "S1", "time": _at(30), "value": 50,
                     "level": "红", "metric": "a\u0000b"})


def _sensor(store) -> dict:
    return store.read("MATCH (s:Sensor {id: 'S1'}) RETURN properties(s) AS p")[0]["p"]


def test_a_reading_batched_with_a_failing_message_still_moves_its_sensor(store, tmp_path: Path) -> None:
    live = _live(store, tmp_path)
    live.receive("iot-a", [json.dumps({"type": "reading", "sensor_id": "S1", "time": _at(5), "value": 5.0}), POISON])
    live.start()  # the ingest worker: one batch of both
    assert live.wait_stored(60)
    p = _sensor(store)
    assert p.get("lastValue") == 5.0 and p.get("lastReadingAt"), json.dumps(p, ensure_ascii=False)
    live.close()


def test_an_offline_state_batched_with_a_failing_message_raises_its_alarm(store, tmp_path: Path) -> None:
    live = _live(store, tmp_path)
    live.receive("iot-a", [json.dumps({"type": "state", "sensor_id": "S1", "time": _at(5), "status": "离线"}), POISON])
    live.start()
    assert live.wait_stored(60)
    offline = store.read("MATCH (a:MonitoringAlarm) WHERE a.id CONTAINS 'offline' RETURN a.id AS id")
    assert _sensor(store).get("status") == "离线" and offline, (json.dumps(_sensor(store), ensure_ascii=False), offline)
    live.close()


def _one_alarm_handed_on_and_one_message_counted(store, alarms: list[str]) -> None:
    """iot-a's one red reading: its alarm is in the graph and was handed to fresh scores, and the
    ledger counts the one message once, as loaded."""
    ledger = store.read("MATCH (n:SourceLoad {sourceSystem: 'iot-a'}) RETURN n.rowsRead AS r, n.rowsLoaded AS l")
    raised = [r["id"] for r in store.read("MATCH (a:MonitoringAlarm) RETURN a.id AS id")]
    assert len(raised) == 1 and (raised, ledger) == (alarms, [{"r": 1, "l": 1}]), \
        f"alarms in graph {raised}, handed to fresh scores {alarms}; iot-a's ledger: {ledger}"


def test_a_failing_message_of_another_source_does_not_double_count_or_hide_new_alarms(store, tmp_path: Path) -> None:
    alarms: list[str] = []
    live = _live(store, tmp_path, alarms, "iot-a", "iot-b")
    live.receive("iot-a", [json.dumps({"type": "reading", "sensor_id": "S1", "time": _at(5), "value": 45.0})])  # 红
    live.receive("iot-b", [POISON])
    live.start()
    assert live.wait_stored(60)
    _one_alarm_handed_on_and_one_message_counted(store, alarms)
    live.close()


def test_a_restart_after_a_kill_between_write_and_mark_still_hands_on_the_new_alarm(store, tmp_path: Path) -> None:
    live = _live(store, tmp_path)
    live.receive("iot-a", [json.dumps({"type": "reading", "sensor_id": "S1", "time": _at(5), "value": 45.0})])
    live.stream.store_batch(live.log.pending(100), live.source)  # killed here: written, not yet marked stored
    live.close()
    alarms: list[str] = []
    again = _live(store, tmp_path, alarms)  # the restarted service
    again._store(again.log.pending(100))
    _one_alarm_handed_on_and_one_message_counted(store, alarms)
    again.close()


def test_an_older_state_message_is_stored_or_quarantined_not_dropped(store, tmp_path: Path) -> None:
    live = _live(store, tmp_path)
    live.receive("iot-a", [json.dumps({"type": "reading", "sensor_id": "S1", "time": _at(5), "value": 5.0})])
    live._store(live.log.pending(100))
    live.receive("iot-a", [json.dumps({"type": "state", "sensor_id": "S1", "time": _at(10), "status": "离线"})])
    live._store(live.log.pending(100))
    assert live.pending() == 0
    c = live.last_batch.counts["iot-a"]
    held = store.read("MATCH (q:QuarantinedRow) RETURN count(q) AS n")[0]["n"]
    assert c.read == c.loaded + c.unchanged + c.quarantined_total, (c, held)
    live.close()


def test_a_small_reading_is_not_quarantined(store, tmp_path: Path) -> None:
    live = _live(store, tmp_path)
    live.receive("iot-a", ['{"type": "reading", "sensor_id": "S1", "time": "' + _at(5) + '", "value": 0.00005}'])
    live._store(live.log.pending(100))
    q = store.read("MATCH (q:QuarantinedRow) RETURN q.reasonCode AS r, q.description AS d")
    assert q == [] and live.readings.count() == 1, q
    live.close()


class _Client:
    def __init__(self) -> None:
        self.acked: list[int] = []

    def ack(self, mid: int, qos: int) -> None:
        self.acked.append(mid)


def test_an_mqtt_message_with_a_line_separator_in_a_string_is_one_message(store, tmp_path: Path) -> None:
    live = _live(store, tmp_path)
    ingest = MqttIngest(live, "mqtt://127.0.0.1:1")  # never connects: the message handler is called as paho would
    body = json.dumps({"type": "alarm", "alarm_id": "A-2028", "sensor_id": "S1", "time": _at(5), "value": 45,
                       "level": "红", "metric": "温度\u2028高"}, ensure_ascii=False)  # valid JSON, raw U+2028
    assert json.loads(body)["metric"] == "温度\u2028高"
    msg = mqtt.MQTTMessage(mid=7, topic=b"riskgraph/ingest/iot-a")
    msg.payload = body.encode("utf-8")
    msg.qos = 1
    ingest._on_message(_Client(), None, msg)
    live._store(live.log.pending(100))
    ids = [r["id"] for r in store.read("MATCH (a:MonitoringAlarm) RETURN a.id AS id")]
    q = store.read("MATCH (q:QuarantinedRow) RETURN q.reasonCode AS r")
    assert ids == ["A-2028"], (ids, q)
    live.close()


def test_one_instant_written_two_ways_is_one_reading_counted_once(store, tmp_path: Path) -> None:
    live = _live(store, tmp_path)
    at = dt.datetime.now(CST).replace(microsecond=0) - dt.timedelta(minutes=5)
    got = live.receive("iot-a", [json.dumps({"type": "reading", "sensor_id": "S1", "time": at.isoformat(), "value": 5.0}),
                                 json.dumps({"type": "reading", "sensor_id": "S1", "value": 7.0,
                                             "time": at.astimezone(dt.UTC).isoformat()})])
    live._store(live.log.pending(100))
    ledger = store.read("MATCH (n:SourceLoad {sourceSystem: 'iot-a'}) RETURN n.rowsRead AS r, n.rowsLoaded AS l, "
                        "n.rowsQuarantined AS q")
    assert (live.readings.count(), ledger[0]["l"] + ledger[0]["q"]) == (1, 1), \
        (got, live.readings.series("S1"), ledger)
    live.close()


def test_a_reading_stamped_hours_ahead_does_not_pin_the_sensor(store, tmp_path: Path) -> None:
    live = _live(store, tmp_path)
    now = dt.datetime.now(CST).replace(microsecond=0)
    # a gateway that writes local time with a "Z": 8 hours in the future
    live.receive("iot-a", [json.dumps({"type": "reading", "sensor_id": "S1", "value": 1.0,
                                       "time": now.replace(tzinfo=None).isoformat() + "Z"})])
    live._store(live.log.pending(100))
    live.receive("iot-a", [json.dumps({"type": "reading", "sensor_id": "S1", "value": 2.0,
                                       "time": (now + dt.timedelta(seconds=1)).isoformat()})])
    live._store(live.log.pending(100))
    p = _sensor(store)
    assert p["lastValue"] == 2.0, json.dumps(p, ensure_ascii=False)
    live.close()


def test_a_gbk_mqtt_payload_is_not_stored_with_its_text_replaced(store, tmp_path: Path) -> None:
    live = _live(store, tmp_path)
    ingest = MqttIngest(live, "mqtt://127.0.0.1:1")
    body = json.dumps({"type": "alarm", "alarm_id": "A-GBK", "sensor_id": "S1", "time": _at(5), "value": 45,
                       "level": "red", "metric": "可燃气体浓度"}, ensure_ascii=False).replace('"red"', '"\\u7ea2"')
    msg = mqtt.MQTTMessage(mid=8, topic=b"riskgraph/ingest/iot-a")
    msg.payload = body.encode("gbk")  # a platform that publishes GBK
    msg.qos = 1
    ingest._on_message(_Client(), None, msg)
    live._store(live.log.pending(100))
    metric = store.read("MATCH (a:MonitoringAlarm {id: 'A-GBK'}) RETURN a.metric AS m")
    assert metric == [{"m": "可燃气体浓度"}], metric
    live.close()



def test_a_reading_below_a_negative_lower_limit_raises_its_alarm(store, tmp_path: Path) -> None:
    live = _live(store, tmp_path)
    store.upsert_nodes("Sensor", [{"id": "S2", "metric": "温度", "unit": "℃", "alarmDirection": "下限",
                                   "thresholdBlue": -10.0, "thresholdYellow": -20.0, "thresholdOrange": -30.0,
                                   "thresholdRed": -40.0, "status": "在线"}])
    live.receive("iot-a", [json.dumps({"type": "reading", "sensor_id": "S2", "time": _at(5), "value": -35.0})])
    live._store(live.log.pending(100))
    alarms = store.read("MATCH (a:MonitoringAlarm) RETURN a.id AS id, a.alarmLevel AS level")
    q = store.read("MATCH (q:QuarantinedRow) RETURN q.reasonCode AS r, q.description AS d")
    assert len(alarms) == 1 and q == [], (alarms, q)
    live.close()


def test_a_pull_urls_credentials_are_never_shown_or_logged(store, tmp_path: Path, caplog) -> None:
    """An export URL with a user, a password and a token: the registry's public view, GET /sources'
    view and a failed pull's log line and ledger entry show it without them."""
    import logging

    from riskgraph.api.routes.sources import source_view
    from riskgraph.loaders.ledger import SourceState
    from riskgraph.loaders.live.pull import Puller

    data = tmp_path / "data"
    data.mkdir()
    url = "http://puller:PA55WORD@127.0.0.1:1/export.zip?day=1&token=S3CRET"
    registry = SourceRegistry.in_dir(data)
    registry.add("remote", "export", pull_url=url, pull_every_s=60)
    source = registry.get("remote")
    shown = [json.dumps(source.public()),
             json.dumps(source_view(SourceState("remote"), source, None, dt.datetime.now(CST)), default=str)]
    with caplog.at_level(logging.DEBUG):
        assert Puller(store, data).pull(source) is None                      # nothing listens on port 1
    errors = [r["e"] for r in store.read("MATCH (n:SourceLoad {sourceSystem: 'remote'}) RETURN n.loadError AS e")]
    assert errors and all(e for e in errors)
    for text in [*shown, *errors, caplog.text]:
        assert "S3CRET" not in text and "PA55WORD" not in text, text
    assert "token=***" in shown[0] and "127.0.0.1:1/export.zip" in shown[1]


def test_a_message_that_fails_alone_is_quarantined_and_counted(store, tmp_path: Path) -> None:
    live = _live(store, tmp_path)
    live.receive("iot-a", [POISON])
    live._store(live.log.pending(100))
    assert live.pending() == 0
    held = store.read("MATCH (q:QuarantinedRow) RETURN q.reasonCode AS r")
    ledger = store.read("MATCH (n:SourceLoad {sourceSystem: 'iot-a'}) RETURN n.rowsRead AS r, n.rowsQuarantined AS q")
    assert (held, ledger) == ([{"r": "processing_error"}], [{"r": 1, "q": 1}])
    live.close()
