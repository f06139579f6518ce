"""The control-measure knowledge base: complete, well-formed (SHACL), covering the field language, loadable."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from pyshacl import validate as shacl_validate
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, RDFS

from riskgraph.ontology.model import RG, load_ontology, read_turtle
from riskgraph.reasoning.recommend.kb import (
    CONCEPT,
    LINKS,
    MEASURE,
    PATTERN,
    SOURCE,
    knowledge_base,
    load_knowledge_base,
    parse,
)
from riskgraph.reasoning.recommend.textmatch import Atom, Lexicon, Matcher, Term
from riskgraph.synth.hazards import HIDDEN_DANGERS, MEASURES

ONTO = load_ontology()
KB = knowledge_base()
RGK = Namespace("https://w3id.org/riskgraph/kb/")
HIERARCHY = set(ONTO.vocabulary("ControlHierarchy").concepts)


def test_the_knowledge_base_parses_at_the_size_asked_for():
    assert 150 <= len(KB.measures) <= 300
    assert len(KB.patterns) >= 150 and len(KB.sources) >= 120
    assert KB.version
    # every level of the hierarchy of controls is represented
    assert set(Counter(m.hierarchy for m in KB.measures.values())) == HIERARCHY
    # the schema part is in the ontology, with one domain and range per relationship
    for label in (MEASURE, PATTERN, CONCEPT, SOURCE, "Recommendation"):
        assert label in ONTO.labels and ONTO.key_of(label) == "id"
    assert ONTO.relation("RECOMMENDED_FOR").range == "Thing"
    assert ONTO.relation("RECOMMENDS").range == MEASURE


def test_every_measure_has_a_hierarchy_type_a_link_and_a_citation():
    for m in KB.measures.values():
        assert m.name, m.id
        assert m.hierarchy in HIERARCHY, m.id
        assert m.links or m.patterns, m.id
        assert m.links.get("mitigatesAccident") or m.patterns, f"{m.id}: no accident type and no hazard pattern"
        assert m.sources and all(s in KB.sources for s in m.sources), m.id
        assert KB.citation(m), m.id
        assert m.terms, m.id
        for pred, notations in m.links.items():
            scheme = LINKS[pred][1]
            assert set(notations) <= set(ONTO.vocabulary(scheme).concepts), (m.id, pred)
    for p in KB.patterns.values():
        assert p.sources and p.terms and KB.by_pattern.get(p.id), p.id
    for s in KB.sources.values():
        assert s.name and s.code and s.title, s.id


def test_citations_name_clauses_only_where_given():
    with_clause = [s for s in KB.sources.values() if s.clause]
    assert with_clause, "some sources cite a clause"
    for s in with_clause:
        assert s.clause in s.name
    # the named sources are present
    codes = " ".join(s.code + s.title for s in KB.sources.values())
    for needle in ("GB 30871-2022", "AQ 3013", "GB/T 50493", "GB 39800", "重大危险源安全包保责任制",
                   "工贸企业重大事故隐患判定标准",
                   "金属非金属矿山重大事故隐患判定标准", "GB 51108", "应急管理部令"):
        assert needle in codes, needle


# ---------------------------------------------------------------- SHACL over the Turtle itself
SHAPES = """
@prefix rg:   <https://w3id.org/riskgraph#> .
@prefix rgv:  <https://w3id.org/riskgraph/vocab/> .
@prefix sh:   <http://www.w3.org/ns/shacl#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix t:    <urn:test:> .

t:InHierarchy sh:property [ sh:path skos:inScheme ; sh:hasValue rgv:ControlHierarchy ] .
t:InAccident sh:property [ sh:path skos:inScheme ; sh:hasValue rgv:AccidentType ] .
t:InFactor sh:property [ sh:path skos:inScheme ; sh:hasValue rgv:HazardFactor ] .
t:InCategory sh:property [ sh:path skos:inScheme ; sh:hasValue rgv:HazardCategory ] .
t:InProcess sh:property [ sh:path skos:inScheme ; sh:hasValue rgv:HazardousProcess ] .
t:InEquipment sh:property [ sh:path skos:inScheme ; sh:hasValue rgv:EquipmentType ] .
t:InIndustry sh:property [ sh:path skos:inScheme ; sh:hasValue rgv:SupervisionIndustry ] .

