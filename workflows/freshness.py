"""After every load and every write through the API: fresh scores, the warning rules, watches.

    report = after_change(store, changes, batch="load-…", data_dir=…)

1. which subjects the changes touch (the owning enterprise of a hidden danger or an alarm, a hazard
   source holding a changed inventory, the area aggregates for regions and resources …), along the
   ontology's ownership relations;
2. `reasoning.incremental.reassess` for those subjects and the aggregates over them;
3. the warning rules (`workflows.warnings.generate`), which also see the colours and levels step 2 changed:
   over the whole province, or — in the service, once its whole pass of the day ran (`RulesScope`) —
   over the facts of the touched enterprises only;
4. watch notifications for the subscribers of what changed (notify/watches.py).

`riskgraph load` runs it after the load (`touched_by_load` reads what the load wrote from its
SourceRecords and ChangeEvents); the service runs it in the background after its own writes
(`FreshnessWorker`), so a request never waits for the models. The worker also runs the rules over
the whole province once a day (deadlines pass at midnight without any change).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import queue
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskgraph.api.schema import Schema
from riskgraph.api.users import user_store
from riskgraph.graph.connect import default_data_dir
from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import LOCAL_TZ, to_epoch_ms
from riskgraph.loaders.load import LoadReport
from riskgraph.notify.channels import ChannelRegistry, channel_registry
from riskgraph.notify.watches import Change, WatchReport, notify_changes
from riskgraph.ontology.anchors import ACCIDENT, ENTERPRISE, HIDDEN_DANGER
from riskgraph.ontology.model import Ontology
from riskgraph.reasoning import graph_facts as gf
from riskgraph.reasoning.incremental import Subjects, reassess
from riskgraph.reasoning.run_context import ModelRun
from riskgraph.reasoning.warnings import load_rules
from riskgraph.workflows.warnings import GenerationReport, generate

log = logging.getLogger("riskgraph.freshness")

AREA_LABELS = frozenset({"Region", "NaturalDisasterRiskPoint", "Shelter", "RescueTeam", "Warehouse", "Supply"})
#: past this many touched enterprises a load is a bulk load: every enterprise is re-assessed
BULK = 500
#: past this many touched nodes (a first load of a province) nothing is located one by one: every
#: subject is re-assessed, and watchers hear of changes to the enterprises and risk points themselves
BULK_NODES = 5_000


def local_today() -> dt.date:
    return dt.datetime.now(LOCAL_TZ).date()


def rules_day_file(data_dir: Path, store: GraphStore) -> Path:
    """Where the day of the store's last whole pass of the rules is noted, in the data folder: one
    file per store (by a digest of its URL), so that the service's workers and `riskgraph load` on
    the same store and data folder know of each other's passes."""
    return data_dir / f"rules-whole-pass-{hashlib.sha256(store.url.encode()).hexdigest()[:12]}.txt"


def noted_scope(store: GraphStore, data_dir: Path | None = None) -> RulesScope:
    """The rules' scope after a change as the store's note in `data_dir` (default: the data
    directory) says: what the command line runs and notes."""
    return RulesScope(shared=rules_day_file(data_dir or default_data_dir(), store))


