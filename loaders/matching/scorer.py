"""The learned part of resolution: a logistic model over the comparison's features.

Its weights (`loaders/data/er_weights.json`) are fitted by `scripts/train_er_weights.py` from
the generator's ground truth and the training half of the hand-labelled pairs; the file says
which data, which seed and when. The score ranks candidates and is one of the conditions for a
link; the decision rules (`decide.py`) still require an agreeing second field where the issue's
patterns say the name alone cannot tell.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from itertools import repeat
from operator import mul

#: every feature `compare.compare` sets, in the model's order
FEATURES = (
    "level_exact_full", "level_exact_body", "level_near", "level_near2", "level_trade", "level_weak",
    "body_similarity", "body_edits", "typo_like", "transposed", "trade_equal", "distinguishing",
    "form_exact", "form_unstated",
    "region_agrees", "region_within", "region_unknown", "region_contradicts",
    "uscc_equal", "uscc_near", "uscc_contradicts",
    "address_similarity", "legal_rep_equal", "legal_rep_differs", "phone_equal", "licence_equal",
    "second_fields", "against_fields",
)
WEIGHTS_FILE = "er_weights.json"


@dataclass(frozen=True)
class Scorer:
    intercept: float
    weights: dict[str, float]
    version: str = "untrained"

    def score(self, features: dict[str, float]) -> float:
        """P(same enterprise) under the model, in [0, 1]."""
        # the same products summed in the same order as a generator would, iterated in C
        z = self.intercept + sum(map(mul, self.weights.values(), map(features.get, self.weights, repeat(0.0))))
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


@lru_cache(maxsize=1)
def default_scorer() -> Scorer:
    """The shipped weights."""
    text = (resources.files("riskgraph.loaders") / "data" / WEIGHTS_FILE).read_text(encoding="utf-8")
    data = json.loads(text)
    missing = set(FEATURES) - set(data["weights"])
    if missing:
        raise ValueError(f"{WEIGHTS_FILE} lacks weights for {sorted(missing)}: retrain with scripts/train_er_weights.py")
    return Scorer(float(data["intercept"]), {k: float(v) for k, v in data["weights"].items()}, str(data.get("version", "")))
