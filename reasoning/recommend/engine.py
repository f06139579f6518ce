"""Ranked, explained control-measure recommendations for a hidden danger, a risk point or an enterprise.

Evidence for a measure (`recommend.toml` [rules], [rank]):

- **pattern**: the hidden danger's text names a hazard pattern — one situation of one article of a
  重大事故隐患判定标准, or a common hidden danger — that the measure remedies; the pattern's
  `answeredBy` measure (the one citing the article) gets the `exact` bonus, so it comes first;
- **learned**: `learned.NeighbourModel` — what verified rectifications of similar hidden dangers of the
  same industry used;
- **context**: graph paths through the risk point (accident types, equipment, the hierarchy levels its
  own measures lack) and the enterprise (GB 18218 categories, processes, industry).

Rules that make the list one an expert would stand behind:

- a measure written for other industries than the enterprise's is never recommended, whatever the
  evidence (`KnowledgeBase.measure_in_scope`);
- a hidden danger gets only measures its own text supports (a pattern it names, or strong learned
  support); when there is none it says so and the result carries a knowledge-base gap for the
  maintainers, instead of a list filled from weak context paths;
- 停产停业整改 is a decision (for a major hidden danger the bureau orders it), shown apart, not ranked;
- the score is a weighted sum of the evidence; equal scores (to 9 decimals: measures resting on the
  same context paths tie often) go by the preferred level of the hierarchy of controls, then id.

Every recommendation carries its paths as node ids (`Label/key`, nodes that exist in the graph), the
reason in words (the matched words, the article, the similar cases and what they share), the cited
standards (those written for the enterprise's industry) and whether the enterprise already has it.
"""
from __future__ import annotations

import heapq
import json
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from riskgraph.ontology.anchors import (
    CHEMICAL,
    CONTROL_MEASURE,
    ENTERPRISE,
    HIDDEN_DANGER,
    INDUSTRY,
    RECTIFICATION,
    RISK_ANALYSIS_UNIT,
    RISK_EVENT,
    RISK_POINT,
)
from riskgraph.reasoning.models.config import ModelConfig
from riskgraph.reasoning.recommend.config import load_config
from riskgraph.reasoning.recommend.facts import DangerFact, EnterpriseFact, RiskPointFact
from riskgraph.reasoning.recommend.kb import (
    CONCEPT,
    MEASURE,
    PATTERN,
    KnowledgeBase,
    MeasureType,
    concept_id,
    knowledge_base,
    ref,
)
from riskgraph.reasoning.recommend.learned import LearnedScores, NeighbourModel, cited, features
from riskgraph.reasoning.recommend.textmatch import Match

#: order in which reasons are told
KIND_ORDER = ("pattern", "learned", "gap", "accident", "equipment", "factor", "category", "process", "industry",
              "present")
KIND_WORDS = {
    "pattern": "隐患模式", "learned": "历史整改", "gap": "管控缺口", "accident": "事故类型", "equipment": "设备设施",
    "factor": "危险有害因素", "category": "危险化学品类别", "process": "危险化工工艺", "industry": "行业",
    "present": "已有措施",
}


@dataclass(slots=True)
class Path:
    kind: str
    weight: float
    nodes: tuple[str, ...]
    text: str
    #: the words of the subject's text that made the path (pattern paths)
    words: tuple[str, ...] = ()
    #: the measure answers the pattern's article (it is the pattern's answeredBy measure)
    answers: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "weight": round(self.weight, 4), "nodes": list(self.nodes),
                               "text": self.text}
        if self.words:
            out["words"] = list(self.words)
        if self.answers:
            out["answers"] = True
        return out


#: a path as found, its measure left off: (kind, weight, head, tail, text, words, answers); its nodes are
#: head + tail + the measure. Paths are found by the thousand per enterprise and only the top k's are
#: kept, so they become `Path`s only then (`Candidate.paths`), and a way shared by many (the subject's
#: way to the enterprise, a risk event's chain) is one tuple, not copied into each.
Found = tuple[str, float, tuple[str, ...], tuple[str, ...], str, tuple[str, ...], bool]
#: decimals to which two scores are compared when ranking (`Recommender.order`): far above the noise
#: of adding the same weights in another order, far below any difference of evidence
SCORE_DIGITS = 9
#: the kinds of evidence that are not context (`Recommender.score`)
_NOT_CONTEXT = frozenset(("pattern", "learned", "present"))


@dataclass(slots=True)
class Candidate:
    measure: str
    #: the strongest weight of each kind of path found (0 too: a kind found is a key)
    kinds: dict[str, float] = field(default_factory=dict)
    found: list[Found] = field(default_factory=list)
    exact: float = 0.0
    #: the same measure's candidates of other subjects (a risk point of the enterprise, …), reached from
    #: this one's subject through a head, their weights × a factor; their paths come before its own
    parts: list[tuple[tuple[str, ...], float, Candidate]] = field(default_factory=list)

    def add(self, found: Found) -> None:
        kind, weight = found[0], found[1]
        if weight > self.kinds.get(kind, -1.0):
            self.kinds[kind] = weight
        if found[6] and weight > self.exact:
            self.exact = weight
        self.found.append(found)

    def absorb(self, head: tuple[str, ...], factor: float, other: Candidate) -> None:
        """`other`'s paths as if each were added here (through `head`, weighed × `factor`), without copying them."""
        kinds = self.kinds
        if factor == 1.0:
            if kinds:
                for kind, weight in other.kinds.items():
                    if weight > kinds.get(kind, -1.0):
                        kinds[kind] = weight
            else:  # the first absorbed (most are): its strongest weights as they are
                kinds.update(other.kinds)
            exact = other.exact
        else:
            for kind, weight in other.kinds.items():
                weight *= factor
                if weight > kinds.get(kind, -1.0):
                    kinds[kind] = weight
            exact = other.exact * factor
        if exact > self.exact:
            self.exact = exact
        self.parts.append((head, factor, other))

    def every(self, head: tuple[str, ...] = (), factor: float = 1.0) -> Iterator[Found]:
        """Every path, the parts' first, each with its whole head and its weight."""
        for part_head, part_factor, part in self.parts:
            yield from part.every((*head, *part_head), factor * part_factor if part_factor != 1.0 else factor)
        for kind, weight, own_head, tail, text, words, answers in self.found:
            yield kind, weight * factor if factor != 1.0 else weight, (*head, *own_head), tail, text, words, answers

    @property
    def paths(self) -> list[Path]:
        last = ref(MEASURE, self.measure)
        return [Path(kind, weight, (*head, *tail, last), text, words, answers)
                for kind, weight, head, tail, text, words, answers in self.every()]