@dataclass
class RulesScope:
    """Whether the warning rules after a change may read the touched enterprises' facts only.

    Only once a pass over the whole province ran today: an open danger becomes overdue at midnight
    without any change, and the first pass of a day warns about it. A change that re-ran the
    province's spatial coupling (`Subjects.spatial`: its clusters are held by any enterprise), or
    touched more than BULK enterprises, is followed by a whole pass too; the rules read the regions'
    temporal risk whole anyway. At 50,000 enterprises a whole pass takes ≈ 3.8 s,
    a touched one tens of milliseconds. With `shared` (a file in the service's data folder) the
    service's workers know of each other's whole passes, and one of them runs the day's.
    """

    today: Callable[[], dt.date] = local_today
    shared: Path | None = None
    whole_on: dt.date | None = None

    @property
    def whole_due(self) -> bool:
        today = self.today()
        if self.whole_on != today and self.shared is not None and _noted_day(self.shared) == today:
            self.whole_on = today  # another worker's
        return self.whole_on != today

    def enterprises(self, subjects: Subjects) -> set[str] | None:
        """The enterprises to read facts of, or None for all of them."""
        if self.whole_due or subjects.spatial or len(subjects.enterprises) > BULK:
            return None
        return set(subjects.enterprises)

    def ran(self, enterprises: set[str] | None) -> None:
        if enterprises is None:
            self.whole_on = self.today()
            if self.shared is not None:
                try:
                    self.shared.write_text(self.whole_on.isoformat(), encoding="utf-8")
                except OSError as exc:  # the other workers run their own whole pass: more work, nothing lost
                    log.warning("the day of the rules' whole pass was not noted for the other workers: %s", exc)

    @contextlib.contextmanager
    def day_pass(self) -> Iterator[bool]:
        """Whether this worker is to run the day's whole pass now: it is due, and no other worker
        of the service is running it (they take turns on a lock beside the shared file)."""
        if self.shared is None:
            yield self.whole_due
            return
        fd = os.open(self.shared.with_suffix(".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # another worker is running it
                yield False
                return
            yield self.whole_due
        finally:
            os.close(fd)  # releases the lock


def _noted_day(path: Path) -> dt.date | None:
    try:
        return dt.date.fromisoformat(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


@dataclass
class PipelineReport:
    batch: str
    touched: int = 0
    subjects: dict[str, Any] = field(default_factory=dict)
    runs: list[ModelRun] = field(default_factory=list)
    warnings: GenerationReport | None = None
    rules_over: int | None = None       # the enterprises whose facts the rules read (None: the whole province)
    watches: WatchReport | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {"batch": self.batch, "touched": self.touched, "subjects": self.subjects,
                "models": len(self.runs), "warnings": self.warnings.summary() if self.warnings else None,
                "rulesOver": "province" if self.rules_over is None else self.rules_over,
                "watchNotifications": self.watches.notifications if self.watches else 0,
                "seconds": {k: round(v, 3) for k, v in self.seconds.items()}}


def _key_column(store: GraphStore, label: str) -> str:
    return store.ontology.key_of(label)


def touched_by_load(store: GraphStore, report: LoadReport) -> list[Change]:
    """The nodes one load wrote (new or changed rows) and the facts it changed, from its provenance.

    Its records and change events are found by the load's time, which their indexes hold, and then
    by its id: by the id alone (not indexed) a live batch of one line read all 3.4 M records of a
    50,000-enterprise province (430 ms) after every load."""
    at, load_id = to_epoch_ms(report.loaded_at), report.load_id
    rows = store.read("MATCH (s:SourceRecord) WHERE s.loadedAtMs = $at WITH s WHERE s.loadId = $id "
                      "MATCH (n)-[:DERIVED_FROM]->(s) "
                      "RETURN DISTINCT labels(n) AS l, n.id AS id, n.uscc AS uscc, n.code AS code, n.name AS name",
                      {"at": at, "id": load_id})
    events = store.read("MATCH (c:ChangeEvent) WHERE c.changedAtMs = $at WITH c WHERE c.loadId = $id "
                        "RETURN c.entityLabel AS label, c.entityKey AS key, "
                        "c.property AS prop, c.oldValue AS old, c.newValue AS new", {"at": at, "id": load_id})
    changed: dict[tuple[str, str], list[tuple[str, Any, Any]]] = defaultdict(list)
    for e in events:
        changed[(e["label"], e["key"])].append((e["prop"], _loads(e["old"]), _loads(e["new"])))
    labels = set(store.ontology.labels)
    nodes: dict[tuple[str, str], str | None] = {}
    for r in rows:
        label = next((lbl for lbl in r["l"] if lbl in labels), None)
        if label is None:
            continue
        key = {"uscc": r["uscc"], "code": r["code"]}.get(_key_column(store, label), r["id"])
        if key is not None:
            nodes[(label, str(key))] = r["name"]
    # a first load of a province: everything is new, and looking each node up again would cost minutes
    earlier = _loaded_before(store, nodes, load_id) if len(nodes) <= BULK_NODES else set()
    out = []
    for (label, key), name in sorted(nodes.items()):
        if (label, key) in changed:
            out.append(Change(label, key, "changed", tuple(changed[(label, key)]), name))
        elif (label, key) not in earlier:
            out.append(Change(label, key, "new", (), name))
        else:  # re-stated without a changed fact (a re-sorted row): still re-assessed, never announced
            out.append(Change(label, key, "restated", (), name))
    return out


def _loaded_before(store: GraphStore, nodes: dict[tuple[str, str], Any], load_id: str) -> set[tuple[str, str]]:
    by_label: dict[str, list[str]] = defaultdict(list)
    for label, key in nodes:
        by_label[label].append(key)
    out = set()
    for label, keys in by_label.items():
        key = ident(_key_column(store, label))
        # the filter after WITH: beside the MATCH, FalkorDB starts from the records and reads every one
        # of them (5.2 s for one alarm at 50,000 enterprises)
        for r in store.read(f"UNWIND $keys AS k MATCH (n:{ident(label)} {{{key}: k}})-[:DERIVED_FROM]->(s:SourceRecord) "
                            "WITH k, s WHERE s.loadId <> $id RETURN DISTINCT k", {"keys": keys, "id": load_id}):
            out.add((label, str(r["k"])))
    return out


def _loads(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError:
        return text


def locate(store: GraphStore, schema: Schema, changes: Sequence[Change]) -> tuple[list[Change], Subjects, dict[str, str | None]]:
    """Each change with its enterprises, risk points and region; the subjects to re-assess; enterprise regions."""
    by_label: dict[str, list[str]] = defaultdict(list)
    for c in changes:
        by_label[c.label].append(c.key)
    owners: dict[tuple[str, str], set[str]] = defaultdict(set)
    e_key = ident(store.ontology.key_of("Enterprise"))
    for label, keys in by_label.items():
        if label in schema.owned:
            key = ident(store.ontology.key_of(label))
            for r in store.read(f"MATCH (e:Enterprise)-{schema.ownership_pattern(1)}->(n:{ident(label)}) WHERE n.{key} IN $keys "
                                f"RETURN n.{key} AS k, collect(DISTINCT e.{e_key}) AS u", {"keys": keys}):
                owners[(label, str(r["k"]))].update(str(u) for u in r["u"] if u)
    points: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in store.read("MATCH (h:HiddenDanger)-[:AT_RISK_POINT]->(p:RiskPoint) WHERE h.id IN $keys RETURN h.id AS k, p.id AS p",
                        {"keys": by_label.get("HiddenDanger", []) + []}):
        points[("HiddenDanger", r["k"])].add(r["p"])
    for r in store.read("MATCH (h:HiddenDanger)-[:RECTIFIED_BY]->(x:Rectification), (h)-[:AT_RISK_POINT]->(p:RiskPoint) "
                        "WHERE x.id IN $keys RETURN x.id AS k, p.id AS p", {"keys": by_label.get("Rectification", [])}):
        points[("Rectification", r["k"])].add(r["p"])
    holders = store.read("MATCH (h:HazardSource)-[:HOLDS]->(i:Inventory) WHERE i.id IN $keys RETURN DISTINCT h.id AS h",
                         {"keys": by_label.get("Inventory", [])})
    subjects = Subjects()
    subjects.hazard_sources.update(by_label.get("HazardSource", []), (r["h"] for r in holders))
    subjects.risk_points.update(by_label.get("RiskPoint", []))
    subjects.enterprises.update(by_label.get("Enterprise", []))
    subjects.areas = any(label in AREA_LABELS for label in by_label)
    subjects.disaster_events = "DisasterEvent" in by_label
    subjects.nk_inputs = any(counted_by_nk(store.ontology, c) for c in changes)
    for usccs in owners.values():
        subjects.enterprises.update(usccs)
    regions = {str(r["u"]): r["r"] for r in store.read(
        f"UNWIND $keys AS k MATCH (e:Enterprise {{{e_key}: k}}) RETURN k AS u, e.regionCode AS r",
        {"keys": sorted(subjects.enterprises)})}
    node_regions: dict[tuple[str, str], str | None] = {}
    for label, keys in by_label.items():
        if "regionCode" in store.ontology.properties_of(label):
            key = ident(store.ontology.key_of(label))
            for r in store.read(f"UNWIND $keys AS k MATCH (n:{ident(label)} {{{key}: k}}) RETURN k, n.regionCode AS r",
                                {"keys": keys}):
                node_regions[(label, str(r["k"]))] = r["r"]
    located = []
    for c in changes:
        ents = tuple(sorted(owners.get((c.label, c.key), set())))
        region = node_regions.get((c.label, c.key)) or next((regions.get(u) for u in ents if regions.get(u)), None)
        if c.label == "Region":
            region = c.key
        located.append(Change(c.label, c.key, c.kind, c.changes, c.name, ents,
                              tuple(sorted(points.get((c.label, c.key), set()))), region))
    return located, subjects, regions


def counted_by_nk(onto: Ontology, change: Change) -> bool:
    """Whether the change may move what N-K coupling counts: a hidden danger or an accident, or an
    enterprise's supervision industry or region (its groups); a change without details counts."""
    if change.label not in onto.labels:
        return False
    if onto.is_a(change.label, HIDDEN_DANGER) or onto.is_a(change.label, ACCIDENT):
        return True
    if onto.is_a(change.label, ENTERPRISE):
        return change.kind != "changed" or not change.changes or any(p in gf.NK_GROUPED_BY for p, _, _ in change.changes)
    return False


def _bulk(store: GraphStore, changes: Sequence[Change]) -> tuple[list[Change], Subjects, dict[str, str | None]]:
    """Every subject, without locating each change (a first load of a province touches all of them)."""
    def keys(label: str) -> set[str]:
        key = ident(store.ontology.key_of(label))
        return {str(r["k"]) for r in store.read(f"MATCH (n:{ident(label)}) RETURN n.{key} AS k")}

    subjects = Subjects(enterprises=keys("Enterprise"), hazard_sources=keys("HazardSource"), risk_points=keys("RiskPoint"),
                        areas=True, disaster_events=True)
    regions = {str(r["u"]): r["r"] for r in store.read("MATCH (e:Enterprise) RETURN e.uscc AS u, e.regionCode AS r")}
    located = [Change(c.label, c.key, c.kind, c.changes, c.name, region=regions.get(c.key) if c.label == "Enterprise" else None)
               for c in changes if c.label in ("Enterprise", "RiskPoint")]
    return located, subjects, regions


def after_change(store: GraphStore, changes: Sequence[Change], *, batch: str, data_dir: Path | None = None,
                 registry: ChannelRegistry | None = None, as_of: dt.date | None = None,
                 schema: Schema | None = None, rules_scope: RulesScope | None = None) -> PipelineReport:
    """Fresh scores for what changed, then the warning rules, then the watches.

    The rules read the whole province unless `rules_scope` (the service's, or the CLI's on the same
    data folder) lets them read less.
    """
    report = PipelineReport(batch=batch, touched=len(changes))
    if not changes:
        return report
    schema = schema or Schema(store.ontology)
    registry = registry if registry is not None else channel_registry(data_dir)
    started = time.perf_counter()
    if len(changes) > BULK_NODES:
        located, subjects, regions = _bulk(store, changes)
    else:
        located, subjects, regions = locate(store, schema, changes)
    if len(subjects.enterprises) > BULK:  # a bulk load: every enterprise, once
        subjects.enterprises = {str(r["u"]) for r in store.read("MATCH (e:Enterprise) RETURN e.uscc AS u")}
    report.subjects = subjects.describe()
    report.seconds["locate"] = time.perf_counter() - started
    t = time.perf_counter()
    report.runs = reassess(store, subjects, as_of=as_of)
    report.seconds["reassess"] = time.perf_counter() - t
    t = time.perf_counter()
    rules = load_rules()
    over = rules_scope.enterprises(subjects) if rules_scope is not None else None
    report.warnings = generate(store, rules=rules, registry=registry, enterprises=over)
    report.rules_over = None if over is None else len(over)
    if rules_scope is not None:
        rules_scope.ran(over)
    report.seconds["warnings"] = time.perf_counter() - t
    t = time.perf_counter()
    announced = [c for c in located if c.kind in ("new", "changed")]
    report.watches = notify_changes(store, announced, users=user_store(data_dir), batch=batch, registry=registry,
                                    watched_labels=rules["watch"]["labels"], regions=regions)
    report.seconds["watches"] = time.perf_counter() - t
    report.seconds["total"] = time.perf_counter() - started
    log.info("fresh scores after %s: %s", batch, report.summary())
    return report


class FreshnessWorker:
    """The service's background pipeline: writes are queued, coalesced and processed off the request path."""

    def __init__(self, store: GraphStore, *, data_dir: Path, registry: ChannelRegistry, schema: Schema,
                 on_done: Callable[[PipelineReport], None] | None = None, coalesce_s: float = 0.2,
                 day_check_s: float = 60.0, today: Callable[[], dt.date] = local_today) -> None:
        self.store = store
        self.data_dir = data_dir
        self.registry = registry
        self.schema = schema
        self.on_done = on_done
        self.coalesce_s = coalesce_s
        # how often an idle worker checks whether today's whole pass of the rules is still to run
        self.day_check_s = day_check_s
        self.rules_scope = RulesScope(today, rules_day_file(data_dir, store))
        self._queue: queue.Queue[list[Change] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.reports: list[PipelineReport] = []
        self._idle = threading.Event()
        self._idle.set()
        # submissions not yet processed: idle is set only when this is 0, under the lock (checking an empty
        # queue, then setting idle, let a submit slip in between and left idle set with work queued)
        self._open = 0
        self._open_lock = threading.Lock()

    def submit(self, changes: Iterable[Change]) -> None:
        items = list(changes)
        if items:
            with self._open_lock:
                self._open += 1
                self._idle.clear()
            self._queue.put(items)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="riskgraph-freshness", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_idle(self, timeout: float) -> bool:
        return self._idle.wait(timeout)

    def _loop(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self.day_check_s)
            except queue.Empty:
                self._whole_pass_if_due()
                continue
            if first is None:
                return
            batch = list(first)
            taken = 1
            deadline = time.monotonic() + self.coalesce_s
            stop = False
            while True:
                try:
                    more = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.extend(more)
                taken += 1
            try:
                report = after_change(self.store, batch, batch=f"write-{uuid.uuid4().hex[:12]}", data_dir=self.data_dir,
                                      registry=self.registry, schema=self.schema, rules_scope=self.rules_scope)
                self.reports = (self.reports + [report])[-20:]
                if self.on_done:
                    self.on_done(report)
            except Exception:
                log.exception("fresh scores after %d writes failed", len(batch))
            with self._open_lock:
                self._open -= taken
                if self._open == 0:
                    self._idle.set()
            if stop:
                return

    def _whole_pass_if_due(self) -> None:
        """The rules over the whole province, when no pass of today read it yet (the first check of a
        day), unless another worker of the service is running it."""
        started = time.perf_counter()
        report = PipelineReport(batch=f"rules-{self.rules_scope.today().isoformat()}")
        with self.rules_scope.day_pass() as due:
            if not due:
                return
            try:
                report.warnings = generate(self.store, registry=self.registry)
            except Exception:
                log.exception("the day's pass of the warning rules failed")
                return
            self.rules_scope.ran(None)
        report.seconds["warnings"] = report.seconds["total"] = time.perf_counter() - started
        log.info("the day's pass of the warning rules: %s", report.summary())
        self.reports = (self.reports + [report])[-20:]
        if self.on_done:
            self.on_done(report)
