"""The control-measure knowledge base: read from `ontology/control_measures.ttl`, written to the graph.

`knowledge_base()` parses the Turtle (already merged into the ontology graph) into plain data once per
process; `load_knowledge_base(store)` upserts it as nodes and relationships — ControlMeasureType,
HazardPattern, HazardConcept (one per SKOS concept a measure can link to), StandardClause — and
removes knowledge-base nodes and links a newer file no longer has. Running it twice changes nothing.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from rdflib import RDF, RDFS, Literal, URIRef
from rdflib.namespace import OWL, SKOS
from rdflib.term import Node

from riskgraph.graph.store import GraphStore
from riskgraph.ontology.anchors import (
    ADDRESSES_FACTOR,
    ANSWERED_BY,
    APPLIES_TO_CATEGORY,
    APPLIES_TO_EQUIPMENT,
    APPLIES_TO_INDUSTRY,
    APPLIES_TO_PROCESS,
    CITES,
    INDUSTRY,
    MITIGATES_ACCIDENT,
    PATTERN_SOURCE,
    REMEDIES,
    SOURCE_INDUSTRY,
)
from riskgraph.ontology.anchors import CONTROL_MEASURE_TYPE as MEASURE
from riskgraph.ontology.anchors import HAZARD_CONCEPT as CONCEPT
from riskgraph.ontology.anchors import HAZARD_PATTERN as PATTERN
from riskgraph.ontology.anchors import STANDARD_CLAUSE as SOURCE
from riskgraph.ontology.model import RG, Ontology, load_ontology
from riskgraph.reasoning.recommend.textmatch import Lexicon, Match, Matcher, Term

KB = "https://w3id.org/riskgraph/kb/"
KB_DOCUMENT = URIRef(KB + "control-measures")

#: link predicate -> (relationship type, SKOS scheme of its targets; None = knowledge-base node)
LINKS: dict[str, tuple[str, str | None]] = {
    "mitigatesAccident": (MITIGATES_ACCIDENT, "AccidentType"),
    "addressesFactor": (ADDRESSES_FACTOR, "HazardFactor"),
    "appliesToCategory": (APPLIES_TO_CATEGORY, "HazardCategory"),
    "appliesToProcess": (APPLIES_TO_PROCESS, "HazardousProcess"),
    "appliesToEquipment": (APPLIES_TO_EQUIPMENT, "EquipmentType"),
    "appliesToIndustry": (APPLIES_TO_INDUSTRY, "SupervisionIndustry"),
}
#: the schemes whose concepts become HazardConcept nodes
CONCEPT_SCHEMES = ("AccidentType", "HazardFactor", "HazardCategory", "HazardousProcess", "EquipmentType")
HIERARCHY_SCHEME = "ControlHierarchy"


def concept_id(scheme: str, notation: str) -> str:
    """Key of the HazardConcept node for a SKOS concept."""
    return f"{scheme}/{notation}"


def ref(label: str, key: str) -> str:
    """How paths name a node: `Label/key` (a HazardConcept key has a slash of its own)."""
    return f"{label}/{key}"


def parse_ref(text: str) -> tuple[str, str]:
    label, _, key = text.partition("/")
    return label, key


@dataclass(frozen=True)
class Source:
    id: str
    name: str
    code: str
    title: str
    clause: str
    #: supervision industries the standard or article is written for (empty: any)
    industries: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pattern:
    id: str
    name: str
    major: bool
    sources: tuple[str, ...]
    terms: tuple[str, ...]
    #: the measure that answers the pattern's article (it cites it); ranked first among the remedies
    answer: str | None = None


@dataclass(frozen=True)
class MeasureType:
    id: str
    name: str
    hierarchy: str
    links: dict[str, tuple[str, ...]]  # predicate local name -> notations
    patterns: tuple[str, ...]
    sources: tuple[str, ...]
    terms: tuple[str, ...]
    #: a decision of the bureau or the enterprise's management (停产停业整改), shown apart, never ranked
    decision: bool = False

    def linked(self, predicate: str) -> tuple[str, ...]:
        return self.links.get(predicate, ())


@dataclass
class KnowledgeBase:
    version: str
    measures: dict[str, MeasureType]
    patterns: dict[str, Pattern]
    sources: dict[str, Source]
    ontology: Ontology = field(repr=False)

    # ------------------------------------------------------------------ indexes
    @cached_property
    def index(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """predicate -> notation -> measure ids (sorted)."""
        out: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for m in self.measures.values():
            for pred, notations in m.links.items():
                for n in notations:
                    out[pred][n].append(m.id)
        return {p: {n: tuple(sorted(ids)) for n, ids in d.items()} for p, d in out.items()}

    @cached_property
    def by_pattern(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, list[str]] = defaultdict(list)
        for m in self.measures.values():
            for p in m.patterns:
                out[p].append(m.id)
        return {p: tuple(sorted(ids)) for p, ids in out.items()}

    @cached_property
    def lexicon(self) -> Lexicon:
        """jieba dictionary of every knowledge-base word, with the FieldTerm synonym sets (SKOS labels)."""
        vocab = self.ontology.vocabularies.get(FIELD_TERM_SCHEME)
        synonyms = [(c.pref_zh, *c.alt_labels) for c in vocab.concepts.values()] if vocab else []
        # every word of every matcher from the start, so a text segments the same whichever matcher runs first
        terms = [t for m in self.measures.values() for t in m.terms] + [t for p in self.patterns.values() for t in p.terms]
        words = {w for t in terms for w in Term.parse(t).words()}
        words |= {x for c in self.ontology.vocabulary("EquipmentType").concepts.values() for x in (c.pref_zh, *c.alt_labels)}
        return Lexicon(synonyms, words)

    @cached_property
    def measure_matcher(self) -> Matcher:
        return Matcher({m.id: m.terms for m in self.measures.values()}, self.lexicon)

    @cached_property
    def pattern_matcher(self) -> Matcher:
        return Matcher({p.id: p.terms for p in self.patterns.values()}, self.lexicon)

    @cached_property
    def equipment_matcher(self) -> Matcher:
        """Risk-point names → EquipmentType concepts, by their SKOS labels (each label one word)."""
        concepts = self.ontology.vocabulary("EquipmentType").concepts.values()
        return Matcher({c.notation: [x.replace("+", "").replace("|", "") for x in (c.pref_zh, *c.alt_labels) if x]
                        for c in concepts}, self.lexicon)

    @cached_property
    def hierarchy_rank(self) -> dict[str, int]:
        vocab = self.ontology.vocabulary(HIERARCHY_SCHEME)
        return {n: int(c.rank or 0) for n, c in vocab.concepts.items()}

    # ------------------------------------------------------------------ questions
    def measures_for(self, predicate: str, notations: Iterable[str]) -> dict[str, str]:
        """measure id -> the (first) notation through which it applies."""
        found: dict[str, str] = {}
        table = self.index.get(predicate, {})
        for n in notations:
            for mid in table.get(n, ()):
                found.setdefault(mid, n)
        return found

    @cached_property
    def _answers(self) -> dict[tuple, Any]:
        """Answers to the matching, vocabulary and scope questions below: the recommender asks the same
        ones hundreds of thousands of times per run, and the knowledge base does not change once loaded."""
        return {}

    def _once[T](self, key: tuple, compute: Callable[[], T]) -> T:
        """`compute()`'s answer, computed once per `key`."""
        if key not in self._answers:
            self._answers[key] = compute()
        return self._answers[key]

    def map_text(self, text: str | None) -> tuple[Match, ...]:
        """The knowledge-base measures a measure text (整改措施, 措施内容) names (field texts repeat: memoised)."""
        return self._once(("m", text or ""), lambda: tuple(self.measure_matcher.match_clauses(text or "")))

    def match_patterns(self, text: str | None, scope: tuple[str, ...] | None = None) -> tuple[Match, ...]:
        """The hazard patterns a hidden danger's name (or description) names.

        With `scope` (an enterprise's industries, `scope()`), only patterns with a remedy in that scope
        compete, so a 冶金 pattern never hides the 危化 pattern a chemical plant's danger also names.
        """
        def match() -> tuple[Match, ...]:
            if scope is None:
                return tuple(self.pattern_matcher.match(text or ""))
            # articles written for the enterprise's industry (and common patterns) compete first, so a
            # 工贸 article is not hidden by the 危化 twin its words also match
            return tuple(self.pattern_matcher.match(
                text or "", keep=lambda pid: self.pattern_in_scope(pid, scope) is not False,
                prefer=lambda pid: 0 if self.article_in_scope(pid, scope) is not False else 1))

        return self._once(("p", text or "", scope), match)

    def article_in_scope(self, pattern_id: str, scope: tuple[str, ...]) -> bool | None:
        """Whether the pattern's own articles (sources with a clause) are written for the enterprise's industry."""
        articles = self.article_sources(self.patterns[pattern_id])
        answers = [self.in_scope(self.sources[a].industries, scope) for a in articles]
        if not answers or any(a is True for a in answers):
            return True
        return None if any(a is None for a in answers) else False

    def pattern_in_scope(self, pattern_id: str, scope: tuple[str, ...]) -> bool | None:
        """A pattern applies where the measure answering it applies (without one: where any remedy applies)."""
        answer = self.patterns[pattern_id].answer
        if answer is not None:
            return self.measure_in_scope(self.measures[answer], scope)
        answers = [self.measure_in_scope(self.measures[m], scope) for m in self.by_pattern.get(pattern_id, ())
                   if not self.measures[m].decision]
        if any(a is True for a in answers):
            return True
        return None if any(a is None for a in answers) else False

    def match_equipment(self, name: str | None) -> list[tuple[str, str]]:
        """(notation, matched label) of every EquipmentType concept a risk-point name mentions."""
        if not name:
            return []
        found = self._once(("e", name), lambda: tuple(self.equipment_matcher.candidates(name)))
        return sorted((m.key, m.words[0]) for m in found)

    # ------------------------------------------------------------------ industry scope
    @cached_property
    def _subsector_of_class(self) -> dict[str, str]:
        """GB/T 4754 class → the 工贸 / 非煤 sub-sector it belongs to (skos:related in the ontology)."""
        g = self.ontology.graph
        out = {}
        vocab = self.ontology.vocabularies.get("IndustryClass")
        for c in (vocab.concepts.values() if vocab else ()):
            related = g.value(URIRef(c.iri), SKOS.related)
            notation = g.value(related, SKOS.notation) if related is not None else None
            if notation is not None:
                out[c.notation] = str(notation)
        return out

    def scope(self, industry: str | None, industry_code: str | None = None) -> tuple[str, ...]:
        """The supervision industries an enterprise belongs to, narrowest first (empty: unknown).

        The line (HC / NCM / ITR) is the enterprise's; the sub-sector (冶金, 轻工, …) comes from its
        GB/T 4754 class when the class belongs to that line. Memoised: asked for every candidate measure
        (≈ 500 times per enterprise), so without `_once`'s closure.
        """
        key = ("scope", industry, industry_code)
        known = self._answers.get(key)
        if known is None:
            known = self._answers[key] = self._scope(industry, industry_code)
        return known

    def _scope(self, industry: str | None, industry_code: str | None) -> tuple[str, ...]:
        sub = self._subsector_of_class.get(industry_code or "")
        if sub and (not industry or industry in self.broader_chain("SupervisionIndustry", sub)):
            return tuple(self.broader_chain("SupervisionIndustry", sub))
        return tuple(self.broader_chain("SupervisionIndustry", industry)) if industry else ()

    def in_scope(self, industries: tuple[str, ...], scope: tuple[str, ...]) -> bool | None:
        """Whether something written for `industries` (empty: any) applies to an enterprise of `scope`.

        None when the enterprise's industry is unknown. A measure for a sub-sector applies to an enterprise
        whose line is known but whose sub-sector is not (a 工贸 enterprise without a class).
        """
        if not industries:
            return True
        if not scope:
            return None
        return self._once(("in_scope", industries, scope), lambda: self._in_scope(industries, scope))

    def _in_scope(self, industries: tuple[str, ...], scope: tuple[str, ...]) -> bool:
        if set(industries) & set(scope):
            return True
        vocab = self.ontology.vocabulary("SupervisionIndustry")
        narrowest = scope[0]
        if vocab.concepts.get(narrowest) is not None and len(vocab.narrower(narrowest)) > 1:
            return any(narrowest in self.broader_chain("SupervisionIndustry", i) for i in industries)
        return False

    def measure_in_scope(self, measure: MeasureType, scope: tuple[str, ...]) -> bool | None:
        return self.in_scope(measure.linked("appliesToIndustry"), scope)

    def article_sources(self, item: MeasureType | Pattern) -> tuple[str, ...]:
        """The sources of an entry that name an article or clause (not just a standard)."""
        return tuple(s for s in item.sources if self.sources[s].clause)

    def citation(self, measure_or_pattern: MeasureType | Pattern, scope: tuple[str, ...] | None = None) -> str:
        """The cited sources as one text; with `scope`, only those written for the enterprise's industry.
        Memoised: asked for every recommendation and every pattern path."""
        key = ("citation", type(measure_or_pattern).__name__, measure_or_pattern.id, scope)
        known = self._answers.get(key)
        if known is None:
            known = self._answers[key] = "；".join(self.sources[s].name for s in self.cited(measure_or_pattern, scope))
        return known

    def cited(self, item: MeasureType | Pattern, scope: tuple[str, ...] | None = None) -> tuple[str, ...]:
        """Source ids of an entry; with `scope`, those whose industries include the enterprise's (or any)."""
        if scope is None:
            return item.sources
        kept = tuple(s for s in item.sources if self.in_scope(self.sources[s].industries, scope) is not False)
        return kept or item.sources

    def concept_name(self, scheme: str, notation: str) -> str:
        def name() -> str:
            vocab = self.ontology.vocabularies.get(scheme)
            concept = vocab.concepts.get(notation) if vocab else None
            return concept.pref_zh if concept else notation

        return self._once(("name", scheme, notation), name)

    def broader_chain(self, scheme: str, notation: str) -> list[str]:
        """The notation and its ancestors in the scheme."""
        vocab = self.ontology.vocabularies.get(scheme)
        return list(self._once(("broader", scheme, notation),
                               lambda: tuple(vocab.broader(notation) if vocab is not None else [notation])))

    def narrower_closure(self, scheme: str, notation: str) -> list[str]:
        """The notation and everything below it."""
        vocab = self.ontology.vocabularies.get(scheme)
        return list(self._once(("narrower", scheme, notation),
                               lambda: tuple((vocab.narrower(notation) or [notation]) if vocab is not None else [notation])))


