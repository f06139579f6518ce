"""Settling review items, fourth round: an item a person acted on mid-load is never dropped, a killed
first load settles the item it showed, an unchanged reload after a load replaced a decision reads
no file, items drop values their row no longer states, an unlink's facts are normalised, and a row
that gave way to a later one is read again once that row leaves."""
from __future__ import annotations

import json

import pytest
from er_support import REGISTRY, A, B, penalty_owner, write_export
from load_support import fresh_store
from review_support import LATER, F, corrected_p2, decide, next_second, pen_line, penalty_lines, with_licence
from test_review_settles_third import _item

from riskgraph.loaders.load import load_directory
from riskgraph.loaders.review import ReviewService


def _history(store, key: str) -> list[str]:
    item = store.get_node("ReviewItem", f"Penalty:{key}") or {}
    return [h["action"] for h in json.loads(item.get("history") or "[]")]


def _items(store) -> list[dict]:
    return sorted((r["p"] for r in store.read("MATCH (r:ReviewItem) RETURN properties(r) AS p")), key=lambda p: p["id"])


# X1 --------------------------------------------------------------------------------------------
def test_an_item_a_person_decided_while_the_file_was_loading_is_not_dropped(store, tmp_path, monkeypatch):
    """A first load, one row a batch: P8 华锐 (A or B?) raises its item; a person links P8 to B (the
    review API takes no load lock) before the load reaches P8's later, certain row (华润: A). The
    item, with the person's decision and history, is kept at the file's end."""
    monkeypatch.setenv("RISKGRAPH_LOAD_BATCH_ROWS", "1")
    rows = [pen_line("P8", "沧县华锐化工有限公司", "200"), pen_line("P1", "沧县华润化工有限公司", "100"),
            pen_line("P8", "沧县华润化工有限公司", "100")]
    root = penalty_lines(write_export(tmp_path / "x"), rows)
    reviews = ReviewService(store)
    acted: list[str] = []

    def progress(path: str, _rows: int) -> None:
        if path.endswith("penalties.csv") and not acted and store.get_node("ReviewItem", "Penalty:P8") is not None:
            reviews.link("Penalty:P8", B, by="analyst1", note="华瑞's")
            acted.append(_item(store, "P8")[0])

    load_directory(store, root, progress=progress)
    assert acted == ["linked"]
    assert "link" in _history(store, "P8"), store.get_node("ReviewItem", "Penalty:P8")


# X2 --------------------------------------------------------------------------------------------
def test_a_first_load_killed_between_the_raising_row_and_the_placing_row_leaves_a_settled_item(store, tmp_path,
                                                                                                  monkeypatch):
    """P8 华锐 (in doubt) then 华润 (A): uninterrupted, no item (drop_items). Killed after the first row's
    batch, the item was in the queue for anyone to see: the rerun places P8 on A as the uninterrupted
    load does, and settles the item rather than dropping it."""
    from riskgraph.loaders.engine import FileLoader
    monkeypatch.setenv("RISKGRAPH_LOAD_BATCH_ROWS", "1")
    rows = [pen_line("P8", "沧县华锐化工有限公司", "200"), pen_line("P1", "沧县华润化工有限公司", "100"),
            pen_line("P8", "沧县华润化工有限公司", "100")]
    root = penalty_lines(write_export(tmp_path / "x"), rows)
    with fresh_store(root) as (fresh, fresh_report):
        want = (_item(fresh, "P8"), penalty_owner(fresh, "P8"), fresh_report.by_source()["enforcement"].settled)
    with monkeypatch.context() as m:
        write = FileLoader.write

        def killed_at_p1(self, batch, *args):
            if any(p.key == "P1" for p in batch):
                raise KeyboardInterrupt("killed")
            return write(self, batch, *args)
        m.setattr(FileLoader, "write", killed_at_p1)
        with pytest.raises(KeyboardInterrupt):
            load_directory(store, root)
    report = load_directory(store, root)
    got = (_item(store, "P8"), penalty_owner(store, "P8"), report.by_source()["enforcement"].settled)
    assert want == ((None, None), [A], 0)
    assert got == (("settled", A), [A], 1)


