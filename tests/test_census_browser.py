"""The census form in headless Chromium (Debian's, no browser download) on the real service: a warehouse
registers with two supplies through the page; the store holds it pending, with its supplies, and the
page shows its number. Fails on any console error or uncaught page error."""
from __future__ import annotations

from pathlib import Path

import pytest
from web_support import ARGS, CHROMIUM, TIMEOUT_MS

from riskgraph import graph

if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extras)")


def test_a_warehouse_registers_through_the_form(api) -> None:
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(locale="zh-CN", viewport={"width": 390, "height": 844})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{api.base_url}/m/census", timeout=TIMEOUT_MS)
            page.select_option("#kind", "warehouse")
            assert page.is_visible("fieldset[data-for=warehouse]") and not page.is_visible("fieldset[data-for=team]")
            page.fill("input[name=name]", "长安区应急物资储备库")
            page.select_option("select[name=region]", "130102")
            page.fill("input[name=areaM2]", "800")
            page.fill("textarea[name=supplies]", "帐篷,生活类,120,顶\n救生衣，救援类，300，件")
            page.click("button[type=submit]")
            page.wait_for_function("document.getElementById('result').dataset.id", timeout=TIMEOUT_MS)
            key = page.get_attribute("#result", "data-id")
            assert key and key in page.inner_text("#result")
        finally:
            browser.close()
    assert not errors, errors
    with graph.connect(api.store_url) as store:
        warehouse = store.get_node("Warehouse", key)
        assert warehouse["reviewState"] == "pending" and warehouse["regionCode"] == "130102"
        rows = store.read("MATCH (s:Supply)-[:STORED_IN]->(w:Warehouse {id: $k}) RETURN s.name AS n, s.quantity AS q, "
                          "s.unit AS u ORDER BY n", {"k": key})
    assert sorted((r["n"], float(r["q"]), r["u"]) for r in rows) == [("帐篷", 120.0, "顶"), ("救生衣", 300.0, "件")]
