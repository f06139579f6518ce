"""What an RDF export says about itself, and the SKOS concepts it refers to.

Every export carries one dataset node (DCAT + PROV-O + Dublin Core): the disclosure level it was
made for (`dcterms:accessRights`, one of the ontology's levels), when it was generated, from what,
under which licence, and the shapes it conforms to (ontology/profiles.py). The concepts its values
point at are described in it (scheme, notation, labels), so SHACL value-set checks and readers
need nothing else to make sense of a value.
"""
from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from rdflib import RDF, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, SKOS

from riskgraph.ontology.model import RG, Concept, Disclosure, Ontology, Vocabulary
from riskgraph.ontology.profiles import profile_iri

DCAT = Namespace("http://www.w3.org/ns/dcat#")
PROV = Namespace("http://www.w3.org/ns/prov#")
#: the licence stated on exports; set it to what the bureau publishes its data under
ENV_LICENCE = "RISKGRAPH_EXPORT_LICENCE"
DEFAULT_LICENCE = "https://creativecommons.org/licenses/by/4.0/"
LEVEL_IRIS = {Disclosure.PUBLIC: RG.Public, Disclosure.ENTERPRISE: RG.EnterpriseLevel,
              Disclosure.INSPECTOR: RG.InspectorLevel, Disclosure.INTERNAL: RG.Internal}
SOFTWARE = URIRef("https://w3id.org/riskgraph")


def export_licence() -> str:
    return os.environ.get(ENV_LICENCE, "").strip() or DEFAULT_LICENCE


@dataclass(frozen=True)
class DatasetInfo:
    """What the dataset node states. `level`: the highest disclosure level of what it holds (who may
    read it); `shapes_level`: the lowest level any node was disclosed at (which shapes it meets; default
    `level`). `complete`: a whole graph, not a neighbourhood."""

    level: Disclosure
    source: str
    title: str
    complete: bool = False
    subject: URIRef | None = None
    generated: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    licence: str = field(default_factory=export_licence)
    shapes_level: Disclosure | None = None


def dataset_triples(info: DatasetInfo, ontology: Ontology) -> Graph:
    """The dataset node and the activity that generated it, as a small graph."""
    g = Graph()
    _bind(g)
    node = URIRef(f"urn:uuid:{uuid.uuid4()}")
    activity = URIRef(f"{node}#generation")
    when = Literal(info.generated.isoformat(timespec="seconds"), datatype=XSD.dateTime)
    g.add((node, RDF.type, DCAT.Dataset))
    g.add((node, RDF.type, PROV.Entity))
    g.add((node, DCTERMS.title, Literal(info.title)))
    g.add((node, DCTERMS.accessRights, LEVEL_IRIS[info.level]))
    g.add((node, DCTERMS.issued, when))
    g.add((node, PROV.generatedAtTime, when))
    g.add((node, DCTERMS.source, URIRef(info.source) if "://" in info.source else Literal(info.source)))
    g.add((node, DCTERMS.license, URIRef(info.licence)))
    shapes_level = info.level if info.shapes_level is None else info.shapes_level
    g.add((node, DCTERMS.conformsTo, profile_iri(shapes_level, complete=info.complete)))
    g.add((node, DCTERMS.conformsTo, SOFTWARE))
    if info.subject is not None:
        g.add((node, DCTERMS.subject, info.subject))
        g.add((activity, PROV.used, info.subject))
    g.add((node, PROV.wasGeneratedBy, activity))
    g.add((activity, RDF.type, PROV.Activity))
    g.add((activity, PROV.endedAtTime, when))
    g.add((activity, PROV.wasAssociatedWith, SOFTWARE))
    g.add((SOFTWARE, RDF.type, PROV.SoftwareAgent))
    if ontology.version:
        g.add((SOFTWARE, URIRef("http://www.w3.org/2002/07/owl#versionInfo"), Literal(ontology.version)))
    return g


@lru_cache(maxsize=4)
def _concepts(ontology: Ontology) -> dict[str, tuple[Vocabulary, Concept]]:
    return {c.iri: (vocab, c) for vocab in ontology.vocabularies.values() for c in vocab.concepts.values()}


def referenced_concepts(g: Graph, ontology: Ontology) -> set[str]:
    """IRIs of the SKOS concepts that `g`'s values point at."""
    known = _concepts(ontology)
    return {str(o) for o in set(g.objects()) if isinstance(o, URIRef) and str(o) in known}


def concept_triples(iris: Iterable[str], ontology: Ontology) -> Graph:
    """The concepts (and their schemes) described: type, scheme, notation, labels."""
    known = _concepts(ontology)
    out = Graph()
    _bind(out)
    seen_schemes: set[str] = set()
    for text in sorted(iris):
        vocab, concept = known[text]
        iri, scheme = URIRef(concept.iri), URIRef(vocab.iri)
        out.add((iri, RDF.type, SKOS.Concept))
        out.add((iri, SKOS.inScheme, scheme))
        out.add((iri, SKOS.notation, Literal(concept.notation)))
        for label, lang in ((concept.pref_zh, "zh"), (concept.pref_en, "en")):
            if label:
                out.add((iri, SKOS.prefLabel, Literal(label, lang=lang)))
        if vocab.iri not in seen_schemes:
            seen_schemes.add(vocab.iri)
            out.add((scheme, RDF.type, SKOS.ConceptScheme))
            if vocab.label_zh:
                out.add((scheme, SKOS.prefLabel, Literal(vocab.label_zh, lang="zh")))
    return out


def describe(g: Graph, info: DatasetInfo, ontology: Ontology) -> Graph:
    """`g` with its dataset node and the concepts it refers to, in place; returns `g`."""
    g += concept_triples(referenced_concepts(g, ontology), ontology)
    g += dataset_triples(info, ontology)
    _bind(g)
    return g


def _bind(g: Graph) -> None:
    g.bind("dcat", DCAT)
    g.bind("prov", PROV)
    g.bind("dcterms", DCTERMS)
    g.bind("skos", SKOS)
