"""Public reports and the resource census through the real service: filing (anonymous, limits, triage,
duplicates), the reporter's receipt, listing in scope, every verification step with its permissions and
history, the county warning report, disaster-point reports, and the census (register, review, codes,
updates through the code in audit and review mode)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from riskgraph import graph
from tests.api_support import E1, Api, assert_error, keyed_scans, statements_sent

E4 = "91130100MA0PARK44X"  # 石家庄, county 130102: its address names 城东化工园区
CHLORINE_NEAR_E1 = {"lon": 114.5502, "lat": 38.0501}


@pytest.fixture(scope="module", autouse=True)
def setting(monkeypatch_module: pytest.MonkeyPatch) -> None:
    monkeypatch_module.setenv("RISKGRAPH_PUBLIC_REPORTS_PER_HOUR", "500")
    monkeypatch_module.delenv("RISKGRAPH_RESOURCE_UPDATES", raising=False)


@pytest.fixture(scope="module")
def province(api: Api) -> Iterator[Api]:
    """The fixture province plus an enterprise in 城东化工园区 (place names come from addresses)."""
    with graph.connect(api.store_url) as store:
        store.upsert_nodes("Enterprise", [{"uscc": E4, "name": "石家庄宏达涂料有限公司", "regionCode": "130102",
                                           "address": "长安区城东化工园区纬三路8号", "lon": 114.62, "lat": 38.02}])
    yield api


def file(api: Api, body: dict, role: str | None = None, path: str = "/reports") -> dict:
    r = api.post(role, path, json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    out["_receipt"] = r.headers["X-Receipt-Code"]
    return out


def node(api: Api, label: str, key: str) -> dict | None:
    with graph.connect(api.store_url) as store:
        return store.get_node(label, key)


def linked(api: Api, cypher: str, **params) -> list[dict]:
    with graph.connect(api.store_url) as store:
        return store.read(cypher, params)


# ---------------------------------------------------------------------- filing and triage
def test_anonymous_report_answers_the_fixed_shape_with_its_triage(province: Api) -> None:
    out = file(province, {"text": "冀中化工的罐区老是冒白烟，有股刺鼻的怪味，熏得眼睛疼，没人管", **CHLORINE_NEAR_E1})
    receipt = out.pop("_receipt")
    assert set(out) == {"id", "state", "triage"}
    assert set(out["triage"]) == {"accidentTypes", "hazardFactor", "urgency", "kind", "enterprise", "regionCode"}
    t = out["triage"]
    assert out["state"] == "pending"
    assert t["enterprise"]["uscc"] == E1 and t["enterprise"]["via"] == "short_name" and t["enterprise"]["score"] == 0.9
    assert t["regionCode"] == "130102"
    assert t["kind"] == "安全生产"
    assert t["urgency"] in ("high", "medium", "low")
    assert t["hazardFactor"] in ("人的因素", "物的因素", "环境因素", "管理因素")
    assert 1 <= len(t["accidentTypes"]) <= 3 and "中毒和窒息" in t["accidentTypes"]
    assert len(receipt) >= 12
    stored = node(province, "PublicReport", out["id"])
    assert stored["receiptHash"] != receipt and receipt not in str(stored)
    assert stored["reviewState"] == "pending" and stored["reportSource"] == "随手记"
    rows = linked(province, "MATCH (r:PublicReport {id: $id})-[:CONCERNS]->(e:Enterprise) RETURN e.uscc AS u", id=out["id"])
    assert [r["u"] for r in rows] == [E1]
    assert list((province.data_dir / "models").glob("triage-*.pickle")), "the trained model is kept in the data directory"


def test_a_place_description_alone_gets_a_region(province: Api) -> None:
    out = file(province, {"text": "城东化工园区门口老是冒烟，有股怪味，没人管"})
    assert out["triage"]["regionCode"] == "130102"
    stored = node(province, "PublicReport", out["id"])
    assert stored["regionBasis"] == "place" and stored["placeText"] == "城东化工园区"


def test_coordinates_give_the_county_and_an_explicit_region_wins(province: Api) -> None:
    by_coords = file(province, {"text": "路口的井盖丢了好几天，晚上看不见", "lon": 118.45, "lat": 39.28})
    assert by_coords["triage"]["regionCode"] == "130209"
    given = file(province, {"text": "河道里堆满了垃圾，水都流不动了", "region": "130209", "kind": "自然灾害"})
    assert given["triage"]["regionCode"] == "130209" and given["triage"]["kind"] == "自然灾害"
    assert_error(province.post(None, "/reports", json={"text": "河道里堆满了垃圾", "region": "990101"}), 422)


def test_repeats_of_open_reports_and_known_hidden_dangers_are_linked_not_repeated(province: Api) -> None:
    text = "石家庄冀中化工有限公司后门有液体往外流，地上黄乎乎的一片"
    first = file(province, {"text": text})
    with statements_sent() as sent:
        again = file(province, {"text": text + "！"})
    assert keyed_scans(province.store_url, sent)[1] == {}  # the enterprise's open reports: found from it, not every report
    assert first["state"] == "pending" and again["state"] == "duplicate"
    rows = linked(province, "MATCH (r:PublicReport {id: $id})-[:DUPLICATE_OF]->(o) RETURN o.id AS o", id=again["id"])
    assert [r["o"] for r in rows] == [first["id"]]
    danger = file(province, {"text": "冀中化工氯气储罐区可燃气体报警器失效了"})
    assert danger["state"] == "duplicate"
    rows = linked(province, "MATCH (r:PublicReport {id: $id})-[:DUPLICATE_OF]->(h:HiddenDanger) RETURN h.id AS h",
                  id=danger["id"])
    assert [r["h"] for r in rows] == ["HD1"]


def test_bad_input_is_refused_and_sizes_are_limited(province: Api) -> None:
    assert_error(province.post(None, "/reports", json={"text": "短"}), 422)
    assert_error(province.post(None, "/reports", json={"text": "很长" * 1001}), 422)
    assert_error(province.post(None, "/reports", json={"text": "有股怪味没人管", "lon": 114.5}), 422)
    assert_error(province.post(None, "/reports", json={"text": "有股怪味没人管", "secret": 1}), 422)
    big = province.post(None, "/reports", content=b'{"text": "' + b"a" * 300_000 + b'"}',
                        headers={"Content-Type": "application/json"})
    assert_error(big, 413)


def test_the_hourly_limit_comes_from_the_environment(province: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKGRAPH_PUBLIC_REPORTS_PER_HOUR", "2")
    for i in range(2):
        file(province, {"text": f"楼道里飞线充电第{i}回，线都拖到地上了", "region": "130209"})
    refused = province.post(None, "/reports", json={"text": "楼道里飞线充电，又一回", "region": "130209"})
    error = assert_error(refused, 429, "too_many_requests")
    assert int(refused.headers["Retry-After"]) >= 1 and error["details"]["retryAfter"] >= 1
    assert file(province, {"text": "楼道里飞线充电，工作人员上报", "region": "130209"}, role="insp.ts")["id"]
    monkeypatch.setenv("RISKGRAPH_PUBLIC_REPORTS_PER_HOUR", "500")


# ---------------------------------------------------------------------- the reporter
def test_the_receipt_shows_the_reporter_only_their_report(province: Api) -> None:
    out = file(province, {"text": "工地塔吊旁边没有围挡，吊的东西晃来晃去", "region": "130102"})
    r = province.post(None, "/reports/receipt", json={"code": out["_receipt"]})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == out["id"] and r.json()["state"] == "pending"
    assert set(r.json()) == {"id", "state", "filedAt", "reviewedAt", "outcome"}
    assert_error(province.post(None, "/reports/receipt", json={"code": "not-a-real-code-at-all"}), 404)
    assert_error(province.get(None, "/reports"), 401)


# ---------------------------------------------------------------------- listing
def test_reports_are_listed_within_the_callers_scope(province: Api) -> None:
    mine = file(province, {"text": "车间里电线乱拉乱接，插线板一串一串的", "region": "130102"})
    assert_error(province.get(None, "/reports"), 401)
    assert_error(province.get("ent.e1", "/reports"), 403)
    sjz = province.get("insp.sjz", "/reports", params={"state": "pending"}).json()["items"]
    assert mine["id"] in {r["id"] for r in sjz}
    assert all(r["regionCode"].startswith("1301") for r in sjz)
    assert all(set(r["allowed"]) == {"confirm", "reject", "duplicate"} for r in sjz)
    ts = province.get("insp.ts", "/reports").json()["items"]
    assert mine["id"] not in {r["id"] for r in ts}
    assert_error(province.get("insp.ts", "/reports", params={"region": "130102"}), 403)
    admin = province.get("admin1", "/reports", params={"region": "130102"}).json()["items"]
    assert mine["id"] in {r["id"] for r in admin}


# ---------------------------------------------------------------------- verification: every step, every role
def test_confirming_makes_a_hidden_danger_with_the_report_as_evidence(province: Api) -> None:
    out = file(province, {"text": "冀中化工车间里堆满了纸箱和油桶，过道都堵死了", **CHLORINE_NEAR_E1})
    path = f"/reports/{out['id']}/verify"
    body = {"decision": "confirmed", "note": "现场核实属实"}
    assert_error(province.post(None, path, json=body), 401)
    assert_error(province.post("ent.e1", path, json=body), 403)
    assert_error(province.post("analyst1", path, json=body), 403)
    assert_error(province.post("insp.ts", path, json=body), 403)
    r = province.post("insp.sjz", path, json=body)
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["state"] == "confirmed" and done["previousState"] == "pending" and done["outcome"] == "hidden_danger"
    assert done["result"]["label"] == "HiddenDanger" and done["allowed"] == []
    danger = node(province, "HiddenDanger", done["result"]["key"])
    assert danger["reportSource"] == "public report" and danger["state"] == "REPORTED"
    rows = linked(province, "MATCH (e:Enterprise)-[:HAS_HIDDEN_DANGER]->(h:HiddenDanger {id: $h})-[:EVIDENCED_BY]->"
                            "(r:PublicReport) RETURN e.uscc AS u, r.id AS r", h=done["result"]["key"])
    assert rows == [{"u": E1, "r": out["id"]}]
    assert_error(province.post("insp.sjz", path, json=body), 409, "conflict")
    receipt = province.post(None, "/reports/receipt", json={"code": out["_receipt"]}).json()
    assert receipt["state"] == "confirmed" and receipt["outcome"] == "hidden_danger" and receipt["reviewedAt"]


def test_reject_duplicate_and_reopen_need_a_reason_and_the_bureau(province: Api) -> None:
    original = file(province, {"text": "塔吊吊着钢筋从人头顶上过，钢丝绳都起毛了", "region": "130102"})
    out = file(province, {"text": "有人在小区门口点火烧东西，烟很大", "region": "130102"})
    path = f"/reports/{out['id']}"
    assert_error(province.post("insp.sjz", path + "/verify", json={"decision": "rejected"}), 422)
    assert_error(province.post("insp.sjz", path + "/verify", json={"decision": "maybe", "note": "x"}), 422)
    assert_error(province.post("insp.sjz", path + "/reopen", json={"note": "再看看"}), 409)
    rejected = province.post("admin1", path + "/verify", json={"decision": "rejected", "note": "现场无此情况"})
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    assert rejected.json()["allowed"] == ["reopen"]
    assert_error(province.post("insp.ts", path + "/reopen", json={"note": "再看看"}), 403)
    assert_error(province.post(None, path + "/reopen", json={"note": "再看看"}), 401)
    reopened = province.post("insp.sjz", path + "/reopen", json={"note": "群众再次反映"})
    assert reopened.json()["state"] == "pending" and reopened.json()["previousState"] == "rejected"
    assert_error(province.post("insp.sjz", path + "/verify", json={"decision": "duplicate", "note": "同一处"}), 422)
    dup = province.post("insp.sjz", path + "/verify", json={"decision": "duplicate", "note": "同一处",
                                                             "duplicateOf": original["id"]})
    assert dup.status_code == 200 and dup.json()["state"] == "duplicate"
    rows = linked(province, "MATCH (r:PublicReport {id: $id})-[:DUPLICATE_OF]->(o:PublicReport) RETURN o.id AS o",
                  id=out["id"])
    assert [r["o"] for r in rows] == [original["id"]]
    again = province.post("insp.sjz", path + "/reopen", json={"note": "不是同一处"})
    assert again.json()["state"] == "pending" and again.json()["previousState"] == "duplicate"
    history = province.get("insp.sjz", path + "/history").json()
    steps = [(e["fromState"], e["toState"], e["by"], e["note"]) for e in history["entries"]]
    assert steps == [(None, "pending", None, None), ("pending", "rejected", "admin1", "现场无此情况"),
                     ("rejected", "pending", "insp.sjz", "群众再次反映"), ("pending", "duplicate", "insp.sjz", "同一处"),
                     ("duplicate", "pending", "insp.sjz", "不是同一处")]
    assert history["entries"][0]["endpoint"] == "POST /reports"
    assert_error(province.get("insp.ts", path + "/history"), 403)
    assert_error(province.get("ent.e1", path + "/history"), 403)


def test_a_report_naming_no_enterprise_becomes_an_inspection_lead(province: Api) -> None:
    out = file(province, {"text": "城东化工园区门口危险品运输车乱停乱放，堵在路口"})
    path = f"/reports/{out['id']}/verify"
    assert_error(province.post("insp.sjz", path, json={"decision": "confirmed", "outcome": "hidden_danger"}), 422)
    done = province.post("insp.sjz", path, json={"decision": "confirmed"}).json()
    assert done["outcome"] == "inspection_lead" and done["result"]["label"] == "InspectionLead"
    lead = node(province, "InspectionLead", done["result"]["key"])
    assert lead["regionCode"] == "130102" and lead["reportSource"] == "public report"
    rows = linked(province, "MATCH (l:InspectionLead {id: $l})-[:EVIDENCED_BY]->(r:PublicReport) RETURN r.id AS r",
                  l=done["result"]["key"])
    assert [r["r"] for r in rows] == [out["id"]]


def test_a_disaster_point_report_is_checked_into_the_risk_point_base(province: Api) -> None:
    assert_error(province.post(None, "/disaster-points/reports", json={"text": "后山裂了好长一条缝", "disasterType": "海啸龙卷"}), 422)
    out = file(province, {"text": "村后边的山坡裂了好长一条缝，一下雨就往下溜土", "disasterType": "地质灾害",
                          "lon": 114.56, "lat": 38.06}, path="/disaster-points/reports")
    assert out["triage"]["kind"] == "自然灾害" and out["triage"]["regionCode"] == "130102"
    path = f"/reports/{out['id']}/verify"
    assert_error(province.post("insp.ts", path, json={"decision": "confirmed"}), 403)
    done = province.post("insp.sjz", path, json={"decision": "confirmed", "note": "已核实，纳入隐患点"}).json()
    assert done["outcome"] == "disaster_point" and done["result"]["label"] == "NaturalDisasterRiskPoint"
    point = node(province, "NaturalDisasterRiskPoint", done["result"]["key"])
    assert point["disasterType"] == "GEOLOGICAL" and point["regionCode"] == "130102"
    assert point["reportSource"] == "public report"
    rows = linked(province, "MATCH (p:NaturalDisasterRiskPoint {id: $p})-[:LOCATED_IN]->(g:Region) "
                            "MATCH (p)-[:EVIDENCED_BY]->(r:PublicReport) RETURN g.code AS g, r.id AS r",
                  p=done["result"]["key"])
    assert rows == [{"g": "130102", "r": out["id"]}]


# ---------------------------------------------------------------------- 预警报告
def test_the_warning_report_gathers_each_countys_pending_reports_by_urgency(province: Api) -> None:
    urgent = file(province, {"text": "罐区着火了，火越来越大了，赶紧来人啊", "region": "130102"})
    r = province.get("insp.sjz", "/warning-reports", params={"region": "130100"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["region"] == "130100" and body["regionName"] == "石家庄市"
    counties = {c["regionCode"]: c for c in body["counties"]}
    assert set(counties) == {"130102"}
    county = counties["130102"]
    assert county["regionName"] == "长安区"
    ranks = [{"high": 0, "medium": 1, "low": 2}[x["urgency"]] for x in county["reports"]]
    assert ranks == sorted(ranks)
    assert all(x["state"] == "pending" for x in county["reports"])
    assert urgent["id"] in {x["id"] for x in county["reports"]}
    assert sum(county["counts"].values()) == len(county["reports"])
    assert_error(province.get("insp.ts", "/warning-reports", params={"region": "130100"}), 403)
    assert_error(province.get(None, "/warning-reports", params={"region": "130100"}), 401)
    assert_error(province.get("ent.e1", "/warning-reports", params={"region": "130100"}), 403)


# ---------------------------------------------------------------------- the resource census
def test_census_entries_are_reviewed_by_the_regions_bureau_and_get_their_code(province: Api) -> None:
    team = province.post(None, "/resources", json={"kind": "team", "name": "长安区应急救援大队", "region": "130102",
                                                   "members": 40, "teamType": "综合"})
    assert team.status_code == 201, team.text
    key = team.json()["id"]
    assert team.json()["state"] == "pending" and team.json()["codes"] == []
    path = f"/resources/{key}/approve"
    assert_error(province.post(None, path, json={}), 401)
    assert_error(province.post("ent.e1", path, json={}), 403)
    assert_error(province.post("insp.ts", path, json={}), 403)
    assert_error(province.post("insp.sjz", path, json={"decision": "rejected"}), 422)
    done = province.post("insp.sjz", path, json={"decision": "approved"})
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "approved" and [c["key"] for c in done.json()["codes"]] == [key]
    assert_error(province.post("insp.sjz", path, json={}), 409)
    token = done.json()["codes"][0]["url"].rstrip("/").rsplit("/", 1)[-1]
    updated = province.post(None, f"/q/{token}/census-update", json={"members": 45})
    assert updated.status_code == 200, updated.text
    assert updated.json()["applied"] == {"members": 45} and node(province, "RescueTeam", key)["members"] == 45
    assert_error(province.post(None, f"/q/{token}/census-update", json={"quantity": 3}), 422)
    history = province.get("insp.sjz", f"/resources/{key}/history").json()
    assert [(e["fromState"], e["toState"], e["by"]) for e in history["entries"]] == [
        (None, "pending", None), ("pending", "approved", "insp.sjz"), (None, None, None)]
    assert history["entries"][-1]["endpoint"] == "POST /q/{token}/census-update"
    assert_error(province.get("insp.ts", f"/resources/{key}/history"), 403)
    assert_error(province.get(None, f"/resources/{key}/history"), 401)


def test_a_rejected_entry_gets_no_code_and_cannot_be_updated(province: Api) -> None:
    shelter = province.post(None, "/resources", json={"kind": "shelter", "name": "长安公园避难场所", "region": "130102",
                                                      "capacityPeople": 3000, "facilities": ["供水", "供电"]}).json()
    done = province.post("admin1", f"/resources/{shelter['id']}/approve", json={"decision": "rejected", "note": "重复登记"})
    assert done.json()["state"] == "rejected" and done.json()["codes"] == []
    assert_error(province.post("admin1", f"/resources/{shelter['id']}/approve", json={}), 409)
    assert_error(province.post(None, "/resources", json={"kind": "team", "name": "无名队", "region": "990101"}), 422)
    assert_error(province.post(None, "/resources", json={"kind": "team", "name": "有物资的队", "region": "130102",
                                                         "supplies": [{"name": "帐篷", "quantity": 1}]}), 422)


def test_warehouse_supplies_get_codes_and_updates_wait_for_review_when_configured(
        province: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    wh = province.post(None, "/resources", json={
        "kind": "warehouse", "name": "长安区物资储备库", "region": "130102", "areaM2": 1200,
        "supplies": [{"name": "帐篷", "category": "生活类", "quantity": 200, "unit": "顶"},
                     {"name": "冲锋舟", "category": "救援类", "quantity": 4, "unit": "艘"}]}).json()
    assert len(wh["supplies"]) == 2
    done = province.post("insp.sjz", f"/resources/{wh['id']}/approve", json={}).json()
    assert sorted(c["key"] for c in done["codes"]) == sorted(wh["supplies"])
    tent = next(c for c in done["codes"] if c["key"].endswith("帐篷"))
    token = tent["url"].rstrip("/").rsplit("/", 1)[-1]
    monkeypatch.setenv("RISKGRAPH_RESOURCE_UPDATES", "review")
    held = province.post(None, f"/q/{token}/census-update", json={"quantity": 150}).json()
    assert held["pendingUpdate"] is True and held["applied"] is None
    assert node(province, "Supply", tent["key"])["quantity"] == 200
    assert_error(province.post("insp.ts", f"/resources/{tent['key']}/approve", json={}), 403)
    applied = province.post("insp.sjz", f"/resources/{tent['key']}/approve", json={}).json()
    assert applied["applied"] == {"quantity": 150} and applied["pendingUpdate"] is False
    assert node(province, "Supply", tent["key"])["quantity"] == 150
    assert_error(province.post("insp.sjz", f"/resources/{tent['key']}/approve", json={}), 409)
    province.post(None, f"/q/{token}/census-update", json={"quantity": 10})
    discarded = province.post("admin1", f"/resources/{tent['key']}/approve", json={"decision": "rejected", "note": "数量有误"})
    assert discarded.json()["applied"] is None and discarded.json()["pendingUpdate"] is False
    assert node(province, "Supply", tent["key"])["quantity"] == 150


def test_the_census_form_page_is_served(province: Api) -> None:
    r = province.get(None, "/m/census")
    assert r.status_code == 200 and "应急资源普查登记" in r.text and 'value="130102"' in r.text
    js = province.get(None, "/m/static/census.js")
    assert js.status_code == 200 and "/resources" in js.text


def test_a_report_through_an_entitys_code_concerns_it(province: Api) -> None:
    issued = province.get("admin", f"/qr/Enterprise/{E1}.json")
    assert issued.status_code == 200, issued.text
    out = file(province, {"text": "看到厂里的工人没系安全带就在房顶上干活", "qrToken": issued.json()["token"]})
    t = out["triage"]
    assert t["enterprise"] == {"uscc": E1, "name": "石家庄冀中化工有限公司", "score": 1.0, "via": "code"}
    assert t["regionCode"] == "130102" and t["accidentTypes"][0] == "高处坠落"
    assert node(province, "PublicReport", out["id"])["regionBasis"] == "code"
    bad = province.post(None, "/reports", json={"text": "看到厂里有人抽烟", "qrToken": "not-a-token"})
    assert bad.status_code in (400, 404) and set(bad.json()) == {"error"}


def test_a_report_keeps_its_photos_as_evidence(province: Api) -> None:
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    out = file(province, {"text": "脚手架上的人都不戴安全帽，看着很悬", "region": "130102", "photos": [url]})
    stored = node(province, "PublicReport", out["id"])
    assert len(stored["photos"]) == 1 and len(stored["photos"][0]) == 64
    bad = province.post(None, "/reports", json={"text": "脚手架上的人都不戴安全帽", "region": "130102",
                                                "photos": ["data:text/plain;base64,aGVsbG8="]})
    assert 400 <= bad.status_code < 500 and set(bad.json()) == {"error"}
