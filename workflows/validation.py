"""Check a write against the ontology before anything is stored: the class, the property names and
their types, vocabulary values, relationship types and the classes at their ends, and the SHACL
shapes of the node as it will be. A refused write raises :class:`WriteError` saying why and where.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from riskgraph.graph.export import node_iri, to_rdf
from riskgraph.graph.subgraph import NodeRef, Subgraph
from riskgraph.graph.values import PropertyValueError, encode_properties
from riskgraph.ontology.errors import N_, RiskGraphError, as_message
from riskgraph.ontology.model import RG, Ontology, PropertyDef, RelationDef, class_term
from riskgraph.ontology.validate import validate


class WriteError(RiskGraphError, ValueError):
    """A write the ontology refuses; nothing was written. `code` says why, `field` names the property
    (or `links`) at fault."""

    code = "invalid"

    def __init__(self, message: str, field: str | None = None, *, code: str | None = None, **values: Any) -> None:
        super().__init__(message, **values)
        self.message = self.text
        self.field = field
        if code is not None:
            self.code = code


class WriteConflict(WriteError):
    """A create for a key that already exists."""

    code = "exists"


class WriteNotFound(WriteError):
    """An update of a node that does not exist, or a relationship to one."""

    code = "not_found"


@dataclass(frozen=True)
class Link:
    """A relationship to write with the node: `type` from the node to `other` (outgoing), or from
    `other` to the node."""

    type: str
    other: NodeRef
    outgoing: bool = True


def normalise_properties(onto: Ontology, label: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The properties as the store keeps them: declared names only, vocabulary values as notations
    (a concept's label is accepted and replaced by its notation), each typed as the ontology says,
    with the store's companions (…Ms, …Tokens). None means "not given" and is left out."""
    declared = onto.properties_of(label)
    out: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        prop = declared.get(name)
        if prop is None:
            raise WriteError(N_("{label} has no property {name!r} in the ontology"), name, code="unknown_property",
                             label=class_term(label), name=name)
        if prop.vocabulary is not None:
            value = [_notation(onto, prop, v) for v in value] if isinstance(value, (list, tuple)) else _notation(onto, prop, value)
        try:
            out.update(encode_properties(onto, label, {name: value}))
        except (PropertyValueError, ValueError, TypeError) as exc:
            raise WriteError(N_("{name}: {exc}"), name, code="bad_value", name=name, exc=exc) from None
    return out


def _notation(onto: Ontology, prop: PropertyDef, value: Any) -> str:
    vocab = onto.vocabulary(prop.vocabulary or "")
    concept = vocab.lookup(str(value))
    if concept is None:
        raise WriteError(N_("{value!r} is not a {name} value; one of {concepts}"), prop.name,
                         code="not_in_vocabulary",
                         value=value, name=prop.name, concepts=sorted(vocab.concepts))
    return concept.notation


def check_links(onto: Ontology, label: str, links: Iterable[Link], *, reserved: Iterable[str] = ()) -> list[RelationDef]:
    """Each link's relationship type exists, is not one the service writes itself, and joins the
    classes the ontology says it joins."""
    out = []
    for link in links:
        try:
            rel = onto.relation(link.type)
            other = onto.check_label(link.other[0]).name
        except KeyError as exc:
            raise WriteError(as_message(exc.args[0]), "links", code="unknown_relation") from None
        if rel.type in set(reserved):
            raise WriteError(N_("{type} is written by the service itself"), "links", code="reserved_relation", type=rel.type)
        start, end = (label, other) if link.outgoing else (other, label)
        if not (onto.is_a(start, rel.domain) and onto.is_a(end, rel.range)):
            raise WriteError(N_("{type} goes from {domain} to {range}, not from {start} to {end}"), "links",
                             code="relation_mismatch",
                             type=rel.type, domain=rel.domain, range=rel.range, start=start, end=end)
        out.append(rel)
    return out


def check_shapes(onto: Ontology, sub: Subgraph, focus: NodeRef) -> None:
    """The SHACL shapes (ontology/shapes.ttl) the focus node must meet, given its relationships in
    `sub`. Only the focus node's violations count: the nodes around it are context, not this write."""
    iri = str(node_iri(*focus))
    report = validate(to_rdf(sub, onto))
    mine = [v for v in report.violations if v.focus == iri]
    if mine:
        first = mine[0]
        field = first.path[len(str(RG)):] if first.path.startswith(str(RG)) else None
        more = f" (and {len(mine) - 1} more)" if len(mine) > 1 else ""
        raise WriteError(N_("{focus} {focus2}: {message_}{more}"), field, code="shape_violation",
                         focus=focus[0], focus2=focus[1], message_=first.message, more=more)
