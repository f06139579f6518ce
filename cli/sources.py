"""Source systems from the command line.

    riskgraph source-add iot-cangzhou --kind iot [--title 沧州市危化品监测平台] [--stale-after 600]
    riskgraph source-add registry --kind export --pull-folder /srv/drop/registry --every 3600
    riskgraph source-add licensing --kind export --pull-url https://…/export.zip --every 86400
    riskgraph source-list

`source-add` prints the new key once, on standard output and nowhere else; only its hash is kept
(`<data dir>/sources.sqlite3`). `--rotate` gives an existing source a new key (the old one stops
working at once).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from riskgraph.api.settings import Settings
from riskgraph.loaders.live.registry import SOURCE_KINDS, SourceRegistry


def _registry(args: argparse.Namespace) -> SourceRegistry:
    settings = Settings.from_env(getattr(args, "graph", None), Path(args.data_dir) if args.data_dir else None)
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return SourceRegistry.in_dir(settings.data_dir)


def cmd_source_add(args: argparse.Namespace) -> int:
    key = _registry(args).add(args.name, args.kind, title=args.title, pull_folder=args.pull_folder,
                              pull_url=args.pull_url, pull_every_s=args.every, stale_after_s=args.stale_after,
                              rotate=args.rotate)
    print(key)
    return 0


def cmd_source_list(args: argparse.Namespace) -> int:
    for source in _registry(args).list():
        print(json.dumps(source.public(), ensure_ascii=False))
    return 0


def add_source_commands(sub: argparse._SubParsersAction) -> None:
    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        p.add_argument("--data-dir", help="where sources.sqlite3 lives (default: $RISKGRAPH_DATA_DIR)")
        return p

    p = add("source-add", cmd_source_add, "register a source system; prints its key once (only its hash is kept)")
    p.add_argument("name", help="the source's id: 2–48 lower-case letters, digits, - or _")
    p.add_argument("--kind", required=True, choices=SOURCE_KINDS,
                   help="iot: pushes readings, alarms and sensor states (POST /ingest/NAME, MQTT); "
                        "export: an export folder pulled on a schedule")
    p.add_argument("--title", help="a readable name (e.g. 沧州市危化品监测平台)")
    p.add_argument("--pull-folder", help="export sources: a drop folder to load from whenever its files change")
    p.add_argument("--pull-url", help="export sources: an HTTP(S) URL serving the export as a zip archive")
    p.add_argument("--every", type=int, metavar="SECONDS", help="how often to pull (default 3600 for pulled sources)")
    p.add_argument("--stale-after", type=int, metavar="SECONDS",
                   help="silent this long, the source is stale (default: iot 600 s, pulled 3 × --every)")
    p.add_argument("--rotate", action="store_true", help="an existing source: make a new key (the old one stops working)")
    add("source-list", cmd_source_list, "list the registered source systems (JSON lines; never their keys)")
