"""Settling review items, third round: the row that stands last decides (not the newest record), a
record's line key moves only off a line that is gone, a killed load's settled items, a first load's
items independent of batches, a person's decision about a row the source corrected, facts a
standing row no longer asserts; and two live-ingest cases (an orphan alarm handed on, GBK payloads)."""
from __future__ import annotations

import json

import pytest
from er_support import PENALTIES, REGISTRY, A, C, penalty_owner, write_export
from load_support import fresh_store
from review_support import LATER, F, corrected_p2, decide, next_second, pen_line, penalty_lines, with_licence
from test_live_trust import _at, _live

from riskgraph.loaders.live import payload
from riskgraph.loaders.load import load_directory


def _item(store, key: str) -> tuple[str | None, str | None]:
    item = store.get_node("ReviewItem", f"Penalty:{key}") or {}
    return item.get("reviewStatus"), item.get("decidedUscc")


# R1 --------------------------------------------------------------------------------------------
def test_stale_item_is_judged_by_the_standing_last_row_not_the_newest_record(store, tmp_path):
    """P5 衡信 (in review: F not registered); a row 华锐 (in doubt) is then inserted *before* it, so the
    standing 衡信 row still decides though the 华锐 record is the newest. When F registers, P5 is
    linked to F as a fresh load links it by its last row."""
    first = penalty_lines(write_export(tmp_path / "first"), [pen_line("P5", "沧县衡信化工有限公司", "10000")])
    load_directory(store, first)
    assert (penalty_owner(store, "P5"), _item(store, "P5")[0]) == ([], "open")
    next_second()
    lines = [pen_line("P5", "沧县华锐化工有限公司", "30000"), pen_line("P5", "沧县衡信化工有限公司", "10000")]
    load_directory(store, penalty_lines(write_export(tmp_path / "second"), lines))
    assert (penalty_owner(store, "P5"), _item(store, "P5")[0]) == ([], "open")
    last = penalty_lines(write_export(tmp_path / "last", registry=LATER), lines)
    load_directory(store, last)
    with fresh_store(last) as (fresh, _):
        assert penalty_owner(fresh, "P5") == [F]
    assert penalty_owner(store, "P5") == [F], _item(store, "P5")


# R2 --------------------------------------------------------------------------------------------
def test_a_records_line_key_does_not_move_to_a_copy_before_its_standing_line(store, tmp_path):
    """P8's rows: 华润 (A) then 恒信 (C): P8 is C's. A re-quoted copy of the 恒信 row put before the
    original does not take the record's line key while the original stands; once the copy is gone
    and the 华润 row's fine is corrected, P8 stays C's, as in a fresh load."""
    a_row, c_row = pen_line("P8", "沧县华润化工有限公司", "100"), pen_line("P8", "沧县恒信化工有限公司", "200")
    load_directory(store, penalty_lines(write_export(tmp_path / "first"), [a_row, c_row]))
    assert penalty_owner(store, "P8") == [C]
    copy = pen_line("P8", "沧县恒信化工有限公司", "200", quoted=True)
    load_directory(store, penalty_lines(write_export(tmp_path / "copy"), [a_row, copy, c_row]))
    assert penalty_owner(store, "P8") == [C]
    last = penalty_lines(write_export(tmp_path / "last"), [pen_line("P8", "沧县华润化工有限公司", "150"), c_row])
    load_directory(store, last)
    with fresh_store(last) as (fresh, _):
        assert penalty_owner(fresh, "P8") == [C]
    fine = store.read("MATCH (p:Penalty {id: 'P8'}) RETURN p.fineAmount AS f")
    assert penalty_owner(store, "P8") == [C], fine


# R3 --------------------------------------------------------------------------------------------
def test_a_load_killed_before_the_files_end_settles_the_item_on_the_new_enterprise(store, tmp_path, monkeypatch):
    """P5 settled on F. The source corrects P5 to 恒信 (C, certain): the load moves P5 to C and is killed
    before the file's end. The rerun resolves the file's settled items too: P5's item follows it to C."""
    from riskgraph.loaders.engine import FileLoader
    _, authority, fine = PENALTIES["P5"]
    load_directory(store, write_export(tmp_path / "first"))
    load_directory(store, write_export(tmp_path / "second", registry=LATER))
    assert (penalty_owner(store, "P5"), _item(store, "P5")) == ([F], ("settled", F))
    next_second()
    last = write_export(tmp_path / "last", {**PENALTIES, "P5": ("沧县恒信化工有限公司", authority, fine)}, LATER)
    with monkeypatch.context() as m:
        def killed(self, *args):
            raise KeyboardInterrupt("killed at the file's end")
        m.setattr(FileLoader, "_settle_reviews", killed)
        with pytest.raises(KeyboardInterrupt):
            load_directory(store, last)
    load_directory(store, last)
    assert penalty_owner(store, "P5") == [C]
    assert _item(store, "P5")[1] in (None, C), f"P5 is C's, its item says {_item(store, 'P5')}"


