"""INFORM-style risk index for a set of peers (regions or industries), after EU JRC INFORM Risk.

    xᵢ → 0–10 over the peer set (min-max, or min-max of ln(1 + x); per indicator, configurable)
    dimension = Σ wᵢ xᵢ / Σ wᵢ over the indicators the peer has    (coping capacity inverted: 10 − x)
    Risk = (HE · V · LCC)^(1/3)                                      plus the percentile rank among peers

Normalising over the peers makes the index relative: a region's risk is read against its peers, as
INFORM reads countries against each other and FEMA's National Risk Index shows percentiles. Missing
indicators are left out of their dimension's mean (flagged); a dimension with none leaves Risk unrated.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from riskgraph.reasoning.models.bands import band_set, bands_summary
from riskgraph.reasoning.models.config import ModelConfig, load_config
from riskgraph.reasoning.models.result import Component, ModelResult, unique

Indicators = Mapping[str, float | None]
#: INFORM scores every indicator and dimension on 0–10.
SCALE = 10.0


def inform_index(
    peers: Mapping[str, Indicators],
    *,
    evidence: Mapping[str, Sequence[str]] | None = None,
    config: ModelConfig | None = None,
) -> dict[str, ModelResult]:
    """One ModelResult per peer id: the three dimensions, Risk, its class, and its percentile."""
    cfg = config or load_config("inform")
    specs = cfg["indicators"]
    flags: dict[str, list[str]] = {peer: [] for peer in peers}
    for peer, values in peers.items():
        flags[peer].extend(f"unknown-indicator:{name}" for name in values if name not in specs)
    scores = {name: _normalise(name, spec, peers, cfg, flags) for name, spec in specs.items()}

    partial = {}
    for peer in peers:
        dims, components = _dimensions(peer, scores, cfg, flags[peer])
        rated = [v for v in dims.values() if v is not None]
        if len(rated) == len(dims):
            risk = round(math.prod(rated) ** (1 / len(dims)), int(cfg["round_digits"]))
        else:
            risk = None
            flags[peer].append("unrated:dimension-without-data")
        partial[peer] = (risk, dims, components)

    levels = band_set("inform", cfg["levels"])
    parameters = {  # the same for every peer: one object, converted once when written
        "peers": len(peers),
        "scaling": {name: spec.get("scaling", cfg["scaling"]) for name, spec in specs.items()},
        "lower_goalpost": {name: _goalpost(spec, cfg) for name, spec in specs.items()},
        "weights": {name: spec["weight"] for name, spec in specs.items()},
        "units": {name: spec["unit"] for name, spec in specs.items() if "unit" in spec},
        "percentile_method": cfg["percentile"],
        "levels": bands_summary(levels),
    }
    risks = {peer: r for peer, (r, _, _) in partial.items() if r is not None}
    results = {}
    for peer, (risk, dims, components) in partial.items():
        band = levels.classify(risk) if risk is not None else None
        results[peer] = ModelResult(
            method=cfg["method"],
            version=cfg.version,
            score=risk,
            level=band.label if band else None,
            colour=band.colour if band else None,
            components=tuple(components),
            evidence=unique((evidence or {}).get(peer, ())),
            parameters=parameters,
            flags=tuple(flags[peer]),
            details={**dims, "percentile": _percentile(risk, peer, risks, cfg["percentile"])},
        )
    return results


def _normalise(name: str, spec: Mapping, peers: Mapping[str, Indicators], cfg: ModelConfig,
               flags: dict[str, list[str]]) -> dict[str, tuple[float, float]]:
    """peer → (raw value, 0–10 score) for the peers that have a usable value.

    Under the "zero" goalpost a negative value is invalid (counts); every value 0 scores 0, not flat.
    """
    scaling = spec.get("scaling", cfg["scaling"])
    if scaling not in ("minmax", "log"):
        raise ValueError(f"indicator {name}: scaling must be 'minmax' or 'log', not {scaling!r}")
    usable = {}
    for peer, values in peers.items():
        raw = values.get(name)
        if raw is None:
            flags[peer].append(f"missing:{name}")
        elif not math.isfinite(float(raw)) or (float(raw) < 0 and (scaling == "log" or _goalpost(spec, cfg) == "zero")):
            flags[peer].append(f"invalid:{name}={raw}")
        else:
            usable[peer] = float(raw)
    transformed = {p: math.log1p(x) if scaling == "log" else x for p, x in usable.items()}
    if not transformed:
        return {}
    goalpost = _goalpost(spec, cfg)
    if goalpost not in ("peer-min", "zero"):
        raise ValueError(f"indicator {name}: lower_goalpost must be 'peer-min' or 'zero', not {goalpost!r}")
    low = min(transformed.values()) if goalpost == "peer-min" else 0.0
    high = max(transformed.values())
    if high <= low:
        for peer in transformed:
            flags[peer].append(f"flat:{name}")
        flat = float(cfg["flat_value"]) if goalpost == "peer-min" else 0.0
        return {p: (usable[p], flat) for p in transformed}
    return {p: (usable[p], min(SCALE, max(0.0, SCALE * ((t - low) / (high - low))))) for p, t in transformed.items()}


def _goalpost(spec: Mapping, cfg: ModelConfig) -> str:
    return spec.get("lower_goalpost", cfg["lower_goalpost"])


def _dimensions(peer: str, scores: Mapping[str, Mapping[str, tuple[float, float]]], cfg: ModelConfig,
                flags: list[str]) -> tuple[dict[str, float | None], list[Component]]:
    specs = cfg["indicators"]
    dims: dict[str, float | None] = {}
    dim_components, indicator_components = [], []
    for dim, dim_spec in cfg["dimensions"].items():
        members = [n for n, s in specs.items() if s["dimension"] == dim and peer in scores[n]]
        total = sum(float(specs[n]["weight"]) for n in members)
        if not members or total <= 0:
            dims[dim] = None
            continue
        for n in members:
            raw, score = scores[n][peer]
            value = SCALE - score if dim_spec.get("inverted", False) else score
            weight = float(specs[n]["weight"]) / total
            indicator_components.append(
                Component(f"{dim}.{n}", value, weight, weight * value,
                          note=f"{specs[n]['label']}: raw {raw:g}" + (f" {specs[n]['unit']}" if "unit" in specs[n] else "")
                          + ("; inverted" if dim_spec.get("inverted") else ""))
            )
        total_score = sum(c.contribution for c in indicator_components if c.name.startswith(dim + "."))
        dim_score = min(SCALE, max(0.0, total_score))  # a weighted mean of 0–10 scores; clip rounding noise
        dims[dim] = dim_score
        dim_components.append(
            Component(dim, dim_score, 1 / len(cfg["dimensions"]), dim_score ** (1 / len(cfg["dimensions"])),
                      note=f"{dim_spec['label']}: Risk = Π contribution (geometric mean)")
        )
    if any(v is None for v in dims.values()):
        flags.extend(f"no-data:{d}" for d, v in dims.items() if v is None)
    return dims, dim_components + indicator_components


def _percentile(risk: float | None, peer: str, risks: Mapping[str, float], method: str) -> float | None:
    """Percentage of the other rated peers below this one (ties half under 'mid-rank')."""
    if risk is None:
        return None
    others = [r for p, r in risks.items() if p != peer]
    if not others:
        return None
    below: float = sum(r < risk for r in others)
    if method == "mid-rank":
        below += 0.5 * sum(r == risk for r in others)
    elif method != "strictly-below":
        raise ValueError(f"percentile must be 'strictly-below' or 'mid-rank', not {method!r}")
    return 100 * below / len(others)
