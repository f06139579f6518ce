"""Render the page, its per-caller panel and its fragments (Jinja2, autoescaped, templates shipped in
the package)."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from riskgraph.ontology.anchors import RISK_POINT
from riskgraph.web.labels import UNKNOWN, Labels
from riskgraph.web.view import View

#: what a version's differences are called on the page (the analysis JSON's fields)
FIELD_ZH = {"method": "评估方法", "value": "风险值", "colour": "风险等级", "level": "分级", "hazards": "危险有害因素",
            "controls": "管控措施", "note": "说明"}


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(loader=PackageLoader("riskgraph.web", "templates"), autoescape=select_autoescape(["html"]),
                       trim_blocks=True, lstrip_blocks=True)


def page(view: View) -> str:
    return environment().get_template("page.html").render(v=view)


def panel(view: View) -> str:
    return environment().get_template("panel.html").render(v=view)


def census(regions: list[tuple[str, str]]) -> str:
    """The census form, its county list from the graph."""
    return environment().get_template("census.html").render(regions=regions)


def history(rows: list[dict[str, Any]]) -> str:
    return environment().get_template("history.html").render(rows=rows)


def analysis(labels: Labels, versions: list[dict[str, Any]]) -> str:
    """A risk point's analysis versions, newest first, with their differences, in Chinese."""
    out = []
    for ver in versions:
        filed = ver.get("analysis") or {}
        factors = filed.get("factors") or {}
        rows = [(labels.prop(RISK_POINT, k), str(v)) for k, v in factors.items()]
        if filed.get("hazards"):
            rows.append((FIELD_ZH["hazards"], labels.value(RISK_POINT, "hazardFactors", filed["hazards"])))
        if filed.get("controls"):
            rows.append((FIELD_ZH["controls"], "、".join(filed["controls"])))
        if filed.get("note"):
            rows.append((FIELD_ZH["note"], str(filed["note"])))
        changes = []
        for name, change in (ver.get("changes") or {}).items():
            changes.append({"what": _field(labels, name), "old": _shown(labels, name, change.get("old")),
                            "new": _shown(labels, name, change.get("new"))})
        out.append({"revision": ver.get("revision"), "at": labels.value(RISK_POINT, "analysedAt", ver.get("analysedAt")),
                    "by": ver.get("by") or UNKNOWN, "method": labels.concept("RiskAssessmentMethod", filed.get("method")),
                    "value": filed.get("value") if filed.get("value") is not None else UNKNOWN,
                    "colour": labels.colour(filed.get("colour")), "rows": rows, "changes": changes})
    return environment().get_template("analysis.html").render(versions=out)


def _field(labels: Labels, name: str) -> str:
    if name.startswith("factors."):
        return labels.prop(RISK_POINT, name.split(".", 1)[1])
    return FIELD_ZH.get(name, UNKNOWN)


def _shown(labels: Labels, name: str, value: Any) -> str:
    if value is None or value == []:
        return UNKNOWN
    if name == "method":
        return labels.concept("RiskAssessmentMethod", value)
    if name == "colour":
        return labels.colour(value).label
    if name == "hazards":
        return labels.value(RISK_POINT, "hazardFactors", value)
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)
