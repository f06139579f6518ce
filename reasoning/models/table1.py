"""GB 18218-2018 Table 1 as the model reads it: which entry (row) an inventory item falls under.

Several entries are qualified — 甲醛 (含量>90%), 硝酸 (>70%), 氯化氢 (无水), 硝酸铵 by combustible content,
the six 硝化纤维素 forms — so a name or CAS number alone does not pick the row. Each qualified entry carries
an `rg:condition` in the NamedChemical vocabulary ("content>90", "state=anhydrous", "wetting<25 and …");
an item states what it knows as intervals (含量 37 %, 可燃物 ≤ 0.2 %) and states (无水, 溶液). A condition
is then True (every value the item may have satisfies it), False (none does) or None (the item does not
say enough). The caller takes the lowest Q among the True rows; with none True it takes the lowest Q among
the rows not ruled out (the conservative row) and flags it; with every row ruled out the entry does not
apply and the item is a mixture or form that Table 2 classifies by its own category.

Names are matched on the vocabulary's labels and on their base names (the label without its bracketed
qualifier: "硝化纤维素（含水≥25%）" → "硝化纤维素"), so "硝酸铵" finds both 硝酸铵 entries and "硝酸铵肥料" only
its own. Parsing a free-text 规格 ("含量≥99.9%", "37%溶液", "可燃物≤0.2%") uses the words in
reasoning/config/major_hazard.toml [qualifiers].
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property

from riskgraph.ontology import Concept
from riskgraph.reasoning.models.vocab import vocabulary

STANDARD = "GB 18218-2018"


# ---------------------------------------------------------------- intervals
@dataclass(frozen=True)
class Interval:
    """A set of values [lo, hi] with open or closed ends (percentages by mass)."""

    lo: float = -math.inf
    hi: float = math.inf
    lo_closed: bool = True
    hi_closed: bool = True

    @classmethod
    def exactly(cls, x: float) -> Interval:
        return cls(x, x)

    @classmethod
    def of(cls, op: str, x: float) -> Interval:
        """The values v with `v op x` (op one of > >= < <= =)."""
        op = {"≥": ">=", "≤": "<=", "＝": "=", "＞": ">", "＜": "<", "==": "="}.get(op, op)
        if op == ">":
            return cls(x, math.inf, False, True)
        if op == ">=":
            return cls(x, math.inf, True, True)
        if op == "<":
            return cls(-math.inf, x, True, False)
        if op == "<=":
            return cls(-math.inf, x, True, True)
        if op == "=":
            return cls.exactly(x)
        raise ValueError(f"unknown comparison {op!r}")

    def __and__(self, other: Interval) -> Interval:
        lo, lo_closed = max((self.lo, self.lo_closed), (other.lo, other.lo_closed), key=lambda t: (t[0], not t[1]))
        hi, hi_closed = min((self.hi, self.hi_closed), (other.hi, other.hi_closed), key=lambda t: (t[0], t[1]))
        return Interval(lo, hi, lo_closed, hi_closed)

    def __add__(self, other: Interval) -> Interval:
        return Interval(self.lo + other.lo, self.hi + other.hi, self.lo_closed and other.lo_closed,
                        self.hi_closed and other.hi_closed)

    @property
    def empty(self) -> bool:
        return self.lo > self.hi or (self.lo == self.hi and not (self.lo_closed and self.hi_closed))

    def within(self, other: Interval) -> bool:
        """Every value of self is in other."""
        if self.empty:
            return True
        lo_ok = self.lo > other.lo or (self.lo == other.lo and (other.lo_closed or not self.lo_closed))
        hi_ok = self.hi < other.hi or (self.hi == other.hi and (other.hi_closed or not self.hi_closed))
        return lo_ok and hi_ok


PERCENT = Interval(0.0, 100.0)


# ---------------------------------------------------------------- what an item says about its form
@dataclass(frozen=True)
class Form:
    """Measured qualifiers (% by mass, as intervals) and states of one inventory item."""

    measures: Mapping[str, Interval]
    states: frozenset[str]

    def measure(self, name: str) -> Interval | None:
        if name == "wetting" and "wetting" not in self.measures:
            water, ethanol = self.measures.get("water"), self.measures.get("ethanol")
            if water is None and ethanol is None:
                return None
            return (water or PERCENT & Interval.of(">=", 0)) + (ethanol or PERCENT & Interval.of(">=", 0))
        return self.measures.get(name)


def item_form(*, concentration_pct: float | None, specification: str | None, name: str | None,
              qualifiers: Mapping[str, float] | None, states: Iterable[str], words: Mapping) -> Form:
    """The item's form from its explicit fields, its 规格 text and the bracket of its name."""
    measures: dict[str, Interval] = {}
    found: set[str] = set(states)
    for text in (specification, _bracket(name)):
        if text:
            parsed, text_states = parse_specification(text, words)
            for k, v in parsed.items():
                measures[k] = measures[k] & v if k in measures else v
            found |= text_states
    if name:
        found |= _states_in(_fold(name), words)
    for key, value in (qualifiers or {}).items():
        measures[key] = Interval.exactly(float(value))
    if concentration_pct is not None:
        measures["content"] = Interval.exactly(float(concentration_pct))
    return Form({k: v & PERCENT for k, v in measures.items()}, frozenset(found))


