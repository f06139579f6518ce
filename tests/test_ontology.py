"""The ontology is complete and self-consistent, and its shapes catch bad data."""
from __future__ import annotations

import pytest
from rdflib import RDF, Graph, Literal
from rdflib.namespace import OWL, SKOS

from riskgraph.graph.export import to_rdf
from riskgraph.graph.subgraph import Subgraph
from riskgraph.ontology import Disclosure, load_ontology
from riskgraph.ontology.model import ONTOLOGY_FILES, RG, Ontology, read_turtle, relation_type_name
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


def test_every_node_property_carries_a_disclosure_level_in_the_turtle():
    """Datatype properties, and the object properties whose values are SKOS concepts (rg:vocabulary)."""
    vocabulary_valued = [p for p in onto.graph.subjects(RDF.type, OWL.ObjectProperty) if (p, RG.vocabulary, None) in onto.graph]
    assert len(vocabulary_valued) > 20
    for prop in [*onto.graph.subjects(RDF.type, OWL.DatatypeProperty), *vocabulary_valued]:
        assert onto.graph.value(prop, RG.disclosure) is not None, prop
        assert str(prop)[len(str(RG)):] in onto.properties, prop


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
                                    "lon": 114.5, "lat": 38.0, "supervisionIndustry": "HC", "usccQuality": "valid",
                                    "locationMethod": "county", "locationAccuracy": 12000}),
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
        ("Enterprise", VALID_USCC, {"locationMethod": "guessed"}, "locationMethod"),
        ("Enterprise", VALID_USCC, {"locationAccuracy": -5}, "locationAccuracy"),
        ("Enterprise", VALID_USCC, {"sourceCrs": "WGS-84"}, "sourceCrs"),
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


def test_gb18218_table1_has_all_85_entries_with_cas_numbers_and_sources():
    """GB 18218-2018 Table 1 has 85 entries (序号 1–85); every one is in NamedChemical with its Q."""
    chemicals = onto.vocabulary("NamedChemical").concepts.values()
    entries = {}
    for c in chemicals:
        assert "tableEntry" in c.data and "criticalQuantity" in c.data, c.notation
        entries.setdefault(int(c.data["tableEntry"]), []).append(c)
    assert sorted(entries) == list(range(1, 86))
    # only entry 13 has two concepts: 煤气 (no CAS number) and 一氧化碳, which its wording names
    assert {n for n, cs in entries.items() if len(cs) > 1} == {13}
    # the standard gives no CAS number for 煤气 (13), 硝酸铵肥料 (45) and 烷基铝 (74); all others have one
    assert {int(c.data["tableEntry"]) for c in chemicals if not c.data.get("casNumber")} == {13, 45, 74}
    by_entry = {n: cs[0] for n, cs in entries.items()}
    # a few values typed from the standard's text (not from the vocabulary)
    for n, name, cas, q in [(64, "甲苯", "108-88-3", 500), (59, "丙酮", "67-64-1", 500), (69, "乙酸乙酯", "141-78-6", 500),
                            (67, "乙醇", "64-17-5", 500), (55, "乙烯", "74-85-1", 50), (50, "氯乙烯", "75-01-4", 50),
                            (47, "1,3-丁二烯", "106-99-0", 5), (53, "一甲胺", "74-89-5", 5), (26, "三氧化硫", "7446-11-9", 75),
                            (23, "甲苯二异氰酸酯", "26471-62-5", 100), (46, "硝酸钾", "7757-79-1", 1000),
                            (83, "碳化钙", "75-20-7", 100), (84, "钾", "7440-09-7", 1), (85, "钠", "7440-23-5", 10)]:
        c = by_entry[n]
        assert (c.pref_zh, c.data["casNumber"], float(c.data["criticalQuantity"])) == (name, cas, q), n
    # qualified entries carry their condition
    assert by_entry[8].data["condition"] == "content>90" and by_entry[81].data["condition"] == "content>70"
    assert by_entry[11].data["condition"] == "state=anhydrous"
    assert {int(c.data["tableEntry"]) for c in chemicals if c.data.get("entryGroup") == "硝化纤维素"} == set(range(37, 43))


def test_every_property_is_declared_once_with_one_domain():
    """Two declarations of one property (say `subjectKey` for recommendations and for review items)
    give it two domains, which OWL reads as their intersection: no node could carry it."""
    from rdflib import OWL, RDF, RDFS

    from riskgraph.ontology.model import ONTOLOGY_FILES, read_turtle

    graph = read_turtle(ONTOLOGY_FILES)
    twice = [str(p) for kind in (OWL.DatatypeProperty, OWL.ObjectProperty)
             for p in graph.subjects(RDF.type, kind) if len(set(graph.objects(p, RDFS.domain))) > 1]
    assert twice == []


def test_shared_values_are_the_marked_texts_and_the_vocabulary_values():
    """graph/shared_values.py keeps these once in the embedded store: a record's provenance, an
    assessment's run stamp, every vocabulary-valued property; never a key, a number or a list."""
    assert {"sourceSystem", "sourceFile", "loadId", "loadedAt", "matchMethod"} <= onto.shared_values("SourceRecord")
    assert {"recommender", "recommenderVersion", "recommendedAt", "subjectLabel"} <= onto.shared_values("Recommendation")
    assert {"computedAt", "asOf", "dataLoadId", "dataLoadedAt", "method", "level", "riskColour"} <= \
        onto.shared_values("Assessment")
    assert {"state", "grade"} <= onto.shared_values("HiddenDanger")  # vocabulary-valued
    for label in onto.classes:
        props = onto.properties_of(label)
        for name in onto.shared_values(label):
            assert props[name].datatype in ("string", "date", "dateTime") and not props[name].multi_valued
        if not onto.classes[label].abstract:
            assert onto.key_of(label) not in onto.shared_values(label)


def test_a_number_marked_as_a_shared_value_is_refused():
    graph = read_turtle(ONTOLOGY_FILES)
    graph.add((RG.rowNumber, RG.sharedValue, Literal(True)))
    with pytest.raises(ValueError, match="rowNumber is rg:sharedValue"):
        Ontology(graph)


def test_a_class_packs_only_texts_none_of_its_indexes_or_searches_needs():
    """A recommendation's name is kept packed (nothing searches recommendations by name); an
    enterprise's is searched, and a recommendation's subject key is indexed: packing them is refused."""
    assert "name" in onto.classes["Recommendation"].packs
    for cls, prop in ((RG.Enterprise, RG.name), (RG.Recommendation, RG.subjectKey)):
        graph = read_turtle(ONTOLOGY_FILES)
        graph.add((cls, RG.packs, prop))
        with pytest.raises(ValueError, match="packs"):
            Ontology(graph)
