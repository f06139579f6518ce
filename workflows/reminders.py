"""Reminders owed to an enterprise and its bureau: a rectification deadline near or passed, checks
lapsed, a placard whose printed name no longer holds.

`sweep()` (the command `riskgraph sweep`, run daily) finds what is owed and hands each reminder to
`send()`, the one place reminders leave through. Each reminder has an id made of its kind, its
subject and its occasion (the deadline, the day), so a sweep run twice sends nothing twice.

`send()` writes a `Reminder` node (kind, recipients, message, due date, linked to its subject)
through the one write service — the record that it is owed, once — and then hands it to the
warnings' outbox (`riskgraph.notify.outbox`) on the warnings' channels: one web delivery (the inbox
and its live events) per account of its recipients, the enterprise's own accounts and the
inspectors whose regions cover it; with the channels file (`riskgraph channel-add`), also each
webhook channel whose region covers the enterprise (one limited to a lowest warning level wants
warnings, not reminders), and WeChat / mobile push for the recipients bound on them (as a warning's
push plan reaches them). The dispatcher delivers them with retries, like a published warning's.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from riskgraph.api.access import Role
from riskgraph.api.schema import DANGER_STATE, DEADLINE, ENTERPRISE, HIDDEN_DANGER, REGION_CODE, Schema
from riskgraph.api.users import UserStore
from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import to_epoch_ms
from riskgraph.notify import outbox
from riskgraph.notify.channels import WEB, ChannelRegistry
from riskgraph.ontology.anchors import REMINDER
from riskgraph.reasoning.warnings.rules import colour_rank
from riskgraph.workflows.hidden_dangers import OPEN
from riskgraph.workflows.origin import Origin
from riskgraph.workflows.tasks import Tasks, overdue_checks
from riskgraph.workflows.writes import Link, WriteConflict, WriteService

DEADLINE_NEAR, DEADLINE_PASSED, CHECKS_LAPSED, PLACARD_OUTDATED = (
    "deadline_near", "deadline_passed", "checks_overdue", "placard_outdated")
#: remind this many days before a rectification deadline
DAYS_BEFORE = 3


@dataclass(frozen=True)
class Reminder:
    kind: str
    subject: tuple[str, str]        #: (label, key) it is about
    recipients: tuple[str, ...]     #: enterprise:<uscc>, bureau:<region code>
    message: str
    due_on: dt.date
    occasion: str                   #: what makes it new (a deadline, a day, a code): part of its id

    @property
    def id(self) -> str:
        return f"RM-{self.kind}-{self.subject[0]}-{self.subject[1]}-{self.occasion}"


def recipients(uscc: str | None, region: str | None) -> tuple[str, ...]:
    out = []
    if uscc:
        out.append(f"enterprise:{uscc}")
    if region:
        out.append(f"bureau:{region}")
    return tuple(out)


def send(store: GraphStore, reminder: Reminder, origin: Origin, *, users: UserStore | None = None,
         registry: ChannelRegistry | None = None) -> bool:
    """Hand one reminder on; False when it was handed on before. The record, then the outbox."""
    try:
        WriteService(store).create(REMINDER, {
            "id": reminder.id, "name": reminder.message[:200], "reminderKind": reminder.kind,
            "recipients": list(reminder.recipients), "message": reminder.message, "dueOn": reminder.due_on,
            "remindedAt": origin.at,
        }, origin, links=[Link(_about(store), reminder.subject)])
    except WriteConflict:
        return False
    if users is not None:
        outbox.enqueue(store, deliveries(reminder, users, registry))
    return True


def accounts(reminder: Reminder, users: UserStore) -> list[str]:
    """The active accounts a reminder reaches: the enterprise's own, and the inspectors covering its region."""
    out = []
    for user in users.list():
        if not user.active:
            continue
        caller = user.caller()
        for to in reminder.recipients:
            kind, _, value = to.partition(":")
            if (kind == "enterprise" and user.role is Role.ENTERPRISE and user.uscc == value) or (
                    kind == "bureau" and user.role is Role.INSPECTOR and caller.covers_region(value)):
                out.append(user.username)
                break
    return out


