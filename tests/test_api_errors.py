"""Every failure comes in the one error shape: routing, validation, auth, roles, the store, crashes."""
from __future__ import annotations

import re
import time

import jwt
import pytest
from api_support import E1, assert_error

from riskgraph.api.validation_text import field_message


def configure_app(app):
    """A route that crashes, to see an unhandled error come out in the one shape."""
    def crash() -> dict:
        raise RuntimeError("secret internal detail")

    app.add_api_route("/test-only/crash", crash, methods=["GET"])


def test_not_found(api):
    assert_error(api.get(None, "/enterprises/91999999MA0NOPE00X"), 404, "not_found")
    assert_error(api.get(None, "/no/such/route"), 404, "not_found")
    assert_error(api.get(None, "/nodes/Bogus/x/subgraph"), 404, "not_found")
    assert_error(api.get(None, "/nodes/Thing/x/subgraph"), 404, "not_found")  # abstract: no node carries it
    assert_error(api.get(None, "/nodes/Enterprise/NOPE/subgraph"), 404, "not_found")
    assert_error(api.get(None, "/nodes/Enterprise/NOPE/dossier"), 404, "not_found")
    assert_error(api.get(None, "/industries/ZZZ/risk"), 404, "not_found")
    detail = assert_error(api.get(None, "/layers/nope"), 404, "not_found")
    assert "enterprises" in detail["details"]["layers"]


def test_method_not_allowed(api):
    with api.client() as c:
        assert_error(c.delete(f"/enterprises/{E1}"), 405, "method_not_allowed")
        assert_error(c.get("/analyst/query"), 405, "method_not_allowed")


@pytest.mark.parametrize("path, params, field", [
    (f"/nodes/Enterprise/{E1}/subgraph", {"depth": 9}, "depth"),
    (f"/nodes/Enterprise/{E1}/subgraph", {"depth": "deep"}, "depth"),
    (f"/nodes/Enterprise/{E1}/subgraph", {"labels": "Region,Bogus"}, "labels"),
    (f"/nodes/Enterprise/{E1}/dossier", {"format": "xml"}, "format"),
    ("/enterprises", {"region": "13x"}, "region"),
    ("/enterprises", {"region": "1301"}, None),  # valid prefix form: accepted
    ("/enterprises", {"colour": "purple"}, "colour"),
    ("/enterprises", {"uscc": "short"}, "uscc"),
    ("/enterprises", {"size": 1000}, "size"),
    (f"/enterprises/{E1}", {"limit": 0}, "limit"),
    ("/layers/enterprises", {"limit": 10**9}, "limit"),
    ("/layers/enterprises", {"region": "abc"}, "region"),
    ("/admin/audit", {"since": "yesterday"}, None),  # needs admin first: 401 for the anonymous
])
def test_validation_errors(api, path, params, field):
    response = api.get(None, path, params=params)
    if path == "/admin/audit":
        assert_error(response, 401, "unauthorized")
        detail = assert_error(api.get("admin", path, params=params), 422, "validation_error")
        assert detail["details"][0]["field"] == "since"
        return
    if field is None:
        assert response.status_code == 200, response.text
        return
    detail = assert_error(response, 422, "validation_error")
    assert field in [d["field"] for d in detail["details"]]


def test_bad_json_body_is_422(api):
    detail = assert_error(api.post("analyst", "/analyst/query", content=b"{not json",
                                   headers={"Content-Type": "application/json"}), 422, "validation_error")
    assert detail["details"]
    assert_error(api.post("analyst", "/analyst/query", json={"cypher": ""}), 422, "validation_error")
    assert_error(api.post("analyst", "/analyst/query", json={"cypher": "RETURN 1", "limit": 10**6}), 422)


