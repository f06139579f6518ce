"""GeoJSON map layers: FeatureCollections of lon/lat points, properties filtered for the caller.

Nodes without coordinates are left out and counted in `skipped`; `truncated` says the layer
had more features than `limit`.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import Field

from riskgraph.api.deps import CONTEXT, Context
from riskgraph.api.errors import not_found
from riskgraph.api.models import Out
from riskgraph.api.routes.common import region_param, scope_condition, where
from riskgraph.api.schema import (
    DANGER_GRADE,
    DANGER_STATE,
    DEADLINE,
    ENTERPRISE,
    HAZARD_SOURCE,
    HIDDEN_DANGER,
    INSPECTED_ON,
    INSPECTION,
    LAT,
    LON,
    MAJOR_HAZARD_LEVEL,
    NATURAL_DISASTER_POINT,
    REGION,
    REGION_CODE,
    RESCUE_TEAM,
    SHELTER,
    SUPPLY,
    WAREHOUSE,
)
from riskgraph.api.scope import Owners
from riskgraph.api.views import DAY_MS
from riskgraph.graph.dialect import ident
from riskgraph.graph.values import from_epoch_ms
from riskgraph.ontology.model import TIME_SUFFIX, Disclosure

router = APIRouter(tags=["layers"])

DEFAULT_LIMIT = 5_000
MAX_LIMIT = 20_000


class GeoJSONResponse(JSONResponse):
    """GeoJSON's own media type (RFC 7946 §12)."""

    media_type = "application/geo+json"


class LayerInfo(Out):
    name: str
    description: str


class LayerList(Out):
    layers: list[LayerInfo]


class Point(Out):
    type: Literal["Point"]
    coordinates: tuple[float, float] = Field(description="[longitude, latitude], WGS 84 as stored")


class Feature(Out):
    type: Literal["Feature"]
    id: str = Field(description="Label/key of the node drawn (Region/code for a hotspot)")
    geometry: Point
    properties: dict[str, Any] = Field(
        description="a node's `label`, `key` and the properties the caller may read at that node's level "
                    "(names and types from the ontology; lon and lat are in the geometry), plus the layer's "
                    "extras: major-hazard-sources `enterprise` {uscc, name}; supplies `supplies` (the warehouse's "
                    "supplies' properties); no-recent-enforcement `lastInspection`, `daysSinceInspection`; "
                    "hidden-danger-hotspots instead `regionCode`, `name`, `total` and, where the caller may read "
                    "what they count, `open`, `overdue`, `major`")


class FeatureCollection(Out):
    type: Literal["FeatureCollection"]
    name: str = Field(description="the layer")
    features: list[Feature]
    skipped: int = Field(description="nodes left out because they have no coordinates (or the caller may not read them)")
    truncated: bool = Field(description="the layer had more features than `limit`")


class Layer:
    def __init__(self, ctx: Context, region: str | None, limit: int, days: int) -> None:
        self.ctx = ctx
        self.region = region
        self.limit = limit
        self.days = days
        self.features: list[dict[str, Any]] = []
        self.skipped = 0
        self.truncated = False

    # ------------------------------------------------------------------ helpers
    def add(self, feature_id: str, lon: Any, lat: Any, properties: dict[str, Any]) -> None:
        if not isinstance(lon, (int, float)) or not isinstance(lat, (int, float)):
            self.skipped += 1
            return
        if len(self.features) >= self.limit:
            self.truncated = True
            return
        properties.pop(LON[1], None)
        properties.pop(LAT[1], None)
        self.features.append({"type": "Feature", "id": feature_id,
                              "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]},
                              "properties": properties})

    def node(self, label: str, props: dict[str, Any], level: Disclosure, **extra: Any) -> None:
        key = str(props.get(self.ctx.onto.key_of(label)))
        shown = self.ctx.disclosed.properties(label, props, level)
        # the point is itself data: drawn only where the caller may read the coordinates
        visible = all(self.ctx.disclosed.allows(label, p[1], level) for p in (LON, LAT))
        self.add(f"{label}/{key}", props.get(LON[1]) if visible else None, props.get(LAT[1]) if visible else None,
                 {"label": label, "key": key, **shown, **extra})

    def region_condition(self, var: str, prop: str = REGION_CODE) -> tuple[list[str], dict[str, Any]]:
        if not self.region:
            return [], {}
        return [f"{var}.{ident(prop)} STARTS WITH $region"], {"region": self.region}

    def nodes_of(self, base: str, extra: list[str] | None = None) -> None:
        """Every node of a class (and its subclasses), each judged by its own region."""
        for label in self.ctx.schema.descendants(base):
            conditions, params = self.region_condition("n")
            rows = self.ctx.store.read(
                f"MATCH (n:{ident(label)}){where(conditions + (extra or []))} "
                f"RETURN properties(n) AS p ORDER BY n.{ident(self.ctx.onto.key_of(label))} LIMIT $limit",
                {**params, "limit": self.limit + 1},
            )
            for row in rows:
                self.node(label, row["p"], self.ctx.scope.level(label, row["p"]))

    def collection(self, name: str) -> dict[str, Any]:
        return {"type": "FeatureCollection", "name": name, "features": self.features,
                "skipped": self.skipped, "truncated": self.truncated}


