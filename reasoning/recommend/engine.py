"""Ranked, explained control-measure recommendations for a hidden danger, a risk point or an enterprise.

Two parts, blended (`recommend.toml` [blend]):

- **rules**: graph paths from the subject to a knowledge-base measure (`ControlMeasureType`) — the
  hidden danger's name matches a hazard pattern the measure remedies; its risk point's risk events
  are of an accident type the measure mitigates; the risk point's name names an equipment type; its
  GB/T 13861 classes; the enterprise's chemicals (GB 18218 categories), processes and industry; for a
  risk point, the hierarchy levels its own control measures lack (the gap). Each kind of path
  contributes its weight times its strength, once (the strongest path of the kind);
- **learned**: `learned.NeighbourModel` — what verified rectifications of similar hidden dangers used.

Every recommendation carries its paths as node ids (`Label/key`, nodes that exist in the graph), the
reason in words, the cited standards, and whether the enterprise already has the measure (one of its
own ControlMeasure texts maps to it).
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
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
from riskgraph.reasoning.recommend.learned import LearnedScores, NeighbourModel, features

#: order in which reasons are told
KIND_ORDER = ("pattern", "learned", "gap", "accident", "equipment", "factor", "category", "process", "industry",
              "present")
KIND_WORDS = {
    "pattern": "隐患模式", "learned": "历史整改", "gap": "管控缺口", "accident": "事故类型", "equipment": "设备设施",
    "factor": "危险有害因素", "category": "危险化学品类别", "process": "危险化工工艺", "industry": "行业",
    "present": "已有措施",
}


@dataclass
class Path:
    kind: str
    weight: float
    nodes: tuple[str, ...]
    text: str

    def scaled(self, factor: float) -> Path:
        return Path(self.kind, self.weight * factor, self.nodes, self.text)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "weight": round(self.weight, 4), "nodes": list(self.nodes), "text": self.text}


@dataclass
class Candidate:
    measure: str
    kinds: dict[str, float] = field(default_factory=dict)
    paths: list[Path] = field(default_factory=list)

    def add(self, path: Path) -> None:
        if path.weight > self.kinds.get(path.kind, 0.0):
            self.kinds[path.kind] = path.weight
        self.paths.append(path)


Candidates = dict[str, Candidate]


def _add(cands: Candidates, measure: str, path: Path) -> None:
    cands.setdefault(measure, Candidate(measure)).add(path)


def merge(into: Candidates, other: Candidates, factor: float = 1.0) -> None:
    for mid, cand in other.items():
        for p in cand.paths:
            _add(into, mid, p.scaled(factor) if factor != 1.0 else p)


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

    def path_nodes(self) -> list[str]:
        seen: dict[str, None] = {}
        for p in self.paths:
            for n in p.nodes:
                seen.setdefault(n, None)
        return list(seen)

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
            "pathNodes": self.path_nodes(),
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


class Recommender:
    """Rules and blend over one knowledge base and one configuration; `model` is the learned part."""

    def __init__(self, kb: KnowledgeBase | None = None, config: ModelConfig | None = None,
                 model: NeighbourModel | None = None) -> None:
        self.kb = kb or knowledge_base()
        self.config = config or load_config()
        self.model = model
        self.w = {k: float(v) for k, v in self.config["rules"].items()}
        self.alpha = float(self.config["blend"]["rule_weight"])
        self.max_paths = int(self.config["output"]["max_paths"])
        self.method = str(self.config["method"])
        self.version = f"{self.config.version}+kb{self.kb.version}"

    # ------------------------------------------------------------------ helpers
    def _level_zh(self, level: str) -> str:
        return self.kb.concept_name("ControlHierarchy", level)

    def industry_ok(self, e: EnterpriseFact, m: MeasureType) -> bool | None:
        """True/False whether the measure's industries include the enterprise's; None = unrestricted/unknown."""
        allowed = m.linked("appliesToIndustry")
        if not allowed or not e.industry:
            return None
        chain = set(self.kb.broader_chain("SupervisionIndustry", e.industry))
        if chain & set(allowed):
            return True
        return any(e.industry in self.kb.broader_chain("SupervisionIndustry", a) for a in allowed)

    def own_measures(self, e: EnterpriseFact) -> dict[str, list[tuple[RiskPointFact, Any]]]:
        """KB measure id -> the enterprise's own control measures (with their risk point) that map to it."""
        out: dict[str, list] = defaultdict(list)
        for rp in e.risk_points.values():
            for cm in rp.measures:
                for match in self.kb.map_text(cm.text):
                    out[match.key].append((rp, cm))
        return out

    # ------------------------------------------------------------------ rule paths
    def context_paths(self, e: EnterpriseFact, *, head: tuple[str, ...] = ()) -> Candidates:
        """Paths from the enterprise itself: chemicals' GB 18218 categories and hazardous processes.

        `head` is the way from the subject to the enterprise (a hidden danger or risk point of it).
        """
        kb = self.kb
        cands: Candidates = {}
        e_ref = ref(ENTERPRISE, e.uscc)
        head = (*head, e_ref)
        for h in e.holdings:
            if not h.category:
                continue
            for mid in kb.measures_for("appliesToCategory", [h.category]):
                _add(cands, mid, Path("category", self.w["category"], (
                    *head, ref(h.source_label, h.source_id), ref("Inventory", h.inventory_id),
                    ref(CHEMICAL, h.chemical_id),
                    ref(CONCEPT, concept_id("HazardCategory", h.category)), ref(MEASURE, mid)),
                    f"企业危险源存有{h.chemical_name}（GB 18218 {h.category} "
                    f"{kb.concept_name('HazardCategory', h.category).split('：')[0]}）"))
        for p in e.processes:
            for mid in kb.measures_for("appliesToProcess", [p]):
                _add(cands, mid, Path("process", self.w["process"], (
                    *head, ref(CONCEPT, concept_id("HazardousProcess", p)), ref(MEASURE, mid)),
                    f"企业涉及重点监管危险化工工艺「{kb.concept_name('HazardousProcess', p)}」"))
        return cands

    def point_paths(self, rp: RiskPointFact, *, head: tuple[str, ...] = (), gaps: bool = False,
                    ) -> tuple[Candidates, list[dict[str, Any]]]:
        """Paths through a risk point: its events' accident types, its equipment; with `gaps`, the levels missing."""
        kb = self.kb
        cands: Candidates = {}
        rp_ref = ref(RISK_POINT, rp.id)
        gap_rows = []
        for ev in rp.events:
            if not ev.accident_type:
                continue
            a = ev.accident_type
            a_name = kb.concept_name("AccidentType", a)
            chain = (*head, rp_ref, ref(RISK_ANALYSIS_UNIT, ev.unit_id), ref(RISK_EVENT, ev.id),
                     ref(CONCEPT, concept_id("AccidentType", a)))
            applicable = kb.measures_for("mitigatesAccident", [a])
            own = [cm for cm in rp.measures if cm.event_id == ev.id]
            covered = sorted({cm.control_type for cm in own if cm.control_type})
            levels = sorted({kb.measures[mid].hierarchy for mid in applicable},
                            key=lambda lv: -kb.hierarchy_rank.get(lv, 0))
            missing = [lv for lv in levels if lv not in covered]
            for mid in applicable:
                _add(cands, mid, Path("accident", self.w["accident"], (*chain, ref(MEASURE, mid)),
                                      f"风险点「{rp.name}」的风险事件「{ev.name}」属{a_name}（GB 6441-{a}）"))
                level = kb.measures[mid].hierarchy
                if gaps and level in missing:
                    _add(cands, mid, Path("gap", self.w["gap"], (*chain, ref(MEASURE, mid)),
                                          f"风险事件「{ev.name}」尚无{self._level_zh(level)}类管控措施"))
            if gaps:
                present = sorted({m.key for cm in own for m in kb.map_text(cm.text)})
                gap_rows.append({
                    "riskEvent": ev.id, "name": ev.name, "accidentType": a, "accidentTypeName": a_name,
                    "ownMeasures": [cm.id for cm in own], "coveredLevels": covered, "applicableLevels": levels,
                    "missingLevels": missing, "presentMeasures": present,
                    "coverage": round(len([lv for lv in levels if lv in covered]) / len(levels), 4) if levels else None,
                })
        for notation, _word in kb.match_equipment(rp.name):
            for mid in kb.measures_for("appliesToEquipment", [notation]):
                _add(cands, mid, Path("equipment", self.w["equipment"], (
                    *head, rp_ref, ref(CONCEPT, concept_id("EquipmentType", notation)), ref(MEASURE, mid)),
                    f"风险点「{rp.name}」涉及{kb.concept_name('EquipmentType', notation)}"))
        return cands, gap_rows

    def danger_paths(self, e: EnterpriseFact, d: DangerFact, *, with_point: bool = True,
                     head: tuple[str, ...] = ()) -> Candidates:
        """Paths from a hidden danger: its name's hazard patterns, its factor classes, its risk point.

        `head` is the way from the subject to the danger (its risk point or enterprise).
        """
        kb = self.kb
        cands: Candidates = {}
        h_ref = ref(HIDDEN_DANGER, d.id)
        first = (*head, h_ref)
        matches = kb.match_patterns(d.name) or kb.match_patterns(d.description)
        best = max((m.score for m in matches), default=0)
        for match in matches:
            pattern = kb.patterns[match.key]
            strength = match.score / best if best else 0.0
            for mid in kb.by_pattern.get(pattern.id, ()):
                _add(cands, mid, Path("pattern", self.w["pattern"] * strength, (
                    *first, ref(PATTERN, pattern.id), ref(MEASURE, mid)),
                    f"隐患「{d.name}」符合隐患模式「{pattern.name}」（{kb.citation(pattern)}）"))
        for f in d.factors:
            for n in kb.narrower_closure("HazardFactor", f):
                for mid in kb.index.get("addressesFactor", {}).get(n, ()):
                    nodes = (*first, ref(CONCEPT, concept_id("HazardFactor", f)))
                    if n != f:
                        nodes += (ref(CONCEPT, concept_id("HazardFactor", n)),)
                    _add(cands, mid, Path("factor", self.w["factor"], (*nodes, ref(MEASURE, mid)),
                                          f"隐患类别含{kb.concept_name('HazardFactor', f)}"
                                          + (f"（{kb.concept_name('HazardFactor', n)}）" if n != f else "")))
        if with_point and d.risk_point and d.risk_point in e.risk_points:
            point, _ = self.point_paths(e.risk_points[d.risk_point], head=first)
            merge(cands, point)
        return cands

    def danger_candidates(self, e: EnterpriseFact, d: DangerFact) -> Candidates:
        """Every rule path of a hidden danger as the subject (its own, its risk point's, its enterprise's)."""
        cands = self.danger_paths(e, d)
        merge(cands, self.context_paths(e, head=(ref(HIDDEN_DANGER, d.id),)))
        return cands

    # ------------------------------------------------------------------ scoring
    def rule_scores(self, e: EnterpriseFact, cands: Candidates, *, head: tuple[str, ...] = (),
                    ) -> tuple[dict[str, float], set[str]]:
        """Rule score per candidate measure (industry paths and mismatch applied), and the mismatched ones.

        `head` is the way from the subject to the enterprise, for the industry paths it adds to the
        candidates (an industry alone never makes a candidate).
        """
        kb, scores, mismatched = self.kb, {}, set()
        for mid, cand in cands.items():
            m = kb.measures[mid]
            ok = self.industry_ok(e, m)
            if ok is True:
                ind = next(i for i in m.linked("appliesToIndustry")
                           if i in kb.broader_chain("SupervisionIndustry", e.industry or "")
                           or (e.industry or "") in kb.broader_chain("SupervisionIndustry", i))
                cand.add(Path("industry", self.w["industry"], (*head, ref(ENTERPRISE, e.uscc), ref(INDUSTRY, ind),
                                                               ref(MEASURE, mid)),
                              f"适用于企业所属行业「{kb.concept_name('SupervisionIndustry', ind)}」"))
            base = sum(cand.kinds.values())
            if base <= 0:
                continue
            base += self.w["hierarchy"] * (kb.hierarchy_rank.get(m.hierarchy, 1) - 1) / 5
            if ok is False:
                base *= self.w["industry_mismatch"]
                mismatched.add(mid)
            scores[mid] = base
        return scores, mismatched

    def learned_paths(self, subject_ref: str, learned: LearnedScores | None) -> Candidates:
        cands: Candidates = {}
        if learned is None:
            return cands
        for mid, share in learned.scores.items():
            for nb in sorted(learned.evidence.get(mid, []), key=lambda n: -n.similarity)[:3]:
                via = (ref(HIDDEN_DANGER, learned.via[mid]),) if mid in learned.via else ()
                nodes = (subject_ref, *via, ref(HIDDEN_DANGER, nb.danger_id),
                         *(ref(RECTIFICATION, r) for r in nb.rectification_ids[:1]), ref(MEASURE, mid))
                _add(cands, mid, Path("learned", share, nodes,
                                      f"相似隐患（相似度{nb.similarity:.2f}）经验收合格且未复发的整改采用了此措施"))
        return cands

    def order(self, scores: Mapping[str, float]) -> list[str]:
        """Measures best first; ties by preferred hierarchy level, then id (deterministic)."""
        rank = self.kb.hierarchy_rank
        return sorted(scores, key=lambda mid: (-scores[mid], -rank.get(self.kb.measures[mid].hierarchy, 0), mid))

    def blend(self, rules: Mapping[str, float], learned: Mapping[str, float]) -> dict[str, float]:
        r_max = max(rules.values(), default=0.0)
        l_max = max(learned.values(), default=0.0)
        out = {}
        for mid in set(rules) | set(learned):
            r = rules.get(mid, 0.0) / r_max if r_max > 0 else 0.0
            s = learned.get(mid, 0.0) / l_max if l_max > 0 else 0.0
            if r_max > 0 and l_max > 0:
                out[mid] = self.alpha * r + (1 - self.alpha) * s
            else:
                out[mid] = r if r_max > 0 else s
        return out

    def rank(self, label: str, key: str, e: EnterpriseFact, cands: Candidates, learned: LearnedScores | None,
             present: Mapping[str, list[tuple[RiskPointFact, Any]]], top_k: int) -> list[Recommendation]:
        to_owner = owner_head(label, key)
        rules, _ = self.rule_scores(e, cands, head=to_owner)
        learned_scores = dict(learned.scores) if learned else {}
        final = self.blend(rules, learned_scores)
        penalty = float(self.config["present"]["penalty"].get(label, 0.0))
        if penalty:
            final = {mid: s * (1 - penalty) if mid in present else s for mid, s in final.items()}
        subject_ref = ref(label, key)
        learned_cands = self.learned_paths(subject_ref, learned)
        out = []
        for position, mid in enumerate(self.order(final)[:top_k], start=1):
            m = self.kb.measures[mid]
            paths = list(cands[mid].paths) if mid in cands else []
            paths += learned_cands[mid].paths if mid in learned_cands else []
            paths = _strongest(paths, self.max_paths)
            owners = present.get(mid, [])
            for rp, cm in owners[:2]:
                start = () if label == RISK_POINT else (*to_owner, ref(ENTERPRISE, e.uscc))
                paths.append(Path("present", 0.0, (*start, ref(RISK_POINT, rp.id),
                                                   ref(RISK_ANALYSIS_UNIT, cm.unit_id), ref(RISK_EVENT, cm.event_id),
                                                   ref(CONTROL_MEASURE, cm.id), ref(MEASURE, mid)),
                                  f"企业已有管控措施「{cm.text}」（风险点「{rp.name}」）"))
            out.append(Recommendation(
                subject_label=label, subject_key=key, measure=m, position=position, score=final[mid],
                rule_score=rules.get(mid, 0.0), learned_score=learned_scores.get(mid, 0.0), paths=paths,
                explanation=self.explain(paths, learned, mid, bool(owners)), citation=self.kb.citation(m),
                already_present=bool(owners), present_as=tuple(sorted({cm.id for _, cm in owners}))))
        return out

    def explain(self, paths: list[Path], learned: LearnedScores | None, mid: str, present: bool) -> str:
        said: set[str] = set()
        sentences: list[str] = []
        for kind in KIND_ORDER:
            if kind in ("learned", "present"):
                continue
            for p in sorted((p for p in paths if p.kind == kind), key=lambda p: -p.weight):
                if p.text not in said and len(sentences) < 4:
                    said.add(p.text)
                    sentences.append(p.text)
                break
        if learned is not None and mid in learned.scores:
            support = learned.evidence.get(mid, [])
            sentences.insert(1 if sentences and any(p.kind == "pattern" for p in paths) else 0,
                             f"{len(support)}起相似隐患的已验收整改采用了此措施（得票{learned.scores[mid]:.0%}）")
        if present:
            sentences.append("企业已有对应的管控措施")
        return "；".join(sentences) + ("。" if sentences else "")

    # ------------------------------------------------------------------ subjects
    def learned_for(self, e: EnterpriseFact, dangers: Iterable[DangerFact],
                    exclude: Mapping[str, set[str]] | None = None) -> dict[str, LearnedScores]:
        dangers = list(dangers)
        if self.model is None or not dangers:
            return {}
        feats = [features(self.kb, e, d) for d in dangers]
        return {d.id: s for d, s in zip(dangers, self.model.score(feats, exclude=exclude), strict=False)}

    def top_k(self, label: str) -> int:
        return int(self.config["output"]["top_k"][label])

    def for_danger(self, e: EnterpriseFact, d: DangerFact, learned: LearnedScores | None = None, *,
                   present: Mapping | None = None, top_k: int | None = None) -> SubjectResult:
        cands = self.danger_candidates(e, d)
        if learned is None and self.model is not None:
            learned = self.learned_for(e, [d]).get(d.id)
        present = self.own_measures(e) if present is None else present
        recs = self.rank(HIDDEN_DANGER, d.id, e, cands, learned, present, top_k or self.top_k(HIDDEN_DANGER))
        return SubjectResult(HIDDEN_DANGER, d.id, d.name, e.uscc, recs)

    def for_point(self, e: EnterpriseFact, rp: RiskPointFact, open_dangers: Iterable[DangerFact] = (),
                  learned: Mapping[str, LearnedScores] | None = None, *, present: Mapping | None = None,
                  top_k: int | None = None) -> SubjectResult:
        cands, gap_rows = self.point_paths(rp, gaps=True)
        rp_ref = ref(RISK_POINT, rp.id)
        merge(cands, self.context_paths(e, head=(rp_ref,)))
        dangers = [d for d in open_dangers if d.risk_point == rp.id]
        learned = learned if learned is not None else self.learned_for(e, dangers)
        for d in dangers:
            merge(cands, self.danger_paths(e, d, with_point=False, head=(rp_ref,)), self.w["open_danger"])
        combined = _max_learned([(d.id, learned[d.id]) for d in dangers if d.id in learned])
        present = self.own_measures(e) if present is None else present
        present = {mid: [(p, cm) for p, cm in own if p.id == rp.id] for mid, own in present.items()}
        present = {mid: v for mid, v in present.items() if v}
        recs = self.rank(RISK_POINT, rp.id, e, cands, combined, present, top_k or self.top_k(RISK_POINT))
        return SubjectResult(RISK_POINT, rp.id, rp.name, e.uscc, recs, gaps=point_gaps(gap_rows))

    def for_enterprise(self, e: EnterpriseFact, open_dangers: Iterable[DangerFact] = (),
                       learned: Mapping[str, LearnedScores] | None = None, *, present: Mapping | None = None,
                       top_k: int | None = None) -> SubjectResult:
        cands: Candidates = {}
        gap_by_point = {}
        for rp in e.risk_points.values():
            point, rows = self.point_paths(rp, head=(ref(ENTERPRISE, e.uscc),), gaps=True)
            merge(cands, point)
            gap_by_point[rp.id] = (rp, rows)
        merge(cands, self.context_paths(e))
        dangers = list(open_dangers)
        learned = learned if learned is not None else self.learned_for(e, dangers)
        for d in dangers:
            merge(cands, self.danger_paths(e, d, with_point=False, head=(ref(ENTERPRISE, e.uscc),)),
                  self.w["open_danger"])
        combined = _max_learned([(d.id, learned[d.id]) for d in dangers if d.id in learned])
        present = self.own_measures(e) if present is None else present
        recs = self.rank(ENTERPRISE, e.uscc, e, cands, combined, present, top_k or self.top_k(ENTERPRISE))
        return SubjectResult(ENTERPRISE, e.uscc, e.name, e.uscc, recs, gaps=enterprise_gaps(gap_by_point))


def owner_head(label: str, key: str) -> tuple[str, ...]:
    """The way from a subject to its enterprise, for paths that run through the enterprise."""
    return () if label == ENTERPRISE else (ref(label, key),)


def _strongest(paths: list[Path], limit: int) -> list[Path]:
    """The strongest paths, at least one of each kind present, strongest first."""
    by_kind: dict[str, Path] = {}
    for p in sorted(paths, key=lambda p: -p.weight):
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
