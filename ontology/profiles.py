"""SHACL shapes per disclosure level, derived from shapes.ttl and the ontology's disclosure levels.

An export made for a level holds no field above it, so a shape that requires such a field
(`sh:minCount`) cannot hold: the level's shapes drop that `sh:minCount`, and keep every other
constraint (datatype, pattern, value set, ranges) on whatever is there. A neighbourhood (a dossier)
also ends somewhere: its shapes drop the `sh:minCount` of relationships, whose far end may lie
outside it. Nothing here is copied by hand: the levels come from `rg:disclosure` in the ontology.
"""
from __future__ import annotations

from functools import lru_cache

from rdflib import RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS

from riskgraph.ontology.model import RG, SHAPES_FILE, Disclosure, load_ontology, read_turtle

SH = Namespace("http://www.w3.org/ns/shacl#")
SHAPES_BASE = "https://w3id.org/riskgraph/shapes/"
NEIGHBOURHOOD = "neighbourhood"


def profile_iri(level: Disclosure, *, complete: bool = True) -> URIRef:
    """The IRI an export names in `dcterms:conformsTo`: /shapes/{level}[/neighbourhood]."""
    return URIRef(f"{SHAPES_BASE}{level.name.lower()}" + ("" if complete else f"/{NEIGHBOURHOOD}"))


@lru_cache(maxsize=8)
def shapes_for(level: Disclosure = Disclosure.INTERNAL, *, complete: bool = True) -> Graph:
    """shapes.ttl as it applies to an export for `level` (a complete graph, or a neighbourhood)."""
    onto = load_ontology()
    relations = {rel.iri for rel in onto.relations.values()}
    withheld = {p.iri for p in onto.properties.values() if p.disclosure > level}
    shapes = read_turtle([SHAPES_FILE])
    for shape, path in list(shapes.subject_objects(SH.path)):
        if (shape, SH.minCount, None) not in shapes:
            continue
        if str(path) in withheld or (not complete and str(path) in relations):
            shapes.remove((shape, SH.minCount, None))
    iri = profile_iri(level, complete=complete)
    shapes.add((iri, RDF.type, DCTERMS.Standard))
    scope = "a complete graph" if complete else "a neighbourhood (relationships may end outside it)"
    shapes.add((iri, RDFS.label, Literal(f"RiskGraph shapes for {level.name.lower()} exports of {scope}", lang="en")))
    shapes.add((iri, DCTERMS.source, URIRef(str(RG).rstrip("#"))))
    return shapes

