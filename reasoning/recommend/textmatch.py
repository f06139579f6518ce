"""Field language → knowledge-base entries, matched on jieba words with synonyms, negation and qualifiers.

Enterprises and inspectors write hidden dangers and measures in their own words ("爆炸危险区域使用非防爆照明
灯具", "受限空间作业前未检测"). Each knowledge-base entry (a control measure type, a hazard pattern, an
equipment concept) carries `rg:fieldTerms`; this module interprets them, the terms themselves live in
``ontology/control_measures.ttl``.

Term syntax: ``A|B+C`` — every ``+`` group must occur, by any of its ``|`` alternatives. An alternative
is a word, optionally prefixed:

- ``word``   the word occurs (negated or not);
- ``~word``  the word occurs negated: after 未/不/无/没有/缺少… in the same clause, or right after 非
  ("非防爆" negates 防爆, not the 照明灯具 that follows);
- ``!word``  the word occurs and is not negated.

A word is matched at jieba word boundaries (``Tokenizer.tokenize(mode="search")``, with every
knowledge-base word in the dictionary), never inside another word: "照明" matches "照明灯具" (jieba
knows 照明 as a word in it) but "警戒" does not match "预警戒备"-style accidents of spelling. A word that
is a label of a synonym set (the FieldTerm SKOS scheme: prefLabel + altLabels, e.g. 有限空间 / 受限空间,
未投用 / 未投入使用 / 停用) matches every label of the set. Qualifiers (少于, 超过, 不足, 缺失) are ordinary
words with synonym sets, so a pattern can require one: ``干滩+少于``.

Matching is deterministic: a text can name several entries ("降低库水位，委托设计单位制定坝体加固方案"),
so matches are taken best first (most matched characters) and a weaker match is kept only if it uses
none of the characters a stronger one already used.
"""
from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache

#: what separates independent measures in one rectification text (the generator joins with "；")
CLAUSE_SPLIT = re.compile(r"[；;。\n]+")
_SPACE = re.compile(r"\s+")

#: tokens that end a negation's scope (after NFKC: full-width ，；：！？ become ASCII)
CLAUSE_BREAKS = frozenset(",;。!?:\n，；：！？")
#: words that negate what follows them in the same clause
NEGATORS = frozenset({
    "未", "不", "无", "没", "没有", "未经", "尚未", "并未", "从未", "未曾", "未能", "不能", "不得", "无法",
    "缺少", "缺乏", "未予", "均未", "仍未", "都未", "也未", "不是", "并非", "不属于", "不再", "未再",
})
#: words that negate only the next word ("非防爆照明灯具": the lamps are not explosion-proof)
PREFIX_NEGATORS = frozenset({"非"})
#: leading characters that make an unknown jieba word a negation of its rest ("未投运", "没装")
_NEGATING_LEAD = frozenset("未没")


