"""The ontology is complete and self-consistent, and its shapes catch bad data."""
from __future__ import annotations

import pytest
from rdflib import RDF, Graph
from rdflib.namespace import OWL, SKOS

from riskgraph.graph.export import to_rdf
from riskgraph.graph.subgraph import Subgraph
from riskgraph.ontology import Disclosure, load_ontology
from riskgraph.ontology.model import RG, relation_type_name
from riskgraph.ontology.validate import validate

onto = load_ontology()

MISSION_CLASSES = {
    "Enterprise", "Licence", "Inspection", "Penalty", "HiddenDanger", "Rectification", "HazardSource",
    "MajorHazardSource", "Chemical", "RiskPoint", "RiskAnalysisUnit", "RiskEvent", "ControlMeasure", "Sensor",
    "MonitoringAlarm", "TailingsPond", "CreditRecord", "NaturalDisasterRiskPoint", "RescueTeam", "Supply",
    "Warehouse", "Shelter", "EmergencyPlan", "Accident", "PublicReport", "Warning", "Region", "Industry", "Person",
}
SCHEMES = {
    "SupervisionIndustry", "IndustryClass", "AccidentType", "HazardFactor", "RiskColour", "HiddenDangerGrade",
    "HiddenDangerState", "HazardCategory", "TailingsPondSafetyClass", "DisasterType",
}


def test_every_mission_class_is_defined():
    assert MISSION_CLASSES <= set(onto.classes)


def test_every_class_has_a_key_that_is_a_declared_property():
    for cls in onto.classes.values():
        assert cls.key in onto.properties, cls.name
        assert cls.key in onto.properties_of(cls.name), cls.name
    assert onto.key_of("Enterprise") == "uscc"
    assert onto.key_of("Region") == "code"


def test_every_relationship_has_class_domain_and_range():
    class_iris = {str(c) for c in onto.graph.subjects(RDF.type, OWL.Class)}
    for rel in onto.relations.values():
        assert rel.domain in onto.classes and rel.range in onto.classes, rel.name
        assert str(RG[rel.domain]) in class_iris and str(RG[rel.range]) in class_iris
        assert rel.type == relation_type_name(rel.name)
    assert onto.relation("HAS_LICENCE").domain == "Enterprise"


def test_every_datatype_property_carries_a_disclosure_level_in_the_turtle():
    for prop in onto.graph.subjects(RDF.type, OWL.DatatypeProperty):
        assert onto.graph.value(prop, RG.disclosure) is not None, prop


def test_disclosure_filter_hides_what_a_level_may_not_see():
    values = {"uscc": "X", "name": "甲公司", "employees": 12, "tags": ["重点监管"], "sourceSystems": ["a"], "zzz": 1}
    assert set(onto.visible("Enterprise", values, Disclosure.PUBLIC)) == {"uscc", "name"}
    assert set(onto.visible("Enterprise", values, Disclosure.ENTERPRISE)) == {"uscc", "name", "employees"}
    assert set(onto.visible("Enterprise", values, Disclosure.INSPECTOR)) == {"uscc", "name", "employees", "tags"}
    # undeclared properties are internal: never shown by default
    assert "zzz" in onto.visible("Enterprise", values, Disclosure.INTERNAL)
    assert onto.disclosure_of("Enterprise", "foundedOnMs") == onto.disclosure_of("Enterprise", "foundedOn")


def test_vocabularies_are_skos_schemes_with_the_standards_tables():
    assert SCHEMES <= set(onto.vocabularies)
    for vocab in onto.vocabularies.values():
        assert vocab.concepts, vocab.name
        for concept in vocab.concepts.values():
            assert concept.pref_zh, (vocab.name, concept.notation)
    accident = onto.vocabulary("AccidentType")
    assert len(accident.concepts) == 20 and accident.concepts["19"].pref_zh == "中毒和窒息"
    colours = onto.vocabulary("RiskColour")
    assert [c.pref_zh for c in sorted(colours.concepts.values(), key=lambda c: -c.rank)] == ["红", "橙", "黄", "蓝"]
    assert colours.lookup("重大风险").notation == colours.lookup("红").notation
    categories = onto.vocabulary("HazardCategory")
    assert categories.concepts["J1"].data["criticalQuantity"] == 5
    assert categories.concepts["J1"].data["beta"] == 4
    assert categories.concepts["W5.4"].data["criticalQuantity"] == 5000
    chlorine = onto.vocabulary("NamedChemical").lookup("液氯")
    assert chlorine.data["criticalQuantity"] == 5 and chlorine.data["beta"] == 4


