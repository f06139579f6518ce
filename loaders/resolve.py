"""Entity resolution for enterprises: which registered enterprise a source record is about.

For a regulator the worst data error is a penalty, an accident or a hidden danger on the wrong
company, so a record is linked only on evidence that tells companies apart (`matching/decide.py`):
a registered USCC; the registered full name; 字号 + 行业 with the county agreeing or a second
field agreeing; a near name only with a second field agreeing. Whatever is plausible but not
certain goes to review (an analyst decides, the decision is kept); the rest has no match and is
quarantined. Every outcome carries its method, score, candidates and reasons.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path

from riskgraph.graph.collector import paused
from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.loaders.fields import raw_value
from riskgraph.loaders.mapping import EnterpriseSpec
from riskgraph.loaders.matching.blocking import Blocker, name_keys
from riskgraph.loaders.matching.compare import Comparison, compare, stated_places
from riskgraph.loaders.matching.decide import KEEP, Decision, decide, excluded_unseen
from riskgraph.loaders.matching.name_keys import NameKeys, default_folder
from riskgraph.loaders.matching.records import Entry, Query, clean_phone, clean_text
from riskgraph.loaders.matching.scorer import Scorer, default_scorer
from riskgraph.loaders.normalise.regions import region_from_address, region_table
from riskgraph.loaders.normalise.uscc import parse_uscc
from riskgraph.ontology.anchors import ADDRESS, ENTERPRISE, LEGAL_REP, LICENCE, PERSON, PHONE, REGION_CODE

LINK, REVIEW, NONE = "link", "review", "none"
#: resolutions kept for records asked again: a source's rows about one enterprise come together
#: (a 100,000-enterprise export: 31 % of the inspections named without a code and 60 % of the public
#: reports repeat one of the 4,096 before them, and no more with a longer memory)
RECENT = 4096


@dataclass(frozen=True)
class Candidate:
    uscc: str
    name: str
    region: str | None
    score: float
    level: str
    reasons: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"uscc": self.uscc, "name": self.name, "regionCode": self.region, "score": self.score,
                "level": self.level, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class Resolution:
    uscc: str | None
    method: str  # uscc | name | name_region | name_second_field | review_decision | none
    score: float
    reasons: tuple[str, ...] = ()
    #: several enterprises fit (or one might): an analyst must decide
    ambiguous: bool = False
    outcome: str = NONE
    candidates: tuple[Candidate, ...] = field(default=(), compare=False)

    @property
    def resolved(self) -> bool:
        return self.uscc is not None


def _candidate(c: Comparison) -> Candidate:
    return Candidate(c.entry.uscc, c.entry.name, c.entry.region, round(c.score, 4), c.level, tuple(c.reasons))


class EnterpriseIndex:
    """Every registered enterprise as resolution needs it, with the block keys to find candidates."""

    def __init__(self, scorer: Scorer | None = None, names: NameKeys | None = None) -> None:
        self.blocker = Blocker(names)
        self.scorer = scorer or default_scorer()
        #: the last RECENT records asked (a Query is equal and hashed by its fields: all a resolution
        #: depends on besides the index) → (the blocker's version then, their resolution)
        self._recent: OrderedDict[Query, tuple[int, Resolution]] = OrderedDict()

    @property
    def by_uscc(self) -> dict[str, Entry]:
        return self.blocker.entries

    def region_of(self, uscc: str) -> str | None:
        entry = self.blocker.entries.get(uscc)
        return entry.region if entry else None

    def add(self, uscc: str, name: str, region: str | None, *, address: str | None = None,
            legal_rep: str | None = None, phones: set[str] | None = None, licences: set[str] | None = None) -> None:
        """Add or update one enterprise (a registry row just loaded)."""
        previous = self.blocker.entries.get(uscc)
        # folded as a record's are (blocking and comparison look them up as cleaned text)
        phone_keys = {p for p in (clean_phone(x) for x in phones or ()) if p}
        licence_keys = {c for c in (clean_text(x) for x in licences or ()) if c}
        entry = Entry(uscc, name, region, address, legal_rep,
                      phone_keys | (previous.phones if previous else set()),
                      licence_keys | (previous.licences if previous else set()), parse=self.blocker.names.parsed)
        self.blocker.add(entry)

    @classmethod
    def from_store(cls, store: GraphStore, scorer: Scorer | None = None, keys_folder: Path | None = None) -> EnterpriseIndex:
        """Every registered enterprise; the names' block keys are read from and kept in `keys_folder`'s
        cache (default: `cache/` in the data directory), as computing them is most of the cost."""
        with paused():  # it builds only what the load keeps (graph/collector.py)
            return cls._build(store, scorer, keys_folder)

    @classmethod
    def _build(cls, store: GraphStore, scorer: Scorer | None, keys_folder: Path | None) -> EnterpriseIndex:
        index = cls(scorer, NameKeys(name_keys, keys_folder or default_folder()))
        onto = store.ontology
        key = ident(onto.key_of(ENTERPRISE))
        label = ident(ENTERPRISE)
        licences: dict[str, set[str]] = {}
        for rel in onto.relations_from(ENTERPRISE):
            if rel.range == LICENCE:
                for row in store.read(f"MATCH (e:{label})-[:{ident(rel.type)}]->(l:{ident(LICENCE)}) "
                                      f"RETURN e.{key} AS u, l.{ident(onto.key_of(LICENCE))} AS l"):
                    licences.setdefault(row["u"], set()).add(str(row["l"]))
        phones: dict[str, set[str]] = {}
        for rel in onto.relations_from(ENTERPRISE):
            if rel.range == PERSON:
                for row in store.read(f"MATCH (e:{label})-[:{ident(rel.type)}]->(p:{ident(PERSON)}) "
                                      f"WHERE p.{PHONE.name} IS NOT NULL RETURN e.{key} AS u, p.{PHONE.name} AS p"):
                    phone = clean_phone(row["p"])
                    if phone:
                        phones.setdefault(row["u"], set()).add(phone)
        for row in store.read(f"MATCH (e:{label}) RETURN e.{key} AS u, e.name AS n, e.{REGION_CODE} AS r, "
                              f"e.{ADDRESS.name} AS a, e.{LEGAL_REP.name} AS l"):
            if row["n"]:
                index.add(row["u"], row["n"], row["r"], address=row["a"], legal_rep=row["l"],
                          phones=phones.get(row["u"]), licences=licences.get(row["u"]))
        index.blocker.names.save(entry.name for entry in index.by_uscc.values())
        return index

    # ------------------------------------------------------------------ resolving
    def compare_all(self, query: Query) -> list[Comparison]:
        """Every blocked candidate compared and scored, best first."""
        return sorted(self._scored(query, self.blocker.candidates(query)), key=lambda c: (-c.score, c.rank, c.entry.uscc))

    def _scored(self, query: Query, entries: Iterable[Entry]) -> list[Comparison]:
        out = []
        for entry in entries:
            comp = compare(query, entry)
            comp.score = self.scorer.score(comp.features)
            out.append(comp)
        return out

    def _decide(self, query: Query) -> Decision:
        """`decide` over the blocked candidates, comparing first only those it might link, review or
        weigh as a rival: the others (`excluded_unseen`) only count in the list a record with no
        match shows, and are compared only then. At 100,000 enterprises a name shares a one-deletion
        key with ≈ 75 registered names (5 at 10,000) and ≈ 97 % of them are excluded, each full
        comparison ≈ 35 µs. The decision is the one over every candidate at once."""
        shown: list[Entry] = []
        unseen: list[Entry] = []
        stated = stated_places(query)
        for entry in self.blocker.candidates(query):
            (unseen if excluded_unseen(query, entry, stated) else shown).append(entry)
        comparisons = self._scored(query, shown)
        decision = decide(query, comparisons)
        if decision.outcome == NONE and unseen:
            decision = decide(query, comparisons + self._scored(query, unseen))
        return decision

    def match(self, query: Query) -> Resolution:
        """Resolve a record given as a Query (the loader's rows and the /match endpoint). A record
        asked again (the same fields: a site inspected twice, a report sent by several people) gets
        the resolution of the last time, while no enterprise has been added or changed since."""
        found = self._recent.get(query)
        if found is not None and found[0] == self.blocker.version:
            return found[1]
        resolution = self._match(query)
        # each step one call on the dict, as the service's threads share the index
        self._recent[query] = (self.blocker.version, resolution)
        while len(self._recent) > RECENT:
            with suppress(KeyError):  # another thread took the oldest first
                self._recent.popitem(last=False)
        return resolution

    def _match(self, query: Query) -> Resolution:
        reasons: list[str] = []
        code = query.code
        if code is not None:
            entry = self.blocker.entries.get(code.code)
            if entry is not None:
                return self._by_uscc(query, entry)
            reasons.append(f"USCC {code.code} is not registered")
        elif query.uscc_text:
            reasons.append(f"{query.uscc!r} is not a well-formed USCC")
        if query.parsed is None or not query.parsed.body:
            return Resolution(None, "none", 0.0, tuple(reasons + ["no name to match on"]))
        decision = self._decide(query)
        candidates = tuple(_candidate(c) for c in decision.ranked[:KEEP])
        if decision.outcome == LINK and decision.chosen is not None:
            chosen = decision.chosen
            method = ("name" if chosen.level == "exact_full" else
                      "name_second_field" if chosen.second else "name_region")
            return Resolution(chosen.entry.uscc, method, round(chosen.score, 4),
                              tuple(reasons + [decision.why] + chosen.reasons), outcome=LINK, candidates=candidates)
        return Resolution(None, "none", round(decision.ranked[0].score, 4) if decision.ranked else 0.0,
                          tuple(reasons + [decision.why]), ambiguous=decision.outcome == REVIEW,
                          outcome=decision.outcome, candidates=candidates)

    def _by_uscc(self, query: Query, entry: Entry) -> Resolution:
        """A registered USCC links, unless the record's name plainly names another company."""
        found = f"USCC {entry.uscc} is registered"
        if query.parsed is None or not query.parsed.body:
            return Resolution(entry.uscc, "uscc", 1.0, (found,), outcome=LINK)
        comp = compare(query, entry)
        comp.score = self.scorer.score(comp.features)
        candidate = _candidate(comp)
        if comp.level == "exact_full":  # the code and its registered name: nothing to weigh
            return Resolution(entry.uscc, "uscc", 1.0, (found, *comp.reasons[:1]), outcome=LINK, candidates=(candidate,))
        named = replace(query, uscc=None)
        by_name = self._decide(named)
        other = by_name.chosen if by_name.outcome == LINK and by_name.chosen is not None \
            and by_name.chosen.entry.uscc != entry.uscc else None
        if other is not None or comp.blocks or comp.name_place_contradicts \
                or comp.level == "weak" and comp.features.get("body_similarity", 0.0) < 0.5:
            # the code and the name disagree: a person decides, with what the name alone would find
            but = (f"the name alone is {other.entry.name}'s" if other is not None else
                   "; ".join(comp.blocks) if comp.blocks else
                   "the name's place contradicts the registry" if comp.name_place_contradicts else
                   f"the record names {query.name!r}")
            others = tuple(_candidate(c) for c in by_name.ranked if c.entry.uscc != entry.uscc)
            why = f"{found} to {entry.name}, but {but}"
            return Resolution(None, "none", comp.score, (why, *comp.reasons), ambiguous=True, outcome=REVIEW,
                              candidates=(others + (candidate,))[:KEEP])
        return Resolution(entry.uscc, "uscc", 1.0, (found, *comp.reasons[:1]), outcome=LINK, candidates=(candidate,))

    def resolve(self, uscc_text: str | None, name: str | None, region: str | None = None, **fields: str | None) -> Resolution:
        """The registry enterprise a record refers to, or an unresolved Resolution saying why."""
        return self.match(Query(name=name, uscc=uscc_text, region=region, **fields))




#: enterprise facts a mapping may declare that resolution also compares
_FACTS_COMPARED = {LEGAL_REP.name: "legal_rep", ADDRESS.name: "address"}


def match_method(resolution: Resolution) -> str:
    """How a record's enterprise was found, as its SourceRecord keeps it (`matchMethod`)."""
    return json.dumps({"method": resolution.method, "outcome": resolution.outcome, "score": resolution.score,
                       "reasons": list(resolution.reasons),
                       "candidates": [[c.uscc, c.score] for c in resolution.candidates]}, ensure_ascii=False)


def record_query(ent: EnterpriseSpec, values: Mapping[str, str | None]) -> Query:
    """What one source row says about its enterprise, by the mapping's `enterprise` block."""

    def cell(column: str | None) -> str | None:
        value = values.get(column) if column else None
        text = str(value).strip() if value is not None else ""
        return text or None

    uscc = cell(ent.uscc)
    hint = None
    authority = cell(ent.region_column)
    if authority:
        hint = region_from_address(authority)
    code = parse_uscc(uscc)
    if hint is None and code is not None and code.region_code in region_table():
        hint = code.region_code
    fields: dict[str, str | None] = {}
    for f in ent.fields:
        if f.prop in _FACTS_COMPARED:
            fields[_FACTS_COMPARED[f.prop]] = raw_value(f, values)
    for kind, column in ent.compare:
        fields[kind] = cell(column)
    return Query(name=cell(ent.name), uscc=uscc, region=hint, **fields)
