"""A phone scans the placard: headless Chromium (Debian's, no browser download) on the real service.

At a phone's viewport the test opens the scan page, signs in as the enterprise, reports a hidden
danger with a photo, submits its rectification with another, signs out, signs in as the inspector of
the region and accepts it — checking the store after each step, saving a screenshot of each
(artifacts/browser/, gitignored) and failing on any console error or uncaught page error, and on any
internal name (class, property, relation, vocabulary notation) in the text the browser shows.
"""
from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from api_support import E1, PASSWORD
from PIL import Image
from web_support import ARGS, ARTIFACTS, CHROMIUM, TIMEOUT_MS, fresh_folder, leaks_in

from riskgraph.workflows.photos import GPS_IFD

SHOTS = ARTIFACTS / "browser"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN", "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                                          "Chrome/126.0 Mobile Safari/537.36"}

if not Path(CHROMIUM).exists():  # scripts/test installs Debian's chromium when it is missing
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extras)")

APP: Any = None


def configure_app(app) -> None:
    global APP
    APP = app


def store():
    return APP.state.services.store


def jpeg_with_location(path: Path, colour: tuple[int, int, int]) -> Path:
    img = Image.new("RGB", (320, 240), colour)
    exif = Image.Exif()
    exif[0x010E] = uuid.uuid4().hex
    exif[GPS_IFD] = {1: "N", 2: (38.0, 3.0, 0.0), 3: "E", 4: (114.0, 33.0, 0.0)}
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    path.write_bytes(buf.getvalue())
    return path


@pytest.fixture(scope="module")
def shots() -> Path:
    return fresh_folder(SHOTS)


def test_a_phone_reports_rectifies_and_the_inspector_accepts(api, shots, tmp_path):
    token = api.get("admin", f"/qr/Enterprise/{E1}.json").json()["token"]
    name = f"应急照明灯损坏-{uuid.uuid4().hex[:4]}"
    problems: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(**PHONE)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

        def shot(step: str) -> None:
            page.screenshot(path=str(shots / f"{step}.png"), full_page=True)
            # what the browser shows after the page's scripts ran: Chinese labels, no internal name or code
            found = leaks_in(page.inner_text("body"))
            if found:
                problems.append(f"{step}: internal names on the page {found}")

        def sign_in(user: str) -> None:
            page.locator("#signin-box summary").click()
            page.fill("#signin input[name=username]", user)
            page.fill("#signin input[name=password]", PASSWORD)
            page.click("#signin button[type=submit]")
            page.wait_for_selector(f".who >> text={user}")

        def done(text: str) -> None:
            page.wait_for_selector(f"#status >> text={text}")

        # 1. the scan: the public page, in Chinese, at a phone's width
        page.goto(f"{api.base_url}/q/{token}")
        page.wait_for_selector("text=安全风险等级（四色）")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
        shot("01-public-scan")

        # 2. the enterprise signs in and reports a hidden danger with a photo
        sign_in("ent.e1")
        shot("02-enterprise-signed-in")
        page.locator("#report-danger summary").click()
        form = page.locator("#report-danger form")
        form.locator("input[name=name]").fill(name)
        form.locator("select[name=grade]").select_option(label="一般隐患")
        form.locator("textarea[name=description]").fill("二号车间东侧应急照明灯不亮")
        form.locator("input[name=photos]").set_input_files(str(jpeg_with_location(tmp_path / "found.jpg", (200, 60, 60))))
        form.locator("button[type=submit]").click()
        done("隐患已上报")
        item = page.locator("li.danger-item", has_text=name)
        item.wait_for()
        shot("03-danger-reported")
        rows = store().read("MATCH (:Enterprise {uscc: $e})-[:HAS_HIDDEN_DANGER]->(h:HiddenDanger {name: $n}) "
                            "RETURN h.id AS id, h.state AS state, h.photos AS photos", {"e": E1, "n": name})
        assert len(rows) == 1 and rows[0]["state"] == "REPORTED" and len(rows[0]["photos"]) == 1, rows
        danger = rows[0]["id"]

        # 3. it submits the rectification, with a photo of the repair
        item.locator("details.submit-rectification summary").click()
        form = item.locator("details.submit-rectification form")
        form.locator("textarea[name=description]").fill("更换应急照明灯并测试供电 90 分钟")
        form.locator("input[name=cost]").fill("260")
        form.locator("input[name=photos]").set_input_files(str(jpeg_with_location(tmp_path / "fixed.jpg", (60, 160, 60))))
        form.locator("button[type=submit]").click()
        done("整改已提交，等待验收")
        page.locator("li.danger-item", has_text=name).locator("text=已整改").wait_for()
        shot("04-rectification-submitted")
        assert store().get_node("HiddenDanger", danger)["state"] == "RECTIFIED"

        # 4. the inspector of 石家庄 signs in on the same phone and accepts it
        page.click("[data-signout]")
        page.wait_for_selector("#signin-box")
        sign_in("insp.sjz")
        item = page.locator("li.danger-item", has_text=name)
        item.locator("details.accept summary").click()
        form = item.locator("details.accept form").first
        form.locator("input[name=note]").fill("现场复查：照明恢复，验收合格")
        form.locator("button[type=submit]").click()
        done("已验收通过")
        page.locator("li.danger-item", has_text=name).locator("text=已验收").wait_for()
        item = page.locator("li.danger-item", has_text=name)
        item.locator("[data-fragment]").click()
        item.locator(".history >> text=验收通过").wait_for()
        shot("05-accepted-by-inspector")
        context.close()
        browser.close()

    after = store().get_node("HiddenDanger", danger)
    assert after["state"] == "VERIFIED" and after["handledBy"] == "insp.sjz"
    rect = store().read("MATCH (:HiddenDanger {id: $id})-[:RECTIFIED_BY]->(r:Rectification) "
                        "RETURN r.accepted AS ok, r.cost AS cost, r.photos AS photos", {"id": danger})
    assert rect == [{"ok": True, "cost": 260.0, "photos": rect[0]["photos"]}] and len(rect[0]["photos"]) == 1
    assert {p.name for p in shots.glob("*.png")} >= {
        "01-public-scan.png", "02-enterprise-signed-in.png", "03-danger-reported.png", "04-rectification-submitted.png",
        "05-accepted-by-inspector.png"}
    assert problems == [], problems


