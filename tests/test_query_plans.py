"""Keyed reads start from their key's index. FalkorDB's planner starts a pattern from the end that
carries a WHERE filter, whatever the other end's key: `MATCH (a:Assessment)-[:ASSESSES]->(t:Region
{code: $code}) WHERE a.method IS NOT NULL` read every assessment of the province to answer one
county (13 ms at 1,000 enterprises, growing with the province). Every statement the service sends
while answering the read routes is planned here, and none that names a key may scan a label."""
from __future__ import annotations

from tests.api_support import E1, E3, Api, keyed_scans, statements_sent

READS = [
    ("admin", f"/enterprises/{E1}"), (None, f"/enterprises/{E3}"), ("ent.e1", f"/enterprises/{E1}"),
    (None, "/enterprises?q=化工"), ("admin", "/enterprises?region=130100&industry=HC"), (None, "/enterprises?colour=RED"),
    ("admin", "/risk-points/RP1"), ("admin", "/risk-points/RP1/analysis/history"),
    ("admin", f"/nodes/Enterprise/{E1}/subgraph?depth=2"), ("insp.sjz", f"/nodes/Enterprise/{E1}/dossier"),
    ("insp.sjz", "/regions/130102/risk"), (None, "/regions/130102/risk?method=inform"), ("admin", "/regions/130102/risk?history=true"),
    ("admin", "/industries/HC/risk"), ("admin", "/temporal-risk"), ("admin", "/coupling"),
    ("admin", "/warnings"), ("admin", "/hidden-dangers/HD1/history"), ("admin", f"/qr/Enterprise/{E1}.json"),
    ("admin", "/focus-inspections"), ("admin", "/reports"), ("ent.e1", f"/enterprises/{E1}/tasks"),
]


def test_every_keyed_statement_of_the_read_routes_starts_from_an_index(api: Api) -> None:
    with statements_sent() as sent:
        for role, path in READS:
            response = api.get(role, path)
            assert response.status_code < 500, (path, response.text)
    planned, scanning = keyed_scans(api.store_url, sent)
    assert planned >= 20, planned  # the routes did reach the store
    assert scanning == {}, "\n".join(f"{labels}: {cypher}" for cypher, labels in scanning.items())


def test_the_plan_check_sees_a_label_scan(api: Api) -> None:
    """The check can fail: the statement the region risk route ran before, and a read by an unindexed property."""
    before = ("MATCH (a:`Assessment`)-[:`ASSESSES`]->(t:`Region` {`code`: $code}) WHERE a.`method` IS NOT NULL "
              "RETURN properties(a) AS p")
    planned, scanning = keyed_scans(api.store_url, [(before, {"code": "130102"})])
    assert planned == 1 and scanning == {before: ["Assessment"]}
