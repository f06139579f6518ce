"""Who may call what, and which fields each role sees: over HTTP, on a real server and store."""
from __future__ import annotations

from typing import Any

import pytest
from api_support import E1, E2, E3, ROLE_USER, ROLES, assert_error, find, nodes_in
from rdflib import Graph

from riskgraph.ontology.model import TIME_SUFFIX, TOKENS_SUFFIX, Disclosure, load_ontology

ONTO = load_ontology()
CEILING = {"public": Disclosure.PUBLIC, "enterprise": Disclosure.ENTERPRISE, "inspector": Disclosure.INSPECTOR,
           "analyst": Disclosure.INTERNAL, "admin": Disclosure.INTERNAL}
QUERY = {"cypher": "MATCH (e:Enterprise) RETURN e.uscc AS uscc ORDER BY uscc", "params": {}, "limit": 10}

# endpoint -> (method, path, body, {role: status}); roles missing from the map expect 200
OPEN = {}
MATRIX: dict[str, tuple[str, str, Any, dict[str, int]]] = {
    "health": ("GET", "/health", None, OPEN),
    "ready": ("GET", "/ready", None, OPEN),
    "me": ("GET", "/auth/me", None, OPEN),
    "docs": ("GET", "/docs", None, OPEN),
    "openapi": ("GET", "/openapi.json", None, OPEN),
    "search": ("GET", "/enterprises?q=石家庄", None, OPEN),
    "portrait own": ("GET", f"/enterprises/{E1}", None, OPEN),
    "portrait other": ("GET", f"/enterprises/{E2}", None, OPEN),
    "portrait unknown": ("GET", "/enterprises/91999999MA0NOPE00X", None, {r: 404 for r in ROLES}),
    "risk point": ("GET", "/risk-points/RP1", None, OPEN),
    "subgraph": ("GET", f"/nodes/Enterprise/{E1}/subgraph", None, OPEN),
    "dossier": ("GET", "/nodes/HazardSource/HS1/dossier", None, OPEN),
    "region risk": ("GET", "/regions/130102/risk", None, OPEN),
    "industry risk": ("GET", "/industries/HC/risk", None, OPEN),
    "temporal": ("GET", "/temporal-risk", None, OPEN),
    "coupling": ("GET", "/coupling", None, OPEN),
    "layers": ("GET", "/layers", None, OPEN),
    "layer": ("GET", "/layers/major-hazard-sources", None, OPEN),
    "layer enforcement": ("GET", "/layers/no-recent-enforcement", None, OPEN),
    "tag filter": ("GET", "/enterprises?tag=重点监管", None, {"public": 403, "enterprise": 403}),
    "analyst query": ("POST", "/analyst/query", QUERY, {"public": 401, "enterprise": 403, "inspector": 403}),
    "audit": ("GET", "/admin/audit", None, {"public": 401, "enterprise": 403, "inspector": 403, "analyst": 403}),
    "users": ("GET", "/admin/users", None, {"public": 401, "enterprise": 403, "inspector": 403, "analyst": 403}),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(MATRIX))
def test_role_endpoint_matrix(api, endpoint, role):
    method, path, body, expected = MATRIX[endpoint]
    status = expected.get(role, 200)
    response = api.post(role, path, json=body) if method == "POST" else api.get(role, path)
    if status == 200:
        assert response.status_code == 200, response.text
    else:
        assert_error(response, status)


# ---------------------------------------------------------------------- helpers
def assert_clean(body: Any, ceiling: Disclosure) -> None:
    """No node shows a property above `ceiling`, a store companion or a backend field."""
    for node in nodes_in(body):
        for name in node["properties"]:
            assert ONTO.disclosure_of(node["label"], name) <= ceiling, (node["label"], name, ceiling)
            assert not name.startswith("_"), name
            assert not (name.endswith(TOKENS_SUFFIX) or (name.endswith(TIME_SUFFIX) and name[:-2] in node["properties"])), name


