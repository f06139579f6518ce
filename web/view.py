"""What one caller sees and may do on one code: turned from the scan's dossier (already filtered to the
caller's level, and for the public by the bureau's policy) into what the templates print, in Chinese.

- the public (and anyone reading the entity at the public level): the policy's sections, the
  reporting entry, signing in;
- the enterprise itself: today's checks, its open hidden dangers with the steps it may take (report,
  assign, submit a rectification, accept and close a 一般隐患), its risk points' analysis, its
  safety commitment;
- its bureau (an inspector in scope, an admin): the dossier at its level, the dangers with their
  steps (acceptance, sending back, 销号), recording an inspection;
- analysts: the dossier, read-only.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from rdflib import RDFS, Literal

from riskgraph.api.access import Caller, Role
from riskgraph.api.deps import Context
from riskgraph.api.qr.entities import Facts
from riskgraph.api.qr.policy import PublicPolicy
from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import LOCAL_TZ
from riskgraph.ontology.anchors import ENTERPRISE, HIDDEN_DANGER, REGION, RISK_POINT
from riskgraph.ontology.model import RG, Disclosure
from riskgraph.reasoning.models.config import load_config
from riskgraph.web.labels import UNKNOWN, Colour, Labels
from riskgraph.workflows.actors import Owner, is_bureau, is_owner
from riskgraph.workflows.hidden_dangers import OPEN, Danger, Loop
from riskgraph.workflows.tasks import DONE, OVERDUE, Tasks

#: the disclosure levels' individuals in the ontology (their rdfs:label@zh names a level on the page)
_LEVEL_IRIS = {Disclosure.PUBLIC: RG.Public, Disclosure.ENTERPRISE: RG.EnterpriseLevel,
               Disclosure.INSPECTOR: RG.InspectorLevel, Disclosure.INTERNAL: RG.Internal}
STATUS_ZH = {DONE: "已完成", "due": "待检查", OVERDUE: "已逾期"}
STEP_ZH = {"import": "导入", "report": "上报", "assign": "交办整改", "submit": "提交整改", "accept": "验收通过",
           "reject": "退回整改", "close": "销号", "update": "更新"}


@dataclass
class Item:
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    colour: Colour | None = None


@dataclass
class Section:
    title: str
    items: list[Item]
    more: int = 0


@dataclass
class TaskItem:
    id: str
    name: str
    point: str
    colour: Colour
    frequency: str
    period: str
    status: str
    status_zh: str
    note: str | None


@dataclass
class DangerItem:
    id: str
    name: str
    grade: str
    major: bool
    state: str
    deadline: str | None
    overdue: bool
    person: str | None
    note: str | None
    found: str | None
    days_open: int | None
    steps: list[str]


@dataclass
class PointItem:
    id: str
    name: str
    colour: Colour
    method: str | None
    method_zh: str
    factors: dict[str, Any]
    revision: int


@dataclass
class View:
    token: str
    title: str
    kind: str
    colour: Colour
    level: str
    code_no: str
    expires: str
    rows: list[tuple[str, str]]
    sections: list[Section]
    user: str | None = None
    role: str | None = None
    notice: str | None = None
    commitment: tuple[str, str] | None = None
    report: bool = False
    owner: bool = False
    bureau: bool = False
    inspector: bool = False
    uscc: str | None = None
    tasks: list[TaskItem] = field(default_factory=list)
    task_counts: dict[str, int] = field(default_factory=dict)
    dangers: list[DangerItem] = field(default_factory=list)
    points: list[PointItem] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    today: str = ""


def level_zh(onto_graph: Any, level: Disclosure) -> str:
    for value in onto_graph.objects(_LEVEL_IRIS[level], RDFS.label):
        if isinstance(value, Literal) and value.language == "zh":
            return str(value)
    return UNKNOWN


def build(ctx: Context, token: str, facts: Facts, body: dict[str, Any], policy: PublicPolicy) -> View:
    """The view of the scanned entity for the request's caller (body: the scan's JSON answer)."""
    onto = ctx.onto
    labels = Labels(onto, ctx.store)
    caller = ctx.caller
    dossier = body["dossier"]
    code = body["code"]
    level = Disclosure[str(body.get("level") or "public").upper()]
    props = dossier.get("properties") or {}
    label = dossier["label"]
    colour_value = props.get("riskColour") or props.get("reportedColour")
    today = dt.datetime.now(LOCAL_TZ).date()
    public = level == Disclosure.PUBLIC
    view = View(
        token=token, title=str(props.get("name") or labels.cls(label)), kind=labels.cls(label),
        colour=labels.colour(colour_value) if (not public or policy.shows("colour")) else labels.colour(None),
        level=level_zh(onto.graph, level), code_no=code["tokenId"], expires=str(code["expiresAt"])[:10],
        rows=labels.rows(label, props, skip=("name", "riskColour", "reportedColour", "safetyCommitment", "commitmentOn")),
        sections=_sections(labels, dossier), today=today.isoformat(),
    )
    if props.get("safetyCommitment"):
        view.commitment = (str(props["safetyCommitment"]), str(props.get("commitmentOn") or ""))
    view.report = not public or policy.shows("report")
    if code.get("stale"):
        newer = code.get("reissued") or {}
        view.notice = ("码牌印制的名称已变更，请更换新码牌" + (f"（新码号 {newer['tokenId']}）" if newer.get("tokenId") else ""))
    if not caller.anonymous:
        view.user = caller.username
        view.role = level_zh(onto.graph, caller.ceiling)
    uscc = facts.enterprise
    if uscc is None:
        return view
    owner = Owner(uscc=uscc, region=facts.enterprise_region)
    view.uscc = uscc
    view.owner = is_owner(caller, owner)
    view.bureau = is_bureau(caller, owner)
    view.inspector = view.bureau and caller.role is Role.INSPECTOR
    point = facts.key if facts.label == RISK_POINT else None
    if view.owner or view.bureau:
        _dangers(ctx, labels, view, owner, point, today)
        _options(labels, view)
    if view.owner or view.bureau:
        _tasks(ctx, labels, view, owner, point, today)
    if view.owner or view.bureau:
        _points(ctx, labels, view, owner, point)
    return view


def _sections(labels: Labels, dossier: dict[str, Any]) -> list[Section]:
    """The dossier's related records, grouped by kind (each kind's Chinese name is its title)."""
    groups: dict[str, list[Item]] = {}
    for items in (dossier.get("relations") or {}).values():
        for item in items:
            if item.get("ref") or not isinstance(item.get("properties"), dict):
                continue
            kind = item["label"]
            p = item["properties"]
            colour = p.get("riskColour") or p.get("reportedColour")
            groups.setdefault(kind, []).append(Item(
                title=labels.title(kind, p), rows=labels.rows(kind, p, skip=("name", labels.onto.key_of(kind)))[:6],
                colour=labels.colour(colour) if colour else None))
    order = sorted(groups, key=lambda k: (k != RISK_POINT, k != HIDDEN_DANGER, labels.cls(k)))
    return [Section(labels.cls(kind), groups[kind][:20], max(0, len(groups[kind]) - 20)) for kind in order]


def _dangers(ctx: Context, labels: Labels, view: View, owner: Owner, point: str | None, today: dt.date) -> None:
    loop = Loop(ctx.store)
    for d in loop.of_enterprise(owner, risk_point=point):
        view.dangers.append(_danger_item(labels, loop, ctx.caller, d, today))


def _danger_item(labels: Labels, loop: Loop, caller: Caller, d: Danger, today: dt.date) -> DangerItem:
    p = d.props
    deadline = str(p.get("deadline") or "")[:10] or None
    found = str(p.get("foundOn") or "")[:10] or None
    state = str(p.get("state") or "")
    open_ = state in OPEN
    return DangerItem(
        id=d.id, name=str(p.get("name") or labels.cls(HIDDEN_DANGER)), grade=labels.value(HIDDEN_DANGER, "grade", p.get("grade")),
        major=p.get("grade") == "MAJOR", state=labels.value(HIDDEN_DANGER, "state", state),
        deadline=deadline, overdue=bool(open_ and deadline and deadline < today.isoformat()),
        person=p.get("rectificationPerson"), note=p.get("stateNote") or None, found=found,
        days_open=(today - dt.date.fromisoformat(found)).days if found and open_ else None,
        steps=loop.allowed(caller, d))


def _tasks(ctx: Context, labels: Labels, view: View, owner: Owner, point: str | None, today: dt.date) -> None:
    tasks = Tasks(ctx.store)
    try:
        _, occurrences = tasks.day(ctx.caller, owner.uscc, today, today)
    except Exception:  # noqa: BLE001 -- the page shows the rest when the task list cannot be read
        return
    for occ in occurrences:
        if point and str(occ.task.point.get("id")) != point:
            continue
        pt = occ.task.point
        view.tasks.append(TaskItem(
            id=occ.id, name=occ.task.name, point=str(pt.get("name") or labels.cls(RISK_POINT)),
            colour=labels.colour(pt.get("riskColour") or pt.get("reportedColour")),
            frequency=labels.concept("CheckFrequency", occ.task.frequency), period=occ.period.key, status=occ.status,
            status_zh=STATUS_ZH[occ.status], note=(occ.record or {}).get("conclusion")))
    view.task_counts = {s: sum(1 for t in view.tasks if t.status == s) for s in STATUS_ZH}


def _points(ctx: Context, labels: Labels, view: View, owner: Owner, point: str | None) -> None:
    onto = ctx.onto
    e_key, p_key = ident(onto.key_of(ENTERPRISE)), ident(onto.key_of(RISK_POINT))
    has = next(r.type for r in onto.relations.values() if r.domain == ENTERPRISE and r.range == RISK_POINT)
    rows = ctx.store.read(
        f"MATCH (e:{ident(ENTERPRISE)} {{{e_key}: $u}})-[:{ident(has)}]->(p:{ident(RISK_POINT)}) "
        f"RETURN properties(p) AS p ORDER BY p.{p_key} LIMIT 100", {"u": owner.uscc})
    for row in rows:
        p = row["p"]
        if point and str(p.get(onto.key_of(RISK_POINT))) != point:
            continue
        method = p.get("assessmentMethod")
        view.points.append(PointItem(
            id=str(p.get(onto.key_of(RISK_POINT))), name=str(p.get("name") or labels.cls(RISK_POINT)),
            colour=labels.colour(p.get("riskColour") or p.get("reportedColour")), method=method,
            method_zh=labels.concept("RiskAssessmentMethod", method) if method else "未分析",
            factors={k: p.get(k) for k in ("likelihood", "exposure", "consequence", "severity")},
            revision=int(p.get("revision") or 0)))


def _options(labels: Labels, view: View) -> None:
    cfg = load_config("risk_point")
    view.options = {
        "grades": labels.options("HiddenDangerGrade"),
        "methods": labels.options("RiskAssessmentMethod", ["LEC", "LS"]),
        "inspection_types": labels.options("EnforcementType"),
        "hazards": labels.top_options("HazardFactor"),
        "L": list(cfg["lec"]["L"]), "E": list(cfg["lec"]["E"]), "C": list(cfg["lec"]["C"]),
        "LS": list(cfg["ls"]["scale"]),
        "factor_names": {name: labels.prop(RISK_POINT, name) for name in ("likelihood", "exposure", "consequence", "severity")},
    }


def history_rows(labels: Labels, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A danger's history in Chinese, oldest first."""
    out = []
    for e in entries:
        details = []
        values = e.get("values") or {}
        for name in ("deadline", "rectificationPerson"):
            if values.get(name):
                details.append((labels.prop(HIDDEN_DANGER, name), labels.value(HIDDEN_DANGER, name, values[name])))
        evidence = e.get("evidence") or {}
        for name in ("measure", "cost", "accepted", "conclusion"):
            if evidence.get(name) not in (None, ""):
                details.append((labels.prop("Rectification", name), labels.value("Rectification", name, evidence[name])))
        out.append({"step": STEP_ZH.get(e.get("step") or "", "更新"), "at": labels.value(HIDDEN_DANGER, "stateChangedAt", e.get("at")),
                    "by": e.get("by") or "—", "state": labels.value(HIDDEN_DANGER, "state", e.get("toState")),
                    "note": e.get("note") or None, "details": details,
                    "photos": len(evidence.get("photos") or [])})
    return out


def census_regions(store: GraphStore) -> list[tuple[str, str]]:
    """The counties the census form offers: (code, name) of every county region in the graph."""
    key = ident(store.ontology.key_of(REGION))
    rows = store.read(f"MATCH (r:{ident(REGION)}) WHERE r.regionLevel = $county RETURN r.{key} AS code, r.name AS name "
                      "ORDER BY code", {"county": "COUNTY"})
    return [(str(r["code"]), str(r["name"] or r["code"])) for r in rows]
