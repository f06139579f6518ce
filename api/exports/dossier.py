"""The printable dossier (一企一档) of an enterprise: one A4 PDF with a CJK font, the enterprise's QR code,
its facts, its colours and the 应急〔2018〕19号 rating breakdown (every component, weight and contribution).

Built from the portrait the caller may read (api/portraits.py), so the PDF discloses exactly what
GET /enterprises/{uscc} would. Fonts: the CJK font the placards use (api/qr/render.find_font:
WenQuanYi Micro Hei from Debian's fonts-wqy-microhei, Noto CJK …), embedded in the file.
"""
from __future__ import annotations

import datetime as dt
import io
from functools import lru_cache
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from riskgraph.api.exports.tables import component_list
from riskgraph.api.qr.render import find_font
from riskgraph.ontology.errors import N_, RiskGraphError
from riskgraph.ontology.model import Ontology
from riskgraph.reasoning.models.config import load_config

FONT = "RiskGraphCJK"
COLOUR_ZH = {"RED": "红", "ORANGE": "橙", "YELLOW": "黄", "BLUE": "蓝"}
COLOUR_RGB = {"RED": colors.HexColor("#E53935"), "ORANGE": colors.HexColor("#FB8C00"),
              "YELLOW": colors.HexColor("#FDD835"), "BLUE": colors.HexColor("#1E88E5")}
#: the facts printed first, in this order (others follow as the ontology lists them)
FIRST_FACTS = ("name", "uscc", "regionCode", "address", "legalRepresentative", "supervisionIndustry", "industryCode",
               "riskColour", "ratingScore", "status")
SKIP = {"components", "evidence"}


class NoFont(RiskGraphError, RuntimeError):
    """No font with Chinese glyphs is installed (Debian: apt-get install fonts-wqy-microhei)."""


@lru_cache(maxsize=1)
def _font() -> str:
    path = find_font(None)
    if path is None:
        raise NoFont(N_("no font with Chinese glyphs is installed: install fonts-wqy-microhei (or Noto Sans CJK)"))
    pdfmetrics.registerFont(TTFont(FONT, path, subfontIndex=0))
    return FONT


