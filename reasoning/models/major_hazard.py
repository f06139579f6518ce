"""GB 18218-2018 identification and grading of one unit (生产单元 / 储存单元).

    S = Σ qᵢ / Qᵢ                 S ≥ 1 → major hazard source (重大危险源)
    R = α · Σ βᵢ · qᵢ / Qᵢ        grade by the MajorHazardLevel vocabulary's minR (一级 R ≥ 100 …)

Q comes from Table 1 (NamedChemical) when the substance is named there, else from Table 2 by its
hazard category (the lowest Q when it has several); β from Table 3 (NamedChemical) for a named toxic
gas, else from Table 4 by category; α from ResidentsCorrection by the permanent residents within
500 m. All tables are read from the ontology. An item that cannot be identified is flagged and left
out, never a crash: one bad inventory row must not stop a bureau-wide run.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from riskgraph.ontology import Concept
from riskgraph.reasoning.models.config import ModelConfig, load_config
from riskgraph.reasoning.models.result import Component, ModelResult, unique
from riskgraph.reasoning.models.vocab import check_colour, vocabulary


@dataclass(frozen=True)
class InventoryItem:
    """One chemical's maximum quantity in the unit; name and/or CAS, categories as HazardCategory notations."""

    quantity_t: float
    name: str | None = None
    cas: str | None = None
    categories: tuple[str, ...] = ()
    evidence: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.categories, str):
            object.__setattr__(self, "categories", (self.categories,))


@dataclass(frozen=True)
class _Term:
    label: str
    q: float
    Q: float
    beta: float
    q_source: str
    beta_source: str


def assess_unit(
    items: Iterable[InventoryItem],
    residents_500m: int | None,
    *,
    evidence: Sequence[str] = (),
    config: ModelConfig | None = None,
) -> ModelResult:
    """S, R, level and colour of one unit; one component per identified inventory item."""
    cfg = config or load_config("major_hazard")
    flags: list[str] = []
    alpha, alpha_note = _alpha(residents_500m, cfg, flags)
    components, rows = [], []
    for item in items:
        term = _term(item, cfg, flags)
        if term is None:
            continue
        ratio = term.q / term.Q
        rows.append({"evidence": item.evidence, "chemical": term.label, "q": term.q, "Q": term.Q, "q_over_Q": ratio,
                     "beta": term.beta, "Q_source": term.q_source, "beta_source": term.beta_source,
                     "contribution": alpha * term.beta * ratio})
        components.append(
            Component(
                name=term.label,
                value=ratio,
                weight=term.beta,
                contribution=alpha * term.beta * ratio,
                evidence=unique([item.evidence]),
                note=f"q={term.q:g} t; Q={term.Q:g} t ({term.q_source}); β={term.beta:g} ({term.beta_source})",
            )
        )
    s = sum(c.value for c in components)
    r = sum(c.contribution for c in components)
    major = s >= float(cfg["identification_threshold"])
    level = _level(r) if major else None
    colour = check_colour(cfg.choice("mapping", cfg["colour"]["mappings"], cfg["colour"]).get(level)) if level else None
    return ModelResult(
        method=cfg["method"],
        version=cfg.version,
        score=r,
        level=level,
        colour=colour,
        components=tuple(components),
        evidence=unique([*evidence, *(e for c in components for e in c.evidence)]),
        parameters={
            "alpha": alpha,
            "alpha_basis": alpha_note,
            "residents_500m": residents_500m,
            "identification_threshold": cfg["identification_threshold"],
            "critical_quantity_reading": cfg["critical_quantity"]["reading"],
            "beta_table": cfg["beta"]["table"],
            "beta_multi_category": cfg["beta"]["multi_category"],
            "colour_mapping": cfg["colour"]["mapping"],
        },
        flags=tuple(flags),
        details={"S": s, "R": r, "alpha": alpha, "major": major, "items": rows},
    )


