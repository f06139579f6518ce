"""Amounts of money (元/万元), quantities (t/kg) and plain numbers, with their units folded in."""
from __future__ import annotations

import re
import unicodedata

from riskgraph.loaders.normalise.errors import RowError
from riskgraph.ontology.errors import N_, RiskGraphError

_NUMBER = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s*(.*)$")
_MONEY_UNITS = {"": None, "元": 1.0, "万元": 10_000.0, "万": 10_000.0, "亿元": 100_000_000.0, "亿": 100_000_000.0}
_MASS_UNITS = {"": None, "t": 1.0, "吨": 1.0, "kg": 0.001, "公斤": 0.001, "千克": 0.001, "g": 1e-6, "克": 1e-6}


def _split(text: str | None, field: str) -> tuple[float, str] | None:
    if text is None:
        return None
    raw = unicodedata.normalize("NFKC", str(text)).strip().replace(",", "")
    if not raw:
        return None
    match = _NUMBER.match(raw)
    if not match:
        raise RowError("unparseable_number", N_("{field_}: cannot read {raw_!r} as a number"), field,
                                             field_=field, raw_=raw)
    return float(match[1]), match[2].strip()


class UnitError(RiskGraphError, ValueError):
    """A mapping's default unit that is no unit of its kind: a configuration error, not a row's."""


def _factor(units: dict[str, float | None], unit: str, default_unit: str, kind: str) -> float:
    """The multiplier for `unit`, or for `default_unit` when the value carries none.

    A mapping whose default unit is not a known unit is a configuration error, said as such."""
    factor = units[unit] or units.get(default_unit)
    if factor is None:
        raise UnitError(N_("default unit {unit!r} is not a known {kind} unit ({units})"), unit=default_unit, kind=kind,
                        units=", ".join(u for u in units if u))
    return factor


def parse_money(text: str | None, field: str, *, default_unit: str = "元") -> float | None:
    """An amount in 元. Bare numbers are in `default_unit`."""
    parts = _split(text, field)
    if parts is None:
        return None
    number, unit = parts
    if unit not in _MONEY_UNITS:
        raise RowError("unparseable_number", N_("{field_}: unknown money unit {unit!r} in {text!r}"), field,
                                             field_=field, unit=unit, text=text)
    factor = _factor(_MONEY_UNITS, unit, default_unit, "money")
    if number < 0:
        raise RowError("out_of_range", N_("{field_}: negative amount {text!r}"), field, field_=field, text=text)
    return round(number * factor, 2)


def parse_mass_t(text: str | None, field: str, *, default_unit: str = "t") -> float | None:
    """A mass in tonnes. Bare numbers are in `default_unit`."""
    parts = _split(text, field)
    if parts is None:
        return None
    number, unit = parts
    unit_key = unit.lower() if unit.isascii() else unit
    if unit_key not in _MASS_UNITS:
        raise RowError("unparseable_number", N_("{field_}: unknown mass unit {unit!r} in {text!r}"), field,
                                             field_=field, unit=unit, text=text)
    if number < 0:
        raise RowError("out_of_range", N_("{field_}: negative quantity {text!r}"), field, field_=field, text=text)
    return number * _factor(_MASS_UNITS, unit_key, default_unit, "mass")


def parse_number(text: str | None, field: str, *, minimum: float | None = None, maximum: float | None = None,
                 integer: bool = False) -> float | int | None:
    """A plain number within [minimum, maximum]."""
    parts = _split(text, field)
    if parts is None:
        return None
    number, unit = parts
    if unit:
        raise RowError("unparseable_number", N_("{field_}: unexpected text {unit!r} in {text!r}"), field,
                                             field_=field, unit=unit, text=text)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise RowError("out_of_range", N_("{field_}: {number:g} is outside [{minimum}, {maximum}]"), field,
                                       field_=field, number=number, minimum=minimum, maximum=maximum)
    if integer:
        if not number.is_integer():
            raise RowError("unparseable_number", N_("{field_}: {text!r} is not a whole number"), field,
                                                 field_=field, text=text)
        return int(number)
    return number
