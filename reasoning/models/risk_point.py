"""Risk-point assessment (风险分级管控): LEC and LS, each with named band sets.

    LEC  D = L × E × C   (likelihood, exposure frequency, consequence; value sets per standards.md §3)
    LS   R = L × S       (likelihood and severity, 1–5 each)

Sources disagree on band edges (≥ vs >) and on whether D < 20 is rated at all, so every band set is
named in reasoning/config/risk_point.toml with its own edge convention; the result records which.
The score is a product, so each factor is a multiplicative component (contribution = the factor).
"""
from __future__ import annotations

from collections.abc import Sequence

from riskgraph.ontology.errors import N_, RiskGraphError
from riskgraph.reasoning.models.bands import BandSet, bands_summary, named_band_set
from riskgraph.reasoning.models.config import ModelConfig, load_config
from riskgraph.reasoning.models.result import Component, ModelResult, unique


def lec(
    l: float,  # noqa: E741 -- the standard names the likelihood L (LEC: D = L × E × C)
    e: float,
    c: float,
    *,
    evidence: Sequence[str] = (),
    colour_bands: str | None = None,
    danger_bands: str | None = None,
    config: ModelConfig | None = None,
) -> ModelResult:
    """D = L·E·C with its four-colour grade (level, colour) and the classic danger band (details)."""
    cfg = config or load_config("risk_point")
    section = cfg["lec"]
    flags = _check_scale({"L": l, "E": e, "C": c}, {k: section[k] for k in "LEC"}, section["off_scale"])
    d = float(l) * float(e) * float(c)
    colours = named_band_set(section["colour"], colour_bands or section["colour_bands"])
    danger = named_band_set(section["danger"], danger_bands or section["danger_bands"])
    return _result(
        section["method"], cfg, d, colours, {"L": l, "E": e, "C": c}, evidence, flags,
        extra_details={"danger_band": _label(danger, d)},
        extra_parameters={"danger_bands": bands_summary(danger)},
    )


def grade_lec(d: float, *, colour_bands: str | None = None, danger_bands: str | None = None,
              config: ModelConfig | None = None) -> tuple[str | None, str | None, str | None]:
    """(four-colour label, colour, classic danger band) for a D value, e.g. one reported by an enterprise."""
    section = (config or load_config("risk_point"))["lec"]
    colours = named_band_set(section["colour"], colour_bands or section["colour_bands"])
    band = colours.classify(d)
    danger = named_band_set(section["danger"], danger_bands or section["danger_bands"])
    return (band.label if band else None, band.colour if band else None, _label(danger, d))


def ls(
    l: int,  # noqa: E741 -- the standard names the likelihood L (LS: R = L × S)
    s: int,
    *,
    evidence: Sequence[str] = (),
    bands: str | None = None,
    config: ModelConfig | None = None,
) -> ModelResult:
    """R = L·S graded by a named LS band set (default ls-gb-common)."""
    cfg = config or load_config("risk_point")
    section = cfg["ls"]
    flags = _check_scale({"L": l, "S": s}, {"L": section["scale"], "S": section["scale"]}, section["off_scale"])
    r = float(l) * float(s)
    band_set = named_band_set(section["band_sets"], bands or section["bands"])
    return _result(section["method"], cfg, r, band_set, {"L": l, "S": s}, evidence, flags)


def _result(method: str, cfg: ModelConfig, score: float, bands: BandSet, factors: dict, evidence: Sequence[str],
            flags: list[str], extra_details: dict | None = None, extra_parameters: dict | None = None) -> ModelResult:
    band = bands.classify(score)
    if band is None:
        flags.append(f"unrated:below-{bands.bands[-1].lower:g}")
    ids = unique(evidence)
    return ModelResult(
        method=method,
        version=cfg.version,
        score=score,
        level=band.label if band else None,
        colour=band.colour if band else None,
        components=tuple(
            Component(name=k, value=float(v), weight=None, contribution=float(v), evidence=ids, note="multiplicative factor")
            for k, v in factors.items()
        ),
        evidence=ids,
        parameters={"bands": bands_summary(bands), **(extra_parameters or {})},
        flags=tuple(flags),
        details=extra_details or {},
    )


def _label(bands: BandSet, value: float) -> str | None:
    band = bands.classify(value)
    return band.label if band else None


class FactorError(RiskGraphError, ValueError):
    """A factor off its published scale, refused: an enterprise filing its own analysis reads why."""


def _check_scale(values: dict, scales: dict, policy: str) -> list[str]:
    """Flags for values off their published scale; raise instead when the policy is 'reject'."""
    if policy not in ("flag", "reject"):
        raise ValueError(f"off_scale must be 'flag' or 'reject', not {policy!r}")
    flags = []
    for name, value in values.items():
        if not float(value) > 0:
            raise FactorError(N_("{name} = {value!r}: factors must be positive"), name=name, value=value)
        if float(value) not in {float(v) for v in scales[name]}:
            if policy == "reject":
                raise FactorError(N_("{name} = {value!r} is not on the scale {scale}"), name=name, value=value,
                                  scale=list(scales[name]))
            flags.append(f"off-scale:{name}={value:g}")
    return flags
