"""Enterprise search answers with facet counts (colour, industry, region, tag, scale), each role's
counts limited to what it may read, and the scale filter behind them."""
from __future__ import annotations

from api_support import E1, E2, E3, assert_error


def _facets(body: dict) -> dict[str, dict[str, int]]:
    return {name: {v["value"]: v["count"] for v in values} for name, values in body["facets"].items()}


def test_public_facets_count_public_properties_only(api):
    body = api.get(None, "/enterprises").json()
    assert body["total"] == 3
    facets = _facets(body)
    assert facets == {"colour": {"RED": 1, "ORANGE": 1, "BLUE": 1}, "industry": {"HC": 2, "NCM-MM": 1},
                      "region": {"130102": 2, "130209": 1}}  # tags and head counts are not public
    labels = {v["value"]: v["label"] for v in body["facets"]["colour"] + body["facets"]["region"]}
    assert labels["RED"] == "红" and labels["130102"] == "长安区"
    assert [v["value"] for v in body["facets"]["colour"]] == ["RED", "ORANGE", "BLUE"]  # the scheme's order


def test_facets_follow_the_filters_not_the_page(api):
    body = api.get(None, "/enterprises", params={"region": "130100", "size": 1}).json()
    assert len(body["items"]) == 1 and body["total"] == 2
    assert _facets(body)["colour"] == {"RED": 1, "BLUE": 1}
    hits = api.get(None, "/enterprises", params={"q": "石家庄"}).json()
    assert _facets(hits)["region"] == {"130102": 2}
    assert api.get(None, "/enterprises", params={"facets": "false"}).json()["facets"] == {}


def test_restricted_facets_count_only_within_the_callers_scope(api):
    mine = _facets(api.get("insp.sjz", "/enterprises").json())
    assert mine["tag"] == {"重点监管": 1, "涉氯": 1}            # E1's tags; E2 (唐山) is outside the account's regions
    assert mine["scale"] == {"MEDIUM": 1, "SMALL": 1}            # E1 420, E3 80 people
    assert mine["colour"] == {"RED": 1, "ORANGE": 1, "BLUE": 1}   # public facets still count everything
    other = _facets(api.get("insp.ts", "/enterprises").json())
    assert other["tag"] == {"重点监管": 1} and other["scale"] == {"MEDIUM": 1}
    own = _facets(api.get("enterprise", "/enterprises").json())
    assert "tag" not in own and own["scale"] == {"MEDIUM": 1}      # only itself
    full = _facets(api.get("analyst", "/enterprises").json())
    assert full["scale"] == {"MEDIUM": 2, "SMALL": 1} and full["tag"] == {"重点监管": 2, "涉氯": 1}


def test_the_scale_filter_takes_notations_and_labels_and_is_scoped(api):
    keys = lambda body: {i["key"] for i in body["items"]}  # noqa: E731
    assert keys(api.get("analyst", "/enterprises", params={"scale": "MEDIUM"}).json()) == {E1, E2}
    assert keys(api.get("analyst", "/enterprises", params={"scale": "小型"}).json()) == {E3}
    assert keys(api.get("insp.sjz", "/enterprises", params={"scale": "中型"}).json()) == {E1}
    assert_error(api.get(None, "/enterprises", params={"scale": "MEDIUM"}), 403, "forbidden")
    assert_error(api.get("analyst", "/enterprises", params={"scale": "巨型"}), 422)