Candidates = dict[str, Candidate]


def _add(cands: Candidates, measure: str, kind: str, weight: float, head: tuple[str, ...], tail: tuple[str, ...],
         text: str, words: tuple[str, ...] = (), answers: bool = False) -> None:
    cand = cands.get(measure)  # not setdefault: that builds a Candidate on each of ≈ 1,500 calls per enterprise
    if cand is None:
        cand = cands[measure] = Candidate(measure)
    cand.add((kind, weight, head, tail, text, words, answers))


def absorb(into: Candidates, head: tuple[str, ...], other: Candidates, factor: float = 1.0) -> None:
    """Every candidate of `other` as if its paths were added to `into` (`Candidate.absorb`)."""
    for mid, cand in other.items():
        mine = into.get(mid)
        if mine is not None:
            mine.absorb(head, factor, cand)
            continue
        # most are new here: made with what `Candidate.absorb` would leave in an empty one, directly
        if factor == 1.0:
            kinds, exact = dict(cand.kinds), cand.exact
        else:
            kinds = {kind: weight for kind, weight in ((k, w * factor) for k, w in cand.kinds.items()) if weight > -1.0}
            exact = cand.exact * factor
        into[mid] = Candidate(mid, kinds, [], exact if exact > 0.0 else 0.0, [(head, factor, cand)])


class EnterprisePaths:
    """The rule paths of one enterprise's risk points, hidden dangers and context, each found once and
    shared by every subject of the enterprise whose ranking they count in (a risk point's paths count
    for the point, its hidden dangers and the enterprise)."""

    def __init__(self, rec: Recommender, e: EnterpriseFact) -> None:
        self.rec, self.e = rec, e
        self._points: dict[tuple[str, bool], tuple[Candidates, list[dict[str, Any]]]] = {}
        self._dangers: dict[str, Candidates] = {}
        self._context: Candidates | None = None

    def point(self, rp: RiskPointFact, *, gaps: bool) -> tuple[Candidates, list[dict[str, Any]]]:
        known = self._points.get((rp.id, gaps))
        if known is None:
            known = self._points[(rp.id, gaps)] = self.rec.point_paths(rp, gaps=gaps)
        return known

    def danger(self, d: DangerFact) -> Candidates:
        known = self._dangers.get(d.id)
        if known is None:
            known = self._dangers[d.id] = self.rec.danger_paths(self.e, d)
        return known

    def context(self) -> Candidates:
        if self._context is None:
            self._context = self.rec.context_paths(self.e)
        return self._context


@dataclass(slots=True)
class Score:
    """One measure's evidence, as components and their weighted sum."""

    measure: str
    pattern: float = 0.0
    exact: float = 0.0
    learned: float = 0.0
    context: float = 0.0
    hierarchy: float = 0.0
    total: float = 0.0

    @property
    def rules(self) -> float:
        """The part that does not come from past rectifications."""
        return self.total - self.learned_part

    learned_part: float = 0.0


@dataclass
class Recommendation:
    subject_label: str
    subject_key: str
    measure: MeasureType
    position: int
    score: float
    rule_score: float
    learned_score: float
    paths: list[Path]
    explanation: str
    citation: str
    already_present: bool
    present_as: tuple[str, ...]

    @property
    def id(self) -> str:
        """Deterministic per subject and measure."""
        return f"rec:{self.subject_label}:{self.subject_key}:{self.measure.id}"

    def properties(self, *, method: str, version: str, at: str) -> dict[str, Any]:
        """The Recommendation node's properties."""
        return {
            "id": self.id,
            "name": self.measure.name,
            "subjectLabel": self.subject_label,
            "subjectKey": self.subject_key,
            "position": self.position,
            "relevance": round(self.score, 6),
            "ruleScore": round(self.rule_score, 6),
            "learnedScore": round(self.learned_score, 6),
            "hierarchyLevel": self.measure.hierarchy,
            "citation": self.citation,
            "explanation": self.explanation,
            "paths": json.dumps([p.to_json() for p in self.paths], ensure_ascii=False),
            "alreadyPresent": self.already_present,
            "presentAs": list(self.present_as),
            "recommender": method,
            "recommenderVersion": version,
            "recommendedAt": at,
        }


@dataclass
class SubjectResult:
    label: str
    key: str
    name: str
    uscc: str
    recommendations: list[Recommendation]
    gaps: dict[str, Any] | None = None
    #: 停产停业整改 / 停止使用: a decision for a major hidden danger, shown apart from the measures
    decision: dict[str, Any] | None = None
    #: "no measure in the knowledge base for this" — for the knowledge base's maintainers
    kb_gap: dict[str, Any] | None = None