_NUMBER = r"(\d+(?:\.\d+)?)"
_OPS = r"(>=|<=|≥|≤|>|<|=|＞|＜|＝|:|：)?"


def parse_specification(text: str, words: Mapping) -> tuple[dict[str, Interval], set[str]]:
    """Measures and states in a free-text 规格: '含量≥99.9%' → content [99.9, 100]; '37%' → content 37."""
    folded = _fold(text)
    measures: dict[str, Interval] = {}
    taken: list[tuple[int, int]] = []
    names = sorted(((w, m) for m, ws in words["measures"].items() for w in ws), key=lambda t: -len(t[0]))
    for word, measure in names:
        for m in re.finditer(re.escape(_fold(word)) + r"\s*" + _OPS + r"\s*" + _NUMBER + r"\s*%", folded):
            if any(a <= m.start() < b for a, b in taken):
                continue
            op = m.group(1) if m.group(1) not in (None, ":", "：") else "="
            value = Interval.of(op, float(m.group(2)))
            measures[measure] = measures[measure] & value if measure in measures else value
            taken.append((m.start(), m.end()))
    for m in re.finditer(_OPS + r"\s*" + _NUMBER + r"\s*%", folded):
        if any(a <= m.start() < b or a < m.end() <= b for a, b in taken) or "content" in measures:
            continue
        op = m.group(1) if m.group(1) not in (None, ":", "：") else "="
        measures["content"] = Interval.of(op, float(m.group(2)))
    return measures, _states_in(folded, words)


def _states_in(folded: str, words: Mapping) -> set[str]:
    return {state for state, ws in words["states"].items() if any(_fold(w) in folded for w in ws)}


_SOLUTION_SUFFIX = re.compile(r"(水溶液|溶液)$")
_BRACKET = re.compile(r"[（(［\[](.*?)[)）］\]]")


def _bracket(name: str | None) -> str | None:
    if not name:
        return None
    parts = _BRACKET.findall(unicodedata.normalize("NFKC", name))
    return " ".join(parts) or None


def base_name(text: str) -> str:
    """The label without bracketed qualifiers and a leading/trailing percentage ('37%甲醛溶液' → '甲醛溶液')."""
    t = _BRACKET.sub("", unicodedata.normalize("NFKC", text))
    t = re.sub(r"^\s*\d+(?:\.\d+)?\s*%\s*", "", t)
    t = re.sub(r"\s*\d+(?:\.\d+)?\s*%\s*$", "", t)
    return t.strip()


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


# ---------------------------------------------------------------- conditions
@dataclass(frozen=True)
class Clause:
    measure: str          # a measure name, or "state"
    interval: Interval | None = None
    state: str | None = None


_CLAUSE = re.compile(r"^\s*([a-z_]+)\s*(>=|<=|>|<|=)\s*([0-9.]+|[a-z_]+)\s*$")


@cache
def parse_condition(text: str) -> tuple[Clause, ...]:
    """'content>90' / 'state=anhydrous' / 'a<=1 and b>=2' → clauses (all must hold)."""
    clauses = []
    for part in text.split(" and "):
        m = _CLAUSE.match(part)
        if not m:
            raise ValueError(f"cannot read the Table 1 condition {text!r}")
        measure, op, value = m.groups()
        if measure == "state":
            if op != "=":
                raise ValueError(f"a state condition is 'state=<word>', not {part!r}")
            clauses.append(Clause("state", state=value))
        else:
            clauses.append(Clause(measure, interval=Interval.of(op, float(value))))
    return tuple(clauses)


def evaluate(condition: str | None, form: Form, states: Mapping) -> bool | None:
    """True if the item certainly meets the entry's condition, False if it certainly does not, else None."""
    if not condition:
        return True
    results = [_clause(c, form, states) for c in parse_condition(condition)]
    if any(r is False for r in results):
        return False
    if all(r is True for r in results):
        return True
    return None


