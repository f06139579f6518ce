"""What the warning rules read, as plain values: no store, no I/O (read.py fills them from the graph).

Every fact keeps the node label and key it came from, so a warning cites its evidence; every fact
about an enterprise's thing carries the enterprise (`Owner`), the responsible person and the region.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Owner:
    """The responsible enterprise, its region and the person answerable for it."""

    uscc: str
    name: str | None = None
    region: str | None = None
    person: str | None = None


@dataclass(frozen=True)
class AlarmFact:
    id: str
    sensor: str
    level: str                      # AlarmLevel notation
    occurred_at: dt.datetime
    value: float | None = None
    metric: str | None = None
    unit: str | None = None
    thresholds: Mapping[str, Any] | None = None
    handled_at: dt.datetime | None = None
    subject_label: str = "Sensor"   # what the sensor monitors (a hazard source, a tailings pond), else the sensor
    subject_key: str = ""
    subject_name: str | None = None
    owner: Owner | None = None
    region: str | None = None


@dataclass(frozen=True)
class ChangeFact:
    """A change-log entry (ChangeEvent): a reload or an assessment changed one property of one node."""

    id: str
    label: str
    key: str
    property: str
    old: Any
    new: Any
    changed_at: dt.datetime
    name: str | None = None
    owner: Owner | None = None
    region: str | None = None


@dataclass(frozen=True)
class DangerFact:
    id: str
    grade: str
    state: str
    open: bool                      # not yet rectified (state before RECTIFIED)
    name: str | None = None
    found_on: dt.date | None = None
    deadline: dt.date | None = None
    risk_point: str | None = None
    owner: Owner | None = None


@dataclass(frozen=True)
class CreditFact:
    id: str
    record_type: str
    listed_on: dt.date | None
    removed_on: dt.date | None = None
    reason: str | None = None
    owner: Owner | None = None


@dataclass(frozen=True)
class ClusterFact:
    """A spatial-coupling assessment: major hazard sources in reach of each other or of exposed places."""

    assessment: str
    subject: str                    # the hazard source the assessment is keyed on
    members: tuple[str, ...]
    exposed: tuple[str, ...]
    flags: tuple[str, ...] = ()
    computed_at: dt.datetime | None = None
    subject_name: str | None = None
    owner: Owner | None = None
    region: str | None = None


@dataclass(frozen=True)
class PeriodRisk:
    period: int
    colour: str | None
    score: float | None
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class TemporalFact:
    """A county × disaster-group monthly temporal assessment, every month's colour."""

    assessment: str
    region: str
    group: str
    periods: tuple[PeriodRisk, ...]
    region_name: str | None = None


@dataclass(frozen=True)
class SourceFact:
    """A registered source system and when it last delivered (the load ledger), for the silence rule."""

    name: str
    limit_s: int | None                 # how long it may be silent (None: no expectation)
    last_success_at: dt.datetime | None = None
    last_load: str | None = None        # the SourceLoad of its last success
    registered_at: dt.datetime | None = None
    title: str | None = None
    kind: str | None = None


@dataclass
class WarningFacts:
    """Everything the rules read for one run (one `as_of`)."""

    as_of: dt.datetime
    alarms: list[AlarmFact] = field(default_factory=list)
    changes: list[ChangeFact] = field(default_factory=list)
    dangers: list[DangerFact] = field(default_factory=list)
    credits: list[CreditFact] = field(default_factory=list)
    clusters: list[ClusterFact] = field(default_factory=list)
    temporal: list[TemporalFact] = field(default_factory=list)
    sources: list[SourceFact] = field(default_factory=list)   # filled by workflows/source_watch.py only
