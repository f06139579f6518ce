"""The one result type every model returns, so the API and the graph can show how a score was made."""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Component:
    """One term of a score: its value, its weight (None where the model has none) and what it adds."""

    name: str
    value: float
    weight: float | None
    contribution: float
    evidence: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class ModelResult:
    """A decomposable result: method and version, the score, its level/colour, components and evidence.

    `details` carries derived outputs beyond the score (e.g. S beside R, C and T beside D, a percentile);
    `parameters` the configuration and named choices the result was computed with.
    """

    method: str
    version: str
    score: float | None
    level: str | None
    colour: str | None  # a RiskColour notation where the model yields one
    components: tuple[Component, ...]
    evidence: tuple[str, ...]
    parameters: dict
    flags: tuple[str, ...] = ()
    details: dict = field(default_factory=dict)
    #: how many ids the evidence holds in full when `evidence` lists only the first of them
    evidence_total: int | None = None

    def component(self, name: str) -> Component | None:
        return next((c for c in self.components if c.name == name), None)

    def to_json(self) -> dict:
        """JSON-serialisable form, for writing to the graph and the API."""
        return jsonable(self)


#: a dataclass's field names, by class: `fields()` builds its tuple again on every call
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(value: Any) -> tuple[str, ...] | None:
    """The field names of a dataclass instance (None for anything else), looked up once per class."""
    names = _FIELD_NAMES.get(type(value))
    if names is None and is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES[type(value)] = tuple(f.name for f in fields(value))
    return names


def jsonable(value: Any) -> Any:
    """Plain JSON types: Decimal → float, dates → ISO text, tuples → lists, non-finite floats → None."""
    kind = type(value)  # the common exact types first: a run converts millions of values
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is list or kind is tuple:
        return [jsonable(v) for v in value]
    if kind is dict:
        return {str(k): jsonable(v) for k, v in value.items()}
    if (names := _field_names(value)) is not None:
        return {name: jsonable(getattr(value, name)) for name in names}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, (float, Decimal)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def json_default(value: Any) -> Any:
    """`json.dumps`'s default: what `jsonable` makes of a value the JSON encoder does not know, one
    level deep (the encoder recurses). Non-finite numbers are the caller's to refuse (allow_nan=False)."""
    if (names := _field_names(value)) is not None:
        return {name: getattr(value, name) for name in names}
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, Decimal):
        return float(value)
    if type(value) is dt.date:  # a time goes through jsonable: its text differs from str()'s
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def unique(ids: Iterable[str]) -> tuple[str, ...]:
    """Evidence ids in first-seen order, without blanks or repeats."""
    return tuple(dict.fromkeys(i for i in ids if i))
