"""Enterprise self-service through the real service (uvicorn over HTTP, the embedded store): every step
of the hidden-danger loop and who may take it, daily 排查 tasks, risk analysis with versions,
inspections whose findings join the loop, photos with their location kept from non-bureau eyes.

Accounts (tests/api_support.py): ent.e1 owns E1 (石家庄, 130102), insp.sjz covers 石家庄, insp.ts
covers 曹妃甸 only (outside E1's region), analyst1 reads everything and writes nothing here.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import os
import re
import uuid
from typing import Any

import pytest
from api_support import E1, assert_error, nodes_in
from PIL import Image

from riskgraph.graph.values import LOCAL_TZ
from riskgraph.reasoning.graph_facts import Windows, enterprise_batch
from riskgraph.reasoning.models.config import load_config
from riskgraph.reasoning.models.enterprise_rating import rate_enterprise
from riskgraph.workflows.origin import CLI, Origin
from riskgraph.workflows.photos import GPS_IFD, PhotoSettings
from riskgraph.workflows.tasks import Tasks

APP: Any = None
MAX_PHOTO = 300_000


def today() -> dt.date:
    """The service's day, read when a test runs: a module imported before midnight in Beijing runs after it."""
    return dt.datetime.now(LOCAL_TZ).date()


def configure_app(app) -> None:
    global APP
    APP = app
    app.state.photo_settings = PhotoSettings(max_bytes=MAX_PHOTO)


def store():
    return APP.state.services.store


def photo(*, gps: bool = True, size: tuple[int, int] = (64, 48), fmt: str = "JPEG", noise: bool = False) -> bytes:
    """A small image, different every time; with an EXIF GPS position when `gps` (as a phone camera writes it)."""
    img = (Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)) if noise
           else Image.new("RGB", size, (180, 40, 40)))
    exif = Image.Exif()
    exif[0x010F] = "RiskGraphTestCam"
    exif[0x010E] = uuid.uuid4().hex  # ImageDescription: one photo, one hash
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (38.0, 3.0, 0.0), 3: "E", 4: (114.0, 33.0, 0.0)}
    buf = io.BytesIO()
    img.save(buf, fmt, exif=exif)
    return buf.getvalue()


