"""Writing one run's recommendations: only what changed, confirming the rest.

Per batch of enterprises, in this order (so a run that stops half way leaves nothing that a later run
would wrongly trust):
1. enterprises whose inputs are unchanged (not ranked again) have their stored recommendations and
   knowledge gaps confirmed by subject; one whose stored count no longer holds (a subject deleted and
   loaded again lost its links) is ranked after all;
2. the ranked enterprises' input digests are cleared;
3. their recommendations stored with the same content digest and both links are confirmed, the others
   written with their links;
4. their input digests are set, on the enterprise's own top recommendation (with how many
   recommendations the enterprise's subjects got).
Confirming sets only `recommendedAt` (and `flaggedAt` for gaps), which stale removal goes by.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import encode_properties
from riskgraph.ontology.anchors import (
    ENTERPRISE,
    GAP_FOR,
    HIDDEN_DANGER,
    KNOWLEDGE_GAP,
    RECOMMENDATION,
    RECOMMENDED_FOR,
    RECOMMENDS,
)
from riskgraph.reasoning.recommend.digests import CONFIRMED_AT, CONTENT_DIGEST

#: on an enterprise's own top recommendation: the digest of the inputs that ranked it, and how many
#: recommendations its subjects got then (ontology/control_measures.ttl)
INPUT_DIGEST = "inputDigest"
ENTERPRISE_TOTAL = "enterpriseTotal"


def gap_id(label: str, key: str) -> str:
    return f"gap:{label}:{key}"


@dataclass
class Rows:
    """One enterprise's part of a run: what it writes (Recommendation properties with the measure id,
    KnowledgeGaps), or, when its inputs are unchanged, the subjects whose stored ones are confirmed.
    Plain data, so a worker process hands it back cheaply."""

    uscc: str
    input_digest: str
    recommendations: list[tuple[dict, str]] = field(default_factory=list)
    gaps: list[dict] = field(default_factory=list)
    gap_links: list[dict] = field(default_factory=list)
    hidden_dangers: int = 0
    risk_points: int = 0
    #: not ranked again: the (label, key) of every subject, whose stored recommendations are confirmed
    unchanged: list[tuple[str, str]] | None = None


def stored_digests(store: GraphStore, method: str) -> dict[str, tuple[str, int]]:
    """USCC -> (input digest, recommendations) as the method's last run left them."""
    rows = store.read(
        f"MATCH (r:{RECOMMENDATION}) WHERE r.{INPUT_DIGEST} IS NOT NULL AND r.recommender = $m "
        f"AND r.subjectLabel = $l RETURN r.subjectKey AS k, r.{INPUT_DIGEST} AS d, r.{ENTERPRISE_TOTAL} AS n",
        {"m": method, "l": ENTERPRISE})
    out: dict[str, tuple[str, int]] = {}
    ambiguous = set()
    for row in rows:
        if row["k"] in out:
            ambiguous.add(row["k"])
        out[row["k"]] = (str(row["d"]), int(row["n"] or 0))
    return {k: v for k, v in out.items() if k not in ambiguous}


