"""Check the names in the project's own Cypher against the ontology before it reaches a store.

A misspelt label or relationship type matches nothing and a misspelt property reads null: both
look like an empty province instead of a bug. Every statement the project sends passes through
:func:`check_cypher` (the store does it in `read`, `execute` and its own writes), which reads the
statement's

- node labels (`(n:Enterprise)`, `WHERE n:Region`, backtick-quoted names, Chinese ones too),
- relationship types (`-[:HAS_RISK_POINT|HOLDS*1..2]->`),
- property names: `x.prop` on a variable bound in a pattern, the keys of a pattern's property map
  (`(n:Enterprise {uscc: $k})`), and `.prop` entries of a map projection (`n {.name}`),

and refuses any the ontology does not declare. A property read on a variable whose labels the
statement names must belong to one of those classes (`e.deadline` on an Enterprise is an error); on
a variable of unknown label it must be a property of some class. Beside the declared properties a
node may carry the store's companions (`<time>Ms`, `<text>Tokens`, see `Ontology.stored_names`).
Map literals (`{a: 1}`), map variables (`UNWIND $rows AS row … row.k`), parameters, strings and
procedure names are not graph names and are left alone.

Analysts' own queries (`GraphStore.analyst_query`) are user input and are not refused; their
unknown names are only reported (:func:`cypher_problems`).

The result is cached per statement text, so the cost is paid once per distinct statement.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from riskgraph.ontology.errors import RiskGraphError
from riskgraph.ontology.model import Ontology

#: distinct statements remembered as checked, per ontology (statements are built from a finite set
#: of templates; the bound only guards against a caller that splices values into the text)
CACHE_SIZE = 20_000

_TOKEN = re.compile(
    r"""
      (?P<ws>\s+)
    | (?P<comment>//[^\n]*|/\*.*?\*/)
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<quoted>`(?:[^`]|``)*`)
    | (?P<param>\$(?:\w+|`(?:[^`]|``)*`))
    | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    | (?P<name>[^\W\d]\w*)
    | (?P<op>\.\.|->|<-|\+=|<=|>=|<>|=~|\S)
    """,
    re.VERBOSE | re.DOTALL,
)

#: words after which `(` opens a pattern or a grouping, not a function's arguments
_KEYWORDS = frozenset("""
    match optional merge create where and or xor not return with unwind in as on set delete detach
    remove when then else case end distinct order by skip limit union call yield is null starts ends
    contains for require options index constraint fulltext if each unique desc asc exists
