"""Evaluation on a labelled set written from the standards' text, kept apart from the generator.

A case is one wording of one hidden-danger situation of an article of a 重大事故隐患判定标准, filed for an
enterprise of the article's industry (supervision line + GB/T 4754 class), with the measure an expert
names first. Each wording is `dev` (the knowledge base's field terms were written against it) or `test`
(held out), so the test split measures how the matching generalises to wording it was not written for.

For every case the recommender ranks as it would for a real hidden danger (`Recommender.danger_scores`);
hit@k, MRR, ties at the top, and whether any recommended measure lies outside the enterprise's industry
are counted overall, per industry and per standard, beside a popularity baseline (measures by how often
the province's verified rectifications used them, within the enterprise's industry). The cases' file
format is described in its header (tests/data/recommend_labelled.yaml).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from riskgraph.reasoning.recommend.engine import Recommender
from riskgraph.reasoning.recommend.evaluate import Metrics, first_rank
from riskgraph.reasoning.recommend.facts import DangerFact, EnterpriseFact
from riskgraph.reasoning.recommend.learned import LearnedScores

SPLITS = ("dev", "test")


@dataclass(frozen=True)
class Case:
    key: str
    standard: str
    industry: str
    code: str | None
    expected: str
    text: str
    split: str


@dataclass(frozen=True)
class NoMeasureCase:
    industry: str
    code: str | None
    text: str


def load_cases(path: str | Path) -> tuple[list[Case], list[NoMeasureCase]]:
    """The labelled cases (one per wording) and the texts the knowledge base has no measure for."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    cases = []
    for row in data["cases"]:
        for split in SPLITS:
            for text in row.get(split, ()):
                cases.append(Case(str(row["key"]), str(row["standard"]), str(row["industry"]),
                                  str(row["code"]) if row.get("code") else None, str(row["expected"]), str(text),
                                  split))
    none = [NoMeasureCase(str(r["industry"]), str(r["code"]) if r.get("code") else None, str(r["text"]))
            for r in data.get("no_measure", ())]
    return cases, none


def subject(industry: str, code: str | None, text: str, key: str = "case") -> tuple[EnterpriseFact, DangerFact]:
    """A one-danger enterprise of that industry, as the recommender reads one from the graph."""
    e = EnterpriseFact(f"LABELLED-{key}", "labelled case", industry, code, ())
    d = DangerFact(f"LABELLED-{key}", e.uscc, None, text, "", None, (), None, None)
    e.dangers[d.id] = d
    return e, d


@dataclass
class Outcome:
    case: Case
    ranked: list[str]
    rank: int | None
    tie_at_top: bool
    out_of_scope: list[str]


@dataclass
class LabelledReport:
    k: int
    methods: tuple[str, ...]
    #: (split, group) -> method -> metrics; split "all" | "dev" | "test", group "all" | "HC" | … | "hc121" | …
    metrics: dict[tuple[str, str], dict[str, Metrics]] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    no_measure: list[tuple[NoMeasureCase, list[str]]] = field(default_factory=list)

    @property
    def cross_industry(self) -> int:
        """Recommended measures outside the enterprise's industry, over every case (must be 0)."""
        return sum(len(o.out_of_scope) for o in self.outcomes)

    @property
    def ties(self) -> int:
        """Cases whose first two measures scored exactly the same (decided by hierarchy level, then id)."""
        return sum(o.tie_at_top for o in self.outcomes)

    def get(self, split: str = "all", group: str = "all", method: str = "recommender") -> Metrics:
        return self.metrics[(split, group)][method]


def evaluate_labelled(cases: Sequence[Case], rec: Recommender, *, popularity: Mapping[str, int] | None = None,
                      k: int = 5, no_measure: Iterable[NoMeasureCase] = ()) -> LabelledReport:
    """Rank every case as `for_danger` would, and count hit@k / MRR per split, industry and standard."""
    kb = rec.kb
    methods = ("recommender", "rules") + (("popularity",) if popularity is not None else ())
    report = LabelledReport(k, methods)
    every = {mid: 0.0 for mid, m in kb.measures.items() if not m.decision}
    pop_all = {**every, **{m: float(c) for m, c in (popularity or {}).items() if m in every}}
    for i, case in enumerate(cases):
        e, d = subject(case.industry, case.code, case.text, str(i))
        learned = _learned(rec, e, d)
        scores = rec.danger_scores(e, d, learned)
        ranked = rec.order(scores)
        orders = {"recommender": ranked, "rules": rec.order(rec.danger_scores(e, d))}
        if popularity is not None:
            orders["popularity"] = rec.order({m: v for m, v in pop_all.items() if rec.allowed(e, m)})
        outside = [m for m in ranked if rec.industry_ok(e, kb.measures[m]) is False]
        top = [scores[m] for m in ranked[:2]]
        report.outcomes.append(Outcome(case, ranked, first_rank(ranked, {case.expected}),
                                       len(top) == 2 and abs(top[0] - top[1]) < 1e-12, outside))
        for split in ("all", case.split):
            for group in ("all", case.industry, case.standard):
                bucket = report.metrics.setdefault((split, group), {m: Metrics() for m in methods})
                for method, order in orders.items():
                    bucket[method].add(first_rank(order, {case.expected}), k)
    for nm in no_measure:
        e, d = subject(nm.industry, nm.code, nm.text, "none")
        report.no_measure.append((nm, rec.order(rec.danger_scores(e, d, _learned(rec, e, d)))))
    return report


def _learned(rec: Recommender, e: EnterpriseFact, d: DangerFact) -> LearnedScores | None:
    return rec.learned_for(e, [d]).get(d.id) if rec.model is not None else None


def popularity_of(examples: Iterable[Any]) -> Counter:
    """How often verified rectifications used each measure (the baseline)."""
    return Counter(m for x in examples for m in x.labels)
