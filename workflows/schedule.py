"""When a recurring check is due, and which of its periods went by without a record: pure date
arithmetic, shared by the task workflow (what a day's list shows) and the rating's facts (how many
checks an enterprise let lapse).

Periods by CheckFrequency notation: SHIFT and DAILY a calendar day (a shift check is kept per day:
one record closes the day), WEEKLY an ISO week (Monday–Sunday), MONTHLY a calendar month,
QUARTERLY a calendar quarter. A period's key names it: 2024-06-01, 2024-W23, 2024-06, 2024-Q2.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass

from riskgraph.ontology.errors import N_, RiskGraphError, Term
from riskgraph.ontology.model import load_ontology

DAY_FREQUENCIES = ("SHIFT", "DAILY")
#: a task the source system stopped (任务状态) is not due
STOPPED = ("已停止", "停止", "STOPPED")
FREQUENCIES = ("SHIFT", "DAILY", "WEEKLY", "MONTHLY", "QUARTERLY")


class PeriodError(RiskGraphError, ValueError):
    """A check frequency or period key that does not exist (a check recorded for "2026-W60")."""


def frequency_term(frequency: str) -> Term:
    """A frequency named in a message: WEEKLY in English, its prefLabel (每周) in Chinese."""
    return load_ontology().vocabulary("CheckFrequency").term(frequency)


@dataclass(frozen=True, order=True)
class Period:
    start: dt.date
    end: dt.date   # inclusive
    key: str

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end


def period_of(frequency: str, day: dt.date) -> Period:
    """The period of a check with this frequency that contains `day`."""
    if frequency in DAY_FREQUENCIES:
        return Period(day, day, day.isoformat())
    if frequency == "WEEKLY":
        start = day - dt.timedelta(days=day.weekday())
        year, week, _ = day.isocalendar()
        return Period(start, start + dt.timedelta(days=6), f"{year}-W{week:02d}")
    if frequency == "MONTHLY":
        start = day.replace(day=1)
        nxt = (start + dt.timedelta(days=32)).replace(day=1)
        return Period(start, nxt - dt.timedelta(days=1), f"{day.year}-{day.month:02d}")
    if frequency == "QUARTERLY":
        quarter = (day.month - 1) // 3
        start = dt.date(day.year, quarter * 3 + 1, 1)
        nxt = dt.date(day.year + (quarter == 3), (quarter * 3 + 3) % 12 + 1, 1)
        return Period(start, nxt - dt.timedelta(days=1), f"{day.year}-Q{quarter + 1}")
    raise PeriodError(N_("unknown check frequency {frequency!r}; one of {frequencies}"), frequency=frequency,
                      frequencies=", ".join(FREQUENCIES))


def parse_period(frequency: str, key: str) -> Period:
    """The period a key names (ValueError when the key does not fit the frequency)."""
    try:
        if frequency in DAY_FREQUENCIES:
            day = dt.date.fromisoformat(key)
        elif frequency == "WEEKLY":
            year, week = key.split("-W")
            day = dt.date.fromisocalendar(int(year), int(week), 1)
        elif frequency == "MONTHLY":
            year, month = key.split("-")
            day = dt.date(int(year), int(month), 1)
        elif frequency == "QUARTERLY":
            year, quarter = key.split("-Q")
            day = dt.date(int(year), (int(quarter) - 1) * 3 + 1, 1)
        else:
            raise ValueError(frequency)
    except (ValueError, TypeError):
        raise PeriodError(N_("{key!r} is not a period of a {frequency} check"), key=key,
                          frequency=frequency_term(frequency)) from None
    period = period_of(frequency, day)
    if period.key != key:
        raise PeriodError(N_("{key!r} is not a period of a {frequency} check"), key=key, frequency=frequency_term(frequency))
    return period


@functools.lru_cache(maxsize=4096)
def periods(frequency: str, first: dt.date, last: dt.date) -> tuple[Period, ...]:
    """Every period that overlaps [first, last], oldest first. Remembered: a province's ≈ 270,000
    tasks share a few hundred (frequency, window) pairs."""
    out: list[Period] = []
    day = first
    while day <= last:
        period = period_of(frequency, day)
        out.append(period)
        day = period.end + dt.timedelta(days=1)
    return tuple(out)


def lapsed(frequency: str, records: Iterable[dt.date], *, as_of: dt.date, window_days: int,
           active_from: dt.date | None = None, done: Iterable[str] = ()) -> list[Period]:
    """The periods that ended before `as_of`, within the last `window_days`, on or after the task's
    first day, with no check recorded in them (a record counts for the period its date falls in,
    or the period it names in `done`)."""
    first = as_of - dt.timedelta(days=window_days)
    if active_from is not None and active_from > first:
        first = active_from
    last = as_of - dt.timedelta(days=1)
    if first > last:
        return []
    days = {day.date() if isinstance(day, dt.datetime) else day for day in records}  # a time counts for its day
    covered = set(done) | {period_of(frequency, day).key for day in days}
    out = []
    for period in periods(frequency, first, last):
        if period.end >= as_of or period.start < (active_from or period.start):
            continue  # not over yet, or began before the task existed
        if period.key not in covered:
            out.append(period)
    return out
