"""Filter every node the service returns by the caller's level, using the ontology's rg:disclosure.

One `Disclosure` object lives for one request. Each node passes through :meth:`node` with the
level the scope rules gave it; what comes out holds only properties that level may read, without
the store's machine companions (…Ms, …Tokens) or backend fields (_score, _labels). The object
remembers every node that kept a non-public field, so the request can be audited.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from riskgraph.api.access import Caller
from riskgraph.graph.packed_content import unpacked_properties
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import decode_properties
from riskgraph.ontology.anchors import ASSESSMENT
from riskgraph.ontology.model import Disclosure, Ontology
from riskgraph.reasoning import run_stamps

#: (class, property names, level) answers `shown_names` keeps: nodes of a class carry few sets of names
SHOWN_CACHE = 4_096


def level_name(level: Disclosure) -> str:
    return level.name.lower()


class Disclosed:
    """The per-request filter and its record of restricted reads."""

    def __init__(self, ontology: Ontology, caller: Caller, store: GraphStore | None = None) -> None:
        self.onto = ontology
        self.caller = caller
        #: where packed text's dictionaries are read (graph/packed_content.py); None: nodes come plain
        self.store = store
        self.restricted: dict[str, str] = {}  # "Label/key" -> the level it was read at
        self.subject: str | None = None
        #: the assessment runs' stamps, read once per request where an Assessment is shown
        self._runs: run_stamps.Runs | None = None

    def properties(self, label: str, props: Mapping[str, Any], level: Disclosure) -> dict[str, Any]:
        """The node's properties this level may read."""
        level = min(level, self.caller.ceiling)
        if self.store is not None:
            props = unpacked_properties(self.store, props)
            if label == ASSESSMENT:
                props = self.current_stamp(props)
        names, restricted = shown_names(self.onto, label, tuple(props), level)
        out = {k: props[k] for k in names}
        if restricted:
            key = out.get(self.onto.key_of(label), props.get(self.onto.key_of(label)))
            self.restricted[f"{label}/{key}"] = level_name(level)
        return out

    def current_stamp(self, props: Mapping[str, Any]) -> Mapping[str, Any]:
        """An Assessment with its current stamp: its own, or that of the later complete run of its
        method that found it unchanged and wrote nothing on it (reasoning/run_stamps.py)."""
        if self._runs is None:
            self._runs = run_stamps.latest(self.store) if self.store is not None else {}
        current = run_stamps.current(props, self._runs)
        return props if current[run_stamps.AT_MS] == props.get(run_stamps.AT_MS) else {**props, **current}

    def allows(self, label: str, prop: str, level: Disclosure) -> bool:
        """May this level read that property (or a value derived from it)?"""
        return self.onto.disclosure_of(label, prop) <= min(level, self.caller.ceiling)

    def derived(self, label: str, key: str, based_on: tuple[str, ...], level: Disclosure) -> bool:
        """May a value computed from these properties be shown? Records it as restricted if so."""
        if not all(self.allows(label, p, level) for p in based_on):
            return False
        if any(self.onto.disclosure_of(label, p) > Disclosure.PUBLIC for p in based_on):
            self.restricted.setdefault(f"{label}/{key}", level_name(min(level, self.caller.ceiling)))
        return True

    def mark(self, subject: str, level: Disclosure) -> None:
        """Record a restricted read that is not a node (an aggregate over restricted fields)."""
        self.restricted.setdefault(subject, level_name(level))


@lru_cache(maxsize=SHOWN_CACHE)
def shown_names(onto: Ontology, label: str, names: tuple[str, ...], level: Disclosure) -> tuple[tuple[str, ...], bool]:
    """Of a node's stored property names (in their order), those `level` is shown — not backend fields
    (_score, _labels), not what the ontology keeps from it, not a companion (…Ms, …Tokens) beside its
    property — and whether any of them is above public.

    Nodes of a class carry a few sets of names, so the answer is kept per (class, names, level):
    asked afresh, the ontology's rules were a rule look-up for every property of every node (≈ 540
    for a depth-2 subgraph of 40 nodes), the largest item of its Python under cProfile — though at
    most a few tenths of a CPU-millisecond a request without the profiler."""
    kept = {k: None for k in names if not k.startswith("_")}
    out = tuple(decode_properties(onto.visible(label, kept, level)))
    return out, any(onto.disclosure_of(label, k) > Disclosure.PUBLIC for k in out)


def parse_json_fields(props: dict[str, Any], names: frozenset[str] | set[str]) -> dict[str, Any]:
    """JSON text properties (an assessment's components) as JSON values, when they parse; `props`
    itself when it has none (most nodes)."""
    found = names & props.keys()
    if not found:
        return props
    out = dict(props)
    for name in found:
        value = out[name]
        if isinstance(value, str):
            try:
                out[name] = json.loads(value)
            except ValueError:
                pass
    return out
