"""GCJ-02 / BD-09 coordinates on the API's write inputs (issue #20 point 1: POST /reports, /disaster-points/reports,
/resources, /q/{token}/reports), through the real service:
a point sent in `crs` lands at prcoords' WGS 84 point and the node records `sourceCrs` (and keeps it when
a report is confirmed); WGS 84 (the default) records nothing; an unknown system is a 422 and writes nothing."""
from __future__ import annotations

import prcoords
import pytest

from riskgraph import graph
from tests.api_support import E1, Api, assert_error

SENT = {"lon": 114.5602, "lat": 38.0488}  # 石家庄长安区, as a phone map app would give it


@pytest.fixture(scope="module", autouse=True)
def setting(monkeypatch_module: pytest.MonkeyPatch) -> None:
    monkeypatch_module.setenv("RISKGRAPH_PUBLIC_REPORTS_PER_HOUR", "500")


def stored(api: Api, label: str, key: str) -> dict:
    with graph.connect(api.store_url) as store:
        found = store.get_node(label, key)
    assert found is not None
    return found


def count(api: Api, label: str) -> int:
    with graph.connect(api.store_url) as store:
        return int(store.read(f"MATCH (n:{label}) RETURN count(n) AS n", {})[0]["n"])


def expected(convert, sent: dict) -> tuple[float, float]:
    point = convert((sent["lat"], sent["lon"]))
    return point.lon, point.lat


def assert_at(node: dict, lon: float, lat: float) -> None:
    assert abs(float(node["lon"]) - lon) <= 1e-6 and abs(float(node["lat"]) - lat) <= 1e-6, node
    assert abs(float(node["lon"]) - SENT["lon"]) > 1e-4, "the point was converted, not kept as sent"


def test_a_gcj02_report_lands_at_the_wgs84_point_and_records_its_system(api: Api) -> None:
    r = api.post(None, "/reports", json={"text": "路边的燃气管道有股味道，好几天了", **SENT, "crs": "gcj-02"})
    assert r.status_code == 201, r.text
    node = stored(api, "PublicReport", r.json()["id"])
    assert_at(node, *expected(prcoords.gcj_wgs_bored, SENT))
    assert node["sourceCrs"] == "GCJ-02"
    plain = api.post(None, "/reports", json={"text": "小区门口的消防通道被堵死了", **SENT})
    assert plain.status_code == 201, plain.text
    node = stored(api, "PublicReport", plain.json()["id"])
    assert (node["lon"], node["lat"]) == (SENT["lon"], SENT["lat"]) and node.get("sourceCrs") is None
    # an explicit null is the default, WGS 84 (it once reached the length check and failed with a 500)
    null = api.post(None, "/reports", json={"text": "仓库后面的电线老是冒火花", **SENT, "crs": None})
    assert null.status_code == 201, null.text
    assert stored(api, "PublicReport", null.json()["id"]).get("sourceCrs") is None


def test_a_bd09_disaster_point_keeps_its_system_when_confirmed(api: Api) -> None:
    r = api.post(None, "/disaster-points/reports", json={
        "text": "村后边的山坡裂了好长一条缝，一下雨就往下溜土", "disasterType": "地质灾害", **SENT, "crs": "BD09"})
    assert r.status_code == 201, r.text
    report = stored(api, "PublicReport", r.json()["id"])
    lon, lat = expected(prcoords.bd_wgs_bored, SENT)
    assert_at(report, lon, lat)
    assert report["sourceCrs"] == "BD-09"
    done = api.post("insp.sjz", f"/reports/{report['id']}/verify", json={"decision": "confirmed", "note": "已核实"})
    assert done.status_code == 200, done.text
    point = stored(api, "NaturalDisasterRiskPoint", done.json()["result"]["key"])
    assert_at(point, lon, lat)
    assert point["sourceCrs"] == "BD-09"


def test_a_census_registration_converts_too(api: Api) -> None:
    r = api.post(None, "/resources", json={"kind": "shelter", "name": "长安公园应急避难场所", "region": "130102",
                                           **SENT, "crs": "GCJ02", "capacityPeople": 3000})
    assert r.status_code == 201, r.text
    node = stored(api, "Shelter", r.json()["id"])
    assert_at(node, *expected(prcoords.gcj_wgs_bored, SENT))
    assert node["sourceCrs"] == "GCJ-02"


def test_an_unknown_coordinate_system_is_refused_and_nothing_is_written(api: Api) -> None:
    reports, shelters = count(api, "PublicReport"), count(api, "Shelter")
    for crs in ("EPSG:3857", "gcj", "mars", ""):
        r = api.post(None, "/reports", json={"text": "路边的燃气管道有股味道，好几天了", **SENT, "crs": crs})
        assert_error(r, 422)
        assert "GCJ-02" in r.text, "the error names the systems accepted"
    assert_error(api.post(None, "/disaster-points/reports", json={
        "text": "村后边的山坡裂了好长一条缝", "disasterType": "地质灾害", **SENT, "crs": "WGS72"}), 422)
    assert_error(api.post(None, "/resources", json={"kind": "shelter", "name": "长安公园应急避难场所", "region": "130102",
                                                    **SENT, "crs": "UTM50N"}), 422)
    assert (count(api, "PublicReport"), count(api, "Shelter")) == (reports, shelters)


def test_a_report_through_a_code_converts_too(api: Api) -> None:
    issued = api.get("admin1", f"/qr/Enterprise/{E1}.json")
    assert issued.status_code == 200, issued.text
    token = issued.json()["token"]
    r = api.post(None, f"/q/{token}/reports", json={"text": "厂区夜间有刺鼻气味", **SENT, "crs": "Bd-09"})
    assert r.status_code == 201, r.text
    node = stored(api, "PublicReport", r.json()["key"])
    assert_at(node, *expected(prcoords.bd_wgs_bored, SENT))
    assert node["sourceCrs"] == "BD-09"
    before = count(api, "PublicReport")
    assert_error(api.post(None, f"/q/{token}/reports", json={"text": "厂区夜间有刺鼻气味", **SENT, "crs": "WGS-85"}), 422)
    assert count(api, "PublicReport") == before
