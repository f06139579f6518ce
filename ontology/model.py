"""Derive the graph schema from the Turtle files, once.

Every other module asks this one for labels, relationship types, keys, property types,
disclosure levels and vocabularies, so the ontology stays the single source of truth.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any

from rdflib import RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, SKOS
from rdflib.term import Node

from riskgraph.ontology.errors import Term

RG = Namespace("https://w3id.org/riskgraph#")
RGV = Namespace("https://w3id.org/riskgraph/vocab/")
#: nodes in RDF: https://w3id.org/riskgraph/id/{Label}/{key}
ID_BASE = "https://w3id.org/riskgraph/id/"
ONTOLOGY_FILES = ("riskgraph.ttl", "vocabularies.ttl", "control_measures.ttl")
SHAPES_FILE = "shapes.ttl"

#: Companion property suffixes the store adds beside a declared property.
TIME_SUFFIX = "Ms"
TOKENS_SUFFIX = "Tokens"
#: the property a class keeps its rg:packs properties in (graph/packed_content.py)
PACKED_CONTENT = "packedContent"
#: bound on remembered (label, property) disclosure answers, should odd names ever flow in
_MAX_REMEMBERED = 100_000


class Disclosure(IntEnum):
    """Who may read a property; a role sees every level up to its own."""

    PUBLIC = 0
    ENTERPRISE = 1
    INSPECTOR = 2
    INTERNAL = 3

    @classmethod
    def parse(cls, text: str) -> Disclosure:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown disclosure level {text!r}; one of {[m.name.lower() for m in cls]}") from None


_DISCLOSURE_IRIS = {
    RG.Public: Disclosure.PUBLIC,
    RG.EnterpriseLevel: Disclosure.ENTERPRISE,
    RG.InspectorLevel: Disclosure.INSPECTOR,
    RG.Internal: Disclosure.INTERNAL,
}
_DATATYPES = {
    XSD.string: "string",
    XSD.integer: "integer",
    XSD.decimal: "decimal",
    XSD.boolean: "boolean",
    XSD.date: "date",
    XSD.dateTime: "dateTime",
}


#: what a shared value may be: stored as text (a date or time as its ISO text)
_SHARED_DATATYPES = ("string", "date", "dateTime")


@dataclass(frozen=True)
class PropertyDef:
    name: str
    iri: str
    datatype: str
    disclosure: Disclosure
    domain: str | None
    multi_valued: bool = False
    indexed: bool = False
    fulltext: bool = False
    vocabulary: str | None = None
    label_zh: str = ""
    #: classes a shared property (no domain) is range-indexed on (rg:indexedOn)
    indexed_on: frozenset[str] = frozenset()
    #: many nodes repeat its few values (rg:sharedValue)
    shared_value: bool = False

    @property
    def is_time(self) -> bool:
        return self.datatype in ("date", "dateTime")


@dataclass(frozen=True)
class ClassDef:
    name: str
    iri: str
    parent: str | None
    key: str
    abstract: bool
    searchable: bool
    label_zh: str
    label_en: str
    #: properties kept deflated in packedContent (rg:packs), in name order
    packs: tuple[str, ...] = ()


@dataclass(frozen=True)
class RelationDef:
    name: str
    iri: str
    type: str
    domain: str
    range: str
    label_zh: str


@dataclass(frozen=True)
class Concept:
    notation: str
    iri: str
    scheme: str
    pref_zh: str
    pref_en: str
    alt_labels: tuple[str, ...] = ()
    rank: int | None = None
    broader: tuple[str, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Vocabulary:
    """A SKOS concept scheme, looked up by notation or by any of its labels."""

    name: str
    iri: str
    label_zh: str
    concepts: Mapping[str, Concept]

    @cached_property
    def _by_label(self) -> dict[str, Concept]:
        index: dict[str, Concept] = {}
        for c in self.concepts.values():
            for text in (c.notation, c.pref_zh, c.pref_en, *c.alt_labels):
                if text:
                    index.setdefault(_fold(text), c)
        return index

    def lookup(self, text: str | None) -> Concept | None:
        """The concept whose notation or label matches `text` (case and width folded)."""
        if text is None:
            return None
        return self._by_label.get(_fold(str(text)))

    def __contains__(self, notation: object) -> bool:
        return notation in self.concepts

    def term(self, notation: str) -> Term:
        """A concept named in a message: its notation in English, its `skos:prefLabel@zh` in Chinese
        (a notation the scheme lacks stays as it is)."""
        concept = self.concepts.get(notation)
        return Term(notation, zh=concept.pref_zh) if concept is not None and concept.pref_zh else Term(notation)

    def at_or_after(self, notation: str) -> list[str]:
        """Notations ranked at or above `notation` in an ordered scheme (a life cycle, a severity
        scale): e.g. the hidden-danger states from RECTIFIED on. Empty if `notation` has no rank."""
        floor = self.concepts[notation].rank if notation in self.concepts else None
        if floor is None:
            return []
        return [c.notation for c in self.concepts.values() if c.rank is not None and c.rank >= floor]

    def narrower(self, notation: str) -> list[str]:
        """The notation and every concept below it (empty when the scheme does not have it)."""
        if notation not in self.concepts:
            return []
        out, todo = [notation], [notation]
        while todo:
            current = todo.pop()
            for concept in self.concepts.values():
                if current in concept.broader and concept.notation not in out:
                    out.append(concept.notation)
                    todo.append(concept.notation)
        return out

    def broader(self, notation: str) -> list[str]:
        """The notation and its ancestors, nearest first."""
        out, todo = [], [notation]
        while todo:
            current = todo.pop(0)
            if current in out:
                continue
            out.append(current)
            concept = self.concepts.get(current)
            if concept is not None:
                todo.extend(concept.broader)
        return out


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def relation_type_name(local_name: str) -> str:
    """rg:hasLicence -> HAS_LICENCE: the one rule that names relationship types."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", local_name).upper()