def data_url(data: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()


def has_gps(data: bytes) -> bool:
    img = Image.open(io.BytesIO(data))
    return bool(img.getexif().get_ifd(GPS_IFD))


def code(api, label: str = "Enterprise", key: str = E1) -> str:
    r = api.get("admin", f"/qr/{label}/{key}.json")
    assert r.status_code == 200, r.text
    return r.json()["token"]


def report(api, grade: str = "GENERAL", name: str = "配电室门未关闭", **extra) -> str:
    r = api.post("ent.e1", f"/q/{code(api)}/hidden-dangers", json={"name": name, "grade": grade, **extra})
    assert r.status_code == 201, r.text
    return r.json()["key"]


def state(key: str) -> str:
    return store().get_node("HiddenDanger", key)["state"]


def go(api, user: str | None, key: str, step: str, body: dict | None = None, status: int = 200):
    r = api.post(user, f"/hidden-dangers/{key}/{step}", json=body if body is not None else {})
    if status != 200:
        assert_error(r, status)
        return r.json()["error"]
    assert r.status_code == 200, r.text
    return r.json()


def in_a_week() -> str:
    return (today() + dt.timedelta(days=7)).isoformat()


def assign() -> dict:
    return {"deadline": in_a_week(), "responsible": "张工", "note": "更换门锁"}


# ---------------------------------------------------------------------- the loop: a 一般隐患 all the way round
def test_general_danger_goes_round_the_loop_with_every_permission_checked(api):
    key = report(api)
    assert state(key) == "REPORTED"
    # assign: the enterprise or its bureau; nobody else
    for user, status in ((None, 401), ("ent.e2", 403), ("insp.ts", 403), ("analyst1", 403)):
        go(api, user, key, "assign", assign(), status)
        assert state(key) == "REPORTED"
    go(api, "ent.e1", key, "assign", {**assign(), "deadline": (today() - dt.timedelta(days=1)).isoformat()}, 422)
    out = go(api, "ent.e1", key, "assign", assign())
    assert out["state"] == "RECTIFYING" and out["previousState"] == "REPORTED"
    assert out["danger"]["properties"]["deadline"] == in_a_week()
    assert out["danger"]["properties"]["rectificationPerson"] == "张工"
    assert "submit" in out["allowed"] and "accept" not in out["allowed"]
    # accepting before anything was submitted is a wrong state
    go(api, "insp.sjz", key, "accept", {}, 409)
    # submit: the enterprise's own account only
    evidence = {"description": "已更换门锁并张贴警示标识", "cost": 350.5}
    for user, status in ((None, 401), ("insp.sjz", 403), ("ent.e2", 403), ("admin1", 403)):
        go(api, user, key, "rectification", evidence, status)
        assert state(key) == "RECTIFYING"
    out = go(api, "ent.e1", key, "rectification", evidence)
    assert out["state"] == "RECTIFIED" and out["previousState"] == "RECTIFYING"
    rect = out["rectification"]["properties"]
    assert rect["measure"] == evidence["description"] and rect["cost"] == 350.5 and rect["completedOn"] == today().isoformat()
    go(api, "ent.e1", key, "rectification", evidence, 409)  # already submitted
    # reject: the bureau in scope (not another region's inspector), with a reason
    go(api, "insp.ts", key, "reject", {"note": "照片不清"}, 403)
    go(api, "insp.sjz", key, "reject", {}, 422)
    out = go(api, "insp.sjz", key, "reject", {"note": "警示标识位置不对"})
    assert out["state"] == "RECTIFYING" and out["danger"]["properties"]["stateNote"] == "警示标识位置不对"
    assert out["rectification"]["properties"]["accepted"] is False
    # a second submission from RECTIFYING, then the enterprise accepts its own 一般隐患 and closes it
    go(api, "ent.e1", key, "rectification", {"description": "警示标识移至门口正上方", "cost": 80})
    go(api, "ent.e2", key, "accept", {}, 403)
    out = go(api, "ent.e1", key, "accept", {"note": "自行验收合格"})
    assert out["state"] == "VERIFIED" and out["rectification"]["properties"]["accepted"] is True
    assert out["allowed"] == ["close"]
    go(api, "insp.ts", key, "close", {}, 403)
    out = go(api, "ent.e1", key, "close", {"note": "销号"})
    assert out["state"] == "CLOSED" and out["allowed"] == []
    go(api, "ent.e1", key, "accept", {}, 409)

    # the history: every step, who took it, from which state to which, with the evidence
    h = api.get("ent.e1", f"/hidden-dangers/{key}/history")
    assert h.status_code == 200, h.text
    entries = h.json()["entries"]
    assert [e["step"] for e in entries] == ["report", "assign", "submit", "reject", "submit", "accept", "close"], entries
    assert [e["by"] for e in entries] == ["ent.e1", "ent.e1", "ent.e1", "insp.sjz", "ent.e1", "ent.e1", "ent.e1"]
    assert [e["toState"] for e in entries] == ["REPORTED", "RECTIFYING", "RECTIFIED", "RECTIFYING", "RECTIFIED",
                                               "VERIFIED", "CLOSED"]
    assert entries[3]["note"] == "警示标识位置不对" and entries[1]["values"]["rectificationPerson"] == "张工"
    assert entries[2]["evidence"]["cost"] == 350.5 and entries[4]["evidence"]["measure"] == "警示标识移至门口正上方"
    assert all(e["at"] for e in entries)
    assert api.get("insp.sjz", f"/hidden-dangers/{key}/history").status_code == 200
    for user, status in ((None, 401), ("ent.e2", 403), ("insp.ts", 403)):
        assert_error(api.get(user, f"/hidden-dangers/{key}/history"), status)

    # provenance: one SourceRecord per step, naming the route and the account; a ChangeEvent per state change
    records = store().read(
        "MATCH (h:HiddenDanger {id: $id})-[:DERIVED_FROM]->(s:SourceRecord) RETURN s.endpoint AS e, s.actor AS a "
        "ORDER BY s.loadedAtMs, s.id", {"id": key})
    # (steps a test takes within one second share a loadedAt: compare what was written, not its order)
    assert sorted(r["e"] for r in records) == sorted([
        "POST /q/{token}/hidden-dangers", "POST /hidden-dangers/{id}/assign", "POST /hidden-dangers/{id}/rectification",
        "POST /hidden-dangers/{id}/reject", "POST /hidden-dangers/{id}/rectification", "POST /hidden-dangers/{id}/accept",
        "POST /hidden-dangers/{id}/close"])
    assert {r["a"] for r in records} == {"ent.e1", "insp.sjz"}
    changes = store().read("MATCH (c:ChangeEvent {entityKey: $id, property: 'state'}) RETURN c.newValue AS v "
                           "ORDER BY c.changedAtMs", {"id": key})
    assert sorted(json.loads(r["v"]) for r in changes) == sorted(["REPORTED", "RECTIFYING", "RECTIFIED", "RECTIFYING",
                                                                   "RECTIFIED", "VERIFIED", "CLOSED"])
    audit = api.get("admin", "/admin/audit", params={"action": "danger_assign", "result": "denied"}).json()["items"]
    assert any(e["username"] == "insp.ts" and e["subject"] == f"HiddenDanger/{key}" for e in audit)


# ---------------------------------------------------------------------- 重大隐患 need the bureau
def test_a_major_danger_is_accepted_and_closed_by_its_bureau_only(api):
    key = report(api, grade="MAJOR", name="氯气管道法兰泄漏")
    # 立查立改: a rectification straight from REPORTED
    out = go(api, "ent.e1", key, "rectification", {"description": "更换法兰垫片并检测合格", "cost": 12000,
                                                   "photos": [data_url(photo())]})
    assert out["previousState"] == "REPORTED" and out["state"] == "RECTIFIED"
    err = go(api, "ent.e1", key, "accept", {"note": "我们自己验收"}, 403)  # the enterprise, on its own 重大隐患
    assert "major" in err["message"]
    go(api, "insp.ts", key, "accept", {}, 403)      # an inspector outside the region
    go(api, "analyst1", key, "accept", {}, 403)
    go(api, None, key, "accept", {}, 401)
    assert state(key) == "RECTIFIED"
    out = go(api, "insp.sjz", key, "accept", {"note": "现场复核合格"})
    assert out["state"] == "VERIFIED"
    go(api, "ent.e1", key, "close", {}, 403)
    assert go(api, "admin1", key, "close", {"note": "同意销号"})["state"] == "CLOSED"
    denied = api.get("admin", "/admin/audit", params={"action": "danger_accept", "result": "denied"}).json()["items"]
    assert {e["username"] for e in denied if e["subject"] == f"HiddenDanger/{key}"} >= {"ent.e1", "insp.ts", "analyst1"}


def test_a_loaded_danger_joins_the_loop_and_unknown_ones_are_404(api):
    # HD1 (loaded: MAJOR, RECTIFYING, overdue) can be submitted; HD3 belongs to E2
    go(api, "ent.e1", "HD3", "rectification", {"description": "补设警示标志"}, 403)
    go(api, "ent.e2", "HD3", "rectification", {"description": "补设警示标志"})
    go(api, "ent.e1", "HD-NOPE", "assign", assign(), 404)
    h = api.get("ent.e2", "/hidden-dangers/HD3/history").json()["entries"]
    assert [e["step"] for e in h] == ["import", "submit"] and h[0]["by"] is None


# ---------------------------------------------------------------------- photos
def test_photos_are_checked_and_lose_their_location_outside_the_bureau(api):
    with_gps = photo()
    r = api.post("ent.e1", "/photos", files={"file": ("a.jpg", with_gps, "image/jpeg")})
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert r.json()["locationRemovedForPublic"] is True and r.json()["mediaType"] == "image/jpeg"
    # kept outside the graph, under its content hash: the bytes in the data directory, the hash on the node
    assert pid == hashlib.sha256(with_gps).hexdigest()
    kept = APP.state.services.settings.data_dir / "photos" / pid[:2] / f"{pid}.jpg"
    assert kept.read_bytes() == with_gps and kept.stat().st_mode & 0o077 == 0
    # unlinked: the uploader only
    own = api.get("ent.e1", f"/photos/{pid}")
    assert own.status_code == 200 and has_gps(own.content)
    assert_error(api.get("ent.e2", f"/photos/{pid}"), 404)
    assert_error(api.get(None, f"/photos/{pid}"), 401)
    key = report(api, name="消防栓被遮挡", photos=[pid])
    assert store().get_node("HiddenDanger", key)["photos"] == [pid]
    mine = api.get("ent.e1", f"/photos/{pid}")
    assert mine.status_code == 200 and mine.headers["x-photo-location"] == "removed" and not has_gps(mine.content)
    assert Image.open(io.BytesIO(mine.content)).getexif().get(0x010F) == "RiskGraphTestCam"  # only the location goes
    bureau = api.get("insp.sjz", f"/photos/{pid}")
    assert bureau.status_code == 200 and has_gps(bureau.content) and bureau.content == with_gps
    assert_error(api.get("insp.ts", f"/photos/{pid}"), 404)  # outside its region: nothing said
    # refusals: too large, not an image, a type not accepted, anonymous
    big = photo(gps=False, size=(400, 400), fmt="PNG", noise=True)
    assert len(big) > MAX_PHOTO
    assert_error(api.post("ent.e1", "/photos", files={"file": ("b.png", big, "image/png")}), 413)
    assert_error(api.post("ent.e1", "/photos", files={"file": ("c.jpg", b"not an image at all", "image/jpeg")}), 422)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "GIF")
    assert_error(api.post("ent.e1", "/photos", files={"file": ("d.gif", buf.getvalue(), "image/gif")}), 415)
    assert_error(api.post(None, "/photos", files={"file": ("a.jpg", with_gps, "image/jpeg")}), 401)
    assert_error(api.post("ent.e1", f"/hidden-dangers/{key}/rectification",
                          json={"description": "修好了", "photos": ["0" * 64]}), 422)


