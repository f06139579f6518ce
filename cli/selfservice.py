"""Self-service from the command line: the same workflows the code's page and the API use.

    riskgraph sweep [--today 2026-06-01] [--uscc U …]     daily: generate 排查 tasks, send the reminders owed
    riskgraph danger STEP ID --as ACCOUNT [--deadline D] [--responsible P] [--note N] [--description T] [--cost X]
    riskgraph danger-history ID --as ACCOUNT

STEP is assign, submit, accept, reject or close. `--as` names the account the step is taken as (its
role and scope decide, exactly as over HTTP); the write records the command as its endpoint and the
`cli` channel. `sweep` is meant for cron, once a day: it makes a task for every control measure that
has none, then writes (once) and hands to the outbox the reminders owed: rectification deadlines
near or passed, lapsed checks, placards whose printed name no longer holds.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any

from riskgraph import graph
from riskgraph.api.qr.registry import REGISTRY_FILE
from riskgraph.api.qr.service import QrService
from riskgraph.api.schema import Schema
from riskgraph.api.settings import Settings
from riskgraph.api.users import UserStore
from riskgraph.cli.errors import BadValue
from riskgraph.graph.dialect import ident
from riskgraph.graph.values import LOCAL_TZ
from riskgraph.notify.channels import channel_registry
from riskgraph.ontology.anchors import ENTERPRISE
from riskgraph.ontology.errors import N_
from riskgraph.workflows.actors import WorkflowError
from riskgraph.workflows.hidden_dangers import STEPS, Loop
from riskgraph.workflows.origin import CLI, Origin
from riskgraph.workflows.photos import PhotoStore
from riskgraph.workflows.reminders import placard_reminder, sweep
from riskgraph.workflows.tasks import Tasks
from riskgraph.workflows.writes import WriteError


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(getattr(args, "graph", None), Path(args.data_dir) if getattr(args, "data_dir", None) else None)


def _say(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, default=str))


def cmd_sweep(args: argparse.Namespace) -> int:
    settings = _settings(args)
    today = dt.date.fromisoformat(args.today) if args.today else dt.datetime.now(LOCAL_TZ).date()
    origin = Origin(actor=None, role="system", channel=CLI, endpoint="riskgraph sweep")
    users = UserStore(settings.users_db)
    with graph.connect(settings.store_url) as store:
        tasks = Tasks(store)
        key = ident(store.ontology.key_of(ENTERPRISE))
        usccs = args.uscc or [str(r["u"]) for r in store.read(f"MATCH (e:{ident(ENTERPRISE)}) RETURN e.{key} AS u ORDER BY u")]
        made = 0
        for uscc in usccs:
            made += len(tasks.generate(origin, uscc, today))
        placards = []
        if (settings.data_dir / REGISTRY_FILE).exists():  # codes were issued here: are their placards still right?
            qr = QrService(settings.data_dir, store, Schema(store.ontology))
            placards = [placard_reminder(rec.label, rec.key, facts.name, facts.enterprise,
                                         facts.enterprise_region or facts.region, rec.token_id, today)
                        for rec, facts in qr.outdated()]
        sent = sweep(store, origin, today, extra=placards, users=users, registry=channel_registry(settings.data_dir))
    counts: dict[str, int] = {}
    for r in sent:
        counts[r.kind] = counts.get(r.kind, 0) + 1
    _say({"today": today.isoformat(), "tasksWritten": made, "remindersSent": len(sent), "byKind": counts})
    return 0


def cmd_danger(args: argparse.Namespace) -> int:
    settings = _settings(args)
    user = UserStore(settings.users_db).get(args.as_user)
    if user is None or not user.active:
        raise BadValue(N_("no active account {as_user!r}"), as_user=args.as_user)
    caller = user.caller()
    origin = Origin(actor=user.username, role=user.role.value, channel=CLI, endpoint=f"riskgraph danger {args.step}")
    raw = {k: v for k, v in vars(args).items() if k in ("deadline", "responsible", "note", "description", "cost") and v is not None}
    with graph.connect(settings.store_url) as store:
        loop = Loop(store, PhotoStore(settings.data_dir))
        try:
            if args.step == "assign":
                if not args.deadline or not args.responsible:
                    raise BadValue(N_("assign needs --deadline and --responsible"))
                moved = loop.assign(caller, origin, args.id, deadline=dt.date.fromisoformat(args.deadline),
                                    responsible=args.responsible, note=args.note, raw=raw)
            elif args.step == "submit":
                if not args.description:
                    raise BadValue(N_("submit needs --description"))
                moved = loop.submit(caller, origin, args.id, description=args.description, cost=args.cost, raw=raw)
            elif args.step == "accept":
                moved = loop.accept(caller, origin, args.id, note=args.note, raw=raw)
            elif args.step == "reject":
                moved = loop.reject(caller, origin, args.id, note=args.note or "",
                                    deadline=dt.date.fromisoformat(args.deadline) if args.deadline else None, raw=raw)
            else:
                moved = loop.close(caller, origin, args.id, note=args.note, raw=raw)
        except WorkflowError as exc:
            raise BadValue(N_("{code_}: {message_}"), code_=exc.code, message_=exc.message) from None
        except WriteError as exc:
            raise BadValue(N_("{code_}: {message_}"), code_=exc.code, message_=exc.message) from None
    _say({"id": args.id, "from": moved.previous, "to": moved.danger.state, "record": moved.written.record,
          "rectification": moved.rectification.key if moved.rectification else None})
    return 0


def cmd_danger_history(args: argparse.Namespace) -> int:
    settings = _settings(args)
    user = UserStore(settings.users_db).get(args.as_user)
    if user is None or not user.active:
        raise BadValue(N_("no active account {as_user!r}"), as_user=args.as_user)
    with graph.connect(settings.store_url) as store:
        try:
            _, entries = Loop(store).history(user.caller(), args.id)
        except WorkflowError as exc:
            raise BadValue(N_("{code_}: {message_}"), code_=exc.code, message_=exc.message) from None
    for entry in entries:
        _say(entry)
    return 0


def add_selfservice_commands(sub: argparse._SubParsersAction) -> None:
    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        p.add_argument("--data-dir", help="where the accounts, codes and photos live (default: $RISKGRAPH_DATA_DIR)")
        return p

    p = add("sweep", cmd_sweep, "daily: generate 排查 tasks for control measures without one, send the reminders owed")
    p.add_argument("--today", help="the day to sweep for (ISO; default today)")
    p.add_argument("--uscc", nargs="*", help="only these enterprises' tasks")
    p = add("danger", cmd_danger, "take a step of the hidden-danger loop as an account")
    p.add_argument("step", choices=sorted(STEPS), help="the step: " + ", ".join(sorted(STEPS)))
    p.add_argument("id", help="the hidden danger's id")
    p.add_argument("--as", dest="as_user", required=True, help="the account the step is taken as")
    p.add_argument("--deadline", help="assign / reject: the rectification deadline (ISO date)")
    p.add_argument("--responsible", help="assign: the person responsible")
    p.add_argument("--note", help="办理意见 (reject: why)")
    p.add_argument("--description", help="submit: what was done")
    p.add_argument("--cost", type=float, help="submit: 整改资金 in 元")
    p = add("danger-history", cmd_danger_history, "every step of a hidden danger, as an account may read it")
    p.add_argument("id", help="the hidden danger's id")
    p.add_argument("--as", dest="as_user", required=True, help="the account the history is read as")
