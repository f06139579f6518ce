"""What a portrait says about its scores: the official colour and the secondary one, and how fresh each score is.

- `colour_view`: the enterprise's official colour (Enterprise.riskColour) with the method that set it, the
  other model's colour as a secondary view, and the bureau's configured choice (assess.toml
  [enterprise.official_colour]) — so the reader knows which is which and why.
- `score_provenance`: per assessment shown, when it was computed, the date its facts run to (asOf), the
  data load it was computed from, and whether the enterprise's records were loaded again after it
  (`dataChangedSince`: the score is older than its data until the next `riskgraph assess`).
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from riskgraph.api.deps import Context
from riskgraph.api.schema import ASSESSMENT, ENTERPRISE
from riskgraph.api.views import ViewNode
from riskgraph.graph.dialect import ident
from riskgraph.graph.packed_content import assessment_components, with_components
from riskgraph.ontology.anchors import SOURCE_RECORD
from riskgraph.reasoning.models.config import load_config
from riskgraph.reasoning.run_stamps import AT_MS

CHOICE_SOURCE = "reasoning/config/assess.toml [enterprise.official_colour]"


def colour_view(ctx: Context, root: ViewNode) -> dict[str, Any] | None:
    """Official and secondary colour with their methods, where the caller may read the colour."""
    if not ctx.disclosed.allows(ENTERPRISE, "riskColour", root.level):
        return None
    props = root.props
    choice = load_config("assess")["enterprise"]["official_colour"]
    return {
        "official": {"colour": props.get("riskColour"), "method": props.get("riskColourMethod")},
        "secondary": {"colour": props.get("secondaryRiskColour"), "method": props.get("secondaryRiskColourMethod")},
        "choice": {"default": choice["default"], "bySupervisionIndustry": dict(choice.get("by_supervision_industry", {})),
                   "source": CHOICE_SOURCE},
    }


def score_provenance(ctx: Context, root: ViewNode, assessments: list[dict[str, Any]]) -> dict[str, Any]:
    """When each shown score was computed and from which data; whether the enterprise's data changed since."""
    key = ident(ctx.onto.key_of(ENTERPRISE))
    rows = ctx.store.read(
        f"MATCH (e:{ident(ENTERPRISE)} {{{key}: $key}}) OPTIONAL MATCH (e)-[:DERIVED_FROM]->(s:SourceRecord) "
        "WITH e, max(s.loadedAtMs) AS own OPTIONAL MATCH (e)-->(n)-[:DERIVED_FROM]->(t:SourceRecord) "
        "RETURN own, max(t.loadedAtMs) AS near", {"key": root.key})
    row = rows[0] if rows else {}
    latest = max((v for v in (row.get("own"), row.get("near")) if v is not None), default=None)
    scores = []
    for a in assessments:  # shown with their current stamps (api/disclosure.py)
        props = a.get("properties", {})
        computed = props.get("computedAt")
        components = props.get("components") if isinstance(props.get("components"), dict) else {}
        computed_ms = _ms(computed)
        scores.append({
            "assessment": a.get("key"),
            "method": props.get("method"),
            "computedAt": computed,
            "asOf": props.get("asOf"),
            "data": {"loadedAt": props.get("dataLoadedAt"), "loadId": props.get("dataLoadId")},
            "dataChangedSince": None if latest is None or computed_ms is None else int(latest) > computed_ms,
            "notKnown": [f for f in components.get("flags", ()) if _unknown(f)],
        })
    out: dict[str, Any] = {"scores": scores}
    if ctx.disclosed.allows(ASSESSMENT, "components", root.level):
        out["hazardSources"] = hazard_source_unknowns(ctx, root)
    if ctx.disclosed.allows(SOURCE_RECORD, "loadedAt", root.level):  # load times are internal bookkeeping
        out["latestDataLoadedAt"] = None if latest is None else _iso(int(latest))
    else:
        for score in scores:
            score.pop("data")
    return out


def _ms(text: Any) -> int | None:
    if not isinstance(text, str):
        return None
    try:
        return int(dt.datetime.fromisoformat(text).timestamp() * 1000)
    except ValueError:
        return None


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone(dt.timedelta(hours=8))).isoformat()


#: flags that say something was not known (the rest say what was found or decided)
UNKNOWN_PREFIXES = ("not-assessed", "partly-assessed", "auto-red-unknown", "accident-free-unknown", "qualifier-unknown",
                    "mixture-category-unknown", "incomplete", "no-inventory-records", "unidentified-chemical",
                    "table1-not-applicable-and-no-category", "beta-defaulted", "residents-unknown", "in-park-unknown",
                    "name-cas-disagree", "unknown-")


def _unknown(flag: Any) -> bool:
    return isinstance(flag, str) and flag.startswith(UNKNOWN_PREFIXES)


def hazard_source_unknowns(ctx: Context, root: ViewNode) -> list[dict[str, Any]]:
    """The GB 18218 result of each of the enterprise's units with what it could not know (qualifier, mixture …)."""
    key = ident(ctx.onto.key_of(ENTERPRISE))
    rows = with_components(ctx.store, ctx.store.read(
        f"MATCH (e:{ident(ENTERPRISE)} {{{key}: $key}})-[:HAS_HAZARD_SOURCE]->(h)<-[:ASSESSES]-(a:{ident(ASSESSMENT)}) "
        f"RETURN h.id AS unit, a.id AS id, a.method AS method, a.computedAt AS computedAt, a.{AT_MS} AS {AT_MS}, "
        f"{assessment_components('a')} ORDER BY unit", {"key": root.key}))
    out = []
    for r in rows:
        try:
            doc = json.loads(r["components"] or "{}")
        except ValueError:
            doc = {}
        out.append({"unit": r["unit"], "method": r["method"], "computedAt": ctx.disclosed.current_stamp(r)["computedAt"],
                     "notKnown": [f for f in doc.get("flags", ()) if _unknown(f)]})
    return out