# ---------------------------------------------------------------------- daily 排查 tasks
def origin() -> Origin:
    return Origin(actor=None, role="admin", channel=CLI, endpoint="riskgraph sweep")


def test_tasks_are_generated_listed_and_recorded(api):
    made = Tasks(store()).generate(origin(), E1, today())
    assert [w.key for w in made] == ["TK-CM1"]
    assert store().get_node("InspectionTask", "TK-CM1")["frequency"] == "DAILY"  # RP1 is 红 (reported)
    assert Tasks(store()).generate(origin(), E1, today()) == []  # once
    r = api.get("ent.e1", f"/enterprises/{E1}/tasks")
    assert r.status_code == 200, r.text
    body = r.json()
    task = next(t for t in body["tasks"] if t["task"] == "TK-CM1")
    assert task["status"] == "due" and task["id"] == f"TK-CM1@{today().isoformat()}"
    assert task["riskPoint"] == {"id": "RP1", "name": "液氯储罐区", "colour": "RED"}
    assert api.get("insp.sjz", f"/enterprises/{E1}/tasks").status_code == 200
    for user, status in ((None, 401), ("ent.e2", 403), ("insp.ts", 403)):
        assert_error(api.get(user, f"/enterprises/{E1}/tasks"), status)
    # only the enterprise records, only this period, only once
    assert_error(api.post("insp.sjz", f"/tasks/{task['id']}/record", json={"result": "passed"}), 403)
    yesterday = (today() - dt.timedelta(days=1)).isoformat()
    assert_error(api.post("ent.e1", f"/tasks/TK-CM1@{yesterday}/record", json={"result": "passed"}), 409)
    assert_error(api.post("ent.e1", f"/tasks/{task['id']}/record", json={"result": "maybe"}), 422)
    r = api.post("ent.e1", f"/tasks/{task['id']}/record", json={"result": "passed", "note": "报警仪正常"})
    assert r.status_code == 201, r.text
    assert r.json()["record"]["properties"]["checkResult"] == "PASSED" and r.json()["hiddenDanger"] is None
    assert_error(api.post("ent.e1", f"/tasks/{task['id']}/record", json={"result": "passed"}), 409)
    after = api.get("ent.e1", f"/enterprises/{E1}/tasks").json()
    done = next(t for t in after["tasks"] if t["task"] == "TK-CM1")
    assert done["status"] == "done" and done["record"]["conclusion"] == "报警仪正常"
    assert after["summary"]["done"] >= 1