def test_skos_concepts_all_belong_to_a_scheme():
    g = onto.graph
    for concept in g.subjects(RDF.type, SKOS.Concept):
        assert g.value(concept, SKOS.inScheme) is not None, concept
        assert g.value(concept, SKOS.notation) is not None, concept


# ---------------------------------------------------------------- SHACL
VALID_USCC = "91130100MA0CEFGH1X"


def _rdf(*nodes: tuple[str, str, dict], edges=()) -> Graph:
    sub = Subgraph()
    for label, key, props in nodes:
        sub.add_node(label, key, props)
    sub.edges.extend(edges)
    return to_rdf(sub, onto)


def _valid_sample() -> list[tuple[str, str, dict]]:
    return [
        ("Enterprise", VALID_USCC, {"uscc": VALID_USCC, "name": "石家庄某化工有限公司", "regionCode": "130102",
                                    "lon": 114.5, "lat": 38.0, "supervisionIndustry": "HC", "usccQuality": "valid"}),
        ("Region", "130102", {"code": "130102", "name": "长安区", "regionLevel": "COUNTY"}),
        ("HiddenDanger", "HD1", {"id": "HD1", "grade": "MAJOR", "state": "RECTIFYING", "foundOn": "2024-03-05",
                                 "hazardFactors": ["1", "4"]}),
        ("Inventory", "INV1", {"id": "INV1", "maxQuantityT": 12.5}),
        ("Chemical", "7782-50-5", {"id": "7782-50-5", "name": "液氯", "casNumber": "7782-50-5", "hazardCategory": "J2"}),
    ]


def test_shacl_accepts_valid_data():
    report = validate(_rdf(*_valid_sample(), edges=[(("Inventory", "INV1"), "OF_CHEMICAL", ("Chemical", "7782-50-5"), {})]))
    assert report.conforms, report.violations


@pytest.mark.parametrize(
    "label, key, change, path",
    [
        ("Enterprise", VALID_USCC, {"uscc": "91130100MA0CEFGH1"}, "uscc"),  # 17 characters
        ("Enterprise", VALID_USCC, {"uscc": "91130100MA0CEFGHIX"}, "uscc"),  # I is not in the charset
        ("Enterprise", VALID_USCC, {"name": None}, "name"),
        ("Enterprise", VALID_USCC, {"lat": 91.0}, "lat"),
        ("Enterprise", VALID_USCC, {"supervisionIndustry": "FOOD"}, "supervisionIndustry"),
        ("HiddenDanger", "HD1", {"grade": "CRITICAL"}, "grade"),
        ("HiddenDanger", "HD1", {"state": None}, "state"),
        ("Inventory", "INV1", {"maxQuantityT": -3.0}, "maxQuantityT"),
        ("Region", "130102", {"code": "13010"}, "code"),
    ],
)
def test_shacl_rejects_invalid_samples(label, key, change, path):
    nodes = []
    for node_label, node_key, props in _valid_sample():
        if (node_label, node_key) == (label, key):
            props = {k: v for k, v in {**props, **change}.items() if v is not None}
        nodes.append((node_label, node_key, props))
    report = validate(_rdf(*nodes, edges=[(("Inventory", "INV1"), "OF_CHEMICAL", ("Chemical", "7782-50-5"), {})]))
    assert not report.conforms
    assert any(v.path.endswith("#" + path) for v in report.violations), report.violations


def test_shacl_requires_inventory_chemical_link():
    report = validate(_rdf(*_valid_sample()))
    assert any(v.path.endswith("#ofChemical") for v in report.violations)
