"""Raw readings outside the graph: retention folds old readings into hourly rows (count, min, max,
mean) and drops hours past their own retention — checked on a hand-worked series."""
from __future__ import annotations

from pathlib import Path

from riskgraph.loaders.live.readings import Reading, ReadingStore

HOUR = 3_600_000
DAY = 24 * HOUR
NOW = 1_796_000_000_000 - (1_796_000_000_000 % HOUR) + 25 * 60_000  # 25 minutes into an hour


def test_old_readings_fold_into_hours_once_and_old_hours_are_dropped(tmp_path: Path) -> None:
    store = ReadingStore(tmp_path, raw_days=30, hourly_days=365)
    old_hour = NOW - 40 * DAY - (NOW % HOUR)  # an hour 40 days ago: past the raw retention
    ancient_hour = NOW - 400 * DAY - (NOW % HOUR)  # past the hourly retention as well
    recent = NOW - 2 * DAY
    series = [
        Reading("T1", old_hour + 60_000, 10.0), Reading("T1", old_hour + 120_000, 14.0),
        Reading("T1", old_hour + 3_540_000, 3.0),  # the same hour: n 3, min 3, max 14, mean 9
        Reading("T1", old_hour + HOUR + 5, 7.5),  # the next hour: n 1
        Reading("T2", old_hour + 30_000, -2.0),  # another sensor, the same hour
        Reading("T1", ancient_hour + 1, 99.0),
        Reading("T1", recent, 12.0), Reading("T2", recent, 1.0),  # within 30 days: stay raw
    ]
    assert store.add(series) == len(series)
    assert store.add(series[:3]) == 0, "a replayed reading is not stored twice"

    folded, dropped = store.compact(now_ms=NOW)
    assert folded == 6
    assert dropped == 1, "the hour 400 days ago is folded, then dropped: it is past the hourly retention"
    assert store.hourly("T1") == [(old_hour, 3, 3.0, 14.0, 9.0), (old_hour + HOUR, 1, 7.5, 7.5, 7.5)]
    assert store.hourly("T2") == [(old_hour, 1, -2.0, -2.0, -2.0)]
    assert store.series("T1") == [(recent, 12.0)] and store.series("T2") == [(recent, 1.0)]
    assert store.count() == 2

    assert store.compact(now_ms=NOW) == (0, 0), "folding again changes nothing"
    assert store.hourly("T1")[0] == (old_hour, 3, 3.0, 14.0, 9.0)
    store.close()


def test_only_whole_hours_are_folded(tmp_path: Path) -> None:
    """The raw cut is rounded down to the hour, so an hour is never split between raw and hourly."""
    store = ReadingStore(tmp_path, raw_days=1, hourly_days=365)
    cut = NOW - DAY  # 25 minutes into an hour: that hour stays raw as a whole
    straddling_hour = cut - (cut % HOUR)
    store.add([Reading("P1", straddling_hour + 1, 1.0), Reading("P1", cut + 1, 2.0),
               Reading("P1", straddling_hour - 1, 5.0)])
    assert store.compact(now_ms=NOW) == (1, 0)
    assert store.hourly("P1") == [(straddling_hour - HOUR, 1, 5.0, 5.0, 5.0)]
    assert store.series("P1") == [(straddling_hour + 1, 1.0), (cut + 1, 2.0)]
    store.close()
