"""Values many nodes repeat, kept once in the embedded store.

FalkorDB copies a text property into every node that holds it: each of a source file's
records carried its own copy of the file's name, its source system, its load's id and time.
`intern()` keeps one copy per distinct value instead (measured: a 100-character value cost
125 bytes a node, interned 18, the attribute's own slot). The ontology says which properties
repeat (`Ontology.shared_values`: rg:sharedValue and every vocabulary-valued one); a writer of
node maps moves those values out of `row.p` into `row.s` and sets them through the dialect's
expression. Values read back are plain text: readers see no difference. Neo4j stores strings
its own way (its dialect does not `intern`), so there the rows go through unchanged.

Interning works when the value comes from the statement (`intern(row.s.x)`). Setting a node's
value again to the same text, interned or not, changes nothing (the store sees an equal value and
keeps its copy: measured); so a store written before keeps its copies until `share_stored` sets
each value to another text and back, in one statement (`riskgraph share-values`).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from riskgraph.graph.dialect import Dialect, ident
from riskgraph.graph.values import encode_properties

if TYPE_CHECKING:
    from riskgraph.graph.store import GraphStore

#: a batch's rows grouped by the shared values they give: (SET assignments, rows)
Group = tuple[str, list[dict[str, Any]]]


def split_shared(dialect: Dialect, names: frozenset[str], props: dict[str, Any]) -> dict[str, Any]:
    """Move the shared properties out of `props` (encoded: a text property's value is text) into
    the map returned; nothing moves where the store keeps no values once."""
    return _move(names, props) if dialect.interns else {}


def _move(names: frozenset[str], props: dict[str, Any]) -> dict[str, Any]:
    return {n: props.pop(n) for n in props.keys() & names}


def assignments(dialect: Dialect, var: str, shared: Iterable[str], source: str, *, apart: bool = False) -> str:
    """", n.x = intern(row.s.x)" … for the shared names given, read from the map `source`;
    `apart`: each value with a space added, a text the stored one cannot equal (`share_stored`)."""
    tail = " + ' '" if apart else ""
    return "".join(f", {var}.{ident(n)} = {dialect.shared(f'{source}.{ident(n)}{tail}')}" for n in sorted(shared))


#: a row's plain and shared maps bound once, for `created_map`: `WITH row, {ROW_PARTS} CREATE …`. Why:
#: FalkorDB copies the whole map `row.p` for each `row.p.x` it reads (40,000 nodes of 16 properties
#: cost the store 17.8 µs a node read that way, 7.5–8.5 with the map bound once)
ROW_PARTS = "row.p AS rp, row.s AS rs"


def created_map(dialect: Dialect, group: list[dict[str, Any]]) -> str:
    """The map a node is CREATEd with, `{a: rp.a, …, s: intern(rs.s)}`, for one group of
    `shared_groups` (every property any of its rows gives; a row's missing one is null, and a null
    is not stored); `rp` and `rs` are the row's maps as `ROW_PARTS` binds them.

    Why not `CREATE (n) SET n = row.p`: FalkorDB applies every pending change of its matrices before
    it sets a property on a node the same statement created, and that costs in proportion to the
    whole graph, once per statement — at 500,000 nodes one such statement cost 6–10 ms however
    few its rows, a node created with its properties in the pattern 0.2 ms."""
    plain = sorted(set().union(*(row["p"].keys() for row in group)))
    shared = sorted(group[0].get("s", ())) if group else []
    entries = [f"{ident(n)}: rp.{ident(n)}" for n in plain]
    entries += [f"{ident(n)}: {dialect.shared(f'rs.{ident(n)}')}" for n in shared]
    return "{" + ", ".join(entries) + "}"


def stamp(store: GraphStore, label: str, var: str, props: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A stamp (a run's time, method, …) set on many `label` nodes by one statement, as `SET var += $at`
    followed by the assignments returned, with `$once` the shared values returned: its encoded
    properties without the shared ones, those, and the assignments that keep them once."""
    encoded = encode_properties(store.ontology, label, dict(props))
    once = split_shared(store.dialect, store.ontology.shared_values(label), encoded)
    return encoded, once, assignments(store.dialect, var, once, "$once")


def shared_groups(dialect: Dialect, names: frozenset[str], var: str, rows: list[dict[str, Any]]) -> Iterator[Group]:
    """The rows (each `{..., "p": properties}`, its own dict: it is changed) grouped by which of
    `names` they give; in each, those values moved from `p` to `s`, and the assignments that
    store them once. A row without one of them leaves the node's value as it is, as
    `SET n += row.p` does — hence one group per set of names given, not a null assignment."""
    if not rows:
        return
    if not names or not dialect.interns:
        yield "", rows
        return
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in rows:
        shared = _move(names, row["p"])
        if shared:
            row["s"] = shared
        groups.setdefault(frozenset(shared), []).append(row)
    for given, members in groups.items():
        yield assignments(dialect, var, given, "row.s"), members


def share_stored(store: GraphStore, *, batch: int = 5_000,
                 on_batch: Callable[[str, int, int], None] | None = None) -> dict[str, int]:
    """Keep once the repeated values a store written before this module holds per node
    (`riskgraph share-values`); how many nodes were rewritten, per label.

    Each value is set to a text it cannot equal (the value and a space, interned) and back to
    itself, interned, in one statement: nothing is ever missing or wrong in the store, a run
    stopped anywhere leaves every node whole, and running it again costs a pass, no harm.
    Written as a bulk load; the log is rewritten at the end. Nothing to do on Neo4j."""
    if not store.dialect.interns:
        return {}
    done: dict[str, int] = {}
    with store.bulk_load() as bulk:
        bulk.compact = False  # below, once
        for label in sorted(store.ontology.classes):
            names = store.ontology.shared_values(label) if not store.ontology.classes[label].abstract else frozenset()
            if names:
                done[label] = _share_label(store, label, names, batch, on_batch)
    if any(done.values()):
        store.compact()
    return done


def _share_label(store: GraphStore, label: str, names: frozenset[str], batch: int,
                 on_batch: Callable[[str, int, int], None] | None) -> int:
    from riskgraph.graph.store import MAX_TIMEOUT_MS

    node = ident(label)
    given = " OR ".join(f"n.{ident(n)} IS NOT NULL" for n in sorted(names))
    ids = [r["i"] for r in store.read(f"MATCH (n:{node}) WHERE {given} RETURN id(n) AS i", timeout_ms=MAX_TIMEOUT_MS)]
    wanted = ", ".join(f"n.{ident(n)} AS {ident(n)}" for n in sorted(names))
    for start in range(0, len(ids), batch):
        found = store.read(f"UNWIND $ids AS i MATCH (n:{node}) WHERE id(n) = i RETURN i, {wanted}",
                           {"ids": ids[start:start + batch]})
        rows = [{"i": r.pop("i"), "p": {k: v for k, v in r.items() if type(v) is str}} for r in found]
        for assigned, group in shared_groups(store.dialect, names, "n", rows):
            if assigned:  # ", n.x = …": after SET, without the comma
                apart = assignments(store.dialect, "n", group[0]["s"], "row.s", apart=True)
                store.execute(f"UNWIND $rows AS row MATCH (n:{node}) WHERE id(n) = row.i "
                              f"SET {apart[2:]} WITH n, row SET {assigned[2:]}", {"rows": group})
        if on_batch is not None:
            on_batch(label, min(start + batch, len(ids)), len(ids))
    return len(ids)