#: the SKOS scheme of synonym sets for field language (有限空间 / 受限空间, 未投用 / 未投入使用 …)
FIELD_TERM_SCHEME = "FieldTerm"


# ---------------------------------------------------------------------- parsing
def _local(iri: Node, base: str) -> str:
    text = str(iri)
    if not text.startswith(base):
        raise ValueError(f"{text} is not under {base}")
    return text[len(base):]


def _zh(graph, subject) -> str:
    for value in graph.objects(subject, RDFS.label):
        if isinstance(value, Literal) and value.language == "zh":
            return str(value)
    return ""


def _notation(graph, iri: Node) -> str:
    value = graph.value(iri, SKOS.notation)
    if value is None:
        raise ValueError(f"{iri} is not a SKOS concept with a notation")
    return str(value)


def _true(value: Node | None) -> bool:
    return bool(isinstance(value, Literal) and value.toPython() is True)


def parse(ontology: Ontology) -> KnowledgeBase:
    g = ontology.graph
    sources = {}
    for s in g.subjects(RDF.type, RG.StandardClause):
        sid = _local(s, KB)
        sources[sid] = Source(sid, _zh(g, s), str(g.value(s, RG.standardCode) or ""),
                              str(g.value(s, RG.standardTitle) or ""), str(g.value(s, RG.clause) or ""),
                              tuple(sorted(_notation(g, o) for o in g.objects(s, RG.sourceIndustry))))
    patterns = {}
    for p in g.subjects(RDF.type, RG.HazardPattern):
        pid = _local(p, KB)
        major = g.value(p, RG.impliesMajor)
        patterns[pid] = Pattern(
            pid, _zh(g, p), bool(isinstance(major, Literal) and major.toPython() is True),
            tuple(sorted(_local(s, KB) for s in g.objects(p, RG.patternSource))),
            tuple(sorted(str(t) for t in g.objects(p, RG.fieldTerms))),
            _local(answer, KB) if (answer := g.value(p, RG.answeredBy)) is not None else None,
        )
    measures = {}
    for m in g.subjects(RDF.type, RG.ControlMeasureType):
        mid = _local(m, KB)
        level = g.value(m, RG.hierarchyLevel)
        links = {}
        for pred in LINKS:
            notations = sorted(_notation(g, o) for o in g.objects(m, RG[pred]))
            if notations:
                links[pred] = tuple(notations)
        measures[mid] = MeasureType(
            id=mid,
            name=_zh(g, m),
            hierarchy=_notation(g, level) if level is not None else "",
            links=links,
            patterns=tuple(sorted(_local(p, KB) for p in g.objects(m, RG.remedies))),
            sources=tuple(sorted(_local(s, KB) for s in g.objects(m, RG.cites))),
            terms=tuple(sorted(str(t) for t in g.objects(m, RG.fieldTerms))),
            decision=_true(g.value(m, RG.isDecision)),
        )
    version = str(g.value(KB_DOCUMENT, OWL.versionInfo) or "")
    return KnowledgeBase(version, dict(sorted(measures.items())), dict(sorted(patterns.items())),
                         dict(sorted(sources.items())), ontology)


