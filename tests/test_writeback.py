"""Writing model results: each with the link to its subject, and none left without one."""
from __future__ import annotations

from riskgraph.reasoning.models.result import ModelResult
from riskgraph.reasoning.run_context import Run
from riskgraph.reasoning.writeback import Written, write_assessments

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
