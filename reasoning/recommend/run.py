"""Write recommendations for every enterprise, its risk points and its open hidden dangers to the graph.

`recommend_all(store)` loads the knowledge base, reads the province in batches of enterprises, trains the
learned part on every verified rectification known at `as_of`, ranks, and upserts one `Recommendation`
node per (subject, measure) in each subject's top k, linked `(Recommendation)-[:RECOMMENDS]->
(ControlMeasureType)` and `(Recommendation)-[:RECOMMENDED_FOR]->(subject)`. A hidden danger the knowledge
base has no measure for gets a `KnowledgeGap` node instead, `(KnowledgeGap)-[:GAP_FOR]->(HiddenDanger)`,
for the knowledge base's maintainers (`MATCH (g:KnowledgeGap) RETURN g.gapText, g.gapReason`).
A run writes only what changed (reasoning/recommend/writer.py): an enterprise whose inputs digest to
what the last run stored is not ranked again, and nothing of its stored recommendations is written;
of one ranked again, so are its risk points and hidden dangers whose own inputs digest to what the
last run stored (the enterprise itself is ranked). Of a ranked subject, a recommendation with the
stored `contentDigest` (every property but the time) is confirmed (found, not written: its
`recommendedAt` is when it was made as it reads), the new and the changed ones are written with their
links, and what else the enterprise owns (a danger since closed, a measure fallen out of the top k)
is deleted. The recommendations of enterprises gone from the graph (each carries its `ownerUscc`)
and gaps not flagged again are deleted at the end, so the graph holds exactly
what the latest run would write.
"""
from __future__ import annotations

import datetime as dt
import gc
import logging
import multiprocessing
import os
import warnings
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from riskgraph.graph.collector import paused
from riskgraph.graph.env import env_int
from riskgraph.graph.packed_content import Packer, dictionary_kind
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import LOCAL_TZ, to_epoch_ms
from riskgraph.ontology.anchors import (
    ENTERPRISE,
    HIDDEN_DANGER,
    HIDDEN_DANGER_STATES,
    KNOWLEDGE_GAP,
    RECOMMENDATION,
    RECTIFIED_STATE,
    RISK_POINT,
)
from riskgraph.reasoning.models.config import ModelConfig
from riskgraph.reasoning.recommend.config import load_config
from riskgraph.reasoning.recommend.digests import (
    CONTENT_DIGEST,
    content_digest,
    enterprise_digest,
    recommender_digest,
    subject_digests,
    subject_key,
)
from riskgraph.reasoning.recommend.engine import EnterprisePaths, Recommender, SubjectResult
from riskgraph.reasoning.recommend.facts import DangerFact, EnterpriseFact, OwnMeasure, Reader, RiskPointFact
from riskgraph.reasoning.recommend.kb import KnowledgeBase, knowledge_base, load_knowledge_base
from riskgraph.reasoning.recommend.learned import LearnedScores, NeighbourModel, examples
from riskgraph.reasoning.recommend.writer import OWNER, Rows, Stored, Writer, gap_id, stored_digests
from riskgraph.reasoning.run_context import Timer

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    method: str
    version: str
    enterprises: int = 0
    risk_points: int = 0
    hidden_dangers: int = 0
    training_examples: int = 0
    #: recommendations written (new or changed), confirmed (found again unchanged, or standing for an
    #: enterprise not ranked again), removed (not found again)
    written: int = 0
    confirmed: int = 0
    #: enterprises not ranked again: their inputs were those the last run ranked (reasoning/recommend/digests.py);
    #: and those whose inputs were, but whose stored recommendations were not as that run left them
    unchanged: int = 0
    ranked_after_all: int = 0
    #: risk points and hidden dangers not ranked again in the enterprises ranked again: their own
    #: inputs were those the last run ranked (digests.subject_digests)
    standing: int = 0
    removed: int = 0
    knowledge_gaps: int = 0
    seconds: float = 0.0
    #: where the time went: the knowledge base loaded, facts read, model trained, enterprises ranked and
    #: written (one overlapping the other), what the run did not find again removed — a benchmark's
    #: figures to say which step to speed up
    phases: dict[str, float] = field(default_factory=dict)


