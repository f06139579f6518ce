"""Writing one run's recommendations: only what changed.

Per batch of enterprises, in this order (so a run that stops half way leaves nothing that a later run
would wrongly trust):
1. enterprises whose inputs are unchanged (not ranked again) are checked: their subjects must hold, all
   linked, exactly as many recommendations and knowledge gaps as the last run wrote them. Those that do
   stand as they are — nothing of theirs is written, their gaps' `flaggedAt` aside; the others (a
   subject deleted and loaded again lost its links, a run stopped before removing what had fallen out
   of the top k) are ranked after all. So are the standing subjects of an enterprise ranked in part
   (its other subjects' inputs changed), each against what the last run wrote for it;
2. the ranked enterprises' input digests are cleared;
3. their recommendations stored with the same content digest and both links are confirmed — found,
   not written: `recommendedAt` stays the time the recommendation was made as it reads — and the
   others written with their links;
4. what they own besides (a danger since closed, a measure fallen out of the top k) is deleted, but
   the recommendations of their standing subjects;
5. their input digests are set, on the enterprise's own top recommendation (with how many
   recommendations and gaps the enterprise's subjects got): the enterprise's, and each risk point's
   and ranked hidden danger's with its own count (`subjectDigests`).
At the end of the run (run.remove_stale) those of enterprises gone from the graph are deleted.

Why a confirmation writes nothing: FalkorDB re-indexes a node on any SET, even of the value it holds,
and the index's collector then forks the whole server to clean up (README "Graph stores"). After a
day's 1 % change at 100,000 enterprises a run confirmed ≈ 1.15 M recommendations of the enterprises it
ranked again; setting the run's time on each kept the server forking through the run.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from riskgraph.graph.packed_content import Packer
from riskgraph.graph.shared_values import stamp
from riskgraph.graph.store import GraphStore
from riskgraph.ontology.anchors import (
    CONTROL_MEASURE_TYPE,
    ENTERPRISE,
    GAP_FOR,
    HIDDEN_DANGER,
    KNOWLEDGE_GAP,
    RECOMMENDATION,
    RECOMMENDED_FOR,
    RECOMMENDS,
)
from riskgraph.ontology.model import PACKED_CONTENT
from riskgraph.reasoning.recommend.digests import CONTENT_DIGEST, subject_key, subject_of

#: on an enterprise's own top recommendation: the digest of the inputs that ranked it, and how many
#: recommendations and knowledge gaps its subjects got then (ontology/control_measures.ttl)
INPUT_DIGEST = "inputDigest"
ENTERPRISE_TOTAL = "enterpriseTotal"
#: beside them: each risk point's and ranked hidden danger's input digest and count, as JSON
SUBJECT_DIGESTS = "subjectDigests"
#: on every recommendation: the enterprise whose ranking gave it
OWNER = "ownerUscc"


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
    #: ranked: the input digest of each of its risk points and ranked hidden dangers (`subject_key`)
    subjects: dict[str, str] = field(default_factory=dict)
    #: ranked in part: the subjects (`subject_key`) not ranked again, their digests the stored ones,
    #: whose stored recommendations are confirmed
    standing: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Stored:
    """What the method's last run left for one enterprise."""

    digest: str
    #: recommendations and knowledge gaps of all its subjects
    total: int
    #: `subject_key` -> (input digest, recommendations and knowledge gaps) of its risk points and ranked dangers
    subjects: Mapping[str, tuple[str, int]] = field(default_factory=dict)


def stored_digests(store: GraphStore, method: str) -> dict[str, Stored]:
    """USCC -> its input digests as the method's last run left them."""
    rows = store.read(
        f"MATCH (r:{RECOMMENDATION}) WHERE r.{INPUT_DIGEST} IS NOT NULL AND r.recommender = $m "
        f"AND r.subjectLabel = $l RETURN r.subjectKey AS k, r.{INPUT_DIGEST} AS d, r.{ENTERPRISE_TOTAL} AS n, "
        f"r.{SUBJECT_DIGESTS} AS s", {"m": method, "l": ENTERPRISE})
    out: dict[str, Stored] = {}
    ambiguous = set()
    for row in rows:
        if row["k"] in out:
            ambiguous.add(row["k"])
        subjects = {k: (str(d), int(n)) for k, (d, n) in json.loads(row["s"]).items()} if row["s"] else {}
        out[row["k"]] = Stored(str(row["d"]), int(row["n"] or 0), subjects)
    return {k: v for k, v in out.items() if k not in ambiguous}


