"""Which level a caller reads each node at: the role's policy applied to where the node belongs.

A node belongs to the enterprises it hangs off (along the ontology's ownership relations: an
enterprise's licences, inspections, hidden dangers and their rectifications, hazard sources and
their inventories, sensors and their alarms …); an assessment belongs to the owners of what it
assesses. An enterprise user reads its own enterprise's nodes at ENTERPRISE; an inspector reads
at INSPECTOR the nodes whose own regionCode, or whose owner's regionCode, lies in its regions.
Everything else is read at PUBLIC. Unscoped roles read everything at their ceiling.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from riskgraph.api.access import Caller, Role
from riskgraph.api.schema import ENTERPRISE, REGION_CODE, Schema
from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.ontology.model import Disclosure

NodeRef = tuple[str, str]


class Owners:
    """The enterprises (USCCs and their region codes) a node belongs to, and regions it is judged by."""

    __slots__ = ("usccs", "regions")

    def __init__(self) -> None:
        self.usccs: set[str] = set()
        self.regions: set[str] = set()


class Scope:
    """Per-request: one caller, one store; answers "at which level may this caller read that node?"."""

    def __init__(self, store: GraphStore, schema: Schema, caller: Caller) -> None:
        self.store = store
        self.schema = schema
        self.caller = caller

    # ------------------------------------------------------------------ single nodes
    def enterprise_level(self, props: Mapping[str, Any]) -> Disclosure:
        key = self.schema.onto.key_of(ENTERPRISE)
        return self.caller.enterprise_level(props.get(key), props.get(REGION_CODE))

    def level(self, label: str, props: Mapping[str, Any], owners: Owners | None = None) -> Disclosure:
        caller = self.caller
        if not caller.scoped:
            return caller.ceiling
        onto = self.schema.onto
        if onto.is_a(label, ENTERPRISE):
            return self.enterprise_level(props)
        if caller.role is Role.ENTERPRISE:
            return caller.ceiling if owners is not None and caller.uscc in owners.usccs else Disclosure.PUBLIC
        regions = {self.schema.region_of(label, dict(props))} | (owners.regions if owners else set())
        return caller.ceiling if any(caller.covers_region(r) for r in regions if r) else Disclosure.PUBLIC

    # ------------------------------------------------------------------ batches
    def levels(self, nodes: Mapping[NodeRef, Mapping[str, Any]]) -> dict[NodeRef, Disclosure]:
        """Levels for many nodes, with one owner look-up per label."""
        if not self.caller.scoped:
            return {ref: self.caller.ceiling for ref in nodes}
        owners = self.owners([ref for ref in nodes if self._needs_owner(ref[0])])
        return {ref: self.level(ref[0], props, owners.get(ref)) for ref, props in nodes.items()}

    def _needs_owner(self, label: str) -> bool:
        s = self.schema
        annotated = any(s.onto.is_a(label, r.domain) for r in s.annotations)
        return label in s.owned or annotated

    def owners(self, refs: Iterable[NodeRef]) -> dict[NodeRef, Owners]:
        """Who each node belongs to, read from the graph."""
        by_label: dict[str, list[str]] = defaultdict(list)
        for label, key in refs:
            by_label[label].append(key)
        out: dict[NodeRef, Owners] = defaultdict(Owners)
        s = self.schema
        e_key = ident(s.onto.key_of(ENTERPRISE))
        for label, keys in by_label.items():
            key = ident(s.onto.key_of(label))
            if label in s.owned:
                rows = self.store.read(
                    f"MATCH (e:{ident(ENTERPRISE)})-{s.ownership_pattern(1)}->(n:{ident(label)}) WHERE n.{key} IN $keys "
                    f"RETURN n.{key} AS k, collect(DISTINCT e.{e_key}) AS u, collect(DISTINCT e.{ident(REGION_CODE)}) AS r",
                    {"keys": keys},
                )
                for row in rows:
                    o = out[(label, str(row["k"]))]
                    o.usccs.update(str(u) for u in row["u"] if u is not None)
                    o.regions.update(str(r) for r in row["r"] if r is not None)
            for rel in s.annotations:
                if not s.onto.is_a(label, rel.domain):
                    continue
                rows = self.store.read(
                    f"MATCH (n:{ident(label)})-[:{ident(rel.type)}]->(t) WHERE n.{key} IN $keys "
                    f"OPTIONAL MATCH (e:{ident(ENTERPRISE)})-{s.ownership_pattern(0)}->(t) "
                    f"RETURN n.{key} AS k, labels(t) AS tl, properties(t) AS tp, "
                    f"collect(DISTINCT e.{e_key}) AS u, collect(DISTINCT e.{ident(REGION_CODE)}) AS r",
                    {"keys": keys},
                )
                for row in rows:
                    o = out[(label, str(row["k"]))]
                    o.usccs.update(str(u) for u in row["u"] if u is not None)
                    o.regions.update(str(r) for r in row["r"] if r is not None)
                    t_label = next((lbl for lbl in row["tl"] if lbl in s.onto.classes), None)
                    if t_label is not None:
                        region = s.region_of(t_label, row["tp"])
                        if region:
                            o.regions.add(region)
        return out
