"""A subgraph in plain Python: what neighbourhood reads return and exports consume."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from riskgraph.graph.dialect import ident, where
from riskgraph.ontology.errors import N_, RiskGraphError

if TYPE_CHECKING:
    from riskgraph.graph.store import GraphStore
    from riskgraph.ontology.model import Ontology

NodeRef = tuple[str, str]  # (label, key value)

MAX_DEPTH = 4


class DepthError(RiskGraphError, ValueError):
    """A neighbourhood asked for deeper than the store walks (--depth, ?depth=)."""


@dataclass
class Subgraph:
    nodes: dict[NodeRef, dict[str, Any]] = field(default_factory=dict)
    edges: list[tuple[NodeRef, str, NodeRef, dict[str, Any]]] = field(default_factory=list)
    truncated: bool = False

    def add_node(self, label: str, key: str, props: dict[str, Any]) -> NodeRef:
        ref = (label, key)
        self.nodes.setdefault(ref, props)
        return ref


def fetch_neighbourhood(store: GraphStore, label: str, key: str, *, depth: int = 1,
                        labels: Iterable[str] | None = None, stop_at: Iterable[str] = (), limit: int = 500) -> Subgraph:
    """Read the nodes and relationships within `depth` hops of (label, key).

    `labels` keeps only paths whose every node carries one of those labels (the centre aside).
    `stop_at`: classes a path may end at but not pass through — hubs such as an industry or a
    region, through which an enterprise's depth-2 neighbourhood at 50,000 enterprises was 428
    peer enterprises of its industry, filling the relationship cap before its own records.
    At most `limit` relationships are returned; `truncated` says when more existed.
    """
    onto = store.ontology
    cls = onto.check_label(label)
    if not isinstance(depth, int) or not 1 <= depth <= MAX_DEPTH:
        raise DepthError(N_("depth must be an integer from 1 to {most}"), most=MAX_DEPTH)
    wanted = sorted({onto.check_label(x).name for x in labels}) if labels else None
    centre = store.read(f"MATCH (c:{ident(label)} {{{ident(cls.key)}: $key}}) RETURN properties(c) AS p", {"key": key})
    sub = Subgraph()
    if not centre:
        return sub
    sub.add_node(label, key, centre[0]["p"])
    stops = sorted({onto.check_label(x).name for x in stop_at})
    conditions = (["all(x IN nodes(p) WHERE x = c OR any(l IN labels(x) WHERE l IN $labels))"] if wanted else []) + \
        (["none(x IN nodes(p)[1..-1] WHERE any(l IN labels(x) WHERE l IN $stops))"] if stops and depth > 1 else [])
    key_of = key_expression(onto, "x")
    cypher = (
        f"MATCH (c:{ident(label)} {{{ident(cls.key)}: $key}}) "
        f"MATCH p = (c)-[*1..{depth}]-(m){where(conditions)} "
        "UNWIND relationships(p) AS r WITH DISTINCT r LIMIT $limit "
        "WITH r, startNode(r) AS x, endNode(r) AS y "
        f"RETURN id(x) AS s, {key_of} AS sk, type(r) AS t, properties(r) AS rp, id(y) AS e, "
        f"{key_expression(onto, 'y')} AS ek"
    )
    rows = store.read(cypher, {"key": key, "labels": wanted or [], "stops": stops, "limit": limit + 1})
    sub.truncated = len(rows) > limit
    rows = rows[:limit]
    # each node once, not once per relationship it has (a depth-2 neighbourhood's nodes have two on
    # average), found again by id and key: an id freed by a delete between the two reads may name another node
    ends = {(row["s"], row["sk"]) for row in rows} | {(row["e"], row["ek"]) for row in rows}
    nodes = {row["i"]: (_ref(store, row["l"], row["p"]), row["p"]) for row in store.read(
        f"UNWIND $ends AS tip MATCH (x) WHERE id(x) = tip.id AND {key_of} = tip.key "
        "RETURN id(x) AS i, labels(x) AS l, properties(x) AS p",
        {"ends": [{"id": i, "key": k} for i, k in sorted(ends, key=lambda e: e[0])]})} if ends else {}
    for row in rows:
        if row["s"] not in nodes or row["e"] not in nodes:  # deleted (its id perhaps reused) between the two reads
            continue
        (src, src_props), (dst, dst_props) = nodes[row["s"]], nodes[row["e"]]
        sub.add_node(*src, src_props)
        sub.add_node(*dst, dst_props)
        sub.edges.append((src, row["t"], dst, row["rp"] or {}))
    return sub


def key_expression(onto: Ontology, var: str) -> str:
    """Cypher for the key of the node `var`, whatever its class (`coalesce` over every class's key name)."""
    return "coalesce(" + ", ".join(f"{var}.{ident(name)}" for name in onto.key_names) + ")"


def _ref(store: GraphStore, labels: list[str], props: dict[str, Any]) -> NodeRef:
    label = next(lbl for lbl in labels if lbl in store.ontology.classes)
    return label, str(props[store.ontology.key_of(label)])