class Writer:
    """Batches of enterprises' rows, written as the module says."""

    def __init__(self, store: GraphStore, batch: int, *, at: str, method: str, flagged_by: str,
                 stored: Mapping[str, Stored], rank: Callable[[str], Rows], packer: Packer) -> None:
        self.store, self.batch, self.stored, self.rank = store, batch, stored, rank
        #: packs what a worker could not (before its dictionary was settled)
        self.packer = packer
        self.method, self.flagged_by = method, flagged_by
        onto = store.ontology
        #: the stored form of the run's time (with its epoch companion), set on the gaps flagged again;
        #: the time itself kept once for all of them where the store can (graph/shared_values.py)
        self.flagged_at, self.flagged_once, set_flagged_once = stamp(store, KNOWLEDGE_GAP, "g", {"flaggedAt": at})
        key, gap_key = onto.key_of(RECOMMENDATION), onto.key_of(KNOWLEDGE_GAP)
        # linked: both links there. Matched, not a WHERE pattern: FalkorDB runs a pattern predicate
        # as a sub-query per row, 5× slower here (15,000 recommendations counted: 394 → 73 ms)
        linked = f"MATCH (r)-[:{RECOMMENDS}]->() MATCH (r)-[:{RECOMMENDED_FOR}]->() WITH DISTINCT row, r "
        self.confirm_content = (
            f"UNWIND $rows AS row MATCH (r:{RECOMMENDATION} {{{key}: row.k}}) "
            f"WHERE r.{CONTENT_DIGEST} = row.d {linked}RETURN r.{key} AS k")
        # per enterprise (or per subject: `row.part`): every recommendation it owns, all of them and the
        # linked part — not only those of its subjects now: a danger closed since (or a risk point
        # unlinked) is no subject, and its recommendations, left by a run stopped before its clean-up,
        # would stand for ever
        owned = f"UNWIND $rows AS row MATCH (r:{RECOMMENDATION} {{{OWNER}: row.u}}) WHERE r.recommender = $m "
        counted = ("RETURN row.u AS u, CASE WHEN row.part THEN r.subjectLabel + '|' + r.subjectKey ELSE '' END AS s, "
                   "count(r) AS n")
        self.count_owned = (owned + counted, owned + linked + counted)
        # per ranked enterprise: what it owns that this run neither wrote nor confirmed, nor lets stand
        self.remove_others = (owned + f"AND NOT r.{key} IN row.keep AND NOT (r.subjectLabel + '|' + r.subjectKey) "
                              "IN row.standing DETACH DELETE r RETURN count(*) AS c")
        gaps = f"UNWIND $rows AS row MATCH (g:{KNOWLEDGE_GAP} {{{gap_key}: row.k}}) WHERE g.flaggedBy = $by "
        self.count_gaps = (gaps + "RETURN row.u AS u, row.s AS s, count(g) AS n",
                           gaps + f"MATCH (g)-[:{GAP_FOR}]->() WITH DISTINCT row, g RETURN row.u AS u, row.s AS s, count(g) AS n")
        self.confirm_gaps = gaps + f"SET g += $at{set_flagged_once}"
        self.clear_inputs = (
            f"UNWIND $keys AS k MATCH (r:{RECOMMENDATION} {{subjectKey: k}}) "
            f"WHERE r.subjectLabel = $l AND r.recommender = $m AND r.{INPUT_DIGEST} IS NOT NULL "
            f"SET r.{INPUT_DIGEST} = null, r.{SUBJECT_DIGESTS} = null")
        self.set_inputs = (f"UNWIND $rows AS row MATCH (r:{RECOMMENDATION} {{{key}: row.k}}) "
                           f"SET r.{INPUT_DIGEST} = row.d, r.{ENTERPRISE_TOTAL} = row.n, r.{SUBJECT_DIGESTS} = row.s")
        self.pending: list[Rows] = []
        self.pending_size = 0
        self.written = self.confirmed = self.gaps_written = self.gaps_confirmed = 0
        self.unchanged = self.ranked_after_all = self.removed = 0
        #: subjects of enterprises ranked in part that were not ranked again
        self.standing = 0

    def add(self, rows: Rows) -> None:
        self.pending.append(rows)
        self.pending_size += len(rows.recommendations) if rows.unchanged is None else len(rows.unchanged)
        if self.pending_size >= self.batch:
            self.flush()

    def flush(self) -> None:
        batch, self.pending, self.pending_size = self.pending, [], 0
        ranked = [rows for rows in batch if rows.unchanged is None and not rows.standing]
        ranked += self._confirm_stored([rows for rows in batch if rows.unchanged is not None or rows.standing])
        if not ranked:
            return
        self.store.execute(self.clear_inputs, {"keys": [rows.uscc for rows in ranked], "l": ENTERPRISE, "m": self.method})
        gaps = [gap for rows in ranked for gap in rows.gaps]
        if gaps:
            self.gaps_written += self.store.upsert_nodes(KNOWLEDGE_GAP, gaps)
            self.store.upsert_relationships(GAP_FOR, [link for rows in ranked for link in rows.gap_links],
                                            from_label=KNOWLEDGE_GAP, to_label=HIDDEN_DANGER)
        self._write([item for rows in ranked for item in rows.recommendations])
        kept = [{"u": rows.uscc, "keep": [props["id"] for props, _ in rows.recommendations], "standing": rows.standing}
                for rows in ranked]
        done = self.store.execute(self.remove_others, {"rows": kept, "m": self.method})
        self.removed += int(done[0]["c"]) if done else 0
        holders = [self._inputs(rows, top["id"]) for rows in ranked if (top := _own_top(rows)) is not None]
        if holders:
            self.store.execute(self.set_inputs, {"rows": holders})

    def _inputs(self, rows: Rows, holder: str) -> dict:
        """What the enterprise's top recommendation keeps of a ranked enterprise's inputs: its digest,
        its subjects' digests with how many recommendations and gaps each has, and their total."""
        held = Counter(subject_key(props["subjectLabel"], props["subjectKey"]) for props, _ in rows.recommendations)
        held.update(subject_key(HIDDEN_DANGER, link["to"]) for link in rows.gap_links)  # one link a gap
        for s in rows.standing:
            held[s] = self.stored[rows.uscc].subjects[s][1]
        subjects = {s: (digest, held[s]) for s, digest in sorted(rows.subjects.items())}
        return {"k": holder, "d": rows.input_digest, "n": sum(held.values()),
                "s": json.dumps(subjects, separators=(",", ":")) if subjects else None}

    def _held(self, batch: list[Rows], gaps: list[dict]) -> dict[str, dict[str, list[int]]]:
        """USCC -> subject -> [recommendations, knowledge gaps, linked] the store holds of the method's:
        of every recommendation the enterprise owns, and of the gaps asked for; per subject for an
        enterprise ranked in part, else all under ""."""
        held: dict[str, dict[str, list[int]]] = {rows.uscc: {} for rows in batch}
        owners = [{"u": rows.uscc, "part": rows.unchanged is None} for rows in batch]
        for at, query in ((0, self.count_owned[0]), (2, self.count_owned[1])):
            for row in self.store.read(query, {"rows": owners, "m": self.method}):
                held[row["u"]].setdefault(row["s"], [0, 0, 0])[at] += int(row["n"])
        for at, query in ((1, self.count_gaps[0]), (2, self.count_gaps[1])):
            for row in self.store.read(query, {"rows": gaps, "by": self.flagged_by}) if gaps else ():
                held[row["u"]].setdefault(row["s"], [0, 0, 0])[at] += int(row["n"])
        return held

    def _confirm_stored(self, batch: list[Rows]) -> list[Rows]:
        """Let what the last run stored stand, where it is all there and linked (its gaps' time set): of
        unchanged enterprises, everything they own; of those ranked in part, their standing subjects'.
        Returns the rows to write: those ranked in part whose standing subjects hold, and the others
        ranked after all (what falls out is removed as they are written)."""
        if not batch:
            return []
        gaps = [{"u": rows.uscc, "k": gap_id(label, key), "s": ""}
                for rows in batch for label, key in rows.unchanged or () if label == HIDDEN_DANGER]
        gaps += [{"u": rows.uscc, "k": gap_id(*subject), "s": s}
                 for rows in batch for s in rows.standing if (subject := subject_of(s))[0] == HIDDEN_DANGER]
        held = self._held(batch, gaps)
        standing = {rows.uscc: self._standing(rows, held[rows.uscc]) for rows in batch}
        if gaps:
            self.store.execute(self.confirm_gaps, {"rows": [g for g in gaps if standing[g["u"]] is not None],
                                                   "by": self.flagged_by, "at": self.flagged_at, "once": self.flagged_once})
        out = []
        for rows in batch:
            counts = standing[rows.uscc]
            if counts is None:  # not as the last run left it: ranked after all
                self.ranked_after_all += 1
                out.append(self.rank(rows.uscc))
                continue
            self.confirmed += sum(recs for recs, _, _ in counts)
            self.gaps_confirmed += sum(gap_count for _, gap_count, _ in counts)
            if rows.unchanged is not None:
                self.unchanged += 1
            else:
                self.standing += len(rows.standing)
                out.append(rows)
        return out

    def _standing(self, rows: Rows, held: dict[str, list[int]]) -> list[list[int]] | None:
        """The counts of what stands of an enterprise as the last run left it — all it owns if it is
        unchanged, its standing subjects' if ranked in part —, or None if that is not all there, linked."""
        stored = self.stored[rows.uscc]
        if rows.unchanged is not None:
            counts = list(held.values())
            recs, gap_count, linked = (sum(column) for column in zip(*counts, strict=True)) if counts else (0, 0, 0)
            return counts if recs + gap_count == linked == stored.total else None
        counts = []
        for s in rows.standing:
            recs, gap_count, linked = held.get(s, [0, 0, 0])
            if not recs + gap_count == linked == stored.subjects[s][1]:
                return None
            counts.append([recs, gap_count, linked])
        return counts

    def _write(self, recommendations: list[tuple[dict, str]]) -> None:
        if not recommendations:
            return
        rows = [{"k": props["id"], "d": props[CONTENT_DIGEST]} for props, _ in recommendations]
        confirmed = {row["k"] for row in self.store.read(self.confirm_content, {"rows": rows})}
        self.confirmed += len(confirmed)
        fresh = [(props, measure) for props, measure in recommendations if props["id"] not in confirmed]
        if not fresh:
            return
        self.packer.pack([props for props, _ in fresh if PACKED_CONTENT not in props])
        by_subject: dict[str, list[tuple[dict, tuple[str, str]]]] = {}
        for props, measure in fresh:
            by_subject.setdefault(props["subjectLabel"], []).append((props, (measure, props["subjectKey"])))
        for label, linked in by_subject.items():
            # written whole (what an older version stored and this one does not, pathNodes, goes), with its links
            self.written += self.store.upsert_linked_nodes(
                RECOMMENDATION, linked, [(RECOMMENDS, CONTROL_MEASURE_TYPE), (RECOMMENDED_FOR, label)], replace=True,
            ).written


def _own_top(rows: Rows) -> dict | None:
    """The enterprise's own first recommendation, which carries its input digest (none: not skippable)."""
    return next((props for props, _ in rows.recommendations
                 if props["subjectLabel"] == ENTERPRISE and props["position"] == 1), None)