""".split())
#: words after which `{` opens a subquery, not a map
_BLOCK_WORDS = frozenset({"call", "exists", "count", "collect"})


class CypherNameError(RiskGraphError, ValueError):
    """A statement names a label, relationship type or property the ontology does not declare."""

    def __init__(self, problems: list[str], query: str) -> None:
        self.problems = problems
        self.query = query
        shown = " ".join(query.split())
        if len(shown) > 300:
            shown = shown[:297] + "..."
        super().__init__(f"{'; '.join(problems)} — in Cypher: {shown}")


@dataclass(frozen=True)
class _Token:
    kind: str  # name | quoted | string | param | number | op
    text: str

    @property
    def is_name(self) -> bool:
        return self.kind in ("name", "quoted")

    @property
    def word(self) -> str:
        """The keyword this token spells (quoted names are never keywords)."""
        return self.text.lower() if self.kind == "name" else ""


def _is_op(tok: _Token | None, *texts: str) -> bool:
    return tok is not None and tok.kind == "op" and tok.text in texts


def _is_name(tok: _Token | None) -> bool:
    return tok is not None and tok.is_name


def _tokens(query: str) -> list[_Token]:
    out = []
    for m in _TOKEN.finditer(query):
        kind = m.lastgroup or "op"
        if kind in ("ws", "comment"):
            continue
        text = m.group()
        if kind == "quoted":
            text = text[1:-1].replace("``", "`")
        out.append(_Token(kind, text))
    return out


@dataclass
class _Element:
    """One node `( … )` or relationship `[ … ]` of a pattern: its variable and the names it carries."""

    rel: bool
    var: str | None = None
    names: list[str] = field(default_factory=list)


@dataclass
class _Context:
    """An open bracket: what kind it is, and the pattern element it is (when it is one)."""

    kind: str  # node | rel | call | list | map | props | projection | block
    element: _Element | None = None
    owner: str | None = None  # projection: the projected variable


@dataclass
class _Names:
    """Every graph name a statement uses, with what each property is read on."""

    labels: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    #: (property, element it is a map key of)
    map_keys: list[tuple[str, _Element]] = field(default_factory=list)
    #: (variable, property): `x.prop` and projections `x {.prop}`
    reads: list[tuple[str, str]] = field(default_factory=list)
    #: variable -> (is a relationship, labels or types it is given anywhere in the statement)
    bound: dict[str, tuple[bool, set[str]]] = field(default_factory=dict)


def _scan(query: str) -> _Names:
    toks = _tokens(query)
    names = _Names()
    stack: list[_Context] = []
    marked: set[int] = set()  # token positions of labels/types just read (a props map may follow)
    bound_at: set[int] = set()  # token positions of pattern variables

    def peek(i: int) -> _Token | None:
        return toks[i] if 0 <= i < len(toks) else None

    def inner() -> str:
        return stack[-1].kind if stack else "top"

    i = 0
    while i < len(toks):
        tok, prev, nxt = toks[i], peek(i - 1), peek(i + 1)
        text = tok.text if tok.kind == "op" else ""
        if text == "(":
            call = prev is not None and prev.is_name and prev.word not in _KEYWORDS
            stack.append(_Context("call") if call else _Context("node", _Element(rel=False)))
        elif text == "[":
            rel = _is_op(prev, "-", "<-")
            stack.append(_Context("rel", _Element(rel=True)) if rel else _Context("list"))
        elif text == "{":
            if prev is not None and prev.word in _BLOCK_WORDS:
                stack.append(_Context("block"))
            elif inner() in ("node", "rel") and (_is_op(prev, "(", "[") or (i - 1) in marked or (i - 1) in bound_at):
                stack.append(_Context("props", stack[-1].element))
            elif prev is not None and prev.is_name and prev.word not in _KEYWORDS:
                stack.append(_Context("projection", owner=prev.text))
            else:
                stack.append(_Context("map"))
        elif text in (")", "]", "}"):
            if stack:
                closed = stack.pop()
                el = closed.element
                if closed.kind in ("node", "rel") and el is not None and el.var is not None:
                    was_rel, given = names.bound.get(el.var, (el.rel, set()))
                    names.bound[el.var] = (was_rel or el.rel, given | set(el.names))
        elif text == ":" and inner() not in ("map", "props", "projection"):
            # a label (or, inside `-[ ]-`, a relationship type) and any `|B`, `&C`, `:D` after it
            is_type = inner() == "rel"
            j = i + 1
            while True:
                if _is_op(peek(j), "!"):
                    j += 1
                t = peek(j)
                if t is None or not t.is_name:
                    break
                (names.types if is_type else names.labels).append(t.text)
                if stack and stack[-1].element is not None and stack[-1].kind in ("node", "rel"):
                    stack[-1].element.names.append(t.text)
                marked.add(j)
                i = j
                if not _is_op(peek(j + 1), "|", "&", ":"):
                    break
                j += 3 if _is_op(peek(j + 1), "|") and _is_op(peek(j + 2), ":") else 2
        elif tok.is_name:
            ctx = stack[-1] if stack else None
            # a pattern variable: first inside `(` or `[`, followed by a label, a map or the end
            ends = (":", "{", ")") if ctx is not None and ctx.kind == "node" else (":", "{", "]", "*")
            if ctx is not None and ctx.element is not None and _is_op(prev, "(", "[") and _is_op(nxt, *ends):
                ctx.element.var = tok.text
                bound_at.add(i)
            # a key of a pattern's property map
            elif (ctx is not None and ctx.kind == "props" and ctx.element is not None
                  and _is_op(prev, "{", ",") and _is_op(nxt, ":")):
                names.map_keys.append((tok.text, ctx.element))
            # `x.prop` (not part of a longer dotted name such as a procedure's)
            elif _is_op(nxt, ".") and not _is_op(prev, ".") and _is_name(peek(i + 2)):
                if not _is_op(peek(i + 3), ".", "("):
                    names.reads.append((tok.text, toks[i + 2].text))
                i += 2
        elif (text == "." and stack and stack[-1].kind == "projection" and _is_op(prev, "{", ",")
              and nxt is not None and nxt.is_name):
            names.reads.append((stack[-1].owner or "", nxt.text))
            i += 1
        i += 1
    return names


class CypherChecker:
    """The ontology's names, and the statements already found to use only those."""

    def __init__(self, ontology: Ontology) -> None:
        self.onto = ontology
        self.labels = frozenset(ontology.labels)
        self.types = frozenset(ontology.relationship_types)
        self.any_property = frozenset(ontology.stored_names())
        self._per_label = {label: frozenset(ontology.stored_names(label)) for label in ontology.labels}
        self._checked: set[str] = set()

    def problems(self, query: str) -> list[str]:
        """What is wrong with the statement's names, in words; empty when nothing is."""
        if query in self._checked:
            return []
        names = _scan(query)
        out: list[str] = []
        seen: set[str] = set()

        def report(text: str) -> None:
            if text not in seen:
                seen.add(text)
                out.append(text)

        for label in names.labels:
            if label not in self.labels:
                report(f"unknown node label {label!r}")
        for rel_type in names.types:
            if rel_type not in self.types:
                report(f"unknown relationship type {rel_type!r}")
        for prop, element in names.map_keys:
            self._check_property(prop, element.rel, element.names, report)
        for var, prop in names.reads:
            if var in names.bound:
                is_rel, given = names.bound[var]
                self._check_property(prop, is_rel, sorted(given), report, var)
        if not out:
            if len(self._checked) >= CACHE_SIZE:
                self._checked.clear()
            self._checked.add(query)
        return out

    def _check_property(self, prop: str, is_rel: bool, given: list[str], report: Callable[[str], None],
                        var: str | None = None) -> None:
        where = f" (in {var}.{prop})" if var else ""
        if prop not in self.any_property:
            report(f"unknown property {prop!r}{where}")
            return
        classes = [g for g in given if g in self._per_label] if not is_rel else []
        if classes and not any(prop in self._per_label[c] for c in classes):
            report(f"property {prop!r} is not a property of {' or '.join(classes)}{where}")

    def check(self, query: str) -> str:
        """The statement itself, or CypherNameError naming every unknown name in it."""
        found = self.problems(query)
        if found:
            raise CypherNameError(found, query)
        return query


@lru_cache(maxsize=8)
def checker(ontology: Ontology) -> CypherChecker:
    """One checker (and its cache) per ontology object."""
    return CypherChecker(ontology)


def check_cypher(query: str, ontology: Ontology) -> str:
    """Refuse a statement of the project's that names anything the ontology does not declare."""
    return checker(ontology).check(query)


def cypher_problems(query: str, ontology: Ontology) -> list[str]:
    """The unknown names in a statement, without refusing it (for analysts' own queries)."""
    return checker(ontology).problems(query)


def names_in(query: str) -> Iterator[tuple[str, str]]:
    """(kind, name) of every graph name the checker reads in a statement: label, type or property."""
    found = _scan(query)
    yield from (("label", n) for n in found.labels)
    yield from (("type", n) for n in found.types)
    yield from (("property", p) for p, _ in found.map_keys)
    yield from (("property", p) for v, p in found.reads if v in found.bound)