# ---------------------------------------------------------------------- the layers
def enterprises(layer: Layer) -> None:
    ctx = layer.ctx
    conditions, params = layer.region_condition("e")
    rows = ctx.store.read(
        f"MATCH (e:{ident(ENTERPRISE)}){where(conditions)} RETURN properties(e) AS p "
        f"ORDER BY e.{ident(ctx.onto.key_of(ENTERPRISE))} LIMIT $limit",
        {**params, "limit": layer.limit + 1},
    )
    for row in rows:
        layer.node(ENTERPRISE, row["p"], ctx.scope.enterprise_level(row["p"]))


def major_hazard_sources(layer: Layer) -> None:
    """Hazard sources with a major-hazard level, placed at their own point or else their enterprise's."""
    ctx = layer.ctx
    e_key = ident(ctx.onto.key_of(ENTERPRISE))
    for label in ctx.schema.descendants(HAZARD_SOURCE):
        rel = ctx.schema.relation_between(ENTERPRISE, label)
        conditions = [f"h.{ident(MAJOR_HAZARD_LEVEL[1])} IS NOT NULL"]
        params: dict[str, Any] = {"limit": layer.limit + 1}
        if layer.region:
            conditions.append(f"coalesce(h.{ident(REGION_CODE)}, e.{ident(REGION_CODE)}) STARTS WITH $region")
            params["region"] = layer.region
        rows = ctx.store.read(
            f"MATCH (h:{ident(label)}) OPTIONAL MATCH (e:{ident(ENTERPRISE)})-[:{ident(rel.type)}]->(h) "
            f"WITH h, e{where(conditions)} "
            f"RETURN properties(h) AS p, e.{e_key} AS uscc, e.{ident(REGION_CODE)} AS region, e.name AS enterprise, "
            f"e.{ident(LON[1])} AS elon, e.{ident(LAT[1])} AS elat "
            f"ORDER BY h.{ident(ctx.onto.key_of(label))} LIMIT $limit",
            params,
        )
        for row in rows:
            props = dict(row["p"])
            owners = Owners()
            if row["uscc"] is not None:
                owners.usccs.add(str(row["uscc"]))
            if row["region"] is not None:
                owners.regions.add(str(row["region"]))
            props.setdefault(LON[1], row["elon"])
            props.setdefault(LAT[1], row["elat"])
            enterprise = {"uscc": row["uscc"], "name": row["enterprise"]} if row["uscc"] is not None else None
            layer.node(label, props, ctx.scope.level(label, props, owners), enterprise=enterprise)


def disaster_points(layer: Layer) -> None:
    layer.nodes_of(NATURAL_DISASTER_POINT)


def rescue_teams(layer: Layer) -> None:
    layer.nodes_of(RESCUE_TEAM)


def shelters(layer: Layer) -> None:
    layer.nodes_of(SHELTER)