def rectified_states(onto) -> set[str]:
    """HiddenDangerState notations at or past RECTIFIED (by the vocabulary's life-cycle rank)."""
    return set(onto.vocabulary(HIDDEN_DANGER_STATES).at_or_after(RECTIFIED_STATE))


def batched(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i:i + size])


#: batches of enterprises read at once: while one batch's replies are made into facts here, the store
#: runs the next one's statements (one per server thread) instead of idling
READERS = 2


def read_province(store: GraphStore, *, as_of: dt.date | None = None, batch: int = 250,
                  keys: Iterable[str] | None = None) -> dict[str, EnterpriseFact]:
    reader = Reader(store)
    keys = sorted(keys) if keys is not None else list(reader.enterprise_keys())
    out: dict[str, EnterpriseFact] = {}
    # the facts are what the run keeps: each full collection while they pile up walks them all and frees
    # nothing (graph/collector.py). With both, 100,000 enterprises read in 25-33 s instead of 50-58 (this
    # process 18-22 CPU-s instead of 34-38), under the fewer full collections `assess` runs with
    with paused(), ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="recommender-facts") as pool:
        for part in pool.map(lambda chunk: reader.enterprises(chunk, as_of=as_of), batched(keys, batch)):
            out.update(part)
    return out


def train(kb: KnowledgeBase, config: ModelConfig, enterprises: Iterable[EnterpriseFact], *,
          as_of: dt.date | None = None) -> NeighbourModel:
    """The learned part, fitted on every verified rectification known at the end of `as_of`."""
    section = config["learned"]
    before = to_epoch_ms(as_of + dt.timedelta(days=1)) if as_of else None
    found = examples(kb, enterprises, accepted=list(section["accepted_conclusions"]),
                     exclude_recurred=bool(section["exclude_recurred"]), verified_before_ms=before)
    return NeighbourModel.from_config(section).fit(found)


def subject_dangers(e: EnterpriseFact, closed: set[str], open_only: bool) -> list[DangerFact]:
    """The hidden dangers that are subjects of an enterprise's ranking: its open ones, or all."""
    return [d for d in e.dangers.values() if not open_only or d.state not in closed]


def recommend_enterprise(rec: Recommender, e: EnterpriseFact, closed: set[str], *, open_only: bool = True,
                         learned: Mapping[str, LearnedScores] | None = None,
                         present: Mapping[str, list[tuple[RiskPointFact, OwnMeasure]]] | None = None,
                         standing: Collection[str] = ()) -> list[SubjectResult]:
    """Every subject of one enterprise: its hidden dangers (open ones by default), risk points, itself.
    `learned`: its hidden dangers' learned scores, by danger id, if already scored (`learned_for_many`);
    `present`: its own measures as the knowledge base's (`own_measures`), if already mapped;
    `standing`: subjects (`subject_key`) not to rank — their inputs are those their stored ones were
    ranked from. The enterprise itself is always ranked."""
    dangers = subject_dangers(e, closed, open_only)
    learned = rec.learned_for(e, dangers) if learned is None else learned
    present = rec.own_measures(e) if present is None else present
    open_dangers = subject_dangers(e, closed, open_only=True)
    paths = EnterprisePaths(rec, e)
    out = [rec.for_danger(e, d, learned.get(d.id), present=present, paths=paths)
           for d in sorted(dangers, key=lambda d: d.id) if subject_key(HIDDEN_DANGER, d.id) not in standing]
    out += [rec.for_point(e, rp, open_dangers, learned, present=present, paths=paths)
            for rp in sorted(e.risk_points.values(), key=lambda p: p.id) if subject_key(RISK_POINT, rp.id) not in standing]
    out.append(rec.for_enterprise(e, open_dangers, learned, present=present, paths=paths))
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


@dataclass
class _Ranking:
    """Everything ranking an enterprise needs; a forked worker inherits it rather than receiving it."""

    rec: Recommender
    facts: dict[str, EnterpriseFact]
    closed: set[str]
    open_only: bool
    at: str
    #: keeps the recommendations' long texts deflated (graph/packed_content.py); packing is the longest
    #: part of writing them, so an enterprise ranked for the first time (all it gets is new) is packed
    #: where it is ranked (a worker, once it is `settled`). One ranked again has most of its
    #: recommendations found unchanged in the store, and the writer packs only the others: after a day's
    #: 1 % change at 10,000 enterprises, 11,189 of the 120,577 ranked again (packing all was 14 % of ranking)
    packer: Packer
    #: digests.recommender_digest of this run
    recommender_digest: str = ""
    #: USCC -> the input digests the last run left (writer.stored_digests)
    stored: dict[str, Stored] = field(default_factory=dict)


