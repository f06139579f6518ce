"""A subgraph in plain Python: what neighbourhood reads return and exports consume."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from riskgraph.graph.dialect import ident
from riskgraph.ontology.errors import N_, RiskGraphError

if TYPE_CHECKING:
    from riskgraph.graph.store import GraphStore

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
                        labels: Iterable[str] | None = None, limit: int = 500) -> Subgraph:
    """Read the nodes and relationships within `depth` hops of (label, key).

    `labels` keeps only paths whose every node carries one of those labels (the centre aside).
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
    label_filter = (
        " WHERE all(x IN nodes(p) WHERE x = c OR any(l IN labels(x) WHERE l IN $labels))" if wanted else ""
    )
    cypher = (
        f"MATCH (c:{ident(label)} {{{ident(cls.key)}: $key}}) "
        f"MATCH p = (c)-[*1..{depth}]-(m){label_filter} "
        "UNWIND relationships(p) AS r WITH DISTINCT r LIMIT $limit "
        "RETURN labels(startNode(r)) AS sl, properties(startNode(r)) AS sp, type(r) AS t, properties(r) AS rp, "
        "labels(endNode(r)) AS el, properties(endNode(r)) AS ep"
    )
    rows = store.read(cypher, {"key": key, "labels": wanted or [], "limit": limit + 1})
    sub.truncated = len(rows) > limit
    for row in rows[:limit]:
        src = _ref(store, row["sl"], row["sp"])
        dst = _ref(store, row["el"], row["ep"])
        sub.add_node(*src, row["sp"])
        sub.add_node(*dst, row["ep"])
        sub.edges.append((src, row["t"], dst, row["rp"] or {}))
    return sub


def _ref(store: GraphStore, labels: list[str], props: dict[str, Any]) -> NodeRef:
    label = next(lbl for lbl in labels if lbl in store.ontology.classes)
    return label, str(props[store.ontology.key_of(label)])
