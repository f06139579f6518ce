"""The tables a bureau exports, built with the same queries, scope and disclosure as the JSON lists.

Each builder takes the request context (the API's, or `local_context` for the CLI, which reads as an
administrator) so a caller exports exactly what it may read; rows are capped at `EXPORT_CAP`.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from types import SimpleNamespace
from typing import Any, Literal, cast

from riskgraph.api.access import Caller, Role
from riskgraph.api.deps import Context
from riskgraph.api.disclosure import Disclosed
from riskgraph.api.exports.formats import Table
from riskgraph.api.pagination import PageParams
from riskgraph.api.read_cache import ReadCache
from riskgraph.api.schema import Schema
from riskgraph.api.scope import Scope
from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.ontology.anchors import ENTERPRISE, QUARANTINED_ROW
from riskgraph.ontology.model import Disclosure

#: most rows one export holds (an export is one answer: page the JSON lists for more)
EXPORT_CAP = 100_000
_PAGE = 1_000
_CN = dt.timezone(dt.timedelta(hours=8))


def local_context(store: GraphStore, username: str = "cli") -> Context:
    """A context for the command line: an administrator's reads, nothing audited (the CLI user owns the store)."""
    schema = Schema(store.ontology)
    caller = Caller(role=Role.ADMIN, username=username)
    svc = SimpleNamespace(store=store, schema=schema, onto=store.ontology, reads=ReadCache(entries=0))  # one run: nothing to keep
    return cast(Context, SimpleNamespace(request=None, svc=svc, caller=caller, store=store, schema=schema,
                                         onto=store.ontology, scope=Scope(store, schema, caller),
                                         disclosed=Disclosed(store.ontology, caller, store)))


def _stamp() -> str:
    return dt.datetime.now(_CN).isoformat(timespec="seconds")


def _pages(fetch: Any) -> list[dict[str, Any]]:
    """Every item of a paged list function (`fetch(PageParams)` → {items, total}), up to the cap."""
    items: list[dict[str, Any]] = []
    page = 1
    while len(items) < EXPORT_CAP:
        got = fetch(PageParams(page=page, size=_PAGE))
        items += got["items"]
        if page * _PAGE >= got["total"] or not got["items"]:
            break
        page += 1
    return items[:EXPORT_CAP]


def enterprise_table(ctx: Context, *, q: str | None = None, uscc: str | None = None, region: str | None = None,
                     industry: str | None = None, colour: str | None = None, tag: str | None = None,
                     rating_below: float | None = None, scale: str | None = None,
                     sort: Literal["key", "score"] = "key") -> Table:
    """The enterprise list with the filters of GET /enterprises; one row per enterprise, the caller's fields."""
    from riskgraph.api.routes.enterprises import list_enterprises

    items = _pages(lambda paging: list_enterprises(q=q, uscc=uscc, region=region, industry=industry, colour=colour,
                                                   tag=tag, rating_below=rating_below, scale=scale, sort=sort,
                                                   facets=False, paging=paging, ctx=ctx))
    rows = [{"uscc": i["key"], **i["properties"]} for i in items]
    filters = {k: v for k, v in dict(q=q, uscc=uscc, region=region, industry=industry, colour=colour, tag=tag,
                                      rating_below=rating_below, scale=scale).items() if v is not None}
    return Table.of("企业名单", rows, first=["uscc", "name", "regionCode"],
                    notes=[("名单", "企业名单"), ("筛选条件", json.dumps(filters, ensure_ascii=False) if filters else "无"),
                           ("企业数", str(len(rows))), ("导出时间", _stamp())])


FOCUS_COLUMNS = ["county", "countyName", "rank", "uscc", "name", "score", "scoreMin", "officialColour", "officialMethod",
                 "secondaryColour", "secondaryMethod", "autoRed", "reasons", "computedAt", "asOf"]