def ranking_for(store: GraphStore, rec: Recommender, facts: dict[str, EnterpriseFact], config: ModelConfig, at: str,
                stored: dict[str, Stored]) -> _Ranking:
    """What a run ranks with: the trained recommender, the province's facts, its packer and digests;
    `stored`: what the last run left per enterprise (empty: every enterprise is ranked)."""
    closed, open_only = rectified_states(store.ontology), bool(config["output"]["open_dangers_only"])
    packer = Packer(store, RECOMMENDATION, str(dictionary_kind(RECOMMENDATION, {"recommender": rec.method})))
    return _Ranking(rec, facts, closed, open_only, at, packer, recommender_digest(config, closed, open_only), stored)


#: the ranking a forked worker ranks with (set in the parent just before the fork)
_SHARED: _Ranking | None = None
#: set in a worker process: it may not write to the store
_IN_WORKER = False


def _start_worker() -> None:
    global _IN_WORKER
    _IN_WORKER = True
    # what the worker inherited leaves the collector's walks, before any collection: one writes to the
    # header of every object it walks, and so gave each worker its own copy of every page of the
    # province's facts. Frozen here, not in the parent before the fork: the parent's thaw would also
    # thaw what a service froze at its start (api/app.py), and the parent's own objects stay collected
    gc.freeze()


def flagged_by(rec: Recommender) -> str:
    """What a KnowledgeGap says flagged it (a gap another version flagged is removed)."""
    return f"{rec.method} {rec.version}"


def _rows(ranking: _Ranking, uscc: str, *, rank: bool = False) -> Rows:
    return _rows_of(ranking, [uscc], rank=rank)[0]


def _rows_of(ranking: _Ranking, keys: Sequence[str], *, rank: bool = False) -> list[Rows]:
    """Enterprises ranked, as the rows to write; or, for one whose inputs are those the last run ranked
    (and `rank` is not asked), the subjects whose stored recommendations stand. Of an enterprise ranked
    again, the risk points and hidden dangers whose own inputs are those the last run ranked stand, and
    the others are ranked with the enterprise itself. Their hidden dangers are scored by the learned
    part first, in one pass (for an enterprise's few, the model's cost per call was most of it): what it
    answers is one of those inputs."""
    out: list[Rows] = []
    todo: list[tuple[Rows, EnterpriseFact, dict[str, list[tuple[RiskPointFact, OwnMeasure]]]]] = []
    subjects = [(e, subject_dangers(e, ranking.closed, ranking.open_only)) for e in map(ranking.facts.__getitem__, keys)]
    learned = ranking.rec.learned_for_many(subjects)
    for uscc, (e, dangers) in zip(keys, subjects, strict=True):
        digest = enterprise_digest(e, ranking.recommender_digest, learned, dangers)
        rows = Rows(uscc, digest, hidden_dangers=len(dangers), risk_points=len(e.risk_points))
        out.append(rows)
        stored = None if rank else ranking.stored.get(uscc)
        if stored is not None and stored.digest == digest:
            rows.unchanged = [(ENTERPRISE, uscc), *((RISK_POINT, p) for p in sorted(e.risk_points)),
                              *((HIDDEN_DANGER, d.id) for d in sorted(dangers, key=lambda d: d.id))]
            continue
        present = ranking.rec.own_measures(e)
        rows.subjects = subject_digests(e, ranking.recommender_digest, learned, dangers,
                                        subject_dangers(e, ranking.closed, open_only=True), present)
        if stored is not None:
            rows.standing = [s for s, d in rows.subjects.items() if stored.subjects.get(s, ("", 0))[0] == d]
        todo.append((rows, e, present))
    for rows, e, present in todo:
        _fill(ranking, rows, recommend_enterprise(ranking.rec, e, ranking.closed, open_only=ranking.open_only,
                                                  learned=learned, present=present, standing=set(rows.standing)))
    if ranking.packer.settled or not _IN_WORKER:  # after the content digest: it is of what is said
        ranking.packer.pack([props for rows, _, _ in todo if rows.uscc not in ranking.stored
                             for props, _ in rows.recommendations])
    return out


