"""Settling review items, continued: what a registry change costs (no file read, no row rewritten
for a fact still in doubt or whose row left the file), re-quoted lines, a load killed before the
file's end, rows of one fact in one batch of a first load, a fact whose row names no enterprise now,
and a person's link after a load settled the item (the row that stands is what counts)."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from er_support import REGISTRY, A, code, penalty_owner, write_export
from load_support import fresh_store
from review_support import LATER, MOVED, F, next_second, penalty_state, with_licence, with_penalty_rows

from riskgraph.loaders.load import load_directory
from riskgraph.loaders.review import ReviewService


def test_a_registry_change_rewrites_no_row_of_a_fact_still_in_doubt(store, tmp_path):
    """P8: an earlier row certain (华润 = A), the last row in doubt (华锐: A or B?): open item. A registry
    change that places nothing leaves the item open and the unchanged penalty file skipped: the
    earlier, certain row is not what stands (it used to be rewritten on every registry change)."""
    rows = [("P8", "沧县华润化工有限公司", "100"), ("P8", "沧县华锐化工有限公司", "200")]
    load_directory(store, with_penalty_rows(write_export(tmp_path / "first"), rows))
    assert penalty_state(store, "P8") == ([], "open")
    report = load_directory(store, with_penalty_rows(write_export(tmp_path / "second", registry=MOVED), rows))
    assert penalty_state(store, "P8") == ([], "open")
    pen = next(f for f in report.files if f.source == "enforcement" and f.file.endswith("penalties.csv"))
    assert (pen.loaded, pen.skipped) == (0, True)


def test_a_file_whose_item_row_left_is_not_read_on_a_registry_change(store, tmp_path):
    """P5 (in review) leaves the penalty file, which then stays unchanged. A later registry change does
    not make the load read the file (it used to, on every registry change: its old row was judged)."""
    load_directory(store, write_export(tmp_path / "first"))
    from er_support import PENALTIES
    rest = {k: v for k, v in PENALTIES.items() if k != "P5"}
    F = code("130921", "66666666")
    load_directory(store, write_export(tmp_path / "second", rest))
    skipped = []
    for n in range(3):
        extra = [(F, "沧县衡信化工有限公司", "赵立国", "")] + [(code("130921", f"7777777{i}"), f"沧县远达{i}机械有限公司", "孙伟", "")
                                                            for i in range(n)]
        report = load_directory(store, write_export(tmp_path / f"reg{n}", rest, [*REGISTRY, *extra]))
        skipped.append(next(f.skipped for f in report.files if f.file.endswith("penalties.csv")))
    assert skipped == [True, True, True]


def test_a_row_in_doubt_followed_by_a_certain_row_raises_no_item_in_a_fresh_load(store, tmp_path):
    """P8: 华锐 (A or B?) then 华润 (A, certain). The later row decides: A, and nothing to review, in a
    fresh load as in an incremental one that inserts the 华锐 row before the standing 华润 row."""
    rows = [("P8", "沧县华锐化工有限公司", "200"), ("P8", "沧县华润化工有限公司", "100")]
    load_directory(store, with_penalty_rows(write_export(tmp_path / "first"), rows[1:]))
    report = load_directory(store, with_penalty_rows(write_export(tmp_path / "later"), rows))
    assert penalty_state(store, "P8") == ([A], None)
    assert report.by_source()["enforcement"].settled == 0
    with fresh_store(tmp_path / "later") as (fresh, fresh_report):
        assert (penalty_state(fresh, "P8"), fresh_report.by_source()["enforcement"].settled) == (penalty_state(store, "P8"), 0)




def with_report(root: Path, named_unit: str | None) -> Path:
    """public_reports/reports.jsonl with one report, naming `named_unit` (None: naming no unit)."""
    import json
    (root / "public_reports").mkdir(parents=True, exist_ok=True)
    row = {"report_id": "R1", "channel": "随手拍", "time": "2026-03-05T10:00:00+08:00", "content": "罐区有人抽烟",
           "lon": 116.70, "lat": 38.10, "contact": "158****2956", "status": "核查中"}
    if named_unit is not None:
        row["named_unit"] = named_unit
    (root / "public_reports" / "reports.jsonl").write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"].append({"source": "public_reports", "path": "public_reports/reports.jsonl", "format": "jsonl"})
    (root / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return root


def _report(store):
    owner = [r["u"] for r in store.read("MATCH (e:Enterprise)-[:CONCERNS]-(:PublicReport {id: 'R1'}) RETURN e.uscc AS u")]
    item = store.get_node("ReviewItem", "PublicReport:R1") or {}
    return owner, item.get("reviewStatus"), item.get("decidedUscc")


@pytest.mark.parametrize("named", [None, "献县顺达物流有限公司"], ids=["no_unit", "unknown_unit"])
def test_a_settled_item_does_not_name_an_enterprise_the_fact_left_for_none(store, tmp_path, named):
    """R1 names 沧县衡信化工 (in review), settled on F once F registers; the reporter's row is then
    corrected to name no unit (or one no registry knows). The report is on no enterprise, and its
    item is no longer listed among F's settled items."""
    load_directory(store, with_report(write_export(tmp_path / "first"), "沧县衡信化工有限公司"))
    assert _report(store)[1] == "open"
    load_directory(store, with_report(write_export(tmp_path / "later", registry=LATER), "沧县衡信化工有限公司"))
    assert _report(store) == ([F], "settled", F)
    last = with_report(write_export(tmp_path / "last", registry=LATER), named)
    load_directory(store, last)
    with fresh_store(last) as (fresh, _):
        assert _report(fresh) == ([], None, None)
    assert _report(store)[0] == []
    _, items = ReviewService(store).list_items(status="settled", uscc=F)
    assert [i["reviewedKey"] for i in items if i["reviewedLabel"] == "PublicReport"] == [], _report(store)