def focus_table(ctx: Context, *, below: float | None = None, region: str | None = None) -> Table:
    """The focus-inspection list (重点监管), one row per enterprise, counties most urgent first."""
    from riskgraph.api.routes.common import region_param, scope_condition
    from riskgraph.reasoning.focus_list import focus_list
    from riskgraph.reasoning.models.config import load_config

    cond, params = scope_condition(ctx, "e", Disclosure.INSPECTOR, "the focus-inspection list")
    counties = focus_list(ctx.store, below=below, region_prefix=region_param(region), scope=(cond, params))
    rows = []
    for county in counties:
        for rank, e in enumerate(county.enterprises, start=1):
            d = asdict(e)
            ctx.disclosed.mark(f"{ENTERPRISE}/{e.uscc}#focusInspection", Disclosure.INSPECTOR)
            rows.append({"county": county.code, "countyName": county.name, "rank": rank, "uscc": d["uscc"],
                         "name": d["name"], "score": d["score"], "scoreMin": d["score_min"],
                         "officialColour": d["official_colour"], "officialMethod": d["official_method"],
                         "secondaryColour": d["secondary_colour"], "secondaryMethod": d["secondary_method"],
                         "autoRed": "；".join(d["auto_red"]), "reasons": "；".join(d["reasons"]),
                         "computedAt": d["computed_at"], "asOf": d["as_of"]})
    cfg = load_config("enterprise_rating")
    threshold = float(cfg["focus_below"] if below is None else below)
    return Table("重点监管", FOCUS_COLUMNS, rows[:EXPORT_CAP], [
        ("名单", "重点监管企业名单（按县区，最需检查的在前）"),
        ("入选条件", f"应急〔2018〕19号 诊断分级得分低于 {threshold:g} 分，或触发自动判红条件"),
        ("评估方法", f"{cfg['method']} {cfg.version}"), ("区域", region or "全部"),
        ("企业数", str(len(rows))), ("导出时间", _stamp())])


ASSESSMENT_FIRST = ["id", "subjectLabel", "subjectKey", "subjectName", "method", "methodVersion", "score", "level",
                    "riskColour"]
COMPONENT_COLUMNS = ["name", "value", "weight", "contribution", "evidence", "note"]


def component_list(parts: Any) -> list[dict[str, Any]]:
    """An assessment's components as a list of {name, value, weight, contribution, …}: the models write
    `{"components": [...]}`; older or hand-made ones a plain {name: value} object."""
    if isinstance(parts, str):
        try:
            parts = json.loads(parts)
        except ValueError:
            return []
    if isinstance(parts, dict) and isinstance(parts.get("components"), list):
        return [c for c in parts["components"] if isinstance(c, dict)]
    if isinstance(parts, dict):
        return [{"name": k, "value": v} for k, v in parts.items() if not isinstance(v, (dict, list))]
    return []


def assessment_tables(ctx: Context, *, methods: list[str] | None = None, region: str | None = None) -> list[Table]:
    """Assessments (one row each) and their components (one row per component, with the assessment's id).

    The first table is the long form — each component with its assessment's fields — which is what CSV holds."""
    from riskgraph.api.routes.assessments import list_assessments

    items = _pages(lambda paging: list_assessments(ctx, methods or [""], region, paging))
    assessments, components, long = [], [], []
    for item in items:
        props = dict(item["properties"])
        parts = props.pop("components", None)
        base = {"id": item["key"], "subjectLabel": item["subject"]["label"], "subjectKey": item["subject"]["key"],
                "subjectName": item["subject"]["name"], **props}
        assessments.append(base)
        listed = component_list(parts)
        for c in listed:
            comp = {f"component_{k}": c.get(k) for k in COMPONENT_COLUMNS}
            components.append({"assessment": item["key"], **comp})
            long.append({**base, **comp})
        if not listed:
            long.append(base)
    notes = [("内容", "风险评估结果及其分项（components：分值、权重、贡献）"),
             ("方法", ", ".join(methods) if methods else "全部"), ("区域", region or "全部"),
             ("评估数", str(len(assessments))), ("导出时间", _stamp())]
    return [Table.of("评估及分项", long, first=ASSESSMENT_FIRST, notes=notes),
            Table.of("评估", assessments, first=ASSESSMENT_FIRST),
            Table.of("分项", components, first=["assessment"])]


QUARANTINE_COLUMNS = ["source", "file", "row", "reason", "message", "raw", "loadId"]


def quarantine_table(store: GraphStore, *, reason: str | None = None, source: str | None = None) -> Table:
    """Rows the loaders could not load, with their reason codes and raw values (the quarantine report)."""
    rows = store.read(
        f"MATCH (q:{ident(QUARANTINED_ROW)}) WHERE ($reason IS NULL OR q.reasonCode = $reason) "
        "AND ($source IS NULL OR q.sourceSystem = $source) "
        "RETURN q.sourceSystem AS source, q.sourceFile AS file, q.rowNumber AS row, q.reasonCode AS reason, "
        "q.description AS message, q.rawValues AS raw, q.loadId AS loadId ORDER BY source, file, row LIMIT $limit",
        {"reason": reason, "source": source, "limit": EXPORT_CAP},
    )
    by_reason: dict[str, int] = {}
    for r in rows:
        by_reason[str(r["reason"])] = by_reason.get(str(r["reason"]), 0) + 1
    return Table("隔离行", QUARANTINE_COLUMNS, rows, [
        ("内容", "未能入库的数据行（隔离），含原因代码与原始值"), ("原因", reason or "全部"), ("来源", source or "全部"),
        ("行数", str(len(rows))), ("按原因", json.dumps(by_reason, ensure_ascii=False)), ("导出时间", _stamp())])
