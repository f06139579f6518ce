"""Dates and times as the source systems write them: ISO, 2024年3月5日, 2024/3/5, 2024.3.5, 20240305."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

from riskgraph.graph.values import LOCAL_TZ
from riskgraph.loaders.normalise.errors import RowError
from riskgraph.ontology.errors import N_

_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
#: Nothing this system supervises predates the People's Republic.
EARLIEST = dt.date(1949, 10, 1)


def parse_date(text: str | None, field: str, *, today: dt.date, allow_future_days: int = 0) -> dt.date | None:
    """A date, or None if blank. Unreadable → unparseable_date; implausible → out_of_range.

    `allow_future_days` admits deadlines and expiry dates that lie ahead of `today`.
    """
    if text is None:
        return None
    raw = unicodedata.normalize("NFKC", str(text)).strip()
    if not raw:
        return None
    head = raw.split("T")[0].split(" ")[0] if re.match(r"^\d{4}-\d{2}-\d{2}[T ]", raw) else raw
    match = _DATE.match(head) or _COMPACT.match(head)
    if not match:
        raise RowError("unparseable_date", N_("{field_}: cannot read {raw_!r} as a date"), field, field_=field, raw_=raw)
    try:
        value = dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise RowError("unparseable_date", N_("{field_}: {raw_!r} is not a calendar date"), field,
                                           field_=field, raw_=raw) from None
    if value < EARLIEST or value > today + dt.timedelta(days=allow_future_days):
        raise RowError("out_of_range", N_("{field_}: {isoformat} is outside {EARLIEST}..{today}"), field,
                                       field_=field, isoformat=value.isoformat(), EARLIEST=EARLIEST, today=today)
    return value


def parse_datetime(text: str | None, field: str, *, today: dt.date) -> dt.datetime | None:
    """An ISO 8601 moment; a naive one is China Standard Time."""
    if text is None or not str(text).strip():
        return None
    raw = str(text).strip()
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise RowError("unparseable_date", N_("{field_}: cannot read {raw_!r} as a date and time"), field,
                                           field_=field, raw_=raw) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_TZ)
    if value.date() < EARLIEST or value.date() > today + dt.timedelta(days=1):
        raise RowError("out_of_range", N_("{field_}: {raw_} is outside {EARLIEST}..{today}"), field,
                                       field_=field, raw_=raw, EARLIEST=EARLIEST, today=today)
    return value
