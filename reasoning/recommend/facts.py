"""What the recommender reads from the graph: a few batched queries per batch of enterprises.

For each enterprise: its industry and processes, its risk points with their analysis units, risk
events and own control measures, the chemicals its hazard sources hold, and its hidden dangers with
their rectifications. Every query is parameterised openCypher both backends run; the store checks
its labels, relationship types and properties against the ontology before sending it.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import to_epoch_ms
from riskgraph.ontology.anchors import (
    ENTERPRISE,
    HAS_HIDDEN_DANGER,
    HAS_RISK_POINT,
    HAZARD_SOURCE,
    HIDDEN_DANGER,
    RISK_POINT,
)

#: reading whole labels can take longer than the store's default time limit
READ_TIMEOUT_MS = 300_000


@dataclass
class Event:
    id: str
    unit_id: str
    name: str
    accident_type: str | None


@dataclass
class OwnMeasure:
    """One of the enterprise's own ControlMeasure nodes (双重预防), where it hangs."""

    id: str
    event_id: str
    unit_id: str
    control_type: str | None
    text: str


@dataclass
class RiskPointFact:
    id: str
    uscc: str
    name: str
    events: list[Event] = field(default_factory=list)
    measures: list[OwnMeasure] = field(default_factory=list)


@dataclass
class RectificationFact:
    id: str
    measure: str
    conclusion: str | None
    recurred: bool | None
    completed_ms: int | None
    verified_ms: int | None


@dataclass
class DangerFact:
    id: str
    uscc: str
    risk_point: str | None
    name: str
    description: str
    grade: str | None
    factors: tuple[str, ...]
    state: str | None
    found_ms: int | None
    rectifications: list[RectificationFact] = field(default_factory=list)


@dataclass
class Holding:
    """A chemical one of the enterprise's hazard sources holds: the path to it and its GB 18218 category."""

    source_label: str
    source_id: str
    inventory_id: str
    chemical_id: str
    chemical_name: str
    category: str | None


@dataclass
class EnterpriseFact:
    uscc: str
    name: str
    industry: str | None
    industry_code: str | None
    processes: tuple[str, ...]
    risk_points: dict[str, RiskPointFact] = field(default_factory=dict)
    dangers: dict[str, DangerFact] = field(default_factory=dict)
    holdings: list[Holding] = field(default_factory=list)


