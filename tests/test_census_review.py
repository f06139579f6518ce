"""The census review queue through the real service: GET /resources in the caller's scope (anonymous 401,
enterprise 403, an inspector sees its regions only and is refused another region), pending registrations
with their details, held updates (review mode) with apply / discard, and POST /resources/{id}/reject."""
from __future__ import annotations

import pytest

from tests.api_support import Api, assert_error


@pytest.fixture(scope="module", autouse=True)
def setting(monkeypatch_module: pytest.MonkeyPatch) -> None:
    monkeypatch_module.setenv("RISKGRAPH_PUBLIC_REPORTS_PER_HOUR", "500")
    monkeypatch_module.delenv("RISKGRAPH_RESOURCE_UPDATES", raising=False)


def register(api: Api, body: dict) -> str:
    r = api.post(None, "/resources", json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def ids(api: Api, user: str, **params) -> list[str]:
    r = api.get(user, "/resources", params=params)
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["items"]]


def test_the_listing_shows_pending_entries_to_their_regions_bureau_only(api: Api) -> None:
    sjz = register(api, {"kind": "team", "name": "长安区应急救援二队", "region": "130102", "members": 32, "teamType": "综合"})
    ts = register(api, {"kind": "shelter", "name": "曹妃甸体育场避难场所", "region": "130209", "capacityPeople": 5000,
                        "areaM2": 8000, "facilities": ["供水", "供电", "医疗"]})
    assert_error(api.get(None, "/resources", params={"state": "pending"}), 401)
    assert_error(api.get("ent.e1", "/resources", params={"state": "pending"}), 403)
    assert_error(api.get("insp.ts", "/resources", params={"state": "pending", "region": "130100"}), 403)
    assert_error(api.get("insp.sjz", "/resources", params={"state": "nonsense"}), 422)

    seen = ids(api, "insp.sjz", state="pending")
    assert sjz in seen and ts not in seen                                  # its regions only
    assert ts in ids(api, "insp.ts", state="pending") and sjz not in ids(api, "insp.ts", state="pending")
    assert {sjz, ts} <= set(ids(api, "admin1", state="pending"))
    assert sjz in ids(api, "admin1", state="pending", region="130100") and ts not in ids(api, "admin1", state="pending", region="130100")
    assert ts in ids(api, "admin1", state="pending", kind="shelter") and sjz not in ids(api, "admin1", state="pending", kind="shelter")

    shelter = next(i for i in api.get("admin1", "/resources", params={"state": "pending"}).json()["items"] if i["id"] == ts)
    assert (shelter["label"], shelter["capacityPeople"], shelter["areaM2"], shelter["facilities"], shelter["regionCode"]) == (
        "Shelter", 5000, 8000.0, ["供水", "供电", "医疗"], "130209")
    team = next(i for i in api.get("insp.sjz", "/resources", params={"state": "pending"}).json()["items"] if i["id"] == sjz)
    assert (team["members"], team["teamType"], team["state"]) == (32, "综合", "pending")

    assert api.post("insp.sjz", f"/resources/{sjz}/approve", json={}).status_code == 200
    assert sjz not in ids(api, "insp.sjz", state="pending") and sjz in ids(api, "insp.sjz", state="approved")


def test_reject_needs_a_note_and_moves_a_pending_entry_to_rejected(api: Api) -> None:
    key = register(api, {"kind": "team", "name": "重复登记的救援队", "region": "130102", "members": 5})
    assert_error(api.post("insp.sjz", f"/resources/{key}/reject", json={}), 422)
    assert_error(api.post("insp.sjz", f"/resources/{key}/reject", json={"note": ""}), 422)
    assert_error(api.post(None, f"/resources/{key}/reject", json={"note": "重复"}), 401)
    assert_error(api.post("insp.ts", f"/resources/{key}/reject", json={"note": "重复"}), 403)
    done = api.post("insp.sjz", f"/resources/{key}/reject", json={"note": "重复登记"})
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "rejected" and done.json()["codes"] == []
    listed = next(i for i in api.get("insp.sjz", "/resources", params={"state": "rejected"}).json()["items"] if i["id"] == key)
    assert listed["reviewNote"] == "重复登记" and listed["handledBy"] == "insp.sjz"
    assert_error(api.post("insp.sjz", f"/resources/{key}/reject", json={"note": "再次"}), 409)


def test_held_updates_are_listed_with_their_values_and_applied_or_discarded(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    wh = api.post(None, "/resources", json={
        "kind": "warehouse", "name": "长安区第二物资储备库", "region": "130102", "areaM2": 900,
        "supplies": [{"name": "棉被", "category": "生活类", "quantity": 500, "unit": "床"}]}).json()
    listed = next(i for i in api.get("insp.sjz", "/resources", params={"state": "pending", "kind": "warehouse"}).json()["items"]
                  if i["id"] == wh["id"])
    assert [(s["name"], s["category"], s["quantity"], s["unit"]) for s in listed["supplies"]] == [("棉被", "生活类", 500.0, "床")]
    code = api.post("insp.sjz", f"/resources/{wh['id']}/approve", json={}).json()["codes"][0]
    token = code["url"].rstrip("/").rsplit("/", 1)[-1]
    monkeypatch.setenv("RISKGRAPH_RESOURCE_UPDATES", "review")
    assert api.post(None, f"/q/{token}/census-update", json={"quantity": 420}).json()["pendingUpdate"] is True

    held = {i["id"]: i for i in api.get("insp.sjz", "/resources", params={"state": "held"}).json()["items"]}
    assert held[code["key"]]["pendingUpdate"] == {"quantity": 420}
    assert (held[code["key"]]["warehouse"], held[code["key"]]["warehouseName"], held[code["key"]]["quantity"]) == (
        wh["id"], "长安区第二物资储备库", 500.0)
    assert code["key"] not in ids(api, "insp.ts", state="held")
    discarded = api.post("insp.sjz", f"/resources/{code['key']}/reject", json={"note": "数量未核实"})
    assert discarded.status_code == 200 and discarded.json()["applied"] is None
    assert code["key"] not in ids(api, "insp.sjz", state="held")

    api.post(None, f"/q/{token}/census-update", json={"quantity": 430})
    assert code["key"] in ids(api, "insp.sjz", state="held")
    assert api.post("insp.sjz", f"/resources/{code['key']}/approve", json={}).json()["applied"] == {"quantity": 430}
    assert code["key"] not in ids(api, "insp.sjz", state="held")