def _styles() -> dict[str, ParagraphStyle]:
    font = _font()
    return {"title": ParagraphStyle("t", fontName=font, fontSize=16, leading=22, spaceAfter=4),
            "h": ParagraphStyle("h", fontName=font, fontSize=12, leading=17, spaceBefore=8, spaceAfter=4),
            "p": ParagraphStyle("p", fontName=font, fontSize=9, leading=13),
            "small": ParagraphStyle("s", fontName=font, fontSize=7.5, leading=10, textColor=colors.grey)}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, (list, tuple)):
        return "、".join(_text(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{k}: {_text(v)}" for k, v in value.items())
    return str(value)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


#: most characters printed in one cell: a cell taller than a page cannot be laid out (long evidence lists)
CELL_CHARS = 400


def _cut(text: str) -> str:
    return text if len(text) <= CELL_CHARS else text[:CELL_CHARS] + f"…（共 {len(text)} 字，完整内容见导出表格）"


def _grid(rows: list[list[Any]], widths: list[float], style: ParagraphStyle, header: bool = True) -> Table:
    cells = [[Paragraph(_esc(_cut(_text(c))), style) for c in row] for row in rows]
    table = Table(cells, colWidths=widths, repeatRows=1 if header else 0)
    commands = [("GRID", (0, 0), (-1, -1), 0.3, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#EEEEEE")))
    table.setStyle(TableStyle(commands))
    return table


def rating_of(portrait: dict[str, Any]) -> dict[str, Any] | None:
    """The newest 应急〔2018〕19号 assessment in the portrait, if the caller may read it."""
    method = str(load_config("enterprise_rating")["method"])
    for a in portrait.get("assessments") or []:
        if str(a.get("properties", {}).get("method", "")).startswith(method):
            return a
    return None


def dossier_pdf(portrait: dict[str, Any], onto: Ontology, *, qr_png: bytes | None, qr_note: str = "") -> bytes:
    """The dossier as PDF bytes."""
    st = _styles()
    props = dict(portrait.get("properties") or {})
    labels = {name: p.label_zh or name for name, p in onto.properties_of("Enterprise").items()}
    story: list[Any] = []
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).isoformat(timespec="minutes")
    head = [Paragraph(_esc(f"一企一档 · {props.get('name') or portrait.get('key')}"), st["title"]),
            Paragraph(_esc(f"统一社会信用代码 {portrait.get('key')}"), st["p"]),
            Paragraph(_esc(f"公开级别 {portrait.get('level', '')} · 生成时间 {now}"), st["small"])]
    if qr_png:
        code = Image(io.BytesIO(qr_png), width=38 * mm, height=38 * mm, kind="proportional")
        top = Table([[head, code]], colWidths=[130 * mm, 45 * mm])
    else:
        top = Table([[head, Paragraph(_esc(qr_note or "尚未赋码"), st["small"])]], colWidths=[130 * mm, 45 * mm])
    top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [top, Spacer(1, 4 * mm)]

    colours = portrait.get("colours") or {}
    official = (colours.get("official") or {}).get("colour")
    if official:
        band = Table([[Paragraph(_esc(f"风险等级（官方颜色）：{COLOUR_ZH.get(official, official)}  "
                                      f"（{(colours.get('official') or {}).get('method') or ''}）"), st["h"])]],
                     colWidths=[175 * mm])
        band.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), COLOUR_RGB.get(official, colors.lightgrey))]))
        story.append(band)

    story.append(Paragraph("基本信息", st["h"]))
    ordered = [k for k in FIRST_FACTS if k in props] + sorted(k for k in props if k not in FIRST_FACTS and k not in SKIP)
    facts = [["项目", "内容"]] + [[labels.get(k, k), props[k]] for k in ordered if props[k] not in (None, "", [])]
    story.append(_grid(facts, [50 * mm, 125 * mm], st["p"]))

    story.append(Paragraph("安全风险评估诊断分级（应急〔2018〕19号）", st["h"]))
    rating = rating_of(portrait)
    if rating is None:
        story.append(Paragraph("无可读的评估结果（尚未评估，或当前身份无权查看）", st["p"]))
    else:
        rp = rating["properties"]
        story.append(Paragraph(_esc(f"得分 {_text(rp.get('score'))} · 等级 {_text(rp.get('level'))} · "
                                    f"颜色 {COLOUR_ZH.get(str(rp.get('riskColour')), _text(rp.get('riskColour')))} · "
                                    f"方法 {rp.get('method')} {_text(rp.get('methodVersion'))}"), st["p"]))
        listed = component_list(rp.get("components"))
        rows: list[list[Any]] = [["分项", "分值", "权重", "贡献", "依据"]]
        rows += [[c.get("name"), c.get("value"), c.get("weight"), c.get("contribution"),
                  "；".join(c.get("evidence") or []) or c.get("note") or ""] for c in listed]
        story.append(_grid(rows, [45 * mm, 18 * mm, 18 * mm, 18 * mm, 76 * mm], st["p"]))

    others = [a for a in portrait.get("assessments") or [] if a is not rating]
    if others:
        story.append(Paragraph("其他评估", st["h"]))
        rows = [["方法", "得分", "等级/颜色", "时间"]]
        for a in others:
            p = a.get("properties", {})
            rows.append([p.get("method"), p.get("score"), p.get("riskColour") or p.get("level"), p.get("assessedAt")])
        story.append(_grid(rows, [60 * mm, 25 * mm, 35 * mm, 55 * mm], st["p"]))

    counts = (portrait.get("summary") or {}).get("counts") or {}
    if counts:
        story.append(Paragraph("档案内容统计", st["h"]))
        story.append(_grid([["关系", "条数"]] + [[k, v] for k, v in counts.items()], [120 * mm, 55 * mm], st["p"]))
    story.append(Spacer(1, 6 * mm))
    story.append(Paragraph("本档案由 RiskGraph 依据当前身份可查看的字段生成；扫码查看实时状态。", st["small"]))

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=17 * mm, rightMargin=17 * mm, topMargin=15 * mm,
                            bottomMargin=15 * mm, title=f"一企一档 {portrait.get('key')}", author="RiskGraph")
    doc.build(story)
    return buf.getvalue()
