"""One official colour per enterprise: the model the bureau chose in assess.toml sets Enterprise.riskColour.

Two models colour an enterprise — the 应急〔2018〕19号 rating (`mem-2018-19`) and the residual-risk model
(`enterprise-residual-risk`) — and they disagree for some enterprises. The bureau names, per supervision
industry with a default, which one is official ([enterprise.official_colour]); placards, search, the map
and portraits read Enterprise.riskColour, so they all show that one. The other model's colour is kept as
Enterprise.secondaryRiskColour, and both methods are recorded on the enterprise (riskColourMethod,
secondaryRiskColourMethod) so a portrait says which is which. The rating's score and the lowest score its
open points allow are copied to the enterprise (ratingScore, ratingScoreMin) for the focus-inspection list.

It reads the latest Assessment of each method, so it is right whichever of the two steps ran.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from riskgraph.graph.packed_content import assessment_components, with_components
from riskgraph.reasoning import graph_facts as gf
from riskgraph.reasoning.models.config import load_config
from riskgraph.reasoning.run_context import Run
from riskgraph.reasoning.writeback import ASSESSMENT, clear_property, set_properties

COLOUR_PROPERTIES = ("riskColour", "riskColourMethod", "secondaryRiskColour", "secondaryRiskColourMethod",
              "ratingScore", "ratingScoreMin")


def methods() -> tuple[str, str]:
    """(rating method, residual-risk method): the two models that colour an enterprise."""
    return load_config("enterprise_rating")["method"], load_config("enterprise_risk")["method"]


def official_method(choice: Mapping[str, Any], supervision_industry: str | None) -> str:
    """The method the configuration makes official for an enterprise of this supervision industry."""
    by_industry = choice.get("by_supervision_industry", {})
    method = by_industry.get(supervision_industry or "", choice["default"])
    if method not in methods():
        raise ValueError(f"[enterprise.official_colour]: {method!r} is not one of {methods()}")
    return str(method)


def apply_official_colour(run: Run, only: Iterable[str] | None = None) -> int:
    """Set the official and secondary colours (and the rating score) on every enterprise, or on `only`
    (an incremental run: the others' assessments did not change); returns how many."""
    choice = run.cfg["enterprise"]["official_colour"]
    rating_method, _ = methods()
    both = list(methods())
    n = 0
    pages = gf.iter_keys(run.store, "Enterprise", page=run.page) if only is None else [sorted(set(only))]
    for keys in pages:
        for chunk in gf.batched(keys, run.batch):
            rows = with_components(run.store, run.store.read(f"UNWIND $keys AS k MATCH (e:Enterprise {{uscc: k}}) "
                           f"OPTIONAL MATCH (a:{ASSESSMENT})-[:ASSESSES]->(e) WHERE a.method IN $methods "
                           "RETURN k, e.supervisionIndustry AS si, a.method AS method, a.riskColour AS colour, "
                           f"a.score AS score, {assessment_components('a')}",
                           {"keys": list(chunk), "methods": both}))
            per: dict[str, dict[str, Any]] = {}
            for r in rows:
                entry = per.setdefault(r["k"], {"si": r["si"]})
                if r["method"] is not None:
                    entry[r["method"]] = r
            updates: list[dict[str, Any]] = []
            cleared: dict[str, list[str]] = {p: [] for p in COLOUR_PROPERTIES}
            for uscc, entry in per.items():
                official = official_method(choice, entry["si"])
                secondary = next(m for m in both if m != official)
                values: dict[str, Any] = {
                    "riskColour": (entry.get(official) or {}).get("colour"),
                    "riskColourMethod": official if official in entry else None,
                    "secondaryRiskColour": (entry.get(secondary) or {}).get("colour"),
                    "secondaryRiskColourMethod": secondary if secondary in entry else None,
                    "ratingScore": (entry.get(rating_method) or {}).get("score"),
                    "ratingScoreMin": _score_min(entry.get(rating_method)),
                }
                for prop, value in list(values.items()):
                    if value is None:
                        cleared[prop].append(uscc)
                        del values[prop]
                updates.append({"uscc": uscc, **values})
            set_properties(run.store, "Enterprise", updates)
            for prop, gone in cleared.items():
                clear_property(run.store, "Enterprise", prop, gone)
            n += len(updates)
    return n


def _score_min(row: Mapping[str, Any] | None) -> float | None:
    if not row or not row.get("components"):
        return None
    score_range = json.loads(row["components"]).get("details", {}).get("score_range")
    return float(score_range[0]) if score_range else row.get("score")