# ---------------------------------------------------------------------- portraits per role
@pytest.mark.parametrize("role", ROLES)
def test_no_role_sees_above_its_ceiling(api, role):
    for path in (f"/enterprises/{E1}", f"/enterprises/{E2}", "/risk-points/RP1", "/enterprises?size=50",
                 f"/nodes/Enterprise/{E1}/subgraph?depth=3", "/regions/130102/risk", "/coupling"):
        response = api.get(role, path)
        assert response.status_code == 200, (path, response.text)
        assert_clean(response.json(), CEILING[role])


def test_public_sees_public_fields_only(api):
    body = api.get(None, f"/enterprises/{E1}").json()
    assert body["level"] == "public"
    assert_clean(body, Disclosure.PUBLIC)
    assert "employees" not in body["properties"] and "tags" not in body["properties"]
    assert body["properties"]["name"] == "石家庄冀中化工有限公司" and body["properties"]["riskColour"] == "RED"
    assert "maxQuantityT" not in find(body, "Inventory", "INV1")["properties"]
    assert "residents500m" not in find(body, "HazardSource", "HS1")["properties"]
    assert find(body, "HazardSource", "HS1")["properties"]["majorHazardLevel"] == "L2"
    danger = find(body, "HiddenDanger", "HD1")
    assert "grade" not in danger["properties"] and "derived" not in danger
    assert body["summary"]["hiddenDangers"] == {"total": 2}
    assert all("alarmLevel" not in a["properties"] for a in body["recentAlarms"])
    assert "score" not in body["assessments"][0]["properties"]


def test_enterprise_user_sees_its_own_restricted_fields_and_not_others(api):
    own = api.get("ent.e1", f"/enterprises/{E1}").json()
    assert own["level"] == "enterprise"
    assert own["properties"]["employees"] == 420 and own["properties"]["description"] == "氯碱生产"
    assert "tags" not in own["properties"]  # inspector level
    assert "maxQuantityT" not in find(own, "Inventory", "INV1")["properties"]
    assert find(own, "HiddenDanger", "HD1")["derived"]["overdue"] is True
    assert own["assessments"][0]["properties"]["score"] == 78.5
    other = api.get("ent.e1", f"/enterprises/{E2}").json()
    assert other["level"] == "public" and "employees" not in other["properties"]
    assert_clean(other, Disclosure.PUBLIC)
    # the other way round
    assert "employees" not in api.get("ent.e2", f"/enterprises/{E1}").json()["properties"]
    assert api.get("ent.e2", f"/enterprises/{E2}").json()["properties"]["employees"] == 340


def test_inspector_sees_its_regions_only(api):
    sjz = api.get("insp.sjz", f"/enterprises/{E1}").json()
    assert sjz["level"] == "inspector"
    assert sjz["properties"]["tags"] == ["重点监管", "涉氯"] and sjz["properties"]["employees"] == 420
    assert find(sjz, "Inventory", "INV1")["properties"]["maxQuantityT"] == 35.5
    assert find(sjz, "HazardSource", "HS1")["properties"]["residents500m"] == 1200
    assert find(sjz, "Inspection", "I1")["properties"]["inspectors"] == "张三、李四"
    assert "sourceSystems" not in sjz["properties"]  # internal
    outside = api.get("insp.sjz", f"/enterprises/{E2}").json()
    assert outside["level"] == "public" and "employees" not in outside["properties"]
    assert_clean(outside, Disclosure.PUBLIC)
    ts = api.get("insp.ts", f"/enterprises/{E2}").json()
    assert ts["level"] == "inspector" and ts["properties"]["tags"] == ["重点监管"]
    assert find(ts, "Inventory", "INV2")["properties"]["maxQuantityT"] == 900.0
    assert "employees" not in api.get("insp.ts", f"/enterprises/{E1}").json()["properties"]


