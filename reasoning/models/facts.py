"""Plain facts about one enterprise, as the rating and risk models need them (no graph access).

Codes are ontology notations (MajorHazardLevel, HazardousProcess, AccidentGrade, AlarmLevel,
HiddenDangerGrade, HiddenDangerState, CreditRecordType, RiskColour, TailingsPondSafetyClass);
`evidence` is the node key the caller took the fact from, so every component can cite it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from riskgraph.reasoning.models.vocab import rank


@dataclass(frozen=True)
class MajorHazard:
    level: str
    evidence: str = ""
    monitored: bool | None = None  # a sensor of the IoT registry monitors it; None = not known


@dataclass(frozen=True)
class Process:
    code: str
    evidence: str = ""


@dataclass(frozen=True)
class Accident:
    on: dt.date
    grade: str
    deaths: int = 0
    evidence: str = ""
    type: str | None = None  # GB 6441 AccidentType notation


@dataclass(frozen=True)
class Alarm:
    at: dt.datetime
    level: str
    handled_at: dt.datetime | None = None
    evidence: str = ""


@dataclass(frozen=True)
class Inspection:
    on: dt.date
    findings: int = 0
    evidence: str = ""


@dataclass(frozen=True)
class Penalty:
    on: dt.date
    amount_yuan: float = 0.0
    evidence: str = ""
    violation: str = ""  # 违法行为, read for findings that bear on the rating's sections


@dataclass(frozen=True)
class HiddenDanger:
    """A 隐患 with its life-cycle state; open until accepted (VERIFIED) or closed (CLOSED, 销号).

    An unknown state counts as open and unrectified (rank 0): the conservative reading.
    """

    grade: str
    state: str
    deadline: dt.date | None = None
    rectified_on: dt.date | None = None
    found_on: dt.date | None = None
    evidence: str = ""
    description: str = ""  # 隐患描述, read for the 重大隐患判定标准 items it states

    @property
    def closed(self) -> bool:
        return rank("HiddenDangerState", self.state, 0) >= _closed_rank()

    @property
    def rectified(self) -> bool:
        return self.rectified_on is not None or rank("HiddenDangerState", self.state, 0) >= rank("HiddenDangerState", "RECTIFIED")

    @property
    def major(self) -> bool:
        return self.grade == "MAJOR"

    def overdue(self, as_of: dt.date) -> bool:
        """Past its deadline and still not rectified (HiddenDangerState scopeNote: overdue is a risk signal).

        A danger rectified late and awaiting verification is no longer overdue: the work is done, and
        its lateness shows in the on-time rate instead. Counting it both as rectified and as overdue
        would let a late-rectified danger lower a deduction it also raises.
        """
        return not self.rectified and not self.closed and self.deadline is not None and self.deadline < as_of

    def on_time(self) -> bool:
        return self.rectified_on is not None and self.deadline is not None and self.rectified_on <= self.deadline


@dataclass(frozen=True)
class LapsedCheck:
    """A dual-prevention check (排查任务) whose period ended without a record."""

    period_end: dt.date
    evidence: str = ""   # <task id>@<period key>


@dataclass(frozen=True)
class CreditRecord:
    type: str
    active: bool = True
    evidence: str = ""


@dataclass(frozen=True)
class SubstanceFact:
    """A chemical the enterprise holds (from its inventories): what 物质危险性 looks up."""

    name: str | None = None
    cas: str | None = None
    category: str | None = None
    evidence: str = ""


@dataclass(frozen=True)
class LicenceFact:
    """A licence or a person's certificate listed on the enterprise (LicenceType notation)."""

    type: str
    valid_until: dt.date | None = None
    evidence: str = ""


@dataclass(frozen=True)
class RiskPointFact:
    colour: str
    evidence: str = ""


@dataclass(frozen=True)
class TailingsPondFact:
    safety_class: str
    evidence: str = ""


@dataclass(frozen=True)
class EnterpriseFacts:
    """What the graph knows about one enterprise as of a date; None = not known (no deduction, flagged)."""

    as_of: dt.date
    subject: str = ""  # the enterprise's node key: evidence for enterprise-level attributes
    major_hazards: tuple[MajorHazard, ...] = ()
    processes: tuple[Process, ...] = ()
    in_park: bool | None = None
    safety_distance_met: bool | None = None
    standardisation: str | None = None
    own_fire_brigade: bool = False
    accidents: tuple[Accident, ...] = ()
    alarms: tuple[Alarm, ...] = ()
    inspections: tuple[Inspection, ...] = ()
    penalties: tuple[Penalty, ...] = ()
    hidden_dangers: tuple[HiddenDanger, ...] = ()
    lapsed_checks: tuple[LapsedCheck, ...] = ()
    credit_records: tuple[CreditRecord, ...] = ()
    risk_points: tuple[RiskPointFact, ...] = ()
    tailings_ponds: tuple[TailingsPondFact, ...] = ()
    # the guide's other automatic-红 conditions, when the input carries them (findings in the graph
    # also evidence them: see enterprise_rating.toml [evidence]); None = not known
    unqualified_special_operators: bool | None = None
    untested_new_process: bool | None = None
    plant_without_formal_design: bool | None = None
    # what the rating's sections need beyond the above; None / False = not known, never "none"
    processes_known: bool = True           # False: no record of the enterprise's hazardous processes
    substances: tuple[SubstanceFact, ...] | None = None  # None: no inventory on record
    licences: tuple[LicenceFact, ...] = ()
    accident_register_complete_since: dt.date | None = None  # the accident register holds every accident since


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` earlier (29 Feb → 28 Feb)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def within_years(day: dt.date, as_of: dt.date, years: int) -> bool:
    """In the last `years` years, both ends inclusive; facts after `as_of` are not yet known."""
    return years_before(as_of, years) <= day <= as_of


def within_days(day: dt.date, as_of: dt.date, days: int) -> bool:
    """In the `days` days ending on `as_of`, both ends inclusive."""
    first, last = days_window(as_of, days)
    return first <= day <= last


def days_window(as_of: dt.date, days: int) -> tuple[dt.date, dt.date]:
    """The first and last day of `within_days`' window, for testing many days against one window."""
    return as_of - dt.timedelta(days=days), as_of


def _closed_rank() -> int:
    """Off the books from acceptance (VERIFIED) on: closing (销号, rank 6) is the administrative last step."""
    return rank("HiddenDangerState", "VERIFIED")
