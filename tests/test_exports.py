"""Exports a bureau needs, over real HTTP and from the real CLI: CSV / XLSX tables with filters, the
quarantine report, and the printable dossier PDF (Chinese text, a decodable QR code)."""
from __future__ import annotations

import csv
import io
import subprocess
import sys

import httpx
import pytest
import zxingcpp
from openpyxl import load_workbook
from PIL import Image
from pypdf import PdfReader

from riskgraph import graph
from tests.api_support import E1, E2, ENTERPRISES, assert_error


def _csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith("\ufeff".encode()), "UTF-8 with BOM, for Excel"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_enterprise_list_csv_and_xlsx_hold_what_the_json_list_holds(api):
    listed = api.get(None, "/enterprises", params={"size": 200}).json()
    r = api.get(None, "/exports/enterprises.csv")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv") and "attachment" in r.headers["content-disposition"]
    rows = _csv(r.content)
    assert len(rows) == listed["total"] == len(ENTERPRISES) and int(r.headers["x-export-rows"]) == len(rows)
    assert {row["uscc"] for row in rows} == {i["key"] for i in listed["items"]}
    by_key = {row["uscc"]: row for row in rows}
    assert by_key[E1]["name"] == "石家庄冀中化工有限公司"
    assert "tags" not in rows[0] and "employees" not in rows[0]  # the public reads neither

    filtered = _csv(api.get(None, "/exports/enterprises.csv", params={"region": "130209"}).content)
    assert [row["uscc"] for row in filtered] == [E2]

    x = api.get("admin", "/exports/enterprises.xlsx", params={"region": "130100"})
    assert x.status_code == 200 and x.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(x.content))
    assert wb.sheetnames == ["企业名单", "说明"]
    sheet = list(wb["企业名单"].values)
    header, body = sheet[0], sheet[1:]
    assert "tags" in header  # the admin reads them
    assert {row[header.index("uscc")] for row in body} == {e["uscc"] for e in ENTERPRISES if e["regionCode"].startswith("1301")}
    notes = dict(wb["说明"].values)
    assert "130100" in notes["筛选条件"]


def test_assessments_come_with_their_components(api):
    x = api.get("admin", "/exports/assessments.xlsx")
    assert x.status_code == 200, x.text
    wb = load_workbook(io.BytesIO(x.content))
    assert wb.sheetnames[:3] == ["评估及分项", "评估", "分项"]
    assessments = list(wb["评估"].values)
    ids = [row[0] for row in assessments[1:]]
    assert "AS-E1-new" in ids and "AS-R1" in ids
    parts = list(wb["分项"].values)
    header = parts[0]
    r1 = {row[header.index("component_name")]: row[header.index("component_value")] for row in parts[1:]
          if row[header.index("assessment")] == "AS-R1"}
    assert r1 == {"hazard": 6.1, "vulnerability": 4.0, "coping": 3.2}
    long = _csv(api.get("admin", "/exports/assessments.csv").content)
    assert {row["component_name"] for row in long if row["id"] == "AS-E1-new"} == {"inspections", "hiddenDangers"}
    assert [row["subjectKey"] for row in long if row["id"] == "AS-E1-new"] == [E1, E1]
    # an enterprise reads scores and components (enterprise level) of its own assessments only
    own = _csv(api.get("enterprise", "/exports/assessments.csv").content)
    scored = {row["subjectKey"] for row in own if row.get("score")}
    assert E1 in scored and E2 not in scored
    assert {row["component_name"] for row in own if row["subjectKey"] == E2} == {""}


def test_focus_list_and_quarantine_need_their_roles(api):
    assert_error(api.get(None, "/exports/focus-inspections.csv"), 403, "forbidden")
    focus = api.get("inspector", "/exports/focus-inspections.xlsx")
    assert focus.status_code == 200 and "重点监管" in load_workbook(io.BytesIO(focus.content)).sheetnames
    assert_error(api.get(None, "/exports/quarantine.csv"), 401, "unauthorized")
    assert_error(api.get("inspector", "/exports/quarantine.csv"), 403, "forbidden")
    assert_error(api.get("analyst", "/exports/quarantine.csv", params={"reason": "nope"}), 422, "validation_error")
    ok = api.get("analyst", "/exports/quarantine.csv", params={"reason": "orphan_reference"})
    assert ok.status_code == 200 and _csv(ok.content) == []
    assert_error(api.get(None, "/exports/enterprises.pdf"), 422, "validation_error")


