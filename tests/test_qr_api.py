"""一企一码 over HTTP: a real uvicorn server on a real embedded store with the fixture province.

Placards are fetched as PNG, decoded with a real decoder (zxing-cpp) and the URL in them is
followed through the running app, for each role. Forged, expired and revoked codes are refused
with their reason and no data; actions through a code create the right nodes for the right roles.
"""
from __future__ import annotations

import base64
import csv
import io
import math
import zipfile
from typing import Any

import httpx
import pytest
import zxingcpp
from api_support import E1, E2, E3, ROLE_USER, ROLES, assert_error, nodes_in
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from PIL import Image

from riskgraph.api.qr.config import QrSettings
from riskgraph.api.qr.keyring import Keyring
from riskgraph.api.qr.ratelimit import TokenBucket
from riskgraph.api.qr.token import Claims, b32decode, b32encode, encode, parse
from riskgraph.ontology.model import TIME_SUFFIX, TOKENS_SUFFIX, Disclosure, load_ontology

ONTO = load_ontology()
CEILING = {"public": Disclosure.PUBLIC, "enterprise": Disclosure.ENTERPRISE, "inspector": Disclosure.INSPECTOR,
           "analyst": Disclosure.INTERNAL, "admin": Disclosure.INTERNAL}
LEVEL = {"public": "public", "enterprise": "enterprise", "inspector": "inspector", "analyst": "internal",
         "admin": "internal"}
#: E1's fields by the lowest role that may read them (public < enterprise < inspector < analyst)
E1_FIELDS = {"name": "public", "riskColour": "public", "employees": "enterprise", "description": "enterprise",
             "tags": "inspector", "usccQuality": "inspector", "hazardousProcesses": "inspector",
             "sourceSystems": "analyst"}
ORDER = ["public", "enterprise", "inspector", "analyst", "admin"]
#: one entity of every kind, and who may issue its code (all in 石家庄 but the rescue team, in 曹妃甸)
KINDS = [("Enterprise", E1), ("RiskPoint", "RP1"), ("NaturalDisasterRiskPoint", "NDP1"), ("RescueTeam", "RT1"),
         ("Supply", "SU1"), ("Shelter", "SH1")]

APP: Any = None


def configure_app(app) -> None:
    """Keep the app to reach its QR service in-process; limits high enough for the other tests."""
    global APP
    APP = app
    app.state.qr_settings = QrSettings(scan_burst=100_000, scan_per_minute=100_000.0, report_burst=100_000,
                                       report_per_hour=1e9)


def qr_service(api):
    if getattr(APP.state, "qr", None) is None:
        assert api.get(None, "/qr/keys").status_code == 200
    return APP.state.qr


def store():
    return APP.state.services.store


# ---------------------------------------------------------------------- helpers
def decode_png(data: bytes) -> tuple[str, dict]:
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(data)), formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1, found
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
    return found[0].text, found[0].extra


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def follow(api, url: str, role: str | None = None, **kwargs) -> httpx.Response:
    """GET the URL a code holds, as `role` (its Bearer token when logged in)."""
    user = ROLE_USER.get(role, role) if role else None
    headers = {"Authorization": f"Bearer {api.token(user)}"} if user else {}
    headers.update(kwargs.pop("headers", {}))
    return httpx.get(url, headers=headers, timeout=30.0, **kwargs)


