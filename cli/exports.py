"""`riskgraph export` and `riskgraph dossier`: the bureau's files from the command line.

    riskgraph export enterprises --out list.xlsx [--region 1309] [--industry HC] [--colour RED] [--rating-below 75]
    riskgraph export focus-inspections --out focus.csv [--below 75] [--region 130900]
    riskgraph export assessments --out a.xlsx [--method mem-2018-19] [--region 1309]
    riskgraph export quarantine --out q.csv [--reason orphan_reference] [--source market_registry]
    riskgraph dossier 91130100MA0CEFGH1X --out dossier.pdf

The same tables and PDF as the API's /exports/… and /enterprises/{uscc}/dossier.pdf (api/exports/), read
as an administrator (the CLI user holds the store). The format comes from --format, else --out's suffix.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from riskgraph import graph
from riskgraph.api.exports.formats import FORMATS, Table, render
from riskgraph.cli.errors import CliError, UsageError
from riskgraph.cli.i18n import _
from riskgraph.cli.parsing import region_code, uscc
from riskgraph.loaders.normalise.errors import REASONS
from riskgraph.ontology.errors import N_

TABLES = ("enterprises", "focus-inspections", "assessments", "quarantine")


def _format(args: argparse.Namespace, allowed: tuple[str, ...]) -> str:
    fmt = args.format or Path(args.out).suffix.lstrip(".").lower()
    if fmt not in allowed:
        raise UsageError(N_("--out must end in {allowed} (or give --format), not {out}"),
                         allowed=" / ".join("." + a for a in allowed), out=args.out)
    return fmt


def build_tables(store: graph.GraphStore, args: argparse.Namespace) -> list[Table]:
    from riskgraph.api.exports.tables import (
        assessment_tables,
        enterprise_table,
        focus_table,
        local_context,
        quarantine_table,
    )

    ctx = local_context(store)
    if args.table == "enterprises":
        return [enterprise_table(ctx, q=args.q, region=args.region, industry=args.industry, colour=args.colour,
                                 tag=args.tag, rating_below=args.rating_below, scale=args.scale)]
    if args.table == "focus-inspections":
        return [focus_table(ctx, below=args.below, region=args.region)]
    if args.table == "assessments":
        return assessment_tables(ctx, methods=args.method, region=args.region)
    return [quarantine_table(store, reason=args.reason, source=args.source)]


def cmd_export(args: argparse.Namespace) -> int:
    fmt = _format(args, tuple(FORMATS))
    with graph.connect(args.graph) as store:
        tables = build_tables(store, args)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(render(tables, fmt))
    print(_("wrote {rows} rows to {out}").format(rows=len(tables[0].rows), out=out))
    return 0


def cmd_dossier(args: argparse.Namespace) -> int:
    from riskgraph.api.exports.dossier import dossier_pdf
    from riskgraph.api.exports.tables import local_context
    from riskgraph.api.portraits import enterprise_portrait
    from riskgraph.api.qr.service import QrService
    from riskgraph.api.schema import Schema
    from riskgraph.api.settings import Settings

    _format(args, ("pdf",))
    settings = Settings.from_env(args.graph, Path(args.data_dir) if args.data_dir else None)
    with graph.connect(settings.store_url) as store:
        portrait = enterprise_portrait(local_context(store), args.uscc, cap=50, alarms=10)
        if portrait is None:
            raise CliError(N_("no enterprise with 统一社会信用代码 {uscc}"), uscc=args.uscc)
        png = None
        if not args.no_code:
            qr = QrService(settings.data_dir, store, Schema(store.ontology))
            png = qr.png(qr.code("Enterprise", args.uscc, base_url=args.base_url, issued_by="cli"))
        body = dossier_pdf(portrait, store.ontology, qr_png=png, qr_note=_("no code printed (--no-code)"))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(body)
    print(_("wrote the dossier of {uscc} to {out}").format(uscc=args.uscc, out=out))
    return 0


def add_export_commands(sub: argparse._SubParsersAction) -> None:
    """Register `export` and `dossier` on the CLI's subparsers."""
    p = sub.add_parser("export", help="write a table as CSV or XLSX: enterprises, focus-inspections, assessments, "
                                      "quarantine", description="write a table as CSV or XLSX: enterprises, "
                                                                "focus-inspections, assessments, quarantine")
    p.set_defaults(func=cmd_export)
    p.add_argument("table", choices=TABLES, help="which table: " + ", ".join(TABLES))
    p.add_argument("--out", required=True, help="file to write: FILE.csv or FILE.xlsx")
    p.add_argument("--format", choices=tuple(FORMATS), help="csv or xlsx (default: from --out)")
    p.add_argument("--region", type=region_code, help="only this GB/T 2260 region (130100 covers its counties)")
    p.add_argument("-q", help="enterprises: name, fuzzy")
    p.add_argument("--industry", help="enterprises: supervision industry (HC, NCM …) or GB/T 4754 code")
    p.add_argument("--colour", help="enterprises: risk colour RED, ORANGE, YELLOW, BLUE (or 红, 橙 …)")
    p.add_argument("--tag", help="enterprises: classification tag")
    p.add_argument("--rating-below", type=float, help="enterprises: 应急〔2018〕19号 score below this")
    p.add_argument("--scale", help="enterprises: size by head count: LARGE, MEDIUM, SMALL, MICRO (or 大型 …)")
    p.add_argument("--below", type=float, help="focus-inspections: rating score threshold (default 75)")
    p.add_argument("--method", action="append", help="assessments: only methods starting with this (repeat)")
    p.add_argument("--reason", choices=sorted(REASONS), metavar="REASON",
                   help="quarantine: only this reason code: %(choices)s")
    p.add_argument("--source", help="quarantine: only this source system")
    p = sub.add_parser("dossier", help="write an enterprise's printable dossier (PDF: facts, colours, rating breakdown, "
                                       "QR code)", description="write an enterprise's printable dossier (PDF: facts, "
                                                               "colours, rating breakdown, QR code)")
    p.set_defaults(func=cmd_dossier)
    p.add_argument("uscc", type=uscc, help="the enterprise's 统一社会信用代码")
    p.add_argument("--out", required=True, help="file to write: FILE.pdf")
    p.add_argument("--format", choices=["pdf"], help="pdf (the only format)")
    p.add_argument("--no-code", action="store_true", help="print no QR code (none is issued)")
    p.add_argument("--data-dir", help="where qr-keyring.json and qr.sqlite3 live (default: $RISKGRAPH_DATA_DIR)")
    p.add_argument("--base-url", help="what the code points at (default: $RISKGRAPH_QR_BASE_URL, else http://127.0.0.1:8000)")
