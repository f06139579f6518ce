"""Enterprises in one pass: 应急〔2018〕19号 rating, residual risk (Enterprise.riskColour) and supervision tags."""
from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from typing import Any

from riskgraph.reasoning import graph_facts as gf
from riskgraph.reasoning.models.config import ModelConfig, load_config
from riskgraph.reasoning.models.enterprise_rating import rate_enterprise
from riskgraph.reasoning.models.enterprise_risk import assess_enterprise_risk, supervision_tags
from riskgraph.reasoning.models.result import ModelResult
from riskgraph.reasoning.official_colour import apply_official_colour
from riskgraph.reasoning.read_ahead import read_ahead
from riskgraph.reasoning.run_context import ModelRun, Run, Timer
from riskgraph.reasoning.writeback import Written, clear_property, remove_stale, set_properties, write_assessments


def rate(record: gf.EnterpriseRecord, full: ModelConfig, dynamic: ModelConfig,
         full_industries: Collection[str]) -> tuple[ModelResult, str]:
    """The enterprise's rating and its scope ("full" or "dynamic-only").

    Outside the guide's scope (not a hazardous-chemical enterprise) its sections, bonuses and
    automatic-红 rules do not apply: only the dynamic projects are rated, and nothing is reported as
    "not assessed" that was never applicable.
    """
    if record.supervision_industry in full_industries:
        return rate_enterprise(record.facts, config=full), "full"
    return rate_enterprise(record.facts, config=dynamic, static=False), "dynamic-only"


def dynamic_only_config(cfg: ModelConfig) -> ModelConfig:
    return cfg.with_overrides({}, version=f"{cfg.version}+dynamic-only")


def _batches(run: Run, keys: Iterable[str] | None, windows: gf.Windows) -> Iterator[list[gf.EnterpriseRecord]]:
    """The facts of every enterprise (or of `keys`), a batch at a time."""
    pages = gf.iter_keys(run.store, "Enterprise", page=run.page) if keys is None else [sorted(set(keys))]
    for page in pages:
        for chunk in gf.batched(page, run.batch):
            yield gf.enterprise_batch(
                run.store, chunk, run.as_of, windows=windows,
                failed_conclusions=list(run.cfg["rectification"]["failed_conclusions"]),
                fire_brigade_types=list(run.cfg["enterprise"]["fire_brigade_team_types"]))


def step_enterprises(run: Run, *, rating: bool, risk: bool, keys: Iterable[str] | None = None) -> list[ModelRun]:
    """Every enterprise, or only `keys` (an incremental run: stale results of the others are left alone)."""
    rating_cfg, risk_cfg = load_config("enterprise_rating"), load_config("enterprise_risk")
    dynamic_cfg = dynamic_only_config(rating_cfg)
    full_industries = frozenset(run.cfg["enterprise"]["full_rating_industries"])  # asked of every enterprise
    windows = gf.Windows.from_configs(rating_cfg, risk_cfg)
    rating_s = risk_s = 0.0
    n_rating = n_risk = 0
    rating_versions: set[str] = set()
    whole = Timer()
    for records in read_ahead(_batches(run, keys, windows)):  # the next batch read while this one is rated
        if rating:
            t = Timer()
            items = []
            for rec in records:
                result, scope = rate(rec, rating_cfg, dynamic_cfg, full_industries)
                rating_versions.add(result.version)
                items.append(Written("Enterprise", rec.uscc, result,
                                     extra={"scope": scope, "supervisionIndustry": rec.supervision_industry,
                                            "regionCode": rec.region}))
            n_rating += write_assessments(run, items)
            rating_s += t.seconds
        if risk:
            t = Timer()
            items, updates, untagged = [], [], []
            for rec in records:
                result = assess_enterprise_risk(rec.facts, config=risk_cfg)
                tags = supervision_tags(rec.facts, config=risk_cfg)
                items.append(Written("Enterprise", rec.uscc, result, extra={
                    "tags": [{"code": tag.code, "label": tag.label, "evidence": list(tag.evidence)} for tag in tags]}))
                update: dict[str, Any] = {"uscc": rec.uscc}
                if tags:
                    update["tags"] = [tag.code for tag in tags]
                else:
                    untagged.append(rec.uscc)
                updates.append(update)
            n_risk += write_assessments(run, items)
            set_properties(run.store, "Enterprise", [u for u in updates if len(u) > 1])
            clear_property(run.store, "Enterprise", "tags", untagged)
            risk_s += t.seconds
    out = []
    read_s = whole.seconds - rating_s - risk_s  # what the reading kept the run waiting
    share = read_s / (int(rating) + int(risk))
    if rating:
        if keys is None:
            remove_stale(run, rating_cfg["method"], "Enterprise")
        version = ", ".join(sorted(rating_versions)) or rating_cfg.version
        out.append(ModelRun("enterprise_rating", rating_cfg["method"], version, n_rating, rating_s + share))
    if risk:
        if keys is None:
            remove_stale(run, risk_cfg["method"], "Enterprise")
        out.append(ModelRun("enterprise_risk", risk_cfg["method"], risk_cfg.version, n_risk, risk_s + share))
    apply_official_colour(run, keys)  # Enterprise.riskColour from the model the bureau chose, the other as secondary
    return out
