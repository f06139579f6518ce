"""Digests that let a run skip work it would only repeat.

`content_digest` names what a recommendation says (every property but its time): found again, it is
confirmed instead of written. `enterprise_digest` names everything one enterprise's ranking reads: its
facts, the recommender (code, knowledge base, configuration) and what the learned part answered for the
hidden dangers of it that are ranked (its open ones, by default) — not the learned part's whole training
set, which a day's new rectifications anywhere in the province change. The same digest as the run that last wrote the enterprise
means the ranking would give the same rows, so it is not ranked again. A digest is over-sensitive by
design: anything that might change the output (even the order the store returned records in) changes
it, which costs a ranking, never a wrong skip.

An enterprise whose digest changed is not always ranked whole: `subject_digests` names what each of
its risk points' and ranked hidden dangers' rankings read, and a subject whose digest is the one
stored stands (its recommendations kept as they are); the enterprise itself, whose ranking reads all
of them, is ranked again. After a 1 % change set most changed enterprises had one risk point's facts
changed (an own control measure's text, a risk event, its name), and their other risk points stand.
"""
from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import metadata
from pathlib import Path

from riskgraph.ontology.anchors import HIDDEN_DANGER, RISK_POINT
from riskgraph.reasoning.models.config import ModelConfig
from riskgraph.reasoning.models.result import jsonable
from riskgraph.reasoning.recommend.facts import DangerFact, EnterpriseFact, OwnMeasure, RiskPointFact
from riskgraph.reasoning.recommend.learned import LearnedScores, Neighbour, cited

#: the Recommendation property that digests all the others but the time (ontology/control_measures.ttl)
CONTENT_DIGEST = "contentDigest"
#: the one property a run that finds a recommendation again unchanged sets
CONFIRMED_AT = "recommendedAt"
#: what the recommender's output depends on besides the data: its code, the ontology (knowledge base,
#: vocabularies) and its configuration file
_PACKAGE = Path(__file__).resolve().parent
_ONTOLOGY = _PACKAGE.parent.parent / "ontology"


def _digest(*parts: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part.encode())
        h.update(b"\x00")
    return h.hexdigest()


