"""The bureau's desk pages in headless Chromium (Debian's, no browser download) on the real service:
every page loads with no console error, no failed or refused request and nothing from another origin;
the approve and publish buttons publish a warning; each role sees only what the API gives it; the
review queue and the census review queue are worked from their pages; /docs and /redoc render from the service's own assets.
Screenshots go to artifacts/desk/ (gitignored)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from api_support import E1, E2, E3, PASSWORD
from web_support import ARGS, ARTIFACTS, CHROMIUM, TIMEOUT_MS, fresh_folder

from riskgraph.reasoning.assess import run_all
from riskgraph.workflows import warnings as wf

SHOTS = ARTIFACTS / "desk"

if not Path(CHROMIUM).exists():  # scripts/test installs Debian's chromium when it is missing
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extras)")

APP: Any = None

PAGES = ["/pages/dashboard", "/pages/search", f"/pages/enterprises/{E1}", "/pages/risk-points/RP1", "/pages/disaster-points/NDP1",
         "/pages/rescue-teams/RT1", "/pages/warehouses/W1", "/pages/shelters/SH1", "/pages/regions", "/pages/regions/130100",
         "/pages/industries", "/pages/industries/HC", "/pages/coupling", "/pages/temporal", "/pages/focus", "/pages/warnings",
         "/pages/review", "/pages/census", "/pages/sources"]


def configure_app(app) -> None:
    global APP
    APP = app


def store():
    return APP.state.services.store


@pytest.fixture(scope="module")
def desk(api) -> Any:
    """The fixture province with every model run and the warning rules applied (drafts to approve)."""
    run_all(store())
    wf.generate(store())
    return api


@pytest.fixture(scope="module")
def shots() -> Path:
    return fresh_folder(SHOTS)


class Browser:
    """One signed-in (or anonymous) browser context that records every problem a page has."""

    def __init__(self, pw, base_url: str, shots: Path) -> None:
        self.base_url = base_url
        self.origin = urlsplit(base_url).netloc
        self.shots = shots
        self.browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        self.context = self.browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.requests: list[str] = []
        page = self.page
        page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"failed request: {r.url} {r.failure}"))
        page.on("response", lambda r: self.problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        page.on("request", lambda r: self.requests.append(r.url))

    def open(self, path: str, ready: str = "body[data-ready='1']") -> None:
        self.page.goto(self.base_url + path)
        self.page.wait_for_selector(ready)

    def sign_in(self, user: str) -> None:
        self.open("/pages/search")
        self.page.fill("#signin input[name=username]", user)
        self.page.fill("#signin input[name=password]", PASSWORD)
        self.page.click("#signin button[type=submit]")
        self.page.wait_for_selector(f"#who >> text={user}")
        self.page.wait_for_selector("body[data-ready='1']")

    def shot(self, name: str, *, full: bool = True) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=full, timeout=60_000)

    def foreign(self) -> list[str]:
        return [u for u in self.requests if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != self.origin]

    def close(self) -> None:
        self.context.close()
        self.browser.close()


@pytest.fixture()
def browser(desk, shots) -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        opened: list[Browser] = []

        def make() -> Browser:
            opened.append(Browser(pw, desk.base_url, shots))
            return opened[-1]

        yield make
        for b in opened:
            b.close()


def _dd(page, prop: str) -> int:
    return page.locator(f"dd[data-prop={prop}]").count()


@pytest.mark.parametrize("user", [None, "admin1", "insp.sjz", "ent.e1"])
def test_every_page_loads_without_errors_or_failed_requests(browser, user):
    b = browser()
    if user:
        b.sign_in(user)
    for path in PAGES:
        b.problems.clear()
        b.open(path)
        b.page.wait_for_load_state("networkidle")
        assert b.problems == [], (user, path, b.problems)
        assert "无法加载" not in b.page.inner_text("#content"), (user, path)
        b.shot(f"{user or 'public'}{path.replace('/', '-')}")
    assert b.foreign() == [], b.foreign()  # nothing from a CDN or any other origin
    assert b.page.evaluate("typeof echarts") == "object"


def test_the_enterprise_dossier_shows_its_sections_and_charts(browser):
    b = browser()
    b.sign_in("insp.sjz")
    b.open(f"/pages/enterprises/{E1}")
    text = b.page.inner_text("#content")
    for section in ("基本信息", "一企一码", "风险评估诊断分级（已知 / 未知）", "推荐管控措施", "近期监测报警",
                    "隐患排查治理闭环", "关系图谱"):
        assert section in text, section
    b.page.wait_for_selector(".qr img")                                   # the placard, for the region's inspector
    assert b.page.locator("h1 .chip").first.get_attribute("data-colour") in ("RED", "ORANGE", "YELLOW", "BLUE")
    assert "官方" in text and "参考" in text                               # the official and the secondary colour
    b.page.wait_for_function("document.querySelectorAll('.chart canvas').length >= 3")  # rating, loop states, graph
    b.shot("dossier-inspector")
    assert b.problems == [], b.problems


def test_each_role_sees_only_what_the_api_gives_it(browser):
    anon = browser()
    anon.open(f"/pages/enterprises/{E1}")
    assert _dd(anon.page, "employees") == 0 and _dd(anon.page, "tags") == 0 and _dd(anon.page, "ratingScore") == 0
    assert anon.page.locator(".qr img").count() == 0
    anon.open("/pages/warnings")
    assert "请先登录" in anon.page.inner_text("#content")
    assert not [u for u in anon.requests if "/warnings" in urlsplit(u).path and not urlsplit(u).path.startswith("/pages")]
    assert anon.page.locator("nav a[href='/pages/focus']").is_hidden()
    anon.shot("role-public-warnings")

    owner = browser()
    owner.sign_in("ent.e1")
    owner.open(f"/pages/enterprises/{E1}")
    assert _dd(owner.page, "employees") == 1 and _dd(owner.page, "tags") == 0   # its own head count; tags are the bureau's
    owner.open(f"/pages/enterprises/{E2}")
    assert _dd(owner.page, "employees") == 0                                   # another enterprise: the public view
    owner.open("/pages/focus")
    assert "无权查看" in owner.page.inner_text("#content")
    owner.shot("role-enterprise-focus")

    insp = browser()
    insp.sign_in("insp.sjz")
    insp.open(f"/pages/enterprises/{E1}")
    assert _dd(insp.page, "employees") == 1 and _dd(insp.page, "tags") == 1 and _dd(insp.page, "ratingScore") == 1
    insp.open(f"/pages/enterprises/{E2}")                                      # 唐山: outside the account's regions
    assert _dd(insp.page, "employees") == 0 and _dd(insp.page, "tags") == 0
    assert insp.page.locator(".qr img").count() == 0
    insp.open("/pages/search")
    assert insp.page.locator("[data-facet=tag]").count() == 1
    for b in (anon, owner, insp):
        assert b.problems == [], b.problems


def test_search_facets_filter_the_results(browser, desk):
    b = browser()
    b.open("/pages/search")
    assert b.page.locator("[data-facet=tag]").count() == 0 and b.page.locator("[data-facet=scale]").count() == 0  # not public
    b.page.click("[data-facet=colour] a[data-value=RED]")
    b.page.wait_for_url("**colour=RED**")  # a new page: the one the link was on is ready too
    b.page.wait_for_selector("body[data-ready='1']")
    assert "共 1 家" in b.page.inner_text("#content")
    expected = desk.get(None, "/enterprises", params={"colour": "RED"}).json()["items"][0]["properties"]["name"]
    assert expected in b.page.inner_text("#content")
    b.shot("search-facet-red")
    assert b.problems == [], b.problems


def test_the_approve_and_publish_buttons_publish_a_warning(browser, desk):
    drafts = desk.get("insp.sjz", "/warnings", params={"state": "draft", "region": "130100"}).json()["items"]
    assert drafts, "the rules raised no draft in 石家庄"
    wid = drafts[0]["id"]
    b = browser()
    b.sign_in("insp.sjz")
    b.open("/pages/warnings?state=draft")
    b.page.click(f"a.warning-link[href='/pages/warning/{wid}']")
    b.page.wait_for_url(f"**/pages/warning/{wid}")  # a new page: the list the link was on is ready too
    b.page.wait_for_selector("body[data-ready='1']")
    assert "推送计划预览" in b.page.inner_text("#content")
    assert b.page.locator("section:has-text('推送计划预览') tbody tr").count() >= 1
    b.shot("warning-draft")
    b.page.click("button[data-action=approve]")
    b.page.wait_for_selector("#warning-state[data-state=approved]")
    b.page.wait_for_selector("#status >> text=预警已审核通过")
    b.page.click("button[data-action=publish]")
    b.page.wait_for_selector("#warning-state[data-state=published]")
    b.shot("warning-published")
    body = desk.get("admin", f"/warnings/{wid}").json()
    assert body["state"] == "published" and body["publishedAt"]
    assert [t["to"] for t in body["transitions"]][-2:] == ["approved", "published"]
    assert body["transitions"][-1]["actor"] == "insp.sjz"
    assert sum(body["deliveries"].values()) >= 1
    assert b.problems == [], b.problems


def test_the_review_queue_is_worked_from_its_page(browser, desk):
    assert desk.post("admin", "/review/unlink", json={"label": "Penalty", "key": "P1", "note": "疑似错挂"}).status_code == 200
    b = browser()
    b.sign_in("analyst1")
    b.open("/pages/review")
    item = b.page.locator(".review-item[data-id='Penalty:P1']")
    item.locator("input[name=uscc]").fill(E3)
    item.locator("button[data-action=link-other]").click()
    b.page.wait_for_selector("#status >> text=已关联到企业")
    assert desk.get("analyst", "/review/Penalty:P1").json()["decidedUscc"] == E3

    b.page.fill("input[name=split-uscc]", E1)
    b.page.click("button[data-action=split-load]")
    b.page.check("#split-facts input[data-key=I1]")
    b.page.click("button[data-action=split]")
    b.page.wait_for_selector("#status >> text=已拆分")
    b.page.wait_for_selector(".review-item[data-id='Inspection:I1']")   # back in the queue, open
    item = b.page.locator(".review-item[data-id='Inspection:I1']")
    item.locator("button[data-action=reject]").click()                  # no match
    b.page.wait_for_selector("#status >> text=已标记为无匹配")
    assert desk.get("analyst", "/review/Inspection:I1").json()["status"] == "rejected"
    b.shot("review-decided")
    assert b.problems == [], b.problems


def test_an_inspector_approves_a_census_registration_from_its_page(browser, desk):
    wh = desk.post(None, "/resources", json={
        "kind": "warehouse", "name": "长安区应急物资储备库（页面审核）", "region": "130102", "areaM2": 1500,
        "supplies": [{"name": "折叠床", "category": "生活类", "quantity": 300, "unit": "张"}]})
    assert wh.status_code == 201, wh.text
    key = wh.json()["id"]
    b = browser()
    b.sign_in("insp.sjz")
    b.open("/pages/census")
    item = b.page.locator(f".census-item[data-id='{key}']")
    text = item.inner_text()
    assert "长安区应急物资储备库（页面审核）" in text and "折叠床" in text and "300" in text and "张" in text and "1500" in text
    item.locator("button[data-action=reject]").click()                  # a rejection needs its reason: nothing is sent
    b.page.wait_for_selector("#status >> text=请填写驳回或放弃的理由")
    b.shot("census-pending")
    item.locator("button[data-action=approve]").click()
    b.page.wait_for_selector("#status >> text=登记已审核通过")
    b.page.wait_for_selector("body[data-ready='1']")
    assert b.page.locator(f".census-item[data-id='{key}']").count() == 0  # out of the queue
    listed = desk.get("insp.sjz", "/resources", params={"state": "approved", "kind": "warehouse"}).json()["items"]
    assert [(i["state"], i["handledBy"]) for i in listed if i["id"] == key] == [("approved", "insp.sjz")]
    outside = browser()
    outside.sign_in("insp.ts")                                          # 曹妃甸: not this entry's bureau
    outside.open("/pages/census?state=approved")
    assert outside.page.locator(f".census-item[data-id='{key}']").count() == 0
    b.shot("census-approved")
    assert b.problems == [], b.problems
    assert outside.problems == [], outside.problems


def test_held_census_updates_are_applied_or_discarded_from_the_page(browser, desk, monkeypatch):
    team = desk.post(None, "/resources", json={"kind": "team", "name": "长安区蓝天救援队（页面更新）", "region": "130102",
                                               "members": 40, "teamType": "社会"}).json()
    code = desk.post("insp.sjz", f"/resources/{team['id']}/approve", json={}).json()["codes"][0]
    token = code["url"].rstrip("/").rsplit("/", 1)[-1]
    monkeypatch.setenv("RISKGRAPH_RESOURCE_UPDATES", "review")
    assert desk.post(None, f"/q/{token}/census-update", json={"members": 55}).json()["pendingUpdate"] is True
    b = browser()
    b.sign_in("insp.sjz")
    b.open("/pages/census")
    item = b.page.locator(f".census-item[data-id='{team['id']}']")
    assert "55" in item.locator(".census-update").inner_text()
    item.locator("input[name=note]").fill("人数未核实")
    item.locator("button[data-action=discard]").click()
    b.page.wait_for_selector("#status >> text=更新已放弃")
    b.page.wait_for_selector("body[data-ready='1']")
    assert b.page.locator(f".census-item[data-id='{team['id']}']").count() == 0
    assert desk.post(None, f"/q/{token}/census-update", json={"members": 48}).status_code == 200
    b.open("/pages/census")
    b.page.locator(f".census-item[data-id='{team['id']}'] button[data-action=apply]").click()
    b.page.wait_for_selector("#status >> text=更新已应用")
    b.page.wait_for_selector("body[data-ready='1']")
    listed = desk.get("insp.sjz", "/resources", params={"state": "approved", "kind": "team"}).json()["items"]
    assert [(i["members"], i["pendingUpdate"]) for i in listed if i["id"] == team["id"]] == [(48, None)]
    b.shot("census-update-applied")
    assert b.problems == [], b.problems


def test_the_api_docs_render_offline(browser):
    b = browser()
    b.open("/docs", ready=".swagger-ui .info .title")
    assert "RiskGraph" in b.page.inner_text(".swagger-ui .info .title")
    b.page.wait_for_selector(".opblock")
    b.shot("docs-swagger", full=False)  # the whole API is a very long page
    b.open("/redoc", ready=".api-content h1")
    assert "RiskGraph" in b.page.inner_text(".api-content h1")
    b.shot("docs-redoc", full=False)
    assert b.foreign() == [], b.foreign()
    assert b.problems == [], b.problems


def test_the_sources_page_shows_each_source_system_when_the_service_has_get_sources(browser, desk):
    served = "/sources" in desk.get(None, "/openapi.json").json()["paths"]
    b = browser()
    b.sign_in("admin1")
    b.open("/pages/sources")
    if not served:  # GET /sources is another part's (loaders' ledger): without it the page says so and asks nothing
        assert "未提供数据来源接口" in b.page.inner_text("#content")
        assert b.page.locator("nav a[href='/pages/sources']").count() == 0
        assert not [u for u in b.requests if urlsplit(u).path == "/sources"]
        return
    sources = desk.get("admin", "/sources").json()["sources"]
    assert b.page.locator("[data-source]").count() == len(sources) > 0
    assert b.page.locator("nav a[href='/pages/sources']").is_visible()
    b.shot("sources")
    assert b.problems == [], b.problems
