"""Stores what the ingest log holds: alarms through the IoT mapping, readings into the time series,
sensor state into the graph — and tells the fresh-scores pipeline which alarms are new.

Messages (JSON objects, one per line over HTTP, one per MQTT payload):

    {"type": "reading", "sensor_id": "CG000000001", "time": "2026-12-02T10:00:00+08:00", "value": 91.2}
    {"type": "alarm", "alarm_id": "BJ0000000001", "sensor_id": "…", "metric": "温度", "value": 141.7,
     "unit": "℃", "thresholds": {"蓝": 118, …}, "level": "橙", "time": "…"}     (the platform's alarm line)
    {"type": "state", "sensor_id": "…", "time": "…", "status": "离线"}

Every message goes through the loaders' own path: an alarm is a row of `iot/alarms.jsonl`
(`loaders/mappings/iot.yaml`) prepared and written by `FileLoader` — validated against the
ontology, its sensor required, quarantined with a reason code when it does not fit —, and so is
the alarm a reading raises when it crosses into a higher band of its sensor's thresholds (the
hazard-source data the sensors export carries: `thresholdBlue` … `thresholdRed`, `alarmDirection`).
A reading's own problems (no sensor, a time or value that cannot be read, an unknown sensor) are
quarantined the same way, one `QuarantinedRow` per message: a bad message never blocks the others.
A sensor silent for `offline_after_s` (or reported 离线) is set offline, which is itself an alarm.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import LOCAL_TZ, to_epoch_ms
from riskgraph.loaders.engine import FileLoader, Prepared, row_digest
from riskgraph.loaders.fields import FieldContext, normalise
from riskgraph.loaders.ledger import SourceCounts, add_stream_counts, counted_through, stream_load_id
from riskgraph.loaders.live.readings import Reading, ReadingStore
from riskgraph.loaders.live.registry import MESSAGE_TYPES, Source
from riskgraph.loaders.live.wal import Message
from riskgraph.loaders.mapping import FieldSpec, FileSpec, load_mappings
from riskgraph.loaders.normalise.errors import RowError
from riskgraph.loaders.readers import SourceRow, flatten_json
from riskgraph.loaders.resolve import EnterpriseIndex
from riskgraph.ontology.anchors import DERIVED_FROM, MONITORING_ALARM, SENSOR, SOURCE_RECORD
from riskgraph.ontology.errors import N_

log = logging.getLogger("riskgraph.live")

IOT_SOURCE = "iot"
LEVELS = ("蓝", "黄", "橙", "红")
THRESHOLD_PROPS = ("thresholdBlue", "thresholdYellow", "thresholdOrange", "thresholdRed")
LOWER_IS_WORSE = "下限"
ONLINE, OFFLINE = "在线", "离线"
#: the level of the alarm a sensor going silent raises
OFFLINE_LEVEL = "黄"
#: how far ahead of the service's clock a reading's or state's time may be (clock skew)
FUTURE_TOLERANCE_S = 300
_READING_FIELDS = (
    FieldSpec("sensor", ("sensor_id",), "text", True),
    FieldSpec("occurredAt", ("time",), "datetime", True),
    FieldSpec("value", ("value",), "decimal", True),
)


@dataclass
class SensorFacts:
    id: str
    metric: str | None = None
    unit: str | None = None
    direction: str | None = None
    thresholds: tuple[float | None, ...] = (None, None, None, None)
    last_ms: int | None = None
    last_value: float | None = None
    status: str | None = None

    def level(self, value: float) -> str | None:
        """The highest band `value` reaches (None: no alarm)."""
        out = None
        lower = self.direction == LOWER_IS_WORSE
        for name, limit in zip(LEVELS, self.thresholds, strict=True):
            if limit is not None and ((value <= limit) if lower else (value >= limit)):
                out = name
        return out

    def threshold_json(self) -> str:
        return json.dumps({n: t for n, t in zip(LEVELS, self.thresholds, strict=True) if t is not None}, ensure_ascii=False)


class SensorCache:
    """Sensors as the graph has them (thresholds, last reading), read once per sensor and kept current."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.known: dict[str, SensorFacts] = {}
        self.missing_until: dict[str, float] = {}

    def get(self, ids: Iterable[str]) -> dict[str, SensorFacts]:
        wanted = set(ids)
        now = time.monotonic()
        unknown = [i for i in wanted if i not in self.known and self.missing_until.get(i, 0) < now]
        if unknown:
            rows = self.store.read(
                f"UNWIND $ids AS i MATCH (s:{SENSOR} {{id: i}}) RETURN s.id AS id, s.metric AS metric, s.unit AS unit, "
                "s.alarmDirection AS d, s.thresholdBlue AS t1, s.thresholdYellow AS t2, s.thresholdOrange AS t3, "
                "s.thresholdRed AS t4, s.lastReadingAtMs AS last, s.lastValue AS v, s.status AS status", {"ids": unknown})
            for r in rows:
                self.known[r["id"]] = SensorFacts(r["id"], r["metric"], r["unit"], r["d"], (r["t1"], r["t2"], r["t3"], r["t4"]),
                                                  r["last"], r["v"], r["status"])
            for i in unknown:
                if i not in self.known:
                    self.missing_until[i] = now + 30.0  # a sensor registered later is found within 30 s
        return {i: self.known[i] for i in wanted if i in self.known}