# X3 --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("decision", ["link", "reject"])
def test_an_unchanged_reload_after_a_load_replaced_a_decision_reads_no_file(store, tmp_path, decision):
    """P2 (华锐) decided by a person; the source corrects it to 华润 (A): the load settles the item on A.
    The file is recorded with the mapping version of the load's end, so the next load of the very
    same export skips it."""
    load_directory(store, write_export(tmp_path / "first"))
    decide(store, "P2", decision)
    next_second()  # loads are timed to the second (engine._existing)
    fixed = corrected_p2(tmp_path / "fixed")
    load_directory(store, fixed)
    assert (penalty_owner(store, "P2"), _item(store, "P2")) == ([A], ("settled", A))
    before = _items(store)
    next_second()
    again = load_directory(store, fixed)
    pen = next(f for f in again.files if f.file.endswith("penalties.csv"))
    assert (pen.skipped, _items(store) == before) == (True, True), pen


# X4 --------------------------------------------------------------------------------------------
def test_a_rejected_item_drops_facts_its_row_no_longer_asserts(store, tmp_path):
    """LIC-1 (衡信: F unregistered) raised with an address; a person rejects it. The licensing system then
    blanks the address: the item drops it, so a person's later link to B gives B no address."""
    address = "河北省沧州市沧县崔尔庄镇西街３号"
    load_directory(store, with_licence(write_export(tmp_path / "first"), address, rep=""))
    assert store.get_node("ReviewItem", "Licence:LIC-1")["reviewStatus"] == "open"
    ReviewService(store).reject("Licence:LIC-1", by="analyst1")
    last = with_licence(write_export(tmp_path / "last"), "", rep="")
    load_directory(store, last)
    ReviewService(store).link("Licence:LIC-1", B, by="analyst1", note="华瑞's after all")
    with fresh_store(last) as (fresh, _):
        ReviewService(fresh).link("Licence:LIC-1", B, by="analyst1", note="华瑞's after all")
        want = fresh.get_node("Enterprise", B).get("address")
    item = store.get_node("ReviewItem", "Licence:LIC-1")
    assert store.get_node("Enterprise", B).get("address") == want, item.get("pendingFacts")


# X5 --------------------------------------------------------------------------------------------
def test_an_unlinked_facts_item_keeps_normalised_facts(store, tmp_path):
    """LIC-1 衡信 with a full-width address is linked to F, which takes the address normalised. A person
    splits LIC-1 off to B: B gets the address normalised too, as a load gives it."""
    no_address = [*REGISTRY, (F, "沧县衡信化工有限公司", "赵立国", "")]
    root = with_licence(write_export(tmp_path / "x", registry=no_address), "河北省沧州市沧县崔尔庄镇西街３号")
    load_directory(store, root)
    loaded = store.get_node("Enterprise", F).get("address")
    assert loaded == "河北省沧州市沧县崔尔庄镇西街3号"
    reviews = ReviewService(store)
    reviews.split(F, [("Licence", "LIC-1")], by="analyst1", note="华瑞's", to=B)
    item = store.get_node("ReviewItem", "Licence:LIC-1")
    assert store.get_node("Enterprise", B).get("address") == loaded, item.get("pendingFacts")


# X6 --------------------------------------------------------------------------------------------
# X6 --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("batch", ["5000", "1"])
def test_a_decision_reopened_by_an_earlier_row_is_restored_by_the_last_row_in_any_batches(store, tmp_path,
                                                                                              monkeypatch, batch):
    """P2 华锐 (A or B?) linked to B by a person. The next export has two P2 rows: 衡辛 (F or C?, a
    corrected name: the decision does not apply) and, last, 华锐 again with another fine (the row the
    decision is about: it applies, P2 is B's). In one batch the last row decides. One row a batch:
    the first row reopens the item, the last row restores the person's decision at the file's end,
    so the next change of that row's fine keeps P2 on B too."""
    monkeypatch.setenv("RISKGRAPH_LOAD_BATCH_ROWS", batch)
    p2 = pen_line("P2", "沧县华锐化工有限公司", "30000")
    load_directory(store, penalty_lines(write_export(tmp_path / "first", registry=LATER), [p2]))
    ReviewService(store).link("Penalty:P2", B, by="analyst1", note="华瑞's")
    next_second()
    rows = [pen_line("P2", "沧县衡辛化工有限公司", "30000"), pen_line("P2", "沧县华锐化工有限公司", "35000")]
    load_directory(store, penalty_lines(write_export(tmp_path / "second", registry=LATER), rows))
    after_second = (penalty_owner(store, "P2"), _item(store, "P2"), _history(store, "P2"))
    next_second()  # the source then changes only the fine of the 华锐 row the person decided about
    rows = [pen_line("P2", "沧县衡辛化工有限公司", "30000"), pen_line("P2", "沧县华锐化工有限公司", "36000")]
    load_directory(store, penalty_lines(write_export(tmp_path / "third", registry=LATER), rows))
    after_third = (penalty_owner(store, "P2"), _item(store, "P2"), _history(store, "P2"))
    assert (after_second[:2], after_third[:2]) == (([B], ("linked", B)), ([B], ("linked", B))), (after_second, after_third)


