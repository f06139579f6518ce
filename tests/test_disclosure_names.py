"""The disclosure filter keeps its per-(class, names, level) answers: what it shows must stay what the
ontology's rules give, node by node, whatever was asked before."""
from __future__ import annotations

import pytest

from riskgraph.api.access import Caller, Role
from riskgraph.api.disclosure import Disclosed
from riskgraph.graph.values import decode_properties
from riskgraph.ontology import Disclosure, load_ontology

ENTERPRISE = {
    "_score": 1.5,  # a backend field: never shown
    "uscc": "91130100MA0CEFGH1X",
    "name": "石家庄冀中化工有限公司",
    "foundedOn": "2001-05-01",
    "foundedOnMs": 988675200000,  # a companion beside its property: never shown
    "employees": 420,  # enterprise level
    "tags": ["重点监管"],  # inspector level
    "zzz": "not in the ontology",  # internal
}


def expected(label: str, props: dict, level: Disclosure) -> dict:
    """The rules spelt out, without any remembered answer."""
    onto = load_ontology()
    return decode_properties(onto.visible(label, {k: v for k, v in props.items() if not k.startswith("_")}, level))


@pytest.mark.parametrize("role", list(Role))
def test_each_role_is_shown_what_the_rules_give_and_restricted_reads_are_recorded(role):
    onto = load_ontology()
    for level in Disclosure:
        disclosed = Disclosed(onto, Caller(role=role, username=None if role is Role.PUBLIC else "u",
                                           uscc="91130100MA0CEFGH1X" if role is Role.ENTERPRISE else None,
                                           regions=("130100",) if role is Role.INSPECTOR else ()))
        for _ in range(2):  # the second answer is the remembered one
            shown = disclosed.properties("Enterprise", ENTERPRISE, level)
            want = expected("Enterprise", ENTERPRISE, min(level, disclosed.caller.ceiling))
            assert shown == want
            assert list(shown) == list(want)  # in the stored order
        restricted = any(onto.disclosure_of("Enterprise", k) > Disclosure.PUBLIC for k in shown)
        assert (f"Enterprise/{ENTERPRISE['uscc']}" in disclosed.restricted) == restricted


def test_a_companion_without_its_property_follows_the_property_level():
    onto = load_ontology()
    props = {"uscc": "91130100MA0CEFGH1X", "foundedOnMs": 988675200000}
    for level in Disclosure:
        shown = Disclosed(onto, Caller(role=Role.ADMIN, username="a")).properties("Enterprise", props, level)
        assert shown == expected("Enterprise", props, level)


def test_nodes_with_other_names_are_not_given_another_nodes_answer():
    onto = load_ontology()
    disclosed = Disclosed(onto, Caller(role=Role.ADMIN, username="a"))
    full = disclosed.properties("Enterprise", ENTERPRISE, Disclosure.INTERNAL)
    fewer = {k: v for k, v in ENTERPRISE.items() if k not in ("tags", "name")}
    assert disclosed.properties("Enterprise", fewer, Disclosure.INTERNAL) == expected("Enterprise", fewer, Disclosure.INTERNAL)
    assert "tags" in full and "name" in full
