"""SHACL validation of RiskGraph data in RDF form against shapes.ttl."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pyshacl import validate as shacl_validate
from rdflib import Graph, Namespace

from riskgraph.ontology.model import SHAPES_FILE, load_ontology, read_turtle

SH = Namespace("http://www.w3.org/ns/shacl#")


@dataclass(frozen=True)
class Violation:
    focus: str
    path: str
    message: str


@dataclass(frozen=True)
class ValidationReport:
    conforms: bool
    violations: list[Violation]


@lru_cache(maxsize=1)
def shapes_graph() -> Graph:
    return read_turtle([SHAPES_FILE])


def validate(data: Graph) -> ValidationReport:
    """Check data against the shapes, with the ontology and vocabularies merged in so that
    subclass targets and SKOS value sets resolve (pyshacl's ont_graph copies no SKOS triples)."""
    merged = Graph()
    for triple in load_ontology().graph:
        merged.add(triple)
    for triple in data:
        merged.add(triple)
    conforms, report, _ = shacl_validate(merged, shacl_graph=shapes_graph(), advanced=False, allow_warnings=False)
    violations = [
        Violation(
            focus=str(report.value(result, SH.focusNode)),
            path=str(report.value(result, SH.resultPath) or ""),
            message=str(report.value(result, SH.resultMessage) or ""),
        )
        for result in report.subjects(SH.resultSeverity, SH.Violation)
    ]
    return ValidationReport(conforms=bool(conforms), violations=sorted(violations, key=lambda v: (v.focus, v.path)))
