"""Field language → knowledge-base entries: keyword terms kept as data in the knowledge base.

Enterprises and inspectors write measures and hidden dangers in their own words
("拆卸安全阀送检校验并铅封"). Each knowledge-base entry (a control measure type, a hazard pattern, an equipment concept)
carries `rg:fieldTerms`: terms of the form ``A|B+C`` — every ``+`` group must occur in the text, in
any of its ``|`` alternatives. This module only interprets that syntax; the terms themselves live in
``ontology/control_measures.ttl``.

Matching is deterministic: a text can name several entries ("降低库水位，委托设计单位制定坝体加固方案"),
so matches are taken best first (most matched characters) and a weaker match is kept only if it uses
none of the characters a stronger one already used.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

#: what separates independent measures in one rectification text (the generator joins with "；")
CLAUSE_SPLIT = re.compile(r"[；;。\n]+")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """NFKC (full-width → half-width), case folded, whitespace removed."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text or "")).casefold()


@dataclass(frozen=True)
class Term:
    """One term: every group must match, each by one of its alternatives."""

    source: str
    groups: tuple[tuple[str, ...], ...]

    @classmethod
    def parse(cls, text: str) -> Term:
        groups = []
        for group in normalise(text).split("+"):
            alternatives = tuple(sorted({a for a in group.split("|") if a}, key=lambda a: (-len(a), a)))
            if not alternatives:
                raise ValueError(f"empty group in field term {text!r}")
            groups.append(alternatives)
        if not groups:
            raise ValueError(f"empty field term {text!r}")
        return cls(text, tuple(groups))

    def match(self, text: str) -> tuple[int, tuple[tuple[int, int], ...], tuple[str, ...]] | None:
        """(matched characters, spans, matched words), or None. Longest alternative first."""
        spans, words = [], []
        for alternatives in self.groups:
            for alt in alternatives:
                at = text.find(alt)
                if at >= 0:
                    spans.append((at, at + len(alt)))
                    words.append(alt)
                    break
            else:
                return None
        return sum(e - s for s, e in spans), tuple(spans), tuple(words)


@dataclass(frozen=True)
class Match:
    key: str
    score: int
    words: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]


class Matcher:
    """Terms per entry key; `match(text)` → the entries the text names, best first."""

    def __init__(self, terms: Mapping[str, Iterable[str]]) -> None:
        self.terms: dict[str, tuple[Term, ...]] = {
            key: tuple(Term.parse(t) for t in texts) for key, texts in sorted(terms.items())
        }

    def candidates(self, text: str) -> list[Match]:
        norm = normalise(text)
        found = []
        for key, terms in self.terms.items():
            best = None
            for term in terms:
                hit = term.match(norm)
                if hit is not None and (best is None or hit[0] > best.score):
                    best = Match(key, hit[0], hit[2], hit[1])
            if best is not None:
                found.append(best)
        found.sort(key=lambda m: (-m.score, m.key))
        return found

    def match(self, text: str) -> list[Match]:
        """Non-overlapping matches, strongest first (ties by key, so the result is stable)."""
        used: set[int] = set()
        out = []
        for cand in self.candidates(text):
            chars = {i for s, e in cand.spans for i in range(s, e)}
            if chars & used:
                continue
            used |= chars
            out.append(cand)
        return out

    def match_clauses(self, text: str) -> list[Match]:
        """Split a text into clauses (；), match each; one entry once (its strongest match)."""
        best: dict[str, Match] = {}
        for clause in clauses(text):
            for m in self.match(clause):
                if m.key not in best or m.score > best[m.key].score:
                    best[m.key] = m
        return sorted(best.values(), key=lambda m: (-m.score, m.key))


def clauses(text: str | None) -> list[str]:
    return [c.strip() for c in CLAUSE_SPLIT.split(text or "") if c.strip()]


def contains_any(text: str, labels: Sequence[str]) -> str | None:
    """The longest label occurring in the text (normalised), or None."""
    norm = normalise(text)
    for label in sorted({normalise(x) for x in labels if x}, key=lambda x: (-len(x), x)):
        if label and label in norm:
            return label
    return None