class Ontology:
    """The derived schema. Build it with :func:`load_ontology`."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.version = str(graph.value(URIRef("https://w3id.org/riskgraph"), OWL.versionInfo) or "")
        self.classes = self._read_classes()
        self.properties = self._read_properties()
        self.relations = self._read_relations()
        self.vocabularies = self._read_vocabularies()
        self._by_type = {r.type: r for r in self.relations.values()}
        # Per-label answers, filled on first use: the model never changes after construction, and
        # the API asks these for every property of every node it returns.
        self._props_of: dict[str, dict[str, PropertyDef]] = {}
        self._shared_of: dict[str, frozenset[str]] = {}
        self._disclosure: dict[tuple[str, str], Disclosure] = {}
        self._is_a: dict[tuple[str, str], bool] = {}
        self._check_packs()

    def _check_packs(self) -> None:
        """A packed property is a plain text the class has, that no index or search of the class needs
        (a name is searched on searchable classes only)."""
        indexed = set(self.index_specs()) | {(label, _strip_suffix(tokens, TOKENS_SUFFIX))
                                             for label, tokens in self.fulltext_specs()}
        for cls in self.classes.values():
            for name in cls.packs:
                prop = self.properties_of(cls.name).get(name)
                if prop is None or prop.datatype != "string" or prop.multi_valued or (cls.name, name) in indexed:
                    raise ValueError(f"class {cls.name} packs {name}: only a single-valued, unindexed text property it has")
            if cls.packs and PACKED_CONTENT not in self.properties_of(cls.name):
                raise ValueError(f"class {cls.name} packs properties but has no {PACKED_CONTENT} to keep them in")
        for prop in self.properties.values():  # a shared value is one text (graph/shared_values.py)
            if prop.shared_value and (prop.datatype not in _SHARED_DATATYPES or prop.multi_valued):
                raise ValueError(f"property {prop.name} is rg:sharedValue: only a single-valued text, date or time")

    # ------------------------------------------------------------------ reading
    def _local(self, iri: Node) -> str:
        text = str(iri)
        if not text.startswith(str(RG)):
            raise ValueError(f"{text} is outside the RiskGraph namespace")
        return text[len(str(RG)):]

    def _label(self, subject: Node, lang: str) -> str:
        for value in self.graph.objects(subject, RDFS.label):
            if isinstance(value, Literal) and value.language == lang:
                return str(value)
        return ""

    def _flag(self, subject: Node, prop: URIRef) -> bool:
        value = self.graph.value(subject, prop)
        return bool(isinstance(value, Literal) and value.toPython() is True)

    def _read_classes(self) -> dict[str, ClassDef]:
        g = self.graph
        raw = {}
        for cls in g.subjects(RDF.type, OWL.Class):
            if cls == RG.DisclosureLevel or not str(cls).startswith(str(RG)):
                continue
            # the RiskGraph parent; other superclasses align with standard vocabularies (geo:Feature, prov:Entity)
            parent = next((p for p in g.objects(cls, RDFS.subClassOf) if str(p).startswith(str(RG))), None)
            key = g.value(cls, RG.keyProperty)
            raw[self._local(cls)] = (cls, parent, key)

        def key_of(name: str) -> str:
            cls, parent, key = raw[name]
            if key is not None:
                return self._local(key)
            if parent is None:
                raise ValueError(f"class {name} has no key and no parent to inherit one from")
            return key_of(self._local(parent))

        return {
            name: ClassDef(
                name=name,
                iri=str(cls),
                parent=self._local(parent) if parent is not None else None,
                key=key_of(name),
                abstract=self._flag(cls, RG.abstract),
                searchable=self._flag(cls, RG.searchable),
                label_zh=self._label(cls, "zh"),
                label_en=self._label(cls, "en"),
                packs=tuple(sorted(self._local(p) for p in g.objects(cls, RG.packs))),
            )
            for name, (cls, parent, key) in sorted(raw.items())
        }

    def _read_properties(self) -> dict[str, PropertyDef]:
        g = self.graph
        props = {}
        for prop in _node_properties(g):
            name = self._local(prop)
            rng = g.value(prop, RDFS.range)
            if rng == SKOS.Concept and (prop, RG.vocabulary, None) in g:  # vocabulary-valued: the concept in RDF, its notation in the store
                rng = XSD.string
            disclosure = g.value(prop, RG.disclosure)
            domain = g.value(prop, RDFS.domain)
            vocab = g.value(prop, RG.vocabulary)
            if not isinstance(rng, URIRef) or rng not in _DATATYPES:
                raise ValueError(f"property {name} has unsupported range {rng}")
            if not isinstance(disclosure, URIRef) or disclosure not in _DISCLOSURE_IRIS:
                raise ValueError(f"property {name} has no disclosure level")
            props[name] = PropertyDef(
                name=name,
                iri=str(prop),
                datatype=_DATATYPES[rng],
                disclosure=_DISCLOSURE_IRIS[disclosure],
                domain=self._local(domain) if domain is not None else None,
                multi_valued=self._flag(prop, RG.multiValued),
                indexed=self._flag(prop, RG.indexed),
                fulltext=self._flag(prop, RG.fulltext),
                vocabulary=str(vocab)[len(str(RGV)):] if vocab is not None else None,
                label_zh=self._label(prop, "zh"),
                indexed_on=frozenset(self._local(c) for c in g.objects(prop, RG.indexedOn)),
                shared_value=self._flag(prop, RG.sharedValue),
            )
        return dict(sorted(props.items()))

    def _read_relations(self) -> dict[str, RelationDef]:
        g = self.graph
        rels = {}
        for prop in g.subjects(RDF.type, OWL.ObjectProperty):
            if (prop, RG.vocabulary, None) in g:
                continue  # a node property whose values are SKOS concepts, not a relationship
            name = self._local(prop)
            domains = list(g.objects(prop, RDFS.domain))
            ranges = list(g.objects(prop, RDFS.range))
            if len(domains) != 1 or len(ranges) != 1:
                raise ValueError(f"relationship {name} needs exactly one domain and one range")
            rels[name] = RelationDef(
                name=name,
                iri=str(prop),
                type=relation_type_name(name),
                domain=self._local(domains[0]),
                range=self._local(ranges[0]),
                label_zh=self._label(prop, "zh"),
            )
        return dict(sorted(rels.items()))

    def _read_vocabularies(self) -> dict[str, Vocabulary]:
        g = self.graph
        data_props = {
            RG.criticalQuantity: "criticalQuantity",
            RG.beta: "beta",
            RG.alpha: "alpha",
            RG.minResidents: "minResidents",
            RG.maxResidents: "maxResidents",
            RG.minEmployees: "minEmployees",
            RG.maxEmployees: "maxEmployees",
            RG.minR: "minR",
            RG.entryCasNumber: "casNumber",
            RG.colourHex: "colourHex",
            RG.tableEntry: "tableEntry",
            RG.condition: "condition",
            RG.entryGroup: "entryGroup",
            RG.keySupervised: "keySupervised",
            RG.betaSource: "betaSource",
        }
        link_props = {RG.governingHazardCategory: "hazardCategory", RG.defaultSupervisionIndustry: "supervisionIndustry"}
        vocabularies = {}
        for scheme in g.subjects(RDF.type, SKOS.ConceptScheme):
            scheme_name = str(scheme)[len(str(RGV)):]
            concepts = {}
            for concept in g.subjects(SKOS.inScheme, scheme):
                notation = str(g.value(concept, SKOS.notation))
                labels = {lit.language: str(lit) for lit in g.objects(concept, SKOS.prefLabel) if isinstance(lit, Literal)}
                data: dict[str, Any] = {}
                for iri, key in data_props.items():
                    value = g.value(concept, iri)
                    if value is not None:
                        if not isinstance(value, Literal):
                            raise ValueError(f"concept {concept}: {key} must be a literal, not {value}")
                        data[key] = value.toPython()
                for iri, key in link_props.items():
                    value = g.value(concept, iri)
                    if value is not None:
                        data[key] = str(g.value(value, SKOS.notation))
                rank = g.value(concept, RG.rank)
                if rank is not None and not isinstance(rank, Literal):
                    raise ValueError(f"concept {concept}: rank must be a literal, not {rank}")
                concepts[notation] = Concept(
                    notation=notation,
                    iri=str(concept),
                    scheme=scheme_name,
                    pref_zh=labels.get("zh", ""),
                    pref_en=labels.get("en", ""),
                    alt_labels=tuple(sorted(str(a) for a in g.objects(concept, SKOS.altLabel))),
                    rank=int(rank) if isinstance(rank, Literal) else None,
                    broader=tuple(sorted(str(g.value(b, SKOS.notation)) for b in g.objects(concept, SKOS.broader))),
                    data=data,
                )
            labels = {lit.language: str(lit) for lit in g.objects(scheme, SKOS.prefLabel) if isinstance(lit, Literal)}
            vocabularies[scheme_name] = Vocabulary(
                name=scheme_name, iri=str(scheme), label_zh=labels.get("zh", ""), concepts=dict(sorted(concepts.items()))
            )
        return dict(sorted(vocabularies.items()))

    # ------------------------------------------------------------------ questions
    @property
    def labels(self) -> list[str]:
        """Concrete classes: the labels nodes carry."""
        return [c.name for c in self.classes.values() if not c.abstract]

    @property
    def relationship_types(self) -> list[str]:
        return sorted(self._by_type)

    def check_label(self, label: str) -> ClassDef:
        """Refuse a label the ontology does not define: labels are spliced into Cypher text."""
        cls = self.classes.get(label)
        if cls is None or cls.abstract:
            raise KeyError(f"unknown node label {label!r}")
        return cls

    def relation(self, rel_type: str) -> RelationDef:
        """Refuse a relationship type the ontology does not define."""
        try:
            return self._by_type[rel_type]
        except KeyError:
            raise KeyError(f"unknown relationship type {rel_type!r}") from None

    def key_of(self, label: str) -> str:
        return self.check_label(label).key

    @cached_property
    def key_names(self) -> tuple[str, ...]:
        """Every class's key property, each name once (uscc, code, id …): a node's key whatever its class."""
        return tuple(sorted({cls.key for cls in self.classes.values() if cls.key}))

    def ancestors(self, label: str) -> list[str]:
        """The class and its superclasses, nearest first."""
        chain = []
        current: str | None = label
        while current is not None:
            chain.append(current)
            current = self.classes[current].parent
        return chain

    def is_a(self, label: str, ancestor: str) -> bool:
        """Whether `label` is `ancestor` or below it. Asked for every node a view reads (several times),
        so remembered per pair of classes (a label the ontology lacks raises KeyError, each time)."""
        found = self._is_a.get((label, ancestor))
        if found is None:
            found = ancestor in self.ancestors(label)
            if len(self._is_a) < _MAX_REMEMBERED:
                self._is_a[(label, ancestor)] = found
        return found

    def properties_of(self, label: str) -> dict[str, PropertyDef]:
        """Properties a node of this class may carry: its own, its ancestors', and the shared ones.

        Computed once per label; the dict is shared, so callers must not change it."""
        props = self._props_of.get(label)
        if props is None:
            lineage = set(self.ancestors(label))
            props = {n: p for n, p in self.properties.items() if p.domain is None or p.domain in lineage}
            self._props_of[label] = props
        return props

    def shared_values(self, label: str) -> frozenset[str]:
        """The label's single-valued text properties whose few values many nodes repeat: the
        rg:sharedValue ones and every vocabulary-valued one (graph/shared_values.py keeps each
        value once in the embedded store)."""
        names = self._shared_of.get(label)
        if names is None:
            names = frozenset(n for n, p in self.properties_of(label).items()
                              if (p.shared_value or p.vocabulary) and p.datatype in _SHARED_DATATYPES
                              and not p.multi_valued)
            self._shared_of[label] = names
        return names

    def stored_names(self, label: str | None = None) -> set[str]:
        """Property names a node (of `label`, or of any class) may carry in the store: the declared
        ones and the companions the store adds (`<time>Ms` epoch numbers, `<text>Tokens` for search)."""
        props = self.properties_of(label) if label is not None else self.properties
        names = set(props)
        names.update(p.name + TIME_SUFFIX for p in props.values() if p.is_time)
        names.update(p.name + TOKENS_SUFFIX for p in props.values() if p.fulltext)
        return names

    def relations_from(self, label: str) -> list[RelationDef]:
        lineage = set(self.ancestors(label))
        return [r for r in self.relations.values() if r.domain in lineage]

    def disclosure_of(self, label: str, prop: str) -> Disclosure:
        """Level of a stored property; companions (…Ms, …Tokens) follow their base property.

        Anything the ontology does not declare is internal: unknown data is never shown by default.
        Remembered per (label, property) name; names come from the store, so the table stays small.
        """
        level = self._disclosure.get((label, prop))
        if level is None:
            level = Disclosure.INTERNAL
            props = self.properties_of(label)
            for name in (prop, _strip_suffix(prop, TIME_SUFFIX), _strip_suffix(prop, TOKENS_SUFFIX)):
                if name in props:
                    level = props[name].disclosure
                    break
            if len(self._disclosure) < _MAX_REMEMBERED:
                self._disclosure[(label, prop)] = level
        return level

    def visible(self, label: str, values: Mapping[str, Any], level: Disclosure) -> dict[str, Any]:
        """The subset of a node's properties that `level` may see."""
        return {k: v for k, v in values.items() if self.disclosure_of(label, k) <= level}

    def bookkeeping_labels(self) -> frozenset[str]:
        """Classes whose own properties are all internal (provenance, change log, quarantine, outbox):
        below the internal level they are left out of reads and exports altogether."""
        out = set()
        for label in self.labels:
            own = [p for p in self.properties_of(label).values() if p.domain is not None]
            if own and all(p.disclosure == Disclosure.INTERNAL for p in own):
                out.add(label)
        return frozenset(out)

    def vocabulary(self, name: str) -> Vocabulary:
        try:
            return self.vocabularies[name]
        except KeyError:
            raise KeyError(f"unknown vocabulary {name!r}") from None

    def index_specs(self) -> list[tuple[str, str]]:
        """(label, property) pairs that get a range index: every key plus the rg:indexed properties."""
        specs = set()
        for label in self.labels:
            specs.add((label, self.key_of(label)))
            for prop in self.properties_of(label).values():
                # a shared property (no domain) is only worth indexing where users filter by it
                if (prop.indexed and (prop.domain is not None or self.classes[label].searchable)) \
                        or label in prop.indexed_on:
                    specs.add((label, prop.name + (TIME_SUFFIX if prop.is_time else "")))
        return sorted(specs)

    def fulltext_specs(self) -> list[tuple[str, str]]:
        """(label, tokens property) pairs for full-text search over jieba-segmented text."""
        specs = []
        for label in self.labels:
            if not self.classes[label].searchable:
                continue
            for prop in self.properties_of(label).values():
                if prop.fulltext:
                    specs.append((label, prop.name + TOKENS_SUFFIX))
        return sorted(specs)