def issue(api, label: str, key: str, role: str = "admin", **params) -> dict:
    r = api.get(role, f"/qr/{label}/{key}.json", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def scan(api, token: str, role: str | None = None, **kwargs) -> httpx.Response:
    return api.get(role, f"/q/{token}", **kwargs)


def assert_refused(response: httpx.Response, status: int, code: str) -> None:
    """The one error shape, the reason as its code, and nothing of the dossier."""
    err = assert_error(response, status, code)
    assert err["details"] is None
    text = response.text
    for leak in ("石家庄冀中化工", "employees", "dossier", "riskColour"):
        assert leak not in text, (leak, text)


def tampered(token: str, position: int) -> str:
    raw = bytearray(b32decode(token))
    raw[position] ^= 0x01
    return b32encode(bytes(raw))


# ---------------------------------------------------------------------- scan a placard, per role
@pytest.mark.parametrize("role", ROLES)
def test_placard_png_decodes_and_resolves_per_role(api, role):
    r = api.get("inspector", f"/qr/Enterprise/{E1}.png")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    url, extra = decode_png(r.content)
    assert extra["ECLevel"] == "M" and int(extra["Version"]) <= 10
    assert url.startswith(api.base_url.upper() + "/Q/")
    parse(token_of(url))  # a well-formed token (raises if not)
    response = follow(api, url, role)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["code"]["label"] == "Enterprise" and body["code"]["key"] == E1
    assert body["code"]["tokenId"] == r.headers["x-qr-token-id"]
    assert body["code"]["stale"] is (None if role == "public" else False)  # only the enterprise and bureau are told
    assert body["level"] == LEVEL[role]
    props = body["dossier"]["properties"]
    for field, lowest in E1_FIELDS.items():
        visible = ORDER.index(role) >= ORDER.index(lowest)
        assert (field in props) is visible, (role, field, props)
    for node in nodes_in(body["dossier"]):
        for name in node["properties"]:
            assert ONTO.disclosure_of(node["label"], name) <= CEILING[role], (role, node["label"], name)
            assert not name.endswith(TOKENS_SUFFIX) and not name.startswith("_")
            assert not (name.endswith(TIME_SUFFIX) and name[:-2] in node["properties"])


def test_lowercase_path_and_token_resolve_too(api):
    code = issue(api, "Enterprise", E1)
    assert scan(api, code["token"].lower()).status_code == 200
    assert api.get(None, f"/Q/{code['token']}").status_code == 200


def test_enterprise_reads_other_enterprises_code_at_public(api):
    code = issue(api, "Enterprise", E2)
    body = scan(api, code["token"], "enterprise").json()  # ent.e1 scans E2's placard
    assert body["level"] == "public"
    assert "employees" not in body["dossier"]["properties"]


@pytest.mark.parametrize("label,key", KINDS)
def test_every_kind_has_codes_that_resolve(api, label, key):
    r = api.get("admin", f"/qr/{label}/{key}.png")
    assert r.status_code == 200, r.text
    url, extra = decode_png(r.content)
    assert int(extra["Version"]) <= 10
    anonymous = follow(api, url)
    assert anonymous.status_code == 200, anonymous.text
    body = anonymous.json()
    assert body["dossier"]["label"] == label and body["dossier"]["key"] == key
    assert body["level"] == "public"
    for node in nodes_in(body["dossier"]):
        for name in node["properties"]:
            assert ONTO.disclosure_of(node["label"], name) == Disclosure.PUBLIC, (node["label"], name)
    admin = follow(api, url, "admin").json()
    assert admin["level"] == "internal"


def test_svg_placard_carries_name_and_key(api):
    r = api.get("admin", "/qr/Shelter/SH1.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert "长安公园避难场所" in r.text and "SH1" in r.text and "<path" in r.text


def test_html_variant(api):
    code = issue(api, "Enterprise", E1)
    r = scan(api, code["token"], headers={"Accept": "text/html,application/xhtml+xml"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "石家庄冀中化工有限公司" in r.text and "viewport" in r.text
    assert "420" not in r.text  # employees: not public
    assert scan(api, code["token"], params={"format": "json"}, headers={"Accept": "text/html"}).json()["code"]


def test_summary_code_resolves_and_decrypts(api):
    code = issue(api, "Enterprise", E1, summary="true", new="true")
    assert code["encryptedSummary"] is True and int(code["qrVersion"].split("-")[0]) <= 10
    body = scan(api, code["token"]).json()
    assert body["code"]["encryptedSummary"] is True
    summary = qr_service(api).open_summary(code["token"])
    assert summary.name == "石家庄冀中化工有限公司" and summary.colour == "RED" and summary.level == "L2"
    assert summary.region == "130102"


# ---------------------------------------------------------------------- who may issue
@pytest.mark.parametrize("user,status", [(None, 401), ("ent.e1", 403), ("analyst1", 403), ("insp.ts", 403),
                                         ("insp.sjz", 200), ("admin1", 200)])
def test_who_may_issue(api, user, status):
    r = api.get(user, f"/qr/Enterprise/{E1}.png")
    if status == 200:
        assert r.status_code == 200
    else:
        assert_error(r, status, "unauthorized" if status == 401 else "forbidden")


def test_issue_reuses_current_code_until_new_is_asked(api):
    a = issue(api, "Shelter", "SH1")
    b = issue(api, "Shelter", "SH1")
    assert a["tokenId"] == b["tokenId"] and b["reused"] is True
    c = issue(api, "Shelter", "SH1", new="true")
    assert c["tokenId"] != a["tokenId"]


def test_unknown_label_or_entity(api):
    assert_error(api.get("admin", "/qr/Licence/L1.png"), 404, "not_found")
    assert_error(api.get("admin", "/qr/Enterprise/91999999MA0NOPE00X.png"), 404, "not_found")


# ---------------------------------------------------------------------- refused codes
def test_tampered_code_is_refused(api):
    token = issue(api, "Enterprise", E1)["token"]
    for position in (12, 20, len(b32decode(token)) - 1):  # fingerprint, id, signature
        assert_refused(scan(api, tampered(token, position)), 403, "token_invalid_signature")


def test_code_signed_with_a_foreign_key_is_refused(api, tmp_path):
    qr = qr_service(api)
    good = parse(issue(api, "Enterprise", E1)["token"]).claims
    foreign = Keyring(tmp_path / "foreign.json")
    while foreign.signer()[0] < good.kid:  # the service's key may have been rotated (by the rotation test, run first)
        foreign.rotate()
    kid, signer = foreign.signer()
    assert kid == good.kid  # same key id, different key
    forged, _ = encode(Claims(good.label, good.key, good.issued_at, good.expires_at, kid, good.fingerprint), signer)
    assert_refused(scan(api, forged), 403, "token_invalid_signature")
    unknown, _ = encode(Claims(good.label, good.key, good.issued_at, good.expires_at, 200, good.fingerprint), signer)
    assert_refused(scan(api, unknown), 403, "unknown_key")
    assert qr.keyring.verifier(good.kid)  # the service's own key is untouched


@pytest.mark.parametrize("token", ["NOTATOKEN1", "AAAA", "A" * 150, "AB-CD", "ZZZZZZZZZZZZZZZZZZZZ"])
def test_malformed_code_is_refused(api, token):
    assert_refused(scan(api, token), 400, "token_malformed")


def test_expired_code_is_refused(api):
    qr = qr_service(api)
    past = qr.issue("Enterprise", E1, now=1_700_000_000, days=1, issued_by="test")
    assert_refused(scan(api, past.token), 410, "token_expired")
    assert_refused(scan(api, past.token, "admin"), 410, "token_expired")


def test_revoked_code_is_refused_and_a_new_one_works(api):
    code = issue(api, "Enterprise", E3, new="true")
    assert scan(api, code["token"]).status_code == 200
    assert_error(api.post(None, "/qr/revocations", json={"tokenId": code["tokenId"]}), 401)
    assert_error(api.post("ent.e1", "/qr/revocations", json={"tokenId": code["tokenId"]}), 403)
    assert_error(api.post("insp.ts", "/qr/revocations", json={"tokenId": code["tokenId"]}), 403)  # E3 is not in 曹妃甸
    r = api.post("insp.sjz", "/qr/revocations", json={"tokenId": code["tokenId"], "reason": "placard stolen"})
    assert r.status_code == 200 and r.json()["revoked"] is True
    refused = scan(api, code["token"])
    assert_refused(refused, 410, "token_revoked")
    assert "placard stolen" in refused.json()["error"]["message"]
    fresh = issue(api, "Enterprise", E3)
    assert fresh["tokenId"] != code["tokenId"]  # the revoked code is not handed out again
    assert scan(api, fresh["token"]).status_code == 200


def test_revoking_an_entity_revokes_its_codes_so_far(api):
    one = issue(api, "RiskPoint", "RP1", new="true")
    two = issue(api, "RiskPoint", "RP1", new="true")
    r = api.post("admin", "/qr/revocations", json={"label": "RiskPoint", "key": "RP1", "reason": "re-survey"})
    assert r.status_code == 200, r.text
    for code in (one, two):
        assert_refused(scan(api, code["token"]), 410, "token_revoked")
    after = issue(api, "RiskPoint", "RP1")
    assert after["tokenId"] not in (one["tokenId"], two["tokenId"])
    assert scan(api, after["token"]).status_code == 200
    listed = api.get("admin", "/qr/revocations").json()
    assert any(e["key"] == "RP1" for e in listed["entities"])
    assert_error(api.get("inspector", "/qr/revocations"), 403)


# ---------------------------------------------------------------------- stale codes
def test_a_new_colour_leaves_the_placard_valid_and_the_scan_live(api):
    code = issue(api, "Enterprise", E3, new="true")
    store().upsert_nodes("Enterprise", [{"uscc": E3, "riskColour": "RED"}])
    try:
        for role in (None, "inspector", "admin"):
            body = scan(api, code["token"], role).json()
            assert body["dossier"]["properties"]["riskColour"] == "RED"  # live, whoever scans
            assert body["code"]["stale"] is (None if role is None else False) and body["code"]["reissued"] is None
        page = scan(api, code["token"], headers={"Accept": "text/html"}).text
        assert "过时" not in page and "更换新码" not in page
        assert api.post("admin", "/qr/reissue").json()["reissued"] == []
    finally:
        store().upsert_nodes("Enterprise", [{"uscc": E3, "riskColour": "BLUE"}])


def test_a_new_name_asks_the_enterprise_and_bureau_only_for_a_new_placard(api):
    code = issue(api, "Enterprise", E3, new="true")
    old_name = store().get_node("Enterprise", E3)["name"]
    store().upsert_nodes("Enterprise", [{"uscc": E3, "name": "石家庄长安矿业集团有限公司"}])
    try:
        public = scan(api, code["token"]).json()
        assert public["code"]["stale"] is None and public["code"]["reissued"] is None
        assert "更换新码" not in scan(api, code["token"], headers={"Accept": "text/html"}).text
        told = scan(api, code["token"], "inspector").json()  # insp.sjz: 石家庄 covers E3
        assert told["code"]["stale"] is True
        newer = told["code"]["reissued"]
        assert newer and newer["tokenId"] != code["tokenId"]
        again = scan(api, code["token"], "admin").json()["code"]["reissued"]
        assert again["tokenId"] == newer["tokenId"]  # one re-issue per change, not per scan
        assert scan(api, newer["token"], "admin").json()["code"]["stale"] is False
        # the enterprise and its bureau are reminded once, whoever scanned
        reminders = store().read("MATCH (r:Reminder)-[:REMINDS_ABOUT]->(:Enterprise {uscc: $e}) "
                                 "RETURN r.reminderKind AS kind, r.recipients AS to", {"e": E3})
        assert reminders == [{"kind": "placard_outdated", "to": [f"enterprise:{E3}", "bureau:130102"]}]
        done = api.post("admin", "/qr/reissue").json()["reissued"]
        assert all(d["key"] != E3 for d in done)  # its newest code is current
    finally:
        store().upsert_nodes("Enterprise", [{"uscc": E3, "name": old_name}])


def test_reissue_for_every_changed_entity(api):
    code = issue(api, "NaturalDisasterRiskPoint", "NDP1", new="true")
    assert_error(api.post("inspector", "/qr/reissue"), 403)
    store().upsert_nodes("NaturalDisasterRiskPoint", [{"id": "NDP1", "name": "西山滑坡隐患点（扩大）"}])
    try:
        done = api.post("admin", "/qr/reissue").json()["reissued"]
        mine = [d for d in done if d["key"] == "NDP1"]
        assert len(mine) == 1 and mine[0]["previousTokenId"] == code["tokenId"]
        assert scan(api, mine[0]["token"], "admin").json()["code"]["stale"] is False
        assert scan(api, code["token"], "admin").json()["code"]["stale"] is True
        assert api.post("admin", "/qr/reissue").json()["reissued"] == []  # nothing changed since
    finally:
        store().upsert_nodes("NaturalDisasterRiskPoint", [{"id": "NDP1", "name": "西山滑坡隐患点"}])


def test_a_major_hazard_level_change_leaves_a_plain_code_valid(api):
    code = issue(api, "Enterprise", E2, new="true")
    store().upsert_nodes("HazardSource", [{"id": "HS2", "majorHazardLevel": "L1"}])
    try:
        assert scan(api, code["token"], "admin").json()["code"]["stale"] is False
        summed = issue(api, "Enterprise", E2, new="true", summary="true")
        store().upsert_nodes("HazardSource", [{"id": "HS2", "majorHazardLevel": "L2"}])
        assert scan(api, summed["token"], "admin").json()["code"]["stale"] is True  # the summary carries the level
    finally:
        store().upsert_nodes("HazardSource", [{"id": "HS2", "majorHazardLevel": "L3"}])


# ---------------------------------------------------------------------- actions through a code
def count(cypher: str, **params) -> int:
    return int(store().read(cypher, params)[0]["c"])


@pytest.mark.parametrize("user,status", [(None, 401), ("ent.e1", 201), ("ent.e2", 403), ("insp.sjz", 403),
                                         ("analyst1", 403), ("admin1", 403)])
def test_hidden_danger_only_by_the_enterprise_itself(api, user, status):
    token = issue(api, "Enterprise", E1)["token"]
    before = count("MATCH (h:HiddenDanger) RETURN count(h) AS c")
    r = api.post(user, f"/q/{token}/hidden-dangers", json={"name": "配电室门未关闭", "grade": "一般隐患",
                                                           "hazardFactors": ["4"], "deadline": "2031-01-01"})
    if status != 201:
        assert_error(r, status)
        assert count("MATCH (h:HiddenDanger) RETURN count(h) AS c") == before
        return
    assert r.status_code == 201, r.text
    created = r.json()
    key = created["key"]
    # the enterprise sees on its own report how it was found
    assert created["properties"]["state"] == "REPORTED" and created["properties"]["reportSource"] == "企业自查"
    rows = store().read("MATCH (e:Enterprise)-[:HAS_HIDDEN_DANGER]->(h:HiddenDanger {id: $id}) "
                        "RETURN e.uscc AS e, h.state AS state, h.grade AS grade, h.reportSource AS src, "
                        "h.foundOn AS found, h.deadline AS deadline", {"id": key})
    assert rows == [{"e": E1, "state": "REPORTED", "grade": "GENERAL", "src": "企业自查", "found": rows[0]["found"],
                     "deadline": "2031-01-01"}]
    assert rows[0]["found"]


def test_hidden_danger_through_a_risk_point_code_links_both(api):
    token = issue(api, "RiskPoint", "RP1")["token"]
    r = api.post("ent.e1", f"/q/{token}/hidden-dangers", json={"name": "液氯储罐区围堰破损", "grade": "MAJOR"})
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    assert count("MATCH (:Enterprise {uscc: $e})-[:HAS_HIDDEN_DANGER]->(h:HiddenDanger {id: $id})"
                 "-[:AT_RISK_POINT]->(:RiskPoint {id: 'RP1'}) RETURN count(h) AS c", e=E1, id=key) == 1


def test_hidden_danger_validation(api):
    token = issue(api, "Enterprise", E1)["token"]
    assert_error(api.post("ent.e1", f"/q/{token}/hidden-dangers", json={"name": "x" * 5, "grade": "SEVERE"}),
                 422, "validation_error")
    assert_error(api.post("ent.e1", f"/q/{token}/hidden-dangers", json={"name": "ok name", "colour": "RED"}),
                 422, "validation_error")
    shelter = issue(api, "Shelter", "SH1")["token"]
    assert_error(api.post("ent.e1", f"/q/{shelter}/hidden-dangers", json={"name": "门坏了"}), 422)


def test_actions_refuse_bad_codes_without_writing(api):
    token = issue(api, "Enterprise", E1)["token"]
    before = count("MATCH (n) WHERE n:HiddenDanger OR n:PublicReport OR n:Inspection RETURN count(n) AS c")
    assert_refused(api.post("ent.e1", f"/q/{tampered(token, 20)}/hidden-dangers", json={"name": "门坏了"}),
                   403, "token_invalid_signature")
    assert_refused(api.post(None, f"/q/{tampered(token, 20)}/reports", json={"text": "有人在仓库附近吸烟"}),
                   403, "token_invalid_signature")
    assert_refused(api.post("insp.sjz", f"/q/{tampered(token, 20)}/inspections", json={}),
                   403, "token_invalid_signature")
    assert count("MATCH (n) WHERE n:HiddenDanger OR n:PublicReport OR n:Inspection RETURN count(n) AS c") == before


@pytest.mark.parametrize("role", ROLES)
def test_anyone_may_report(api, role):
    token = issue(api, "Enterprise", E1)["token"]
    r = api.post(role, f"/q/{token}/reports", json={"text": "厂区夜间有刺鼻气味", "contact": "13912345678"})
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    rows = store().read("MATCH (p:PublicReport {id: $id})-[:CONCERNS]->(e:Enterprise) "
                        "RETURN e.uscc AS e, p.reviewState AS state, p.contact AS contact, p.text AS text, "
                        "p.regionCode AS region", {"id": key})
    assert rows == [{"e": E1, "state": "pending", "contact": "139****5678", "text": "厂区夜间有刺鼻气味",
                     "region": "130102"}]
    shown = r.json()["properties"]
    assert "contact" not in shown or role in ("analyst", "admin")
    assert ("text" in shown) is (role in ("inspector", "analyst", "admin"))


def test_report_about_a_supply_concerns_its_warehouse(api):
    token = issue(api, "Supply", "SU1")["token"]
    r = api.post(None, f"/q/{token}/reports", json={"text": "防化服过期未更换"})
    assert r.status_code == 201, r.text
    assert count("MATCH (p:PublicReport {id: $id})-[:CONCERNS]->(:Warehouse {id: 'W1'}) RETURN count(p) AS c",
                 id=r.json()["key"]) == 1


@pytest.mark.parametrize("user,status", [(None, 401), ("ent.e1", 403), ("insp.ts", 403), ("insp.sjz", 201),
                                         ("analyst1", 403), ("admin1", 403)])
def test_inspection_only_by_an_inspector_of_the_region(api, user, status):
    token = issue(api, "Enterprise", E1)["token"]
    before = count("MATCH (:Enterprise {uscc: $e})-[:HAS_INSPECTION]->(i) RETURN count(i) AS c", e=E1)
    r = api.post(user, f"/q/{token}/inspections", json={"inspectionType": "专项检查", "findings": 1,
                                                        "conclusion": "责令限期整改"})
    after = count("MATCH (:Enterprise {uscc: $e})-[:HAS_INSPECTION]->(i) RETURN count(i) AS c", e=E1)
    if status != 201:
        assert_error(r, status)
        assert after == before
        return
    assert r.status_code == 201, r.text
    assert after == before + 1
    rows = store().read("MATCH (:Enterprise {uscc: $e})-[:HAS_INSPECTION]->(i:Inspection {id: $id}) "
                        "RETURN i.inspectionType AS t, i.inspectors AS who, i.findings AS n", {"e": E1, "id": r.json()["key"]})
    assert rows == [{"t": "SPECIAL", "who": "insp.sjz", "n": 1}]


def test_denied_actions_are_audited(api):
    token = issue(api, "Enterprise", E1)["token"]
    api.post("ent.e2", f"/q/{token}/hidden-dangers", json={"name": "门坏了"})
    entries = api.get("admin", "/admin/audit", params={"action": "qr_hidden_danger", "result": "denied"}).json()["items"]
    assert any(e["username"] == "ent.e2" and e["subject"] == f"Enterprise/{E1}" for e in entries)


# ---------------------------------------------------------------------- audit and rate limit
def test_scans_are_audited_with_role_and_result(api):
    good = issue(api, "Shelter", "SH1")["token"]
    scan(api, good, "inspector")
    scan(api, tampered(good, 20))
    items = api.get("admin", "/admin/audit", params={"action": "qr_scan", "size": 50}).json()["items"]
    ok = next(e for e in items if e["result"] == "ok" and e["username"] == "insp.sjz")
    assert ok["role"] == "inspector" and ok["subject"] == "Shelter/SH1" and ok["status"] == 200
    assert ok["details"]["tokenId"] == parse(good).token_id and ok["client"] == "127.0.0.1"
    forged = next(e for e in items if e["result"] == "token_invalid_signature")
    assert forged["role"] == "public" and forged["subject"] is None and forged["details"]["claimed"] == "Shelter/SH1"


def test_anonymous_scans_are_rate_limited(api):
    qr = qr_service(api)
    token = issue(api, "Shelter", "SH1")["token"]
    saved = qr.scan_limiter
    qr.scan_limiter = TokenBucket(3, 0.01)
    try:
        for _ in range(3):
            assert scan(api, token).status_code == 200
        limited = scan(api, token)
        err = assert_error(limited, 429, "too_many_requests")
        assert int(limited.headers["retry-after"]) >= 1 and err["details"]["retryAfter"] >= 1
        assert "长安公园" not in limited.text
        assert_error(scan(api, "garbage"), 429)  # checked before the code is even read
        assert scan(api, token, "inspector").status_code == 200  # accounts are not limited
    finally:
        qr.scan_limiter = saved


def test_anonymous_reports_are_rate_limited(api):
    qr = qr_service(api)
    token = issue(api, "Shelter", "SH1")["token"]
    saved = qr.report_limiter
    qr.report_limiter = TokenBucket(1, 0.001)
    try:
        assert api.post(None, f"/q/{token}/reports", json={"text": "避难场所大门上锁"}).status_code == 201
        assert_error(api.post(None, f"/q/{token}/reports", json={"text": "避难场所大门上锁"}), 429, "too_many_requests")
        assert api.post("enterprise", f"/q/{token}/reports", json={"text": "避难场所大门上锁"}).status_code == 201
    finally:
        qr.report_limiter = saved


# ---------------------------------------------------------------------- batch exports
def test_region_zip_has_a_decodable_png_and_an_svg_per_entity(api):
    assert_error(api.get(None, "/qr/regions/130100.zip"), 401)
    assert_error(api.get("enterprise", "/qr/regions/130100.zip"), 403)
    assert_error(api.get("insp.ts", "/qr/regions/130100.zip"), 403)  # not its region
    r = api.get("insp.sjz", "/qr/regions/130100.zip")
    assert r.status_code == 200, r.text
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    rows = list(csv.DictReader(io.StringIO(zf.read("index.csv").decode("utf-8-sig"))))
    expected = {("Enterprise", E1), ("Enterprise", E3), ("RiskPoint", "RP1"), ("NaturalDisasterRiskPoint", "NDP1"),
                ("Supply", "SU1"), ("Shelter", "SH1")}
    assert {(row["label"], row["key"]) for row in rows} == expected
    names = set(zf.namelist())
    assert names == {"index.csv"} | {f"{lb}/{k}.{ext}" for lb, k in expected for ext in ("png", "svg")}
    for row in rows:
        url, extra = decode_png(zf.read(row["png"]))
        assert url == row["url"] and int(extra["Version"]) <= 10 and extra["ECLevel"] == "M"
        body = follow(api, url).json()
        assert (body["code"]["label"], body["code"]["key"]) == (row["label"], row["key"])
        assert body["code"]["tokenId"] == row["tokenId"]
        assert row["name"] in zf.read(row["svg"]).decode("utf-8")
    assert r.headers["x-qr-count"] == str(len(expected))


def test_region_pdf_sheet(api):
    r = api.get("admin", "/qr/regions/130000.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    n = int(r.headers["x-qr-count"])
    assert n == 9  # the province: 3 enterprises, 2 risk points, a disaster point, a team, a supply, a shelter
    pages = r.content.count(b"/Type /Page\n") + r.content.count(b"/Type /Page ") + r.content.count(b"/Type /Page>")
    assert pages == math.ceil(n / 6)


# ---------------------------------------------------------------------- keys
def test_public_keys_verify_codes_offline(api):
    code = issue(api, "Enterprise", E1)
    keys = api.get(None, "/qr/keys").json()["keys"]
    parsed = parse(code["token"])
    jwk = next(k for k in keys if k["kid"] == parsed.claims.kid)
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and "d" not in jwk and "secret" not in jwk
    public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4)))
    assert parsed.verify(public) == parsed.claims


def test_z_key_rotation_keeps_old_codes_until_the_old_key_is_retired(api):
    """Last in the module: it changes the running service's keyring for good."""
    qr = qr_service(api)
    old = issue(api, "Enterprise", E1, new="true")
    ring = Keyring(qr.keyring.path)  # what `riskgraph qr-rotate-key` does, in another process
    new_kid = ring.rotate()
    assert scan(api, old["token"]).status_code == 200  # still verifies
    fresh = issue(api, "Enterprise", E1)  # the old code is not reused: it is not signed by the active key
    assert fresh["keyId"] == new_kid and fresh["tokenId"] != old["tokenId"]
    assert scan(api, fresh["token"]).status_code == 200
    ring.retire(old["keyId"])
    assert_refused(scan(api, old["token"]), 403, "unknown_key")
    assert scan(api, fresh["token"]).status_code == 200
    statuses = {k["kid"]: k["status"] for k in api.get(None, "/qr/keys").json()["keys"]}
    assert statuses[old["keyId"]] == "retired" and statuses[new_kid] == "active"
