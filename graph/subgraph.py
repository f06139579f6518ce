"""A subgraph in plain Python: what neighbourhood reads return and exports consume."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from riskgraph.graph.dialect import ident
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
    At most `limit` relationships are returned, the nearest first; `truncated` says when more existed.

    Walked one hop at a time, each hop from the nodes the last one reached that a path may pass
    through: one variable-length pattern let the store enumerate every path through the hubs before
    the filter dropped them — the store's work grew with the province (22 CPU-ms a depth-2
    neighbourhood at 100,000 enterprises, twice that of 50,000).
    """
    onto = store.ontology
    cls = onto.check_label(label)
    if not isinstance(depth, int) or not 1 <= depth <= MAX_DEPTH:
        raise DepthError(N_("depth must be an integer from 1 to {most}"), most=MAX_DEPTH)
    wanted = sorted({onto.check_label(x).name for x in labels}) if labels else None
    centre = store.read(f"MATCH (c:{ident(label)} {{{ident(cls.key)}: $key}}) RETURN id(c) AS i, properties(c) AS p",
                        {"key": key})
    sub = Subgraph()
    if not centre:
        return sub
    sub.add_node(label, key, centre[0]["p"])
    stops = sorted({onto.check_label(x).name for x in stop_at})
    key_of = key_expression(onto, "x")
    # one hop from the frontier: the relationships not read yet to nodes of the wanted labels, and
    # whether each end may be passed through
    hop = (
        # WITH a: with the filter on b in the same MATCH, FalkorDB would start from b, every node of the store
        "UNWIND $frontier AS f MATCH (a) WHERE id(a) = f WITH a MATCH (a)-[r]-(b) WHERE NOT id(r) IN $known"
        + (" AND any(l IN labels(b) WHERE l IN $labels)" if wanted else "")
        + " WITH DISTINCT r LIMIT $limit WITH r, startNode(r) AS x, endNode(r) AS y "
        f"RETURN id(r) AS r, id(x) AS s, {key_of} AS sk, any(l IN labels(x) WHERE l IN $stops) AS ss, type(r) AS t, "
        f"properties(r) AS rp, id(y) AS e, {key_expression(onto, 'y')} AS ek, any(l IN labels(y) WHERE l IN $stops) AS es"
    )
    rows: dict[int, dict[str, Any]] = {}
    reached, frontier = {centre[0]["i"]}, [centre[0]["i"]]
    for _ in range(depth):
        if not frontier or len(rows) > limit:
            break
        found = store.read(hop, {"frontier": frontier, "known": list(rows), "labels": wanted or [], "stops": stops,
                                 "limit": limit + 1 - len(rows)})
        frontier = []
        for row in found:
            rows[row["r"]] = row
            for node, stop in ((row["s"], row["ss"]), (row["e"], row["es"])):
                if node not in reached:
                    reached.add(node)
                    if not stop:
                        frontier.append(node)
    sub.truncated = len(rows) > limit
    kept = list(rows.values())[:limit]
    # each node once, not once per relationship it has (a depth-2 neighbourhood's nodes have two on
    # average), found again by id and key: an id freed by a delete between the two reads may name another node
    ends = {(row["s"], row["sk"]) for row in kept} | {(row["e"], row["ek"]) for row in kept}
    nodes = {row["i"]: (_ref(store, row["l"], row["p"]), row["p"]) for row in store.read(
        f"UNWIND $ends AS tip MATCH (x) WHERE id(x) = tip.id AND {key_of} = tip.key "
        "RETURN id(x) AS i, labels(x) AS l, properties(x) AS p",
        {"ends": [{"id": i, "key": k} for i, k in sorted(ends, key=lambda e: e[0])]})} if ends else {}
    for row in kept:
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