def weekly_task() -> None:
    """TK-W1: a weekly check of CM1 (as a source system exports it), 40 days old — idempotent."""
    store().upsert_nodes("InspectionTask", [{"id": "TK-W1", "name": "检查储罐液位计", "frequency": "WEEKLY",
                                              "activeFrom": (today() - dt.timedelta(days=40)).isoformat()}])
    store().upsert_relationships("CHECKED_BY", [{"from": "CM1", "to": "TK-W1"}])


def test_a_check_that_finds_a_hidden_danger_files_it_into_the_loop(api):
    weekly_task()
    listed = api.get("ent.e1", f"/enterprises/{E1}/tasks").json()
    weekly = next(t for t in listed["tasks"] if t["task"] == "TK-W1")
    assert weekly["period"].startswith(str(today().isocalendar()[0])) and "-W" in weekly["period"]
    no_such_week = api.post("ent.e1", "/tasks/TK-W1@2026-W60/record", json={"result": "passed"},
                            headers={"Accept-Language": "zh-CN"})
    assert "'2026-W60' 不是每周检查的周期" in no_such_week.json()["error"]["message"], no_such_week.text
    assert no_such_week.status_code in (404, 422)
    # four or five weeks went by unchecked: lapsed in the 30-day window
    assert listed["summary"]["lapsed"] >= 4
    # ?date= lists the periods containing that day: two weeks ago TK-W1 was due and went by unchecked;
    # TK-CM1 (generated today) did not exist yet
    then = today() - dt.timedelta(days=14)
    past = api.get("ent.e1", f"/enterprises/{E1}/tasks", params={"date": then.isoformat()})
    assert past.status_code == 200, past.text
    old = {t["task"]: t for t in past.json()["tasks"]}
    assert old["TK-W1"]["status"] == "overdue" and old["TK-W1"]["period"] == "{}-W{:02d}".format(*then.isocalendar()[:2])
    assert "TK-CM1" not in old and past.json()["date"] == then.isoformat()
    assert_error(api.get("ent.e1", f"/enterprises/{E1}/tasks", params={"date": "2026-13-01"}), 422)
    r = api.post("ent.e1", f"/tasks/{weekly['id']}/record", json={
        "result": "hidden_danger", "note": "液位计读数失准", "photos": [data_url(photo())],
        "danger": {"name": "储罐液位计失准", "grade": "一般隐患"}})
    assert r.status_code == 201, r.text
    danger = r.json()["hiddenDanger"]
    assert danger["properties"]["state"] == "REPORTED" and danger["properties"]["reportSource"] == "隐患排查"
    rows = store().read(
        "MATCH (:InspectionTask {id: 'TK-W1'})-[:HAS_RECORD]->(r:InspectionRecord)-[:REPORTED]->(h:HiddenDanger {id: $id})"
        "-[:AT_RISK_POINT]->(:RiskPoint {id: 'RP1'}) MATCH (:Enterprise {uscc: $e})-[:HAS_HIDDEN_DANGER]->(h) "
        "RETURN r.checkResult AS result, size(r.photos) AS photos", {"id": danger["key"], "e": E1})
    assert rows == [{"result": "HIDDEN_DANGER", "photos": 1}]


