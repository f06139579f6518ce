"""Write recommendations for every enterprise, its risk points and its open hidden dangers to the graph.

`recommend_all(store)` loads the knowledge base, reads the province in batches of enterprises, trains the
learned part on every verified rectification known at `as_of`, ranks, and upserts one `Recommendation`
node per (subject, measure) in each subject's top k, linked `(Recommendation)-[:RECOMMENDS]->
(ControlMeasureType)` and `(Recommendation)-[:RECOMMENDED_FOR]->(subject)`. A hidden danger the knowledge
base has no measure for gets a `KnowledgeGap` node instead, `(KnowledgeGap)-[:GAP_FOR]->(HiddenDanger)`,
for the knowledge base's maintainers (`MATCH (g:KnowledgeGap) RETURN g.gapText, g.gapReason`).
Recommendations and gaps of this method that the run did not write again (a danger since closed, a
measure fallen out of the top k) are deleted at the end, so the graph holds exactly the latest run.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import LOCAL_TZ, to_epoch_ms
from riskgraph.ontology.anchors import (
    GAP_FOR,
    HIDDEN_DANGER,
    HIDDEN_DANGER_STATES,
    KNOWLEDGE_GAP,
    RECOMMENDATION,
    RECOMMENDED_FOR,
    RECOMMENDS,
    RECTIFIED_STATE,
    RISK_POINT,
)
from riskgraph.reasoning.models.config import ModelConfig
from riskgraph.reasoning.recommend.config import load_config
from riskgraph.reasoning.recommend.engine import Recommendation, Recommender, SubjectResult
from riskgraph.reasoning.recommend.facts import EnterpriseFact, Reader
from riskgraph.reasoning.recommend.kb import KnowledgeBase, knowledge_base, load_knowledge_base
from riskgraph.reasoning.recommend.learned import NeighbourModel, examples

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    method: str
    version: str
    enterprises: int = 0
    risk_points: int = 0
    hidden_dangers: int = 0
    training_examples: int = 0
    written: int = 0
    removed: int = 0
    knowledge_gaps: int = 0
    seconds: float = 0.0


def rectified_states(onto) -> set[str]:
    """HiddenDangerState notations at or past RECTIFIED (by the vocabulary's life-cycle rank)."""
    return set(onto.vocabulary(HIDDEN_DANGER_STATES).at_or_after(RECTIFIED_STATE))


def batched(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i:i + size])


def read_province(store: GraphStore, *, as_of: dt.date | None = None, batch: int = 250,
                  keys: Iterable[str] | None = None) -> dict[str, EnterpriseFact]:
    reader = Reader(store)
    keys = sorted(keys) if keys is not None else list(reader.enterprise_keys())
    out: dict[str, EnterpriseFact] = {}
    for chunk in batched(keys, batch):
        out.update(reader.enterprises(chunk, as_of=as_of))
    return out


def train(kb: KnowledgeBase, config: ModelConfig, enterprises: Iterable[EnterpriseFact], *,
          as_of: dt.date | None = None) -> NeighbourModel:
    """The learned part, fitted on every verified rectification known at the end of `as_of`."""
    section = config["learned"]
    before = to_epoch_ms(as_of + dt.timedelta(days=1)) if as_of else None
    found = examples(kb, enterprises, accepted=list(section["accepted_conclusions"]),
                     exclude_recurred=bool(section["exclude_recurred"]), verified_before_ms=before)
    return NeighbourModel.from_config(section).fit(found)


def recommend_enterprise(rec: Recommender, e: EnterpriseFact, closed: set[str], *,
                         open_only: bool = True) -> list[SubjectResult]:
    """Every subject of one enterprise: its hidden dangers (open ones by default), risk points, itself."""
    dangers = [d for d in e.dangers.values() if not open_only or d.state not in closed]
    learned = rec.learned_for(e, dangers)
    present = rec.own_measures(e)
    open_dangers = [d for d in e.dangers.values() if d.state not in closed]
    out = [rec.for_danger(e, d, learned.get(d.id), present=present) for d in sorted(dangers, key=lambda d: d.id)]
    out += [rec.for_point(e, rp, open_dangers, learned, present=present)
            for rp in sorted(e.risk_points.values(), key=lambda p: p.id)]
    out.append(rec.for_enterprise(e, open_dangers, learned, present=present))
    return out


def recommender_for(store: GraphStore, *, as_of: dt.date | None = None, config: ModelConfig | None = None,
                    enterprises: dict[str, EnterpriseFact] | None = None,
                    ) -> tuple[Recommender, dict[str, EnterpriseFact]]:
    """A trained recommender and the province facts it was trained on."""
    config = config or load_config()
    kb = knowledge_base()
    facts = enterprises if enterprises is not None else read_province(
        store, as_of=as_of, batch=int(config["output"]["read_batch"]))
    model = train(kb, config, facts.values(), as_of=as_of)
    return Recommender(kb, config, model), facts


