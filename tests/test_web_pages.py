"""The mobile page behind a code, through the real service: Chinese only (no class, property, relation or
vocabulary notation in what a person reads), the four colours, the public policy, the panel each
role gets with the forms its role allows, the stale-placard notice for the enterprise and bureau
only, the offline assets. (The browser walk-through is tests/test_web_browser.py.)
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from api_support import E1, E3, assert_error
from web_support import leaks, visible

from riskgraph.api.qr.policy import DEFAULT, ENV, PublicPolicy
from riskgraph.graph.values import LOCAL_TZ
from riskgraph.ontology.model import load_ontology
from riskgraph.workflows.origin import CLI, Origin
from riskgraph.workflows.tasks import Tasks

APP: Any = None
ONTO = load_ontology()
HTML = {"Accept": "text/html,application/xhtml+xml"}


def configure_app(app) -> None:
    global APP
    APP = app


def store():
    return APP.state.services.store


def code(api, label: str = "Enterprise", key: str = E1) -> str:
    r = api.get("admin", f"/qr/{label}/{key}.json")
    assert r.status_code == 200, r.text
    return r.json()["token"]


def panel(api, user: str, token: str) -> str:
    r = api.get(user, f"/m/panel/{token}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    return r.text


# ---------------------------------------------------------------------- the public page
def test_the_public_page_is_chinese_coloured_and_sober(api):
    token = code(api)
    r = api.get(None, f"/q/{token}", headers=HTML)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    text = visible(page)
    assert leaks(page) == [], leaks(page)
    assert "石家庄冀中化工有限公司" in text and "安全风险等级（四色）" in text and "红" in text
    assert "#E02020" in page  # the vocabulary's display colour for 红
    assert "长安区" in text and "130102" not in text  # a region by its name, not its code
    assert "危险化学品" in text  # supervisionIndustry HC, by its label
    # the sober default: registry facts, colour, reporting entry, sign-in — not the hidden dangers
    assert "氯气储罐区可燃气体报警器失效" not in text and "消防通道堵塞" not in text
    assert "举报安全隐患" in text and "登录" in text
    assert 'rel="manifest"' in page and "/m/static/app.js" in page
    # every script, style sheet and image from the service itself (no CDN); the page's own code's
    # base32 text may hold any letters, so the check is on the references, not on a word
    assert re.findall(r'(?:src|href)="(?:https?:)?//[^"]*"', page) == [], "an asset from another origin"
    body = api.get(None, f"/q/{token}").json()  # the JSON scan obeys the same policy
    assert "summary" in body["dossier"] and "hiddenDangers" not in body["dossier"]["summary"]
    assert all(i["label"] != "HiddenDanger" for items in body["dossier"].get("relations", {}).values() for i in items)


def test_the_public_policy_is_the_bureaus_to_set(api):
    token = code(api)
    APP.state.public_policy = PublicPolicy.parse("registry,colour,hiddenDangers")
    try:
        text = visible(api.get(None, f"/q/{token}", headers=HTML).text)
        assert "消防通道堵塞" in text and "举报安全隐患" not in text
    finally:
        APP.state.public_policy = PublicPolicy.parse(None)
    with pytest.raises(ValueError):
        PublicPolicy.parse("registry,everything")


def test_the_bureau_sets_the_public_policy_in_the_environment(monkeypatch):
    monkeypatch.setenv(ENV, "registry, colour,riskPoints")
    assert PublicPolicy.from_env().sections == {"registry", "colour", "riskPoints"}
    monkeypatch.setenv(ENV, " ")
    assert PublicPolicy.from_env().sections == set(DEFAULT) == {"registry", "colour", "commitment", "report"}
    monkeypatch.delenv(ENV)
    assert not PublicPolicy.from_env().shows("hiddenDangers")  # the sober default


@pytest.mark.parametrize("label,key", [("RiskPoint", "RP1"), ("Shelter", "SH1"), ("Supply", "SU1"),
                                       ("NaturalDisasterRiskPoint", "NDP1"), ("RescueTeam", "RT1")])
def test_every_kind_of_code_gets_a_chinese_page(api, label, key):
    token = code(api, label, key)
    for user in (None, "admin"):
        page = api.get(user, f"/q/{token}", headers=HTML).text
        assert leaks(page) == [], (label, user, leaks(page))
        assert ONTO.classes[label].label_zh in visible(page)


# ---------------------------------------------------------------------- panels per role
def test_the_enterprise_panel_offers_its_own_work(api):
    Tasks(store()).generate(Origin(actor=None, role="admin", channel=CLI, endpoint="test"), E1,
                            dt.datetime.now(LOCAL_TZ).date())
    html = panel(api, "ent.e1", code(api))
    text = visible(html)
    assert leaks(html) == [], leaks(html)
    assert "已登录" in text and "今日隐患排查" in text and "隐患治理" in text and "上报隐患" in text
    assert "风险分析" in text and "更新风险分析" in text and "发布今日承诺" in text
    assert "氯气储罐区可燃气体报警器失效" in text  # its own hidden dangers, at its level
    assert 'data-url="/hidden-dangers/HD1/rectification"' in html  # HD1 is RECTIFYING: it may submit
    assert 'data-url="/hidden-dangers/HD1/accept"' not in html     # a 重大隐患: not its to accept
    assert "记录执法检查" not in text


def test_the_inspector_panel_offers_acceptance_and_inspection(api):
    html = panel(api, "insp.sjz", code(api))
    text = visible(html)
    assert leaks(html) == [], leaks(html)
    assert 'data-url="/hidden-dangers/HD2/accept"' in html  # HD2 was submitted (RECTIFIED)
    assert "记录执法检查" in text and "上报隐患" not in text and "今日隐患排查" not in text
    other = visible(panel(api, "insp.ts", code(api)))  # outside its region: the public's view
    assert "隐患治理" not in other and "记录执法检查" not in other


def test_fragments_history_and_analysis(api):
    r = api.get("insp.sjz", "/m/history/HD2")
    assert r.status_code == 200 and leaks(r.text) == []
    assert "导入" in visible(r.text) or "已整改" in visible(r.text)
    with api.client("ent.e1") as c:
        assert c.put("/risk-points/RP1/analysis", json={"method": "LEC", "likelihood": 3, "exposure": 6,
                                                        "consequence": 40}).status_code == 200
    r = api.get("insp.sjz", "/m/analysis/RP1")
    assert r.status_code == 200 and leaks(r.text) == [], leaks(r.text)
    text = visible(r.text)
    assert "第1版" in text and "较上一版" in text and "可能性" in text
    assert_error(api.get("insp.ts", "/m/analysis/RP1"), 403)
    assert_error(api.get(None, "/m/history/HD2"), 401)


def test_a_renamed_enterprise_sees_the_new_placard_notice_the_public_does_not(api):
    token = code(api, "Enterprise", E3)
    name = store().get_node("Enterprise", E3)["name"]
    store().upsert_nodes("Enterprise", [{"uscc": E3, "name": "石家庄长安新材料有限公司"}])
    try:
        assert "更换新码牌" not in visible(api.get(None, f"/q/{token}", headers=HTML).text)
        assert "更换新码牌" in visible(panel(api, "insp.sjz", token))
    finally:
        store().upsert_nodes("Enterprise", [{"uscc": E3, "name": name}])


# ---------------------------------------------------------------------- offline assets
def test_assets_and_service_worker_are_served_by_the_service(api):
    for name, kind in (("app.js", "javascript"), ("app.css", "text/css"), ("icon.svg", "svg"), ("manifest.webmanifest", "json")):
        r = api.get(None, f"/m/static/{name}")
        assert r.status_code == 200 and kind in r.headers["content-type"], name
    sw = api.get(None, "/sw.js")
    assert sw.status_code == 200 and sw.headers["service-worker-allowed"] == "/"
    assert "caches" in sw.text
    assert_error(api.get(None, "/m/static/../../pyproject.toml"), 404)
    assert_error(api.get(None, "/m/static/secret.txt"), 404)
