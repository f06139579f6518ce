"""The one map in headless Chromium (Debian's, no browser download) on the real service (issue 16.2).

/map loads with no console error, no failed request and no HTTP error; it draws the region polygons
and the enterprises layer with exactly as many points as the API's layer has; thousands of points are
clustered; a click on an enterprise opens its popup, whose link goes to the enterprise's dossier URL.
Screenshots are saved to artifacts/browser-map/ (gitignored).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from api_support import E2, PASSWORD
from web_support import ARGS, ARTIFACTS, CHROMIUM, TIMEOUT_MS, fresh_folder

from riskgraph.graph import connect

SHOTS = ARTIFACTS / "browser-map"
MANY = 2_500

if not Path(CHROMIUM).exists():  # scripts/test installs Debian's chromium when it is missing
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extras)")


@pytest.fixture(scope="module")
def shots() -> Path:
    return fresh_folder(SHOTS)


@pytest.fixture(scope="module")
def many_shelters(api) -> int:
    """2,500 shelters on a grid over 石家庄, 10 without a point: the clustering's load."""
    store = connect(api.store_url)
    try:
        rows = [{"id": f"MAP-SH-{i:05d}", "name": f"避难场所{i}", "regionCode": "130102",
                 **({} if i < 10 else {"lon": 114.2 + (i % 50) * 0.012, "lat": 37.8 + (i // 50) * 0.012})}
                for i in range(MANY)]
        store.upsert_nodes("Shelter", rows)
    finally:
        store.close()
    return MANY - 10 + 1  # the fixture's SH1 has a point too


def open_map(pw, base_url: str):
    browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    page.goto(f"{base_url}/map")
    page.wait_for_function("window.rgMap && window.rgMap.ready === true")
    return browser, page, problems


def test_the_map_draws_regions_and_every_enterprise_and_clicks_through_to_a_dossier(api, shots):
    layer = api.get(None, "/layers/enterprises", params={"limit": 20_000}).json()
    with sync_api.sync_playwright() as pw:
        browser, page, problems = open_map(pw, api.base_url)
        try:
            state = json.loads(page.evaluate("JSON.stringify({r: rgMap.regions, c: rgMap.counts, d: rgMap.drawn})"))
            assert state["r"] >= 170  # Hebei's 11 cities and their counties, from the shipped boundaries
            assert page.locator("#map path.leaflet-interactive, #map canvas").count() >= 1
            assert state["c"]["enterprises"] == layer["numberMatched"] == len(layer["features"]) == 3
            assert state["d"]["enterprises"] == layer["numberMatched"]
            assert page.locator("text=风险一张图").first.is_visible()
            assert page.locator("#layers label", has_text="重大危险源").is_visible()
            page.screenshot(path=str(shots / "01-province.png"))
            assert problems == [], problems

            # the colour filter hides the orange enterprise (E2), and brings it back (a redraw adds its markers in
            # chunks of 200 ms: on a busy machine even three can take a second chunk, so wait for the count)
            page.locator("#f-colour input[value=ORANGE]").uncheck()
            page.wait_for_function("rgMap.drawn.enterprises === 2")
            page.locator("#f-colour input[value=ORANGE]").check()
            page.wait_for_function("rgMap.drawn.enterprises === 3")

            # zoomed in past the clustering, E2's point is clicked: its popup links to its dossier
            where = page.evaluate(f"rgMap.where('enterprises', '{E2}')")
            assert where is not None
            page.evaluate(f"void rgMap.map.setView([{where[0]}, {where[1]}], 16, {{animate: false}})")
            point = page.evaluate(f"(() => {{ const p = rgMap.map.latLngToContainerPoint([{where[0]}, {where[1]}]); "
                                  "return [p.x, p.y]; })()")
            box = page.locator("#map").bounding_box()
            page.mouse.click(box["x"] + point[0], box["y"] + point[1])
            link = page.locator(".pop a.dossier")
            link.wait_for()
            assert "唐山曹妃甸石化股份有限公司" in page.locator(".pop h3").inner_text()
            assert link.get_attribute("href") == f"/pages/enterprises/{E2}"
            page.screenshot(path=str(shots / "02-popup.png"))
            assert problems == [], problems
            link.click()
            page.wait_for_url(f"**/pages/enterprises/{E2}")
        finally:
            browser.close()


def test_thousands_of_points_are_clustered_and_all_drawn(api, shots, many_shelters):
    layer = api.get(None, "/layers/shelters", params={"limit": 5_000}).json()
    assert layer["numberMatched"] == many_shelters and layer["skipped"] == 10
    with sync_api.sync_playwright() as pw:
        browser, page, problems = open_map(pw, api.base_url)
        try:
            page.locator("#layer-shelters").check()
            page.wait_for_function("rgMap.ready === true && rgMap.drawn.shelters !== undefined")
            assert page.evaluate("rgMap.counts.shelters") == layer["numberMatched"]
            assert page.evaluate("rgMap.drawn.shelters") == layer["numberMatched"]
            assert page.evaluate("rgMap.clusters('shelters')") > MANY // 2  # most points sit in clusters
            assert page.locator(".rg-cluster").count() < 200  # a few hundred icons at most, not thousands
            assert "10 无坐标" in page.locator("#layers [data-layer=shelters] .n").inner_text()
            page.screenshot(path=str(shots / "03-shelters-clustered.png"))
            # the county view reloads the layers for that county only
            page.select_option("#view", "130209")
            page.wait_for_function("rgMap.ready === true && rgMap.view === '130209'")
            assert page.evaluate("rgMap.counts.enterprises") == 1
            page.screenshot(path=str(shots / "04-county-view.png"))
            assert problems == [], problems
        finally:
            browser.close()


def test_signed_in_the_map_shows_what_the_role_may_see(api, shots):
    public = api.get(None, "/layers/no-recent-enforcement").json()
    inspector = api.get("insp.sjz", "/layers/no-recent-enforcement").json()
    assert public["numberMatched"] == 0 < inspector["numberMatched"]  # inspection dates are not public
    with sync_api.sync_playwright() as pw:
        browser, page, problems = open_map(pw, api.base_url)
        try:
            page.locator("#layer-no-recent-enforcement").check()
            page.wait_for_function("rgMap.ready === true && rgMap.counts['no-recent-enforcement'] !== undefined")
            assert page.evaluate("rgMap.counts['no-recent-enforcement']") == 0
            page.fill("#signin input[name=username]", "insp.sjz")
            page.fill("#signin input[name=password]", PASSWORD)
            page.click("#signin button[type=submit]")
            page.wait_for_selector("#who >> text=已登录")
            page.wait_for_function(f"rgMap.ready === true && rgMap.counts['no-recent-enforcement'] === {inspector['numberMatched']}")
            assert page.evaluate("rgMap.drawn['no-recent-enforcement']") == inspector["numberMatched"]
            page.screenshot(path=str(shots / "05-inspector-no-recent-enforcement.png"))
            assert problems == [], problems
        finally:
            browser.close()
