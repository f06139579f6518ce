"""networkx graphs written to GraphML and GEXF, which hold only text, numbers and booleans.

The store's values include lists (tags, hazard factors), maps, dates and decimals; GraphML and GEXF
writers refuse them. `for_files` makes a copy they accept: node ids `Label/key`, lists and maps as
JSON text, dates as ISO 8601 text, decimals as floats, missing values left out, and one type per
attribute name (an attribute that is a number on one node and text on another becomes text
everywhere, so a reader sees one declared type). Edges get unique ids; their relationship type is the
`relationship` attribute and the label (GEXF reserves an edge's `type`).
"""
from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

import networkx as nx


class NetworkFormat(StrEnum):
    graphml = "graphml"
    gexf = "gexf"


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        return json.dumps(sorted(value) if isinstance(value, (set, frozenset)) else value,
                          ensure_ascii=False, default=str, sort_keys=True)
    return str(value)


def _unify(items: Iterable[dict[str, Any]]) -> None:
    """One type per attribute name across `items` (in place): int+float → float, any other mix → str."""
    rows = list(items)
    kinds: dict[str, set[type]] = defaultdict(set)
    for attrs in rows:
        for name, value in attrs.items():
            kinds[name].add(type(value))
    for name, seen in kinds.items():
        if len(seen) < 2:
            continue
        target: type = float if seen <= {int, float} else str
        for attrs in rows:
            if name in attrs:
                value = attrs[name]
                attrs[name] = float(value) if target is float else (json.dumps(value) if isinstance(value, bool) else str(value))


def _node_id(node: Any) -> str:
    if isinstance(node, tuple) and len(node) == 2:
        return f"{node[0]}/{node[1]}"
    return str(node)


def for_files(g: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy of `g` that GraphML and GEXF writers accept (see the module's docstring)."""
    out = nx.MultiDiGraph()
    for node, attrs in g.nodes(data=True):
        out.add_node(_node_id(node), **{k: _plain(v) for k, v in attrs.items() if v is not None})
    for i, (src, dst, key, attrs) in enumerate(g.edges(keys=True, data=True)):
        data = {k: _plain(v) for k, v in attrs.items() if v is not None}
        # GEXF reserves an edge's "type" (directed or not): the relationship type is "relationship", also its label
        data["relationship"] = str(data.pop("type", key))
        data["label"] = data["relationship"]
        out.add_edge(_node_id(src), _node_id(dst), key=f"e{i}", **data)
    _unify(attrs for _, attrs in out.nodes(data=True))
    _unify(attrs for _, _, attrs in out.edges(data=True))
    return out


def write_network(g: nx.MultiDiGraph, target: str | Path | IO[bytes], fmt: NetworkFormat) -> None:
    """Write `g` (any values) as GraphML or GEXF."""
    ready = for_files(g)
    if fmt is NetworkFormat.graphml:
        nx.write_graphml(ready, target, named_key_ids=True)
    else:
        nx.write_gexf(ready, target)
