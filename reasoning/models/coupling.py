"""Coupling analysis (standards.md §7): N-K factor coupling, coupling coordination, spatial coupling.

N-K: each incident record is a 0/1 state per factor class (人/物/环境/管理 = HazardFactor "1".."4");
for every 2-, 3- and 4-factor combination, from the joint state frequencies P over the records,
    T = Σ_states P · log₂(P / Π marginals)        (P = 0 terms dropped)
i.e. the multi-information of the factors: 0 when they occur independently, larger when they
co-occur more (or less) than chance. The caller groups records per industry or region.

Coupling coordination degree of n subsystems with scores Uᵢ ∈ [0, 1]:
    C = n · [Π Uᵢ / (Σ Uᵢ)ⁿ]^(1/n)  (= geometric mean / arithmetic mean),  T = Σ αᵢ Uᵢ,  D = √(C · T)

Spatial coupling: major hazard sources within a distance of each other form clusters (connected
components; domino effect); shelters and disaster points within the distance of a member are the
cluster's natech exposure.
"""
from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np

from riskgraph.reasoning.models.bands import band_set, bands_summary
from riskgraph.reasoning.models.config import ModelConfig, load_config
from riskgraph.reasoning.models.result import Component, ModelResult, unique
from riskgraph.reasoning.models.vocab import top_concept, vocabulary

Records = Iterable[Iterable[str]] | Mapping[str, Iterable[str]]


# ---------------------------------------------------------------- N-K model
def nk_coupling(records: Records, *, config: ModelConfig | None = None) -> ModelResult:
    """T for every configured combination of factor classes; records keyed by id are cited as evidence.

    score = T of the largest combination (all factors); components and details hold every T.
    """
    ids, factor_sets = _records(records)
    return nk_coupling_counted(Counter(factor_sets), evidence=unique(ids), config=config)


def nk_coupling_counted(counts: Mapping[frozenset[str], int], *, evidence: Sequence[str] = (),
                        evidence_total: int | None = None, config: ModelConfig | None = None) -> ModelResult:
    """`nk_coupling` of records given as how many carry each set of factor codes — what a province's
    group is read as — citing `evidence`, the first `evidence_total` record ids."""
    cfg = config or load_config("coupling")
    section = cfg["nk"]
    factors = list(section["factors"])
    records = sum(counts.values())
    flags: list[str] = []
    # a province's group holds tens of thousands of records but at most 2^factors joint states:
    # each distinct factor set is classified once and the states are counted
    states: Counter[tuple[int, ...]] = Counter()
    for codes, count in sorted(counts.items(), key=lambda item: sorted(item[0])):  # flags in one order
        state = [0] * len(factors)
        for code in sorted(codes):
            top = top_concept("HazardFactor", code)
            if top is None or top.notation not in factors:
                flags.append(f"unknown-factor:{code}")
                continue
            state[factors.index(top.notation)] = 1
        states[tuple(state)] += count
    names = {f: vocabulary("HazardFactor").concepts[f].pref_zh for f in factors}
    components, details = [], {}
    if records == 0:
        flags.append("no-records")
    else:
        for order in section["orders"]:
            for combo in itertools.combinations(range(len(factors)), order):
                t = _multi_information(states, combo, float(section["log_base"]))
                key = "-".join(factors[i] for i in combo)
                details[key] = t
                components.append(Component(f"T({key})", t, None, t,
                                            note="-".join(names[factors[i]] for i in combo)))
    top_key = "-".join(factors)
    return ModelResult(
        method=section["method"],
        version=cfg.version,
        score=details.get(top_key),
        level=None,
        colour=None,
        components=tuple(components),
        evidence=tuple(evidence),
        evidence_total=evidence_total,
        parameters={"factors": factors, "log_base": section["log_base"], "orders": list(section["orders"]),
                    "records": records},
        flags=tuple(dict.fromkeys(flags)),
        details=details,
    )


def _records(records: Records) -> tuple[list[str], list[frozenset[str]]]:
    if isinstance(records, Mapping):
        return list(records), [frozenset(v) for v in records.values()]
    return [], [frozenset(r) for r in records]


def _multi_information(states: Counter[tuple[int, ...]], combo: tuple[int, ...], base: float) -> float:
    """Σ P(s) log(P(s) / Π P(sᵢ)) over the observed joint states s of the `combo` factors (so P = 0
    terms are dropped); `states` counts the records per joint state of all factors."""
    joint: Counter[tuple[int, ...]] = Counter()
    for state, count in states.items():
        joint[tuple(state[i] for i in combo)] += count
    n = sum(joint.values())
    marginal_one = [sum(count for state, count in joint.items() if state[i]) / n for i in range(len(combo))]
    total = 0.0
    for state, count in sorted(joint.items()):
        p = count / n
        independent = math.prod(m if s else 1 - m for s, m in zip(state, marginal_one, strict=True))
        total += p * math.log(p / independent, base)
    return max(0.0, total)  # ≥ 0 in exact arithmetic; clip rounding noise


