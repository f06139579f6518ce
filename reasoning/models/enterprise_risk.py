"""Enterprise residual risk: inherent risk against control effectiveness, and supervision tags.

    I = min(I_max, Σ_g min(cap_g, Σ_i points_g(i)))     g ∈ major hazard sources by level, risk points by
                                                        colour, tailings ponds by safety class, hazardous processes
    E = Σ_k w_k · e_k / Σ_k w_k                         k ∈ rectification rate, on-time rate, alarm handling
                                                        rate, alarm handling time score (only those with data)
    R = I · (1 − r_max · E)                             graded RED/ORANGE/YELLOW/BLUE by the configured bands

Weights, caps, r_max and bands: reasoning/config/enterprise_risk.toml. Components sum to R: inherent
groups add their (scaled) points, control indicators subtract I · r_max · w_k · e_k.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from riskgraph.reasoning.models.bands import band_set, bands_summary
from riskgraph.reasoning.models.config import ModelConfig, load_config
from riskgraph.reasoning.models.facts import EnterpriseFacts, within_days
from riskgraph.reasoning.models.result import Component, ModelResult, unique


@dataclass(frozen=True)
class SupervisionTag:
    code: str
    label: str
    evidence: tuple[str, ...] = ()


def assess_enterprise_risk(facts: EnterpriseFacts, *, config: ModelConfig | None = None) -> ModelResult:
    cfg = config or load_config("enterprise_risk")
    flags: list[str] = []
    groups = _inherent_groups(facts, cfg["inherent"]["groups"], flags)
    raw_inherent = sum(c.contribution for c in groups)
    inherent = min(float(cfg["inherent"]["max"]), raw_inherent)
    if raw_inherent > inherent:
        scale = inherent / raw_inherent
        groups = [_scaled(c, scale) for c in groups]
        flags.append(f"inherent-capped-at-{inherent:g}")

    control = cfg["control"]
    indicators = _control_indicators(facts, control)
    weights = {k: float(w) for k, w in control["weights"].items() if k in indicators}
    total_weight = sum(weights.values())
    if total_weight > 0:
        effectiveness = sum(weights[k] * indicators[k][0] for k in weights) / total_weight
    else:
        effectiveness = float(control["no_data"])
        flags.append("control-no-data")
    reduction = float(control["max_reduction"])
    controls = [
        Component(
            name=k,
            value=indicators[k][0],
            weight=weights[k] / total_weight,
            contribution=-inherent * reduction * weights[k] / total_weight * indicators[k][0],
            evidence=indicators[k][1],
            note="control effectiveness indicator (0–1)",
        )
        for k in weights
    ]
    residual = inherent * (1 - reduction * effectiveness)
    bands = band_set("enterprise_risk", cfg["bands"])
    band = bands.classify(residual)
    if band is None:
        flags.append(f"unrated:below-{bands.bands[-1].lower:g}")
    components = (*groups, *controls)
    return ModelResult(
        method=cfg["method"],
        version=cfg.version,
        score=residual,
        level=band.label if band else None,
        colour=band.colour if band else None,
        components=components,
        evidence=unique([facts.subject, *(e for c in components for e in c.evidence)]),
        # not the date: it is the result's stamp (asOf), as in enterprise_rating
        parameters={"max_reduction": reduction, "bands": bands_summary(bands),
                    "control_weights": dict(control["weights"])},
        flags=tuple(flags),
        details={"inherent": inherent, "effectiveness": effectiveness, "residual": residual},
    )


def supervision_tags(facts: EnterpriseFacts, *, config: ModelConfig | None = None) -> tuple[SupervisionTag, ...]:
    """The classified-supervision tags (分类监管标签) the facts support, each with its evidence."""
    labels = (config or load_config("enterprise_risk"))["tags"]
    active = [r for r in facts.credit_records if r.active]
    open_dangers = [h for h in facts.hidden_dangers if not h.closed]
    rules: dict[str, list[str]] = {
        "KEY_SUPERVISION": [s.evidence for s in facts.major_hazards] + [p.evidence for p in facts.processes],
        "MAJOR_HAZARD": [s.evidence for s in facts.major_hazards],
        "MAJOR_HAZARD_L1": [s.evidence for s in facts.major_hazards if s.level == "L1"],
        "HAZARDOUS_PROCESS": [p.evidence for p in facts.processes],
        "TAILINGS_POND": [t.evidence for t in facts.tailings_ponds],
        "DANGER_POND": [t.evidence for t in facts.tailings_ponds if t.safety_class == "DANGER"],
        "RISK_POND": [t.evidence for t in facts.tailings_ponds if t.safety_class == "RISK"],
        "BLACKLIST": [r.evidence for r in active if r.type == "BLACKLIST"],
        "JOINT_PUNISHMENT": [r.evidence for r in active if r.type == "JOINT_PUNISHMENT"],
        "ABNORMAL": [r.evidence for r in active if r.type == "ABNORMAL"],
        "RED_RISK_POINT": [p.evidence for p in facts.risk_points if p.colour == "RED"],
        "OVERDUE_HIDDEN_DANGER": [h.evidence for h in open_dangers if h.overdue(facts.as_of)],
        "OPEN_MAJOR_HIDDEN_DANGER": [h.evidence for h in open_dangers if h.major],
    }
    # a tag the config does not label is switched off
    return tuple(SupervisionTag(code, labels[code], unique(ids)) for code, ids in rules.items() if ids and code in labels)


def _inherent_groups(facts: EnterpriseFacts, specs: Mapping, flags: list[str]) -> list[Component]:
    coded = {
        "major_hazard": [(s.level, s.evidence) for s in facts.major_hazards],
        "risk_points": [(p.colour, p.evidence) for p in facts.risk_points],
        "tailings_ponds": [(t.safety_class, t.evidence) for t in facts.tailings_ponds],
        "hazardous_processes": list(_first_per_code((p.code, p.evidence) for p in facts.processes)),
    }
    components = []
    for key, spec in specs.items():
        items = list(_points(spec, coded[key], key, flags))
        if not items:
            continue
        raw = sum(points for points, _ in items)
        taken = min(float(spec["cap"]), raw)
        components.append(
            Component(name=key, value=raw, weight=float(spec["cap"]), contribution=taken,
                      evidence=unique(e for _, e in items),
                      note=f"{spec['label']}: {taken:g}" + (f" (of {raw:g}, cap {spec['cap']:g})" if raw > taken else ""))
        )
    return components


def _points(spec: Mapping, coded: Iterable[tuple[str, str]], key: str, flags: list[str]) -> Iterable[tuple[float, str]]:
    for code, evidence in coded:
        if "per_item" in spec:
            yield float(spec["per_item"]), evidence
        elif code in spec["per_code"]:
            yield float(spec["per_code"][code]), evidence
        else:
            flags.append(f"unknown-{key}-code:{code}:{evidence}")


def _first_per_code(coded: Iterable[tuple[str, str]]) -> Iterable[tuple[str, str]]:
    """Each distinct code once, with the evidence it was first seen with: a process counts once."""
    seen: dict[str, str] = {}
    for code, evidence in coded:
        seen.setdefault(code, evidence)
    return seen.items()


def _scaled(c: Component, scale: float) -> Component:
    return Component(c.name, c.value, c.weight, c.contribution * scale, c.evidence,
                     c.note + f"; scaled ×{scale:.3g} to the inherent maximum")


def _control_indicators(facts: EnterpriseFacts, control: Mapping) -> dict[str, tuple[float, tuple[str, ...]]]:
    """Each indicator with data: (value in [0, 1], evidence)."""
    window = control["window_days"]
    out: dict[str, tuple[float, tuple[str, ...]]] = {}
    due = [h for h in facts.hidden_dangers if h.deadline is not None and within_days(h.deadline, facts.as_of, window)]
    if due:
        ids = unique(h.evidence for h in due)
        out["rectification_rate"] = (sum(h.rectified for h in due) / len(due), ids)
        out["on_time_rate"] = (sum(h.on_time() for h in due) / len(due), ids)
    alarms = [a for a in facts.alarms if within_days(a.at.date(), facts.as_of, window)]
    if alarms:
        out["alarm_handling_rate"] = (sum(a.handled_at is not None for a in alarms) / len(alarms),
                                      unique(a.evidence for a in alarms))
    handled = [a for a in alarms if a.handled_at is not None]
    if handled:
        waits = [a.handled_at - a.at for a in handled if a.handled_at is not None]
        hours = sum(max(0.0, w.total_seconds()) for w in waits) / 3600 / len(handled)
        timing = control["alarm_handling_time"]
        target, worst = float(timing["target_hours"]), float(timing["worst_hours"])
        out["alarm_handling_time"] = (min(1.0, max(0.0, (worst - hours) / (worst - target))),
                                      unique(a.evidence for a in handled))
    return out