@lru_cache(maxsize=1)
def knowledge_base() -> KnowledgeBase:
    """The knowledge base of the shipped ontology, parsed once per process."""
    return parse(load_ontology())


# ---------------------------------------------------------------------- writing
@dataclass
class KBLoadResult:
    nodes: dict[str, int]
    relationships: dict[str, int]
    removed: int = 0


def _concept_nodes(kb: KnowledgeBase) -> list[dict]:
    rows = []
    for scheme in CONCEPT_SCHEMES:
        for c in kb.ontology.vocabulary(scheme).concepts.values():
            rows.append({"id": concept_id(scheme, c.notation), "name": c.pref_zh or c.pref_en,
                         "scheme": scheme, "notation": c.notation})
    return rows


def graph_rows(kb: KnowledgeBase) -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    """The nodes per label and relationships per type that represent the knowledge base."""
    nodes: dict[str, list[dict]] = {
        SOURCE: [{"id": s.id, "name": s.name, "standardCode": s.code, "standardTitle": s.title,
                  "clause": s.clause or None} for s in kb.sources.values()],
        PATTERN: [{"id": p.id, "name": p.name, "impliesMajor": p.major, "citation": kb.citation(p),
                   "fieldTerms": list(p.terms)} for p in kb.patterns.values()],
        CONCEPT: _concept_nodes(kb),
        MEASURE: [{"id": m.id, "name": m.name, "hierarchyLevel": m.hierarchy, "citation": kb.citation(m),
                   "fieldTerms": list(m.terms)} for m in kb.measures.values()],
    }
    rels: dict[str, list[dict]] = defaultdict(list)
    for m in kb.measures.values():
        for pred, notations in m.links.items():
            rel_type, scheme = LINKS[pred]
            for n in notations:
                target = n if rel_type == APPLIES_TO_INDUSTRY or scheme is None else concept_id(scheme, n)
                rels[rel_type].append({"from": m.id, "to": target})
        rels[REMEDIES].extend({"from": m.id, "to": p} for p in m.patterns)
        rels[CITES].extend({"from": m.id, "to": s} for s in m.sources)
    for p in kb.patterns.values():
        rels[PATTERN_SOURCE].extend({"from": p.id, "to": s} for s in p.sources)
        if p.answer:
            rels[ANSWERED_BY].append({"from": p.id, "to": p.answer})
    for src in kb.sources.values():
        rels[SOURCE_INDUSTRY].extend({"from": src.id, "to": i} for i in src.industries)
    return nodes, dict(rels)