class Writer:
    """Batches of enterprises' rows, written as the module says."""

    def __init__(self, store: GraphStore, batch: int, *, at: str, method: str,
                 stored: dict[str, tuple[str, int]], rank: Callable[[str], Rows]) -> None:
        self.store, self.batch, self.method, self.stored, self.rank = store, batch, method, stored, rank
        onto = store.ontology
        #: the stored form of the run's time (with its epoch companion), set on what is confirmed
        self.at = encode_properties(onto, RECOMMENDATION, {CONFIRMED_AT: at})
        self.flagged_at = encode_properties(onto, KNOWLEDGE_GAP, {"flaggedAt": at})
        key, gap_key = onto.key_of(RECOMMENDATION), onto.key_of(KNOWLEDGE_GAP)
        links = f"(r)-[:{RECOMMENDS}]->() AND (r)-[:{RECOMMENDED_FOR}]->()"
        self.confirm_content = (
            f"UNWIND $rows AS row MATCH (r:{RECOMMENDATION} {{{key}: row.k}}) "
            f"WHERE r.{CONTENT_DIGEST} = row.d AND {links} SET r += $at RETURN r.{key} AS k")
        self.confirm_subjects = (
            f"UNWIND $rows AS row MATCH (r:{RECOMMENDATION} {{subjectKey: row.k}}) "
            f"WHERE r.subjectLabel = row.l AND r.recommender = $m AND {links} "
            f"SET r += $at RETURN row.u AS u, count(r) AS n")
        self.confirm_gaps = (f"UNWIND $ids AS i MATCH (g:{KNOWLEDGE_GAP} {{{gap_key}: i}}) "
                             "SET g += $at RETURN count(g) AS c")
        self.clear_inputs = (
            f"UNWIND $keys AS k MATCH (r:{RECOMMENDATION} {{subjectKey: k}}) "
            f"WHERE r.subjectLabel = $l AND r.{INPUT_DIGEST} IS NOT NULL SET r.{INPUT_DIGEST} = null")
        self.set_inputs = (f"UNWIND $rows AS row MATCH (r:{RECOMMENDATION} {{{key}: row.k}}) "
                           f"SET r.{INPUT_DIGEST} = row.d, r.{ENTERPRISE_TOTAL} = row.n")
        self.pending: list[Rows] = []
        self.pending_size = 0
        self.written = self.confirmed = self.gaps_written = self.gaps_confirmed = 0
        self.unchanged = self.ranked_after_all = 0

    def add(self, rows: Rows) -> None:
        self.pending.append(rows)
        self.pending_size += len(rows.recommendations) if rows.unchanged is None else len(rows.unchanged)
        if self.pending_size >= self.batch:
            self.flush()

    def flush(self) -> None:
        batch, self.pending, self.pending_size = self.pending, [], 0
        ranked = [rows for rows in batch if rows.unchanged is None]
        ranked += self._confirm_unchanged([rows for rows in batch if rows.unchanged is not None])
        if not ranked:
            return
        self.store.execute(self.clear_inputs, {"keys": [rows.uscc for rows in ranked], "l": ENTERPRISE})
        gaps = [gap for rows in ranked for gap in rows.gaps]
        if gaps:
            self.gaps_written += self.store.upsert_nodes(KNOWLEDGE_GAP, gaps)
            self.store.upsert_relationships(GAP_FOR, [link for rows in ranked for link in rows.gap_links],
                                            from_label=KNOWLEDGE_GAP, to_label=HIDDEN_DANGER)
        self._write([item for rows in ranked for item in rows.recommendations])
        holders = [{"k": top["id"], "d": rows.input_digest, "n": len(rows.recommendations)}
                   for rows in ranked if (top := _own_top(rows)) is not None]
        if holders:
            self.store.execute(self.set_inputs, {"rows": holders})

    def _confirm_unchanged(self, unchanged: list[Rows]) -> list[Rows]:
        """Confirm what unchanged enterprises have stored; the rows of those whose count does not hold."""
        if not unchanged:
            return []
        subjects = [{"u": rows.uscc, "l": label, "k": key} for rows in unchanged for label, key in rows.unchanged or ()]
        found = {row["u"]: int(row["n"]) for row in self.store.execute(
            self.confirm_subjects, {"rows": subjects, "m": self.method, "at": self.at})}
        ids = [gap_id(label, key) for rows in unchanged for label, key in rows.unchanged or () if label == HIDDEN_DANGER]
        if ids:
            done = self.store.execute(self.confirm_gaps, {"ids": ids, "at": self.flagged_at})
            self.gaps_confirmed += int(done[0]["c"]) if done else 0
        again = []
        for rows in unchanged:
            if found.get(rows.uscc, 0) == self.stored[rows.uscc][1]:
                self.unchanged += 1
                self.confirmed += found.get(rows.uscc, 0)
            else:  # confirmed in part: ranked after all, what it still has is confirmed or rewritten
                self.ranked_after_all += 1
                again.append(self.rank(rows.uscc))
        return again

    def _write(self, recommendations: list[tuple[dict, str]]) -> None:
        if not recommendations:
            return
        rows = [{"k": props["id"], "d": props[CONTENT_DIGEST]} for props, _ in recommendations]
        confirmed = {row["k"] for row in self.store.execute(self.confirm_content, {"rows": rows, "at": self.at})}
        self.confirmed += len(confirmed)
        fresh = [(props, measure) for props, measure in recommendations if props["id"] not in confirmed]
        if not fresh:
            return
        self.written += self.store.upsert_nodes(RECOMMENDATION, [props for props, _ in fresh])
        self.store.upsert_relationships(RECOMMENDS, [{"from": props["id"], "to": measure} for props, measure in fresh])
        subjects: dict[str, list[dict]] = {}
        for props, _ in fresh:
            subjects.setdefault(props["subjectLabel"], []).append({"from": props["id"], "to": props["subjectKey"]})
        for label, links in subjects.items():
            self.store.upsert_relationships(RECOMMENDED_FOR, links, from_label=RECOMMENDATION, to_label=label)


def _own_top(rows: Rows) -> dict | None:
    """The enterprise's own first recommendation, which carries its input digest (none: not skippable)."""
    return next((props for props, _ in rows.recommendations
                 if props["subjectLabel"] == ENTERPRISE and props["position"] == 1), None)