def _pdf(body: bytes) -> tuple[str, list[str]]:
    reader = PdfReader(io.BytesIO(body))
    text = "\n".join(page.extract_text() for page in reader.pages)
    codes = []
    for page in reader.pages:
        for image in page.images:
            codes += [c.text for c in zxingcpp.read_barcodes(Image.open(io.BytesIO(image.data)))]
    return text, codes


def test_dossier_pdf_has_chinese_text_and_a_code_that_scans(api):
    r = api.get("admin", f"/enterprises/{E1}/dossier.pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
    text, codes = _pdf(r.content)
    assert "石家庄冀中化工有限公司" in text and E1 in text and "法定代表人" in text and "基本信息" in text
    assert "分类监管标签" in text  # the admin's dossier holds inspector-level fields
    assert len(codes) == 1 and "/Q/" in codes[0].upper()
    public_text, public_codes = _pdf(api.get(None, f"/enterprises/{E1}/dossier.pdf").content)
    assert "石家庄冀中化工有限公司" in public_text and "分类监管标签" not in public_text and "涉氯" not in public_text
    assert public_codes == codes  # the code the admin issued is the current one, shown to the public too
    assert_error(api.get(None, "/enterprises/91130100MA0NOPE000/dossier.pdf"), 404, "not_found")


def test_error_messages_follow_accept_language(api):
    en = api.get(None, "/enterprises/NOPE")
    assert en.headers["content-language"] == "en" and en.json()["error"]["message"] == "enterprise NOPE not found"
    zh = api.get(None, "/enterprises/NOPE", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    error = assert_error(zh, 404, "not_found")
    assert zh.headers["content-language"] == "zh-CN" and error["message"].startswith("未找到")
    bad = api.get(None, "/enterprises", params={"size": 0}, headers={"Accept-Language": "zh"})
    assert assert_error(bad, 422, "validation_error")["message"] == "请求参数无效"
    prefers_en = api.get(None, "/enterprises/NOPE", headers={"Accept-Language": "zh;q=0.1, en"})
    assert prefers_en.json()["error"]["message"] == "enterprise NOPE not found"


def _cli(api, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "riskgraph.cli", "--lang", "en", "--graph", api.store_url, *argv],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow  # several CLI processes (~15 s)
def test_cli_writes_the_same_tables_and_the_dossier(api, tmp_path):
    out = tmp_path / "e.csv"
    done = _cli(api, "export", "enterprises", "--out", str(out), "--region", "130209")
    assert done.returncode == 0, done.stderr
    assert [row["uscc"] for row in _csv(out.read_bytes())] == [E2]
    xlsx = tmp_path / "a.xlsx"
    assert _cli(api, "export", "assessments", "--out", str(xlsx), "--method", "inform").returncode == 0
    assert [row[0] for row in list(load_workbook(xlsx)["评估"].values)[1:]] == ["AS-R1", "AS-I1"] or \
        {row[0] for row in list(load_workbook(xlsx)["评估"].values)[1:]} == {"AS-R1", "AS-I1"}
    q = tmp_path / "q.xlsx"
    assert _cli(api, "export", "quarantine", "--out", str(q)).returncode == 0 and "隔离行" in load_workbook(q).sheetnames
    bad = _cli(api, "export", "enterprises", "--out", str(tmp_path / "e.txt"))
    assert bad.returncode == 2 and "--out must end in .csv / .xlsx" in bad.stderr and not (tmp_path / "e.txt").exists()
    pdf = tmp_path / "d.pdf"
    done = _cli(api, "dossier", E1, "--out", str(pdf), "--data-dir", str(api.data_dir))
    assert done.returncode == 0, done.stderr
    text, codes = _pdf(pdf.read_bytes())
    assert "石家庄冀中化工有限公司" in text and len(codes) == 1
    missing = _cli(api, "dossier", "91130100MA0NOPE000", "--out", str(tmp_path / "x.pdf"))
    assert missing.returncode == 1 and "no enterprise" in missing.stderr and not (tmp_path / "x.pdf").exists()
    with graph.connect(api.store_url) as store:
        assert store.counts().labels["Enterprise"] == len(ENTERPRISES)  # exports write nothing to the graph
    assert httpx is not None
