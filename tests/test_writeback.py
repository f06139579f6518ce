"""Writing model results: each with the link to its subject, and none left without one."""
from __future__ import annotations

from riskgraph.reasoning.models.result import ModelResult
from riskgraph.reasoning.run_context import Run
from riskgraph.reasoning.writeback import Written, same_value, set_properties, write_assessments

HERE, GONE = "91130100MA0CEFGH1X", "91130100MA0GONE002"


def test_each_result_is_written_with_its_subject_and_none_whose_subject_is_gone(store):
    """A subject deleted while a run read it: its result is not left behind without one (on every backend)."""
    store.upsert_nodes("Enterprise", [{"uscc": HERE, "name": "石家庄冀中化工有限公司"}])
    result = ModelResult("writeback-test", "1.0", 0.5, None, None, (), (), {})
    items = [Written("Enterprise", HERE, result), Written("Enterprise", GONE, result)]
    run = Run.start(store, None)
    for _ in range(2):  # written, then confirmed as it stands
        assert write_assessments(run, items) == 1
        assert store.read("MATCH (a:Assessment) OPTIONAL MATCH (a)-[:ASSESSES]->(e:Enterprise) "
                          "RETURN a.id AS a, a.score AS s, e.uscc AS e") == [{"a": items[0].id, "s": 0.5, "e": HERE}]


def test_subject_properties_are_set_only_where_they_differ(store, monkeypatch):
    """A value the node already holds is not set again: FalkorDB re-indexes a node on any SET, even of
    its own value, and its index collectors fork the whole server to clean up after that. What differs
    is set: another value, another list (and to the store 1.0 is not 1: `same_value`)."""
    other = "91130100MA0OTHER03"
    store.upsert_nodes("Enterprise", [{"uscc": HERE, "name": "甲", "ratingScore": 1, "tags": ["a", "b"]},
                                      {"uscc": other, "name": "乙", "ratingScore": 80.5, "tags": ["a"]}])
    sent: list[dict[str, list[str]]] = []
    execute = store.execute

    def spy(cypher, params=None, **kw):
        if " SET " in cypher:
            sent.append({row["k"]: sorted(row["p"]) + sorted(row.get("s", ())) for row in (params or {})["rows"]})
        return execute(cypher, params, **kw)

    monkeypatch.setattr(store, "execute", spy)
    set_properties(store, "Enterprise", [{"uscc": HERE, "ratingScore": 1, "tags": ["a", "b"]},
                                         {"uscc": other, "ratingScore": 80.5, "tags": ["a"]}])
    assert sent == []
    set_properties(store, "Enterprise", [{"uscc": HERE, "ratingScore": 2.5, "tags": ["a", "b"]},
                                         {"uscc": other, "ratingScore": 80.5, "tags": ["a", "c"]}])
    assert sent == [{HERE: ["ratingScore"], other: ["tags"]}]
    got = store.read("MATCH (e:Enterprise) RETURN e.uscc AS u, e.ratingScore AS s, e.tags AS t ORDER BY u")
    assert got == [{"u": HERE, "s": 2.5, "t": ["a", "b"]}, {"u": other, "s": 80.5, "t": ["a", "c"]}]
    assert same_value(["x", 1], ["x", 1]) and not same_value([1], [1.0]) and not same_value(True, 1)