def load_knowledge_base(store: GraphStore, kb: KnowledgeBase | None = None) -> KBLoadResult:
    """Upsert the knowledge base into the graph (idempotent) and prune what the file no longer has.

    Industry nodes the measures point at are created if missing (the reference load normally has them);
    existing ones are left as they are.
    """
    kb = kb or knowledge_base()
    nodes, rels = graph_rows(kb)
    industries = sorted({r["to"] for t in (APPLIES_TO_INDUSTRY, SOURCE_INDUSTRY) for r in rels.get(t, [])})
    key = store.ontology.key_of(INDUSTRY)
    have = {str(r["c"]) for r in store.read(f"MATCH (i:{INDUSTRY}) WHERE i.{key} IN $codes RETURN i.{key} AS c",
                                            {"codes": industries})}
    store.upsert_nodes(INDUSTRY, [{"code": c, "name": kb.concept_name("SupervisionIndustry", c)}
                                  for c in industries if c not in have])
    result = KBLoadResult(nodes={}, relationships={})
    for label, rows in nodes.items():
        result.nodes[label] = store.upsert_nodes(label, rows)
    for rel_type, rows in sorted(rels.items()):
        done = store.upsert_relationships(rel_type, rows)
        if done.missing:
            raise RuntimeError(f"{rel_type}: {len(done.missing)} knowledge-base links have no target node")
        result.relationships[rel_type] = done.written
    result.removed = _prune(store, nodes, rels)
    return result


def _prune(store: GraphStore, nodes: dict[str, list[dict]], rels: dict[str, list[dict]]) -> int:
    """Delete knowledge-base nodes and links that are no longer in the file."""
    removed = 0
    for label in (MEASURE, PATTERN, SOURCE):
        keep = [r["id"] for r in nodes[label]]
        rows = store.execute(
            f"MATCH (n:{label}) WHERE NOT n.id IN $keep DETACH DELETE n RETURN count(*) AS c", {"keep": keep})
        removed += int(rows[0]["c"]) if rows else 0
    for rel_type, rows in rels.items():
        rel = store.ontology.relation(rel_type)
        src_key, dst_key = store.ontology.key_of(rel.domain), store.ontology.key_of(rel.range)
        keep = [f"{r['from']}|{r['to']}" for r in rows]
        out = store.execute(
            f"MATCH (a:{rel.domain})-[r:{rel_type}]->(b:{rel.range}) "
            f"WHERE NOT (a.{src_key} + '|' + b.{dst_key}) IN $keep DELETE r RETURN count(*) AS c",
            {"keep": keep})
        removed += int(out[0]["c"]) if out else 0
    return removed