def supplies(layer: Layer) -> None:
    """Warehouses with the supplies stored in them (a supply is read at its warehouse's level)."""
    ctx = layer.ctx
    supply_labels = ctx.schema.descendants(SUPPLY)
    for label in ctx.schema.descendants(WAREHOUSE):
        rel = ctx.schema.relation_between(SUPPLY, label)
        conditions, params = layer.region_condition("w")
        rows = ctx.store.read(
            f"MATCH (w:{ident(label)}){where(conditions)} "
            f"OPTIONAL MATCH (s)-[:{ident(rel.type)}]->(w) WHERE any(l IN labels(s) WHERE l IN $supplyLabels) "
            "WITH w, collect(properties(s)) AS supplies "
            f"RETURN properties(w) AS p, supplies ORDER BY w.{ident(ctx.onto.key_of(label))} LIMIT $limit",
            {**params, "supplyLabels": supply_labels, "limit": layer.limit + 1},
        )
        for row in rows:
            level = ctx.scope.level(label, row["p"])
            stored = [ctx.disclosed.properties(SUPPLY, s, level) for s in row["supplies"] or [] if s]
            layer.node(label, row["p"], level, supplies=stored)


def hidden_danger_hotspots(layer: Layer) -> None:
    """Hidden dangers per county (the owning enterprise's regionCode), at the county's point.

    The total is public (hidden dangers' ids are); open, overdue and major counts read the
    dangers' state, deadline and grade, so only callers who may read those in the county get them.
    """
    ctx, schema = layer.ctx, layer.ctx.schema
    rel = schema.relation_between(ENTERPRISE, HIDDEN_DANGER)
    conditions, params = layer.region_condition("e")
    state, deadline, grade = (ident(DANGER_STATE[1]), ident(DEADLINE[1] + TIME_SUFFIX), ident(DANGER_GRADE[1]))
    now = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    rows = ctx.store.read(
        f"MATCH (e:{ident(ENTERPRISE)})-[:{ident(rel.type)}]->(h){where([f'e.{ident(REGION_CODE)} IS NOT NULL', *conditions])} "
        f"WITH e, h, (h.{state} IS NULL OR NOT h.{state} IN $closed) AS isOpen "
        f"WITH e.{ident(REGION_CODE)} AS county, count(h) AS total, "
        "sum(CASE WHEN isOpen THEN 1 ELSE 0 END) AS open, "
        f"sum(CASE WHEN isOpen AND h.{deadline} < $now THEN 1 ELSE 0 END) AS overdue, "
        f"sum(CASE WHEN h.{grade} = $top THEN 1 ELSE 0 END) AS major, "
        f"avg(e.{ident(LON[1])}) AS lon, avg(e.{ident(LAT[1])}) AS lat "
        "RETURN county, total, open, overdue, major, lon, lat ORDER BY total DESC, county LIMIT $limit",
        {**params, "closed": schema.closed_states(), "now": now, "top": schema.top_grade(), "limit": layer.limit + 1},
    )
    region_key = ident(ctx.onto.key_of(REGION))
    regions = {str(r["k"]): r for r in ctx.store.read(
        f"MATCH (r:{ident(REGION)}) WHERE r.{region_key} IN $codes "
        f"RETURN r.{region_key} AS k, r.name AS name, r.{ident(LON[1])} AS lon, r.{ident(LAT[1])} AS lat",
        {"codes": [str(r["county"]) for r in rows]})}
    gates = {"open": (DANGER_STATE[1],), "overdue": (DANGER_STATE[1], DEADLINE[1]), "major": (DANGER_GRADE[1],)}
    for row in rows:
        county = str(row["county"])
        level = ctx.caller.region_level(county)
        region = regions.get(county, {})
        props: dict[str, Any] = {"regionCode": county, "name": region.get("name"), "total": int(row["total"])}
        for name, based_on in gates.items():
            if all(ctx.disclosed.allows(HIDDEN_DANGER, p, level) for p in based_on):
                props[name] = int(row[name] or 0)
                if any(ctx.onto.disclosure_of(HIDDEN_DANGER, p) > Disclosure.PUBLIC for p in based_on):
                    ctx.disclosed.mark(f"hidden-danger-hotspots/{county}", level)
        lon = region.get("lon") if isinstance(region.get("lon"), (int, float)) else row["lon"]
        lat = region.get("lat") if isinstance(region.get("lat"), (int, float)) else row["lat"]
        layer.add(f"{REGION}/{county}", lon, lat, props)


