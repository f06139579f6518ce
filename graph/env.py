"""Numbers read from environment variables, refused with a `SettingError` the operator reads in the
installation's language (`riskgraph serve` prints it). One reader for every such setting: the QR
codes', the photos', the deliveries', the report limits', the sign-in tokens', the read cache's, the
loader's batch size, the assessment's workers. In `graph/` because the loaders, reasoning, workflows
and the API all read settings (as `collector.py`)."""
from __future__ import annotations

import os
from collections.abc import Callable

from riskgraph.ontology.errors import N_, SettingError


def _parsed[N: (int, float)](name: str, parse: Callable[[str], N], not_one: str) -> N | None:
    """The value in $name (None when unset or empty); `not_one` is the template for text that is not one."""
    text = os.environ.get(name)
    if not text:
        return None
    try:
        return parse(text)
    except ValueError:
        raise SettingError(not_one, name=name, text=text) from None


def env_int(name: str, default: int, low: int = 1) -> int:
    """The whole number in $name (unset or empty: `default`), at least `low`."""
    value = _parsed(name, int, N_("{name} must be a whole number, not {text!r}"))
    if value is None:
        return default
    if value < low:
        raise SettingError(N_("{name} must be at least {low}"), name=name, low=low)
    return value


def env_float(name: str, default: float, low: float | None = None) -> float:
    """The number in $name (unset or empty: `default`): at least `low`, or without one, positive."""
    value = _parsed(name, float, N_("{name} must be a number, not {text!r}"))
    if value is None:
        return default
    if low is None and not value > 0:
        raise SettingError(N_("{name} must be positive"), name=name)
    if low is not None and value < low:
        raise SettingError(N_("{name} must be at least {low}"), name=name, low=low)
    return value
