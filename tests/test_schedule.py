"""Which check periods went by without a record: worked calendar examples (workflows/schedule.py)."""
from __future__ import annotations

import datetime as dt

from riskgraph.workflows.schedule import lapsed, periods

D = dt.date


def _keys(found) -> list[str]:
    return [p.key for p in found]


def test_weekly_checks_worked_example():
    # as of Wednesday 2024-06-19, a 21-day window opens on 2024-05-29 (in ISO week 22, 27 May – 2 June).
    # Week 22 ended without a record; week 23 has one (4 June); week 24 (10–16 June) has none;
    # week 25 is not over yet.
    assert _keys(lapsed("WEEKLY", [D(2024, 6, 4)], as_of=D(2024, 6, 19), window_days=21)) == ["2024-W22", "2024-W24"]
    # a record naming its period counts for it whatever its date
    assert _keys(lapsed("WEEKLY", [D(2024, 6, 4)], as_of=D(2024, 6, 19), window_days=21,
                        done=["2024-W24"])) == ["2024-W22"]
    # a task that began on 5 June owes nothing for the weeks before
    assert _keys(lapsed("WEEKLY", [], as_of=D(2024, 6, 19), window_days=21,
                        active_from=D(2024, 6, 5))) == ["2024-W24"]


def test_daily_checks_count_a_timed_record_for_its_day():
    as_of = D(2024, 3, 4)
    records = [dt.datetime(2024, 3, 1, 8, 30), D(2024, 3, 3)]
    # 29 February (a leap day) and 2 March have no record; 1 March's record was made at 08:30
    assert _keys(lapsed("DAILY", records, as_of=as_of, window_days=4)) == ["2024-02-29", "2024-03-02"]


def test_quarterly_and_monthly_periods_across_a_year_end():
    assert _keys(periods("QUARTERLY", D(2023, 11, 15), D(2024, 4, 1))) == ["2023-Q4", "2024-Q1", "2024-Q2"]
    assert _keys(lapsed("MONTHLY", [D(2024, 1, 31)], as_of=D(2024, 3, 1), window_days=70)) == ["2023-12", "2024-02"]
