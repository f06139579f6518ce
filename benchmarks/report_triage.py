"""Report triage on held-out texts: macro-F1 per field (python benchmarks/report_triage.py [--test N] [--seed S]).

The model is trained as the service trains it (reasoning/text/model.py: the generator's train split); the
held-out set is the generator's test split — phrasings, subjects and tails the training never saw — with
another seed. Also printed: the accident types' top-3 hit rate (the true primary type among the ranked
list) and the same model without the cue-word features, to show what the lexicon adds.
"""
from __future__ import annotations

import argparse
import time

from sklearn.metrics import f1_score

from riskgraph.reasoning.text.model import TRAIN_SIZE, _accident_code, train
from riskgraph.synth.report_texts import corpus


def evaluate(use_cues: bool, test_size: int, seed: int) -> dict[str, float]:
    started = time.perf_counter()
    model = train(TRAIN_SIZE, use_cues=use_cues)
    fit_s = time.perf_counter() - started
    test = corpus(test_size, seed=seed, split="test")
    preds = model.predict([s.text for s in test])
    truth_type = [_accident_code(s.types[0]) for s in test]
    return {
        "accidentTypes (top-1)": f1_score(truth_type, [p.accident_types[0] for p in preds], average="macro"),
        "hazardFactor": f1_score([s.factor for s in test], [p.hazard_factor for p in preds], average="macro"),
        "urgency": f1_score([s.urgency for s in test], [p.urgency for p in preds], average="macro"),
        "kind": f1_score([s.kind for s in test], [p.kind for p in preds], average="macro"),
        "accidentTypes top-3 hit rate": sum(t in p.accident_types for t, p in zip(truth_type, preds, strict=True)) / len(test),
        "training seconds": fit_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--test", type=int, default=2000, help="held-out texts")
    parser.add_argument("--seed", type=int, default=7, help="seed of the held-out texts")
    args = parser.parse_args()
    with_cues = evaluate(True, args.test, args.seed)
    without = evaluate(False, args.test, args.seed)
    print(f"report triage: train {TRAIN_SIZE} generated texts, held-out {args.test} (unseen phrasings, seed {args.seed})")
    print(f"{'field':32} {'macro-F1':>9} {'no cue words':>13}")
    for name in with_cues:
        unit = "" if name != "training seconds" else " s"
        print(f"{name:32} {with_cues[name]:>9.3f} {without[name]:>13.3f}{unit}")


if __name__ == "__main__":
    main()
