"""Subgraphs out of the store: to networkx for algorithms, to RDF (Turtle, JSON-LD) as the dossier.

RDF uses the ontology's IRIs: node classes and properties from `rg:`, vocabulary values as
links to their SKOS concepts (the properties are owl:ObjectProperty with range skos:Concept),
nodes as `https://w3id.org/riskgraph/id/{Label}/{key}`, a location also as a GeoSPARQL geometry
(`geo:hasGeometry` / `geo:asWKT`, WGS 84 longitude-latitude, the WKT default CRS84).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import quote, unquote

import networkx as nx
from rdflib import RDF, XSD, Graph, Literal, Namespace, URIRef

from riskgraph.graph.dialect import ident
from riskgraph.graph.packed_content import unpacked_properties
from riskgraph.graph.store import GraphStore
from riskgraph.graph.subgraph import NodeRef, Subgraph
from riskgraph.graph.values import decode_properties
from riskgraph.ontology.model import ID_BASE, RG, RGV, Ontology

GEO = Namespace("http://www.opengis.net/ont/geosparql#")
PAGE_SIZE = 5_000
_XSD = {"string": XSD.string, "integer": XSD.integer, "decimal": XSD.decimal, "boolean": XSD.boolean,
        "date": XSD.date, "dateTime": XSD.dateTime}


def node_iri(label: str, key: str) -> URIRef:
    return URIRef(f"{ID_BASE}{label}/{quote(str(key), safe='')}")


def parse_node_iri(iri: str) -> NodeRef | None:
    if not iri.startswith(ID_BASE):
        return None
    label, _, key = iri[len(ID_BASE):].partition("/")
    return label, unquote(key)


def read_all(store: GraphStore, labels: Iterable[str] | None = None) -> Subgraph:
    """Every node of the given labels (default: all) and the relationships among them, paged."""
    onto = store.ontology
    wanted = [onto.check_label(lbl).name for lbl in (labels or onto.labels)]
    sub = Subgraph()
    for label in wanted:
        key = onto.key_of(label)
        skip = 0
        while True:
            rows = store.read(
                f"MATCH (n:{ident(label)}) RETURN properties(n) AS p ORDER BY n.{ident(key)} SKIP $skip LIMIT $limit",
                {"skip": skip, "limit": PAGE_SIZE},
            )
            for row in rows:
                sub.add_node(label, str(row["p"][key]), unpacked_properties(store, row["p"]))
            if len(rows) < PAGE_SIZE:
                break
            skip += PAGE_SIZE
    for rel in onto.relations.values():
        for src in wanted:
            if not onto.is_a(src, rel.domain):
                continue
            for dst in wanted:
                if not onto.is_a(dst, rel.range):
                    continue
                rows = store.read(
                    f"MATCH (a:{ident(src)})-[r:{ident(rel.type)}]->(b:{ident(dst)}) "
                    f"RETURN a.{ident(onto.key_of(src))} AS f, b.{ident(onto.key_of(dst))} AS t, properties(r) AS p"
                )
                sub.edges.extend(((src, str(r["f"])), rel.type, (dst, str(r["t"])), r["p"] or {}) for r in rows)
    return sub


def to_networkx(sub: Subgraph) -> nx.MultiDiGraph:
    """Nodes keyed by (label, key) with their properties; edges keyed by relationship type."""
    g = nx.MultiDiGraph()
    for (label, key), props in sub.nodes.items():
        g.add_node((label, key), label=label, **decode_properties(props))
    for src, rel_type, dst, props in sub.edges:
        g.add_edge(src, dst, key=rel_type, type=rel_type, **props)
    return g


def to_rdf(sub: Subgraph, ontology: Ontology) -> Graph:
    """The subgraph as RDF in the ontology's terms."""
    g = Graph()
    g.bind("rg", RG)
    g.bind("rgv", RGV)
    g.bind("rgid", ID_BASE)
    g.bind("geo", GEO)
    for (label, key), props in sub.nodes.items():
        subject = node_iri(label, key)
        g.add((subject, RDF.type, URIRef(ontology.classes[label].iri)))
        declared = ontology.properties_of(label)
        values = decode_properties(props)
        for name, value in values.items():
            prop = declared.get(name)
            if prop is None:
                continue
            for item in value if isinstance(value, list) else [value]:
                g.add((subject, URIRef(prop.iri), _rdf_value(ontology, prop.vocabulary, prop.datatype, item)))
        _add_geometry(g, subject, values)
    for (src_label, src_key), rel_type, (dst_label, dst_key), _ in sub.edges:
        rel = ontology.relation(rel_type)
        g.add((node_iri(src_label, src_key), URIRef(rel.iri), node_iri(dst_label, dst_key)))
    return g


def geometry_iri(subject: URIRef) -> URIRef:
    return URIRef(f"{subject}#geometry")


def _add_geometry(g: Graph, subject: URIRef, values: dict[str, Any]) -> None:
    """A node with a longitude and a latitude is a GeoSPARQL feature with a point geometry."""
    lon, lat = values.get("lon"), values.get("lat")
    if not isinstance(lon, (int, float, Decimal)) or not isinstance(lat, (int, float, Decimal)):
        return
    geometry = geometry_iri(subject)
    g.add((subject, GEO.hasGeometry, geometry))
    g.add((geometry, RDF.type, GEO.Geometry))
    g.add((geometry, GEO.asWKT, Literal(f"POINT({lon} {lat})", datatype=GEO.wktLiteral)))


def _rdf_value(ontology: Ontology, vocabulary: str | None, datatype: str, value: Any):
    if vocabulary is not None:
        concept = ontology.vocabulary(vocabulary).concepts.get(str(value))
        if concept is not None:
            return URIRef(concept.iri)
        return Literal(str(value))  # not in the scheme: SHACL reports it
    if datatype == "string":
        return Literal(str(value))  # plain literal: the same RDF term as "x"^^xsd:string
    if datatype == "decimal":
        return Literal(Decimal(str(value)), datatype=XSD.decimal)
    return Literal(value, datatype=_XSD[datatype])


def from_rdf(g: Graph, ontology: Ontology) -> Subgraph:
    """Read a dossier exported by :func:`to_rdf` back into a subgraph."""
    by_iri = {p.iri: p for p in ontology.properties.values()}
    rel_by_iri = {r.iri: r for r in ontology.relations.values()}
    concept_by_iri = {c.iri: c.notation for v in ontology.vocabularies.values() for c in v.concepts.values()}
    class_by_iri = {c.iri: c.name for c in ontology.classes.values()}
    sub = Subgraph()
    for subject, cls in g.subject_objects(RDF.type):
        ref = parse_node_iri(str(subject))
        if ref is None or str(cls) not in class_by_iri:
            continue
        props: dict[str, Any] = {}
        for pred, obj in g.predicate_objects(subject):
            prop = by_iri.get(str(pred))
            if prop is None:
                continue
            value = concept_by_iri.get(str(obj), None) if isinstance(obj, URIRef) else _python(obj)
            if prop.multi_valued:
                props.setdefault(prop.name, []).append(value)
            else:
                props[prop.name] = value
        sub.add_node(class_by_iri[str(cls)], ref[1], props)
    for s, p, o in g:
        rel = rel_by_iri.get(str(p))
        src, dst = parse_node_iri(str(s)), parse_node_iri(str(o))
        if rel is not None and src and dst:
            sub.edges.append((src, rel.type, dst, {}))
    return sub


def _python(literal: Any) -> Any:
    value = literal.toPython()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value
