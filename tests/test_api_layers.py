"""Layers tell the truth (issue 20.1): counts and `truncated` hold when points lack coordinates, every
feature is reachable through `next` links, bodies are geo+json and gzip, bbox works (also in GCJ-02),
and the same layers are OGC API – Features collections."""
from __future__ import annotations

import gzip

import httpx
import prcoords
import pytest
from api_support import assert_error

from riskgraph.graph import connect

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
LOCATED = 7
UNLOCATED = 30  # more than any page: they must not use up the limit


@pytest.fixture(scope="module")
def shelters(api):
    """The fixture's one shelter plus 7 located and 30 unlocated ones, keyed so the unlocated sort first."""
    store = connect(api.store_url)
    try:
        store.upsert_nodes("Shelter", [{"id": f"A-NOPOINT-{i:02d}", "name": f"无坐标避难场所{i}", "regionCode": "130102"}
                                       for i in range(UNLOCATED)])
        store.upsert_nodes("Shelter", [{"id": f"B-POINT-{i:02d}", "name": f"避难场所{i}", "regionCode": "130102",
                                        "lon": 114.50 + i / 100, "lat": 38.00} for i in range(LOCATED)])
    finally:
        store.close()
    return LOCATED + 1  # SH1 of the fixture province has a point too


def walk(api, url: str, params: dict) -> list[dict]:
    """Every page from the first, following `next` links; checks each page's counts as it goes."""
    pages = [api.get(None, url, params=params).json()]
    while True:
        nxt = [link["href"] for link in pages[-1]["links"] if link["rel"] == "next"]
        assert pages[-1]["truncated"] is bool(nxt)
        if not nxt:
            return pages
        pages.append(httpx.get(nxt[0], timeout=30).json())


def test_points_without_coordinates_do_not_use_up_the_limit(api, shelters):
    pages = walk(api, "/layers/shelters", {"limit": 3})
    assert [p["numberReturned"] for p in pages] == [3, 3, 2]
    assert {p["numberMatched"] for p in pages} == {shelters}
    assert {p["skipped"] for p in pages} == {UNLOCATED}
    keys = [f["properties"]["key"] for p in pages for f in p["features"]]
    assert len(keys) == len(set(keys)) == shelters
    assert pages[0]["truncated"] is True and pages[-1]["truncated"] is False
    whole = api.get(None, "/layers/shelters", params={"limit": 100}).json()
    assert whole["numberReturned"] == shelters and whole["truncated"] is False
    assert whole["crs"] == {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}


def test_layers_are_geo_json_and_gzip_when_large(api, shelters):
    with httpx.Client(base_url=api.base_url, timeout=30) as c:
        big = c.get("/layers/shelters", headers={"Accept-Encoding": "gzip"})
        assert big.headers["content-type"] == "application/geo+json"
        assert big.headers.get("content-encoding") == "gzip"
        assert big.json()["numberMatched"] == shelters  # httpx decodes it
        raw = c.send(c.build_request("GET", "/layers/shelters", headers={"Accept-Encoding": "gzip"}), stream=True)
        body = gzip.decompress(b"".join(raw.iter_raw()))
        raw.close()
        assert body.startswith(b'{"type":"FeatureCollection"')
        plain = c.get("/layers/shelters", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.json()["numberMatched"] == shelters


def test_bbox_in_wgs84_and_in_gcj02(api, shelters):
    box = api.get(None, "/layers/shelters", params={"bbox": "114.515,37.99,114.545,38.01"}).json()
    assert sorted(f["properties"]["key"] for f in box["features"]) == ["B-POINT-02", "B-POINT-03", "B-POINT-04"]
    assert box["numberMatched"] == 3
    lo = prcoords.wgs_gcj((37.99, 114.515))
    hi = prcoords.wgs_gcj((38.01, 114.545))
    gcj = api.get(None, "/layers/shelters", params={"bbox": f"{lo.lon},{lo.lat},{hi.lon},{hi.lat}", "bbox-crs": "GCJ-02"}).json()
    assert sorted(f["properties"]["key"] for f in gcj["features"]) == ["B-POINT-02", "B-POINT-03", "B-POINT-04"]
    shifted = api.get(None, "/layers/shelters", params={"bbox": f"{lo.lon},{lo.lat},{hi.lon},{hi.lat}"}).json()
    # read as WGS 84 the GCJ-02 box is ≈ 500 m east: it takes in the next shelter and loses the first
    assert sorted(f["properties"]["key"] for f in shifted["features"]) == ["B-POINT-03", "B-POINT-04", "B-POINT-05"]
    assert_error(api.get(None, "/layers/shelters", params={"bbox": "1,2,3"}), 422, "validation_error")
    assert_error(api.get(None, "/layers/shelters", params={"bbox": "1,2,3,4", "bbox-crs": "EPSG:3857"}), 422)


def test_ogc_api_features_collections(api, shelters):
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in api.get(None, "/conformance").json()["conformsTo"]
    listed = api.get(None, "/collections").json()["collections"]
    assert {c["id"] for c in listed} >= {"enterprises", "shelters", "regional-risk"}
    one = api.get(None, "/collections/shelters").json()
    assert one["title"] == "应急避难场所" and one["storageCrs"] == CRS84
    items = [link["href"] for link in one["links"] if link["rel"] == "items"][0]
    first = httpx.get(items, params={"limit": 5}, timeout=30).json()
    assert first["numberMatched"] == shelters and first["numberReturned"] == 5 and first["truncated"] is True
    assert_error(api.get(None, "/collections/volcanoes"), 404, "not_found")
    assert_error(api.get(None, "/collections/volcanoes/items"), 404, "not_found")


def test_regional_risk_and_open_warnings_layers(api):
    regions = api.get(None, "/layers/regional-risk").json()
    codes = {f["properties"]["regionCode"] for f in regions["features"]}
    assert {"130100", "130102", "130209"} <= codes and "130000" not in codes
    # counties are drawn inside their shipped boundary, not at a guessed centre
    county = next(f for f in regions["features"] if f["properties"]["regionCode"] == "130102")
    assert county["properties"]["regionLevel"] == "COUNTY"
    assert api.get(None, "/layers/open-warnings").json()["numberMatched"] == 0  # the public sees no warnings


def test_geopandas_opens_a_layer_by_its_url(api, shelters):
    geopandas = pytest.importorskip("geopandas")
    frame = geopandas.read_file(f"{api.base_url}/layers/shelters?limit=100")
    assert len(frame) == shelters
    assert frame.crs is not None and frame.crs.to_epsg() == 4326
    assert set(frame.geometry.geom_type) == {"Point"}
    assert frame.geometry.x.between(73, 136).all() and frame.geometry.y.between(3, 54).all()
