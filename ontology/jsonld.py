"""The JSON-LD context of RiskGraph RDF, derived from the ontology and shipped as `context.jsonld`.

Every class, property and relationship gets a short term (its local name), typed values keep their
XSD datatype, vocabulary values and relationships are IRIs (`"@type": "@id"`), list-valued properties
are sets. The shipped file is this derivation written out (`python -m riskgraph.ontology.jsonld`);
a test checks the two agree, so the context never drifts from the ontology.
"""
from __future__ import annotations

import json
import sys
from functools import lru_cache
from importlib import resources
from typing import Any

from riskgraph.ontology.model import ID_BASE, RG, RGV, Ontology, load_ontology

CONTEXT_FILE = "context.jsonld"
#: where the service serves the context (api/routes/rdf.py); compact JSON-LD from the API refers to it
CONTEXT_PATH = "/context.jsonld"

PREFIXES = {
    "rg": str(RG),
    "rgv": str(RGV),
    "rgid": ID_BASE,
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "dcterms": "http://purl.org/dc/terms/",
    "dcat": "http://www.w3.org/ns/dcat#",
    "prov": "http://www.w3.org/ns/prov#",
    "geo": "http://www.opengis.net/ont/geosparql#",
    "sh": "http://www.w3.org/ns/shacl#",
}
#: datatypes JSON-LD writes as native JSON (numbers, true/false) and reads back as the same XSD type;
#: xsd:decimal is not one of them (a JSON number reads back as xsd:double), so decimals keep "@type"
NATIVE = ("string", "integer", "boolean")
#: GeoSPARQL terms the exports use for locations (graph/export.py)
GEO_TERMS: dict[str, Any] = {
    "hasGeometry": {"@id": "geo:hasGeometry", "@type": "@id"},
    "asWKT": {"@id": "geo:asWKT", "@type": "geo:wktLiteral"},
}


def build_context(onto: Ontology) -> dict[str, Any]:
    """The context object (without the outer `{"@context": …}`)."""
    ctx: dict[str, Any] = dict(PREFIXES)
    for cls in onto.classes.values():
        ctx[cls.name] = f"rg:{cls.name}"
    for prop in onto.properties.values():
        term: dict[str, Any] = {"@id": f"rg:{prop.name}"}
        if prop.vocabulary is not None:
            term["@type"] = "@id"
        elif prop.datatype not in NATIVE:
            term["@type"] = f"xsd:{prop.datatype}"
        if prop.multi_valued:
            term["@container"] = "@set"
        ctx[prop.name] = term
    for rel in onto.relations.values():
        ctx[rel.name] = {"@id": f"rg:{rel.name}", "@type": "@id"}
    clashes = set(GEO_TERMS) & set(ctx)
    if clashes:
        raise ValueError(f"the ontology defines {sorted(clashes)}, which the context keeps for GeoSPARQL")
    ctx.update(GEO_TERMS)
    return ctx


@lru_cache(maxsize=1)
def shipped_context() -> dict[str, Any]:
    """The context document shipped in the package (what the service serves)."""
    text = (resources.files("riskgraph.ontology") / CONTEXT_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def context_document(onto: Ontology) -> str:
    """The context document as the shipped file holds it."""
    return json.dumps({"@context": build_context(onto)}, ensure_ascii=False, indent=1) + "\n"


if __name__ == "__main__":  # regenerate the shipped file after an ontology change
    sys.stdout.write(context_document(load_ontology()))
