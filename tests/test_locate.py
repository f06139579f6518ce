"""Every enterprise gets a point with its method and accuracy; GCJ-02 / BD-09 inputs become WGS 84."""
from __future__ import annotations

import prcoords
import pytest

from riskgraph.loaders.locate import locate_enterprises, region_point, region_points
from riskgraph.loaders.mapping import FieldSpec
from riskgraph.loaders.positions import CrsError, crs_name, settle, to_wgs84


def test_gcj02_and_bd09_inputs_come_back_to_the_wgs84_point():
    wgs = (116.39747, 39.90873)
    gcj = prcoords.wgs_gcj((wgs[1], wgs[0]))
    bd = prcoords.wgs_bd((wgs[1], wgs[0]))
    assert abs(gcj.lon - wgs[0]) > 0.001  # the offset is real (hundreds of metres)
    for lon, lat, crs in ((gcj.lon, gcj.lat, "GCJ-02"), (bd.lon, bd.lat, "bd09")):
        back = to_wgs84(lon, lat, crs)
        assert back == pytest.approx(wgs, abs=2e-6)
    assert to_wgs84(*wgs, "EPSG:4326") == wgs
    assert crs_name("gcj_02") == "GCJ-02"
    with pytest.raises(CrsError):
        crs_name("CGCS-1980-nope")


def test_a_mapped_pair_is_converted_and_the_conversion_recorded():
    fields = (FieldSpec("lon", ("lon",), "decimal", options={"group": "position", "crs": "GCJ-02"}),
              FieldSpec("lat", ("lat",), "decimal", options={"group": "position", "crs": "GCJ-02"}))
    gcj = prcoords.wgs_gcj((38.0, 114.5))
    values = {"lon": gcj.lon, "lat": gcj.lat}
    settle(fields, values)
    assert values["sourceCrs"] == "GCJ-02"
    assert (values["lon"], values["lat"]) == pytest.approx((114.5, 38.0), abs=2e-6)
    registry = (FieldSpec("lon", ("经度",), "decimal", options={"located_by": "registry", "accuracy_m": 30}),
                FieldSpec("lat", ("纬度",), "decimal"))
    values = {"lon": 114.5, "lat": 38.0}
    settle(registry, values)
    assert values == {"lon": 114.5, "lat": 38.0, "locationMethod": "registry", "locationAccuracy": 30}
    blank: dict = {"lon": None, "lat": None}
    settle(registry, blank)
    assert "locationMethod" not in blank  # no point, no claim


def test_the_shipped_boundaries_give_a_point_inside_every_county():
    points = region_points("13")
    assert len(points) >= 170
    lon, lat, radius = points["130983"]  # 黄骅市
    assert 117.0 < lon < 118.0 and 38.0 < lat < 38.8 and 10_000 < radius < 60_000
    # 雄安新区: no boundary of its own and no centre in the code table: the province's centre, said to be coarse
    xiongan = region_point("133100")
    assert xiongan is not None and xiongan.method == "province" and xiongan.accuracy == 250_000


