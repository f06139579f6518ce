"""Fit the entity-resolution scorer (loaders/data/er_weights.json): a logistic regression over the
comparison features of every blocked (record, registry entry) pair, labelled by the generator's
ground truth and by the `train` third of the hand-labelled pairs (tests/data/er_pairs.csv; the
`test` part is never used here, so benchmarks/entity_resolution.py reports on unseen pairs).

    python scripts/train_er_weights.py                  # 400 enterprises, seed 101, writes the weights
    python scripts/train_er_weights.py --dry-run        # print the fit, write nothing

The seed differs from the ones the tests and the benchmark use, so they measure other provinces.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from riskgraph.loaders.mapping import load_mappings  # noqa: E402
from riskgraph.loaders.matching.scorer import FEATURES, WEIGHTS_FILE  # noqa: E402
from riskgraph.loaders.normalise.regions import region_from_address  # noqa: E402
from riskgraph.loaders.readers import SourceRow, read_rows  # noqa: E402
from riskgraph.loaders.resolve import EnterpriseIndex, record_query  # noqa: E402
from riskgraph.ontology.model import load_ontology  # noqa: E402

#: a hand-labelled pair counts this many times a generated one: they are few and hard
LABELLED_WEIGHT = 10.0


def _listed(text: str | None) -> set[str]:
    """A ';'-separated cell of the hand-labelled registry (its phones, its licence numbers)."""
    return {t.strip() for t in (text or "").split(";") if t.strip()}


def generated_pairs(enterprises: int, seed: int) -> tuple[list[list[float]], list[int]]:
    from riskgraph.synth import generate

    X: list[list[float]] = []
    y: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, enterprises=enterprises, seed=seed, dirt_rate=0.1)
        index = EnterpriseIndex()
        for line in (root / "truth" / "enterprises.jsonl").read_text(encoding="utf-8").splitlines():
            e = json.loads(line)
            index.add(e["uscc"], e["name"], e["county_code"], address=e["address"], legal_rep=e["legal_rep"])
        truth = {}
        for line in (root / "truth" / "entities.jsonl").read_text(encoding="utf-8").splitlines():
            t = json.loads(line)
            if "pattern" in t and t["true_uscc"]:
                truth[(t["file"], t["row"])] = t["true_uscc"]
        for mapping in load_mappings(load_ontology()).values():
            for spec in mapping.files:
                ent = spec.enterprise
                if ent is None or not ent.name or not (root / spec.path).is_file():
                    continue
                for n, row in enumerate(read_rows(root / spec.path, spec.format, spec.encoding), start=1):
                    true = truth.get((spec.path, n))
                    if not isinstance(row, SourceRow) or true is None:
                        continue
                    for comp in index.compare_all(record_query(ent, row.values)):
                        X.append([comp.features.get(f, 0.0) for f in FEATURES])
                        y.append(int(comp.entry.uscc == true))
    return X, y


def labelled_pairs() -> tuple[list[list[float]], list[int]]:
    data = ROOT / "tests" / "data"
    index = EnterpriseIndex()
    ids = {}
    with (data / "er_registry.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            index.add(row["uscc"], row["name"], row["region_code"] or None, address=row["address"] or None,
                      legal_rep=row["legal_rep"] or None, phones=_listed(row.get("phones")),
                      licences=_listed(row.get("licences")))
            ids[row["id"]] = row["uscc"]
    X: list[list[float]] = []
    y: list[int] = []
    with (data / "er_pairs.csv").open(encoding="utf-8") as f:
        for pair in csv.DictReader(f):
            if pair["split"] != "train":
                continue
            from riskgraph.loaders.matching.records import Query

            query = Query(name=pair["name"] or None, uscc=pair["uscc"] or None,
                          region=region_from_address(pair["authority"]) if pair["authority"] else None,
                          address=pair["address"] or None, legal_rep=pair["legal_rep"] or None, phone=pair["phone"] or None,
                          licence=pair.get("licence") or None)
            true = ids.get(pair["true_id"])
            for comp in index.compare_all(query):
                X.append([comp.features.get(f, 0.0) for f in FEATURES])
                y.append(int(comp.entry.uscc == true))
    return X, y


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enterprises", type=int, default=400)
    parser.add_argument("--seed", type=int, default=101)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression

    wall, cpu = time.perf_counter(), time.process_time()
    gx, gy = generated_pairs(args.enterprises, args.seed)
    lx, ly = labelled_pairs()
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit(gx + lx, gy + ly, sample_weight=[1.0] * len(gy) + [LABELLED_WEIGHT] * len(ly))
    weights = {f: round(float(w), 4) for f, w in zip(FEATURES, model.coef_[0], strict=True)}
    out = {
        "version": f"trained-{dt.date.today().isoformat()}",
        "note": "scripts/train_er_weights.py: logistic regression over loaders/matching/compare.py features",
        "data": {"generated": {"enterprises": args.enterprises, "seed": args.seed, "dirt_rate": 0.1, "pairs": len(gy),
                               "positives": sum(gy)},
                 "labelled_train": {"pairs": len(ly), "positives": sum(ly), "weight": LABELLED_WEIGHT}},
        "intercept": round(float(model.intercept_[0]), 4),
        "weights": weights,
    }
    print(json.dumps(out, ensure_ascii=False, indent=2))
    print(f"fitted on {len(gy) + len(ly)} pairs in {time.perf_counter() - wall:.1f} s wall, {time.process_time() - cpu:.1f} CPU s")
    if not args.dry_run:
        (ROOT / "loaders" / "data" / WEIGHTS_FILE).write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
