"""Versioned model configuration: one TOML file per model under reasoning/config/.

Weights, caps, band edges and the named choices between disagreeing sources live there, each
commented with its source; the standards' tables live in the ontology vocabularies. A loaded
config is read-only; `with_overrides` makes a varied copy (what-if analysis, tests).
"""
from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"


@dataclass(frozen=True)
class ModelConfig:
    name: str
    version: str
    data: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def with_overrides(self, changes: Mapping[str, Any], version: str | None = None) -> ModelConfig:
        """A copy with `changes` deep-merged in; the version says it was varied unless one is given."""
        merged = _merge(_thaw(self.data), changes)
        return ModelConfig(self.name, version or f"{self.version}+override", _freeze(merged))

    def choice(self, key: str, options: Mapping[str, Any], section: Mapping[str, Any] | None = None) -> Any:
        """The option a named parameter selects; refuse a name the file does not define."""
        name = (section if section is not None else self.data)[key]
        if name not in options:
            raise ValueError(f"{self.name}: {key} = {name!r} is not one of {sorted(options)}")
        return options[name]


def load_config(name: str) -> ModelConfig:
    """reasoning/config/<name>.toml, parsed once per process."""
    return _load(name)


@cache
def _load(name: str) -> ModelConfig:
    path = CONFIG_DIR / f"{name}.toml"
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    if "version" not in data:
        raise ValueError(f"{path} has no version")
    return ModelConfig(name, str(data["version"]), _freeze(data))


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


def _merge(base: dict, changes: Mapping[str, Any]) -> dict:
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            base[key] = _merge(base[key], value)
        else:
            base[key] = _thaw(value)
    return base