t:MeasureShape a sh:NodeShape ; sh:targetClass rg:ControlMeasureType ;
    sh:property [ sh:path rdfs:label ; sh:minCount 1 ; sh:languageIn ("zh") ] ;
    sh:property [ sh:path rg:hierarchyLevel ; sh:minCount 1 ; sh:maxCount 1 ; sh:node t:InHierarchy ] ;
    sh:property [ sh:path rg:cites ; sh:minCount 1 ; sh:class rg:StandardClause ] ;
    sh:property [ sh:path rg:fieldTerms ; sh:minCount 1 ; sh:datatype <http://www.w3.org/2001/XMLSchema#string> ] ;
    sh:property [ sh:path rg:mitigatesAccident ; sh:node t:InAccident ] ;
    sh:property [ sh:path rg:addressesFactor ; sh:node t:InFactor ] ;
    sh:property [ sh:path rg:appliesToCategory ; sh:node t:InCategory ] ;
    sh:property [ sh:path rg:appliesToProcess ; sh:node t:InProcess ] ;
    sh:property [ sh:path rg:appliesToEquipment ; sh:node t:InEquipment ] ;
    sh:property [ sh:path rg:appliesToIndustry ; sh:node t:InIndustry ] ;
    sh:property [ sh:path rg:remedies ; sh:class rg:HazardPattern ] ;
    sh:or ( [ sh:path rg:mitigatesAccident ; sh:minCount 1 ] [ sh:path rg:remedies ; sh:minCount 1 ] ) .

t:PatternShape a sh:NodeShape ; sh:targetClass rg:HazardPattern ;
    sh:property [ sh:path rdfs:label ; sh:minCount 1 ] ;
    sh:property [ sh:path rg:patternSource ; sh:minCount 1 ; sh:class rg:StandardClause ] ;
    sh:property [ sh:path rg:fieldTerms ; sh:minCount 1 ] ;
    sh:property [ sh:path [ sh:inversePath rg:remedies ] ; sh:minCount 1 ;
                  sh:message "no measure remedies this pattern" ] .

t:SourceShape a sh:NodeShape ; sh:targetClass rg:StandardClause ;
    sh:property [ sh:path rdfs:label ; sh:minCount 1 ; sh:maxCount 1 ] ;
    sh:property [ sh:path rg:standardCode ; sh:minCount 1 ; sh:maxCount 1 ] ;
    sh:property [ sh:path rg:clause ; sh:maxCount 1 ] .
"""


def _shacl(data: Graph) -> tuple[bool, str]:
    shapes = Graph().parse(data=SHAPES, format="turtle")
    conforms, _, text = shacl_validate(data, shacl_graph=shapes, advanced=True, allow_warnings=False)
    return bool(conforms), text


def _kb_graph() -> Graph:
    return read_turtle(["vocabularies.ttl", "control_measures.ttl"])


def test_the_turtle_conforms_to_the_knowledge_base_shapes():
    conforms, text = _shacl(_kb_graph())
    assert conforms, text


@pytest.mark.parametrize("breakage", ["no_citation", "two_levels", "wrong_scheme", "orphan_pattern"])
def test_the_shapes_catch_a_broken_entry(breakage):
    g = _kb_graph()
    m = RGK["CM-GAS-DETECT"]
    if breakage == "no_citation":
        g.remove((m, RG.cites, None))
    elif breakage == "two_levels":
        g.add((m, RG.hierarchyLevel, URIRef("https://w3id.org/riskgraph/vocab/ControlHierarchy/PPE")))
    elif breakage == "wrong_scheme":
        g.add((m, RG.mitigatesAccident, URIRef("https://w3id.org/riskgraph/vocab/HazardCategory/W2")))
    else:
        g.add((RGK["HP-NEW"], RDF.type, RG.HazardPattern))
        g.add((RGK["HP-NEW"], RDFS.label, Literal("无人治理的隐患", lang="zh")))
        g.add((RGK["HP-NEW"], RG.patternSource, RGK["SRC-GB2894"]))
        g.add((RGK["HP-NEW"], RG.fieldTerms, Literal("无人治理")))
    conforms, _ = _shacl(g)
    assert not conforms


# ---------------------------------------------------------------- field language
def test_field_terms_follow_the_syntax():
    assert Term.parse("A|B+C").groups == ((Atom("a"), Atom("b")), (Atom("c"),))
    assert Term.parse("~防爆+!照明").groups == ((Atom("防爆", "neg"),), (Atom("照明", "pos"),))
    with pytest.raises(ValueError):
        Term.parse("A++C")
    with pytest.raises(ValueError):
        Term.parse("~")
    m = Matcher({"X": ["降低库水位"], "Y": ["坝体+加固"], "Z": ["库水位"]})
    # a text naming two measures gives both; a weaker match inside a stronger one is dropped
    assert [x.key for x in m.match("降低库水位，委托设计单位制定坝体加固方案并实施")] == ["X", "Y"]
    assert [x.key for x in m.match_clauses("坝体加固；降低库水位")] == ["X", "Y"]


def test_words_match_at_word_boundaries_with_negation_and_synonyms():
    lexicon = Lexicon([("有限空间", "受限空间"), ("不足", "少于", "小于")], words=["一氧化碳"])
    m = Matcher({"LAMP": ["照明+不足|昏暗"], "EXPROOF": ["~防爆+灯具|照明"], "PLAIN": ["!防爆+电气"],
                 "CONFINED": ["有限空间+~通风"], "BEACH": ["干滩+少于"]}, lexicon)
    # 非 negates only the next word: the lamps are not explosion-proof, the lighting is not said to be poor
    assert [x.key for x in m.match("爆炸危险区域使用非防爆照明灯具")] == ["EXPROOF"]
    assert [x.key for x in m.match("作业场所照明不足")] == ["LAMP"]
    assert [x.key for x in m.match("采用防爆型电气设备")] == ["PLAIN"]
    assert [x.key for x in m.match("爆炸危险场所电气设备未采用防爆型")] == []
    # 未 negates the rest of its clause; a synonym (受限空间) is the same word
    assert [x.key for x in m.match("受限空间作业前未先通风再检测")] == ["CONFINED"]
    assert [x.key for x in m.match("受限空间作业前已通风，未检测")] == []
    assert [x.key for x in m.match("干滩长度小于设计值")] == ["BEACH"]
    # a word is not found inside another word
    assert Matcher({"W": ["注水"]}, lexicon).match("罐区注水设施缺失") and not \
        Matcher({"W": ["氧化"]}, lexicon).match("一氧化碳报警")


@pytest.mark.parametrize("code", sorted(MEASURES))
def test_every_generator_control_measure_maps_to_the_knowledge_base(code):
    """The enterprises' own measures (措施内容 per GB 6441 code) are recognised, and by a measure for that code."""
    for _kind, texts in MEASURES[code].items():
        for text in texts:
            found = [m.key for m in KB.map_text(text)]
            assert found, text
            if code != "default":
                assert any(code in KB.measures[f].linked("mitigatesAccident") for f in found), (code, text, found)


@pytest.mark.parametrize("sector", sorted(HIDDEN_DANGERS))
def test_every_generator_hidden_danger_and_its_fixes_map_consistently(sector):
    """Each hazard type matches a pattern, and each of its typical fixes maps to a measure remedying that pattern."""
    for name, _factors, major, fixes in HIDDEN_DANGERS[sector]:
        patterns = [p.key for p in KB.match_patterns(name)]
        assert patterns, name
        if major:
            assert any(KB.patterns[p].major for p in patterns), name
        remedied = {mid for p in patterns for mid in KB.by_pattern[p]}
        for fix in fixes:
            found = {m.key for m in KB.map_text(fix)}
            assert found & remedied, (name, fix, found)


# ---------------------------------------------------------------- loading
def test_load_knowledge_base_is_idempotent_and_prunes(store):
    first = load_knowledge_base(store)
    assert first.nodes[MEASURE] == len(KB.measures) and first.nodes[PATTERN] == len(KB.patterns)
    before = store.counts()
    second = load_knowledge_base(store)
    assert second.removed == 0 and store.counts() == before
    assert before.labels[CONCEPT] >= 20 + 24 + 18  # accident types, hazard categories, processes at least
    assert before.relationships["CITES"] == sum(len(m.sources) for m in KB.measures.values())
    # the graph's links are the Turtle's
    rows = store.read("MATCH (m:ControlMeasureType {id: 'CM-LPG-WATER'})-[r]->(x) "
                      "RETURN type(r) AS t, x.id AS x, x.code AS c")
    got = {(r["t"], r["x"] or r["c"]) for r in rows}
    assert ("REMEDIES", "HP-LPG-WATER") in got and ("MITIGATES_ACCIDENT", "AccidentType/08") in got
    assert ("APPLIES_TO_INDUSTRY", "HC") in got and ("CITES", "SRC-121-06") in got
    # a measure the file no longer has, and a link it no longer makes, are removed
    smaller = parse(ONTO)
    del smaller.measures["CM-LPG-WATER"]
    smaller.measures["CM-DIKE-REPAIR"].links["mitigatesAccident"] = ()
    result = load_knowledge_base(store, smaller)
    assert result.removed >= 2
    assert store.get_node(MEASURE, "CM-LPG-WATER") is None
    assert not store.read("MATCH (:ControlMeasureType {id: 'CM-DIKE-REPAIR'})-[:MITIGATES_ACCIDENT]->(x) "
                          "RETURN x.id AS x")
    load_knowledge_base(store)
    assert store.counts() == before


# ---------------------------------------------------------------- coverage of the 重大事故隐患判定标准
MAJOR_STANDARDS = ("SRC-121-", "SRC-MEM10", "SRC-MINE88")


def _major_sources() -> list[str]:
    """The articles (sources with a clause) of the three standards."""
    return sorted(s for s in KB.sources if s.startswith(MAJOR_STANDARDS) and KB.sources[s].clause)


def test_every_article_of_the_three_standards_has_a_pattern_answered_by_a_measure_citing_it():
    cited_by_patterns = {s for p in KB.patterns.values() for s in p.sources}
    # 121号: all twenty articles
    assert {f"SRC-121-{n:02d}" for n in range(1, 21)} <= cited_by_patterns
    # 工贸 2023: 第三条 (general) to 第十四条 (failed safety devices); 矿山 2022: underground, open pit, tailings
    for prefix in [f"SRC-MEM10-{n:02d}" for n in range(3, 15)] + ["SRC-MINE88-1", "SRC-MINE88-2", "SRC-MINE88-3"]:
        assert any(s.startswith(prefix) for s in cited_by_patterns), prefix
    assert not set(_major_sources()) - cited_by_patterns, "an article source no pattern uses"
    for p in KB.patterns.values():
        assert p.answer and p.answer in KB.measures and p.id in KB.measures[p.answer].patterns, p.id
        articles = [s for s in p.sources if s.startswith(MAJOR_STANDARDS)]
        if articles:
            assert p.major, p.id
            assert set(articles) & set(KB.measures[p.answer].sources), (p.id, p.answer, articles)


def test_every_measure_can_be_reached_from_a_hidden_dangers_text():
    unreachable = [m.id for m in KB.measures.values() if not m.decision and not m.patterns]
    assert not unreachable


def test_the_labelled_set_covers_every_article():
    from riskgraph.reasoning.recommend.labelled import load_cases

    cases, _ = load_cases(Path(__file__).parent / "data" / "recommend_labelled.yaml")
    expected = {c.expected for c in cases}
    for src in _major_sources():
        answers = {p.answer for p in KB.patterns.values() if src in p.sources}
        assert answers & expected, f"no labelled case for {src} ({KB.sources[src].name})"
    assert {c.standard for c in cases} == {"hc121", "itr2023", "mine2022"}
    assert {c.split for c in cases} == {"dev", "test"}


def test_sources_of_the_three_standards_say_which_industry_they_are_written_for():
    for src in _major_sources():
        assert KB.sources[src].industries, src
    assert KB.sources["SRC-121-03"].industries == ("HC",)
    assert KB.sources["SRC-MEM10-04-6"].industries == ("ITR-MET",)


def test_a_synonym_belongs_to_one_set_only():
    vocab = ONTO.vocabulary("FieldTerm")
    labels = [x for c in vocab.concepts.values() for x in (c.pref_zh, *c.alt_labels)]
    assert len(labels) == len(set(labels)) and len(vocab.concepts) >= 50
    assert set(KB.lexicon.surfaces("有限空间")) >= {"有限空间", "受限空间"}
    assert set(KB.lexicon.surfaces("未投用")) >= {"未投入使用", "停用"}
