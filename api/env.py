"""Numbers read from environment variables, refused with a `SettingError` the operator reads in the
installation's language (`riskgraph serve` prints it). One reader for every such setting: the QR
codes', the photos', the deliveries', the report limits', the sign-in tokens'."""
from __future__ import annotations

import os

from riskgraph.ontology.errors import N_, SettingError


def env_int(name: str, default: int, low: int = 1) -> int:
    """The whole number in $name (unset or empty: `default`), at least `low`."""
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise SettingError(N_("{name} must be a whole number, not {text!r}"), name=name, text=text) from None
    if value < low:
        raise SettingError(N_("{name} must be at least {low}"), name=name, low=low)
    return value


def env_float(name: str, default: float, low: float | None = None) -> float:
    """The number in $name (unset or empty: `default`): at least `low`, or without one, positive."""
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise SettingError(N_("{name} must be a number, not {text!r}"), name=name, text=text) from None
    if low is None and not value > 0:
        raise SettingError(N_("{name} must be positive"), name=name)
    if low is not None and value < low:
        raise SettingError(N_("{name} must be at least {low}"), name=name, low=low)
    return value