def content_digest(properties: dict) -> str:
    """What identifies a recommendation's content: every property but when it was recommended."""
    content = {k: v for k, v in properties.items() if k not in (CONFIRMED_AT, CONTENT_DIGEST)}
    return _digest(json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")))


#: libraries whose answers the ranking depends on (words, TF-IDF, similarities, the parsed ontology)
_LIBRARIES = ("jieba", "scikit-learn", "scipy", "numpy", "rdflib")


@cache
def _sources_digest() -> str:
    files = sorted([*_PACKAGE.glob("*.py"), *_PACKAGE.glob("*.toml"), *_ONTOLOGY.glob("*.ttl"),
                    *_ONTOLOGY.glob("*.py"), _PACKAGE.parent / "models" / "config.py"])
    versions = [f"{name} {metadata.version(name)}" for name in _LIBRARIES]
    return _digest(sys.version, *versions, *(f"{f.name}:{f.read_bytes().hex()}" for f in files))


# taken when the code is imported (≈ 10 ms), not at a run's first ranking: that came minutes into a
# province's run, or days into a service's life, and files changed on disk meanwhile (a deploy) were
# then credited with what the code in memory ranked, so the new code skipped those enterprises
_sources_digest()


def recommender_digest(config: ModelConfig, closed_states: Iterable[str], open_only: bool) -> str:
    """The recommender as a function of the facts: code, ontology, configuration, which dangers count as open."""
    return _digest(_sources_digest(), config.version,
                   json.dumps(jsonable(config.data), sort_keys=True, ensure_ascii=False, default=str),
                   ",".join(sorted(closed_states)), str(open_only))


def learned_digest(learned: Mapping[str, LearnedScores], dangers: Iterable[DangerFact]) -> str:
    """What the ranking reads of the learned part's answers for these hidden dangers: each one's
    neighbour count, scores and the danger each score is for, and per measure its cases as `cases`
    says; or that it had none; "" for an enterprise with none ranked."""
    said = []
    for d in sorted(dangers, key=lambda d: d.id):
        s = learned.get(d.id)
        said.append((d.id, None if s is None else (s.neighbours, sorted(s.scores.items()), sorted(s.via.items()),
                                                     sorted((m, cases(ns)) for m, ns in s.evidence.items()))))
    return _digest(repr(said)) if said else ""


def cases(evidence: Sequence[Neighbour]) -> tuple:
    """A measure's similar cases as its recommendation reads them: their number, similarity range and
    texts (whether they are about the danger's patterns), and the cases it cites whole (`cited`).

    Not every case's id: in a province many cases share a text, hence a similarity, and a day's new
    verified rectification among them moved another out of the k nearest; that changed the old digest
    of 1,006 of 10,000 enterprises whose facts had not changed after a 1 % change set, each then ranked
    again for nothing where the swapped case was not one it cites."""
    sims = [n.similarity for n in evidence]
    return (len(evidence), min(sims, default=None), max(sims, default=None), sorted({n.text for n in evidence}),
            [repr(n) for n in cited(evidence)])


def enterprise_digest(e: EnterpriseFact, recommender: str, learned: Mapping[str, LearnedScores],
                      ranked: Sequence[DangerFact]) -> str:
    """Everything one enterprise's ranking reads. `ranked`: the hidden dangers it ranks (its open ones,
    by default), whole, and what the learned part answered for them (`learned_digest` of `learned`) —
    it only answers those (its risk points and itself take their learned scores from them), so the
    model counts only through what it answered. Its other hidden dangers (closed ones) are read by
    nothing but the learned part's training, and count through what it answers: a closed danger's
    change alone ranked 294 of the 3,297 enterprises ranked again after a 1 % change set at 10,000
    enterprises."""
    facts = (e.uscc, e.name, e.industry, e.industry_code, e.processes, sorted(e.risk_points.items()),
             sorted((d.id, d) for d in ranked), e.holdings)
    return _digest(recommender, learned_digest(learned, ranked), repr(facts))


def subject_key(label: str, key: str) -> str:
    """How a subject is named among an enterprise's subject digests (labels keep keys of two kinds apart)."""
    return f"{label}|{key}"


def subject_of(name: str) -> tuple[str, str]:
    """The (label, key) a `subject_key` names (a label has no "|"; a key may)."""
    label, _, key = name.partition("|")
    return label, key


def subject_digests(e: EnterpriseFact, recommender: str, learned: Mapping[str, LearnedScores],
                    ranked: Sequence[DangerFact], open_dangers: Sequence[DangerFact],
                    present: Mapping[str, Sequence[tuple[RiskPointFact, OwnMeasure]]]) -> dict[str, str]:
    """Everything each risk point's and ranked hidden danger's ranking reads (`subject_key` -> digest).

    Both read the enterprise's context (its industry, whose measures may be recommended, and the
    chemicals and processes whose paths reach every subject). A risk point reads its own facts and the
    open hidden dangers at it with what the learned part answered for them. A hidden danger reads its
    own facts and its answers, its risk point's facts, and the enterprise's own control measures as
    they map to the knowledge base's (`present`: which measures are already there, and where).
    """
    context = _digest(recommender, repr((e.uscc, e.industry, e.industry_code, e.processes, e.holdings)))
    at_point: dict[str | None, list[DangerFact]] = {}
    for d in sorted(open_dangers, key=lambda d: d.id):
        at_point.setdefault(d.risk_point, []).append(d)
    out = {}
    for rp in e.risk_points.values():
        dangers = at_point.get(rp.id, [])
        out[subject_key(RISK_POINT, rp.id)] = _digest(context, repr(rp), repr(dangers), learned_digest(learned, dangers))
    if ranked:
        measures = _digest(repr(sorted((mid, [(rp.id, rp.name, cm) for rp, cm in owners]) for mid, owners in present.items())))
        for d in ranked:
            point = e.risk_points.get(d.risk_point) if d.risk_point else None
            out[subject_key(HIDDEN_DANGER, d.id)] = _digest(context, measures, repr(d), repr(point),
                                                           learned_digest(learned, [d]))
    return out
