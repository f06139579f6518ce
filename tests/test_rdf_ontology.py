"""The ontology is consistent under OWL RL inference, the SHACL shapes per disclosure level are derived
from it, and the JSON-LD context shipped in the package is the one the ontology gives."""
from __future__ import annotations

import json
from importlib import resources

import owlrl
import pytest
from pyshacl import validate as shacl_validate
from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import OWL, SKOS

from riskgraph.graph.export import to_rdf
from riskgraph.graph.rdf_dataset import DatasetInfo, describe
from riskgraph.graph.subgraph import Subgraph
from riskgraph.ontology import Disclosure, load_ontology
from riskgraph.ontology.jsonld import CONTEXT_FILE, build_context, context_document
from riskgraph.ontology.model import ONTOLOGY_FILES, RG, SHAPES_FILE, read_turtle
from riskgraph.ontology.profiles import SH, profile_iri, shapes_for

onto = load_ontology()
USCC = "91130100MA0CEFGH1X"


def sample_export() -> Graph:
    """A small dossier touching every property kind the issue found inconsistent."""
    sub = Subgraph()
    sub.add_node("Enterprise", USCC, {"uscc": USCC, "name": "石家庄某化工有限公司", "regionCode": "130102", "lon": 114.5,
                                      "lat": 38.0, "supervisionIndustry": "HC", "industryCode": "2614", "riskColour": "RED",
                                      "employees": 12, "foundedOn": "2001-02-03", "tags": ["重点监管"]})
    sub.add_node("Region", "130102", {"code": "130102", "name": "长安区", "regionLevel": "COUNTY"})
    sub.add_node("Industry", "2614", {"code": "2614", "name": "有机化学原料制造"})
    sub.add_node("HazardSource", "HS1", {"id": "HS1", "name": "液氯储罐区", "majorHazardLevel": "L2"})
    sub.add_node("Inventory", "INV1", {"id": "INV1", "maxQuantityT": 12.5, "hazardCategory": "J2"})
    sub.add_node("Chemical", "7782-50-5", {"id": "7782-50-5", "name": "液氯", "casNumber": "7782-50-5", "hazardCategory": "J2"})
    sub.add_node("HiddenDanger", "HD1", {"id": "HD1", "grade": "MAJOR", "state": "RECTIFYING", "foundOn": "2024-03-05",
                                         "hazardFactors": ["1", "4"]})
    sub.edges += [(("Enterprise", USCC), "LOCATED_IN", ("Region", "130102"), {}),
                  (("Enterprise", USCC), "IN_INDUSTRY", ("Industry", "2614"), {}),
                  (("Enterprise", USCC), "HAS_HAZARD_SOURCE", ("HazardSource", "HS1"), {}),
                  (("HazardSource", "HS1"), "HOLDS", ("Inventory", "INV1"), {}),
                  (("Inventory", "INV1"), "OF_CHEMICAL", ("Chemical", "7782-50-5"), {}),
                  (("Enterprise", USCC), "HAS_HIDDEN_DANGER", ("HiddenDanger", "HD1"), {})]
    g = to_rdf(sub, onto)
    return describe(g, DatasetInfo(level=Disclosure.INTERNAL, source="urn:test", title="sample", complete=True), onto)


def test_properties_declared_as_literals_are_exported_as_literals_and_links_as_links():
    g = sample_export()
    schema = read_turtle(ONTOLOGY_FILES)
    datatype = set(schema.subjects(RDF.type, OWL.DatatypeProperty))
    objects = set(schema.subjects(RDF.type, OWL.ObjectProperty))
    vocabulary_links = 0
    for _, p, o in g:
        if p in datatype:
            assert isinstance(o, Literal), (p, o)
        elif p in objects:
            assert isinstance(o, URIRef), (p, o)
            vocabulary_links += (p, RG.vocabulary, None) in schema
    assert vocabulary_links >= 10  # riskColour, supervisionIndustry, grade, hazardFactors … are concepts
    for prop in onto.properties.values():  # the model reads both kinds, one datatype each
        assert (prop.vocabulary is not None) == (URIRef(prop.iri) in objects), prop.name


