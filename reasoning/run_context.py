"""One assessment run's context: its store, date, clock and config, and the facts several steps share.

Every step of reasoning/assess.py gets the same Run, so a fact more than one step needs (regions,
enterprise groups, area measures, industries) is read once per run. Each step reports ModelRuns.
"""
from __future__ import annotations

import datetime as dt
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import LOCAL_TZ, to_epoch_ms
from riskgraph.reasoning import graph_facts as gf
from riskgraph.reasoning.models.config import ModelConfig, load_config


class ModelRun(NamedTuple):
    name: str
    method: str
    version: str
    subjects: int
    seconds: float
    #: where the step's time went, for a step that says (the recommender: knowledge base, read, train, rank and write, remove)
    phases: tuple[tuple[str, float], ...] = ()


@dataclass
class Run:
    store: GraphStore
    as_of: dt.date
    computed_at: dt.datetime
    cfg: ModelConfig
    #: (method, label) -> ids of the results this run found unchanged and left as they were, stamp
    #: and all (reasoning/writeback.py): `remove_stale` keeps them
    kept: defaultdict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    #: set the run's stamp on the results it finds unchanged, as on those it writes: for a run over a
    #: few subjects (reasoning/incremental.py), whose results must say they were checked against the
    #: data just loaded. A full run leaves them and stamps each (method, label) it covers once
    #: (reasoning/run_stamps.py)
    stamp_confirmed: bool = False
    _cache: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def start(cls, store: GraphStore, as_of: dt.date | None, *, stamp_confirmed: bool = False) -> Run:
        now = dt.datetime.now(tz=LOCAL_TZ)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        return cls(store, as_of or now.date(), now, load_config("assess"), stamp_confirmed=stamp_confirmed)

    @property
    def run_ms(self) -> int:
        return to_epoch_ms(self.computed_at)

    @property
    def page(self) -> int:
        return int(self.cfg["read"]["page_size"])

    @property
    def batch(self) -> int:
        return int(self.cfg["read"]["batch_size"])

    def cached(self, name: str, build: Callable[[], Any]) -> Any:
        if name not in self._cache:
            self._cache[name] = build()
        return self._cache[name]

    # facts shared by several steps, read once per run
    def regions(self) -> dict[str, gf.RegionRow]:
        return self.cached("regions", lambda: gf.regions(self.store))

    def group_reading(self) -> dict[str, Any]:
        """How the enterprise groups are read (date, windows): groups kept by a run are reused only under the same."""
        risk = load_config("enterprise_risk")
        windows = gf.Windows.from_configs(risk=risk)
        return {"asOf": self.as_of.isoformat(), "controlWindowDays": int(risk["control"]["window_days"]),
                "accidentYears": windows.accident_years,
                "failedConclusions": list(self.cfg["rectification"]["failed_conclusions"])}

    def read_groups(self, regions: Iterable[str] | None = None) -> dict[gf.GroupKey, Counter]:
        """The enterprise groups from the graph: all, or those of the enterprises of `regions`."""
        how = self.group_reading()
        return gf.enterprise_groups(self.store, self.as_of, control_window_days=how["controlWindowDays"],
                                    accident_years=how["accidentYears"], failed_conclusions=how["failedConclusions"],
                                    regions=regions)

    def groups(self) -> dict[gf.GroupKey, Counter]:
        return self.cached("groups", lambda: gf.sorted_groups(self.read_groups()))

    def use_groups(self, groups: dict[gf.GroupKey, Counter]) -> None:
        """Groups assembled by an incremental run (reasoning/group_store.py) instead of a whole read."""
        self._cache["groups"] = gf.sorted_groups(groups)

    def county_informs(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """County code → (INFORM Assessment id, its details): as this run computed them, else as stored."""
        return self.cached("county_informs", lambda: gf.county_informs(self.store, load_config("inform")["method"]))

    def keep_county_informs(self, informs: dict[str, tuple[str, dict[str, Any]]]) -> None:
        """The county INFORM results this run wrote, for the steps after it (CCD) not to read them back."""
        self._cache["county_informs"] = informs

    def areas(self) -> dict[str, Counter]:
        return self.cached("areas", lambda: gf.area_measures(self.store))

    def industries(self) -> set[str]:
        return self.cached("industries", lambda: {r["key"] for r in gf.scan(self.store, "Industry", ())})

    def data_version(self) -> dict[str, Any]:
        """The newest load the run saw (time and load id): every result says from which data it was computed."""
        return self.cached("data_version", lambda: gf.data_version(self.store))


class Timer:
    """Seconds since it was made: a step's ModelRun.seconds; and, for a step that says where its time
    went, the seconds of each phase (`lap`), in the order they ran."""

    def __init__(self) -> None:
        self.start = self._lapped = time.perf_counter()
        self.laps: dict[str, float] = {}

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start

    def lap(self, name: str) -> None:
        """The phase `name` ended now: its seconds since the last lap (or the start)."""
        now = time.perf_counter()
        self.laps[name] = round(now - self._lapped, 1)
        self._lapped = now