def test_analyst_and_admin_read_internal_fields(api):
    for role in ("analyst", "admin"):
        body = api.get(role, f"/enterprises/{E1}").json()
        assert body["level"] == "internal"
        assert body["properties"]["sourceSystems"] == ["enforcement"]
        assert "nameTokens" not in body["properties"]


def test_subgraph_judges_each_node_on_its_own(api):
    # the county reaches E1 and E3: an inspector of 唐山 sees neither in full, an inspector of 石家庄 both
    ts = api.get("insp.ts", "/nodes/Region/130102/subgraph").json()
    assert_clean(ts, Disclosure.PUBLIC)
    county = api.get("insp.sjz", "/nodes/Region/130102/subgraph").json()
    assert {f"Enterprise/{E1}", f"Enterprise/{E3}"} <= {n["id"] for n in county["nodes"]}
    assert find(county, "Enterprise", E3)["properties"]["employees"] == 80
    # depth 2 from E1 ends at its county: not through it to the county's other enterprises
    sjz = api.get("insp.sjz", f"/nodes/Enterprise/{E1}/subgraph", params={"depth": 2}).json()
    ids = {n["id"] for n in sjz["nodes"]}
    assert {f"Enterprise/{E1}", "Region/130102", "HazardSource/HS1"} <= ids and f"Enterprise/{E3}" not in ids
    assert find(sjz, "HazardSource", "HS1")["properties"]["residents500m"] == 1200
    # the assessment belongs to the enterprise it assesses
    assert find(api.get("ent.e1", f"/nodes/Enterprise/{E1}/subgraph").json(), "Assessment", "AS-E1-new")["properties"]["score"] == 78.5
    assert "score" not in find(api.get("ent.e2", f"/nodes/Enterprise/{E1}/subgraph").json(), "Assessment", "AS-E1-new")["properties"]
    # a node off an enterprise, asked for directly, is judged by its owner
    inv = api.get("ent.e1", "/nodes/Inventory/INV1/subgraph").json()
    assert find(inv, "Inventory", "INV1")["properties"].get("maxQuantityT") is None  # inspector level
    assert find(api.get("insp.sjz", "/nodes/Inventory/INV1/subgraph").json(), "Inventory", "INV1")["properties"]["maxQuantityT"] == 35.5
    assert "maxQuantityT" not in find(api.get("insp.ts", "/nodes/Inventory/INV1/subgraph").json(), "Inventory", "INV1")["properties"]
    edges = {(e["source"], e["type"], e["target"]) for e in sjz["edges"]}
    assert (f"Enterprise/{E1}", "HAS_HAZARD_SOURCE", "HazardSource/HS1") in edges


def test_dossier_is_filtered_before_export(api):
    public = Graph().parse(data=api.get(None, f"/nodes/Enterprise/{E1}/dossier").text, format="json-ld")
    inspector = Graph().parse(data=api.get("insp.sjz", f"/nodes/Enterprise/{E1}/dossier").text, format="json-ld")
    employees = ONTO.properties["employees"].iri
    tags = ONTO.properties["tags"].iri
    assert not any(str(p) in (employees, tags) for p in public.predicates())
    assert any(str(p) == employees for p in inspector.predicates()) and any(str(p) == tags for p in inspector.predicates())
    turtle = api.get("insp.sjz", f"/nodes/Enterprise/{E1}/dossier", params={"format": "turtle"})
    assert turtle.headers["content-type"].startswith("text/turtle")
    assert "rg:employees 420" in turtle.text
    assert "rg:employees" not in api.get(None, f"/nodes/Enterprise/{E1}/dossier", params={"format": "turtle"}).text