def deliveries(reminder: Reminder, users: UserStore, registry: ChannelRegistry | None = None) -> list[outbox.NewDelivery]:
    """The reminder on every channel that reaches its recipients (each delivery once, by its key)."""

    def payload(key: str) -> dict:
        return {"event": "reminder", "deliveryId": key, "title": reminder.message, "summary": reminder.message,
                "reminder": {"id": reminder.id, "kind": reminder.kind, "label": reminder.subject[0],
                             "key": reminder.subject[1], "dueOn": reminder.due_on.isoformat()}}

    out = []
    for username in accounts(reminder, users):
        key = outbox.idempotency_key("reminder", reminder.id, username)
        out.append(outbox.NewDelivery(key, WEB, f"user:{username}", payload(key), address=username))
    if registry is None:
        return out
    region = next((to.partition(":")[2] for to in reminder.recipients if to.startswith("bureau:")), None)
    for channel in registry.list("webhook"):
        if channel.accepts(region, colour_rank(None), colour_rank):
            key = outbox.idempotency_key("reminder", reminder.id, "webhook", channel.id)
            out.append(outbox.NewDelivery(key, "webhook", f"webhook:{channel.id}", payload(key), address=channel.id,
                                          channel_id=channel.id, recipient_name=channel.name))
    for kind in ("wechat", "mobile"):
        configured = registry.list(kind)
        if not configured:
            continue
        for to in reminder.recipients:
            address = registry.address(kind, to)
            if address:
                key = outbox.idempotency_key("reminder", reminder.id, kind, to)
                out.append(outbox.NewDelivery(key, kind, to, payload(key), address=address, channel_id=configured[0].id))
    return out


def _about(store: GraphStore) -> str:
    return next(r.type for r in store.ontology.relations.values() if r.domain == REMINDER)


def deadline_reminders(store: GraphStore, today: dt.date, *, days_before: int = DAYS_BEFORE) -> list[Reminder]:
    """Open hidden dangers whose deadline is at most `days_before` days away, or has passed."""
    onto = store.ontology
    schema = Schema(onto)
    has = schema.relation_between(ENTERPRISE, HIDDEN_DANGER).type
    deadline_ms = ident(DEADLINE[1] + "Ms")
    rows = store.read(
        f"MATCH (e:{ident(ENTERPRISE)})-[:{ident(has)}]->(h:{ident(HIDDEN_DANGER)}) "
        f"WHERE h.{ident(DANGER_STATE[1])} IN $open AND h.{deadline_ms} <= $until "
        f"RETURN h.{ident(onto.key_of(HIDDEN_DANGER))} AS id, h.name AS name, h.{ident(DEADLINE[1])} AS deadline, "
        f"e.{ident(onto.key_of(ENTERPRISE))} AS uscc, e.{ident(REGION_CODE)} AS region ORDER BY id",
        {"open": list(OPEN), "until": to_epoch_ms(today + dt.timedelta(days=days_before))})
    out = []
    for row in rows:
        deadline = dt.date.fromisoformat(str(row["deadline"])[:10])
        name = row["name"] or row["id"]
        if deadline >= today:
            left = (deadline - today).days
            kind, text = DEADLINE_NEAR, f"隐患“{name}”整改期限为{deadline.isoformat()}，" + ("今天到期" if left == 0 else f"还剩{left}天")
        else:
            kind, text = DEADLINE_PASSED, f"隐患“{name}”已超过整改期限{deadline.isoformat()}，请尽快整改并提交"
        out.append(Reminder(kind, (HIDDEN_DANGER, str(row["id"])), recipients(row["uscc"], row["region"]), text,
                            deadline, deadline.isoformat()))
    return out


def check_reminders(store: GraphStore, today: dt.date) -> list[Reminder]:
    """One reminder per enterprise with checks that lapsed (over the configured window), once a day."""
    tasks = Tasks(store)
    defs, _ = tasks._defs(store.read(tasks._chain(""), {}))
    lapsed = overdue_checks(tasks, defs, today)
    by_owner: dict[str, list] = {}
    for task, period in lapsed:
        by_owner.setdefault(task.owner.uscc, []).append((task, period))
    out = []
    for uscc, items in sorted(by_owner.items()):
        owner = items[0][0].owner
        text = f"{owner.name or uscc}有{len(items)}次隐患排查逾期未做（近{_window()}天）"
        out.append(Reminder(CHECKS_LAPSED, (ENTERPRISE, uscc), recipients(uscc, owner.region), text, today, today.isoformat()))
    return out


def placard_reminder(label: str, key: str, name: str, uscc: str | None, region: str | None, token_id: str,
                     today: dt.date) -> Reminder:
    """The printed name of a code no longer holds: the enterprise and its bureau replace the placard."""
    return Reminder(PLACARD_OUTDATED, (label, key), recipients(uscc, region),
                    f"码牌（码号{token_id}）印制的名称已变更为“{name}”，请更换新码牌", today, token_id)


def sweep(store: GraphStore, origin: Origin, today: dt.date, *, days_before: int = DAYS_BEFORE,
          extra: Iterable[Reminder] = (), users: UserStore | None = None,
          registry: ChannelRegistry | None = None) -> list[Reminder]:
    """Every reminder owed today, each sent once; returns those sent now."""
    owed: Sequence[Reminder] = [*deadline_reminders(store, today, days_before=days_before),
                                *check_reminders(store, today), *extra]
    return [r for r in owed if send(store, r, origin, users=users, registry=registry)]


def _window() -> int:
    from riskgraph.workflows.tasks import settings

    return int(settings()["overdue"]["window_days"])
