"""What the portraits, risk endpoints, searches and layers contain (read as an admin unless said)."""
from __future__ import annotations

from api_support import E1, E2, E3, assert_error, nodes_in

from riskgraph.api.schema import Schema
from riskgraph.ontology.model import load_ontology

ONTO = load_ontology()


def test_enterprise_portrait_in_one_call(api):
    body = api.get("admin", f"/enterprises/{E1}").json()
    assert body["label"] == "Enterprise" and body["key"] == E1
    rel = body["relations"]
    # every relationship the ontology gives an enterprise is there, empty or not (provenance aside)
    bookkeeping = Schema(ONTO).bookkeeping
    expected = {r.name for r in ONTO.relations_from("Enterprise") if r.range not in bookkeeping}
    assert expected <= set(rel) and "derivedFrom" not in rel
    assert rel["hasCreditRecord"] == [] and rel["hadAccident"] == []
    assert [n["key"] for n in rel["hasLicence"]] == ["L1"]
    assert [n["key"] for n in rel["hasPenalty"]] == ["P1"]
    inspection = rel["hasInspection"][0]
    assert inspection["key"] == "I1" and inspection["properties"]["findings"] == 2
    # shown elsewhere in the answer: a reference, not a second copy
    assert inspection["relations"]["resultedIn"] == [{"label": "Penalty", "key": "P1", "ref": True}]
    dangers = {n["key"]: n for n in rel["hasHiddenDanger"]}
    assert set(dangers) == {"HD1", "HD2"}
    assert dangers["HD1"]["derived"] == {"open": True, "overdue": True, "daysOverdue": 10, "daysOpen": 30}
    assert dangers["HD2"]["derived"] == {"open": False, "overdue": False}
    assert dangers["HD2"]["relations"]["rectifiedBy"][0]["properties"]["measure"] == "清理通道并划线"
    source = rel["hasHazardSource"][0]
    assert source["properties"]["majorHazardLevel"] == "L2"
    inventory = source["relations"]["holds"][0]
    assert inventory["properties"]["maxQuantityT"] == 35.5
    assert inventory["relations"]["ofChemical"][0]["properties"]["casNumber"] == "7782-50-5"
    point = rel["hasRiskPoint"][0]
    assert point["properties"]["reportedColour"] == "RED"
    assert point["relations"]["hasAnalysisUnit"][0]["relations"]["hasRiskEvent"][0]["key"] == "RE1"
    assert rel["locatedIn"][0]["key"] == "130102"
    # alarms newest first, capped
    assert [a["key"] for a in body["recentAlarms"]] == ["A1", "A2", "A3", "A4", "A5"]
    capped = api.get("admin", f"/enterprises/{E1}", params={"alarms": 2}).json()
    assert [a["key"] for a in capped["recentAlarms"]] == ["A1", "A2"]
    assert capped["relations"]["hasSensor"][0]["truncated"] == {"raised": 5}
    # the newest assessment per method, components parsed
    assert [a["key"] for a in body["assessments"]] == ["AS-E1-new"]
    assert body["assessments"][0]["properties"]["components"] == {"inspections": 10.0, "hiddenDangers": 30.0}
    assert {n["key"] for n in rel["^assesses"]} == {"AS-E1-new", "AS-E1-old"}
    assert body["recommendations"] == []
    assert body["summary"]["hiddenDangers"] == {"total": 2, "open": 1, "overdue": 1, "major": 1, "majorOverdue": 1,
                                                 "byState": {"RECTIFIED": 1, "RECTIFYING": 1}}
    assert body["summary"]["counts"]["hasHiddenDanger"] == 2


def test_portrait_of_a_sparse_enterprise_has_empty_lists(api):
    body = api.get("admin", f"/enterprises/{E3}").json()
    assert body["relations"]["hasInspection"] == [] and body["relations"]["hasHiddenDanger"] == []
    assert body["recentAlarms"] == [] and body["assessments"] == [] and body["recommendations"] == []
    assert body["summary"]["hiddenDangers"]["total"] == 0