@dataclass
class BatchResult:
    counts: dict[str, SourceCounts] = field(default_factory=dict)
    new_alarms: list[str] = field(default_factory=list)
    readings: int = 0
    stored_at: float = 0.0
    #: sequence numbers of the messages of the sources whose part failed (nothing of theirs counted)
    failed: list[int] = field(default_factory=list)


class StreamStore:
    """Turns batches of logged messages into graph facts, readings and ledger counts."""

    def __init__(self, store: GraphStore, readings: ReadingStore, *, offline_after_s: float = 600.0,
                 log_id: str = "") -> None:
        self.store = store
        #: the ingest log the messages come from: its sequence numbers count only within it
        self.log_id = log_id
        self.readings = readings
        self.offline_after_s = offline_after_s
        mapping = load_mappings(store.ontology)[IOT_SOURCE]
        self.mapping = mapping
        self.alarm_spec = next(s for s in mapping.files if s.label == MONITORING_ALARM)
        self.sensors = SensorCache(store)
        self.index = EnterpriseIndex()  # alarms name no enterprise: nothing to resolve
        #: per source, the last ingest-log sequence number its ledger counted (`_counted_through`)
        self._counted: dict[str, int] = {}

    # ------------------------------------------------------------------ one batch
    def store_batch(self, messages: list[Message], sources: Callable[[str], Source | None]) -> BatchResult:
        """Each source's messages stored and counted on their own: one source's failure (the store
        refusing a statement) leaves the others stored, and its messages in `failed`."""
        result = BatchResult()
        by_source: dict[str, list[Message]] = {}
        for m in messages:
            by_source.setdefault(m.source, []).append(m)
        for name, msgs in by_source.items():
            try:
                result.counts[name] = self._source_batch(name, sources(name), msgs, result)
            except Exception:
                log.warning("live ingest: %d messages of %s could not be stored", len(msgs), name, exc_info=True)
                result.failed += [m.seq for m in msgs]
        result.stored_at = time.time()
        return result

    def _loader(self, name: str, now: dt.datetime) -> FileLoader:
        mapping = dataclasses.replace(self.mapping, source=name)
        spec: FileSpec = dataclasses.replace(self.alarm_spec, path=f"ingest/{name}")
        ctx = FieldContext(ontology=self.store.ontology, today=now.date())
        return FileLoader(self.store, mapping, spec, ctx, self.index, stream_load_id(name, now), now)

    def _source_batch(self, name: str, source: Source | None, msgs: list[Message], result: BatchResult) -> SourceCounts:
        """Store one source's messages and count each once, as loaded, unchanged or quarantined. A
        message an earlier attempt counted (stored, then killed before it was marked stored) is
        stored again — every write is idempotent — but not counted again; what an earlier attempt at
        the same message wrote (then failed) is still that message's. Readings and states move their
        sensors in message order. The alarms they raise are derived facts, not rows."""
        now = dt.datetime.now(tz=LOCAL_TZ).replace(microsecond=0)
        counted = self._counted_through(name)
        loader = self._loader(name, now)
        allowed = MESSAGE_TYPES.get(source.kind, ()) if source is not None else ()
        parsed: list[tuple[Message, dict[str, Any] | None, RowError | None]] = []
        for m in msgs:
            obj, err = _parse(m.body)
            if err is None and obj is not None:
                kind = str(obj.get("type") or ("alarm" if obj.get("alarm_id") else "reading"))
                if kind not in ("reading", "alarm", "state"):
                    err = RowError("invalid_value", N_("unknown message type {kind!r} (reading, alarm, state)"), "type",
                                                    kind=kind)
                elif kind not in allowed:
                    err = RowError("not_allowed", N_("source {name!r} may not send {kind} messages"), "type",
                                                  name=name, kind=kind)
                else:
                    obj["type"] = kind
            parsed.append((m, obj, err))
        sensor_ids = {str(o.get("sensor_id")) for _, o, e in parsed if e is None and o and o.get("sensor_id")}
        # copies: the cache takes them only once the batch is written (a failed write leaves it as the graph is)
        sensors = {i: dataclasses.replace(f) for i, f in self.sensors.get(sensor_ids).items()}
        own: dict[int, Prepared] = {}  # a message's own row: an alarm, or a rejected message
        derived: list[Prepared] = []
        moves: list[tuple[Message, SensorFacts, dt.datetime, float | None, str | None]] = []  # readings, states
        for m, obj, err in parsed:
            if err is not None or obj is None:
                own[m.seq] = _rejected(m, obj, err or RowError("invalid_value", N_("not a JSON object")))
                continue
            if obj["type"] == "alarm":
                own[m.seq] = loader.prepare(SourceRow(m.seq, flatten_json(obj), m.body))
                continue
            try:
                sensor_id, at, value = self._reading_values(obj, loader.ctx, m)
            except RowError as exc:
                own[m.seq] = _rejected(m, obj, exc.with_traceback(None))  # its frames would hold the batch
                continue
            facts = sensors.get(sensor_id)
            if facts is None:
                own[m.seq] = _rejected(m, obj, RowError("orphan_reference", N_("no Sensor {sensor_id}"), "sensor_id",
                                                                          sensor_id=sensor_id))
                continue
            status = None
            if obj["type"] == "state":
                status = str(obj.get("status") or "").strip()
                if status not in (ONLINE, OFFLINE):
                    own[m.seq] = _rejected(m, obj, RowError("invalid_value", N_("status {status_!r} is not 在线 or 离线"), "status",
                                                                           status_=status))
                    continue
            elif value is None:
                own[m.seq] = _rejected(m, obj, RowError("missing_required", N_("value is empty"), "value"))
                continue
            moves.append((m, facts, at, value, status))
        # readings first: an alarm is judged against the reading before it in time, which may be in this batch
        readings = [(m, Reading(f.id, to_epoch_ms(at), v)) for m, f, at, v, status in moves if status is None and v is not None]
        mine = dict(zip((m.seq for m, _ in readings), self.readings.add_each([r for _, r in readings], [m.seq for m, _ in readings]),
                        strict=True))
        result.readings += sum(mine.values())
        updates: dict[str, SensorFacts] = {}
        moved: dict[int, bool] = {}  # per reading or state message: whether it is stored as the message's own
        for m, facts, at, value, status in moves:  # in message order: an older state after a newer reading is history
            if status is not None:
                moved[m.seq] = self._state(facts, at, status, loader, derived, updates, m)
            elif mine[m.seq] and value is not None:
                self._reading(facts, to_epoch_ms(at), at, value, loader, derived, updates, m)
                moved[m.seq] = True
            else:  # another message's reading of the sensor at that instant stands
                moved[m.seq] = False
        rows = list(own.values()) + derived
        keys = [p.key for p in rows if p.error is None]
        others = self._alarms_of_others(keys, name, [m.seq for m in msgs])
        loader.write_all(rows)
        if updates:
            self.store.upsert_nodes(SENSOR, [_sensor_row(f) for f in updates.values()])
        self.sensors.known.update(updates)
        counts = SourceCounts(changes=loader.stats.changes)
        for m in msgs:
            if m.seq <= counted:
                continue
            counts.read += 1
            p = own.get(m.seq)
            if p is not None and p.error is not None:
                counts.quarantined[p.error.reason] += 1
            elif p is not None:
                if p.key in others:
                    counts.unchanged += 1
                else:
                    counts.loaded += 1
            elif moved.get(m.seq):
                counts.loaded += 1
            else:
                counts.unchanged += 1
        if counts.read:
            self._count(name, counts, now, max(m.seq for m in msgs))
        # an alarm the write quarantined (its sensor missing, found as it is written) is no alarm
        result.new_alarms += sorted({p.key for p in rows if p.error is None} - others)
        return counts

    def count_quarantined(self, m: Message, reason: str) -> None:
        """A message quarantined outside a batch (`Live._poison`), counted once in its source's ledger."""
        if m.seq <= self._counted_through(m.source):
            return
        self._count(m.source, SourceCounts(read=1, quarantined=Counter({reason: 1})),
                    dt.datetime.now(tz=LOCAL_TZ).replace(microsecond=0), m.seq)

    def _count(self, name: str, counts: SourceCounts, now: dt.datetime, through: int) -> None:
        """Add messages up to log sequence number `through` to the source's ledger, once."""
        add_stream_counts(self.store, name, counts, now, counted_through=(self.log_id, through))
        self._counted[name] = through

    def _counted_through(self, name: str) -> int:
        """The last ingest-log sequence number the source's ledger counted (0: none)."""
        if name not in self._counted:
            self._counted[name] = counted_through(self.store, name, self.log_id)
        return self._counted[name]

    def _reading_values(self, obj: dict[str, Any], ctx: FieldContext, m: Message) -> tuple[str, dt.datetime, float | None]:
        values = flatten_json(obj)
        sensor = normalise(_READING_FIELDS[0], MONITORING_ALARM, values.get("sensor_id"), ctx)
        at = normalise(_READING_FIELDS[1], MONITORING_ALARM, values.get("time"), ctx)
        value = None
        if obj["type"] == "reading":
            value = normalise(_READING_FIELDS[2], MONITORING_ALARM, values.get("value"), ctx)
        if isinstance(at, dt.datetime) and at.tzinfo is None:
            at = at.replace(tzinfo=LOCAL_TZ)
        received = dt.datetime.fromtimestamp(m.received_ms / 1000, tz=LOCAL_TZ)
        if at > received + dt.timedelta(seconds=FUTURE_TOLERANCE_S):
            # a gateway's clock or zone gone wrong (local time sent as UTC): as the newest reading it
            # would hold its sensor's state, and keep the offline check away, for hours
            raise RowError("out_of_range", N_("time {at} is ahead of when the message was received ({received})"), "time",
                           at=at.isoformat(), received=received.replace(microsecond=0).isoformat())
        return str(sensor), at, (float(value) if value is not None else None)

    def _reading(self, facts: SensorFacts, ms: int, at: dt.datetime, value: float, loader: FileLoader,
                 prepared: list[Prepared], updates: dict[str, SensorFacts], m: Message) -> None:
        """A reading that reaches a band above the band of the reading before it in time raises an
        alarm (so an out-of-order reading is judged where it belongs); the newest moves the sensor's state."""
        level = facts.level(value)
        if level is not None:
            before = self.readings.previous(facts.id, ms)
            was = facts.level(before) if before is not None else None
            if was is None or LEVELS.index(level) > LEVELS.index(was):
                alarm = {"alarm_id": f"{m.source}-{facts.id}-{ms}", "sensor_id": facts.id, "metric": facts.metric,
                         "value": value, "unit": facts.unit, "thresholds": facts.threshold_json(), "level": level,
                         "time": at.isoformat()}
                prepared.append(loader.prepare(SourceRow(m.seq, {k: _text(v) for k, v in alarm.items()}, m.body)))
        if facts.last_ms is None or ms > facts.last_ms:
            facts.last_ms, facts.last_value, facts.status = ms, value, ONLINE
            updates[facts.id] = facts

    def _state(self, facts: SensorFacts, at: dt.datetime, status: str, loader: FileLoader, prepared: list[Prepared],
               updates: dict[str, SensorFacts], m: Message) -> bool:
        """Whether the state message moved its sensor's state (an older one than what the sensor has
        reported since is history, not state: kept in the ingest log, counted unchanged)."""
        ms = to_epoch_ms(at)
        if facts.last_ms is not None and ms < facts.last_ms:
            return False
        if status == OFFLINE and facts.status != OFFLINE:
            prepared.append(loader.prepare(SourceRow(m.seq, _offline_alarm(facts, at, m.source, 0.0), m.body)))
        facts.status = status
        facts.last_ms = max(facts.last_ms or 0, ms)
        updates[facts.id] = facts
        return True

    def _alarms_of_others(self, keys: list[str], name: str, seqs: list[int]) -> set[str]:
        """Which of these alarms the graph holds from anything but these messages (a file's load,
        another source, an earlier message): not new. One only an earlier attempt at these very
        messages wrote (it failed, or was killed before they were marked stored) was never handed
        on: it is new still."""
        if not keys:
            return set()
        rows = self.store.read(
            f"UNWIND $ids AS i MATCH (a:{MONITORING_ALARM} {{id: i}}) OPTIONAL MATCH (a)-[:{DERIVED_FROM}]->(s:{SOURCE_RECORD}) "
            "WITH i, count(s) AS records, sum(CASE WHEN s.sourceFile = $file AND s.rowNumber IN $seqs THEN 1 ELSE 0 END) AS mine "
            "WHERE mine = 0 OR records > mine RETURN i AS id", {"ids": keys, "file": f"ingest/{name}", "seqs": seqs})
        return {r["id"] for r in rows}

    def _existing_alarms(self, keys: list[str]) -> set[str]:
        if not keys:
            return set()
        rows = self.store.read(f"UNWIND $ids AS i MATCH (a:{MONITORING_ALARM} {{id: i}}) RETURN a.id AS id", {"ids": keys})
        return {r["id"] for r in rows}

    # ------------------------------------------------------------------ sensors gone silent
    def check_offline(self, source_of_sensor: str, now: dt.datetime | None = None) -> list[str]:
        """Sensors whose last reading is older than `offline_after_s` and that are still online: set
        offline, each with an alarm (its id names the last reading, so a re-check adds nothing)."""
        now = now or dt.datetime.now(tz=LOCAL_TZ)
        cut = to_epoch_ms(now) - int(self.offline_after_s * 1000)
        rows = self.store.read(f"MATCH (s:{SENSOR}) WHERE s.lastReadingAtMs < $cut AND s.status = $on "
                               "RETURN s.id AS id", {"cut": cut, "on": ONLINE})
        if not rows:
            return []
        self.sensors.known.clear()  # read them afresh: another process may have stored readings since
        sensors = self.sensors.get(r["id"] for r in rows)
        loader = self._loader(source_of_sensor, now.replace(microsecond=0))
        prepared, updates = [], []
        for facts in sensors.values():
            if facts.last_ms is None or facts.last_ms >= cut:
                continue
            silent_min = (to_epoch_ms(now) - facts.last_ms) / 60_000
            last = dt.datetime.fromtimestamp(facts.last_ms / 1000, tz=LOCAL_TZ)
            values = _offline_alarm(facts, last, source_of_sensor, silent_min)
            prepared.append(loader.prepare(SourceRow(facts.last_ms, values, json.dumps(values, ensure_ascii=False))))
            facts.status = OFFLINE
            updates.append(facts)
        before = self._existing_alarms([p.key for p in prepared if p.error is None])
        loader.write_all(prepared)
        if updates:
            self.store.upsert_nodes(SENSOR, [_sensor_row(f) for f in updates])
        added = self._existing_alarms([p.key for p in prepared if p.error is None]) - before
        if updates:
            log.warning("sensors offline", extra={"sensors": len(updates), "silent_s": self.offline_after_s})
        return sorted(added)


