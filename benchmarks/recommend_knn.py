"""Nearest-neighbour step of the learned recommender: sparse top-k vs the former dense row + full sort.

    python benchmarks/recommend_knn.py --examples 20000 --queries 5000 [--distinct 1500]

Builds synthetic hidden-danger texts and contexts (words drawn from real danger vocabulary), each of
a supervision line (or none), fits `NeighbourModel`, and scores the queries twice: with the model's
sparse top-k and with the former method (dense similarity matrix, stable argsort of every row, the
neighbours of the query's own line kept). Prints both CPU-seconds, the ratio, the machine's cores and
load, and checks the two give identical neighbours and scores. `--distinct`: the examples repeat so
many texts, as a province's do (1,164 distinct vectors among 15,155 examples at 10,000 enterprises).
"""
from __future__ import annotations

import argparse
import os
import random
import time

import numpy as np

from riskgraph.reasoning.recommend.learned import DangerFeatures, Example, LearnedScores, NeighbourModel

WORDS = ("配电箱", "未接地", "消防通道", "堵塞", "灭火器", "过期", "安全阀", "未校验", "压力表", "损坏", "储罐",
         "液位计", "失灵", "动火作业", "未审批", "有限空间", "未通风", "防护栏", "缺失", "警示标识", "不清",
         "应急照明", "故障", "电缆", "老化", "可燃气体", "报警器", "未检测", "叉车", "司机", "无证", "粉尘",
         "积尘", "除尘器", "未清理", "危化品", "混存", "通风", "不良", "静电", "跨接", "断开", "防爆电器",
         "不合格", "疏散指示", "脱落", "喷淋", "关闭", "护目镜", "未佩戴")
CONTEXT = [f"ind:{i}" for i in range(30)] + [f"fac:{i}" for i in range(40)] + ["grade:MAJOR", "grade:GENERAL"]


#: supervision lines (None: unknown, a neighbour of every line)
LINES = ("HC", "NCM", "ITR", None)


def synthetic(n: int, rnd: random.Random, prefix: str, distinct: int = 0) -> list[DangerFeatures]:
    def fresh() -> tuple[str, tuple[str, ...], str | None]:
        return ("".join(rnd.choices(WORDS, k=rnd.randint(2, 6))), tuple(sorted(set(rnd.choices(CONTEXT, k=3)))),
                rnd.choice(LINES))
    pool = [fresh() for _ in range(distinct)]
    return [DangerFeatures(f"{prefix}{i}", *(rnd.choice(pool) if pool else fresh())) for i in range(n)]


def dense_score(model: NeighbourModel, queries: list[DangerFeatures]) -> list[list[tuple[str, float]]]:
    """The former method: dense similarity rows and a full stable argsort per query."""
    column_of = np.empty(len(model.examples), dtype=np.int64)  # each example's distinct column
    for column, members in enumerate(model._members):
        column_of[members] = column
    sims = (model._encode(queries) @ model._columns).toarray()[:, column_of]  # a similarity per example
    out = []
    for qi, q in enumerate(queries):
        row = sims[qi]
        picked: list[int] = []
        for j in np.argsort(-row, kind="stable"):
            if len(picked) >= model.k or row[j] < model.min_similarity:
                break
            ex = model.examples[j]
            if ex.danger_id != q.id and not (q.industry and ex.features.industry and ex.features.industry != q.industry):
                picked.append(int(j))
        out.append([(model.examples[j].danger_id, round(float(row[j]), 4)) for j in picked])
    return out


def neighbours_of(result: LearnedScores) -> list[tuple[str, float]]:
    seen = {(n.danger_id, n.similarity) for ns in result.evidence.values() for n in ns}
    return sorted(seen, key=lambda x: (-x[1], x[0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--examples", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=5_000)
    parser.add_argument("--distinct", type=int, default=0, help="distinct example texts (0: every one new)")
    args = parser.parse_args()
    rnd = random.Random(1)
    feats = synthetic(args.examples, rnd, "x", args.distinct)
    model = NeighbourModel().fit([Example(f.id, (f"r{f.id}",), "u", None, None, f, (f"M{i % 40}",))
                                  for i, f in enumerate(feats)])
    queries = synthetic(args.queries, rnd, "q")
    timings = {}
    for name in ("sparse top-k", "dense + argsort"):
        wall, cpu = time.perf_counter(), time.process_time()
        result = model.score(queries) if name == "sparse top-k" else dense_score(model, queries)
        timings[name] = (time.perf_counter() - wall, time.process_time() - cpu, result)
    sparse_res = [neighbours_of(r) for r in timings["sparse top-k"][2]]
    dense_res = [sorted(r, key=lambda x: (-x[1], x[0])) for r in timings["dense + argsort"][2]]
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"{args.examples:,} examples ({len(model._members):,} distinct), {args.queries:,} queries, k={model.k}")
    for name, (wall, cpu, _) in timings.items():
        print(f"  {name:16s} wall {wall:7.2f} s   CPU {cpu:7.2f} s   {cpu / args.queries * 1000:6.2f} CPU-ms/query")
    print(f"dense / sparse CPU ratio {timings['dense + argsort'][1] / timings['sparse top-k'][1]:.1f}×; "
          f"identical neighbours and similarities: {sparse_res == dense_res}")


if __name__ == "__main__":
    main()
