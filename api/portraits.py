"""Portraits: an enterprise's or a risk point's whole dossier in one answer.

Both are a view (`api.views`) of the node — every relationship the ontology gives its class,
outward three hops, inward one or two — plus a few summaries computed for the reader:
recent IoT alarms, the latest assessment per method, recommendations when the graph has them,
hidden-danger counts (open, overdue, major), natural-disaster points near a risk point.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from riskgraph.api.deps import Context
from riskgraph.api.disclosure import level_name
from riskgraph.api.routes.common import node_out
from riskgraph.api.schema import (
    ASSESSMENT,
    ASSESSMENT_METHOD,
    ASSESSMENT_TIME,
    DANGER_GRADE,
    DANGER_STATE,
    DEADLINE,
    ENTERPRISE,
    HIDDEN_DANGER,
    MONITORING_ALARM,
    NATURAL_DISASTER_POINT,
    RECOMMENDATION,
    REGION_CODE,
    RISK_POINT,
)
from riskgraph.api.score_views import colour_view, score_provenance
from riskgraph.api.views import ViewBuilder, ViewNode
from riskgraph.graph.dialect import ident
from riskgraph.graph.values import LOCAL_TZ
from riskgraph.ontology.anchors import INSPECTION_TASK
from riskgraph.ontology.model import TIME_SUFFIX, Disclosure
from riskgraph.workflows.tasks import Tasks, overdue_checks
from riskgraph.workflows.tasks import settings as task_settings

ENTERPRISE_OUT_DEPTH = 3  # enterprise → hazard source → inventory → chemical
ENTERPRISE_IN_DEPTH = 1   # assessments of it, reports and warnings about it
RISK_POINT_OUT_DEPTH = 3  # risk point → analysis unit → risk event → control measure
RISK_POINT_IN_DEPTH = 2   # hidden dangers at it → the inspections that found them


def enterprise_portrait(ctx: Context, uscc: str, *, cap: int, alarms: int) -> dict[str, Any] | None:
    builder = ViewBuilder(ctx.store, ctx.schema, ctx.scope, ctx.disclosed)
    alarm_labels = ctx.schema.descendants(MONITORING_ALARM)
    root = builder.build(ENTERPRISE, uscc, out_depth=ENTERPRISE_OUT_DEPTH, in_depth=ENTERPRISE_IN_DEPTH, cap=cap,
                         caps={label: alarms for label in alarm_labels})
    if root is None:
        return None
    ctx.disclosed.subject = f"{ENTERPRISE}/{uscc}"
    out = builder.render(root)
    out["level"] = level_name(min(root.level, ctx.caller.ceiling))
    recent = sorted((n for n in root.walk() if n.label in alarm_labels), key=builder.sort_key, reverse=True)
    out["recentAlarms"] = [builder.render(n, relations=False) for n in recent[:alarms]]
    out["assessments"] = latest_assessments(builder, root)
    out["recommendations"] = recommendations(builder, root)
    out["summary"] = summary(ctx, builder, root)
    out["colours"] = colour_view(ctx, root)  # official colour, its method, the secondary one, the choice
    out["scoreProvenance"] = score_provenance(ctx, root, out["assessments"])  # when computed, from which data
    return out


def risk_point_portrait(ctx: Context, point_id: str, *, cap: int) -> dict[str, Any] | None:
    builder = ViewBuilder(ctx.store, ctx.schema, ctx.scope, ctx.disclosed)
    root = builder.build(RISK_POINT, point_id, out_depth=RISK_POINT_OUT_DEPTH, in_depth=RISK_POINT_IN_DEPTH, cap=cap)
    if root is None:
        return None
    ctx.disclosed.subject = f"{RISK_POINT}/{point_id}"
    out = builder.render(root)
    out["level"] = level_name(min(root.level, ctx.caller.ceiling))
    out["assessments"] = latest_assessments(builder, root)
    out["recommendations"] = recommendations(builder, root)
    out["naturalDisasterPoints"] = disaster_points_near(ctx, root.props.get(REGION_CODE), cap)
    return out


def latest_assessments(builder: ViewBuilder, root: ViewNode) -> list[dict[str, Any]]:
    """The newest assessment of the node per method."""
    schema = builder.schema
    rel = next((r for r in schema.annotations if schema.onto.is_a(ASSESSMENT, r.domain)), None)
    if rel is None:
        return []
    items = [i for i in root.relations.get("^" + rel.name, []) if isinstance(i, ViewNode)]
    time_prop = ASSESSMENT_TIME[1] + TIME_SUFFIX
    latest: dict[str, ViewNode] = {}
    for node in sorted(items, key=lambda n: n.props.get(time_prop) or 0, reverse=True):
        latest.setdefault(str(node.props.get(ASSESSMENT_METHOD[1])), node)
    return [builder.render(n, relations=False) for _, n in sorted(latest.items())]


def recommendations(builder: ViewBuilder, root: ViewNode) -> list[dict[str, Any]]:
    """The recommendation nodes in the view (written by `riskgraph assess`); empty before that."""
    labels = set(builder.schema.descendants(RECOMMENDATION))
    found = [n for n in root.walk() if n.label in labels]
    # the subject's own recommendations first (a risk point's before its hidden dangers'), best first
    found.sort(key=lambda n: (n.props.get("subjectLabel") != root.label, n.props.get("position") or 0))
    return [builder.render(n, relations=False) for n in found]


def summary(ctx: Context, builder: ViewBuilder, root: ViewNode) -> dict[str, Any]:
    """Counts per relationship, and the hidden dangers by state, deadline and grade."""
    counts = {name: root.truncated.get(name, sum(1 for _ in items)) for name, items in sorted(root.relations.items())}
    out: dict[str, Any] = {"counts": counts}
    schema = ctx.schema
    rel = schema.relation_between(ENTERPRISE, HIDDEN_DANGER)
    closed = schema.closed_states()
    rows = ctx.store.read(
        f"MATCH (e:{ident(ENTERPRISE)} {{{ident(ctx.onto.key_of(ENTERPRISE))}: $key}})-[:{ident(rel.type)}]->(h) "
        f"WITH h, (h.{ident(DANGER_STATE[1])} IS NULL OR NOT h.{ident(DANGER_STATE[1])} IN $closed) AS isOpen "
        "RETURN count(h) AS total, "
        "sum(CASE WHEN isOpen THEN 1 ELSE 0 END) AS open, "
        f"sum(CASE WHEN isOpen AND h.{ident(DEADLINE[1] + TIME_SUFFIX)} < $now THEN 1 ELSE 0 END) AS overdue, "
        f"sum(CASE WHEN h.{ident(DANGER_GRADE[1])} = $top THEN 1 ELSE 0 END) AS major, "
        f"sum(CASE WHEN isOpen AND h.{ident(DANGER_GRADE[1])} = $top AND h.{ident(DEADLINE[1] + TIME_SUFFIX)} < $now "
        "THEN 1 ELSE 0 END) AS majorOverdue",
        {"key": root.key, "closed": closed, "now": builder.now_ms, "top": schema.top_grade()},
    )
    row = rows[0] if rows else {}
    dangers: dict[str, Any] = {"total": int(row.get("total") or 0)}
    gates = {
        "open": (DANGER_STATE[1],),
        "overdue": (DANGER_STATE[1], DEADLINE[1]),
        "major": (DANGER_GRADE[1],),
        "majorOverdue": (DANGER_STATE[1], DEADLINE[1], DANGER_GRADE[1]),
    }
    level = root.level
    for name, props in gates.items():
        if all(ctx.disclosed.allows(HIDDEN_DANGER, p, level) for p in props):
            dangers[name] = int(row.get(name) or 0)
            if any(ctx.onto.disclosure_of(HIDDEN_DANGER, p) > Disclosure.PUBLIC for p in props):
                ctx.disclosed.mark(f"{root.label}/{root.key}#hiddenDangerSummary", level)
    if ctx.disclosed.allows(HIDDEN_DANGER, DANGER_STATE[1], level):
        by_state = ctx.store.read(
            f"MATCH (e:{ident(ENTERPRISE)} {{{ident(ctx.onto.key_of(ENTERPRISE))}: $key}})-[:{ident(rel.type)}]->(h) "
            f"RETURN h.{ident(DANGER_STATE[1])} AS s, count(h) AS n", {"key": root.key})
        dangers["byState"] = {str(r["s"]): int(r["n"]) for r in by_state if r["s"] is not None}
    out["hiddenDangers"] = dangers
    if ctx.disclosed.allows(INSPECTION_TASK, "frequency", level):
        tasks = Tasks(ctx.store)
        defs, _ = tasks.definitions(root.key)
        live = [t for t in defs if t.frequency and not t.stopped]
        window = int(task_settings()["overdue"]["window_days"])
        out["checks"] = {"tasks": len(live), "lapsed": len(overdue_checks(tasks, live, builder_today(builder), window)),
                         "window": window}
        ctx.disclosed.mark(f"{root.label}/{root.key}#checks", level)
    return out


def builder_today(builder: ViewBuilder) -> dt.date:
    """The day the view is read on (its clock), in the service's time zone."""
    return dt.datetime.fromtimestamp(builder.now_ms / 1000, LOCAL_TZ).date()


def disaster_points_near(ctx: Context, region: str | None, cap: int) -> list[dict[str, Any]]:
    """Natural-disaster risk points in the same county (regionCode) as the risk point."""
    if not region:
        return []
    out = []
    for label in ctx.schema.descendants(NATURAL_DISASTER_POINT):
        key = ident(ctx.onto.key_of(label))
        rows = ctx.store.read(
            f"MATCH (n:{ident(label)}) WHERE n.{ident(REGION_CODE)} = $region "
            f"RETURN properties(n) AS p ORDER BY n.{key} LIMIT $limit",
            {"region": region, "limit": cap},
        )
        for row in rows:
            out.append(node_out(ctx, label, row["p"], ctx.scope.level(label, row["p"])))
    return out
