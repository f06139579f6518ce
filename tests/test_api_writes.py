"""Writes through the running service leave provenance like the loaders do: a SourceRecord naming who
wrote, when, through which endpoint and request, and a ChangeEvent per fact — read back from the
store, from the audit log and, for an analyst, through the API itself."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from api_support import E1, assert_error

APP: Any = None


def configure_app(app) -> None:
    global APP
    APP = app


def store():
    return APP.state.services.store


def issue(api, label: str, key: str) -> str:
    r = api.get("admin", f"/qr/{label}/{key}.json")
    assert r.status_code == 200, r.text
    return r.json()["token"]


def provenance(label: str, key: str) -> dict[str, Any]:
    rows = store().read(f"MATCH (n:{label} {{id: $key}})-[:DERIVED_FROM]->(s:SourceRecord) RETURN properties(s) AS s",
                        {"key": key})
    assert len(rows) == 1, rows
    return rows[0]["s"]


def changes(key: str) -> dict[str, str]:
    rows = store().read("MATCH (c:ChangeEvent {entityKey: $key})-[:DERIVED_FROM]->(s:SourceRecord) "
                        "RETURN c.property AS p, c.newValue AS v", {"key": key})
    return {r["p"]: json.loads(r["v"]) for r in rows}


def test_a_hidden_danger_filed_through_a_code_names_who_when_and_where(api):
    token = issue(api, "RiskPoint", "RP1")
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    r = api.post("ent.e1", f"/q/{token}/hidden-dangers", json={"name": "液氯储罐区围堰破损", "grade": "重大隐患"})
    after = dt.datetime.now(dt.UTC)
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    record = provenance("HiddenDanger", key)
    assert (record["actor"], record["actorRole"], record["sourceSystem"]) == ("ent.e1", "enterprise", "api")
    assert record["endpoint"] == "POST /q/{token}/hidden-dangers"  # the route, not the code's token
    assert token not in json.dumps(record)
    assert before <= dt.datetime.fromisoformat(record["loadedAt"]) <= after
    assert json.loads(record["rawValues"]) == {"name": "液氯储罐区围堰破损", "grade": "重大隐患", "description": None,
                                               "hazardFactors": [], "deadline": None, "responsible": None, "photos": []}
    assert changes(key) == {"name": "液氯储罐区围堰破损", "grade": "MAJOR", "state": "REPORTED",
                            "foundOn": record["loadedAt"][:10], "regionCode": "130102", "reportSource": "企业自查",
                            "handledBy": "ent.e1", "stateChangedAt": record["loadedAt"],
                            "revision": 1}  # the loop's compare-and-set counter starts at 1
    # the audit entry of the same request names the record
    audit = api.get("admin", "/admin/audit", params={"action": "qr_hidden_danger", "subject": f"HiddenDanger/{key}"}).json()
    [entry] = audit["items"]
    assert entry["details"]["record"] == f"api:{record['requestId']}:HiddenDanger:{key}"
    # analysts read the provenance through the API; the enterprise that filed it does not
    sub = api.get("analyst", f"/nodes/HiddenDanger/{key}/subgraph").json()
    shown = next(n for n in sub["nodes"] if n["label"] == "SourceRecord")
    assert shown["properties"]["actor"] == "ent.e1" and shown["properties"]["endpoint"] == record["endpoint"]
    own = api.get("ent.e1", f"/nodes/HiddenDanger/{key}/subgraph").json()
    assert all(n["label"] not in ("SourceRecord", "ChangeEvent") for n in own["nodes"])


def test_an_anonymous_report_is_recorded_as_the_public_with_the_contact_masked(api):
    token = issue(api, "Enterprise", E1)
    r = api.post(None, f"/q/{token}/reports", json={"text": "厂区夜间有刺鼻气味", "contact": "13912345678"})
    assert r.status_code == 201, r.text
    record = provenance("PublicReport", r.json()["key"])
    assert record.get("actor") is None and record["actorRole"] == "public"
    assert record["endpoint"] == "POST /q/{token}/reports"
    assert "13912345678" not in json.dumps(record, ensure_ascii=False)
    assert json.loads(record["rawValues"])["contact"] == "139****5678"


def test_an_inspection_names_the_inspector_and_each_request_has_its_own_record(api):
    token = issue(api, "Enterprise", E1)
    keys = []
    for _ in range(2):
        r = api.post("insp.sjz", f"/q/{token}/inspections", json={"inspectionType": "日常检查"})
        assert r.status_code == 201, r.text
        keys.append(r.json()["key"])
    records = [provenance("Inspection", k) for k in keys]
    assert [(rec["actor"], rec["actorRole"]) for rec in records] == [("insp.sjz", "inspector")] * 2
    assert records[0]["requestId"] != records[1]["requestId"]
    assert changes(keys[0])["inspectionType"] == "ROUTINE"


def test_a_write_the_ontology_refuses_is_a_422_and_leaves_no_record(api):
    token = issue(api, "Enterprise", E1)
    count = "MATCH (s:SourceRecord {sourceSystem: 'api'}) RETURN count(s) AS c"
    before = store().read(count)[0]["c"]
    err = assert_error(api.post("ent.e1", f"/q/{token}/hidden-dangers",
                                json={"name": "门坏了", "hazardFactors": ["not-a-factor"]}), 422, "validation_error")
    assert err["details"][0]["field"] == "hazardFactors" and err["details"][0]["type"] == "not_in_vocabulary"
    assert store().read(count)[0]["c"] == before