def _clause(clause: Clause, form: Form, states: Mapping) -> bool | None:
    if clause.measure == "state":
        spec = states.get(clause.state, {})
        if clause.state in form.states:
            return True
        if form.states & set(spec.get("contrary", ())):
            return False
        floor = spec.get("min_content_pct")
        content = form.measure("content")
        if floor is not None and content is not None:
            if content.within(Interval.of(">=", float(floor))):
                return True
            if (content & Interval.of(">=", float(floor))).empty:
                return False
        return None
    value = form.measure(clause.measure)
    if value is None:
        return None
    if clause.interval is None:
        return None  # a clause without a range decides nothing
    if value.within(clause.interval):
        return True
    if (value & clause.interval).empty:
        return False
    return None


# ---------------------------------------------------------------- the index
@dataclass(frozen=True)
class Row:
    """One Table 1 entry (or 一氧化碳, named in entry 13) as a NamedChemical concept."""

    concept: Concept

    @property
    def entry(self) -> int | None:
        value = self.concept.data.get("tableEntry")
        return None if value is None else int(value)

    @property
    def Q(self) -> float:  # noqa: N802 -- the standard's symbol
        return float(self.concept.data["criticalQuantity"])

    @property
    def condition(self) -> str | None:
        return self.concept.data.get("condition")

    @property
    def source(self) -> str:
        return f"{STANDARD} 表1 第{self.entry}项" if self.entry is not None else f"{STANDARD} 表3"

    @property
    def label(self) -> str:
        return self.concept.pref_zh


@dataclass(frozen=True)
class Table1:
    rows: tuple[Row, ...]
    by_cas: Mapping[str, tuple[Row, ...]]
    by_name: Mapping[str, tuple[Row, ...]]

    def is_entry_label(self, name: str | None) -> bool:
        """The name is a row's own label ('甲醛（含量>90%）'): its bracket restates the entry, not the item."""
        return name is not None and _fold(name) in self._labels

    @cached_property
    def _labels(self) -> frozenset[str]:
        return frozenset(_fold(r.label) for r in self.rows)

    def candidates(self, name: str | None, cas: str | None) -> tuple[tuple[Row, ...], str | None]:
        """Rows the item may fall under, and a flag when its name and CAS number point at different ones.

        A name finds the rows whose label or base name it is (the more specific: '硝酸铵肥料' is one entry);
        a CAS number those that carry it. When both find rows, they must agree: a name that finds only rows
        without a CAS number (硝酸铵肥料) narrows the CAS rows' group; otherwise the CAS number wins.
        """
        by_cas = self.by_cas.get(_fold(cas), ()) if cas else ()
        by_name: tuple[Row, ...] = ()
        if name:
            base = base_name(name)
            for text in (name, base, _SOLUTION_SUFFIX.sub("", base)):
                by_name = self.by_name.get(_fold(text), ())
                if by_name:
                    break
        if by_cas and by_name:
            common = tuple(r for r in by_name if r in by_cas)
            if common:
                return common, None
            groups = {r.concept.data.get("entryGroup") for r in by_cas} - {None}
            if all(r.concept.data.get("casNumber") is None and r.concept.data.get("entryGroup") in groups for r in by_name):
                return by_name, None
            return by_cas, "name-cas-disagree"
        return by_cas or by_name, None


@cache
def table1() -> Table1:
    """The NamedChemical vocabulary indexed by CAS number (incl. the alternative CAS numbers in altLabels)
    and by every label and base name."""
    rows = tuple(Row(c) for c in vocabulary("NamedChemical").concepts.values() if "criticalQuantity" in c.data)
    cas: dict[str, list[Row]] = defaultdict(list)
    names: dict[str, list[Row]] = defaultdict(list)
    cas_like = re.compile(r"^\d{2,7}-\d{2}-\d$")
    for row in rows:
        c = row.concept
        if c.data.get("casNumber"):
            _add(cas, c.data["casNumber"], row)
        for text in (c.pref_zh, c.pref_en, *c.alt_labels):
            if not text:
                continue
            if cas_like.match(text):
                _add(cas, text, row)
                continue
            _add(names, text, row)
            _add(names, base_name(text), row)
        if c.data.get("entryGroup"):
            _add(names, c.data["entryGroup"], row)
    return Table1(rows, {k: tuple(v) for k, v in cas.items()}, {k: tuple(v) for k, v in names.items()})


def _add(index: dict[str, list[Row]], text: str, row: Row) -> None:
    key = _fold(text)
    if key and row not in index[key]:
        index[key].append(row)


def lowest(rows: Sequence[Row]) -> Row:
    """The row with the lowest Q (the conservative one); the lower entry number on a tie."""
    return min(rows, key=lambda r: (r.Q, r.entry or 0))
