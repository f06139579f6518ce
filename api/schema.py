"""What the HTTP service needs to know about the graph, derived from the ontology once.

The service names a handful of anchor classes and properties (the enterprise, the region and its
code, the assessment, the hidden danger's deadline and state). They are declared, with every other
name the code is built on, in `riskgraph.ontology.anchors` (re-exported here for the service's
modules) and checked against the ontology the app is given when it starts, so an ontology change
that removes one fails loudly instead of quietly serving nothing. Everything else — which
relationships leave a class, which nodes hang off an enterprise, what is reference data, which time
property orders a list — is read from the ontology, never listed here.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from functools import cached_property

from riskgraph.graph.dialect import ident
from riskgraph.ontology import anchors
from riskgraph.ontology.anchors import (  # noqa: F401 -- re-exported: the service's modules import them from here
    ACCIDENT,
    ASSESSES,
    ASSESSMENT,
    ASSESSMENT_METHOD,
    ASSESSMENT_SCORE,
    ASSESSMENT_TIME,
    CONTROL_MEASURE,
    DANGER_GRADE,
    DANGER_STATE,
    DEADLINE,
    ENTERPRISE,
    HAZARD_SOURCE,
    HIDDEN_DANGER,
    INDUSTRY,
    INDUSTRY_CODE,
    INSPECTED_ON,
    INSPECTION,
    LAT,
    LON,
    MAJOR_HAZARD_LEVEL,
    MONITORING_ALARM,
    NATURAL_DISASTER_POINT,
    RECOMMENDATION,
    RECTIFICATION,
    RECTIFIED_STATE,
    REGION,
    REGION_CODE,
    REGION_LEVEL,
    RESCUE_TEAM,
    RISK_COLOUR,
    RISK_POINT,
    SHELTER,
    SUPERVISION_INDUSTRY,
    SUPPLY,
    TAGS,
    WAREHOUSE,
)
from riskgraph.ontology.errors import N_, RiskGraphError
from riskgraph.ontology.model import TIME_SUFFIX, Disclosure, Ontology, RelationDef


class SchemaError(RiskGraphError, RuntimeError):
    """The ontology lacks something the service is built on."""


@dataclass(frozen=True)
class Hop:
    """One relationship to follow from a node: the type, the direction, the class at the far end."""

    rel: RelationDef
    outgoing: bool

    @property
    def far(self) -> str:
        return self.rel.range if self.outgoing else self.rel.domain

    @property
    def name(self) -> str:
        """How a view names the list: the relation's local name, `^name` when followed backwards."""
        return self.rel.name if self.outgoing else "^" + self.rel.name