def test_lapsed_checks_and_the_loop_show_on_the_portrait_and_feed_the_rating(api):
    """Builds what it reads (also when run alone): TK-CM1 (daily, generated today), TK-W1 (weekly, 40 days
    old), a reported and a closed danger — the tests above leave the same behind, so nothing is doubled."""
    Tasks(store()).generate(origin(), E1, today())  # once: [] when the task test made it
    weekly_task()
    report(api)
    closed = report(api, name="安全出口指示灯不亮")
    go(api, "ent.e1", closed, "rectification", {"description": "更换指示灯"})
    go(api, "ent.e1", closed, "accept", {"note": "自行验收合格"})
    go(api, "ent.e1", closed, "close", {"note": "销号"})
    body = api.get("ent.e1", f"/enterprises/{E1}").json()
    checks = body["summary"]["checks"]
    assert checks["tasks"] >= 2 and checks["lapsed"] >= 4 and checks["window"] == 30
    by_state = body["summary"]["hiddenDangers"]["byState"]
    assert by_state.get("REPORTED", 0) >= 1 and by_state.get("CLOSED", 0) >= 1
    hd1 = next(n for n in nodes_in(body) if n.get("key") == "HD1")
    assert hd1["derived"]["daysOpen"] == 30 and hd1["derived"]["overdue"] is True
    public = api.get(None, f"/enterprises/{E1}").json()["summary"]
    assert "checks" not in public or public["checks"] is None
    assert "byState" not in public["hiddenDangers"] or public["hiddenDangers"]["byState"] is None
    # the rating reads the same lapsed checks from the graph (its own 30-day window)
    [record] = enterprise_batch(store(), [E1], today(), windows=Windows.from_configs())
    lapsed = record.facts.lapsed_checks
    assert len(lapsed) >= 4 and all(c.evidence.startswith(("TK-W1@", "TK-CM1@")) for c in lapsed)
    score = rate_enterprise(record.facts).component("lapsed_checks")
    assert score is not None and score.value == pytest.approx(len(lapsed) * load_config("enterprise_rating")["dynamic"]
                                                                ["lapsed_checks"]["per_check"])