def test_a_persons_link_confirming_a_settled_fact_keeps_the_standing_rows_facts(store, tmp_path):
    """LIC-1 raised in review (衡信 or 恒信?) with address 西街３号; the licensing system then corrects the
    address to 西街5号 while 衡信 (F) registers: settled on F, which takes 西街5号. A person confirming
    the link to F keeps what the standing row says, not the row the item was raised from."""


    no_address = [*REGISTRY, (F, "沧县衡信化工有限公司", "赵立国", "")]
    load_directory(store, with_licence(write_export(tmp_path / "first"), "河北省沧州市沧县崔尔庄镇西街３号"))
    assert store.get_node("ReviewItem", "Licence:LIC-1")["reviewStatus"] == "open"
    load_directory(store, with_licence(write_export(tmp_path / "later", registry=no_address), "河北省沧州市沧县崔尔庄镇西街5号"))
    assert store.get_node("ReviewItem", "Licence:LIC-1")["reviewStatus"] == "settled"
    before = store.get_node("Enterprise", F)["address"]
    assert before == "河北省沧州市沧县崔尔庄镇西街5号"
    ReviewService(store).link("Licence:LIC-1", F, by="analyst1", note="yes, 衡信")
    after = store.get_node("Enterprise", F)
    assert (after.get("address"), after.get("dataQuality")) == (before, None)


def requote(root: Path) -> Path:
    """The same penalty rows, every field quoted (other bytes, the same values)."""
    path = root / "enforcement" / "penalties.csv"
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(rows)
    return root


def test_a_fact_in_review_whose_line_was_requoted_is_settled_when_its_enterprise_registers(store, tmp_path):
    """P5 (衡信: in review); the source re-exports the same rows quoted (other bytes, same values). When
    衡信 (F) registers, P5's row is read again from its new line and P5 is settled on F, as a fresh
    load links it (the record's line key follows its row to the new line)."""
    load_directory(store, write_export(tmp_path / "first"))
    load_directory(store, requote(write_export(tmp_path / "quoted")))
    assert penalty_state(store, "P5") == ([], "open")
    last = requote(write_export(tmp_path / "last", registry=LATER))
    report = load_directory(store, last)
    again = load_directory(store, last)                               # and the next load of it
    with fresh_store(last) as (fresh, _):
        assert penalty_owner(fresh, "P5") == [F]
        assert penalty_state(store, "P5") == ([F], "settled"), (report.by_source()["enforcement"], again.by_source()["enforcement"])


@pytest.mark.parametrize("kill_at", ["file_end", "row_P7"])
def test_a_load_killed_before_the_files_end_settles_the_item_on_the_rerun(store, tmp_path, monkeypatch, kill_at):
    """P5 in review (衡辛: F or C?). The source corrects it to 衡信 (F, certain); the load writes the row
    and is killed before the file's end, where items are settled. The rerun of the same export
    resolves the file's items again and settles P5's on F."""
    from er_support import PENALTIES

    from riskgraph.loaders.engine import FileLoader
    _, authority, fine = PENALTIES["P5"]
    load_directory(store, write_export(tmp_path / "first", {**PENALTIES, "P5": ("沧县衡辛化工有限公司", authority, fine)}, LATER))
    assert penalty_state(store, "P5") == ([], "open")
    next_second()  # loads are timed to the second: a load of the same second counts as newer (engine._existing)
    p7 = PENALTIES["P7"]
    last = write_export(tmp_path / "last", {**PENALTIES, "P7": (p7[0], p7[1], "41000")}, LATER)  # P7's fine too
    with monkeypatch.context() as m:
        def killed(self, *args):
            raise KeyboardInterrupt("killed after the file's last row")
        if kill_at == "file_end":
            m.setattr(FileLoader, "_settle_reviews", killed)
        else:  # one row a batch: killed as it writes P7, two rows after P5
            m.setenv("RISKGRAPH_LOAD_BATCH_ROWS", "1")
            write = FileLoader.write

            def write_until_p7(self, batch, *args):
                if any(p.key == "P7" for p in batch):
                    killed(self)
                return write(self, batch, *args)
            m.setattr(FileLoader, "write", write_until_p7)
        with pytest.raises(KeyboardInterrupt):
            load_directory(store, last)
    load_directory(store, last)
    with fresh_store(last) as (fresh, _):
        assert penalty_state(fresh, "P5") == ([F], None)
    assert penalty_state(store, "P5") == ([F], "settled")


def test_a_persons_link_of_an_item_settled_by_a_corrected_row_holds_at_the_next_change(store, tmp_path):
    """P5 raised as 衡辛 (F or C?); the source corrects it to 衡信 (F): settled on F, the item taking the
    row's written name. A person says it is D's. When the source then changes only P5's fine, the
    decision is about the row as it reads (衡信): P5 stays on D."""
    from er_support import PENALTIES, D
    _, authority, fine = PENALTIES["P5"]
    load_directory(store, write_export(tmp_path / "first", {**PENALTIES, "P5": ("沧县衡辛化工有限公司", authority, fine)}, LATER))
    load_directory(store, write_export(tmp_path / "second", PENALTIES, LATER))
    assert penalty_state(store, "P5") == ([F], "settled")
    ReviewService(store).link("Penalty:P5", D, by="analyst1", note="泊头's")
    assert penalty_state(store, "P5") == ([D], "linked")
    load_directory(store, write_export(tmp_path / "third", {**PENALTIES, "P5": ("沧县衡信化工有限公司", authority, "12000")}, LATER))
    assert penalty_state(store, "P5") == ([D], "linked")