class Schema:
    """Questions the service asks of the ontology, answered once per app."""

    def __init__(self, ontology: Ontology) -> None:
        self.onto = ontology
        missing = anchors.missing(ontology)
        if missing:
            raise SchemaError(N_("the ontology lacks what the code is built on: {missing}"),
                              missing=', '.join(missing))
        self._hops: dict[str, list[Hop]] = {}
        self._descendants: dict[str, tuple[str, ...]] = {}
        self._recency: dict[str, tuple[str, ...]] = {}
        self._hop_recency: dict[tuple[str, bool], tuple[str, ...]] = {}
        self._json: dict[str, frozenset[str]] = {}

    # ------------------------------------------------------------------ classes
    @cached_property
    def root(self) -> str:
        return next(c.name for c in self.onto.classes.values() if c.parent is None)

    def descendants(self, label: str) -> list[str]:
        """Concrete classes that are `label` or below it: the node labels a query for `label` must cover.

        Asked thousands of times per portrait, so answered once per label (a fresh list each call:
        callers may change theirs)."""
        found = self._descendants.get(label)
        if found is None:
            found = self._descendants[label] = tuple(n for n in self.onto.labels if self.onto.is_a(n, label))
        return list(found)

    @cached_property
    def independent(self) -> frozenset[str]:
        """Classes with their own key (an enterprise's USCC, a region's or industry's code).

        Everything else is keyed by the root's generic id and hangs off one of these.
        """
        out = set()
        for cls in self.onto.classes.values():
            if cls.abstract or cls.parent is None:
                continue
            if cls.key != self.onto.classes[cls.parent].key:
                out.add(cls.name)
        # subclasses of an independent class are independent too
        return frozenset(n for n in self.onto.labels if any(self.onto.is_a(n, i) for i in out))

    @cached_property
    def bookkeeping(self) -> frozenset[str]:
        """Classes whose own properties are all internal (provenance, change log, quarantine)."""
        return self.onto.bookkeeping_labels()

    def _covers(self, range_class: str, kinds: frozenset[str]) -> bool:
        return any(self.onto.is_a(d, range_class) for d in kinds)

    # ------------------------------------------------------------------ ownership
    @cached_property
    def ownership(self) -> tuple[list[RelationDef], int]:
        """Relations along which nodes belong to one enterprise, and the longest such chain.

        Breadth-first from the enterprise over relations whose far end can only be a dependent,
        non-bookkeeping node: a licence, an inspection, a hazard source and its inventories, a
        sensor and its alarms … but not the region, the industry, or "any geo feature".
        """
        rels: dict[str, RelationDef] = {}
        depth_of = {ENTERPRISE: 0}
        queue = deque([ENTERPRISE])
        while queue:
            label = queue.popleft()
            for rel in self.onto.relations_from(label):
                if self._covers(rel.range, self.independent) or self._covers(rel.range, self.bookkeeping):
                    continue
                rels.setdefault(rel.type, rel)
                for far in self.descendants(rel.range):
                    if far not in depth_of:
                        depth_of[far] = depth_of[label] + 1
                        queue.append(far)
        return sorted(rels.values(), key=lambda r: r.type), max(depth_of.values())

    @property
    def ownership_types(self) -> list[str]:
        return [r.type for r in self.ownership[0]]

    @property
    def ownership_depth(self) -> int:
        return self.ownership[1]

    def ownership_pattern(self, min_hops: int = 1) -> str:
        """`[:A|B|…*min..depth]` over the ownership relations, for owner look-ups."""
        types = "|".join(ident(t) for t in self.ownership_types)
        return f"[:{types}*{min_hops}..{self.ownership_depth}]"

    @cached_property
    def owned(self) -> frozenset[str]:
        """Labels reachable from the enterprise along ownership relations."""
        out = set()
        for rel in self.ownership[0]:
            out.update(self.descendants(rel.range))
        return frozenset(out)

    @cached_property
    def annotations(self) -> list[RelationDef]:
        """Relations to any node at all (range = the root class): the domain annotates its target.

        An assessment belongs to whoever owns what it assesses.
        """
        return [r for r in self.onto.relations.values() if r.range == self.root and r.domain not in self.bookkeeping]

    @cached_property
    def _ownership_type_set(self) -> frozenset[str]:
        return frozenset(r.type for r in self.ownership[0])

    @cached_property
    def _annotation_type_set(self) -> frozenset[str]:
        return frozenset(r.type for r in self.annotations)

    def is_ownership(self, hop: Hop) -> bool:
        return hop.outgoing and hop.rel.type in self._ownership_type_set

    def is_annotation(self, hop: Hop) -> bool:
        return not hop.outgoing and hop.rel.type in self._annotation_type_set

    # ------------------------------------------------------------------ navigation
    def hops(self, label: str) -> list[Hop]:
        """Every relationship a node of this class may have, either way, bookkeeping left out."""
        cached = self._hops.get(label)
        if cached is not None:
            return cached
        out = [Hop(r, True) for r in self.onto.relations_from(label)
               if not (self._covers(r.range, self.bookkeeping) and not self._covers(r.range, self.independent))]
        out += [Hop(r, False) for r in self.onto.relations.values()
                if self.onto.is_a(label, r.range) and r.domain not in self.bookkeeping]
        self._hops[label] = out
        return out

    def relation_between(self, domain: str, range_: str) -> RelationDef:
        """The one relationship from `domain` to `range_` (inherited either end)."""
        found = [r for r in self.onto.relations.values()
                 if self.onto.is_a(domain, r.domain) and self.onto.is_a(range_, r.range)]
        exact = [r for r in found if r.domain == domain or r.range == range_] or found
        if len(exact) != 1:
            raise SchemaError(N_("expected one relationship from {domain} to {range_}, found {found}"),
                              domain=domain, range_=range_, found=[r.type for r in found])
        return exact[0]

    # ------------------------------------------------------------------ properties
    def region_of(self, label: str, props: dict) -> str | None:
        """The GB/T 2260 code a node lies in: its regionCode; for a region without one, its own code.

        (A chemical park is a region keyed by its park code whose regionCode is its county.)
        """
        value = props.get(REGION_CODE)
        if value in (None, "") and self.onto.is_a(label, REGION):
            value = props.get(self.onto.key_of(label))
        return str(value) if value not in (None, "") else None

    def recency(self, label: str) -> tuple[str, ...]:
        """Stored time properties (epoch-ms companions) that order a class's nodes, newest first.

        Shared event times (when something occurred or was issued) come first, then the class's own
        dates; internal bookkeeping times never order anything. Asked for every hop of every view,
        so answered once per label.
        """
        found = self._recency.get(label)
        if found is None:
            props = [p for p in self.onto.properties_of(label).values()
                     if p.is_time and p.disclosure < Disclosure.INTERNAL]
            ordered = [p for p in props if p.domain is None] + [p for p in props if p.domain is not None]
            found = self._recency[label] = tuple(p.name + TIME_SUFFIX for p in ordered)
        return found

    def hop_recency(self, label: str, outgoing: bool) -> tuple[str, ...]:
        """What orders the nodes a class's hops reach one way: the recency properties of every class
        at their far ends, each once, in order — the first a node carries orders it (a view's
        statement reads them as a parameter, so its text stays the same whatever the classes).
        Asked for every group of every view level, so answered once per class and direction."""
        found = self._hop_recency.get((label, outgoing))
        if found is None:
            names: list[str] = []
            for far in sorted({d for h in self.hops(label) if h.outgoing == outgoing for d in self.descendants(h.far)}):
                for name in self.recency(far):
                    if name not in names:
                        names.append(name)
            found = self._hop_recency[(label, outgoing)] = tuple(names)
        return found

    def json_properties(self, label: str) -> frozenset[str]:
        """String properties the ontology labels as JSON text: views parse them. Asked for every node a
        view or a list shows, so answered once per label."""
        found = self._json.get(label)
        if found is None:
            found = self._json[label] = frozenset(p.name for p in self.onto.properties_of(label).values()
                                                  if p.datatype == "string" and "JSON" in p.label_zh)
        return found

    def disclosure(self, prop: tuple[str, str]) -> Disclosure:
        return self.onto.disclosure_of(*prop)

    def narrower(self, vocabulary: str, notation: str) -> list[str]:
        """A notation and every concept below it in its SKOS scheme (empty if it is not in the scheme)."""
        vocab = self.onto.vocabularies.get(vocabulary)
        return vocab.narrower(notation) if vocab is not None else []

    def vocabulary_of(self, prop: tuple[str, str]) -> str | None:
        return self.onto.properties_of(prop[0])[prop[1]].vocabulary

    def closed_states(self) -> list[str]:
        """Hidden-danger states at or past rectification: an "open" danger in the API is one not yet
        rectified (the reasoning models keep a major danger on their books until it is verified)."""
        return self.onto.vocabulary(self.vocabulary_of(DANGER_STATE) or "").at_or_after(RECTIFIED_STATE)

    def top_grade(self) -> str | None:
        """The most severe hidden-danger grade (highest rank in its vocabulary)."""
        vocab = self.onto.vocabulary(self.vocabulary_of(DANGER_GRADE) or "")
        ranked = [(c.rank, c.notation) for c in vocab.concepts.values() if c.rank is not None]
        return max(ranked)[1] if ranked else None
