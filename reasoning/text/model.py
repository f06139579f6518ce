"""The report classifier: GB 6441 accident types (ranked), the GB/T 13861 factor class, urgency and kind.

Features: TF-IDF over character 1–3-grams (robust to typos and to colloquial writing jieba splits oddly)
and the counts of cue words per class (`reasoning/config/report_cues.toml`: what each accident type,
factor class, urgency and kind is usually described with). One log-loss linear model per field
(scikit-learn SGD with a fixed seed: the same model every time). The accident-type model learns each
text once per type it lists — the first at full weight, the others at half — so its probabilities
rank the likely types: 罐子冒白烟 puts 容器爆炸 first and still lists 中毒和窒息 and 火灾.

Trained from the generator's labelled texts (synth/report_texts.py) when first needed, in seconds, and
kept in the service's data directory (keyed by what it was trained from), so a restart reads it back.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import threading
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from riskgraph.ontology.model import load_ontology

TRAIN_SIZE = 3000
SEED = 1
#: a type joins the ranked list when its probability reaches this share of the first one's
RANK_SHARE = 0.35
MAX_TYPES = 3
FIELDS = ("accidentType", "hazardFactor", "urgency", "kind")
_lock = threading.Lock()


@dataclass(frozen=True)
class Prediction:
    accident_types: list[str]   #: GB 6441 notations ("01" … "20"), most likely first
    hazard_factor: str          #: GB/T 13861 top class notation ("1" 人 … "4" 管理)
    urgency: str                #: high, medium, low
    kind: str                   #: 安全生产 or 自然灾害
    confidence: dict[str, float]


def _accident_code(label: str) -> str:
    concept = load_ontology().vocabulary("AccidentType").lookup(label)
    if concept is None:
        raise ValueError(f"{label!r} is no GB 6441 accident type")
    return concept.notation


def _factor_code(label: str) -> str:
    concept = load_ontology().vocabulary("HazardFactor").lookup(label)
    if concept is None:
        raise ValueError(f"{label!r} is no GB/T 13861 factor class")
    return concept.notation


@lru_cache(maxsize=1)
def cues() -> list[tuple[str, str, str]]:
    """(field, class, word) for every cue word; classes as the model predicts them (notations)."""
    text = (resources.files("riskgraph.reasoning") / "config" / "report_cues.toml").read_text(encoding="utf-8")
    table = tomllib.loads(text)
    out: list[tuple[str, str, str]] = []
    for field, classes in table.items():
        if field in ("version", "method"):
            continue
        if field not in FIELDS:
            raise ValueError(f"report_cues.toml: unknown field {field!r}")
        for cls, words in classes.items():
            code = _accident_code(cls) if field == "accidentType" else _factor_code(cls) if field == "hazardFactor" else cls
            out.extend((field, code, w) for w in words)
    return out


def cue_features(texts: list[str], use: bool = True) -> Any:
    """One column per (field, class): how many of its cue words the text holds (0 columns when off)."""
    from scipy.sparse import csr_matrix

    groups = sorted({(f, c) for f, c, _ in cues()}) if use else []
    index = {g: i for i, g in enumerate(groups)}
    rows, cols, vals = [], [], []
    for r, text in enumerate(texts):
        hits: dict[int, float] = {}
        for field, cls, word in cues() if use else ():
            if word in text:
                j = index[(field, cls)]
                hits[j] = hits.get(j, 0.0) + 1.0
        for j, v in hits.items():
            rows.append(r)
            cols.append(j)
            vals.append(min(v, 3.0) / 3.0)
    return csr_matrix((vals, (rows, cols)), shape=(len(texts), len(groups)))


class TriageModel:
    """The fitted vectoriser and classifiers."""

    def __init__(self, texts: list[str], types: list[tuple[str, ...]], factors: list[str], urgencies: list[str],
                 kinds: list[str], *, use_cues: bool = True, seed: int = SEED) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.use_cues = use_cues
        self.chars = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
        x = self._features(texts, fit=True)
        codes = [tuple(_accident_code(t) for t in ts) for ts in types]
        rows, labels, weights = [], [], []
        for i, c in enumerate(codes):
            for k, code in enumerate(c):
                rows.append(i)
                labels.append(code)
                weights.append(1.0 if k == 0 else 0.5)
        self.types = _linear(seed).fit(x[rows], labels, sample_weight=np.asarray(weights))
        self.factor = _linear(seed).fit(x, [_factor_code(f) for f in factors])
        self.urgency = _linear(seed).fit(x, urgencies)
        self.kind = _linear(seed).fit(x, kinds)

    def _features(self, texts: list[str], *, fit: bool = False) -> Any:
        from scipy.sparse import hstack

        chars = self.chars.fit_transform(texts) if fit else self.chars.transform(texts)
        return hstack([chars, cue_features(texts, self.use_cues)]).tocsr()

    def predict(self, texts: list[str]) -> list[Prediction]:
        if not texts:
            return []
        x = self._features(texts)
        p_types = self.types.predict_proba(x)
        others = {name: (clf, clf.predict_proba(x)) for name, clf in
                  (("hazardFactor", self.factor), ("urgency", self.urgency), ("kind", self.kind))}
        out = []
        for i in range(len(texts)):
            order = np.argsort(-p_types[i], kind="stable")
            top = float(p_types[i, order[0]])
            chosen = [str(self.types.classes_[j]) for j in order[:MAX_TYPES] if p_types[i, j] >= RANK_SHARE * top]
            conf = {"accidentType": round(top, 3)}
            fields = {}
            for name, (clf, probs) in others.items():
                best = int(np.argmax(probs[i]))
                fields[name] = str(clf.classes_[best])
                conf[name] = round(float(probs[i, best]), 3)
            out.append(Prediction(accident_types=chosen, hazard_factor=fields["hazardFactor"], urgency=fields["urgency"],
                                  kind=fields["kind"], confidence=conf))
        return out


def _linear(seed: int) -> Any:
    from sklearn.linear_model import SGDClassifier

    return SGDClassifier(loss="log_loss", alpha=5e-5, max_iter=40, tol=None, random_state=seed, class_weight="balanced")


def train(size: int = TRAIN_SIZE, seed: int = SEED, *, use_cues: bool = True) -> TriageModel:
    """A model fitted on `size` generated texts (the train split: the held-out phrasings are never seen)."""
    from riskgraph.synth.report_texts import corpus

    samples = corpus(size, seed=seed, split="train")
    return TriageModel([s.text for s in samples], [s.types for s in samples], [s.factor for s in samples],
                       [s.urgency for s in samples], [s.kind for s in samples], use_cues=use_cues, seed=seed)


_model: TriageModel | None = None


def fingerprint() -> str:
    """What the trained model depends on: the generator, the cue words, the sizes, scikit-learn's version."""
    import sklearn

    from riskgraph.synth import report_texts

    digest = hashlib.sha256()
    for part in (resources.files("riskgraph.synth").joinpath("report_texts.py").read_bytes(),
                 resources.files("riskgraph.reasoning").joinpath("config", "report_cues.toml").read_bytes(),
                 resources.files("riskgraph.reasoning.text").joinpath("model.py").read_bytes(),
                 f"{TRAIN_SIZE}|{SEED}|{sklearn.__version__}|{report_texts.__name__}".encode()):
        digest.update(part)
    return digest.hexdigest()[:16]


def shared_model(cache_dir: Path | None = None) -> TriageModel:
    """The process's model: trained on first use (seconds; later callers wait), or read from
    `cache_dir/triage-<fingerprint>.pickle`, which a training writes (the service's own data directory).
    A data directory that lacks the file gets the process's model too, so its next start reads it."""
    global _model
    with _lock:
        path = cache_dir / f"triage-{fingerprint()}.pickle" if cache_dir is not None else None
        if _model is not None:
            if path is not None and not path.is_file():
                try:
                    _keep(path, _model)
                except OSError:  # only a head start for the next start; the model in memory serves
                    pass
            return _model
        if path is not None and path.is_file():
            try:
                _model = pickle.loads(path.read_bytes())  # noqa: S301 - written by this service into its own directory
                return _model
            except (pickle.UnpicklingError, EOFError, AttributeError, ImportError):
                path.unlink(missing_ok=True)
        model = train()
        if path is not None:
            _keep(path, model)
        _model = model
        return model


def _keep(path: Path, model: TriageModel) -> None:
    """Write the model atomically, readable by the service only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(model))
    tmp.chmod(0o600)
    os.replace(tmp, path)


__all__ = ["Prediction", "TriageModel", "shared_model", "train"]