def _fill(ranking: _Ranking, out: Rows, results: list[SubjectResult]) -> None:
    """An enterprise's ranked subjects as the rows to write."""
    rec, at, uscc = ranking.rec, ranking.at, out.uscc
    for result in results:
        for r in result.recommendations:
            props = r.properties(method=rec.method, version=rec.version, at=at) | {OWNER: uscc}
            props[CONTENT_DIGEST] = content_digest(props)  # here: in the worker, not the writer
            out.recommendations.append((props, r.measure.id))
        if result.kb_gap is not None:
            gap, gid = result.kb_gap, gap_id(result.label, result.key)
            out.gaps.append({"id": gid, "name": result.name,
                             "gapText": gap.get("text") or result.name, "gapReason": gap.get("reason"),
                             "gapIndustry": gap.get("industry"), "gapPatterns": gap.get("otherIndustryPatterns", []),
                             "flaggedBy": flagged_by(rec), "flaggedAt": at})
            out.gap_links.append({"from": gid, "to": result.key})


def _rows_in_worker(keys: list[str]) -> list[Rows]:
    if _SHARED is None:
        raise RuntimeError("internal: a recommendation worker started without its ranking")
    return _rows_of(_SHARED, keys)


#: below this many enterprises one process ranks them all: starting workers would cost more
PARALLEL_FROM = 200
#: worker processes that rank enterprises (default: one per core, at most 4)
ENV_WORKERS = "RISKGRAPH_ASSESS_WORKERS"


def worker_count() -> int:
    return env_int(ENV_WORKERS, min(4, os.cpu_count() or 1))