# ---------------------------------------------------------------------- risk analysis
def test_risk_analysis_is_versioned_graded_and_diffed(api):
    body = {"method": "LEC", "likelihood": 6, "exposure": 6, "consequence": 15, "hazards": ["物的因素"],
            "controls": ["泄漏报警联锁", "每班巡检"], "note": "复核后调整后果等级"}
    for user, status in ((None, 401), ("ent.e2", 403), ("insp.sjz", 403)):
        with api.client(user) as c:
            assert_error(c.put("/risk-points/RP1/analysis", json=body), status)
    with api.client("ent.e1") as c:
        off_scale = c.put("/risk-points/RP1/analysis", json={**body, "likelihood": 7})  # off the LEC scale
        assert "L = 7.0 is not on the scale [10, 6, 3, 1, 0.5, 0.2, 0.1]" == assert_error(off_scale, 422)["message"]
        off_scale = c.put("/risk-points/RP1/analysis", json={**body, "likelihood": 7}, headers={"Accept-Language": "zh-CN"})
        assert "L = 7.0 不在标准给出的取值 [10, 6, 3, 1, 0.5, 0.2, 0.1] 之中" == assert_error(off_scale, 422)["message"]
        assert_error(c.put("/risk-points/RP1/analysis", json={**body, "method": "MES"}), 422)
        first = c.put("/risk-points/RP1/analysis", json=body)
        assert first.status_code == 200, first.text
        one = first.json()
        assert one["revision"] == 1 and one["value"] == 540 and one["colour"] == "RED"
        assert one["changes"]["factors.consequence"] == {"old": 40.0, "new": 15.0, "added": None, "removed": None}
        assert one["assessment"]["key"] == "lec-classic:RiskPoint:RP1" and one["assessment"]["properties"]["score"] == 540
        second = c.put("/risk-points/RP1/analysis", json={"method": "LS", "likelihood": 2, "severity": 3,
                                                          "controls": ["泄漏报警联锁"]}).json()
    assert second["revision"] == 2 and second["colour"] == "YELLOW" and second["value"] == 6  # R 4–8: 一般
    assert second["changes"]["method"] == {"old": "LEC", "new": "LS", "added": None, "removed": None}
    assert second["changes"]["controls"]["removed"] == ["每班巡检"]
    point = store().get_node("RiskPoint", "RP1")
    assert point["riskColour"] == "YELLOW" and point["revision"] == 2 and point["assessmentMethod"] == "LS"
    h = api.get("insp.sjz", "/risk-points/RP1/analysis/history")
    assert h.status_code == 200, h.text
    versions = h.json()["versions"]
    assert [v["revision"] for v in versions] == [2, 1] and versions[1]["analysis"]["hazards"] == ["2"]
    assert versions[0]["changes"]["factors.severity"]["new"] == 3 and versions[0]["by"] == "ent.e1"
    for user, status in ((None, 401), ("ent.e2", 403), ("insp.ts", 403)):
        assert_error(api.get(user, "/risk-points/RP1/analysis/history"), status)
    # the enterprise's LEC filed earlier keeps its own assessment; the point's colour is the newest grading
    assert store().get_node("Assessment", "ls-matrix:RiskPoint:RP1")["score"] == 6


