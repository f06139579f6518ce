"""The learned part: which measures worked for similar hidden dangers in similar enterprises.

Training examples are hidden dangers with a VERIFIED rectification (验收结论 in the accepted list, not
recurred); the label set is the knowledge-base measures that rectification's text names
(`KnowledgeBase.map_text`; decisions such as 停产整改 are not measures and are left out). A query is
answered by its nearest examples of the SAME supervision industry — cosine similarity over TF-IDF of
the danger's jieba words and character bigrams, plus one-hot context (supervision industry, GB/T 13861
classes, grade, the equipment type of its risk point) — each neighbour voting for its measures with
weight similarity^power. The neighbours are the evidence: real HiddenDanger and Rectification nodes,
with their text so an explanation can say what the cases have in common.
"""
from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from riskgraph.reasoning.recommend.facts import DangerFact, EnterpriseFact
from riskgraph.reasoning.recommend.kb import KnowledgeBase
from riskgraph.reasoning.recommend.textmatch import normalise

if TYPE_CHECKING:
    from scipy import sparse
# scipy and scikit-learn are imported where a model is fitted: importing them costs seconds of every
# start of the service (and of its restart after a crash), which needs them only for recommendations


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


@lru_cache(maxsize=20_000)
def text_tokens(text: str) -> tuple[str, ...]:
    """jieba words (punctuation dropped) and character bigrams of the normalised text."""
    norm = normalise(text)
    words = [w for w in _jieba().lcut(norm) if any(ch.isalnum() for ch in w)]
    chars = [c for c in norm if c.isalnum()]
    bigrams = ["".join(chars[i:i + 2]) for i in range(len(chars) - 1)]
    return tuple(words + ["§" + b for b in bigrams])


@dataclass(frozen=True)
class DangerFeatures:
    """What the learned part sees of a hidden danger (never its rectification)."""

    id: str
    text: str
    context: tuple[str, ...]
    #: the enterprise's supervision line (HC / NCM / ITR): neighbours come from the same line only
    industry: str | None = None


def features(kb: KnowledgeBase, enterprise: EnterpriseFact | None, danger: DangerFact) -> DangerFeatures:
    context = []
    if enterprise is not None and enterprise.industry:
        context += [f"ind:{n}" for n in kb.broader_chain("SupervisionIndustry", enterprise.industry)]
    context += [f"fac:{f}" for f in danger.factors]
    if danger.grade:
        context.append(f"grade:{danger.grade}")
    point = enterprise.risk_points.get(danger.risk_point) if enterprise and danger.risk_point else None
    if point is not None:
        context += [f"eq:{n}" for n, _ in kb.match_equipment(point.name)]
    return DangerFeatures(danger.id, danger.name or danger.description, tuple(sorted(set(context))),
                          enterprise.industry if enterprise is not None else None)


@dataclass(frozen=True)
class Example:
    """One verified rectification's lesson: this danger was fixed by these measures."""

    danger_id: str
    rectification_ids: tuple[str, ...]
    uscc: str
    found_ms: int | None
    verified_ms: int | None
    features: DangerFeatures
    labels: tuple[str, ...]


def verified(rect, accepted: Sequence[str], exclude_recurred: bool) -> bool:
    if rect.conclusion not in accepted:
        return False
    return not (exclude_recurred and rect.recurred is True)


def examples(kb: KnowledgeBase, enterprises: Iterable[EnterpriseFact], *, accepted: Sequence[str],
             exclude_recurred: bool, verified_before_ms: int | None = None) -> list[Example]:
    """Every hidden danger with a verified rectification whose text names at least one KB measure."""
    out = []
    for e in enterprises:
        for d in e.dangers.values():
            good = [r for r in d.rectifications if verified(r, accepted, exclude_recurred) and (
                verified_before_ms is None or (r.verified_ms is not None and r.verified_ms < verified_before_ms))]
            labels = sorted({m.key for r in good for m in kb.map_text(r.measure) if not kb.measures[m.key].decision})
            if not labels:
                continue
            out.append(Example(d.id, tuple(sorted(r.id for r in good)), e.uscc, d.found_ms,
                               max((r.verified_ms for r in good if r.verified_ms is not None), default=None),
                               features(kb, e, d), tuple(labels)))
    return sorted(out, key=lambda x: x.danger_id)


@dataclass
class Neighbour:
    danger_id: str
    rectification_ids: tuple[str, ...]
    uscc: str
    similarity: float
    text: str = ""


#: the cases a measure's recommendation cites whole (its paths, the reasons of its explanation); the
#: others count only through their number, their similarities' range and their texts
CITED_CASES = 3


def cited(cases: Sequence[Neighbour]) -> list[Neighbour]:
    """The cases a recommendation cites whole: the most alike, ties in the order of the vote."""
    return sorted(cases, key=lambda n: -n.similarity)[:CITED_CASES]


@dataclass
class LearnedScores:
    scores: dict[str, float] = field(default_factory=dict)           # measure -> share of the vote, [0, 1]
    evidence: dict[str, list[Neighbour]] = field(default_factory=dict)  # measure -> supporting neighbours
    neighbours: int = 0
    #: measure -> the subject's hidden danger the vote was for (set when several dangers' scores are combined)
    via: dict[str, str] = field(default_factory=dict)