def test_a_row_that_gave_way_to_a_later_row_is_read_again_when_that_row_leaves(store, tmp_path):
    """P5 衡信 (F) is loaded; a row 华锐 (in doubt) is then inserted before it (the standing 衡信 row
    decides). When the 衡信 row is removed, the 华锐 row is read again and P5 goes to review, as in a
    fresh load."""
    certain, doubt = pen_line("P5", "沧县衡信化工有限公司", "10000"), pen_line("P5", "沧县华锐化工有限公司", "30000")
    load_directory(store, penalty_lines(write_export(tmp_path / "first", registry=LATER), [certain]))
    next_second()
    load_directory(store, penalty_lines(write_export(tmp_path / "second", registry=LATER), [doubt, certain]))
    assert penalty_owner(store, "P5") == [F]
    next_second()
    last = penalty_lines(write_export(tmp_path / "last", registry=LATER), [doubt])
    load_directory(store, last)
    fine = "MATCH (p:Penalty {id: 'P5'}) RETURN p.fineAmount AS f"
    with fresh_store(last) as (fresh, _):
        want = (penalty_owner(fresh, "P5"), fresh.read(fine), _item(fresh, "P5")[0])
    assert want == ([], [{"f": 30000.0}], "open")
    assert (penalty_owner(store, "P5"), store.read(fine), _item(store, "P5")[0]) == want


# X8 --------------------------------------------------------------------------------------------
def test_an_open_item_drops_a_written_uscc_its_row_no_longer_writes_so_a_persons_link_holds(store, tmp_path):
    """P2 华锐 (A or B?) written with a junk USCC text '无': open item. The source blanks the USCC (still
    in doubt): the item drops '无'. A person links P2 to B; when the source then changes only P2's
    fine, the decision is about the row as it reads and P2 stays on B."""
    load_directory(store, penalty_lines(write_export(tmp_path / "first"), [pen_line("P2", "沧县华锐化工有限公司", "30000", uscc="无")]))
    assert _item(store, "P2") == ("open", None)
    next_second()
    load_directory(store, penalty_lines(write_export(tmp_path / "second"), [pen_line("P2", "沧县华锐化工有限公司", "30000", uscc="")]))
    assert _item(store, "P2") == ("open", None)
    ReviewService(store).link("Penalty:P2", B, by="analyst1", note="华瑞's")
    next_second()
    load_directory(store, penalty_lines(write_export(tmp_path / "third"), [pen_line("P2", "沧县华锐化工有限公司", "35000", uscc="")]))
    item = store.get_node("ReviewItem", "Penalty:P2")
    assert (penalty_owner(store, "P2"), _item(store, "P2")) == ([B], ("linked", B)), (item.get("writtenUscc"),
                                                                                         _history(store, "P2"))


def test_an_open_item_drops_facts_its_row_in_doubt_no_longer_asserts(store, tmp_path):
    """LIC-1 衡信 (in doubt) raised with an address; the licensing system blanks the address, still in
    doubt: the item drops it, so a person's link to B gives B no address (as on a fresh store)."""
    load_directory(store, with_licence(write_export(tmp_path / "first"), "河北省沧州市沧县崔尔庄镇西街３号", rep=""))
    next_second()
    last = with_licence(write_export(tmp_path / "last"), "", rep="")
    load_directory(store, last)
    assert store.get_node("ReviewItem", "Licence:LIC-1")["reviewStatus"] == "open"
    ReviewService(store).link("Licence:LIC-1", B, by="analyst1")
    with fresh_store(last) as (fresh, _):
        ReviewService(fresh).link("Licence:LIC-1", B, by="analyst1")
        want = fresh.get_node("Enterprise", B).get("address")
    item = store.get_node("ReviewItem", "Licence:LIC-1")
    assert store.get_node("Enterprise", B).get("address") == want, item.get("pendingFacts")
