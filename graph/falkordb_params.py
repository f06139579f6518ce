"""The `CYPHER name=value …` header FalkorDB takes its parameters in, written fast.

The client library builds it with a recursive function that checks every value's type several
times; a bulk load sends millions of values, and that function was the loader's largest single
Python cost. This writes exactly the same text (tests/test_falkordb_params.py compares them),
dispatching on the exact type of the common values first.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _text(value: str) -> str:
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if '"' in value:
        value = value.replace('"', '\\"')
    return f'"{value}"'


#: `name`: prefixes of the map keys seen so far (property names: a small set)
_PREFIXES: dict[Any, str] = {}


def _prefix(key: Any) -> str:
    found = _PREFIXES.get(key)
    if found is None:
        found = f"`{_key(key)}`:"
        if len(_PREFIXES) < 10_000 and type(key) is str:
            _PREFIXES[key] = found
    return found


def _map(value: Any) -> str:
    prefixes = _PREFIXES
    parts = []
    for k, v in value.items():
        prefix = prefixes.get(k) if type(k) is str else None
        parts.append((prefix or _prefix(k)) + literal(v))
    return "{" + ",".join(parts) + "}"


def _key(key: Any) -> str:
    name = key.decode() if isinstance(key, bytes) else str(key)
    if name == "":
        raise ValueError("Cypher map key cannot be empty")
    if "`" in name:
        raise ValueError(f"Cypher map key cannot contain a backtick: {name!r} (FalkorDB does not support "
                         "escaped backticks in identifiers)")
    return name


def literal(value: Any) -> str:
    """One parameter value as the Cypher literal the header carries."""
    kind = type(value)
    if kind is str:
        return _text(value)
    if value is None:
        return "null"
    if kind is dict:
        return _map(value)
    if kind is list or kind is tuple:
        return "[" + ",".join([literal(v) for v in value]) + "]"
    if kind is int or kind is float or kind is bool:
        return str(value)
    # subclasses and the rarer types, as the client library treats them
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join([literal(v) for v in value]) + "]"
    if isinstance(value, dict):
        return _map(value)
    return str(value)


def params_header(params: Mapping[str, Any] | None) -> str:
    """`CYPHER `a`=1 `b`="x" ` for the statement's parameters; empty without any."""
    if not params:
        return ""
    return "CYPHER " + "".join(f"`{_key(name)}`={literal(value)} " for name, value in params.items())
