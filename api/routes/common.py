"""Helpers the route modules share: node output, label checks, scope conditions in Cypher."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from riskgraph.api.access import Role, region_prefix
from riskgraph.api.deps import Context
from riskgraph.api.disclosure import parse_json_fields
from riskgraph.api.errors import forbidden, invalid, not_found
from riskgraph.api.schema import ENTERPRISE, REGION_CODE
from riskgraph.graph.dialect import ident
from riskgraph.ontology.errors import N_, as_message
from riskgraph.ontology.model import Disclosure


def node_out(ctx: Context, label: str, props: Mapping[str, Any], level: Disclosure) -> dict[str, Any]:
    """A node as every list returns it: `{label, key, properties}`, filtered for the caller."""
    key = props.get(ctx.onto.key_of(label))
    shown = ctx.disclosed.properties(label, props, level)
    return {"label": label, "key": None if key is None else str(key),
            "properties": parse_json_fields(shown, ctx.schema.json_properties(label))}


def known_label(ctx: Context, label: str) -> str:
    """A label from a URL path: 404 unless the ontology defines it (and it is concrete)."""
    try:
        return ctx.onto.check_label(label).name
    except KeyError:
        raise not_found(N_("label {label!r}"), {"labels": ctx.onto.labels}, label=label) from None


def region_param(code: str | None, field: str = "region") -> str | None:
    """A GB/T 2260 filter as the prefix it covers ("130100" → "1301"); 422 when malformed."""
    if code is None or code == "":
        return None
    try:
        return region_prefix(code)
    except ValueError as exc:
        raise invalid(as_message(exc), field) from None


def vocabulary_param(ctx: Context, prop: tuple[str, str], value: str | None, field: str) -> str | None:
    """A filter value given as a notation or any label of its SKOS concept ("红" → "RED"); 422 if unknown."""
    if value is None or value == "":
        return None
    vocab_name = ctx.schema.vocabulary_of(prop)
    if vocab_name is None:
        return value
    concept = ctx.onto.vocabulary(vocab_name).lookup(value)
    if concept is None:
        raise invalid(N_("{value!r} is not in {vocab_name}; one of {concepts}"), field,
                      value=value, vocab_name=vocab_name, concepts=sorted(ctx.onto.vocabulary(vocab_name).concepts))
    return concept.notation


def scope_condition(ctx: Context, var: str, needed: Disclosure, what: str) -> tuple[str | None, dict[str, Any]]:
    """Limit a query on enterprise `var` to those where the caller reads at `needed`.

    A filter or a layer built from a non-public property must not answer for enterprises where the
    caller may not read that property (else it would leak it by elimination). 403 if the caller
    reads it nowhere; a Cypher condition for the scoped roles; nothing for the others.
    """
    caller = ctx.caller
    if caller.ceiling < needed:
        raise forbidden(N_("{what_} needs the {lower} level; the {value} role does not have it"),
                        what_=what, lower=needed.name.lower(), value=caller.role.value)
    if not caller.scoped:
        return None, {}
    key = ident(ctx.onto.key_of(ENTERPRISE))
    if caller.role is Role.ENTERPRISE:
        return f"{var}.{key} = $scope_uscc", {"scope_uscc": caller.uscc}
    return (f"any(scope_prefix IN $scope_prefixes WHERE {var}.{ident(REGION_CODE)} STARTS WITH scope_prefix)",
            {"scope_prefixes": list(caller.prefixes)})