def test_the_page_works_offline_and_sends_what_was_done_once_online(api, shots):
    """The service worker keeps the page; a form filled offline waits in the outbox and goes when online.
    (Chromium logs the requests that fail while offline: those, and only those, are expected.)"""
    token = api.get("admin", f"/qr/Enterprise/{E1}.json").json()["token"]
    problems: list[str] = []
    text = f"今日承诺：装置运行正常，作业许可齐全 {uuid.uuid4().hex[:4]}"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(**PHONE)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.goto(f"{api.base_url}/q/{token}")
        page.wait_for_function("navigator.serviceWorker.controller !== null || "
                               "navigator.serviceWorker.ready.then(() => true)")
        page.evaluate("navigator.serviceWorker.ready")
        page.reload()  # now through the worker, which keeps a copy
        page.wait_for_function("navigator.serviceWorker.controller !== null")
        page.locator("#signin-box summary").click()
        page.fill("#signin input[name=username]", "ent.e1")
        page.fill("#signin input[name=password]", PASSWORD)
        page.click("#signin button[type=submit]")
        page.wait_for_selector(".who >> text=ent.e1")

        context.set_offline(True)
        page.reload()
        page.wait_for_selector("text=安全风险等级（四色）")  # the page, from the worker's copy
        page.wait_for_selector("#offline:not([hidden])")
        page.wait_for_selector("#commitment form", state="attached")  # the signed-in panel, from its copy
        page.locator("#commitment details summary").click()
        page.fill("#commitment textarea[name=text]", text)
        page.locator("#commitment button[type=submit]").click()
        page.wait_for_selector("#status >> text=已保存，联网后自动提交")
        assert store().get_node("Enterprise", E1).get("safetyCommitment") != text
        page.screenshot(path=str(shots / "06-offline-queued.png"), full_page=False)

        context.set_offline(False)
        page.wait_for_selector("#status >> text=离线期间的提交已发送")
        page.screenshot(path=str(shots / "07-back-online-sent.png"), full_page=False)
        context.close()
        browser.close()
    assert store().get_node("Enterprise", E1)["safetyCommitment"] == text
    unexpected = [p for p in problems if "ERR_INTERNET_DISCONNECTED" not in p]
    assert unexpected == [], unexpected