# R4 --------------------------------------------------------------------------------------------
def test_a_first_loads_items_do_not_depend_on_batch_boundaries(store, tmp_path, monkeypatch):
    """P8: 华锐 (A or B?) then 华润 (A, certain). A first load raises nothing in one batch (the last row
    decides), and nothing with the rows in two batches either (the item raised and placed in one
    reading is dropped): no settled item the fact never needed."""
    rows = [pen_line("P8", "沧县华锐化工有限公司", "200"), pen_line("P8", "沧县华润化工有限公司", "100")]
    root = penalty_lines(write_export(tmp_path / "x"), rows)
    with fresh_store(root) as (one_batch, report):
        whole = (_item(one_batch, "P8"), report.by_source()["enforcement"].settled)
    monkeypatch.setenv("RISKGRAPH_LOAD_BATCH_ROWS", "1")
    report = load_directory(store, root)
    assert (_item(store, "P8"), report.by_source()["enforcement"].settled) == whole


# L1 --------------------------------------------------------------------------------------------
def test_an_alarm_quarantined_as_an_orphan_is_not_handed_on_as_new(store, tmp_path):
    alarms: list[str] = []
    live = _live(store, tmp_path, alarms)
    live.receive("iot-a", [json.dumps({"type": "alarm", "alarm_id": "BJ-X", "sensor_id": "NO-SUCH", "metric": "温度",
                                       "value": 45, "level": "红", "time": _at(5)}, ensure_ascii=False)])
    live._store(live.log.pending(100))
    held = store.read("MATCH (q:QuarantinedRow) RETURN q.reasonCode AS r")
    in_graph = store.read("MATCH (a:MonitoringAlarm) RETURN a.id AS id")
    assert held == [{"r": "orphan_reference"}] and in_graph == []
    assert alarms == [], f"handed to the fresh-scores pipeline: {alarms}; in the graph: {in_graph}"
    live.close()


# L2 --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("metric", ["温度", "液位", "压力", "可燃气体浓度"])
def test_a_gbk_alarm_is_read_as_gb18030(store, tmp_path, metric):
    """A GBK line whose bytes hold a valid UTF-8 pair now and then (温度 = CE C2 B6 C8: C2 B6 is '¶') is
    read as GB 18030, not kept as escapes and quarantined."""
    live = _live(store, tmp_path)
    line = json.dumps({"type": "alarm", "alarm_id": "A-GBK", "sensor_id": "S1", "metric": metric, "value": 45,
                       "level": "红", "time": _at(5)}, ensure_ascii=False).encode("gbk")
    live.receive("iot-a", payload.messages(line))
    live._store(live.log.pending(100))
    got = store.read("MATCH (a:MonitoringAlarm {id: 'A-GBK'}) RETURN a.metric AS m")
    held = store.read("MATCH (q:QuarantinedRow) RETURN q.reasonCode AS r, q.description AS d")
    assert got == [{"m": metric}], held
    live.close()


# R5 --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("decision", ["link", "reject"])
def test_a_decided_item_whose_row_is_corrected_to_a_certain_enterprise_does_not_keep_the_old_decision(store, tmp_path,
                                                                                                     decision):
    """P2 (华锐: A or B?) decided by a person (linked to B, or rejected). The source then corrects the
    name to 华润 (A, certain): the decision was about the row as it read, so the load links P2 to A
    and the item no longer says 'linked to B' or 'rejected'."""
    load_directory(store, write_export(tmp_path / "first"))
    decide(store, "P2", decision)
    load_directory(store, corrected_p2(tmp_path / "fixed"))
    assert penalty_owner(store, "P2") == [A]
    status, uscc = _item(store, "P2")
    assert status not in ("linked", "rejected") and uscc in (None, A), (status, uscc)