def _offline_alarm(facts: SensorFacts, last: dt.datetime, source: str, silent_min: float) -> dict[str, str | None]:
    return {"alarm_id": f"{source}-{facts.id}-offline-{to_epoch_ms(last)}", "sensor_id": facts.id, "metric": "离线",
            "value": f"{silent_min:.1f}", "unit": "min", "thresholds": None, "level": OFFLINE_LEVEL,
            "time": last.isoformat()}


def _sensor_row(f: SensorFacts) -> dict[str, Any]:
    row: dict[str, Any] = {"id": f.id, "status": f.status}
    if f.last_ms is not None:
        row["lastReadingAt"] = dt.datetime.fromtimestamp(f.last_ms / 1000, tz=LOCAL_TZ)
    if f.last_value is not None:
        row["lastValue"] = f.last_value
    return row


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _parse(body: str) -> tuple[dict[str, Any] | None, RowError | None]:
    try:
        obj = json.loads(body)
    except ValueError as exc:
        return None, RowError("invalid_value", N_("not JSON: {exc}"), exc=exc)
    if not isinstance(obj, dict):
        return None, RowError("invalid_value", N_("a message must be a JSON object"))
    return obj, None


def _rejected(m: Message, obj: dict[str, Any] | None, err: RowError) -> Prepared:
    values: dict[str, str | None] = flatten_json(obj) if obj is not None else {"_raw": m.body[:4000]}
    row = SourceRow(m.seq, values, m.body)
    return Prepared(row=row, digest=row_digest(row), error=err)