def _node_properties(g: Graph) -> list[Node]:
    """Every property a node carries: the datatype properties, and the object properties whose values
    are concepts of a SKOS scheme (rg:vocabulary) — stored as the concepts' notations."""
    vocabulary_valued = [p for p in g.subjects(RDF.type, OWL.ObjectProperty) if (p, RG.vocabulary, None) in g]
    return [*g.subjects(RDF.type, OWL.DatatypeProperty), *vocabulary_valued]


def _strip_suffix(name: str, suffix: str) -> str:
    return name[: -len(suffix)] if name.endswith(suffix) and len(name) > len(suffix) else name


def read_turtle(names: Iterable[str]) -> Graph:
    """Parse the named Turtle files shipped in this package into one rdflib Graph."""
    graph = Graph()
    graph.bind("rg", RG)
    graph.bind("rgv", RGV)
    graph.bind("skos", SKOS)
    package = resources.files("riskgraph.ontology")
    for name in names:
        resource = package / name
        if resource.is_file():
            graph.parse(data=resource.read_text(encoding="utf-8"), format="turtle", publicID=str(RG))
    return graph


@lru_cache(maxsize=1)
def load_ontology() -> Ontology:
    """The ontology, parsed once per process."""
    return Ontology(read_turtle(ONTOLOGY_FILES))


def class_term(label: str) -> Term:
    """A class named in a message: "Enterprise" in English, its `rdfs:label` ("企业") in Chinese — so a
    refusal never shows a Chinese user an internal class name. Unknown names stay as they are."""
    cls = load_ontology().classes.get(label)
    return Term(label, zh=cls.label_zh) if cls is not None and cls.label_zh else Term(label)