def test_unauthorized(api):
    secret = (api.data_dir / "jwt-secret").read_text().strip()
    now = int(time.time())
    claims = {"iss": "riskgraph", "sub": "admin1", "role": "admin", "gen": 0, "iat": now, "nbf": now, "exp": now + 600}
    forged = jwt.encode(claims, "x" * 48, algorithm="HS256")
    expired = jwt.encode({**claims, "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600}, secret, algorithm="HS256")
    unknown = jwt.encode({**claims, "sub": "nobody"}, secret, algorithm="HS256")
    none_alg = jwt.encode(claims, None, algorithm="none")
    for header in ("Bearer garbage", f"Bearer {forged}", f"Bearer {expired}", f"Bearer {unknown}",
                   f"Bearer {none_alg}", "Basic YWRtaW4xOnB3", "Bearer"):
        response = api.get(None, f"/enterprises/{E1}", headers={"Authorization": header})
        assert_error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"
    message = assert_error(api.get(None, "/auth/me", headers={"Authorization": f"Bearer {expired}"}), 401)["message"]
    assert "expired" in message
    # the same claims, properly signed, work
    good = jwt.encode(claims, secret, algorithm="HS256")
    assert api.get(None, "/admin/users", headers={"Authorization": f"Bearer {good}"}).status_code == 200
    # anonymous on a role-gated route: 401 (log in), not 403
    assert_error(api.get(None, "/admin/audit"), 401, "unauthorized")


def test_forbidden(api):
    for role in ("enterprise", "inspector", "analyst"):
        detail = assert_error(api.get(role, "/admin/audit"), 403, "forbidden")
        assert detail["details"]["required"] == ["admin"]
    assert_error(api.post("inspector", "/analyst/query", json={"cypher": "RETURN 1"}), 403, "forbidden")


def test_unhandled_errors_hide_their_detail(api):
    detail = assert_error(api.get(None, "/test-only/crash"), 500, "internal_error")
    assert detail["message"] == "internal error" and "secret" not in str(detail)
    ref = detail["details"]["ref"]
    assert any(ref in line for line in api.logs.lines)  # the server log has it, under the same reference


def test_store_errors_in_the_shape(api):
    assert_error(api.post("analyst", "/analyst/query", json={"cypher": "MATCH (n RETURN n"}), 400, "bad_query")
    assert_error(api.post("analyst", "/analyst/query", json={"cypher": "CREATE (:Region {code: '1'})"}), 400, "read_only")


def test_openapi_describes_errors_in_the_one_shape(api):
    doc = api.get(None, "/openapi.json").json()
    assert "ErrorBody" in doc["components"]["schemas"] and "HTTPValidationError" not in doc["components"]["schemas"]
    responses = doc["paths"]["/enterprises"]["get"]["responses"]
    assert responses["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert responses["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert {"/enterprises/{uscc}", "/nodes/{label}/{key}/subgraph", "/layers/{name}", "/analyst/query",
            "/admin/audit", "/auth/token"} <= set(doc["paths"])


#: three or more English words in a row: an English sentence left in a Chinese message (as in test_i18n_errors.py)
ENGLISH = re.compile(r"\b[A-Za-z]{2,}(?:[ ,;:'’]+[A-Za-z]{2,}){2,}\b")
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(("method", "role", "path", "kwargs", "field", "english", "chinese"), [
    ("post", "ent.e1", "/subscriptions", {"json": {"enterprise": "123"}}, "enterprise",
     "'123' is not an 18-character unified social credit code", "'123' 不是 18 位统一社会信用代码"),
    ("post", "ent.e1", "/subscriptions", {"json": {"region": "12345"}}, "region",
     "'12345' is not a GB/T 2260 region code (2 to 12 digits, in pairs)", "'12345' 不是 GB/T 2260 行政区划代码"),
    ("get", None, "/enterprises", {"params": {"region": "000000"}}, "region",
     "'000000' names no region", "'000000' 不对应任何行政区划"),
    ("get", None, "/enterprises", {"params": {"uscc": "not-a-code"}}, "uscc",
     "'not-a-code' is not an 18-character unified social credit code", "'not-a-code' 不是 18 位统一社会信用代码"),
])
def test_a_malformed_region_or_uscc_is_refused_in_the_callers_language(api, method, role, path, kwargs, field,
                                                                       english, chinese):
    """The codes' own checks (api/access.py) are forwarded into the 422: Chinese for a Chinese caller."""
    with api.client(role) as c:
        zh = getattr(c, method)(path, headers=ZH, **kwargs)
        en = getattr(c, method)(path, **kwargs)
    body = assert_error(zh, 422, "validation_error")
    assert chinese in body["message"] and ENGLISH.search(body["message"]) is None, body
    assert body["details"] == [{"field": field, "message": body["message"]}]
    assert zh.headers["Content-Language"] == "zh-CN"
    body = assert_error(en, 422, "validation_error")
    assert body["message"] == english and body["details"] == [{"field": field, "message": english}]


def test_an_unknown_route_or_method_is_said_in_the_callers_language(api):
    assert assert_error(api.get(None, "/no/such/route", headers=ZH), 404, "not_found")["message"] == "没有路由 /no/such/route"
    assert assert_error(api.get(None, "/no/such/route"), 404, "not_found")["message"] == "no route /no/such/route"
    with api.client() as c:
        zh = c.delete(f"/enterprises/{E1}", headers=ZH)
    message = assert_error(zh, 405)["message"]
    assert "DELETE" in message and CHINESE.search(message) and ENGLISH.search(message) is None, message


def test_a_malformed_body_is_explained_field_by_field_in_the_callers_language(api):
    """pydantic's messages stay as they are in English; a Chinese caller reads each field's in Chinese."""
    body = {"text": "很长" * 1001, "secret": 1, "lon": "东经"}
    en = assert_error(api.post(None, "/reports", json=body), 422, "validation_error")
    zh = assert_error(api.post(None, "/reports", json=body, headers=ZH), 422, "validation_error")
    english = {d["field"]: d["message"] for d in en["details"]}
    chinese = {d["field"]: d["message"] for d in zh["details"]}
    assert set(english) == set(chinese) == {"text", "secret", "lon"}, en
    assert english["secret"] == "Extra inputs are not permitted" and chinese["secret"] == "不接受此字段"
    assert english["text"].startswith("String should have at most") and chinese["text"].startswith("至多 ")
    assert english["lon"].startswith("Input should be a valid number") and chinese["lon"].startswith("应为数字")
    for message in chinese.values():
        assert CHINESE.search(message) and ENGLISH.search(message) is None, chinese
    missing = assert_error(api.post(None, "/reports", json={}, headers=ZH), 422, "validation_error")
    assert [d["message"] for d in missing["details"]] == ["缺少此字段"]
    # a check of our own inside the body's model (a value_error) carries its own template
    with api.client("insp.sjz") as c:
        both = c.post("/subscriptions", json={"enterprise": E1, "region": "130100"}, headers=ZH)
    detail = assert_error(both, 422, "validation_error")["details"]
    assert len(detail) == 1 and CHINESE.search(detail[0]["message"]) and ENGLISH.search(detail[0]["message"]) is None, detail


def test_a_choice_between_values_reads_in_the_callers_language():
    error = {"type": "literal_error", "msg": "Input should be 'LEC' or 'LS'", "ctx": {"expected": "'LEC' or 'LS'"}}
    assert field_message(error, "en") == "Input should be 'LEC' or 'LS'"
    assert field_message(error, "zh") == "应为 'LEC' 或 'LS'"
    unknown = {"type": "uuid_parsing", "msg": "Input should be a valid UUID"}
    assert field_message(unknown, "zh") == "Input should be a valid UUID", "a type not listed keeps pydantic's text"