# ---------------------------------------------------------------- coupling coordination
def coordination(
    scores: Mapping[str, float],
    weights: Mapping[str, float] | None = None,
    *,
    evidence: Sequence[str] = (),
    config: ModelConfig | None = None,
) -> ModelResult:
    """C, T, D of subsystems with scores U ∈ [0, 1] and contribution weights α (default equal)."""
    cfg = config or load_config("coupling")
    section = cfg["ccd"]
    if len(scores) < 2:
        raise ValueError("coupling needs at least two subsystems")
    for name, score in scores.items():
        if not 0.0 <= float(score) <= 1.0:
            raise ValueError(f"U[{name}] = {score!r} is outside [0, 1]")
    flags: list[str] = []
    alpha = _weights(scores, weights, flags)
    u = {k: float(v) for k, v in scores.items()}
    n, total = len(u), sum(u.values())
    if total == 0:
        c = 0.0
        flags.append("all-zero: C undefined, taken as 0")
    elif min(u.values()) == 0:
        c = 0.0
    else:  # geometric over arithmetic mean, through logs so a product of small U cannot underflow
        c = min(1.0, math.exp(sum(math.log(v) for v in u.values()) / n) / (total / n))
    t = sum(alpha[k] * u[k] for k in u)
    d = round(math.sqrt(c * t), int(section["round_digits"]))
    bands = band_set("ccd", section)
    band = bands.classify(d)
    return ModelResult(
        method=section["method"],
        version=cfg.version,
        score=d,
        level=band.label if band else None,
        colour=None,
        components=tuple(Component(k, u[k], alpha[k], alpha[k] * u[k], note="U · α (sums to T)") for k in u),
        evidence=unique(evidence),
        parameters={"weights": alpha, "bands": bands_summary(bands), "round_digits": section["round_digits"]},
        flags=tuple(flags),
        details={"C": c, "T": t, "D": d},
    )


def _weights(scores: Mapping[str, float], weights: Mapping[str, float] | None, flags: list[str]) -> dict[str, float]:
    if weights is None:
        return {k: 1 / len(scores) for k in scores}
    if set(weights) != set(scores) or any(float(w) < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise ValueError("weights need one non-negative value per subsystem, not all zero")
    total = sum(float(w) for w in weights.values())
    if not math.isclose(total, 1.0):
        flags.append(f"weights-normalised:sum-was-{total:g}")
    return {k: float(weights[k]) / total for k in scores}


# ---------------------------------------------------------------- spatial coupling
@dataclass(frozen=True)
class Point:
    id: str
    kind: str  # an ontology class name, e.g. MajorHazardSource, Shelter, NaturalDisasterRiskPoint
    lon: float
    lat: float


def spatial_coupling(
    points: Iterable[Point], *, distance_m: float | None = None, config: ModelConfig | None = None
) -> tuple[ModelResult, ...]:
    """One result per cluster of hazard points (largest first): members, links, exposed points within reach."""
    cfg = config or load_config("coupling")
    section = cfg["spatial"]
    reach = float(distance_m if distance_m is not None else section["distance_m"])
    pts = list(points)
    for p in pts:
        if not (-180 <= p.lon <= 180 and -90 <= p.lat <= 90):
            raise ValueError(f"point {p.id}: ({p.lon}, {p.lat}) is not a WGS84 lon/lat")
    hazards = [p for p in pts if p.kind in section["hazard_kinds"]]
    exposed = [p for p in pts if p.kind in section["exposed_kinds"]]
    radius = float(section["earth_radius_m"])
    hh = _distances(hazards, hazards, radius)
    graph = nx.Graph()
    graph.add_nodes_from(range(len(hazards)))
    graph.add_edges_from((i, j) for i, j in zip(*np.nonzero(hh <= reach), strict=False) if i < j)
    he = _distances(hazards, exposed, radius)
    results = []
    clusters = sorted(nx.connected_components(graph), key=lambda c: (-len(c), min(hazards[i].id for i in c)))
    for members in clusters:
        idx = sorted(members, key=lambda i: hazards[i].id)
        components = [
            Component(hazards[i].id, float(graph.degree[i]), None, 1.0, (hazards[i].id,),
                      note=f"{hazards[i].kind}; links within {reach:g} m: {graph.degree[i]}")
            for i in idx
        ]
        for j, point in enumerate(exposed):
            nearest = min(idx, key=lambda i: he[i, j])
            if he[nearest, j] <= reach:
                components.append(Component(point.id, float(he[nearest, j]), None, 0.0, (point.id,),
                                            note=f"{point.kind} {he[nearest, j]:.0f} m from {hazards[nearest].id}"))
        exposed_ids = [c.name for c in components[len(idx):]]
        flags = (["domino"] if len(idx) > 1 else []) + (["natech-exposure"] if exposed_ids else [])
        results.append(
            ModelResult(
                method=section["method"],
                version=cfg.version,
                score=float(len(idx)),
                level=None,
                colour=None,
                components=tuple(components),
                evidence=unique(c.name for c in components),
                parameters={"distance_m": reach, "hazard_kinds": list(section["hazard_kinds"]),
                            "exposed_kinds": list(section["exposed_kinds"]), "earth_radius_m": radius},
                flags=tuple(flags),
                details={"members": [hazards[i].id for i in idx], "exposed": exposed_ids,
                         "links": sorted((hazards[a].id, hazards[b].id) for a, b in graph.subgraph(members).edges)},
            )
        )
    return tuple(results)


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float, radius_m: float | None = None) -> float:
    """Great-circle distance in metres."""
    radius = radius_m if radius_m is not None else float(load_config("coupling")["spatial"]["earth_radius_m"])
    return float(_distances([Point("a", "", lon1, lat1)], [Point("b", "", lon2, lat2)], radius)[0, 0])


def _distances(a: Sequence[Point], b: Sequence[Point], radius: float) -> np.ndarray:
    if not a or not b:
        return np.zeros((len(a), len(b)))
    lon1, lat1 = (np.radians([[p.lon] for p in a]), np.radians([[p.lat] for p in a]))
    lon2, lat2 = (np.radians([[p.lon for p in b]]), np.radians([[p.lat for p in b]]))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * radius * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