def _term(item: InventoryItem, cfg: ModelConfig, flags: list[str]) -> _Term | None:
    ref = item.evidence or item.name or item.cas or "?"
    q = float(item.quantity_t)
    if not q >= 0:
        flags.append(f"invalid-quantity:{ref}")
        return None
    named = vocabulary("NamedChemical").lookup(item.cas) or vocabulary("NamedChemical").lookup(item.name)
    categories = _categories(item, named, ref, flags)
    label = named.pref_zh if named else (item.name or item.cas or "/".join(categories) or ref)

    readings = cfg.choice("reading", cfg["critical_quantity"]["readings"], cfg["critical_quantity"])
    if named and named.notation in readings:
        Q, q_source = float(readings[named.notation]), f"表1 reading {cfg['critical_quantity']['reading']}"
    elif named and "criticalQuantity" in named.data:
        Q, q_source = float(named.data["criticalQuantity"]), "表1"
    elif categories:
        governing = min(categories, key=_category_q)
        Q, q_source = _category_q(governing), f"表2 {governing}"
    else:
        flags.append(f"unidentified-chemical:{ref}")
        return None
    if Q <= 0:
        flags.append(f"invalid-critical-quantity:{ref}")
        return None

    if named and "beta" in named.data:
        beta, beta_source = float(named.data["beta"]), "表3"
    elif categories:
        beta, beta_source = _category_beta(categories, cfg)
    else:
        beta, beta_source = float(cfg["beta"]["uncategorised"]), "uncategorised default"
        flags.append(f"beta-defaulted:{ref}")
    return _Term(label, q, Q, beta, q_source, beta_source)


def _categories(item: InventoryItem, named: Concept | None, ref: str, flags: list[str]) -> tuple[str, ...]:
    """The item's own categories, else the one the NamedChemical vocabulary links; unknown codes flagged."""
    given = item.categories or ((named.data["hazardCategory"],) if named and "hazardCategory" in named.data else ())
    known = vocabulary("HazardCategory")
    for code in given:
        if code not in known:
            flags.append(f"unknown-category:{code}:{ref}")
    return tuple(code for code in given if code in known)


def _category_q(code: str) -> float:
    return float(vocabulary("HazardCategory").concepts[code].data["criticalQuantity"])


def _category_beta(categories: tuple[str, ...], cfg: ModelConfig) -> tuple[float, str]:
    table = cfg.choice("table", cfg["beta"]["tables"], cfg["beta"])
    concepts = vocabulary("HazardCategory").concepts

    def beta(code: str) -> float:
        return float(table.get(code, concepts[code].data["beta"]))

    rule = cfg["beta"]["multi_category"]
    if rule == "max":
        chosen = max(categories, key=beta)
    elif rule == "governing":
        chosen = min(categories, key=_category_q)
    else:
        raise ValueError(f"beta.multi_category must be 'max' or 'governing', not {rule!r}")
    return beta(chosen), f"表4 {chosen}"


def _alpha(residents: int | None, cfg: ModelConfig, flags: list[str]) -> tuple[float, str]:
    rows = vocabulary("ResidentsCorrection").concepts.values()
    if residents is not None and residents >= 0:
        for row in rows:
            upper = row.data.get("maxResidents")
            if row.data["minResidents"] <= residents and (upper is None or residents <= upper):
                return float(row.data["alpha"]), row.notation
    flags.append("residents-unknown" if residents is None else f"invalid-residents:{residents}")
    policy = cfg["residents"]["unknown"]
    if policy not in ("max", "min"):
        raise ValueError(f"residents.unknown must be 'max' or 'min', not {policy!r}")
    pick = max if policy == "max" else min
    return pick(float(row.data["alpha"]) for row in rows), f"unknown:{policy}"


def _level(r: float) -> str:
    """The MajorHazardLevel whose minR is the highest one R reaches (minR is an inclusive lower bound)."""
    levels = sorted(vocabulary("MajorHazardLevel").concepts.values(), key=lambda c: float(c.data["minR"]), reverse=True)
    for level in levels:
        if r >= float(level.data["minR"]):
            return level.notation
    return levels[-1].notation