class Recommender:
    """Rules, learned part and ranking over one knowledge base and one configuration; `model` is the learned part."""

    def __init__(self, kb: KnowledgeBase | None = None, config: ModelConfig | None = None,
                 model: NeighbourModel | None = None) -> None:
        self.kb = kb or knowledge_base()
        self.config = config or load_config()
        self.model = model
        self.w = {k: float(v) for k, v in self.config["rules"].items()}
        self.rank_w = {k: v for k, v in self.config["rank"].items()}
        self.max_paths = int(self.config["output"]["max_paths"])
        self.method = str(self.config["method"])
        self.version = f"{self.config.version}+kb{self.kb.version}"
        self.strong_similarity = float(self.config["learned"]["strong_similarity"])
        decisions = [m for m in self.kb.measures.values() if m.decision]
        self.decision_measure = decisions[0] if decisions else None
        #: per industry scope, whether each measure is allowed and the industry it is written for: a subject
        #: asks them of each of its ≈ 80 candidates (51 million calls for a 100,000-enterprise province)
        self._scopes: dict[tuple[str, ...], _ScopeTable] = {}
        #: each measure's preference among equal scores (`order`): its level of the hierarchy of controls
        self._preference = {mid: -self.kb.hierarchy_rank.get(m.hierarchy, 0) for mid, m in self.kb.measures.items()}
        #: each measure's hierarchy part of a score (`score`)
        w_hierarchy = float(self.rank_w["hierarchy"])
        self._hierarchy_part = {mid: w_hierarchy * (self.kb.hierarchy_rank.get(m.hierarchy, 1) - 1) / 5
                                for mid, m in self.kb.measures.items()}
        self._mitigates: dict[str, tuple[list[tuple[str, str]], list[str]]] = {}

    # ------------------------------------------------------------------ helpers
    def _level_zh(self, level: str) -> str:
        return self.kb.concept_name("ControlHierarchy", level)

    def scope(self, e: EnterpriseFact) -> tuple[str, ...]:
        """The enterprise's supervision industries, narrowest first (line, and sub-sector from its class)."""
        return self.kb.scope(e.industry, e.industry_code)

    def industry_ok(self, e: EnterpriseFact, m: MeasureType) -> bool | None:
        """True/False whether the measure applies in the enterprise's industry; None = unrestricted/unknown."""
        return self.industry_ok_in(self.scope(e), m)

    def industry_ok_in(self, scope: tuple[str, ...], m: MeasureType) -> bool | None:
        """`industry_ok` for an enterprise of this industry scope."""
        if not m.linked("appliesToIndustry"):
            return None
        return self.kb.measure_in_scope(m, scope)

    def allowed(self, e: EnterpriseFact, mid: str) -> bool:
        """A measure may be recommended: not a decision and not written for other industries only."""
        return mid in self._table(self.scope(e)).allowed

    def _table(self, scope: tuple[str, ...]) -> _ScopeTable:
        """What the knowledge base allows and names for this industry scope, worked out once for every measure."""
        table = self._scopes.get(scope)
        if table is None:
            kb = self.kb
            allowed = frozenset(mid for mid, m in kb.measures.items()
                                if not m.decision and self.industry_ok_in(scope, m) is not False)
            industry = {}
            for mid, m in kb.measures.items():
                written_for = m.linked("appliesToIndustry")
                found = next((i for i in scope if i in written_for), None) or next(
                    (i for i in written_for if scope and scope[0] in kb.broader_chain("SupervisionIndustry", i)), None)
                if found is not None:
                    industry[mid] = found
            table = self._scopes[scope] = _ScopeTable(allowed, industry)
        return table

    def own_measures(self, e: EnterpriseFact) -> dict[str, list[tuple[RiskPointFact, Any]]]:
        """KB measure id -> the enterprise's own control measures (with their risk point) that map to it."""
        out: dict[str, list] = defaultdict(list)
        for rp in e.risk_points.values():
            for cm in rp.measures:
                for match in self.kb.map_text(cm.text):
                    out[match.key].append((rp, cm))
        return out

    # ------------------------------------------------------------------ rule paths
    # A subject's paths are found from the risk point, hidden danger or enterprise they start at, and
    # shared by the subjects they count for (EnterprisePaths), each reaching them through its own head.
    def context_paths(self, e: EnterpriseFact) -> Candidates:
        """Paths from the enterprise itself: chemicals' GB 18218 categories and hazardous processes."""
        kb = self.kb
        cands: Candidates = {}
        head = (ref(ENTERPRISE, e.uscc),)
        for h in e.holdings:
            if not h.category:
                continue
            tail: tuple[str, ...] = (
                ref(h.source_label, h.source_id), ref("Inventory", h.inventory_id), ref(CHEMICAL, h.chemical_id),
                ref(CONCEPT, concept_id("HazardCategory", h.category)))
            text = (f"企业危险源存有{h.chemical_name}（GB 18218 {h.category} "
                    f"{kb.concept_name('HazardCategory', h.category).split('：')[0]}）")
            for mid in kb.measures_for("appliesToCategory", [h.category]):
                _add(cands, mid, "category", self.w["category"], head, tail, text)
        for p in e.processes:
            tail = (ref(CONCEPT, concept_id("HazardousProcess", p)),)
            text = f"企业涉及重点监管危险化工工艺「{kb.concept_name('HazardousProcess', p)}」"
            for mid in kb.measures_for("appliesToProcess", [p]):
                _add(cands, mid, "process", self.w["process"], head, tail, text)
        return cands

    def point_paths(self, rp: RiskPointFact, *, gaps: bool = False) -> tuple[Candidates, list[dict[str, Any]]]:
        """Paths through a risk point: its events' accident types, its equipment; with `gaps`, the levels missing."""
        kb = self.kb
        cands: Candidates = {}
        rp_ref = ref(RISK_POINT, rp.id)
        gap_rows = []
        accident_w, gap_w = self.w["accident"], self.w["gap"]
        for ev in rp.events:
            if not ev.accident_type:
                continue
            a = ev.accident_type
            a_name = kb.concept_name("AccidentType", a)
            chain = (rp_ref, ref(RISK_ANALYSIS_UNIT, ev.unit_id), ref(RISK_EVENT, ev.id),
                     ref(CONCEPT, concept_id("AccidentType", a)))
            applicable, levels = self._mitigating(a)
            own = [cm for cm in rp.measures if cm.event_id == ev.id]
            covered = sorted({cm.control_type for cm in own if cm.control_type})
            missing = [lv for lv in levels if lv not in covered]
            because = f"风险点「{rp.name}」的风险事件「{ev.name}」属{a_name}（GB 6441-{a}）"
            gap_texts = {lv: f"风险事件「{ev.name}」尚无{self._level_zh(lv)}类管控措施" for lv in missing} if gaps else {}
            for mid, level in applicable:
                _add(cands, mid, "accident", accident_w, (), chain, because)
                if level in gap_texts:
                    _add(cands, mid, "gap", gap_w, (), chain, gap_texts[level])
            if gaps:
                present = sorted({m.key for cm in own for m in kb.map_text(cm.text)})
                gap_rows.append({
                    "riskEvent": ev.id, "name": ev.name, "accidentType": a, "accidentTypeName": a_name,
                    "ownMeasures": [cm.id for cm in own], "coveredLevels": covered, "applicableLevels": list(levels),
                    "missingLevels": missing, "presentMeasures": present,
                    "coverage": round(len([lv for lv in levels if lv in covered]) / len(levels), 4) if levels else None,
                })
        for notation, _word in kb.match_equipment(rp.name):
            tail = (rp_ref, ref(CONCEPT, concept_id("EquipmentType", notation)))
            text = f"风险点「{rp.name}」涉及{kb.concept_name('EquipmentType', notation)}"
            for mid in kb.measures_for("appliesToEquipment", [notation]):
                _add(cands, mid, "equipment", self.w["equipment"], (), tail, text)
        return cands, gap_rows

    def _mitigating(self, accident_type: str) -> tuple[list[tuple[str, str]], list[str]]:
        """The measures (with their hierarchy level) that mitigate an accident type, decisions left out,
        and their levels, preferred first; memoised: asked for every risk event twice."""
        known = self._mitigates.get(accident_type)
        if known is None:
            kb = self.kb
            applicable = [(mid, kb.measures[mid].hierarchy)
                          for mid in kb.measures_for("mitigatesAccident", [accident_type]) if not kb.measures[mid].decision]
            levels = sorted({level for _, level in applicable}, key=lambda lv: -kb.hierarchy_rank.get(lv, 0))
            known = self._mitigates[accident_type] = (applicable, levels)
        return known

    def fired_patterns(self, e: EnterpriseFact, d: DangerFact) -> tuple[Match, ...]:
        """The hazard patterns the danger's name (else its description) names, in the enterprise's industry."""
        scope = self.scope(e)
        return self.kb.match_patterns(d.name, scope) or self.kb.match_patterns(d.description, scope)

    def danger_paths(self, e: EnterpriseFact, d: DangerFact) -> Candidates:
        """Paths from a hidden danger: its text's hazard patterns and its factor classes."""
        kb = self.kb
        cands: Candidates = {}
        h_ref = ref(HIDDEN_DANGER, d.id)
        scope = self.scope(e)
        matches = self.fired_patterns(e, d)
        # a pattern's strength: the characters its words cover, plus one per condition (group) they meet —
        # of two patterns covering as much text, the one whose term asks more of the text is more specific
        best = max((_evidence(m) for m in matches), default=0)
        for match in matches:
            pattern = kb.patterns[match.key]
            weight = self.w["pattern"] * (_evidence(match) / best if best else 0.0)
            matched = tuple(dict.fromkeys(match.words))
            words = "、".join(f"“{w}”" for w in matched)
            tail = (h_ref, ref(PATTERN, pattern.id))
            because = (f"隐患「{d.name}」中的{words}符合{'重大事故隐患' if pattern.major else '隐患'}情形「{pattern.name}」"
                       f"（{kb.citation(pattern, scope)}），")
            for mid in kb.by_pattern.get(pattern.id, ()):
                answers = pattern.answer == mid
                _add(cands, mid, "pattern", weight, (), tail,
                     because + ("本措施为该条对应措施" if answers else "本措施为该情形的辅助措施"), matched, answers)
        for f in d.factors:
            for n in kb.narrower_closure("HazardFactor", f):
                measures = kb.index.get("addressesFactor", {}).get(n, ())
                if not measures:
                    continue
                via: tuple[str, ...] = (h_ref, ref(CONCEPT, concept_id("HazardFactor", f)))
                via += (ref(CONCEPT, concept_id("HazardFactor", n)),) if n != f else ()
                text = (f"隐患类别含{kb.concept_name('HazardFactor', f)}"
                        + (f"（{kb.concept_name('HazardFactor', n)}）" if n != f else ""))
                for mid in measures:
                    _add(cands, mid, "factor", self.w["factor"], (), via, text)
        return cands

    def danger_candidates(self, e: EnterpriseFact, d: DangerFact, paths: EnterprisePaths | None = None) -> Candidates:
        """Every rule path of a hidden danger as the subject (its own, its risk point's, its enterprise's);
        `paths`: the enterprise's paths found for its other subjects (none: found here)."""
        paths = paths or EnterprisePaths(self, e)
        h_ref = (ref(HIDDEN_DANGER, d.id),)
        cands: Candidates = {}
        absorb(cands, (), paths.danger(d))
        if d.risk_point and d.risk_point in e.risk_points:
            absorb(cands, h_ref, paths.point(e.risk_points[d.risk_point], gaps=False)[0])
        absorb(cands, h_ref, paths.context())
        return cands

    # ------------------------------------------------------------------ scoring
    def industry_paths(self, e: EnterpriseFact, cands: Candidates, *, head: tuple[str, ...] = ()) -> None:
        """Add an industry path to every candidate written for the enterprise's industry."""
        industry_of = self._table(self.scope(e)).industry
        weight = self.w["industry"]
        tails: dict[str, tuple[tuple[str, ...], str]] = {}  # per industry: one tail and text for all its measures
        for mid, cand in cands.items():
            if "industry" in cand.kinds:
                continue
            ind = industry_of.get(mid)
            if ind is None:
                continue
            made = tails.get(ind)
            if made is None:
                made = tails[ind] = ((ref(ENTERPRISE, e.uscc), ref(INDUSTRY, ind)),
                                     f"适用于企业所属行业「{self.kb.concept_name('SupervisionIndustry', ind)}」")
            cand.add(("industry", weight, head, made[0], made[1], (), False))

    def score(self, label: str, e: EnterpriseFact, cands: Candidates, learned: LearnedScores | None = None, *,
              fired: Iterable[str] = ()) -> dict[str, Score]:
        """The eligible measures' scores.

        Eligible: in the enterprise's industry, not a decision, and — for a hidden danger — supported by its
        own text (a pattern path) or by learned evidence that is about the same situation (`learned_supports`).
        """
        kb, rw = self.kb, self.rank_w
        context_scale = float(rw["context_scale"][label])
        w_learned, w_pattern, w_exact = (float(rw[k]) for k in ("learned", "pattern", "exact"))
        hierarchy_part = self._hierarchy_part
        learned_scores = dict(learned.scores) if learned else {}
        fired_set = set(fired)
        allowed = self._table(self.scope(e)).allowed  # once: asked of every candidate (≈ 800 per enterprise)
        out: dict[str, Score] = {}
        empty: dict[str, float] = {}
        for mid in (cands.keys() | learned_scores.keys()) if learned_scores else cands:
            if mid not in allowed:
                continue
            cand = cands.get(mid)
            kinds = cand.kinds if cand is not None else empty
            pattern = kinds.get("pattern", 0.0)
            share = learned_scores.get(mid, 0.0)
            if label == HIDDEN_DANGER and pattern <= 0 and not self.learned_supports(
                    kb.measures[mid], share, learned.evidence.get(mid, []) if learned else [], fired_set):
                continue
            context = sum([v for k, v in kinds.items() if k not in _NOT_CONTEXT])  # sum(): compensated, as before
            if pattern <= 0 and share <= 0 and context <= 0:
                continue
            exact = cand.exact if cand is not None else 0.0
            hierarchy = hierarchy_part[mid]
            learned_part = w_learned * share
            total = w_pattern * pattern + w_exact * exact + learned_part + context_scale * context + hierarchy
            out[mid] = Score(mid, pattern, exact, share, context, hierarchy, total, learned_part)
        return out

    def learned_supports(self, m: MeasureType, share: float, support: list, fired: set[str]) -> bool:
        """Whether similar cases alone justify a measure the danger's own text does not name.

        When the text names patterns, a case counts only if it is about one of them (its text names it too)
        or the measure remedies one of them: "照明灯具损坏" is not a case of "非防爆照明灯具". When the text
        names none, a case counts if it is at least `strong_similarity` alike.
        """
        if share <= 0 or not support:
            return False
        if fired:
            return bool(fired & set(m.patterns)) or any(
                fired & {x.key for x in self.kb.match_patterns(nb.text)} for nb in support)
        return max(nb.similarity for nb in support) >= self.strong_similarity

    def rule_scores(self, e: EnterpriseFact, cands: Candidates, *, head: tuple[str, ...] = (), label: str = HIDDEN_DANGER,
                    fired: Iterable[str] = ()) -> tuple[dict[str, float], set[str]]:
        """Scores without the learned part (for evaluation), and the candidates left out for their industry."""
        self.industry_paths(e, cands, head=head)
        scores = self.score(label, e, cands, None, fired=fired)
        mismatched = {mid for mid in cands if self.industry_ok(e, self.kb.measures[mid]) is False}
        return {mid: s.total for mid, s in scores.items()}, mismatched

    def danger_scores(self, e: EnterpriseFact, d: DangerFact, learned: LearnedScores | None = None) -> dict[str, float]:
        """The scores `for_danger` ranks by (without the presence penalty, which is 0 for hidden dangers)."""
        cands = self.danger_candidates(e, d)
        self.industry_paths(e, cands, head=(ref(HIDDEN_DANGER, d.id),))
        fired = [m.key for m in self.fired_patterns(e, d)]
        return {mid: s.total for mid, s in self.score(HIDDEN_DANGER, e, cands, learned, fired=fired).items()}

    def learned_paths(self, subject_ref: str, learned: LearnedScores | None, query_text: str = "",
                      only: Collection[str] | None = None) -> Candidates:
        """The similar cases behind each measure's learned score (`only`: of these measures)."""
        cands: Candidates = {}
        if learned is None:
            return cands
        for mid, share in learned.scores.items():
            if only is not None and mid not in only:
                continue
            for nb in cited(learned.evidence.get(mid, [])):
                via = (ref(HIDDEN_DANGER, learned.via[mid]),) if mid in learned.via else ()
                tail = (subject_ref, *via, ref(HIDDEN_DANGER, nb.danger_id),
                        *(ref(RECTIFICATION, r) for r in nb.rectification_ids[:1]))
                why = self.why_similar(query_text, nb.text)
                _add(cands, mid, "learned", share, (), tail,
                     f"相似隐患「{nb.text}」（相似度{nb.similarity:.2f}{'；' + why if why else ''}）"
                     "经验收合格且未复发的整改采用了此措施")
        return cands

    def why_similar(self, query: str, other: str) -> str:
        """What two hidden-danger texts share: the hazard patterns both name, else their common words."""
        if not query or not other:
            return ""
        mine = {m.key for m in self.kb.match_patterns(query)}
        both = [self.kb.patterns[m.key].name for m in self.kb.match_patterns(other) if m.key in mine]
        if both:
            return f"同属隐患情形「{both[0]}」"
        words = shared_words(query, other)
        return f"共同用语：{'、'.join(words)}" if words else ""

    def order(self, scores: Mapping[str, float], top: int | None = None) -> list[str]:
        """Measures best first (the `top` first only, if given); equal scores by the preferred level of the
        hierarchy of controls, then id (deterministic). Equal to `SCORE_DIGITS` decimals: the same evidence
        summed in another order differs in the last bits, and decided such ties before — common among a
        risk point's or an enterprise's measures, which often rest on the same context paths alone."""
        preference = self._preference

        def key(mid: str) -> tuple[float, int, str]:
            return -round(scores[mid], SCORE_DIGITS), preference[mid], mid
        return sorted(scores, key=key) if top is None else heapq.nsmallest(top, scores, key=key)

    def blend(self, rules: Mapping[str, float], learned: Mapping[str, float]) -> dict[str, float]:
        """Rule scores plus the weighted learned share (the ranking's own formula, for evaluation)."""
        w = float(self.rank_w["learned"])
        return {mid: rules.get(mid, 0.0) + w * learned.get(mid, 0.0) for mid in set(rules) | set(learned)}

    def rank(self, label: str, key: str, e: EnterpriseFact, cands: Candidates, learned: LearnedScores | None,
             present: Mapping[str, list[tuple[RiskPointFact, Any]]], top_k: int, *,
             fired: Iterable[str] = (), query_text: str = "") -> list[Recommendation]:
        to_owner = owner_head(label, key)
        self.industry_paths(e, cands, head=to_owner)
        scores = self.score(label, e, cands, learned, fired=fired)
        penalty = float(self.config["present"]["penalty"].get(label, 0.0))
        final = {mid: s.total * (1 - penalty) if penalty and mid in present else s.total for mid, s in scores.items()}
        norm = float(self.rank_w["pattern"]) + float(self.rank_w["exact"])
        top = self.order(final, top_k)
        learned_cands = self.learned_paths(ref(label, key), learned, query_text, only=set(top))
        scope = self.scope(e)
        out = []
        for position, mid in enumerate(top, start=1):
            m = self.kb.measures[mid]
            paths = cands[mid].paths if mid in cands else []
            paths += learned_cands[mid].paths if mid in learned_cands else []
            paths = _strongest(paths, self.max_paths)
            owners = present.get(mid, [])
            for rp, cm in owners[:2]:
                start = () if label == RISK_POINT else (*to_owner, ref(ENTERPRISE, e.uscc))
                paths.append(Path("present", 0.0, (*start, ref(RISK_POINT, rp.id),
                                                   ref(RISK_ANALYSIS_UNIT, cm.unit_id), ref(RISK_EVENT, cm.event_id),
                                                   ref(CONTROL_MEASURE, cm.id), ref(MEASURE, mid)),
                                  f"企业已有管控措施「{cm.text}」（风险点「{rp.name}」）"))
            s = scores[mid]
            out.append(Recommendation(
                subject_label=label, subject_key=key, measure=m, position=position,
                score=min(1.0, final[mid] / norm), rule_score=min(1.0, s.rules / norm), learned_score=s.learned,
                paths=paths, explanation=self.explain(paths, learned, mid, bool(owners), query_text),
                citation=self.kb.citation(m, scope), already_present=bool(owners),
                present_as=tuple(sorted({cm.id for _, cm in owners}))))
        return out

    def explain(self, paths: list[Path], learned: LearnedScores | None, mid: str, present: bool,
                query_text: str = "") -> str:
        """The reasons in words: the pattern (matched words, article, whether this is the article's measure),
        the learned part (how many same-industry cases, how alike, what they share), then context."""
        said: set[str] = set()
        sentences: list[str] = []
        for kind in KIND_ORDER:
            if kind in ("learned", "present"):
                continue
            # the strongest path of the kind (the first of them in `paths` among equals)
            p = min((p for p in paths if p.kind == kind), key=lambda p: (-p.weight, not p.answers), default=None)
            if p is not None and p.text not in said and len(sentences) < 4:
                said.add(p.text)
                sentences.append(p.text)
        if learned is not None and mid in learned.scores:
            support = learned.evidence.get(mid, [])
            sims = [n.similarity for n in support]
            why = ""
            if support:
                reasons = {self.why_similar(query_text, n.text) for n in cited(support)} - {""}
                why = "，" + "；".join(sorted(reasons)) if reasons else ""
            span = f"相似度{min(sims):.2f}–{max(sims):.2f}" if len(sims) > 1 else (f"相似度{sims[0]:.2f}" if sims else "")
            sentences.insert(1 if sentences and any(p.kind == "pattern" for p in paths) else 0,
                             f"{len(support)}起同行业相似隐患（{span}{why}）经验收合格且未复发的整改采用了此措施"
                             f"（得票{learned.scores[mid]:.0%}）")
        if present:
            sentences.append("企业已有对应的管控措施")
        return "；".join(sentences) + ("。" if sentences else "")

    # ------------------------------------------------------------------ decisions and gaps
    def decision_for(self, e: EnterpriseFact, dangers: Iterable[DangerFact]) -> dict[str, Any] | None:
        """停产停业整改 / 停止使用 for major hidden dangers: a decision, with why and on what legal basis."""
        dm = self.decision_measure
        if dm is None:
            return None
        reasons: list[dict[str, str | None]] = []
        for d in dangers:
            scope = self.scope(e)
            major = [self.kb.patterns[m.key] for m in self.fired_patterns(e, d) if self.kb.patterns[m.key].major
                     and self.kb.article_in_scope(m.key, scope) is not False]
            if major:
                p = major[0]
                reasons.append({"hiddenDanger": d.id, "name": d.name, "pattern": p.id, "patternName": p.name,
                                "article": self.kb.citation(p, self.scope(e))})
            elif d.grade == "MAJOR":
                reasons.append({"hiddenDanger": d.id, "name": d.name, "pattern": None, "patternName": None,
                                "article": None})
        if not reasons:
            return None
        return {"id": dm.id, "name": dm.name, "citation": self.kb.citation(dm),
                "note": "属处置决定而非管控措施：重大事故隐患由监管部门依法责令，企业在治理期间自行采取",
                "because": reasons}

    def kb_gap(self, e: EnterpriseFact, d: DangerFact) -> dict[str, Any]:
        """Why a hidden danger got no measure, for the knowledge base's maintainers."""
        elsewhere = [m.key for m in (self.kb.match_patterns(d.name) or self.kb.match_patterns(d.description))]
        fired = [m.key for m in self.fired_patterns(e, d)]
        if fired:
            reason = "隐患符合的情形在知识库中没有适用于企业所属行业的措施"
        elif elsewhere:
            reason = "隐患只符合其他行业的隐患情形，知识库中没有适用于企业所属行业的措施"
        else:
            reason = "知识库中没有针对此隐患的措施"
        return {"noMeasure": True, "reason": reason, "text": d.name or d.description, "industry": e.industry,
                "industryScope": list(self.scope(e)), "patterns": fired, "otherIndustryPatterns": elsewhere,
                "flag": "knowledge-base-gap"}

    # ------------------------------------------------------------------ subjects
    def learned_for(self, e: EnterpriseFact, dangers: Iterable[DangerFact],
                    exclude: Mapping[str, set[str]] | None = None) -> dict[str, LearnedScores]:
        return self.learned_for_many([(e, dangers)], exclude)

    def learned_for_many(self, subjects: Iterable[tuple[EnterpriseFact, Iterable[DangerFact]]],
                         exclude: Mapping[str, set[str]] | None = None) -> dict[str, LearnedScores]:
        """The learned scores of several enterprises' hidden dangers, by danger id, in one pass of the
        model (each query's scores are its own: the same as one enterprise at a time)."""
        pairs = [(e, d) for e, dangers in subjects for d in dangers]
        if self.model is None or not pairs:
            return {}
        scores = self.model.score([features(self.kb, e, d) for e, d in pairs], exclude=exclude)
        return {d.id: s for (_, d), s in zip(pairs, scores, strict=True)}

    def top_k(self, label: str) -> int:
        return int(self.config["output"]["top_k"][label])

    def for_danger(self, e: EnterpriseFact, d: DangerFact, learned: LearnedScores | None = None, *,
                   present: Mapping | None = None, top_k: int | None = None,
                   paths: EnterprisePaths | None = None) -> SubjectResult:
        """`paths`: the enterprise's paths found for its other subjects (none: found here)."""
        cands = self.danger_candidates(e, d, paths)
        if learned is None and self.model is not None:
            learned = self.learned_for(e, [d]).get(d.id)
        present = self.own_measures(e) if present is None else present
        fired = [m.key for m in self.fired_patterns(e, d)]
        recs = self.rank(HIDDEN_DANGER, d.id, e, cands, learned, present, top_k or self.top_k(HIDDEN_DANGER),
                         fired=fired, query_text=d.name or d.description)
        return SubjectResult(HIDDEN_DANGER, d.id, d.name, e.uscc, recs, decision=self.decision_for(e, [d]),
                             kb_gap=None if recs else self.kb_gap(e, d))

    def for_point(self, e: EnterpriseFact, rp: RiskPointFact, open_dangers: Iterable[DangerFact] = (),
                  learned: Mapping[str, LearnedScores] | None = None, *, present: Mapping | None = None,
                  top_k: int | None = None, paths: EnterprisePaths | None = None) -> SubjectResult:
        paths = paths or EnterprisePaths(self, e)
        point, gap_rows = paths.point(rp, gaps=True)
        cands: Candidates = {}
        absorb(cands, (), point)
        rp_ref = (ref(RISK_POINT, rp.id),)
        absorb(cands, rp_ref, paths.context())
        dangers = [d for d in open_dangers if d.risk_point == rp.id]
        learned = learned if learned is not None else self.learned_for(e, dangers)
        for d in dangers:
            absorb(cands, rp_ref, paths.danger(d), self.w["open_danger"])
        combined = _max_learned([(d.id, learned[d.id]) for d in dangers if d.id in learned])
        present = self.own_measures(e) if present is None else present
        present = {mid: [(p, cm) for p, cm in own if p.id == rp.id] for mid, own in present.items()}
        present = {mid: v for mid, v in present.items() if v}
        recs = self.rank(RISK_POINT, rp.id, e, cands, combined, present, top_k or self.top_k(RISK_POINT))
        return SubjectResult(RISK_POINT, rp.id, rp.name, e.uscc, recs, gaps=point_gaps(gap_rows),
                             decision=self.decision_for(e, dangers))

    def for_enterprise(self, e: EnterpriseFact, open_dangers: Iterable[DangerFact] = (),
                       learned: Mapping[str, LearnedScores] | None = None, *, present: Mapping | None = None,
                       top_k: int | None = None, paths: EnterprisePaths | None = None) -> SubjectResult:
        paths = paths or EnterprisePaths(self, e)
        cands: Candidates = {}
        gap_by_point = {}
        e_ref = (ref(ENTERPRISE, e.uscc),)
        for rp in e.risk_points.values():
            point, rows = paths.point(rp, gaps=True)
            absorb(cands, e_ref, point)
            gap_by_point[rp.id] = (rp, rows)
        absorb(cands, (), paths.context())
        dangers = list(open_dangers)
        learned = learned if learned is not None else self.learned_for(e, dangers)
        for d in dangers:
            absorb(cands, e_ref, paths.danger(d), self.w["open_danger"])
        combined = _max_learned([(d.id, learned[d.id]) for d in dangers if d.id in learned])
        present = self.own_measures(e) if present is None else present
        recs = self.rank(ENTERPRISE, e.uscc, e, cands, combined, present, top_k or self.top_k(ENTERPRISE))
        return SubjectResult(ENTERPRISE, e.uscc, e.name, e.uscc, recs, gaps=enterprise_gaps(gap_by_point),
                             decision=self.decision_for(e, dangers))


