"""Offline evaluation on held-out verified rectifications: hit@k and MRR for four rankers.

A record is a hidden danger with a verified rectification (accepted, not recurred) whose text names at
least one knowledge-base measure; its targets are those measures. The split is deterministic:

- ``time``: records sorted by the danger's foundOn (then id); the latest `test_fraction` are test, from
  the cut-off date on. Training holds only dangers found before the cut-off AND rectifications verified
  before it (what was known on the cut-off day);
- ``enterprise``: a salted SHA-256 of the USCC puts `test_fraction` of enterprises in the test set; no
  record of a test enterprise is used for training.

Rankers: the blend, the rules alone, the learned part alone (trained on the training records only), and
a popularity baseline (measures by how often training rectifications used them). Each ranks what it would
show: the blend and the rules only the measures they recommend (a target they leave out is a miss), the
learned part its voted measures, popularity every measure; all only within the enterprise's industry,
ties by preferred hierarchy level, then id. Decisions (停产整改) are not measures: a record whose only
target is a decision is not counted.

This is the generator-based figure: the generator plants rectifications the knowledge base knows, so it
flatters the recommender. The figure to trust is the labelled set written from the standards' text
(`labelled.py`, benchmarks/recommend_labelled.py).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import from_epoch_ms
from riskgraph.reasoning.models.config import ModelConfig
from riskgraph.reasoning.recommend.config import load_config
from riskgraph.reasoning.recommend.engine import Recommender
from riskgraph.reasoning.recommend.facts import DangerFact, EnterpriseFact
from riskgraph.reasoning.recommend.kb import KnowledgeBase, knowledge_base
from riskgraph.reasoning.recommend.learned import Example, NeighbourModel, examples
from riskgraph.reasoning.recommend.run import read_province

METHODS = ("blend", "rules", "learned", "popularity")


@dataclass
class Split:
    kind: str
    train: list[Example]
    test: list[Example]
    cutoff: dt.date | None = None
    test_enterprises: int = 0

    def leakage(self) -> dict[str, int]:
        """Overlaps between training and test (all must be 0)."""
        train_d = {e.danger_id for e in self.train}
        train_r = {r for e in self.train for r in e.rectification_ids}
        out = {
            "dangers": len(train_d & {e.danger_id for e in self.test}),
            "rectifications": len(train_r & {r for e in self.test for r in e.rectification_ids}),
        }
        if self.kind == "enterprise":
            out["enterprises"] = len({e.uscc for e in self.train} & {e.uscc for e in self.test})
        if self.kind == "time" and self.cutoff is not None:
            from riskgraph.graph.values import to_epoch_ms
            cut = to_epoch_ms(self.cutoff)
            out["trainedOnLaterFacts"] = sum(1 for e in self.train
                                             if (e.found_ms or 0) >= cut or (e.verified_ms or 0) >= cut)
        return out


def enterprise_in_test(uscc: str, fraction: float, salt: str) -> bool:
    digest = hashlib.sha256(f"{salt}:{uscc}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64 < fraction


def split(kb: KnowledgeBase, enterprises: Mapping[str, EnterpriseFact], config: ModelConfig, *,
          kind: str | None = None, fraction: float | None = None) -> Split:
    section, learned = config["evaluation"], config["learned"]
    kind = kind or str(section["split"])
    fraction = float(section["test_fraction"] if fraction is None else fraction)
    accepted, recurred = list(learned["accepted_conclusions"]), bool(learned["exclude_recurred"])
    records = examples(kb, enterprises.values(), accepted=accepted, exclude_recurred=recurred)
    if kind == "time":
        dated = sorted(((r.found_ms, r) for r in records if r.found_ms is not None), key=lambda fr: (fr[0], fr[1].danger_id))
        if not dated:
            return Split(kind, [], [])
        cut_ms = dated[min(len(dated) - 1, int(len(dated) * (1 - fraction)))][0]
        cutoff = from_epoch_ms(cut_ms).date()
        test = [r for found_ms, r in dated if found_ms >= cut_ms]
        known = examples(kb, enterprises.values(), accepted=accepted, exclude_recurred=recurred,
                         verified_before_ms=cut_ms)
        train = [r for r in known if r.found_ms is not None and r.found_ms < cut_ms]
        return Split(kind, train, test, cutoff=cutoff)
    if kind == "enterprise":
        salt = str(section["enterprise_salt"])
        chosen = {u for u in enterprises if enterprise_in_test(u, fraction, salt)}
        return Split(kind, [r for r in records if r.uscc not in chosen], [r for r in records if r.uscc in chosen],
                     test_enterprises=len(chosen))
    raise ValueError(f"unknown split {kind!r}; 'time' or 'enterprise'")


@dataclass
class Metrics:
    hits: int = 0
    reciprocal: float = 0.0
    n: int = 0
    seconds: float = 0.0
    firsts: int = 0

    def add(self, rank: int | None, k: int) -> None:
        self.n += 1
        if rank is not None:
            self.reciprocal += 1.0 / rank
            self.hits += rank <= k
            self.firsts += rank == 1

    @property
    def hit_at_1(self) -> float:
        return self.firsts / self.n if self.n else 0.0

    @property
    def hit_at_k(self) -> float:
        return self.hits / self.n if self.n else 0.0

    @property
    def mrr(self) -> float:
        return self.reciprocal / self.n if self.n else 0.0


@dataclass
class Report:
    split: Split
    k: int
    metrics: dict[str, Metrics]
    version: str
    rule_coverage: float = 0.0  # share of test records with a target among the rule candidates
    by_industry: dict[str, dict[str, Metrics]] = field(default_factory=dict)


def first_rank(order: Sequence[str], targets: set[str]) -> int | None:
    for i, mid in enumerate(order, start=1):
        if mid in targets:
            return i
    return None


def evaluate(store: GraphStore | None = None, *, enterprises: Mapping[str, EnterpriseFact] | None = None,
             config: ModelConfig | None = None, kind: str | None = None) -> Report:
    """Split, train the learned part on the training records, rank every test record four ways."""
    config = config or load_config()
    kb = knowledge_base()
    if enterprises is None:
        if store is None:
            raise ValueError("give a store or the enterprises' facts")
        enterprises = read_province(store, batch=int(config["output"]["read_batch"]))
    sp = split(kb, enterprises, config, kind=kind)
    k = int(config["evaluation"]["k"])
    model = NeighbourModel.from_config(config["learned"]).fit(sp.train)
    rec = Recommender(kb, config, model)
    popularity = Counter(m for r in sp.train for m in r.labels)
    every = {mid: 0.0 for mid in kb.measures if not kb.measures[mid].decision}
    pop_all = {**every, **{m: float(c) for m, c in popularity.items() if m in every}}
    danger_of: dict[str, tuple[EnterpriseFact, DangerFact]] = {
        d.id: (e, d) for e in enterprises.values() for d in e.dangers.values()}
    metrics = {m: Metrics() for m in METHODS}
    by_industry: dict[str, dict[str, Metrics]] = {}
    covered = 0
    started = time.monotonic()
    learned_all = model.score([r.features for r in sp.test])
    metrics["learned"].seconds = time.monotonic() - started
    for record, learned in zip(sp.test, learned_all, strict=False):
        e, d = danger_of[record.danger_id]
        targets = {m for m in record.labels if not kb.measures[m].decision}
        if not targets:
            continue
        t0 = time.monotonic()
        rules = rec.danger_scores(e, d)
        metrics["rules"].seconds += time.monotonic() - t0
        covered += bool(targets & set(rules))
        orders = {
            "rules": rec.order(rules),
            "learned": rec.order({m: v for m, v in learned.scores.items() if rec.allowed(e, m)}),
            "blend": rec.order(rec.danger_scores(e, d, learned)),
            "popularity": rec.order({m: v for m, v in pop_all.items() if rec.allowed(e, m)}),
        }
        industry = e.industry or "?"
        for method, order in orders.items():
            rank = first_rank(order, targets)
            metrics[method].add(rank, k)
            by_industry.setdefault(industry, {m: Metrics() for m in METHODS})[method].add(rank, k)
    counted = metrics["blend"].n
    return Report(sp, k, metrics, rec.version, covered / counted if counted else 0.0, by_industry)