# ---------------------------------------------------------------------- inspections
def test_an_inspections_findings_become_hidden_dangers(api):
    token = code(api)
    body = {"inspectionType": "专项检查", "items": ["消防设施", "危化品储存"], "penalty": "拟罚款2万元",
            "dangers": [{"name": "消防水泵无法启动", "grade": "MAJOR", "deadline": in_a_week(), "responsible": "李安全"},
                        {"name": "危化品仓库标识不清"}], "photos": [data_url(photo())]}
    assert_error(api.post("insp.ts", f"/q/{token}/inspections", json=body), 403)
    r = api.post("insp.sjz", f"/q/{token}/inspections", json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["properties"]["findings"] == 2 and out["properties"]["itemsChecked"] == ["消防设施", "危化品储存"]
    assert out["properties"]["proposedPenalty"] == "拟罚款2万元"
    states = sorted(d["properties"]["state"] for d in out["hiddenDangers"])
    assert states == ["RECTIFYING", "REPORTED"]
    assert int(store().read("MATCH (:Inspection {id: $i})-[:FOUND]->(h:HiddenDanger)<-[:HAS_HIDDEN_DANGER]-(:Enterprise {uscc: $e}) "
                            "RETURN count(h) AS c", {"i": out["key"], "e": E1})[0]["c"]) == 2


def test_the_commitment_is_the_enterprises_own(api):
    with api.client("ent.e2") as c:
        assert_error(c.put(f"/enterprises/{E1}/commitment", json={"text": "我们承诺安全生产"}), 403)
    with api.client("ent.e1") as c:
        r = c.put(f"/enterprises/{E1}/commitment", json={"text": "本企业承诺：今日各生产装置运行正常，重大危险源处于安全状态。"})
    assert r.status_code == 200, r.text
    assert store().get_node("Enterprise", E1)["safetyCommitment"].startswith("本企业承诺")


@pytest.mark.parametrize("path", ["/hidden-dangers/HD2/accept", "/hidden-dangers/HD2/reject"])
def test_a_write_without_a_body_that_needs_one_is_refused(api, path):
    r = api.post("insp.sjz", path, content=b"not json", headers={"content-type": "application/json"})
    assert_error(r, 422)


# ---------------------------------------------------------------------- (last: it moves RP1's colour and back)
def test_a_generated_task_recurs_by_its_points_level(api):
    """双重预防: 重大 (红) daily, 较大 (橙) weekly, 一般 (黄) and 低 (蓝) monthly (workflows/tasks.toml);
    a generated task follows its point's colour when it changes, and the day's list its period."""
    Tasks(store()).generate(origin(), E1, today())
    colour = store().get_node("RiskPoint", "RP1").get("riskColour")
    keys = {"DAILY": today().isoformat(), "WEEKLY": "{}-W{:02d}".format(*today().isocalendar()[:2]),
            "MONTHLY": today().strftime("%Y-%m")}
    try:
        for level, frequency in (("ORANGE", "WEEKLY"), ("YELLOW", "MONTHLY"), ("BLUE", "MONTHLY"), ("RED", "DAILY")):
            store().upsert_nodes("RiskPoint", [{"id": "RP1", "riskColour": level}])
            Tasks(store()).generate(origin(), E1, today())
            assert store().get_node("InspectionTask", "TK-CM1")["frequency"] == frequency, level
            listed = {t["task"]: t for t in api.get("ent.e1", f"/enterprises/{E1}/tasks").json()["tasks"]}
            assert (listed["TK-CM1"]["frequency"], listed["TK-CM1"]["period"]) == (frequency, keys[frequency])
    finally:
        store().upsert_nodes("RiskPoint", [{"id": "RP1", "riskColour": colour or "RED"}])


# ---------------------------------------------------------------------- refusals in the caller's language
def test_a_workflow_refusal_is_answered_in_the_callers_language(api):
    """A refusal raised deep in the loop (its state machine, its permissions) reaches the error shape with
    its template: Accept-Language zh gives it wholly in Chinese, states by their Chinese names."""
    key = report(api)
    zh = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
    r = api.post("insp.sjz", f"/hidden-dangers/{key}/accept", json={}, headers=zh)
    error = assert_error(r, 409, "conflict")
    assert r.headers["content-language"] == "zh-CN"
    assert error["message"] == f"{key} 处于 已上报 状态：验收 仅适用于 已整改 状态"
    assert go(api, "insp.sjz", key, "accept", {}, 409)["message"] == f"{key} is REPORTED: accept applies to RECTIFIED only"
    r = api.post("insp.ts", f"/hidden-dangers/{key}/assign", json=assign(), headers=zh)
    error = assert_error(r, 403, "forbidden")
    assert error["message"] == f"只有企业或其所在区划的检查员可以对 {key} 执行 交办"
    assert not re.search(r"[A-Za-z]{2,}(?:\s+[A-Za-z]{2,}){2,}", error["message"])
    r = api.post("ent.e1", "/hidden-dangers/HD-NOPE/assign", json=assign(), headers=zh)
    assert assert_error(r, 404, "not_found")["message"] == "没有隐患 HD-NOPE"
    assert state(key) == "REPORTED"
