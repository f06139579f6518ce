"""The RiskGraph ontology (Turtle + SHACL) and the schema derived from it."""
from riskgraph.ontology.model import (
    RG,
    RGV,
    ClassDef,
    Concept,
    Disclosure,
    Ontology,
    PropertyDef,
    RelationDef,
    Vocabulary,
    load_ontology,
)

__all__ = [
    "RG",
    "RGV",
    "ClassDef",
    "Concept",
    "Disclosure",
    "Ontology",
    "PropertyDef",
    "RelationDef",
    "Vocabulary",
    "load_ontology",
]