def test_owl_rl_inference_types_no_concept_as_a_node_and_no_node_twice():
    g = read_turtle(ONTOLOGY_FILES) + sample_export()
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(g)
    assert list(g.objects(None, owlrl.Namespaces.ERRNS.error)) == []
    # only the classes whose nodes stand for concepts (Industry, HazardConcept) may type a concept
    concept_classes = {URIRef(onto.classes[a].iri) for c in onto.classes.values()
                       if onto.graph.value(URIRef(c.iri), RG.conceptNode) is not None for a in onto.ancestors(c.name)}
    assert len(concept_classes) >= 3
    wrong = {(str(s), str(cls)) for s in g.subjects(RDF.type, SKOS.Concept) for cls in g.objects(s, RDF.type)
             if str(cls).startswith(str(RG)) and cls not in concept_classes}
    assert wrong == set()
    # every node keeps exactly its own class line: no Enterprise is also a Chemical, no concept an Enterprise
    for node, cls in sample_export().subject_objects(RDF.type):
        if not str(cls).startswith(str(RG)):
            continue
        own = {URIRef(onto.classes[a].iri) for a in onto.ancestors(str(cls)[len(str(RG)):])}
        inferred = {c for c in g.objects(node, RDF.type) if str(c).startswith(str(RG))}
        assert inferred == own, node


def test_the_sample_conforms_after_inference_too():
    data = sample_export()
    conforms, _, text = shacl_validate(data, shacl_graph=shapes_for(Disclosure.INTERNAL),
                                       ont_graph=read_turtle(ONTOLOGY_FILES), inference="owlrl", allow_warnings=False)
    assert conforms, text


def test_level_shapes_drop_only_the_min_counts_a_level_withholds():
    full = read_turtle([SHAPES_FILE])
    required = {(str(full.value(s, SH.path))) for s in full.subjects(SH.minCount, None)}
    by_iri = {p.iri: p for p in onto.properties.values()}
    relations = {r.iri for r in onto.relations.values()}
    assert {RG.maxQuantityT, RG.grade, RG.uscc, RG.ofChemical} <= {URIRef(x) for x in required}
    for level in Disclosure:
        for complete in (True, False):
            shapes = shapes_for(level, complete=complete)
            kept = {str(shapes.value(s, SH.path)) for s in shapes.subjects(SH.minCount, None)}
            for path in required:
                if path in by_iri:
                    assert (path in kept) == (by_iri[path].disclosure <= level), (level, path)
                else:
                    assert path in relations and (path in kept) == complete, (level, path)
            assert (profile_iri(level, complete=complete), RDF.type, None) in shapes
            assert (profile_iri(level, complete=complete), RDFS.label, None) in shapes


@pytest.mark.parametrize("level", list(Disclosure))
def test_a_withheld_required_field_fails_the_full_shapes_and_passes_the_levels(level):
    sub = Subgraph()
    sub.add_node("Inventory", "INV1", onto.visible("Inventory", {"id": "INV1", "maxQuantityT": 3.5}, level))
    sub.add_node("Chemical", "C1", {"id": "C1", "name": "液氯"})
    sub.edges.append((("Inventory", "INV1"), "OF_CHEMICAL", ("Chemical", "C1"), {}))
    data = to_rdf(sub, onto)
    withheld = onto.properties["maxQuantityT"].disclosure > level
    full, _, _ = shacl_validate(data, shacl_graph=read_turtle([SHAPES_FILE]), ont_graph=read_turtle(["riskgraph.ttl"]))
    levelled, _, text = shacl_validate(data, shacl_graph=shapes_for(level), ont_graph=read_turtle(["riskgraph.ttl"]))
    assert full is not withheld and levelled, text


def test_the_shipped_context_is_the_ontologys():
    shipped = (resources.files("riskgraph.ontology") / CONTEXT_FILE).read_text(encoding="utf-8")
    assert shipped == context_document(onto), "regenerate: python -m riskgraph.ontology.jsonld > ontology/context.jsonld"
    ctx = json.loads(shipped)["@context"]
    assert ctx == build_context(onto)
    assert ctx["riskColour"] == {"@id": "rg:riskColour", "@type": "@id"}
    assert ctx["foundedOn"] == {"@id": "rg:foundedOn", "@type": "xsd:date"}
    assert ctx["tags"]["@container"] == "@set" and ctx["hasLicence"]["@type"] == "@id"
    assert ctx["asWKT"]["@type"] == "geo:wktLiteral"
