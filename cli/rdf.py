"""`riskgraph dump-rdf | export-graph | shapes`: the whole graph for exchange, for network tools, and
the SHACL shapes an export of a given disclosure level conforms to."""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from rich.console import Console

from riskgraph import graph
from riskgraph.cli.errors import UsageError
from riskgraph.graph.rdf_formats import SUFFIXES, RdfFormat
from riskgraph.graph.store import GraphStore
from riskgraph.graph.subgraph import Subgraph
from riskgraph.ontology.anchors import CONTENT_DICTIONARY
from riskgraph.ontology.errors import N_
from riskgraph.ontology.model import Disclosure

err_console = Console(stderr=True)
LEVELS = [level.name.lower() for level in Disclosure]


def dossier_text(store: GraphStore, ref: tuple[str, str], sub: Subgraph, fmt: RdfFormat) -> str:
    """A node's dossier as the command line writes it: every field (internal level), its dataset node,
    the concepts it refers to; JSON-LD with the context embedded (the file reads without a network)."""
    from riskgraph.graph.export import node_iri, to_rdf
    from riskgraph.graph.rdf_dataset import DatasetInfo, describe
    from riskgraph.graph.rdf_formats import serialize

    info = DatasetInfo(level=Disclosure.INTERNAL, source=graph.redact(store.url), complete=False,
                       title=f"RiskGraph dossier of {ref[0]}/{ref[1]}", subject=node_iri(*ref))
    return serialize(describe(to_rdf(sub, store.ontology), info, store.ontology), fmt)


def _check_folder(path: str | None) -> None:
    """Refuse a file in a folder that does not exist before any work is done."""
    if path and path != "-" and not Path(path).resolve().parent.is_dir():
        raise UsageError(N_("no such folder: {folder}"), folder=Path(path).resolve().parent)


@contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    """Standard output, or a file that appears only when complete (written beside it, then renamed)."""
    if path is None or path == "-":
        yield sys.stdout
        return
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8") as fh:
            yield fh
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def cmd_dump_rdf(args: argparse.Namespace) -> int:
    from riskgraph.graph.rdf_dataset import DatasetInfo
    from riskgraph.graph.rdf_dump import dump

    fmt = RdfFormat(args.format)
    level = Disclosure.parse(args.level)
    _check_folder(args.out)
    with graph.connect(args.graph) as store:
        info = DatasetInfo(level=level, source=graph.redact(store.url), complete=True,
                           title=f"RiskGraph whole-graph dump ({level.name.lower()})")
        with _output(args.out) as out:
            stats = dump(store, out, fmt, info)
    err_console.print(f"wrote {stats.nodes:,} nodes, {stats.relationships:,} relationships and {len(stats.concepts):,} "
                      f"SKOS concepts as {fmt.value}" + (f" to {args.out}" if args.out else ""), soft_wrap=True)
    return 0


def cmd_export_graph(args: argparse.Namespace) -> int:
    from riskgraph.graph.export import read_all, to_networkx
    from riskgraph.graph.network_files import NetworkFormat, write_network

    name = args.format or Path(args.out).suffix.lstrip(".").lower()
    if name not in {f.value for f in NetworkFormat}:
        raise UsageError(N_("write a .graphml or .gexf file, or say --format graphml|gexf"))
    _check_folder(args.out)
    fmt = NetworkFormat(name)
    level = Disclosure.parse(args.level)
    labels = [x.strip() for item in args.labels or [] for x in item.split(",") if x.strip()] or None
    with graph.connect(args.graph) as store:
        onto = store.ontology
        # a dictionary is how packed text is stored, not a fact: nodes are written unpacked
        hidden = onto.bookkeeping_labels() if level < Disclosure.INTERNAL else frozenset({CONTENT_DICTIONARY})
        wanted = [lbl for lbl in (labels or onto.labels) if onto.check_label(lbl).name not in hidden]
        sub = read_all(store, wanted)
    visible = Subgraph()
    for (label, key), props in sub.nodes.items():
        visible.add_node(label, key, onto.visible(label, props, level))
    visible.edges = sub.edges
    g = to_networkx(visible)
    write_network(g, args.out, fmt)
    err_console.print(f"wrote {g.number_of_nodes():,} nodes and {g.number_of_edges():,} relationships as {fmt.value} to {args.out}",
                      soft_wrap=True)
    return 0


def cmd_shapes(args: argparse.Namespace) -> int:
    from riskgraph.ontology.profiles import shapes_for

    level = Disclosure.parse(args.level)
    _check_folder(args.out)
    text = shapes_for(level, complete=not args.neighbourhood).serialize(format="turtle")
    with _output(args.out) as out:
        out.write(text)
    return 0


def add_rdf_commands(sub: argparse._SubParsersAction) -> None:
    def add(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    p = add("dump-rdf", cmd_dump_rdf, "stream the whole graph as RDF (N-Triples or Turtle) for exchange, "
                                      "with a dataset node (level, time, source, licence) and the SKOS concepts it uses")
    p.add_argument("--format", choices=[f.value for f in (RdfFormat.ntriples, RdfFormat.turtle)], default="ntriples",
                   help="ntriples (default: one triple a line) or turtle")
    p.add_argument("--level", choices=LEVELS, default="internal",
                   help="disclosure level: leave out fields above it (default: internal, everything)")
    p.add_argument("--out", help=f"file to write (default: standard output), e.g. graph{SUFFIXES[RdfFormat.ntriples]}")
    p = add("export-graph", cmd_export_graph, "write the graph (or some labels) as GraphML or GEXF for network tools "
                                              "(Gephi, Cytoscape, networkx)")
    p.add_argument("out", help="file to write (.graphml or .gexf)")
    p.add_argument("--format", choices=["graphml", "gexf"], help="default: from the file's suffix")
    p.add_argument("--labels", action="append", help="only these labels (repeat or comma-separate)")
    p.add_argument("--level", choices=LEVELS, default="internal", help="disclosure level (default: internal)")
    p = add("shapes", cmd_shapes, "write the SHACL shapes an export of a disclosure level conforms to (Turtle)")
    p.add_argument("--level", choices=LEVELS, default="internal", help="the export's disclosure level")
    p.add_argument("--neighbourhood", action="store_true",
                   help="for a dossier (a neighbourhood): relationships may end outside it")
    p.add_argument("--out", help="file to write (default: standard output)")
