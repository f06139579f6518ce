"""Turn Python values into what both backends store and compare the same way.

Times are kept twice, as ISO text for people and as epoch milliseconds for comparison,
because FalkorDB silently drops time-zone offsets. Full-text fields get a jieba-segmented,
space-joined companion because neither backend segments Chinese.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from riskgraph.ontology.errors import RiskGraphError
from riskgraph.ontology.model import TIME_SUFFIX, TOKENS_SUFFIX, Ontology, PropertyDef

#: Dates without a time zone are local to the bureaus that record them.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


class PropertyValueError(RiskGraphError, ValueError):
    """A value that does not fit its declared datatype."""


@lru_cache(maxsize=65_536)
def to_epoch_ms(value: dt.date | dt.datetime) -> int:
    """Epoch milliseconds; a date counts from local midnight, a naive datetime is local time.
    Cached: a load writes the same dates (and its own load time) over and over."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=LOCAL_TZ)
    else:
        aware = dt.datetime(value.year, value.month, value.day, tzinfo=LOCAL_TZ)
    return int(aware.timestamp() * 1000)


def from_epoch_ms(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=LOCAL_TZ)


def parse_time(value: Any, datatype: str) -> dt.date | dt.datetime:
    """Accept date/datetime objects or ISO 8601 text (with or without an offset)."""
    if isinstance(value, dt.datetime):
        return value.date() if datatype == "date" else value
    if isinstance(value, dt.date):
        return value if datatype == "date" else dt.datetime(value.year, value.month, value.day, tzinfo=LOCAL_TZ)
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise PropertyValueError(f"{value!r} is not an ISO 8601 {datatype}") from None
        if datatype == "date":
            return parsed.date()
        return parsed
    raise PropertyValueError(f"{value!r} is not a {datatype}")


@lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def warm_up_search() -> None:
    """Load jieba's dictionary now (≈1 s) rather than inside the first search a user waits on."""
    _jieba().initialize()


@lru_cache(maxsize=65_536)
def search_tokens(text: str) -> str:
    """jieba search-mode tokens, space-joined: what the full-text indexes are built on (cached: a
    load writes the same names again and again, with every source that names the enterprise)."""
    words = (w.strip() for w in _jieba().cut_for_search(text))
    return " ".join(w for w in words if any(ch.isalnum() for ch in w))


def _coerce(prop: PropertyDef, value: Any) -> Any:
    kind = prop.datatype
    if kind == "string":
        return str(value)
    if kind == "integer":
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise PropertyValueError(f"{prop.name}: {value!r} is not an integer")
        return int(value)
    if kind == "decimal":
        number = float(value)
        if math.isnan(number) or math.isinf(number):
            raise PropertyValueError(f"{prop.name}: {value!r} is not a finite number")
        return canonical_float(number)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        raise PropertyValueError(f"{prop.name}: {value!r} is not a boolean")
    raise PropertyValueError(f"{prop.name}: the ontology's datatype {kind!r} has no conversion")


#: significant digits a stored decimal keeps: FalkorDB answers doubles with 15, so a value written
#: with more (7997.6230000000005) would come back different and look changed on the next load
FLOAT_DIGITS = 15


def canonical_float(number: float) -> float:
    """The number as the stores give it back (15 significant digits), so that what is written and
    what is read compare equal."""
    return float(f"{number:.{FLOAT_DIGITS}g}")


_PLAIN, _MULTI, _TIME, _TOKENS = range(4)
#: per (ontology, label): each declared property with how it is stored (see encode_properties)
_PLANS: dict[tuple[int, str], tuple[Ontology, dict[str, tuple[int, PropertyDef]]]] = {}


def _plan(ontology: Ontology, label: str) -> dict[str, tuple[int, PropertyDef]]:
    """How each property of the label is stored, worked out once per label (a load encodes
    millions of rows; looking the same facts up for every value was a large part of its time)."""
    found = _PLANS.get((id(ontology), label))
    if found is not None and found[0] is ontology:
        return found[1]
    searchable = ontology.classes[label].searchable
    plan = {
        name: (_MULTI if prop.multi_valued else _TIME if prop.is_time
               else _TOKENS if prop.fulltext and searchable else _PLAIN, prop)
        for name, prop in ontology.properties_of(label).items()
    }
    _PLANS[(id(ontology), label)] = (ontology, plan)  # the ontology is kept, so its id is not reused
    return plan


def encode_properties(ontology: Ontology, label: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Typed, storable properties for one node, with time and token companions added.

    None means "no value" and is dropped (never stored as null, which would erase on merge).
    A property the ontology does not declare for the label is refused: the schema is closed.
    """
    plan = _plan(ontology, label)  # an unknown label: KeyError
    out: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        step = plan.get(name)
        if step is None:
            raise KeyError(f"{label} has no property {name!r} in the ontology")
        kind, prop = step
        if kind == _PLAIN:
            out[name] = value if type(value) is str and prop.datatype == "string" else _coerce(prop, value)
        elif kind == _TIME:
            moment = parse_time(value, prop.datatype)
            out[name] = moment.isoformat()
            out[name + TIME_SUFFIX] = to_epoch_ms(moment)
        elif kind == _MULTI:
            items = list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]
            coerced = [_coerce(prop, v) for v in items if v is not None]
            out[name] = sorted(set(coerced)) if isinstance(value, (set, frozenset)) else coerced
        else:
            out[name] = _coerce(prop, value)
            out[name + TOKENS_SUFFIX] = search_tokens(out[name])
    return out


def decode_properties(values: Mapping[str, Any]) -> dict[str, Any]:
    """Stored properties without the machine companions: what people and APIs are shown."""
    return {
        k: v
        for k, v in values.items()
        if not (k.endswith(TIME_SUFFIX) and k[: -len(TIME_SUFFIX)] in values)
        and not (k.endswith(TOKENS_SUFFIX) and k[: -len(TOKENS_SUFFIX)] in values)
    }
