"""The whole graph as RDF (N-Triples or Turtle), streamed: for exchange with other systems.

Nodes and relationships are read page by page (graph/backup.py's readers) and written chunk by
chunk, so memory stays flat whatever the graph's size. The dataset node comes first (level,
time, source, licence, shapes), the SKOS concepts the values point at last. Below the internal
level, fields above it are left out, and so are the bookkeeping classes (provenance, change log,
quarantine, outbox) and the relationships to them.

Consistency: with `consistent=True` (the command line) the dump holds the embedded store's write lock
while it reads, like `riskgraph backup`; the service streams without it (a slow download must not stop
every writer), so a dump taken while writes go on may hold some of them.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import IO, Any

from rdflib import RDF, XSD, Graph, URIRef
from rdflib.namespace import DCTERMS, SKOS
from rdflib.term import Node

from riskgraph.graph.backup import records, writes_paused
from riskgraph.graph.export import to_rdf
from riskgraph.graph.packed_content import unpacked_properties
from riskgraph.graph.rdf_dataset import DCAT, PROV, DatasetInfo, concept_triples, dataset_triples, referenced_concepts
from riskgraph.graph.rdf_formats import RdfFormat
from riskgraph.graph.store import GraphStore
from riskgraph.graph.subgraph import Subgraph
from riskgraph.ontology.anchors import CONTENT_DICTIONARY
from riskgraph.ontology.errors import RiskGraphError
from riskgraph.ontology.model import ID_BASE, RG, RGV, Disclosure

#: records (nodes or relationships) per written chunk
CHUNK = 2_000
STREAMABLE = (RdfFormat.ntriples, RdfFormat.turtle)


class DumpFormatError(RiskGraphError, ValueError):
    """A format that cannot be streamed (JSON-LD is one document)."""


@dataclass
class DumpStats:
    nodes: int = 0
    relationships: int = 0
    chunks: int = 0
    concepts: set[str] = field(default_factory=set)


_PNAME_LOCAL = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_TURTLE_PREFIXES = {
    "rg": str(RG), "rgv": str(RGV), "rgid": ID_BASE, "rdf": str(RDF), "xsd": str(XSD), "skos": str(SKOS),
    "dcterms": str(DCTERMS), "dcat": str(DCAT), "prov": str(PROV), "geo": "http://www.opengis.net/ont/geosparql#",
    "owl": "http://www.w3.org/2002/07/owl#",
}


class _Writer:
    """Serialises small graphs one after another as one document.

    Turtle is written here, subject by subject with fixed prefixes, rather than by rdflib's Turtle
    serializer, which is several times slower than the N-Triples one on graphs of this shape."""

    def __init__(self, fmt: RdfFormat) -> None:
        self.fmt = fmt
        self.started = False

    def chunk(self, g: Graph) -> str:
        if self.fmt is RdfFormat.ntriples:
            return g.serialize(format="nt")
        out = []
        if not self.started:
            self.started = True
            out += [f"@prefix {name}: <{iri}> .\n" for name, iri in _TURTLE_PREFIXES.items()]
            out.append("\n")
        by_subject: dict[Node, dict[Node, list[Node]]] = {}
        for s, p, o in g:
            by_subject.setdefault(s, {}).setdefault(p, []).append(o)
        for subject in sorted(by_subject, key=str):
            predicates = by_subject[subject]
            lines = []
            for pred in sorted(predicates, key=lambda x: (x != RDF.type, str(x))):
                verb = "a" if pred == RDF.type else _term(pred)
                objects = ", ".join(_term(o) for o in sorted(predicates[pred], key=str))
                lines.append(f"{verb} {objects}")
            out.append(_term(subject) + " " + " ;\n    ".join(lines) + " .\n\n")
        return "".join(out)


def _term(node: Node) -> str:
    """A prefixed name where the IRI allows a plain one, else the term's own N-Triples form."""
    if isinstance(node, URIRef):
        text = str(node)
        for name, iri in _TURTLE_PREFIXES.items():
            if text.startswith(iri) and _PNAME_LOCAL.match(text[len(iri):]):
                return f"{name}:{text[len(iri):]}"
    return node.n3()


def iter_dump(store: GraphStore, fmt: RdfFormat, info: DatasetInfo, stats: DumpStats | None = None, *,
              consistent: bool = True) -> Iterator[str]:
    """The dump as text chunks. `info.level` decides what is in it; `stats` is filled as it goes."""
    if fmt not in STREAMABLE:
        raise DumpFormatError(f"a whole-graph dump is written as {' or '.join(f.value for f in STREAMABLE)}, not {fmt.value}")
    onto = store.ontology
    stats = stats if stats is not None else DumpStats()
    # a dictionary is how packed text is stored, not a fact: nodes are written unpacked
    hidden = onto.bookkeeping_labels() if info.level < Disclosure.INTERNAL else frozenset({CONTENT_DICTIONARY})
    writer = _Writer(fmt)
    yield writer.chunk(dataset_triples(info, onto))
    batch = Subgraph()
    pending = 0

    def flush() -> str:
        nonlocal batch, pending
        g = to_rdf(batch, onto)
        stats.concepts |= referenced_concepts(g, onto)
        batch, pending = Subgraph(), 0
        stats.chunks += 1
        return writer.chunk(g)

    with writes_paused(store) if consistent else nullcontext():
        for item in records(store):
            if "node" in item:
                label = item["node"]
                if label in hidden:
                    continue
                props: dict[str, Any] = onto.visible(label, unpacked_properties(store, item["p"]), info.level)
                batch.add_node(label, str(item["p"][onto.key_of(label)]), props)
                stats.nodes += 1
            else:
                src, dst = tuple(item["from"]), tuple(item["to"])
                if src[0] in hidden or dst[0] in hidden:
                    continue
                batch.edges.append(((src[0], src[1]), item["rel"], (dst[0], dst[1]), {}))
                stats.relationships += 1
            pending += 1
            if pending >= CHUNK:
                yield flush()
        if pending:
            yield flush()
    yield writer.chunk(concept_triples(stats.concepts, onto))  # the concepts seen, described once at the end

def dump(store: GraphStore, out: IO[str], fmt: RdfFormat, info: DatasetInfo) -> DumpStats:
    """Write a consistent dump to `out`; returns what was written."""
    stats = DumpStats()
    for text in iter_dump(store, fmt, info, stats, consistent=True):
        out.write(text)
    return stats