def _evidence(match: Match) -> int:
    return match.score + len(match.words)


def shared_words(a: str, b: str, limit: int = 3) -> list[str]:
    """The longest words two texts have in common (jieba words of two or more characters, first-seen order)."""
    from riskgraph.reasoning.recommend.learned import text_tokens

    other = {w for w in text_tokens(b) if not w.startswith("§")}
    common = [w for w in dict.fromkeys(text_tokens(a)) if not w.startswith("§") and len(w) >= 2 and w in other]
    return sorted(common, key=lambda w: (-len(w), common.index(w)))[:limit]


@dataclass(frozen=True, slots=True)
class _ScopeTable:
    """For one industry scope: the measures that may be recommended, and the industry of the scope each
    measure is written for (measures written for none of it absent)."""

    allowed: frozenset[str]
    industry: dict[str, str]


def owner_head(label: str, key: str) -> tuple[str, ...]:
    """The way from a subject to its enterprise, for paths that run through the enterprise."""
    return () if label == ENTERPRISE else (ref(label, key),)


def _strongest(paths: list[Path], limit: int) -> list[Path]:
    """The strongest paths, at least one of each kind present, strongest first."""
    by_kind: dict[str, Path] = {}
    for p in sorted(paths, key=lambda p: (-p.weight, not p.answers)):
        by_kind.setdefault(p.kind, p)
    chosen = list(by_kind.values())
    for p in sorted(paths, key=lambda p: -p.weight):
        if len(chosen) >= limit:
            break
        if p not in chosen:
            chosen.append(p)
    return sorted(chosen[:max(limit, len(by_kind))], key=lambda p: (-p.weight, KIND_ORDER.index(p.kind)))