# R2b -------------------------------------------------------------------------------------------
def test_a_fact_in_review_whose_copy_line_left_is_settled_by_its_original(store, tmp_path):
    """P5 衡信 (in review). A re-quoted copy of its row is put before the original line, then removed
    again, and F (衡信) registers: P5's original line still stands, so P5 is linked to F as in a fresh load."""
    p5 = pen_line("P5", "沧县衡信化工有限公司", "10000")
    p7 = pen_line("P7", "沧县恒信化工有限公司", "40000")
    load_directory(store, penalty_lines(write_export(tmp_path / "first"), [p5, p7]))
    copy = pen_line("P5", "沧县衡信化工有限公司", "10000", quoted=True)
    load_directory(store, penalty_lines(write_export(tmp_path / "copy"), [copy, p5, p7]))
    assert (penalty_owner(store, "P5"), _item(store, "P5")[0]) == ([], "open")
    last = penalty_lines(write_export(tmp_path / "last", registry=LATER), [p5, p7])
    load_directory(store, last)
    with fresh_store(last) as (fresh, _):
        assert penalty_owner(fresh, "P5") == [F]
    assert (penalty_owner(store, "P5"), _item(store, "P5")) == ([F], ("settled", F))


# R8 --------------------------------------------------------------------------------------------
def test_a_persons_link_after_an_unlink_holds_when_the_standing_row_changes_its_fine(store, tmp_path):
    """P5 衡信 is F's. A row 华锐 (in doubt) is inserted before it: the standing 衡信 row still decides. A
    person unlinks P5 from F and links it to C; the item records what the standing row writes, so
    when the source changes only the 衡信 row's fine, P5 stays on C."""
    from riskgraph.loaders.review import ReviewService
    p5 = pen_line("P5", "沧县衡信化工有限公司", "10000")
    load_directory(store, penalty_lines(write_export(tmp_path / "first", registry=LATER), [p5]))
    assert penalty_owner(store, "P5") == [F]
    next_second()
    doubt = pen_line("P5", "沧县华锐化工有限公司", "30000")
    load_directory(store, penalty_lines(write_export(tmp_path / "second", registry=LATER), [doubt, p5]))
    assert penalty_owner(store, "P5") == [F]
    reviews = ReviewService(store)
    reviews.unlink("Penalty", "P5", by="analyst1", note="not 衡信's")
    reviews.link("Penalty:P5", C, by="analyst1", note="恒信's")
    assert (penalty_owner(store, "P5"), _item(store, "P5")) == ([C], ("linked", C))
    load_directory(store, penalty_lines(write_export(tmp_path / "third", registry=LATER),
                                        [doubt, pen_line("P5", "沧县衡信化工有限公司", "12000")]))
    item = store.get_node("ReviewItem", "Penalty:P5")
    assert (penalty_owner(store, "P5"), _item(store, "P5")) == ([C], ("linked", C)), item.get("writtenName")


# R9 --------------------------------------------------------------------------------------------
def test_a_settled_item_whose_standing_row_asserts_no_facts_drops_the_raising_rows_facts(store, tmp_path):
    """LIC-1 raised in review with an address and a 主要负责人. The licensing system then blanks both while
    衡信 (F) registers: the load settles the item on F and the item drops the raising row's facts, so
    a person confirming the link gives F no address (as a fresh load leaves it)."""

    from riskgraph.loaders.review import ReviewService

    no_address = [*REGISTRY, (F, "沧县衡信化工有限公司", "赵立国", "")]
    load_directory(store, with_licence(write_export(tmp_path / "first"), "河北省沧州市沧县崔尔庄镇西街３号", "赵立国"))
    assert store.get_node("ReviewItem", "Licence:LIC-1")["reviewStatus"] == "open"
    last = with_licence(write_export(tmp_path / "later", registry=no_address), "", "")
    load_directory(store, last)
    item = store.get_node("ReviewItem", "Licence:LIC-1")
    assert item["reviewStatus"] == "settled"
    with fresh_store(last) as (fresh, _):
        want = fresh.get_node("Enterprise", F).get("address")
    assert want is None and store.get_node("Enterprise", F).get("address") is None
    ReviewService(store).link("Licence:LIC-1", F, by="analyst1", note="yes, 衡信")
    assert store.get_node("Enterprise", F).get("address") == want, item.get("pendingFacts")
