"""GB 18218-2018 identification and grading of one unit (生产单元 / 储存单元).

    S = Σ qᵢ / Qᵢ                 S ≥ 1 → major hazard source (重大危险源)
    R = α · Σ βᵢ · qᵢ / Qᵢ        grade by the MajorHazardLevel vocabulary's minR (一级 R ≥ 100 …)

Q comes from Table 1 (NamedChemical, all 85 entries) when the substance is named there, else from Table 2
by its hazard category (the lowest Q when it has several); β from Table 3 (NamedChemical) for a named
toxic gas, else from Table 4 by category; α from ResidentsCorrection by the permanent residents within
500 m. All tables are read from the ontology; every component names the table and entry it used.

Qualified entries (甲醛 >90 %, 硝酸 >70 %, 氯化氢 无水, 硝酸铵 by combustibles, the 硝化纤维素 forms) are chosen
by the item's stated content, 规格 and states (reasoning/models/table1.py); where the item does not say
enough, the row with the lowest Q is taken and flagged. The mixture rule of §4.2 (after formula (1)):
"如果混合物与其纯物质属于相同危险类别，则视混合物为纯物质，按混合物整体进行计算。如果混合物与其纯物质不属于
相同危险类别，则应按新危险类别考虑其临界量" — a mixture of a named substance with the same category is
counted whole at the substance's Table 1 Q; with another category, at Table 2's Q of that category; when
the comparison cannot be made, at the lower of the two and flagged. An item that cannot be identified is
flagged and left out (the result says S may be understated), never a crash: one bad inventory row must not
stop a bureau-wide run.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from riskgraph.ontology import Concept
from riskgraph.reasoning.models.config import ModelConfig, load_config
from riskgraph.reasoning.models.result import Component, ModelResult, unique
from riskgraph.reasoning.models.table1 import STANDARD, Form, Row, evaluate, item_form, lowest, table1
from riskgraph.reasoning.models.vocab import check_colour, vocabulary


@dataclass(frozen=True)
class InventoryItem:
    """One chemical's maximum quantity in the unit; name and/or CAS, categories as HazardCategory notations.

    `concentration_pct` is the named substance's content (% by mass) when the source states it;
    `specification` the source's free-text 规格 ("无水", "可燃物≤0.2%", "含水≥25%"); `qualifiers` other
    measured contents by measure name (combustibles, water, ethanol, nitrogen, plasticiser …) and
    `states` words such as anhydrous / solution. None of them needed for an unqualified pure substance.
    """

    quantity_t: float
    name: str | None = None
    cas: str | None = None
    categories: tuple[str, ...] = ()
    evidence: str = ""
    concentration_pct: float | None = None
    specification: str | None = None
    qualifiers: Mapping[str, float] = field(default_factory=dict)
    states: tuple[str, ...] = ()

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
    entry: int | None = None


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
    left_out = 0
    for item in items:
        term = _term(item, cfg, flags)
        if term is None:
            left_out += 1
            continue
        ratio = term.q / term.Q
        rows.append({"evidence": item.evidence, "chemical": term.label, "q": term.q, "Q": term.Q, "q_over_Q": ratio,
                     "beta": term.beta, "Q_source": term.q_source, "beta_source": term.beta_source,
                     "table1_entry": term.entry, "contribution": alpha * term.beta * ratio})
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
    if left_out:
        flags.append(f"incomplete:{left_out} item(s) left out, S and R may be understated")
    if not components and not left_out:
        flags.append("no-inventory-records: S = 0 only because no inventory is known, not a measured absence")
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
            "standard": STANDARD,
        },
        flags=tuple(flags),
        details={"S": s, "R": r, "alpha": alpha, "major": major, "items": rows, "items_left_out": left_out},
    )


def _term(item: InventoryItem, cfg: ModelConfig, flags: list[str]) -> _Term | None:
    ref = item.evidence or item.name or item.cas or "?"
    q = float(item.quantity_t)
    if not q >= 0:
        flags.append(f"invalid-quantity:{ref}")
        return None
    words = cfg["qualifiers"]
    own_name = None if table1().is_entry_label(item.name) else item.name
    form = item_form(concentration_pct=item.concentration_pct, specification=item.specification, name=own_name,
                     qualifiers=item.qualifiers, states=item.states, words=words)
    row, basis = _row(item, form, cfg, ref, flags)
    applies = row is not None and basis in _ROW_APPLIES
    named = row.concept if applies and row is not None else None
    categories = _categories(item, named, ref, flags)
    label = named.pref_zh if named else (item.name or item.cas or "/".join(categories) or ref)

    table2 = min(categories, key=_category_q) if categories else None
    entry = None
    if row is not None and basis in ("table1", "mixture-same-category"):
        Q, q_source, entry = row.Q, row.source, row.entry
    elif row is not None and basis == "mixture-unknown":
        Q, q_source, entry = row.Q, row.source, row.entry
        if table2 is not None and _category_q(table2) < Q:
            Q, q_source, entry = _category_q(table2), f"{STANDARD} 表2 {table2}", None
        q_source += " (mixture, category comparison unknown: the lower Q)"
    elif table2 is not None:
        Q, q_source = _category_q(table2), f"{STANDARD} 表2 {table2}"
        if basis == "table1-not-applicable":
            q_source += f" ({row.source if row else '表1'} does not apply to this form)"
        elif basis == "mixture-new-category":
            q_source += " (mixture of another category, §4.2)"
        elif basis == "reading-table2":
            q_source += f" (reading {cfg['critical_quantity']['reading']})"
    else:
        flags.append(f"unidentified-chemical:{ref}" if basis != "table1-not-applicable"
                     else f"table1-not-applicable-and-no-category:{ref}")
        return None
    if Q <= 0:
        flags.append(f"invalid-critical-quantity:{ref}")
        return None

    if named is not None and "beta" in named.data:
        beta = float(named.data["beta"])
        beta_source = named.data.get("betaSource") or f"{STANDARD} 表3"
    elif categories:
        beta, beta_source = _category_beta(categories, cfg)
    else:
        beta, beta_source = float(cfg["beta"]["uncategorised"]), "uncategorised default"
        flags.append(f"beta-defaulted:{ref}")
    return _Term(label, q, Q, beta, q_source, beta_source, entry)


#: how an item may relate to its Table 1 row when the row's own substance data (β, category) apply
_ROW_APPLIES = ("table1", "mixture-same-category", "mixture-unknown", "reading-table2")


def _row(item: InventoryItem, form: Form, cfg: ModelConfig, ref: str, flags: list[str]) -> tuple[Row | None, str]:
    """The Table 1 row the item falls under, and how: table1, table1-not-applicable, mixture-same-category,
    mixture-new-category, mixture-unknown, or table2 (not named in Table 1)."""
    candidates, disagreement = table1().candidates(item.name, item.cas)
    if disagreement:
        flags.append(f"{disagreement}:{ref}")
    readings = cfg.choice("reading", cfg["critical_quantity"]["readings"], cfg["critical_quantity"])
    if not candidates:
        return None, "table2"
    routed = [r for r in candidates if readings.get(r.concept.notation) == "table2"]
    candidates = tuple(r for r in candidates if r not in routed)
    if not candidates:  # the configured reading sends this substance to its Table 2 category
        return routed[0], "reading-table2"
    states = cfg["qualifiers"]["state_rules"]
    verdicts = [(r, evaluate(r.condition, form, states)) for r in candidates]
    certain = [r for r, v in verdicts if v is True]
    possible = [r for r, v in verdicts if v is None]
    if certain:
        row = lowest(certain)
    elif possible:
        row = lowest(possible)
        among = "、".join(f"第{r.entry}项" for r in sorted(possible, key=lambda r: r.entry or 0))
        flags.append(f"qualifier-unknown:{ref}:took {row.source} (Q={row.Q:g} t)"
                     + (f", the lowest Q among 表1 {among}" if len(possible) > 1 else ""))
        return row, "table1"
    else:
        return lowest(candidates), "table1-not-applicable"
    return row, _mixture(item, form, row, cfg, ref, flags)


def _mixture(item: InventoryItem, form: Form, row: Row, cfg: ModelConfig, ref: str, flags: list[str]) -> str:
    """§4.2's mixture rule for an item whose stated content makes it a mixture of the row's substance."""
    content = form.measure("content")
    if row.condition and "content" in row.condition:
        return "table1"  # the entry itself is defined by content (甲醛 >90 %, 硝酸 >70 %)
    if content is None or content.lo >= float(cfg["mixture"]["pure_from_content_pct"]):
        return "table1"
    pure = row.concept.data.get("hazardCategory")
    given = tuple(c for c in item.categories if c in vocabulary("HazardCategory"))
    if given and pure:
        return "mixture-same-category" if pure in given else "mixture-new-category"
    flags.append(f"mixture-category-unknown:{ref}")
    return "mixture-unknown"


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
    return beta(chosen), f"{STANDARD} 表4 {chosen}"


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
