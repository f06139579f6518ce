"""The warning commands: `riskgraph warn` (run the rules now), the delivery channels and recipient bindings.

    riskgraph warn [--as-of 2026-11-01T08:00:00+08:00] [--only iot_alarm …] [--json]
    riskgraph channel-add webhook URL --secret S [--name N] [--region CODE] [--min-level ORANGE]
    riskgraph channel-add wechat https://api.weixin.qq.com --secret APPSECRET --app-id APPID --template-id TID
    riskgraph channel-add mobile https://api.jpush.cn --secret MASTER_SECRET --app-key KEY
    riskgraph channel-list | channel-remove ID | channel-bind wechat RECIPIENT OPENID

Channels live in `<data dir>/channels.sqlite3`; a running service uses a new one from its next
delivery round, without a restart. Secrets are never printed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from riskgraph import graph
from riskgraph.cli.errors import BadValue
from riskgraph.notify.channels import KINDS, channel_registry
from riskgraph.ontology.errors import N_

console = Console(width=None if sys.stdout.isatty() else 160)


def _data_dir(args: argparse.Namespace) -> Path | None:
    return Path(args.data_dir) if getattr(args, "data_dir", None) else None


def print_generation(report, title: str = "warnings") -> None:
    s = report.summary()
    console.print(f"{title}: {s['candidates']} triggered, {s['created']} new drafts, {s['updated']} updated, "
                  f"{s['unchanged']} unchanged, {s['suppressed']} suppressed ({s['seconds']:.2f} s)")


def cmd_warn(args: argparse.Namespace) -> int:
    from riskgraph.workflows.freshness import noted_scope
    from riskgraph.workflows.warnings import generate

    as_of = dt.datetime.fromisoformat(args.as_of) if args.as_of else None
    if as_of is not None and as_of.tzinfo is None:
        raise BadValue(N_("--as-of needs a time with its offset, e.g. 2026-11-01T08:00:00+08:00"))
    with graph.connect(args.graph) as store:
        store.bootstrap_schema()
        report = generate(store, as_of=as_of, registry=channel_registry(_data_dir(args)), only=args.only)
        if as_of is None and not args.only:  # today's whole pass: the passes after a load may read less
            noted_scope(store, _data_dir(args)).ran(None)
    if args.json:
        print(json.dumps({**report.summary(), "createdIds": report.created, "updatedIds": report.updated}, ensure_ascii=False))
    else:
        print_generation(report)
    return 0


def cmd_channel_add(args: argparse.Namespace) -> int:
    secret = sys.stdin.readline().rstrip("\r\n") if args.secret_stdin else args.secret
    if not secret:
        raise BadValue(N_("give the channel's secret with --secret S (or --secret-stdin)"))
    options = {"app_id": args.app_id, "template_id": args.template_id, "app_key": args.app_key, "link": args.link}
    channel = channel_registry(_data_dir(args)).add(args.kind, args.url, secret, name=args.name, region=args.region,
                                                     min_level=args.min_level, options=options)
    print(json.dumps(channel.public(), ensure_ascii=False))
    return 0


def cmd_channel_list(args: argparse.Namespace) -> int:
    channels = channel_registry(_data_dir(args)).list(active_only=not args.all)
    if args.json:
        print(json.dumps([c.public() for c in channels], ensure_ascii=False, indent=2))
        return 0
    table = Table("id", "kind", "name", "url", "region", "min level", "active", title="delivery channels (secrets not shown)")
    for c in channels:
        table.add_row(c.id, c.kind, c.name, c.url, c.region or "", c.min_level or "", "yes" if c.active else "no")
    console.print(table)
    return 0


def cmd_channel_remove(args: argparse.Namespace) -> int:
    channel_registry(_data_dir(args)).deactivate(args.id)
    return 0


def cmd_channel_bind(args: argparse.Namespace) -> int:
    channel_registry(_data_dir(args)).bind(args.kind, args.recipient, args.address)
    return 0


def add_warning_commands(sub: argparse._SubParsersAction) -> None:
    """Register the commands on the CLI's subparsers (each sets `func` and returns an exit code)."""
    def add(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        p.add_argument("--data-dir", help="where channels.sqlite3 and the accounts live (default: $RISKGRAPH_DATA_DIR)")
        return p

    p = add("warn", cmd_warn, "run the warning rules now: new drafts, repeated triggers update open warnings")
    p.add_argument("--as-of", help="evaluate as of this moment (ISO 8601 with offset; default now)")
    p.add_argument("--only", nargs="*", help="only these rule ids (rules.toml)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add("channel-add", cmd_channel_add, "add a delivery channel (effective in a running service without a restart)")
    p.add_argument("kind", choices=KINDS, help="the channel kind: " + ", ".join(KINDS))
    p.add_argument("url", help="webhook: where to POST; wechat, mobile: the API base URL")
    p.add_argument("--secret", help="webhook: the HMAC-SHA256 key; wechat: AppSecret; mobile: master secret")
    p.add_argument("--secret-stdin", action="store_true", help="read the secret from one line of standard input")
    p.add_argument("--name", help="a name to tell the channel by")
    p.add_argument("--region", help="only warnings of this GB/T 2260 region (prefix)")
    p.add_argument("--min-level", choices=["BLUE", "YELLOW", "ORANGE", "RED"], help="only warnings at or above this level")
    p.add_argument("--app-id", help="wechat: the official account's AppID")
    p.add_argument("--template-id", help="wechat: the template message id")
    p.add_argument("--app-key", help="mobile: the JPush AppKey")
    p.add_argument("--link", help="wechat: the page a message opens ({id} = warning id)")
    p = add("channel-list", cmd_channel_list, "list delivery channels (never their secrets)")
    p.add_argument("--all", action="store_true", help="removed ones too")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add("channel-remove", cmd_channel_remove, "stop using a delivery channel")
    p.add_argument("id", help="the channel's id (channel-list shows it)")
    p = add("channel-bind", cmd_channel_bind, "a recipient's address on a channel kind (a WeChat openid, a push alias)")
    p.add_argument("kind", choices=KINDS, help="the channel kind: " + ", ".join(KINDS))
    p.add_argument("recipient", help="the recipient id in push plans (person:…, enterprise:…, user:NAME)")
    p.add_argument("address", help="the recipient's address on that kind (an openid, a push alias)")