class _Writer:
    def __init__(self, store: GraphStore, rec: Recommender, at: dt.datetime, batch: int) -> None:
        self.store, self.rec, self.batch = store, rec, batch
        self.at = at.isoformat(timespec="milliseconds")
        self.nodes: list[dict] = []
        self.measures: list[dict] = []
        self.subjects: dict[str, list[dict]] = {}
        self.gaps: list[dict] = []
        self.gap_links: list[dict] = []
        self.written = 0
        self.gaps_written = 0

    def add_gap(self, result: SubjectResult) -> None:
        """A hidden danger without a measure: one KnowledgeGap node, linked to it."""
        gap = result.kb_gap or {}
        self.gaps.append({"id": f"gap:{result.label}:{result.key}", "name": result.name,
                          "gapText": gap.get("text") or result.name, "gapReason": gap.get("reason"),
                          "gapIndustry": gap.get("industry"), "gapPatterns": gap.get("otherIndustryPatterns", []),
                          "flaggedBy": f"{self.rec.method} {self.rec.version}", "flaggedAt": self.at})
        self.gap_links.append({"from": f"gap:{result.label}:{result.key}", "to": result.key})

    def add(self, r: Recommendation) -> None:
        self.nodes.append(r.properties(method=self.rec.method, version=self.rec.version, at=self.at))
        self.measures.append({"from": r.id, "to": r.measure.id})
        self.subjects.setdefault(r.subject_label, []).append({"from": r.id, "to": r.subject_key})
        if len(self.nodes) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self.gaps:
            self.gaps_written += self.store.upsert_nodes(GAP_LABEL, self.gaps)
            self.store.upsert_relationships(GAP_FOR, self.gap_links, from_label=GAP_LABEL, to_label=HIDDEN_DANGER)
            self.gaps, self.gap_links = [], []
        if not self.nodes:
            return
        self.written += self.store.upsert_nodes(RECOMMENDATION, self.nodes)
        self.store.upsert_relationships(RECOMMENDS, self.measures)
        for label, rows in self.subjects.items():
            self.store.upsert_relationships(RECOMMENDED_FOR, rows, from_label=RECOMMENDATION, to_label=label)
        self.nodes, self.measures, self.subjects = [], [], {}


def run(store: GraphStore, *, as_of: dt.date | None = None, config: ModelConfig | None = None) -> RunSummary:
    started = time.monotonic()
    now = dt.datetime.now(LOCAL_TZ)
    config = config or load_config()
    store.bootstrap_schema()  # keys and indexes for the knowledge-base and recommendation labels
    load_knowledge_base(store)
    rec, facts = recommender_for(store, as_of=as_of, config=config)
    summary = RunSummary(rec.method, rec.version, training_examples=len(rec.model.examples) if rec.model else 0)
    closed = rectified_states(store.ontology)
    open_only = bool(config["output"]["open_dangers_only"])
    writer = _Writer(store, rec, now, int(config["output"]["write_batch"]))
    for uscc in sorted(facts):
        e = facts[uscc]
        for result in recommend_enterprise(rec, e, closed, open_only=open_only):
            if result.label == HIDDEN_DANGER:
                summary.hidden_dangers += 1
            elif result.label == RISK_POINT:
                summary.risk_points += 1
            for r in result.recommendations:
                writer.add(r)
            if result.kb_gap is not None:
                writer.add_gap(result)
        summary.enterprises += 1
    writer.flush()
    summary.written = writer.written
    summary.knowledge_gaps = writer.gaps_written
    written_at = now.replace(microsecond=now.microsecond // 1000 * 1000)  # as stored: milliseconds
    summary.removed = remove_stale(store, rec.method, to_epoch_ms(written_at))
    summary.removed += remove_stale_gaps(store, f"{rec.method} {rec.version}", to_epoch_ms(written_at))
    summary.seconds = time.monotonic() - started
    log.info("recommendations: %s", summary)
    return summary


def remove_stale(store: GraphStore, method: str, before_ms: int, chunk: int = 5000) -> int:
    """Delete this method's recommendations written before `before_ms` (not renewed by the latest run)."""
    removed = 0
    while True:
        rows = store.execute(
            f"MATCH (r:{RECOMMENDATION}) WHERE r.recommender = $m AND r.recommendedAtMs < $t "
            "WITH r LIMIT $n DETACH DELETE r RETURN count(*) AS c", {"m": method, "t": before_ms, "n": chunk})
        done = int(rows[0]["c"]) if rows else 0
        removed += done
        if done < chunk:
            return removed


#: hidden dangers the knowledge base has no measure for (ontology/control_measures.ttl rg:KnowledgeGap)
GAP_LABEL = KNOWLEDGE_GAP


def remove_stale_gaps(store: GraphStore, flagged_by: str, before_ms: int) -> int:
    """Delete gaps not flagged again by the latest run (the danger closed, or the knowledge base now covers it)."""
    rows = store.execute(
        f"MATCH (g:{GAP_LABEL}) WHERE g.flaggedAtMs < $t OR g.flaggedBy <> $by "
        "DETACH DELETE g RETURN count(*) AS c", {"t": before_ms, "by": flagged_by})
    return int(rows[0]["c"]) if rows else 0


def recommend_all(store: GraphStore, *, as_of: dt.date | None = None) -> int:
    """Top-k recommendations for every enterprise, risk point and open hidden danger; returns nodes written."""
    return run(store, as_of=as_of).written