def normalise(text: str) -> str:
    """NFKC (full-width → half-width), case folded, whitespace removed."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text or "")).casefold()


@dataclass(frozen=True)
class Atom:
    """One alternative of a group: a word and the polarity it must occur with ("any", "neg", "pos")."""

    word: str
    polarity: str = "any"

    @classmethod
    def parse(cls, text: str) -> Atom:
        polarity = {"~": "neg", "!": "pos"}.get(text[:1], "any")
        word = text[1:] if polarity != "any" else text
        if not word or word[:1] in "~!":
            raise ValueError(f"empty or doubly marked word {text!r}")
        return cls(word, polarity)


@dataclass(frozen=True)
class Term:
    """One term: every group must match, each by one of its alternatives."""

    source: str
    groups: tuple[tuple[Atom, ...], ...]

    @classmethod
    def parse(cls, text: str) -> Term:
        groups = []
        for group in normalise(text).split("+"):
            alternatives = {Atom.parse(a) for a in group.split("|") if a}
            if not alternatives:
                raise ValueError(f"empty group in field term {text!r}")
            groups.append(tuple(sorted(alternatives, key=lambda a: (-len(a.word), a.word, a.polarity))))
        return cls(text, tuple(groups))

    def words(self) -> set[str]:
        return {a.word for g in self.groups for a in g}


@dataclass(frozen=True)
class Analysis:
    """A text as the matcher sees it: normalised, its word boundaries, the negated character positions."""

    text: str
    starts: frozenset[int]
    ends: frozenset[int]
    negated: frozenset[int]
    words: tuple[str, ...]

    def occurrences(self, surface: str) -> list[int]:
        """Start offsets where `surface` occurs as a whole word sequence (jieba boundaries at both ends)."""
        out, at = [], self.text.find(surface)
        while at >= 0:
            if at in self.starts and at + len(surface) in self.ends:
                out.append(at)
            at = self.text.find(surface, at + 1)
        return out


class Lexicon:
    """The domain vocabulary: a private jieba dictionary with every knowledge-base word, and the synonym sets.

    Kept apart from jieba's global tokenizer so that other modules' segmentation does not change.
    """

    def __init__(self, synonyms: Iterable[Iterable[str]] = (), words: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for group in synonyms:
            labels = [normalise(x) for x in group if x]
            for label in labels[1:]:
                parent[find(label)] = find(labels[0])
            if labels:
                find(labels[0])
        members: dict[str, set[str]] = {}
        for label in parent:
            members.setdefault(find(label), set()).add(label)
        self._sets: dict[str, tuple[str, ...]] = {
            label: tuple(sorted(group, key=lambda x: (-len(x), x)))
            for group in members.values() if len(group) > 1 for label in group
        }
        self._words: set[str] = set()
        self._cache: dict[str, Analysis] = {}
        self.add_words(words)
        self.add_words(self._sets)

    @cached_property
    def _tokenizer(self):
        import jieba

        jieba.setLogLevel(logging.WARNING)
        tk = jieba.Tokenizer()
        tk.initialize()
        return tk

    def add_words(self, words: Iterable[str]) -> None:
        """Make jieba keep these words whole (analyses made before are dropped)."""
        new = {normalise(w) for w in words if w} - self._words
        new = {w for w in new if len(w) >= 2}
        if not new:
            return
        with self._lock:
            self._words |= new
            self._cache.clear()
            Lexicon._splits.cache_clear()
            if "_tokenizer" in self.__dict__:
                for w in sorted(new):
                    self._tokenizer.add_word(w)

    def _ensure_loaded(self) -> None:
        if "_tokenizer" not in self.__dict__:
            tk = self._tokenizer
            for w in sorted(self._words):
                tk.add_word(w)

    def surfaces(self, word: str) -> tuple[str, ...]:
        """Every label of the word's synonym set (the word itself when it has none), longest first."""
        return self._sets.get(word, (word,))

    def canonical(self, word: str) -> str:
        """One stable representative of the word's synonym set (for explanations)."""
        labels = self._sets.get(word)
        return min(labels, key=lambda x: (len(x), x)) if labels else word

    def _known(self, piece: str) -> bool:
        return piece in self._words or self._tokenizer.FREQ.get(piece, 0) > 0

    @lru_cache(maxsize=50_000)  # noqa: B019 - one lexicon per knowledge base, kept for the process
    def _splits(self, word: str) -> frozenset[int]:
        """Offsets inside `word` where it splits into dictionary words, with at most one unknown affix of one
        or two characters at either end (厂内 + 机动车辆, 接地 + 线; not 一 + 氧化 + 碳)."""
        n = len(word)
        # paths[(i, affix)]: split points of the ways word[:i] tiles, `affix` = the unknown affix is used
        paths: dict[tuple[int, int], set[int]] = {(0, 0): set()}
        for i in range(n):
            for affix in (0, 1):
                if (i, affix) not in paths:
                    continue
                for j in range(i + 1, n + 1):
                    if (i, j) == (0, n):
                        continue
                    piece = word[i:j]
                    known = len(piece) > 1 and self._known(piece)
                    unknown_ok = not known and affix == 0 and len(piece) <= 2 and (i == 0 or j == n)
                    if not known and not unknown_ok:
                        continue
                    state = (j, affix + (0 if known else 1))
                    paths.setdefault(state, set()).update(paths[(i, affix)] | ({i} - {0}))
        return frozenset(paths.get((n, 0), set()) | paths.get((n, 1), set()))

    def is_word(self, word: str) -> bool:
        return word in self._words

    def analyse(self, text: str) -> Analysis:
        norm = normalise(text)
        hit = self._cache.get(norm)
        if hit is not None:
            return hit
        with self._lock:
            self._ensure_loaded()
            tk = self._tokenizer
            coarse = list(tk.tokenize(norm, HMM=False))
            starts = {s for _, s, _ in coarse}
            ends = {e for _, _, e in coarse}
            for word, s, _e in coarse:
                # a word is also found inside a longer word that is made of it and other dictionary words,
                # with at most one one-character affix: 照明 in 照明灯, 监测 in 在线监测, 台阶 in 分台阶 —
                # but not 氧化 in 一氧化碳 (一 + 氧化 + 碳)
                inner = {s + i for i in self._splits(word)} if len(word) > 2 else set()
                starts |= inner
                ends |= inner
        negated: set[int] = set()
        in_scope = prefix = False
        for word, s, e in coarse:
            if word in CLAUSE_BREAKS:
                in_scope = prefix = False
                continue
            if in_scope:
                negated.update(range(s, e))
            elif prefix:
                negated.update(range(s, e))
                prefix = False
            if word in NEGATORS:
                in_scope = True
            elif word in PREFIX_NEGATORS:
                prefix = True
            elif len(word) > 1 and word[0] in _NEGATING_LEAD:
                # a word like 未设置, 未投运 or 没装: negates its own rest and what follows
                negated.update(range(s + 1, e))
                starts.add(s + 1)
                in_scope = True
            elif len(word) > 1 and word not in self._words and word[0] == "非":
                negated.update(range(s + 1, e))
                starts.add(s + 1)
        analysis = Analysis(norm, frozenset(starts), frozenset(ends), frozenset(negated),
                            tuple(w for w, _, _ in coarse))
        with self._lock:
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[norm] = analysis
        return analysis