class NeighbourModel:
    def __init__(self, *, neighbours: int = 25, min_similarity: float = 0.05, power: float = 2.0,
                 context_weight: float = 0.35) -> None:
        self.k = neighbours
        self.min_similarity = min_similarity
        self.power = power
        self.context_weight = context_weight
        self.examples: list[Example] = []

    @classmethod
    def from_config(cls, section: Mapping) -> NeighbourModel:
        return cls(neighbours=int(section["neighbours"]), min_similarity=float(section["min_similarity"]),
                   power=float(section["power"]), context_weight=float(section["context_weight"]))

    def fit(self, examples: Sequence[Example]) -> NeighbourModel:
        self.examples = list(examples)
        if not self.examples:
            return self
        from sklearn.feature_extraction.text import TfidfVectorizer

        self._text = TfidfVectorizer(analyzer=text_tokens, sublinear_tf=True, min_df=1)
        self._ctx = TfidfVectorizer(analyzer=lambda c: c, use_idf=False, norm="l2")
        # one column per distinct vector: a province's examples repeat few texts in few contexts (15,155
        # examples, 1,164 distinct at 10,000 enterprises), and a query compared with every example made
        # the ranking grow with the province's size (11.4 CPU-ms an enterprise at 100,000, 7.5 at 10,000)
        seen: dict[tuple[str, tuple[str, ...], str | None], int] = {}
        group = [seen.setdefault((e.features.text, e.features.context, e.features.industry), len(seen))
                 for e in self.examples]
        members: list[list[int]] = [[] for _ in seen]
        for i, g in enumerate(group):
            members[g].append(i)
        first = [m[0] for m in members]
        #: the examples of each distinct vector, by example order
        self._members = members
        #: the industry of each distinct vector's examples (one: it is part of what makes them one), as a
        #: number (-1: none), so that a query's columns of other industries are found in one comparison
        industries = [self.examples[i].features.industry for i in first]
        self._industry_numbers = {name: n for n, name in enumerate(sorted({i for i in industries if i}))}
        self._industries = np.array([self._industry_numbers[i] if i else -1 for i in industries], dtype=np.int64)
        # the vectorizers are fitted on every example (the words' weights count repeats), then each
        # distinct vector is one column, in the row-major form a query's product needs: transposing
        # (and converting) them at every `score` call cost a third of it
        self._columns = self._encode([e.features for e in self.examples], fit=True)[first].T.tocsr()
        return self

    def _encode(self, feats: Sequence[DangerFeatures], *, fit: bool = False):
        from scipy import sparse
        from sklearn.preprocessing import normalize

        texts = [f.text for f in feats]
        contexts = [f.context or ("none",) for f in feats]
        if fit:
            t = self._text.fit_transform(texts)
            c = self._ctx.fit_transform(contexts)
        else:
            t = self._text.transform(texts)
            c = self._ctx.transform(contexts)
        return normalize(sparse.hstack([t, c * self.context_weight]).tocsr())

    def _walk(self, sims: sparse.csr_matrix, qi: int, industry: str | None) -> Iterator[tuple[int, float]]:
        """The query's examples that may vote (at least `min_similarity` alike, of its industry), best
        first, ties by example order — what a stable argsort of the dense row gave — yielded lazily, so
        a query costs what it takes to find its k neighbours. `sims` has a column per distinct vector:
        its examples are all as alike and of one industry, so a column of another industry is passed
        over whole; walking or sorting a column's every example made each query grow with the province
        (a common text stands for thousands of examples at 100,000 enterprises)."""
        start, end = sims.indptr[qi], sims.indptr[qi + 1]
        cols, val = sims.indices[start:end], sims.data[start:end]
        if self.min_similarity <= 0:  # zero-similarity examples qualify too: the dense path
            dense = np.zeros(sims.shape[1])
            dense[cols] = val
            cols, val = np.arange(sims.shape[1]), dense
        keep = val >= self.min_similarity
        if industry:
            of = self._industries[cols]
            keep &= (of == -1) | (of == self._industry_numbers.get(industry, -2))
        cols, val = cols[keep], val[keep]
        order = np.lexsort((cols, -val))
        cols, val = cols[order].tolist(), val[order].tolist()
        i = 0
        while i < len(cols):
            j = i + 1
            while j < len(cols) and val[j] == val[i]:
                j += 1
            members = self._members[cols[i]] if j == i + 1 else heapq.merge(*(self._members[c] for c in cols[i:j]))
            for example in members:
                yield example, val[i]
            i = j

    def score(self, queries: Sequence[DangerFeatures], *, exclude: Mapping[str, set[str]] | None = None,
              ) -> list[LearnedScores]:
        """Scores per query; `exclude[query id]` names example dangers it may not use (itself, in production)."""
        if not self.examples or not queries:
            return [LearnedScores() for _ in queries]
        sims = (self._encode(queries) @ self._columns).tocsr()  # sparse: most pairs share no token
        out = []
        for qi, q in enumerate(queries):
            banned = (exclude or {}).get(q.id, set()) | {q.id}
            picked: list[tuple[int, float]] = []
            if self.k > 0:
                for j, similarity in self._walk(sims, qi, q.industry):
                    if self.examples[j].danger_id not in banned:
                        picked.append((j, similarity))
                        if len(picked) >= self.k:
                            break
            result = LearnedScores(neighbours=len(picked))
            total = sum(similarity ** self.power for _, similarity in picked)
            if total > 0:
                for j, similarity in picked:
                    ex = self.examples[j]
                    w = similarity ** self.power / total
                    for m in ex.labels:
                        result.scores[m] = result.scores.get(m, 0.0) + w
                        result.evidence.setdefault(m, []).append(
                            Neighbour(ex.danger_id, ex.rectification_ids, ex.uscc, round(similarity, 4),
                                      ex.features.text))
            out.append(result)
        return out
