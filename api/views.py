"""A node with its surroundings as a tree, for portraits: read level by level, filtered, rendered.

From the centre the view follows relationships outward `out_depth` hops (a hazard source, its
inventories, their chemicals) and inward `in_depth` hops (the assessments of it, the hidden
dangers at a risk point); a node reached inward is expanded one hop outward (a hidden danger's
rectification) and further inward while budget remains (the inspection that found it). Lists
are named after the ontology relation (`hasLicence`, `^atRiskPoint` when followed backwards),
capped, newest first, with the full count in `truncated` when capped. A node already shown is
given again only as `{label, key, ref: true}`; enterprises, regions and industries other than the
centre are shown with their properties but not expanded. One query per level (both directions),
whatever the number of nodes and their classes.

Levels: a node reached along an ownership relation (or an annotation such as an assessment)
shares the level of the node it hangs off; any other node is judged on its own (`api.scope`).
"""
from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from riskgraph.api.disclosure import Disclosed, parse_json_fields
from riskgraph.api.schema import DANGER_STATE, DEADLINE, HIDDEN_DANGER, Hop, Schema
from riskgraph.api.scope import Scope
from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.graph.subgraph import key_expression
from riskgraph.ontology.model import TIME_SUFFIX, Disclosure

DAY_MS = 86_400_000


@dataclass(eq=False)
class ViewNode:
    label: str
    key: str
    props: dict[str, Any]
    out_budget: int = 0
    in_budget: int = 0
    compact: bool = False
    parent: ViewNode | None = None
    inherits: bool = False  # shares the parent's level
    relations: dict[str, list[ViewNode | tuple[str, str]]] = field(default_factory=dict)
    truncated: dict[str, int] = field(default_factory=dict)
    level: Disclosure = Disclosure.PUBLIC
    #: the recency value the store ordered this node by among its siblings (-1: none)
    recent: float = -1.0
    #: the store's id of the node and its key as stored: the next level is read by both (an id freed
    #: by a delete meanwhile may name another node)
    node_id: int | None = None
    stored_key: Any = None

    @property
    def ref(self) -> tuple[str, str]:
        return self.label, self.key

    def walk(self) -> Iterator[ViewNode]:
        """This node and every node under it, depth first, parents before children (in list order).
        With a stack, not nested generators: each node of a deep view passed up every level above it."""
        stack: list[ViewNode] = [self]
        while stack:
            node = stack.pop()
            yield node
            children = [item for items in node.relations.values() for item in items if isinstance(item, ViewNode)]
            children.reverse()
            stack.extend(children)


@dataclass
class _Group:
    """The nodes of one class at one level, and the relationships they are expanded along one way."""
    label: str
    outgoing: bool
    nodes: list[ViewNode]
    hops: list[Hop]


def ontology_label(schema: Schema, labels: list[str]) -> str | None:
    return next((lbl for lbl in labels if lbl in schema.onto.classes and not schema.onto.classes[lbl].abstract), None)