def test_portrait_lists_are_capped_with_totals(api):
    body = api.get("admin", f"/enterprises/{E1}", params={"limit": 1}).json()
    assert len(body["relations"]["hasHiddenDanger"]) == 1
    assert body["truncated"]["hasHiddenDanger"] == 2
    assert body["summary"]["counts"]["hasHiddenDanger"] == 2


def test_lowercase_uscc_finds_the_enterprise(api):
    assert api.get(None, f"/enterprises/{E1.lower()}").json()["key"] == E1


def test_risk_point_portrait(api):
    body = api.get("admin", "/risk-points/RP1").json()
    assert body["label"] == "RiskPoint" and body["properties"]["likelihood"] == 6.0
    unit = body["relations"]["hasAnalysisUnit"][0]
    event = unit["relations"]["hasRiskEvent"][0]
    assert event["relations"]["controlledBy"][0]["properties"]["controlType"] == "ENGINEERING"
    danger = body["relations"]["^atRiskPoint"][0]
    assert danger["key"] == "HD1" and danger["derived"]["overdue"] is True
    assert danger["relations"]["^found"][0]["key"] == "I1"
    assert [p["key"] for p in body["relations"]["^coversRiskPoint"]] == ["EP1"]
    assert body["relations"]["^hasRiskPoint"][0]["key"] == E1
    assert [p["key"] for p in body["naturalDisasterPoints"]] == ["NDP1"]
    assert_error(api.get("admin", "/risk-points/NOPE"), 404, "not_found")


def test_region_industry_temporal_and_coupling_risk(api):
    region = api.get("insp.sjz", "/regions/130102/risk").json()
    assert region["subject"]["properties"]["name"] == "长安区" and region["level"] == "inspector"
    assert region["assessments"][0]["properties"]["components"]["hazard"] == 6.1
    assert "score" not in api.get(None, "/regions/130102/risk").json()["assessments"][0]["properties"]
    # none yet: 200 and an empty list
    empty = api.get(None, "/regions/130100/risk")
    assert empty.status_code == 200 and empty.json()["assessments"] == []
    assert api.get(None, "/regions/130102/risk", params={"method": "temporal-"}).json()["assessments"] == []
    assert_error(api.get(None, "/regions/999999/risk"), 404, "not_found")
    assert_error(api.get(None, "/regions/13-02/risk"), 422, "validation_error")
    assert_error(api.get(None, "/regions/abc/risk"), 404, "not_found")
    assert api.get("admin", "/industries/HC/risk").json()["assessments"][0]["key"] == "AS-I1"
    temporal = api.get("admin", "/temporal-risk").json()
    assert [i["key"] for i in temporal["items"]] == ["AS-T1"] and temporal["items"][0]["subject"]["key"] == "130209"
    assert api.get("admin", "/temporal-risk", params={"region": "130100"}).json()["total"] == 0
    assert api.get("admin", "/temporal-risk", params={"region": "130200"}).json()["total"] == 1
    coupling = api.get("admin", "/coupling").json()
    assert [i["key"] for i in coupling["items"]] == ["AS-C1"]
    # the coupling result of E2 is read at E2's level
    assert "score" in api.get("insp.ts", "/coupling").json()["items"][0]["properties"]
    assert "score" not in api.get("insp.sjz", "/coupling").json()["items"][0]["properties"]
    assert api.get("admin", "/coupling", params={"method": "ccd"}).json()["total"] == 0


def test_search_filters(api):
    def usccs(**params):
        response = api.get(None, "/enterprises", params=params)
        assert response.status_code == 200, response.text
        return [i["key"] for i in response.json()["items"]]

    assert sorted(usccs(q="石家庄")) == sorted([E1, E3])
    assert usccs(q="曹妃甸石化") == [E2]
    assert usccs(q="冀中化工") == [E1]
    assert usccs(q="不存在的企业名") == []
    assert usccs(uscc=E2) == [E2]
    assert usccs(region="130100") == sorted([E1, E3])
    assert usccs(region="130209") == [E2]
    assert usccs(region="130000") == sorted([E1, E2, E3])
    assert usccs(industry="HC") == sorted([E1, E2])
    assert usccs(industry="NCM") == [E3]          # the supervision industry's narrower concepts count
    assert usccs(industry="26") == [E1]           # a GB/T 4754 major group covers its classes
    assert usccs(colour="RED") == [E1]
    assert usccs(colour="橙") == [E2]             # a colour's Chinese label works too
    assert usccs(q="石家庄", colour="BLUE") == [E3]
    assert usccs(region="130100", industry="HC") == [E1]