_DEFAULT: Lexicon | None = None


def default_lexicon() -> Lexicon:
    """A lexicon without synonyms, for matchers built outside a knowledge base."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Lexicon()
    return _DEFAULT


@dataclass(frozen=True)
class Match:
    key: str
    score: int
    words: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]


class Matcher:
    """Terms per entry key; `match(text)` → the entries the text names, best first."""

    def __init__(self, terms: Mapping[str, Iterable[str]], lexicon: Lexicon | None = None) -> None:
        self.terms: dict[str, tuple[Term, ...]] = {
            key: tuple(Term.parse(t) for t in texts) for key, texts in sorted(terms.items())
        }
        self.lexicon = lexicon or default_lexicon()
        self.lexicon.add_words(w for ts in self.terms.values() for t in ts for w in t.words())
        # per term, per group: every surface that could satisfy it (a cheap pre-check before boundaries)
        self._needs = {key: tuple(tuple(frozenset(x for a in g for x in self.lexicon.surfaces(a.word))
                                        for g in t.groups) for t in ts)
                       for key, ts in self.terms.items()}
        self._surfaces = frozenset(x for needs in self._needs.values() for groups in needs for g in groups for x in g)

    def _atom(self, analysis: Analysis, atom: Atom) -> tuple[int, str] | None:
        for surface in self.lexicon.surfaces(atom.word):
            for at in analysis.occurrences(surface):
                negated = at in analysis.negated
                if atom.polarity == "any" or (atom.polarity == "neg") == negated:
                    return at, surface
        return None

    def _term(self, analysis: Analysis, term: Term) -> tuple[int, tuple[tuple[int, int], ...], tuple[str, ...]] | None:
        spans, words = [], []
        for alternatives in term.groups:
            for atom in alternatives:
                hit = self._atom(analysis, atom)
                if hit is not None:
                    at, surface = hit
                    spans.append((at, at + len(surface)))
                    words.append(surface)
                    break
            else:
                return None
        return sum(e - s for s, e in spans), tuple(spans), tuple(words)

    def candidates(self, text: str) -> list[Match]:
        analysis = self.lexicon.analyse(text)
        present = {x for x in self._surfaces if x in analysis.text}
        found = []
        for key, terms in self.terms.items():
            best = None
            for term, needs in zip(terms, self._needs[key], strict=True):
                if any(present.isdisjoint(g) for g in needs):
                    continue
                hit = self._term(analysis, term)
                if hit is not None and (best is None or hit[0] > best.score):
                    best = Match(key, hit[0], hit[2], hit[1])
            if best is not None:
                found.append(best)
        found.sort(key=lambda m: (-m.score, m.key))
        return found

    def match(self, text: str, keep: Callable[[str], bool] | None = None,
              prefer: Callable[[str], int] | None = None) -> list[Match]:
        """Non-overlapping matches, strongest first (ties by key, so the result is stable).

        With `prefer(key)` (lower first), preferred entries compete before the others, strongest first.

        `keep(key)` filters the candidates before they compete for the text's characters.
        """
        used: set[int] = set()
        out = []
        found = self.candidates(text)
        if prefer is not None:
            found.sort(key=lambda m: (prefer(m.key), -m.score, m.key))
        for cand in found:
            if keep is not None and not keep(cand.key):
                continue
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
