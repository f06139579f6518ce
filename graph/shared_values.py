"""Values many nodes repeat, kept once in the embedded store.

FalkorDB copies a text property into every node that holds it: each of a source file's
records carried its own copy of the file's name, its source system, its load's id and time.
`intern()` keeps one copy per distinct value instead (measured: a 100-character value cost
125 bytes a node, interned 18, the attribute's own slot). The ontology says which properties
repeat (`Ontology.shared_values`: rg:sharedValue and every vocabulary-valued one); a writer of
node maps moves those values out of `row.p` into `row.s` and sets them through the dialect's
expression. Values read back are plain text: readers see no difference. Neo4j stores strings
its own way, so there the rows go through unchanged.

Interning works when the value comes from the statement (`intern(row.s.x)`): re-interning a
value already stored (`SET n.x = intern(n.x)`) was measured to keep the old copy's memory.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from riskgraph.graph.dialect import Dialect, ident

#: a batch's rows grouped by the shared values they give: (SET assignments, rows)
Group = tuple[str, list[dict[str, Any]]]


def split_shared(dialect: Dialect, names: frozenset[str], props: dict[str, Any]) -> dict[str, Any]:
    """Move the shared properties out of `props` (encoded: a text property's value is text) into
    the map returned; nothing moves where the store keeps no values once."""
    given = props.keys() & names if names and dialect.shared("") is not None else ()
    return {n: props.pop(n) for n in given}


def assignments(dialect: Dialect, var: str, shared: Iterable[str], source: str) -> str:
    """", n.x = intern(row.s.x)" … for the shared names given, read from the map `source`."""
    return "".join(f", {var}.{ident(n)} = {dialect.shared(f'{source}.{ident(n)}')}" for n in sorted(shared))


def shared_groups(dialect: Dialect, names: frozenset[str], var: str, rows: list[dict[str, Any]]) -> Iterator[Group]:
    """The rows (each `{..., "p": properties}`, its own dict: it is changed) grouped by which of
    `names` they give; in each, those values moved from `p` to `s`, and the assignments that
    store them once. A row without one of them leaves the node's value as it is, as
    `SET n += row.p` does — hence one group per set of names given, not a null assignment."""
    if not names or dialect.shared("") is None:
        yield "", rows
        return
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in rows:
        shared = split_shared(dialect, names, row["p"])
        if shared:
            row["s"] = shared
        groups.setdefault(frozenset(shared), []).append(row)
    for given, members in groups.items():
        yield assignments(dialect, var, given, "row.s"), members