def _max_learned(items: list[tuple[str, LearnedScores]]) -> LearnedScores | None:
    """Several hidden dangers' learned scores as one: per measure the best, remembering which danger it was."""
    if not items:
        return None
    out = LearnedScores()
    for danger_id, s in items:
        out.neighbours = max(out.neighbours, s.neighbours)
        for mid, v in s.scores.items():
            if v > out.scores.get(mid, 0.0):
                out.scores[mid] = v
                out.evidence[mid] = s.evidence.get(mid, [])
                out.via[mid] = danger_id
    return out


def point_gaps(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A risk point's coverage: per risk event, the hierarchy levels its own measures cover."""
    values = [r["coverage"] for r in rows if r["coverage"] is not None]
    return {"coverage": round(sum(values) / len(values), 4) if values else None, "events": rows}


def enterprise_gaps(by_point: Mapping[str, tuple[RiskPointFact, list[dict[str, Any]]]]) -> dict[str, Any]:
    """Coverage over all risk points: overall, per accident type, and the least covered risk points."""
    per_type: dict[str, list[float]] = defaultdict(list)
    missing: dict[str, Counter] = defaultdict(Counter)
    points = []
    for rp, rows in by_point.values():
        values = [r["coverage"] for r in rows if r["coverage"] is not None]
        if values:
            points.append({"riskPoint": rp.id, "name": rp.name, "coverage": round(sum(values) / len(values), 4)})
        for r in rows:
            if r["coverage"] is not None:
                per_type[r["accidentType"]].append(r["coverage"])
                missing[r["accidentType"]].update(r["missingLevels"])
    every = [v for vs in per_type.values() for v in vs]
    return {
        "riskPoints": len(by_point),
        "events": len(every),
        "coverage": round(sum(every) / len(every), 4) if every else None,
        "byAccidentType": {
            a: {"events": len(vs), "coverage": round(sum(vs) / len(vs), 4),
                "missingLevels": dict(sorted(missing[a].items(), key=lambda kv: (-kv[1], kv[0])))}
            for a, vs in sorted(per_type.items())
        },
        "leastCovered": sorted(points, key=lambda p: (p["coverage"], p["riskPoint"]))[:5],
    }
