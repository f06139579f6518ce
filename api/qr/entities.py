"""What a code is about: the six kinds of entity, their facts (name, colour, region, owner), the
fingerprint of their public dynamic fields, and which of them lie in a region.

Relationship types come from the ontology (`Schema.relation_between`), never spelled here.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from riskgraph.api.qr.token import TYPE_CODES, Summary
from riskgraph.api.schema import (
    ENTERPRISE,
    HAZARD_SOURCE,
    MAJOR_HAZARD_LEVEL,
    REGION_CODE,
    RISK_POINT,
    SUPPLY,
    WAREHOUSE,
    Schema,
)
from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.ontology.errors import N_, RiskGraphError, Term
from riskgraph.ontology.model import Disclosure, class_term

QR_LABELS: tuple[str, ...] = tuple(TYPE_CODES)
#: public properties whose change makes a code stale because the code carries them: a placard prints
#: the name (with the kind, the key and the code number, which cannot change); a code with an encrypted
#: summary also carries the colour, the top major-hazard level and the region. Everything else — the
#: colour of a plain code included — is read live when the code is scanned.
PRINTED = ("name",)
SUMMARISED = ("name", REGION_CODE, "riskColour", "reportedColour")


@dataclass
class Facts:
    label: str
    key: str
    props: dict[str, Any]
    levels: list[str] = field(default_factory=list)          # an enterprise's hazard sources' major-hazard levels
    owners: list[tuple[str, str | None]] = field(default_factory=list)  # (uscc, regionCode) of owning enterprises
    warehouses: list[tuple[str, str | None]] = field(default_factory=list)  # (id, regionCode) a supply is stored in

    @property
    def name(self) -> str:
        return str(self.props.get("name") or self.key)

    @property
    def colour(self) -> str | None:
        return self.props.get("riskColour") or self.props.get("reportedColour") or None

    @property
    def region(self) -> str | None:
        own = self.props.get(REGION_CODE)
        if own:
            return str(own)
        for _, region in self.owners + self.warehouses:
            if region:
                return str(region)
        return None

    @property
    def enterprise(self) -> str | None:
        """The enterprise the entity is, or belongs to (a risk point's owner)."""
        if self.label == ENTERPRISE:
            return self.key
        return self.owners[0][0] if self.owners else None

    @property
    def enterprise_region(self) -> str | None:
        if self.label == ENTERPRISE:
            return self.props.get(REGION_CODE)
        return self.owners[0][1] if self.owners else None


class NoQrCodes(RiskGraphError, KeyError):
    """A class the codes do not cover (only enterprises, risk points and the like carry codes)."""


def check_qr_label(label: str) -> None:
    """Refuse a class that carries no codes, naming the ones that do."""
    if label not in QR_LABELS:
        raise NoQrCodes(N_("{label} has no QR codes; one of {labels}"), label=class_term(label),
                        labels=Term.joined(map(class_term, QR_LABELS), zh="、"))


class Entities:
    """Reads facts for codes; one query per label, however many keys."""

    def __init__(self, store: GraphStore, schema: Schema) -> None:
        self.store = store
        self.schema = schema
        onto = schema.onto
        for label in QR_LABELS:
            onto.check_label(label)
        self.printed = {label: tuple(p for p in PRINTED if p in onto.properties_of(label)) for label in QR_LABELS}
        self.summarised = {label: tuple(p for p in SUMMARISED if p in onto.properties_of(label)
                                        and onto.disclosure_of(label, p) == Disclosure.PUBLIC) for label in QR_LABELS}
        self._hazard = schema.relation_between(ENTERPRISE, HAZARD_SOURCE).type
        self._risk_point = schema.relation_between(ENTERPRISE, RISK_POINT).type
        self._stored = schema.relation_between(SUPPLY, WAREHOUSE).type
        level_vocab = onto.vocabulary(onto.properties_of(HAZARD_SOURCE)[MAJOR_HAZARD_LEVEL[1]].vocabulary or "")
        self._level_rank = {c.notation: c.rank or 0 for c in level_vocab.concepts.values()}

    def _key(self, label: str) -> str:
        return ident(self.schema.onto.key_of(label))

    def facts(self, label: str, keys: Iterable[str]) -> dict[str, Facts]:
        keys = list(dict.fromkeys(str(k) for k in keys))
        if not keys:
            return {}
        check_qr_label(label)
        k = self._key(label)
        e_key = self._key(ENTERPRISE)
        region = ident(REGION_CODE)
        if label == ENTERPRISE:
            cypher = (f"MATCH (n:{ident(label)}) WHERE n.{k} IN $keys "
                      f"OPTIONAL MATCH (n)-[:{ident(self._hazard)}]->(h) "
                      f"WITH n, collect(h.{ident(MAJOR_HAZARD_LEVEL[1])}) AS levels "
                      "RETURN properties(n) AS p, levels, [] AS owners, [] AS ws")
        elif label == RISK_POINT:
            cypher = (f"MATCH (n:{ident(label)}) WHERE n.{k} IN $keys "
                      f"OPTIONAL MATCH (e:{ident(ENTERPRISE)})-[:{ident(self._risk_point)}]->(n) "
                      # pairs, not two lists: collect() drops nulls from each list separately
                      f"WITH n, collect(CASE WHEN e IS NULL THEN NULL ELSE [e.{e_key}, e.{region}] END) AS owners "
                      "RETURN properties(n) AS p, [] AS levels, owners, [] AS ws")
        elif label == SUPPLY:
            cypher = (f"MATCH (n:{ident(label)}) WHERE n.{k} IN $keys "
                      f"OPTIONAL MATCH (n)-[:{ident(self._stored)}]->(w:{ident(WAREHOUSE)}) "
                      f"WITH n, collect(CASE WHEN w IS NULL THEN NULL ELSE [w.{self._key(WAREHOUSE)}, w.{region}] END) AS ws "
                      "RETURN properties(n) AS p, [] AS levels, [] AS owners, ws")
        else:
            cypher = (f"MATCH (n:{ident(label)}) WHERE n.{k} IN $keys "
                      "RETURN properties(n) AS p, [] AS levels, [] AS owners, [] AS ws")
        key_prop = self.schema.onto.key_of(label)
        out: dict[str, Facts] = {}
        for row in self.store.read(cypher, {"keys": keys}):
            props = row["p"]
            key = str(props.get(key_prop))
            levels = sorted({str(v) for v in row["levels"] if v})
            owners = sorted((str(key), region) for key, region in row["owners"])
            warehouses = sorted((str(key), region) for key, region in row["ws"])
            out[key] = Facts(label, key, props, levels=levels, owners=owners, warehouses=warehouses)
        return out

    def get(self, label: str, key: str) -> Facts | None:
        return self.facts(label, [key]).get(key)

    # ------------------------------------------------------------------ derived
    def top_level(self, facts: Facts) -> str | None:
        """The most severe major-hazard level among an enterprise's hazard sources."""
        ranked = [lv for lv in facts.levels if lv in self._level_rank]
        return max(ranked, key=lambda lv: self._level_rank[lv]) if ranked else None

    def fingerprint(self, facts: Facts, summary: bool = False) -> bytes:
        """4 bytes that change when what the code carries changes: the printed name, and for a code
        with a summary the summary's fields (colour, top major-hazard level, region)."""
        fields = self.summarised[facts.label] if summary else self.printed[facts.label]
        data: dict[str, Any] = {p: facts.props.get(p) for p in fields if facts.props.get(p) is not None}
        if summary and facts.label == ENTERPRISE:
            data["majorHazardLevels"] = facts.levels
        if summary and not facts.props.get(REGION_CODE) and facts.region:
            data["inheritedRegion"] = facts.region
        text = json.dumps([facts.label, facts.key, data], ensure_ascii=False, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).digest()[:4]

    def summary(self, facts: Facts) -> Summary:
        region = facts.region
        return Summary(name=facts.name, colour=facts.colour, level=self.top_level(facts),
                       region=region if region and region.isdigit() and len(region) == 6 else None)

    # ------------------------------------------------------------------ regions
    def in_region(self, prefix: str, labels: Iterable[str] = QR_LABELS) -> list[tuple[str, str]]:
        """(label, key) of every entity whose region (own, owner's, warehouse's) starts with `prefix`."""
        region = ident(REGION_CODE)
        out: list[tuple[str, str]] = []
        for label in labels:
            k = self._key(label)
            n = ident(label)
            if label == RISK_POINT:
                cypher = (f"MATCH (n:{n}) OPTIONAL MATCH (e:{ident(ENTERPRISE)})-[:{ident(self._risk_point)}]->(n) "
                          f"WITH n, collect(e.{region}) AS rs "
                          f"WHERE (n.{region} IS NOT NULL AND n.{region} STARTS WITH $p) "
                          f"OR (n.{region} IS NULL AND any(r IN rs WHERE r STARTS WITH $p)) "
                          f"RETURN n.{k} AS k ORDER BY k")
            elif label == SUPPLY:
                cypher = (f"MATCH (n:{n})-[:{ident(self._stored)}]->(w:{ident(WAREHOUSE)}) "
                          f"WHERE w.{region} STARTS WITH $p RETURN DISTINCT n.{k} AS k ORDER BY k")
            else:
                cypher = f"MATCH (n:{n}) WHERE n.{region} STARTS WITH $p RETURN n.{k} AS k ORDER BY k"
            out.extend((label, str(row["k"])) for row in self.store.read(cypher, {"p": prefix}))
        return out