def test_pagination(api):
    def page(**params):
        response = api.get(None, "/enterprises", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    first = page(size=2)
    assert (first["page"], first["size"], first["total"], first["pages"]) == (1, 2, 3, 2)
    assert [i["key"] for i in first["items"]] == sorted([E1, E2, E3])[:2]
    second = page(size=2, page=2)
    assert [i["key"] for i in second["items"]] == sorted([E1, E2, E3])[2:]
    beyond = page(size=2, page=3)
    assert beyond["items"] == [] and beyond["total"] == 3 and beyond["pages"] == 2
    exact = page(size=3)
    assert exact["pages"] == 1 and len(exact["items"]) == 3
    searched = [page(q="石家庄", size=1, page=n) for n in (1, 2, 3)]
    assert [s["total"] for s in searched] == [2, 2, 2] and searched[0]["pages"] == 2
    assert sorted(i["key"] for s in searched for i in s["items"]) == sorted([E1, E3])
    assert page(region="139900")["total"] == 0 and page(region="139900")["pages"] == 0
    for bad in ({"size": 0}, {"size": 201}, {"page": 0}, {"page": "x"}):
        detail = assert_error(api.get(None, "/enterprises", params=bad), 422, "validation_error")
        assert detail["details"][0]["field"] in bad
    audit = api.get("admin", "/admin/audit", params={"size": 1}).json()
    assert audit["size"] == 1 and len(audit["items"]) == 1 and audit["total"] >= 1


def test_layers_are_geojson(api):
    names = [layer["name"] for layer in api.get(None, "/layers").json()["layers"]]
    assert names == ["enterprises", "major-hazard-sources", "risk-points", "disaster-points", "rescue-teams", "supplies",
                     "shelters", "hidden-danger-hotspots", "accident-hotspots", "no-recent-enforcement", "open-warnings",
                     "regional-risk"]
    for name in names:
        body = api.get("admin", f"/layers/{name}").json()
        assert body["type"] == "FeatureCollection" and body["name"] == name
        for feature in body["features"]:
            assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Point"
            lon, lat = feature["geometry"]["coordinates"]
            assert 73 < lon < 136 and 3 < lat < 54
    enterprises = api.get(None, "/layers/enterprises", params={"region": "130209"}).json()["features"]
    assert [f["id"] for f in enterprises] == [f"Enterprise/{E2}"]
    assert enterprises[0]["properties"]["riskColour"] == "ORANGE"
    hazards = {f["properties"]["key"]: f for f in api.get(None, "/layers/major-hazard-sources").json()["features"]}
    assert hazards["HS1"]["properties"]["majorHazardLevel"] == "L2"
    # HS2 has no coordinates of its own: it is placed at its enterprise
    assert hazards["HS2"]["geometry"]["coordinates"] == [118.47, 39.26]
    assert hazards["HS2"]["properties"]["enterprise"] == {"uscc": E2, "name": "唐山曹妃甸石化股份有限公司"}
    limited = api.get(None, "/layers/enterprises", params={"limit": 1}).json()
    assert len(limited["features"]) == 1 and limited["truncated"] is True
    assert_error(api.get(None, "/layers/volcanoes"), 404, "not_found")


def test_every_node_in_a_response_is_in_the_ontology(api):
    body = api.get("admin", f"/enterprises/{E1}").json()
    for node in nodes_in(body):
        assert node["label"] in ONTO.classes
        declared = ONTO.properties_of(node["label"])
        assert set(node["properties"]) <= set(declared), (node["label"], set(node["properties"]) - set(declared))