class Reader:
    """Batched reads against one store."""

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self.onto = store.ontology

    def _read(self, cypher: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.store.read(cypher, params, timeout_ms=READ_TIMEOUT_MS)

    # ------------------------------------------------------------------ keys
    def enterprise_keys(self, page: int = 5000) -> Iterator[str]:
        after = ""
        while True:
            rows = self._read("MATCH (e:Enterprise) WHERE e.uscc > $after RETURN e.uscc AS k ORDER BY k LIMIT $n",
                              {"after": after, "n": page})
            if not rows:
                return
            for r in rows:
                yield str(r["k"])
            after = str(rows[-1]["k"])

    def owner_of(self, label: str, key: str) -> str | None:
        """The USCC of the enterprise a risk point or hidden danger belongs to."""
        rel = {RISK_POINT: HAS_RISK_POINT, HIDDEN_DANGER: HAS_HIDDEN_DANGER}[label]
        rows = self._read(f"MATCH (e:{ENTERPRISE})-[:{rel}]->(n:{label} {{id: $key}}) "
                          "RETURN e.uscc AS u ORDER BY u LIMIT 1", {"key": key})
        return str(rows[0]["u"]) if rows else None

    # ------------------------------------------------------------------ facts
    def enterprises(self, keys: Sequence[str], *, as_of: dt.date | None = None) -> dict[str, EnterpriseFact]:
        """Facts of these enterprises; with `as_of`, hidden dangers found after that day are left out.
        Each enterprise's risk points and hidden dangers are in id order, whatever order the store
        returns them in: the ranking goes through them in this order (equal paths, the measures named
        "already present"), and the input digest that lets an enterprise be skipped sorts them."""
        keys = list(keys)
        out: dict[str, EnterpriseFact] = {}
        for r in self._read(
            "UNWIND $keys AS k MATCH (e:Enterprise {uscc: k}) RETURN e.uscc AS u, e.name AS name, "
            "e.supervisionIndustry AS ind, e.industryCode AS code, e.hazardousProcesses AS proc", {"keys": keys}
        ):
            proc = r["proc"] or []
            proc = tuple(sorted(str(p) for p in (proc if isinstance(proc, list) else [proc])))
            out[str(r["u"])] = EnterpriseFact(str(r["u"]), str(r["name"] or ""), r["ind"], r["code"], proc)
        if not out:
            return out
        keys = sorted(out)
        for r in self._read(
            "UNWIND $keys AS k MATCH (e:Enterprise {uscc: k})-[:HAS_RISK_POINT]->(rp:RiskPoint) "
            "RETURN k AS u, rp.id AS id, rp.name AS name", {"keys": keys}
        ):
            out[str(r["u"])].risk_points[str(r["id"])] = RiskPointFact(str(r["id"]), str(r["u"]), str(r["name"] or ""))
        points = {rp.id: rp for e in out.values() for rp in e.risk_points.values()}
        for r in self._read(
            "UNWIND $keys AS k MATCH (e:Enterprise {uscc: k})-[:HAS_RISK_POINT]->(rp:RiskPoint)"
            "-[:HAS_ANALYSIS_UNIT]->(u)-[:HAS_RISK_EVENT]->(ev) "
            "RETURN rp.id AS rp, u.id AS unit, ev.id AS id, ev.name AS name, ev.accidentType AS acc "
            "ORDER BY rp, unit, id", {"keys": keys}
        ):
            points[str(r["rp"])].events.append(
                Event(str(r["id"]), str(r["unit"]), str(r["name"] or ""), r["acc"] and str(r["acc"])))
        for r in self._read(
            "UNWIND $keys AS k MATCH (e:Enterprise {uscc: k})-[:HAS_RISK_POINT]->(rp:RiskPoint)"
            "-[:HAS_ANALYSIS_UNIT]->(u)-[:HAS_RISK_EVENT]->(ev)-[:CONTROLLED_BY]->(cm) "
            "RETURN rp.id AS rp, u.id AS unit, ev.id AS ev, cm.id AS id, cm.controlType AS type, "
            "cm.description AS text, cm.name AS name ORDER BY rp, ev, id", {"keys": keys}
        ):
            text = "；".join(str(t) for t in (r["text"], r["name"]) if t)
            points[str(r["rp"])].measures.append(
                OwnMeasure(str(r["id"]), str(r["ev"]), str(r["unit"]), r["type"] and str(r["type"]), text))
        end_ms = to_epoch_ms(as_of + dt.timedelta(days=1)) if as_of else None
        for r in self._read(
            "UNWIND $keys AS k MATCH (e:Enterprise {uscc: k})-[:HAS_HIDDEN_DANGER]->(h:HiddenDanger) "
            "OPTIONAL MATCH (h)-[:AT_RISK_POINT]->(rp:RiskPoint) "
            "RETURN k AS u, h.id AS id, h.name AS name, h.description AS description, h.grade AS grade, "
            "h.hazardFactors AS factors, h.state AS state, h.foundOnMs AS found, collect(rp.id) AS rps", {"keys": keys}
        ):
            found = r["found"]
            if end_ms is not None and found is not None and int(found) >= end_ms:
                continue
            rps = sorted(str(x) for x in r["rps"] if x is not None)
            factors = r["factors"] or []
            out[str(r["u"])].dangers[str(r["id"])] = DangerFact(
                str(r["id"]), str(r["u"]), rps[0] if rps else None, str(r["name"] or ""), str(r["description"] or ""),
                r["grade"], tuple(sorted(str(f) for f in (factors if isinstance(factors, list) else [factors]))),
                r["state"], int(found) if found is not None else None)
        for e in out.values():
            e.risk_points = dict(sorted(e.risk_points.items()))
            e.dangers = dict(sorted(e.dangers.items()))
        dangers = {d.id: d for e in out.values() for d in e.dangers.values()}
        for r in self._read(
            "UNWIND $keys AS k MATCH (e:Enterprise {uscc: k})-[:HAS_HIDDEN_DANGER]->(h:HiddenDanger)"
            "-[:RECTIFIED_BY]->(r) RETURN h.id AS h, r.id AS id, r.measure AS measure, r.conclusion AS conclusion, "
            "r.recurred AS recurred, r.completedOnMs AS done, r.verifiedOnMs AS verified ORDER BY h, id",
            {"keys": keys}
        ):
            d = dangers.get(str(r["h"]))
            if d is None:
                continue
            d.rectifications.append(RectificationFact(
                str(r["id"]), str(r["measure"] or ""), r["conclusion"], r["recurred"],
                int(r["done"]) if r["done"] is not None else None,
                int(r["verified"]) if r["verified"] is not None else None))
        for r in self._read(
            "UNWIND $keys AS k MATCH (e:Enterprise {uscc: k})-[:HAS_HAZARD_SOURCE]->(hs)-[:HOLDS]->(inv)"
            "-[:OF_CHEMICAL]->(c) RETURN k AS u, labels(hs) AS hl, hs.id AS hs, inv.id AS inv, c.id AS c, "
            "c.name AS name, c.hazardCategory AS cat ORDER BY u, hs, inv, c", {"keys": keys}
        ):
            label = next((x for x in r["hl"] if x in self.onto.classes), HAZARD_SOURCE)
            out[str(r["u"])].holdings.append(Holding(label, str(r["hs"]), str(r["inv"]), str(r["c"]),
                                                     str(r["name"] or ""), r["cat"] and str(r["cat"])))
        return out