def test_layers_filter_per_role(api):
    def props(role, layer, key):
        body = api.get(role, f"/layers/{layer}").json()
        assert body["type"] == "FeatureCollection"
        return {f["properties"]["key"]: f["properties"] for f in body["features"] if "key" in f["properties"]}.get(key)

    assert "employees" not in props(None, "enterprises", E1) and props("insp.sjz", "enterprises", E1)["employees"] == 420
    assert props(None, "enterprises", E1)["riskColour"] == "RED"
    assert "equipment" not in props("insp.sjz", "rescue-teams", "RT1")
    assert props("insp.ts", "rescue-teams", "RT1")["equipment"] == "泡沫消防车2台"
    assert "quantity" not in props(None, "supplies", "W1")["supplies"][0]
    assert props("insp.sjz", "supplies", "W1")["supplies"][0]["quantity"] == 200.0
    assert props("insp.sjz", "major-hazard-sources", "HS1")["residents500m"] == 1200
    assert "residents500m" not in props("insp.ts", "major-hazard-sources", "HS1")


def test_derived_layers_follow_what_they_are_derived_from(api):
    def keys(role, **params):
        body = api.get(role, "/layers/no-recent-enforcement", params=params).json()
        return sorted(f["properties"]["key"] for f in body["features"])

    assert keys(None) == []                       # inspection dates are not public
    assert keys("ent.e1") == []                   # inspected 30 days ago
    assert keys("insp.sjz") == [E3]               # never inspected; E2 is outside its regions
    assert keys("insp.ts") == [E2]                # inspected 800 days ago
    assert keys("admin") == sorted([E2, E3])
    assert keys("admin", days=10) == sorted([E1, E2, E3])
    hot = {f["properties"]["regionCode"]: f["properties"]
           for f in api.get("insp.sjz", "/layers/hidden-danger-hotspots").json()["features"]}
    assert hot["130102"] == {"regionCode": "130102", "name": "长安区", "total": 2, "open": 1, "overdue": 1, "major": 1}
    assert hot["130209"] == {"regionCode": "130209", "name": "曹妃甸区", "total": 1}
    public = api.get(None, "/layers/hidden-danger-hotspots").json()["features"]
    assert all(set(f["properties"]) == {"regionCode", "name", "total"} for f in public)


def test_restricted_filters_answer_only_within_scope(api):
    def usccs(role, **params):
        response = api.get(role, "/enterprises", params=params)
        assert response.status_code == 200, response.text
        return sorted(i["key"] for i in response.json()["items"])

    assert usccs("admin", tag="重点监管") == sorted([E1, E2])
    assert usccs("insp.sjz", tag="重点监管") == [E1]   # E2 has the tag but lies outside 石家庄
    assert usccs("insp.ts", tag="重点监管") == [E2]
    assert usccs("insp.ts", tag="涉氯") == []
    # tags are inspector-level: an enterprise may not read even its own, so may not filter on them
    assert_error(api.get("ent.e1", "/enterprises", params={"tag": "涉氯"}), 403, "forbidden")
    assert_error(api.get(None, "/enterprises", params={"tag": "重点监管"}), 403, "forbidden")


def test_provenance_stays_internal_in_subgraphs(api):
    """Bookkeeping nodes (SourceRecord …) are neither a centre nor a path below internal level."""
    from riskgraph import graph
    with graph.connect(api.store_url) as store:
        store.upsert_nodes("SourceRecord", [{"id": "market_registry:subjects.csv:9", "sourceSystem": "market_registry"}])
        store.upsert_relationships("DERIVED_FROM", [{"from": E3, "to": "market_registry:subjects.csv:9"}],
                                   from_label="Enterprise")
    path = f"/nodes/Enterprise/{E3}/subgraph"
    for role in ("public", "enterprise", "inspector"):
        body = api.get(ROLE_USER[role], path).json()
        assert all(n["label"] != "SourceRecord" for n in body["nodes"]), role
        assert_error(api.get(ROLE_USER[role], "/nodes/SourceRecord/market_registry:subjects.csv:9/subgraph"), 404)
    admin = api.get("admin1", path).json()
    assert any(n["label"] == "SourceRecord" for n in admin["nodes"])
