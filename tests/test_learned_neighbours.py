"""The learned part's neighbours with repeated examples (a province repeats few texts in few contexts, and
the model keeps one column per distinct vector): the same neighbours, in the same order, as comparing a
query with every example one by one — cosine similarity, best first, ties by example order, the k
nearest of the query's own industry however many of another industry are nearer."""
from __future__ import annotations

import random

import numpy as np
import pytest

from riskgraph.reasoning.recommend.learned import DangerFeatures, Example, NeighbourModel

TEXTS = ["消防通道堵塞", "安全出口锁闭", "配电箱未接地", "储罐区可燃气体报警器失效", "动火作业未办理作业票",
         "特种作业人员无证上岗", "应急预案未演练", "消防通道被货物堵塞"]
CONTEXTS = [("ind:HC",), ("ind:HC", "grade:一般隐患"), ("ind:ITR",), ()]
INDUSTRIES = ["HC", "ITR", None]


def _examples(n: int, seed: int) -> list[Example]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        industry = rnd.choice(INDUSTRIES)
        features = DangerFeatures(f"D{i:04d}", rnd.choice(TEXTS), rnd.choice(CONTEXTS), industry)
        out.append(Example(f"D{i:04d}", (f"R{i:04d}",), "X", None, None, features, (f"CM-{i % 7}",)))
    return out


def _one_by_one(model: NeighbourModel, query: DangerFeatures) -> list[tuple[str, float]]:
    """The oracle: every example's similarity computed for it alone, then a stable sort of all of them."""
    q = model._encode([query])
    sims = np.array([float((q @ model._encode([e.features]).T).toarray()[0, 0]) for e in model.examples])
    order = [int(j) for j in np.argsort(-sims, kind="stable") if sims[j] >= model.min_similarity]
    picked = []
    for j in order:
        ex = model.examples[j]
        if len(picked) >= model.k:
            break
        if ex.danger_id == query.id or (query.industry and ex.features.industry and ex.features.industry != query.industry):
            continue
        picked.append((ex.danger_id, round(float(sims[j]), 4)))
    return picked


@pytest.mark.parametrize("min_similarity", [0.05, 0.0])
def test_neighbours_of_repeated_examples_are_those_of_comparing_every_example(min_similarity):
    examples = _examples(240, seed=7)
    model = NeighbourModel(neighbours=12, min_similarity=min_similarity).fit(examples)
    assert len(model._members) < len(examples) / 2  # the repeats share columns
    queries = [DangerFeatures("Q1", "消防通道堵塞", ("ind:HC",), "HC"),
               DangerFeatures("Q2", "储罐区报警器失效", ("ind:HC", "grade:一般隐患"), "HC"),
               DangerFeatures("Q3", "作业人员无证", (), None),
               DangerFeatures("D0003", examples[3].features.text, examples[3].features.context, "ITR")]
    for query, scores in zip(queries, model.score(queries), strict=True):
        got = sorted({(n.danger_id, n.similarity) for ns in scores.evidence.values() for n in ns},
                     key=lambda t: (-t[1], t[0]))
        expected = _one_by_one(model, query)
        assert scores.neighbours == len(expected)
        assert got == sorted(expected, key=lambda t: (-t[1], t[0]))


def test_a_query_gets_its_k_nearest_of_its_own_industry_when_many_of_another_are_nearer():
    """The documented rule: neighbours of the same supervision line only, k of them if there are k.
    The nearest examples here are 30 repeats of the query's own text from another industry; they are
    passed over, not counted against the k (which left this query none)."""
    other = [Example(f"A{i:03d}", (f"RA{i:03d}",), "X", None, None,
                     DangerFeatures(f"A{i:03d}", "消防通道堵塞", ("ind:HC",), "ITR"), ("CM-1",)) for i in range(30)]
    own = [Example(f"B{i:03d}", (f"RB{i:03d}",), "Y", None, None,
                   DangerFeatures(f"B{i:03d}", text, ("ind:HC",), "HC"), ("CM-2",))
           for i, text in enumerate(["消防通道被货物堵塞", "消防通道堵塞严重", "安全出口锁闭", "消防通道不畅", "通道堵塞"])]
    model = NeighbourModel(neighbours=5, min_similarity=0.05).fit(sorted(other + own, key=lambda e: e.danger_id))
    query = DangerFeatures("Q", "消防通道堵塞", ("ind:HC",), "HC")
    scores = model.score([query])[0]
    assert scores.neighbours == 5 == len(_one_by_one(model, query))
    assert {n.danger_id for ns in scores.evidence.values() for n in ns} == {e.danger_id for e in own}
    assert set(scores.scores) == {"CM-2"}