def test_enterprises_are_placed_best_source_first(store):
    ents = [
        {"uscc": "E-REG", "name": "登记坐标", "regionCode": "130983", "lon": 117.35, "lat": 38.37,
         "locationMethod": "registry", "locationAccuracy": 30},
        {"uscc": "E-API", "name": "已有坐标", "regionCode": "130983", "lon": 117.30, "lat": 38.30},
        {"uscc": "E-HS", "name": "按危险源", "regionCode": "130983"},
        {"uscc": "E-RP", "name": "按风险点", "regionCode": "130983"},
        {"uscc": "E-PARK", "name": "按园区", "regionCode": "130983", "parkCode": "P130983001"},
        {"uscc": "E-CTY", "name": "按县", "regionCode": "130983"},
        {"uscc": "E-NONE", "name": "无处可查"},
    ]
    store.upsert_nodes("Enterprise", ents)
    store.upsert_nodes("Region", [{"code": "P130983001", "name": "沧州临港经济技术开发区", "regionLevel": "PARK",
                                   "lon": 117.64, "lat": 38.39}])
    store.upsert_nodes("HazardSource", [{"id": "U1", "lon": 117.40, "lat": 38.40}, {"id": "U2", "lon": 117.42, "lat": 38.40}])
    store.upsert_nodes("RiskPoint", [{"id": "R1", "lon": 117.50, "lat": 38.45}, {"id": "R2"}])
    store.upsert_relationships("HAS_HAZARD_SOURCE", [{"from": "E-HS", "to": "U1"}, {"from": "E-HS", "to": "U2"}],
                               from_label="Enterprise", to_label="HazardSource")
    store.upsert_relationships("HAS_RISK_POINT", [{"from": "E-RP", "to": "R1"}, {"from": "E-RP", "to": "R2"}],
                               from_label="Enterprise", to_label="RiskPoint")
    counts = locate_enterprises(store)
    got = {r["k"]: r for r in store.read(
        "MATCH (e:Enterprise) RETURN e.uscc AS k, e.lon AS lon, e.lat AS lat, e.locationMethod AS m, "
        "e.locationAccuracy AS a", {})}
    assert (got["E-REG"]["m"], got["E-REG"]["lon"], got["E-REG"]["a"]) == ("registry", 117.35, 30)
    assert (got["E-API"]["m"], got["E-API"]["lon"], got["E-API"]["a"]) == ("recorded", 117.30, None)
    assert got["E-HS"]["m"] == "hazard-sources" and got["E-HS"]["lon"] == pytest.approx(117.41)
    assert 900 < got["E-HS"]["a"] < 1_100  # 0.01° of longitude at 38.4° ≈ 870 m from the centroid, + 100
    assert (got["E-RP"]["m"], got["E-RP"]["lon"], got["E-RP"]["a"]) == ("risk-points", 117.5, 100)
    assert (got["E-PARK"]["m"], got["E-PARK"]["lon"], got["E-PARK"]["a"]) == ("park", 117.64, 2_000)
    county = region_points("13")["130983"]
    assert (got["E-CTY"]["m"], got["E-CTY"]["lon"], got["E-CTY"]["lat"], got["E-CTY"]["a"]) == ("county", *county)
    assert got["E-NONE"]["lon"] is None and got["E-NONE"]["m"] is None
    assert counts == {"registry": 1, "recorded": 1, "hazard-sources": 1, "risk-points": 1, "park": 1, "county": 1, "none": 1}
    # a registry point that arrives later wins over the derived one; derived points are recomputed
    store.upsert_nodes("Enterprise", [{"uscc": "E-CTY", "lon": 117.2, "lat": 38.2, "locationMethod": "registry",
                                       "locationAccuracy": 30}])
    store.upsert_nodes("HazardSource", [{"id": "U2", "lon": 117.44, "lat": 38.40}])
    locate_enterprises(store)
    again = {r["k"]: r for r in store.read("MATCH (e:Enterprise) RETURN e.uscc AS k, e.lon AS lon, e.locationMethod AS m", {})}
    assert (again["E-CTY"]["m"], again["E-CTY"]["lon"]) == ("registry", 117.2)
    assert again["E-HS"]["lon"] == pytest.approx(117.42)


def test_only_the_enterprises_asked_for_are_placed_again(store):
    """After a load only the enterprises its rows touched are placed again (all 50,000 took 10 s
    of a 1 % change set); the others keep their points until a load touches them."""
    store.upsert_nodes("Enterprise", [{"uscc": "E-A", "name": "甲", "regionCode": "130983"},
                                      {"uscc": "E-B", "name": "乙", "regionCode": "130983"}])
    store.upsert_nodes("HazardSource", [{"id": "UA", "lon": 117.40, "lat": 38.40}, {"id": "UB", "lon": 117.50, "lat": 38.50}])
    store.upsert_relationships("HAS_HAZARD_SOURCE", [{"from": "E-A", "to": "UA"}, {"from": "E-B", "to": "UB"}],
                               from_label="Enterprise", to_label="HazardSource")
    assert locate_enterprises(store) == {"hazard-sources": 2}
    store.upsert_nodes("HazardSource", [{"id": "UA", "lon": 117.41, "lat": 38.40}, {"id": "UB", "lon": 117.51, "lat": 38.50}])
    assert locate_enterprises(store, {"E-A"}) == {"hazard-sources": 1}

    def lon() -> dict[str, float]:
        return {r["k"]: r["lon"] for r in store.read("MATCH (e:Enterprise) RETURN e.uscc AS k, e.lon AS lon", {})}

    assert lon() == {"E-A": pytest.approx(117.41), "E-B": pytest.approx(117.50)}
    locate_enterprises(store)
    assert lon() == {"E-A": pytest.approx(117.41), "E-B": pytest.approx(117.51)}
