"""A published warning as a CAP 1.2 alert (OASIS Common Alerting Protocol, Version 1.2, 2010).

The identifier is the warning id, which begins with the region's GB/T 2260 code; `language` is
zh-CN; `area` carries the GB/T 2260 geocode and, where the subject has coordinates, a circle around
it (CAP circles are "lat,lon radius-km"; no region polygon is stored in the graph). Severity,
urgency and certainty per level and rule come from rules.toml [cap]. Times are written with their
+08:00 offset and whole seconds, as the schema's pattern requires.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree as ET

from riskgraph.reasoning.warnings.rules import Rules

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
MEDIA_TYPE = "application/cap+xml"
GEOCODE_NAME = "GB/T 2260"
LEVEL_ZH = {"RED": "红色", "ORANGE": "橙色", "YELLOW": "黄色", "BLUE": "蓝色"}


def cap_time(value: str | dt.datetime | None) -> str | None:
    if value is None:
        return None
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        raise ValueError("a CAP time needs its offset")
    return moment.replace(microsecond=0).isoformat()


def _add(parent: ET.Element, tag: str, text: Any = None) -> ET.Element:
    el = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        el.text = str(text)
    return el


def alert(w: Mapping[str, Any], rules: Rules, *, region_names: Sequence[str] = (), point: tuple[float, float] | None = None,
          web: str | None = None, evidence: Sequence[Mapping[str, Any]] = (), measures: Sequence[Mapping[str, Any]] = ()) -> bytes:
    """The CAP XML of one warning (its stored properties, decoded)."""
    ET.register_namespace("", CAP_NS)
    cap = rules["cap"]
    level = w.get("warningLevel") or "BLUE"
    root = ET.Element(f"{{{CAP_NS}}}alert")
    _add(root, "identifier", w["id"])
    _add(root, "sender", cap["sender"])
    _add(root, "sent", cap_time(w.get("publishedAt") or w.get("lastTriggeredAt")))
    _add(root, "status", "Actual")
    _add(root, "msgType", "Alert")
    _add(root, "source", f"{w.get('ruleId')} ({w.get('ruleVersion')})")
    _add(root, "scope", "Restricted")
    _add(root, "restriction", "应急管理部门及相关生产经营单位")
    _add(root, "code", f"riskgraph:{w.get('warningType')}")
    info = _add(root, "info")
    _add(info, "language", cap["language"])
    _add(info, "category", cap["category"])
    _add(info, "event", w.get("name") or w.get("warningType"))
    _add(info, "responseType", "Monitor")
    _add(info, "urgency", w.get("urgency") or cap["levels"][level]["urgency"])
    _add(info, "severity", w.get("warningSeverity") or cap["levels"][level]["severity"])
    _add(info, "certainty", w.get("certainty") or cap["certainty"]["default"])
    code = _add(info, "eventCode")
    _add(code, "valueName", "riskgraph:warningType")
    _add(code, "value", w.get("warningType"))
    for tag, value in (("effective", w.get("publishedAt") or w.get("lastTriggeredAt")), ("onset", w.get("firstTriggeredAt"))):
        if value:
            _add(info, tag, cap_time(value))
    _add(info, "senderName", "应急管理局 RiskGraph 风险精准预警")
    _add(info, "headline", f"{LEVEL_ZH.get(level, level)}预警：{w.get('name')}"[:160])
    description = w.get("description") or ""
    if evidence:
        description += "\n依据：" + "；".join(f"{e.get('label')} {e.get('key')}" for e in evidence[:10])
    _add(info, "description", description)
    if measures:
        _add(info, "instruction", "\n".join(f"{i + 1}. {m.get('name')}" for i, m in enumerate(measures)))
    if web:
        _add(info, "web", web)
    for name, value in (("riskgraph:level", level), ("riskgraph:rule", w.get("ruleId")),
                        ("riskgraph:enterprise", w.get("responsibleEnterprise")),
                        ("riskgraph:responsiblePerson", w.get("responsiblePerson"))):
        if value:
            param = _add(info, "parameter")
            _add(param, "valueName", name)
            _add(param, "value", value)
    area = _add(info, "area")
    _add(area, "areaDesc", "、".join(region_names) or w.get("regionCode") or "未知区域")
    if point is not None:
        lon, lat = point
        _add(area, "circle", f"{lat:.6f},{lon:.6f} {float(cap['circle_km']):.1f}")
    if w.get("regionCode"):
        geocode = _add(area, "geocode")
        _add(geocode, "valueName", GEOCODE_NAME)
        _add(geocode, "value", w["regionCode"])
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
