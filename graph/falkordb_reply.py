"""FalkorDB's compact replies read straight into plain Python values.

The client library parses every value of a reply through a generic dispatcher into OrderedDicts
and its own objects, which were then copied into plain dicts again: 15–17 ms for the ids, labels
and properties of 2,000 nodes, 30–37 ms for 2,000 enterprises' properties — against 4 and 9–11 ms
read here in one pass. What a request saves is smaller (a computed portrait at 10,000 enterprises
≈ 0.4 of its ≈ 5 API CPU-ms, `benchmarks/api_latency.py --sequential`; nothing measurable in
`assess`): the server's time, the socket and the redis client's own reply parsing stay. Nodes,
relationships, paths and the rarer types are still read by the library (it knows the graph's label
and property names), then made plain as before.
"""
from __future__ import annotations

from typing import Any

import falkordb
from falkordb.query_result import parse_scalar
from redis.exceptions import ResponseError

# the compact format's value types (falkordb.query_result.ResultSetScalarTypes)
_NULL, _STRING, _INTEGER, _BOOLEAN, _DOUBLE, _ARRAY = 1, 2, 3, 4, 5, 6
_MAP = 10

#: the statistics that say a write changed the graph (their lines read "Nodes created: 2")
_CHANGES = ("Nodes created", "Nodes deleted", "Relationships created", "Relationships deleted",
            "Properties set", "Properties removed", "Labels added", "Labels removed")
#: what a result holds most of, returned as it is before any other test (every value of every row)
_SCALARS = frozenset({str, int, float, bool, type(None)})


def read_reply(reply: list[Any], graph: falkordb.Graph) -> tuple[list[str], list[list[Any]], bool]:
    """(column names, rows of plain values, whether the statement changed the graph) of a reply to
    GRAPH.QUERY / GRAPH.RO_QUERY with `--compact`. An error the server put in the reply is raised
    as the library raises it (a `ResponseError`)."""
    if isinstance(reply[0], ResponseError):
        raise reply[0]
    if isinstance(reply[-1], ResponseError):  # a run-time error, after the rows produced before it
        raise reply[-1]
    stats = reply[-1]
    changed = any(line.startswith(_CHANGES) and not _zero(line) for line in stats)
    if len(reply) == 1:
        return [], [], changed
    columns = [col[1] if isinstance(col, (list, tuple)) else str(col) for col in reply[0]]
    if not columns:
        return [], [], changed
    return columns, [[_value(cell, graph) for cell in row] for row in reply[1]], changed


def _zero(line: str) -> bool:
    return float(line.partition(":")[2].split()[0]) == 0


def _value(cell: list[Any], graph: falkordb.Graph) -> Any:
    kind, value = cell
    if kind == _STRING or kind == _INTEGER:
        return value.decode() if type(value) is bytes else value
    if kind == _MAP:
        pairs = iter(value)
        return {key.decode() if type(key) is bytes else key: _value(item, graph) for key, item in zip(pairs, pairs, strict=False)}
    if kind == _NULL:
        return None
    if kind == _DOUBLE:
        return float(value)
    if kind == _ARRAY:
        return [_value(item, graph) for item in value]
    if kind == _BOOLEAN:
        return (value.decode() if type(value) is bytes else value) == "true"
    return plain(parse_scalar(cell, graph))


def plain(value: Any) -> Any:
    """Backend objects to plain Python: nodes and edges become property dicts with their label/type."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, falkordb.Node):
        return {"_labels": list(value.labels or []), **(value.properties or {})}
    if isinstance(value, falkordb.Edge):
        return {"_type": value.relation, **(value.properties or {})}
    if isinstance(value, falkordb.Path):
        return {"nodes": [plain(n) for n in value.nodes()], "edges": [plain(e) for e in value.edges()]}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value