def no_recent_enforcement(layer: Layer) -> None:
    """Enterprises without an inspection in the last `days` days (never inspected included).

    Built from inspection dates, so it lists only enterprises where the caller may read them.
    """
    ctx = layer.ctx
    needed = ctx.schema.disclosure(INSPECTED_ON)
    if ctx.caller.ceiling < needed:
        return
    cond, params = scope_condition(ctx, "e", needed, "this layer")
    conditions, region_params = layer.region_condition("e")
    conditions += [cond] if cond else []
    rel = ctx.schema.relation_between(ENTERPRISE, INSPECTION)
    now = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    rows = ctx.store.read(
        f"MATCH (e:{ident(ENTERPRISE)}){where(conditions)} "
        f"OPTIONAL MATCH (e)-[:{ident(rel.type)}]->(i) "
        f"WITH e, max(i.{ident(INSPECTED_ON[1] + TIME_SUFFIX)}) AS last "
        "WHERE last IS NULL OR last < $since "
        f"RETURN properties(e) AS p, last ORDER BY e.{ident(ctx.onto.key_of(ENTERPRISE))} LIMIT $limit",
        {**params, **region_params, "since": now - layer.days * DAY_MS, "limit": layer.limit + 1},
    )
    for row in rows:
        level = ctx.scope.enterprise_level(row["p"])
        if level < needed:
            continue
        last = row["last"]
        key = str(row["p"].get(ctx.onto.key_of(ENTERPRISE)))
        if needed > Disclosure.PUBLIC:
            ctx.disclosed.mark(f"{ENTERPRISE}/{key}#lastInspection", level)
        layer.node(ENTERPRISE, row["p"], level,
                   lastInspection=from_epoch_ms(last).date().isoformat() if last is not None else None,
                   daysSinceInspection=int((now - last) // DAY_MS) if last is not None else None)


LAYERS: dict[str, tuple[Callable[[Layer], None], str]] = {
    "enterprises": (enterprises, "enterprises with their risk colour"),
    "major-hazard-sources": (major_hazard_sources, "hazard sources with a major-hazard level (GB 18218)"),
    "disaster-points": (disaster_points, "natural-disaster risk points"),
    "rescue-teams": (rescue_teams, "rescue teams"),
    "supplies": (supplies, "warehouses with their emergency supplies"),
    "shelters": (shelters, "emergency shelters"),
    "hidden-danger-hotspots": (hidden_danger_hotspots, "hidden dangers aggregated per county"),
    "no-recent-enforcement": (no_recent_enforcement, "enterprises without an inspection in the last `days` days"),
}


@router.get("/layers", response_model=LayerList, summary="the map layers there are")
def list_layers() -> dict[str, Any]:
    return {"layers": [{"name": name, "description": text} for name, (_, text) in LAYERS.items()]}


@router.get("/layers/{name}", response_model=FeatureCollection, response_class=GeoJSONResponse,
            summary="one map layer as a GeoJSON FeatureCollection")
def get_layer(
    name: str = Path(..., description=", ".join(LAYERS)),
    region: str | None = Query(None, description="only features in this region (GB/T 2260 prefix)"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    days: int = Query(365, ge=1, le=3650, description="no-recent-enforcement: the look-back window"),
    ctx: Context = CONTEXT,
) -> dict[str, Any]:
    entry = LAYERS.get(name)
    if entry is None:
        raise not_found(f"layer {name!r}", {"layers": list(LAYERS)})
    layer = Layer(ctx, region_param(region), limit, days)
    entry[0](layer)
    return layer.collection(name)