class ViewBuilder:
    def __init__(self, store: GraphStore, schema: Schema, scope: Scope, disclosed: Disclosed) -> None:
        self.store = store
        self.schema = schema
        self.scope = scope
        self.disclosed = disclosed
        self.now_ms = int(time.time() * 1000)

    # ------------------------------------------------------------------ reading
    def build(self, label: str, key: str, *, out_depth: int, in_depth: int, cap: int,
              caps: dict[str, int] | None = None) -> ViewNode | None:
        onto = self.schema.onto
        cls = onto.check_label(label)
        rows = self.store.read(f"MATCH (n:{ident(label)} {{{ident(cls.key)}: $key}}) RETURN id(n) AS id, properties(n) AS p",
                               {"key": key})
        if not rows:
            return None
        root = ViewNode(label, key, rows[0]["p"], out_budget=out_depth, in_budget=in_depth, node_id=rows[0]["id"],
                        stored_key=rows[0]["p"].get(cls.key))
        caps = caps or {}
        limit = max([cap, *caps.values()])  # the store keeps this many per list; each class's cap is applied here
        seen: dict[tuple[str, str], ViewNode] = {root.ref: root}
        frontier = [root]
        while frontier:
            groups: dict[tuple[str, bool], list[ViewNode]] = defaultdict(list)
            for node in frontier:
                if node.compact:
                    continue
                if node.out_budget > 0:
                    groups[(node.label, True)].append(node)
                if node.in_budget > 0:
                    groups[(node.label, False)].append(node)
            expanding: list[_Group] = []
            # by class, outward first: of two ways to one node, the first class's is kept, whatever order the store
            # returned the level before in
            for (node_label, outgoing), nodes in sorted(groups.items(), key=lambda g: (g[0][0], not g[0][1])):
                hops = [h for h in self.schema.hops(node_label) if h.outgoing == outgoing]
                if not hops:
                    continue
                for node in nodes:
                    for h in hops:
                        node.relations.setdefault(h.name, [])
                expanding.append(_Group(node_label, outgoing, nodes, hops))
            rows_of = self._neighbours(expanding, limit)
            frontier = []
            for group in expanding:
                # by node and relationship, each list newest first (then by key) as the store ordered it: of two
                # nodes of a group reaching the same node, the first one's shows it, whatever order the rows came in
                position = {n.node_id: i for i, n in enumerate(group.nodes)}
                rows = sorted((row for row in rows_of[group.outgoing] if row["parent"] in position),
                              key=lambda row: (position[row["parent"]], row["rel"]))
                frontier.extend(self._attach(group, rows, cap, caps, seen))
        self._assign_levels(root)
        return root

    def _neighbours(self, groups: list[_Group], limit: int) -> dict[bool, list[dict[str, Any]]]:
        """The far ends of the groups' hops, outward (True) and inward (False), in one statement for
        every class and both directions (a UNION ALL of one part per direction): per node and
        relationship type the newest `limit` (by the first recency property of the group's far
        classes the node carries, then by key) and the full count.

        Which properties order each group is a parameter, not text: one statement whatever the
        classes, planned once by the store. Spelt out per group (a CASE per group, a coalesce per
        class), the texts — 25 among enterprise portraits, 1–5 KB each — filled the store's plan
        cache (25 statements), and even planned they cost the store half as much again: 2.5 against
        1.7 CPU-ms a portrait at 10,000 enterprises. One statement for both directions: a round trip
        less at each level that has both (a risk point's first two)."""
        s = self.schema
        key = key_expression(s.onto, "b")
        parts: list[str] = []
        params: dict[str, Any] = {"limit": limit}
        for outgoing, side in ((True, "out"), (False, "in")):
            mine = [g for g in groups if g.outgoing == outgoing]
            if not mine:
                continue
            arrow = "-[r]->" if outgoing else "<-[r]-"
            parts.append(
                f"UNWIND ${side}Parents AS p MATCH (a) WHERE id(a) = p.id AND a[p.name] = p.key "
                f"MATCH (a){arrow}(b) WHERE type(r) IN ${side}Types "
                "WITH id(a) AS parent, type(r) AS rel, b, "
                f"coalesce([name IN ${side}Recency[p.group] WHERE b[name] IS NOT NULL | b[name]][0], -1) AS recent "
                f"ORDER BY recent DESC, {key} DESC "
                "WITH parent, rel, collect([b, recent])[0..$limit] AS items, count(b) AS total "
                "UNWIND items AS item WITH parent, rel, total, item[0] AS b, item[1] AS recent "
                f"RETURN {str(outgoing).lower()} AS outgoing, parent, rel, total, id(b) AS id, labels(b) AS labels, "
                "properties(b) AS props, recent")
            params[f"{side}Types"] = sorted({h.rel.type for g in mine for h in g.hops})
            params[f"{side}Recency"] = [list(s.hop_recency(g.label, g.outgoing)) for g in mine]
            params[f"{side}Parents"] = [{"id": n.node_id, "name": s.onto.key_of(n.label), "key": n.stored_key, "group": i}
                                        for i, g in enumerate(mine) for n in g.nodes]
        out: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
        if parts:
            for row in self.store.read(" UNION ALL ".join(parts), params):
                out[bool(row["outgoing"])].append(row)
        return out

    def _attach(self, group: _Group, rows: list[dict[str, Any]], cap: int, caps: dict[str, int],
                seen: dict[tuple[str, str], ViewNode]) -> list[ViewNode]:
        """Hang the group's far ends under their nodes; the nodes new to the view."""
        s = self.schema
        outgoing = group.outgoing
        by_id = {n.node_id: n for n in group.nodes}
        by_type = {h.rel.type: h for h in group.hops}
        found: list[ViewNode] = []
        for row in rows:
            parent = by_id.get(row["parent"])
            hop = by_type.get(row["rel"])
            far = ontology_label(s, row["labels"])
            if parent is None or hop is None or far is None or not s.onto.is_a(far, hop.far):
                continue
            items = parent.relations.setdefault(hop.name, [])
            limit_here = caps.get(far, cap)
            if len(items) >= limit_here:
                parent.truncated[hop.name] = int(row["total"])
                continue
            if int(row["total"]) > limit_here:
                parent.truncated[hop.name] = int(row["total"])
            props = row["props"]
            ref = (far, str(props.get(s.onto.key_of(far))))
            if ref in seen:
                if parent.parent is None or parent.parent.ref != ref:  # not the edge we came along
                    items.append(ref)
                continue
            child = ViewNode(
                far, ref[1], props, parent=parent,
                out_budget=parent.out_budget - 1 if outgoing else 1,
                in_budget=0 if outgoing else parent.in_budget - 1,
                compact=far in s.independent,
                inherits=s.is_ownership(hop) or s.is_annotation(hop),
                recent=float(row["recent"]),
                node_id=row["id"],
                stored_key=props.get(s.onto.key_of(far)),
            )
            seen[ref] = child
            items.append(child)
            found.append(child)
        # the order the store chose the kept items by, so a capped list shows what it kept, in that order
        for node in group.nodes:
            for _name, items in node.relations.items():
                items.sort(key=lambda i: (i.recent, i.key) if isinstance(i, ViewNode) else (-1.0, i[1]), reverse=True)
        return found

    def sort_key(self, item: ViewNode | tuple[str, str]) -> tuple:
        if not isinstance(item, ViewNode):
            return (-1, item[1])
        for name in self.schema.recency(item.label):
            value = item.props.get(name)
            if isinstance(value, (int, float)):
                return (value, item.key)
        return (-1, item.key)

    def _assign_levels(self, root: ViewNode) -> None:
        nodes = list(root.walk())
        independent = {n.ref: n.props for n in nodes if n is root or not n.inherits}
        levels = self.scope.levels(independent)
        for node in nodes:  # walk() is pre-order: parents get their level first
            if node is root or not node.inherits:
                node.level = levels[node.ref]
            else:
                node.level = node.parent.level if node.parent is not None else Disclosure.PUBLIC

    # ------------------------------------------------------------------ rendering
    def render(self, node: ViewNode, *, relations: bool = True) -> dict[str, Any]:
        """The node for the response; the centre lists every relationship its class has (empty
        lists included), nested nodes only those they have."""
        props = self.disclosed.properties(node.label, node.props, node.level)
        out: dict[str, Any] = {
            "label": node.label,
            "key": node.key,
            "properties": parse_json_fields(props, self.schema.json_properties(node.label)),
        }
        derived = self.derived(node)
        if derived:
            out["derived"] = derived
        if relations and not node.compact and node.relations:
            out["relations"] = {
                name: [self.render(i) if isinstance(i, ViewNode) else {"label": i[0], "key": i[1], "ref": True}
                       for i in items]
                for name, items in sorted(node.relations.items())
                if items or node.parent is None
            }
            if not out["relations"]:
                del out["relations"]
            if node.truncated:
                out["truncated"] = dict(sorted(node.truncated.items()))
        return out

    def derived(self, node: ViewNode) -> dict[str, Any]:
        """Values computed at read time, shown only to levels that may read what they come from."""
        if self.schema.onto.is_a(node.label, HIDDEN_DANGER):
            status = danger_status(self.schema, node.props, self.now_ms)
            if status and self.disclosed.derived(node.label, node.key, (DEADLINE[1], DANGER_STATE[1]), node.level):
                return status
        return {}


def danger_status(schema: Schema, props: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """Open or rectified, and overdue (deadline passed while still open) with the days overdue."""
    state = props.get(DANGER_STATE[1])
    deadline = props.get(DEADLINE[1] + TIME_SUFFIX)
    if state is None and deadline is None:
        return {}
    is_open = state not in schema.closed_states()
    late_ms = now_ms - deadline if isinstance(deadline, (int, float)) and deadline < now_ms else None
    overdue = is_open and late_ms is not None
    out: dict[str, Any] = {"open": is_open, "overdue": overdue}
    if is_open and late_ms is not None:
        out["daysOverdue"] = int(late_ms // DAY_MS)
    found, moved = props.get("foundOn" + TIME_SUFFIX), props.get("stateChangedAt" + TIME_SUFFIX)
    if isinstance(moved, (int, float)):
        out["daysInState"] = max(0, int((now_ms - moved) // DAY_MS))
    if isinstance(found, (int, float)):
        # a rectified one: how long it stayed open, when the loop recorded its last step
        end: float | None = float(now_ms) if is_open else (float(moved) if isinstance(moved, (int, float)) else None)
        if end is not None:
            out["daysOpen"] = max(0, int((end - found) // DAY_MS))
    return out