def _ranked(ranking: _Ranking, workers: int, parallel_from: int) -> Iterator[Rows]:
    """Every enterprise's rows, in USCC order. Ranking is pure Python over facts already read, so with
    several cores it runs in forked workers (each inherits the trained recommender and the facts),
    while this process writes what they hand back."""
    keys = sorted(ranking.facts)
    chunks = list(batched(keys, max(1, min(32, len(keys) // (max(workers, 1) * 8)))))
    if workers < 2 or len(keys) < parallel_from:
        for chunk in chunks:
            yield from _rows_of(ranking, chunk)
        return
    ranking.packer.look()  # workers pack with a settled dictionary: made here of the first rows if need be
    if not ranking.packer.settled and chunks:
        yield from _rows_of(ranking, chunks.pop(0))
    global _SHARED
    _SHARED = ranking
    try:
        with warnings.catch_warnings():
            # Python warns that forking a process with threads (the embedded store's keeper, a
            # progress bar) may deadlock a child that takes a lock one of them held. The workers
            # only rank objects they inherit: no logging, no console, never the store's
            # connection; and a fork shares the province's facts instead of pickling them to each.
            warnings.filterwarnings("ignore", message=r".*use of fork\(\) may lead to deadlocks", category=DeprecationWarning)
            pool = multiprocessing.get_context("fork").Pool(workers, initializer=_start_worker)
        with pool:
            for rows in pool.imap(_rows_in_worker, chunks):
                yield from rows
    finally:
        _SHARED = None


def run(store: GraphStore, *, as_of: dt.date | None = None, config: ModelConfig | None = None,
        workers: int | None = None, parallel_from: int = PARALLEL_FROM, rank_all: bool = False) -> RunSummary:
    """`workers`: processes that rank (None: RISKGRAPH_ASSESS_WORKERS, else one per core up to 4),
    used from `parallel_from` enterprises on; the result is the same with any number. `rank_all`: rank
    the enterprises whose inputs are unchanged too (what a skipped one would have written: a check)."""
    timer = Timer()
    now = dt.datetime.now(LOCAL_TZ)
    config = config or load_config()
    store.bootstrap_schema()  # keys and indexes for the knowledge-base and recommendation labels
    load_knowledge_base(store)
    timer.lap("knowledge base")
    facts = read_province(store, as_of=as_of, batch=int(config["output"]["read_batch"]))
    timer.lap("read")
    rec, _ = recommender_for(store, as_of=as_of, config=config, enterprises=facts)
    timer.lap("train")
    summary = RunSummary(rec.method, rec.version, training_examples=len(rec.model.examples) if rec.model else 0,
                         phases=timer.laps)
    ranking = ranking_for(store, rec, facts, config, now.isoformat(timespec="milliseconds"),
                          {} if rank_all else stored_digests(store, rec.method))
    writer = Writer(store, int(config["output"]["write_batch"]), at=ranking.at, method=rec.method,
                    flagged_by=flagged_by(rec), stored=ranking.stored, packer=ranking.packer,
                    rank=lambda uscc: _rows(ranking, uscc, rank=True))
    for rows in _ranked(ranking, worker_count() if workers is None else workers, parallel_from):
        summary.hidden_dangers += rows.hidden_dangers
        summary.risk_points += rows.risk_points
        summary.enterprises += 1
        writer.add(rows)
    writer.flush()
    timer.lap("rank and write")
    summary.written, summary.confirmed = writer.written, writer.confirmed
    summary.unchanged, summary.ranked_after_all = writer.unchanged, writer.ranked_after_all
    summary.standing = writer.standing
    summary.knowledge_gaps = writer.gaps_written + writer.gaps_confirmed
    written_at = now.replace(microsecond=now.microsecond // 1000 * 1000)  # as stored: milliseconds
    summary.removed = writer.removed + remove_stale(store, rec.method, to_epoch_ms(written_at), read=set(facts))
    summary.removed += remove_stale_gaps(store, flagged_by(rec), to_epoch_ms(written_at))
    timer.lap("remove")
    summary.seconds = timer.seconds
    log.info("recommendations: %s", summary)
    return summary


def remove_stale(store: GraphStore, method: str, before_ms: int, *, read: Collection[str], chunk: int = 500) -> int:
    """Delete this method's recommendations of enterprises the latest run, which started at `before_ms`,
    did not `read` (gone from the graph), and those without an owner it did not write. What a ranked
    enterprise no longer gets went as it was written (`Writer.flush`); an unchanged enterprise's stand
    untouched, so a quiet day writes nothing for them."""
    owners = {str(r["u"]) for r in store.read(f"MATCH (r:{RECOMMENDATION}) WHERE r.recommender = $m AND r.{OWNER} IS NOT NULL "
                                              f"RETURN DISTINCT r.{OWNER} AS u", {"m": method})}
    stale = sorted(owners - set(read))
    removed = 0
    for start in range(0, len(stale), chunk):
        rows = store.execute(
            f"UNWIND $owners AS u MATCH (r:{RECOMMENDATION} {{{OWNER}: u}}) WHERE r.recommender = $m "
            "AND r.recommendedAtMs < $t DETACH DELETE r RETURN count(*) AS c",
            {"owners": stale[start:start + chunk], "m": method, "t": before_ms})
        removed += int(rows[0]["c"]) if rows else 0
    rows = store.execute(f"MATCH (r:{RECOMMENDATION}) WHERE r.recommender = $m AND r.{OWNER} IS NULL "
                         "AND (r.recommendedAtMs IS NULL OR r.recommendedAtMs < $t) DETACH DELETE r RETURN count(*) AS c",
                         {"m": method, "t": before_ms})
    return removed + (int(rows[0]["c"]) if rows else 0)


#: hidden dangers the knowledge base has no measure for (ontology/control_measures.ttl rg:KnowledgeGap)
GAP_LABEL = KNOWLEDGE_GAP


def remove_stale_gaps(store: GraphStore, flagged_by: str, before_ms: int) -> int:
    """Delete gaps not flagged again by the latest run (the danger closed, or the knowledge base now covers it)."""
    rows = store.execute(
        f"MATCH (g:{GAP_LABEL}) WHERE g.flaggedAtMs < $t OR g.flaggedBy <> $by "
        "DETACH DELETE g RETURN count(*) AS c", {"t": before_ms, "by": flagged_by})
    return int(rows[0]["c"]) if rows else 0


def recommend_all(store: GraphStore, *, as_of: dt.date | None = None) -> int:
    """Top-k recommendations for every enterprise, risk point and open hidden danger; returns how many
    the graph holds (written or confirmed)."""
    summary = run(store, as_of=as_of)
    return summary.written + summary.confirmed
