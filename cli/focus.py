"""`riskgraph focus-list`: the focus-inspection list (重点监管) per county, printed or exported to XLSX.

The same list as `GET /focus-inspections` (reasoning/focus_list.py): enterprises whose 应急〔2018〕19号
rating is below the threshold or automatically 红, per county, most urgent first, with the reasons. The
workbook has one sheet with every entry (filterable by county) and a sheet with how it was made.
"""
from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from rich.console import Console
from rich.table import Table

from riskgraph import graph
from riskgraph.api.access import region_prefix
from riskgraph.reasoning.focus_list import County, entries, focus_list
from riskgraph.reasoning.models.config import load_config

console = Console()
COLOUR_ZH = {"RED": "红", "ORANGE": "橙", "YELLOW": "黄", "BLUE": "蓝"}
FILL = {"RED": "FFC7CE", "ORANGE": "FFD8A8", "YELLOW": "FFF2A8", "BLUE": "C6E0F5"}
HEADER = ["县区代码", "县区", "序号", "统一社会信用代码", "企业名称", "诊断分级得分", "得分下限（未评估项计入）",
          "官方风险颜色", "官方颜色依据", "参考颜色", "参考颜色依据", "自动判红", "重点监管原因", "计算时间", "数据截至"]
WIDTHS = [10, 12, 6, 22, 34, 12, 14, 10, 22, 10, 22, 30, 90, 26, 12]


def cmd_focus_list(args: argparse.Namespace) -> int:
    region = args.region or None
    with graph.connect(args.graph) as store:
        counties = focus_list(store, below=args.below, region_prefix=_prefix(region))
    if args.out:
        n = write_xlsx(counties, Path(args.out), below=args.below, region=region)
        console.print(f"wrote {n} enterprises in {len(counties)} counties to {args.out}")
        return 0
    table = Table("county", "uscc", "name", "score", "min", "colour", "reasons", title="重点监管 (focus-inspection list)")
    for county in counties:
        for e in county.enterprises:
            table.add_row(f"{county.code} {county.name or ''}", e.uscc, e.name or "", _num(e.score), _num(e.score_min),
                          COLOUR_ZH.get(e.official_colour or "", ""), "；".join(e.reasons))
    console.print(table)
    return 0


def write_xlsx(counties: list[County], path: Path, *, below: float | None, region: str | None) -> int:
    """The list as a workbook (sheet 重点监管 and sheet 说明); returns the number of enterprises."""
    cfg = load_config("enterprise_rating")
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "重点监管"
    ws.append(HEADER)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for county in counties:
        for i, e in enumerate(county.enterprises, start=1):
            ws.append([county.code, county.name, i, e.uscc, e.name, e.score, e.score_min,
                       COLOUR_ZH.get(e.official_colour or "", e.official_colour), e.official_method,
                       COLOUR_ZH.get(e.secondary_colour or "", e.secondary_colour), e.secondary_method,
                       "；".join(e.auto_red), "\n".join(e.reasons), e.computed_at, e.as_of])
            row = ws.max_row
            if e.official_colour in FILL:
                ws.cell(row=row, column=8).fill = PatternFill("solid", fgColor=FILL[e.official_colour])
            ws.cell(row=row, column=13).alignment = Alignment(wrap_text=True, vertical="top")
            for col in (6, 7):
                ws.cell(row=row, column=col).number_format = "0.0"
    for i, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = width
    ws.freeze_panes = "D2"
    ws.auto_filter.ref = ws.dimensions
    about = wb.create_sheet("说明")
    threshold = float(cfg["focus_below"] if below is None else below)
    for line in (
        ("名单", "重点监管企业名单（按县区，最需检查的在前）"),
        ("入选条件", f"危险化学品企业安全风险评估诊断分级（应急〔2018〕19号）得分低于 {threshold:g} 分，或触发自动判红条件"),
        ("排序", "自动判红在前，其次得分由低到高，再次得分下限由低到高"),
        ("评估方法", f"{cfg['method']} {cfg.version}"),
        ("得分下限", "未能评估的分项按全部扣分计入后的最低可能得分（未评估不等于满分）"),
        ("官方颜色", "由 reasoning/config/assess.toml [enterprise.official_colour] 指定的模型给出；另一模型的颜色为参考颜色"),
        ("区域", region or "全部"),
        ("企业数", sum(len(c.enterprises) for c in counties)),
        ("县区数", len(counties)),
        ("导出时间", dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).isoformat(timespec="seconds")),
    ):
        about.append(list(line))
    about.column_dimensions["A"].width = 12
    about.column_dimensions["B"].width = 90
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return len(entries(counties))


def add_focus_commands(sub: argparse._SubParsersAction) -> None:
    help_text = "the focus-inspection list (重点监管) per county: print it, or export it to XLSX with --out"
    p = sub.add_parser("focus-list", help=help_text, description=help_text)
    p.set_defaults(func=cmd_focus_list)
    p.add_argument("--out", help="FILE.xlsx to write (default: print a table)")
    p.add_argument("--below", type=float, help="rating score threshold (default: the rating's focus_below, 75)")
    p.add_argument("--region", help="GB/T 2260 code; 130100 covers its counties")


def _prefix(code: str | None) -> str | None:
    """130100 → 1301 (its counties), 130000 → 13; a county code as is."""
    return region_prefix(code) if code else None


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:.1f}"
