"""GeoJSON map layers: FeatureCollections of lon/lat points, properties filtered for the caller.

Coordinates are WGS 84 (EPSG:4326, CRS84 axis order: longitude, latitude), whatever the source gave
(GCJ-02 / BD-09 are converted on load: loaders/positions.py, recorded in `sourceCrs`). A layer is
read whole, then paged: `numberMatched` counts every feature with a point (inside `bbox` when
given), `skipped` the nodes without one, `truncated` is true exactly when features lie beyond this
page, and `links` has the `next` page's URL. The layer read for a first page is kept for the pages
after it (per caller, while the store's data stays the same: `layer_cache`): a 50,000-enterprise
layer is ten pages, and reading it whole for each cost ten times the reading. The same layers are
OGC API – Features collections (`/collections/{layer}/items?bbox=&limit=&offset=`), so QGIS, GDAL
and geopandas open them directly.
Bodies are `application/geo+json`, gzip-compressed for clients that accept it.
"""
from __future__ import annotations

import datetime as dt
import gzip
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field
from starlette.datastructures import URL

from riskgraph.api.deps import CONTEXT, Context
from riskgraph.api.errors import invalid, not_found
from riskgraph.api.models import Out
from riskgraph.api.read_cache import ReadCache
from riskgraph.api.routes.common import region_param, scope_condition
from riskgraph.api.schema import (
    ACCIDENT,
    ASSESSES,
    ASSESSMENT,
    ASSESSMENT_METHOD,
    ASSESSMENT_SCORE,
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
    REGION_LEVEL,
    RESCUE_TEAM,
    RISK_COLOUR,
    RISK_POINT,
    SHELTER,
    SUPPLY,
    WAREHOUSE,
)
from riskgraph.api.scope import Owners
from riskgraph.api.views import DAY_MS
from riskgraph.graph.dialect import ident, where
from riskgraph.graph.values import from_epoch_ms
from riskgraph.loaders.locate import region_point
from riskgraph.loaders.positions import CrsError, to_wgs84
from riskgraph.ontology.errors import N_, as_message
from riskgraph.ontology.model import TIME_SUFFIX, Disclosure
from riskgraph.reasoning.models.config import load_config
from riskgraph.workflows import warnings as wf

router = APIRouter(tags=["layers"])

DEFAULT_LIMIT = 5_000
#: open warnings read for the layer at most (a province has hundreds)
MAX_WARNINGS = 20_000
#: bodies from this size on are gzip-compressed for clients that accept it
GZIP_MIN_BYTES = 1_024
MAX_LIMIT = 20_000
#: whole layers a worker keeps for the pages after the first (`layer_cache`)
KEPT_LAYERS = 4
#: OGC's name for WGS 84 in longitude/latitude order (GeoJSON's only coordinate system, RFC 7946 §4)
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CRS84_URN = "urn:ogc:def:crs:OGC:1.3:CRS84"
#: the extent of Hebei's boundaries (WGS 84), advertised for the collections
HEBEI_BBOX = [113.45, 36.04, 119.85, 42.62]
CONFORMANCE = ["http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
               "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
               "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30"]


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


class Link(Out):
    href: str
    rel: str = Field(description="self, next, prev, collection")
    type: str = "application/geo+json"
    title: str | None = None


class CrsNameProperties(Out):
    name: str = Field(description="urn:ogc:def:crs:OGC:1.3:CRS84")


class NamedCrs(Out):
    type: Literal["name"]
    properties: CrsNameProperties


class FeatureCollection(Out):
    type: Literal["FeatureCollection"]
    name: str = Field(description="the layer")
    features: list[Feature]
    numberMatched: int = Field(description="features of the layer that have a point (and lie in `bbox`), on every page")
    numberReturned: int = Field(description="features on this page")
    skipped: int = Field(description="nodes of the layer left out because they have no coordinates "
                                     "(or the caller may not read them); never counted in numberMatched")
    truncated: bool = Field(description="true exactly when features lie beyond this page (follow the `next` link)")
    links: list[Link] = Field(description="`self`, and `next` / `prev` pages when there are some")
    crs: NamedCrs = Field(description="the coordinate system of every geometry, WGS 84 longitude/latitude (RFC 7946's "
                                      "only one), named the way GDAL and older GeoJSON readers understand")
    timeStamp: str = Field(description="when the layer was read (ISO 8601, UTC)")


class SpatialExtent(Out):
    bbox: list[list[float]] = Field(description="[[minLon, minLat, maxLon, maxLat]] in `crs`")
    crs: str = CRS84


class Extent(Out):
    spatial: SpatialExtent


class Collection(Out):
    id: str
    title: str
    description: str
    itemType: str = "feature"
    crs: list[str]
    storageCrs: str
    extent: Extent | None = None
    links: list[Link]


class Collections(Out):
    collections: list[Collection]
    links: list[Link]


class Conformance(Out):
    conformsTo: list[str]


class Features(NamedTuple):
    """A layer as read for one caller: every feature with a point, and how many nodes had none."""

    features: list[dict[str, Any]]
    skipped: int

    def page(self, name: str, offset: int, limit: int, url: URL) -> dict[str, Any]:
        """This page of the layer, with the count of the whole and the links to the pages around it."""
        matched = len(self.features)
        features = self.features[offset:offset + limit]
        more = offset + len(features) < matched
        links = [{"href": str(url), "rel": "self"}]
        if more:
            links.append({"href": str(url.include_query_params(offset=offset + limit, limit=limit)), "rel": "next",
                          "title": "下一页"})
        if offset > 0:
            links.append({"href": str(url.include_query_params(offset=max(0, offset - limit), limit=limit)), "rel": "prev",
                          "title": "上一页"})
        return {"type": "FeatureCollection", "name": name, "features": features, "numberMatched": matched,
                "numberReturned": len(features), "skipped": self.skipped, "truncated": more, "links": links,
                "crs": {"type": "name", "properties": {"name": CRS84_URN}},
                "timeStamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")}


class Layer:
    """One layer being read for one caller: every feature with a point (`Features` once read)."""

    def __init__(self, ctx: Context, region: str | None, days: int, bbox: tuple[float, float, float, float] | None = None) -> None:
        self.ctx = ctx
        self.region = region
        self.days = days
        self.bbox = bbox
        self.features: list[dict[str, Any]] = []
        self.skipped = 0

    # ------------------------------------------------------------------ helpers
    def add(self, feature_id: str, lon: Any, lat: Any, properties: dict[str, Any]) -> None:
        if not isinstance(lon, (int, float)) or not isinstance(lat, (int, float)):
            self.skipped += 1
            return
        if self.bbox and not (self.bbox[0] <= lon <= self.bbox[2] and self.bbox[1] <= lat <= self.bbox[3]):
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
                f"RETURN properties(n) AS p ORDER BY n.{ident(self.ctx.onto.key_of(label))}",
                params,
            )
            for row in rows:
                self.node(label, row["p"], self.ctx.scope.level(label, row["p"]))

# ---------------------------------------------------------------------- the layers
def enterprises(layer: Layer) -> None:
    ctx = layer.ctx
    conditions, params = layer.region_condition("e")
    rows = ctx.store.read(
        f"MATCH (e:{ident(ENTERPRISE)}){where(conditions)} RETURN properties(e) AS p "
        f"ORDER BY e.{ident(ctx.onto.key_of(ENTERPRISE))}",
        params,
    )
    for row in rows:
        layer.node(ENTERPRISE, row["p"], ctx.scope.enterprise_level(row["p"]))


def enterprise_placed(layer: Layer, base: str, conditions: list[str]) -> None:
    """Every node of `base` and its subclasses meeting `conditions` (on `n`), at its own point or else at its
    enterprise's, with that enterprise as its owner for disclosure."""
    ctx = layer.ctx
    e_key = ident(ctx.onto.key_of(ENTERPRISE))
    for label in ctx.schema.descendants(base):
        rel = ctx.schema.relation_between(ENTERPRISE, label)
        where_all = list(conditions)
        params: dict[str, Any] = {}
        if layer.region:
            where_all.append(f"coalesce(n.{ident(REGION_CODE)}, e.{ident(REGION_CODE)}) STARTS WITH $region")
            params["region"] = layer.region
        rows = ctx.store.read(
            f"MATCH (n:{ident(label)}) OPTIONAL MATCH (e:{ident(ENTERPRISE)})-[:{ident(rel.type)}]->(n) "
            f"WITH n, e{where(where_all)} "
            f"RETURN properties(n) AS p, e.{e_key} AS uscc, e.{ident(REGION_CODE)} AS region, e.name AS enterprise, "
            f"e.{ident(LON[1])} AS elon, e.{ident(LAT[1])} AS elat ORDER BY n.{ident(ctx.onto.key_of(label))}",
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


def major_hazard_sources(layer: Layer) -> None:
    """Hazard sources with a major-hazard level, placed at their own point or else their enterprise's."""
    enterprise_placed(layer, HAZARD_SOURCE, [f"n.{ident(MAJOR_HAZARD_LEVEL[1])} IS NOT NULL"])


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
            f"RETURN properties(w) AS p, supplies ORDER BY w.{ident(ctx.onto.key_of(label))}",
            {**params, "supplyLabels": supply_labels},
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
        "RETURN county, total, open, overdue, major, lon, lat ORDER BY total DESC, county",
        {**params, "closed": schema.closed_states(), "now": now, "top": schema.top_grade()},
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
        lon, lat = county_point(county, region, row)
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
        f"RETURN properties(e) AS p, last ORDER BY e.{ident(ctx.onto.key_of(ENTERPRISE))}",
        {**params, **region_params, "since": now - layer.days * DAY_MS},
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


def county_point(code: str, region: dict[str, Any], row: dict[str, Any]) -> tuple[Any, Any]:
    """Where a county's aggregate is drawn: a point inside its boundary, else its stored centre, else its enterprises' mean."""
    inside = region_point(code)
    if inside is not None:
        return inside.lon, inside.lat
    lon = region.get("lon") if isinstance(region.get("lon"), (int, float)) else row.get("lon")
    lat = region.get("lat") if isinstance(region.get("lat"), (int, float)) else row.get("lat")
    return lon, lat


def risk_points(layer: Layer) -> None:
    """Risk points (安全风险点) with their colour, at their own point or else their enterprise's."""
    enterprise_placed(layer, RISK_POINT, [])


def accident_hotspots(layer: Layer) -> None:
    """Accidents per county (where they happened, else their enterprise's county), with deaths and injuries (public)."""
    ctx = layer.ctx
    rel = ctx.schema.relation_between(ENTERPRISE, ACCIDENT)
    region_p = ident(REGION_CODE)
    conditions = ["county IS NOT NULL"]
    params: dict[str, Any] = {}
    if layer.region:
        conditions.append("county STARTS WITH $region")
        params["region"] = layer.region
    rows = ctx.store.read(
        f"MATCH (a:{ident(ACCIDENT)}) OPTIONAL MATCH (e:{ident(ENTERPRISE)})-[:{ident(rel.type)}]->(a) "
        f"WITH a, coalesce(a.{region_p}, e.{region_p}) AS county{where(conditions)} "
        "WITH county, count(a) AS total, sum(coalesce(a.deaths, 0)) AS deaths, sum(coalesce(a.injuries, 0)) AS injuries "
        "RETURN county, total, deaths, injuries ORDER BY total DESC, county",
        params,
    )
    names = _region_names(ctx, [str(r["county"]) for r in rows])
    for row in rows:
        county = str(row["county"])
        lon, lat = county_point(county, {}, {})
        layer.add(f"{REGION}/{county}", lon, lat, {"regionCode": county, "name": names.get(county), "total": int(row["total"]),
                                                  "deaths": int(row["deaths"] or 0), "injuries": int(row["injuries"] or 0)})


def open_warnings(layer: Layer) -> None:
    """Warnings not closed or rejected that the caller may see (none for the anonymous public), at the
    responsible enterprise's point, else inside the warning's region."""
    ctx = layer.ctx
    if ctx.caller.anonymous:
        return
    actor = wf.Actor.of(ctx.caller)
    _, rows = wf.list_warnings(ctx.store, actor, wf.Filters(region=layer.region), offset=0, limit=MAX_WARNINGS)
    rows = [w for w in rows if w.get("warningState") in wf.OPEN_STATES]
    e_key = ctx.onto.key_of(ENTERPRISE)
    usccs = sorted({str(w["responsibleEnterprise"]) for w in rows if w.get("responsibleEnterprise")})
    points = {str(r["k"]): (r["lon"], r["lat"]) for r in ctx.store.read(
        f"MATCH (e:{ident(ENTERPRISE)}) WHERE e.{ident(e_key)} IN $keys "
        f"RETURN e.{ident(e_key)} AS k, e.{ident(LON[1])} AS lon, e.{ident(LAT[1])} AS lat", {"keys": usccs})}
    for w in rows:
        shown = wf.decode(ctx.onto.visible(wf.WARNING, w, ctx.caller.ceiling))
        lon, lat = points.get(str(w.get("responsibleEnterprise")), (None, None))
        if lon is None and w.get("regionCode"):
            lon, lat = county_point(str(w["regionCode"]), {}, {})
        props = {"label": wf.WARNING, "key": str(w["id"]), "title": shown.get("name"), "level": shown.get("warningLevel"),
                 "state": shown.get("warningState"), "type": shown.get("warningType"), "regionCode": shown.get("regionCode"),
                 "enterprise": shown.get("responsibleEnterprise"), "subjectName": shown.get("subjectName"),
                 "lastTriggeredAt": shown.get("lastTriggeredAt")}
        layer.add(f"{wf.WARNING}/{w['id']}", lon, lat, props)


def regional_risk(layer: Layer) -> None:
    """Cities, counties and parks with their INFORM risk index and colour (the 风险云图's values), at a point inside
    each; the map joins them to the boundaries by `regionCode`."""
    ctx = layer.ctx
    key = ident(ctx.onto.key_of(REGION))
    conditions = [f"r.{ident(REGION_LEVEL[1])} IN $levels"]
    params: dict[str, Any] = {"levels": ["CITY", "COUNTY", "PARK"], "method": load_config("inform")["method"]}
    if layer.region:
        conditions.append(f"r.{key} STARTS WITH $region")
        params["region"] = layer.region
    rows = ctx.store.read(
        f"MATCH (r:{ident(REGION)}){where(conditions)} "
        f"OPTIONAL MATCH (a:{ident(ASSESSMENT)})-[:{ident(ASSESSES)}]->(r) WHERE a.{ident(ASSESSMENT_METHOD[1])} = $method "
        f"RETURN r.{key} AS code, r.name AS name, r.{ident(REGION_LEVEL[1])} AS level, r.{ident(RISK_COLOUR[1])} AS colour, "
        f"a.{ident(ASSESSMENT_SCORE[1])} AS score, r.{ident(LON[1])} AS lon, r.{ident(LAT[1])} AS lat ORDER BY code",
        params,
    )
    for row in rows:
        code = str(row["code"])
        lon, lat = county_point(code, {"lon": row["lon"], "lat": row["lat"]}, {})
        score = row["score"]
        layer.add(f"{REGION}/{code}", lon, lat, {"regionCode": code, "name": row["name"], "regionLevel": row["level"],
                                                "riskColour": row["colour"],
                                                "riskIndex": round(float(score), 2) if isinstance(score, (int, float)) else None})


def _region_names(ctx: Context, codes: list[str]) -> dict[str, Any]:
    key = ident(ctx.onto.key_of(REGION))
    return {str(r["k"]): r["name"] for r in ctx.store.read(
        f"MATCH (r:{ident(REGION)}) WHERE r.{key} IN $codes RETURN r.{key} AS k, r.name AS name", {"codes": codes})}


class LayerDef(NamedTuple):
    build: Callable[[Layer], None]
    description: str
    title: str


LAYERS: dict[str, LayerDef] = {
    "enterprises": LayerDef(enterprises, "enterprises with their risk colour", "企业（四色）"),
    "major-hazard-sources": LayerDef(major_hazard_sources, "hazard sources with a major-hazard level (GB 18218)", "重大危险源"),
    "risk-points": LayerDef(risk_points, "enterprises' risk points with their colour", "安全风险点"),
    "disaster-points": LayerDef(disaster_points, "natural-disaster risk points", "自然灾害风险点"),
    "rescue-teams": LayerDef(rescue_teams, "rescue teams", "救援队伍"),
    "supplies": LayerDef(supplies, "warehouses with their emergency supplies", "物资储备库"),
    "shelters": LayerDef(shelters, "emergency shelters", "应急避难场所"),
    "hidden-danger-hotspots": LayerDef(hidden_danger_hotspots, "hidden dangers aggregated per county", "隐患热点"),
    "accident-hotspots": LayerDef(accident_hotspots, "accidents aggregated per county, with deaths and injuries", "事故热点"),
    "no-recent-enforcement": LayerDef(no_recent_enforcement, "enterprises without an inspection in the last `days` days",
                                      "近期未执法企业"),
    "open-warnings": LayerDef(open_warnings, "open warnings the caller may see (signed-in callers)", "未关闭预警"),
    "regional-risk": LayerDef(regional_risk, "cities, counties and parks with their INFORM risk index and colour", "区域风险指数"),
}


def parse_bbox(text: str | None, crs: str | None) -> tuple[float, float, float, float] | None:
    """`minLon,minLat,maxLon,maxLat` (WGS 84, or GCJ-02 / BD-09 when `bbox-crs` says so) → a WGS 84 box."""
    if not text:
        return None
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        raise invalid(N_("bbox: four numbers, minLon,minLat,maxLon,maxLat"), "bbox") from None
    if len(parts) != 4 or parts[0] > parts[2] or parts[1] > parts[3]:
        raise invalid(N_("bbox: minLon,minLat,maxLon,maxLat with min ≤ max"), "bbox")
    if crs:
        try:
            lo = to_wgs84(parts[0], parts[1], crs_from_uri(crs))
            hi = to_wgs84(parts[2], parts[3], crs_from_uri(crs))
        except CrsError as exc:
            raise invalid(as_message(exc), "bbox-crs") from None
        parts = [lo[0], lo[1], hi[0], hi[1]]
    return parts[0], parts[1], parts[2], parts[3]


def crs_from_uri(text: str) -> str:
    """OGC's CRS84 URI means WGS 84; otherwise a name prcoords converts from (GCJ-02, BD-09)."""
    return "WGS-84" if text.rstrip("/").endswith("CRS84") else text


def geojson(request: Request, body: dict[str, Any], model: type[Out] = FeatureCollection) -> Response:
    """The body checked against its model, as application/geo+json, gzip-compressed when large and accepted."""
    data = model.model_validate(body).model_dump_json(exclude_none=False).encode()
    headers = {"Vary": "Accept-Encoding"}
    if len(data) >= GZIP_MIN_BYTES and "gzip" in request.headers.get("accept-encoding", ""):
        data = gzip.compress(data, compresslevel=5)
        headers["Content-Encoding"] = "gzip"
    return Response(data, media_type=GeoJSONResponse.media_type, headers=headers)


def layer_cache(reads: ReadCache) -> ReadCache:
    """Where a worker keeps the layers its callers are paging through: at most KEPT_LAYERS (a
    50,000-enterprise layer is ≈ 50,000 feature dicts), as long as the read cache keeps answers, and
    none when it keeps none."""
    return ReadCache(entries=min(KEPT_LAYERS, reads.entries), max_age_s=reads.max_age_s)


def read_layer(ctx: Context, name: str, region: str | None, days: int, bbox: tuple[float, float, float, float] | None) -> Features:
    entry = LAYERS.get(name)
    if entry is None:
        raise not_found(N_("layer {name!r}"), {"layers": list(LAYERS)}, name=name)
    region = region_param(region)

    def read() -> Features:
        layer = Layer(ctx, region, days, bbox)
        entry.build(layer)
        return Features(layer.features, layer.skipped)

    return ctx.svc.layers.answer(ctx, ("layer", name, region, days, bbox), read)


REGION_Q = Query(None, description="only features in this region (GB/T 2260 prefix)")
LIMIT_Q = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="features per page")
OFFSET_Q = Query(0, ge=0, description="features to skip (the `next` link carries it)")
DAYS_Q = Query(365, ge=1, le=3650, description="no-recent-enforcement: the look-back window")
BBOX_Q = Query(None, description="minLon,minLat,maxLon,maxLat: only features inside (WGS 84 unless bbox-crs says otherwise)")
BBOX_CRS_Q = Query(None, alias="bbox-crs", description="the bbox's coordinate system: CRS84 (default), GCJ-02 or BD-09")


@router.get("/layers", response_model=LayerList, summary="the map layers there are")
def list_layers() -> dict[str, Any]:
    return {"layers": [{"name": name, "description": d.description} for name, d in LAYERS.items()]}


@router.get("/layers/{name}", response_model=FeatureCollection, response_class=GeoJSONResponse,
            summary="one map layer as a GeoJSON FeatureCollection (WGS 84 lon/lat), paged with `next` links")
def get_layer(
    request: Request,
    name: str = Path(..., description=", ".join(LAYERS)),
    region: str | None = REGION_Q,
    limit: int = LIMIT_Q,
    offset: int = OFFSET_Q,
    days: int = DAYS_Q,
    bbox: str | None = BBOX_Q,
    bbox_crs: str | None = BBOX_CRS_Q,
    ctx: Context = CONTEXT,
) -> Response:
    layer = read_layer(ctx, name, region, days, parse_bbox(bbox, bbox_crs))
    return geojson(request, layer.page(name, offset, limit, request.url))


# ---------------------------------------------------------------------- OGC API – Features
def _collection(request: Request, name: str) -> dict[str, Any]:
    entry = LAYERS[name]
    items = str(request.url_for("collection_items", layer=name))
    return {"id": name, "title": entry.title, "description": entry.description, "crs": [CRS84], "storageCrs": CRS84,
            "extent": {"spatial": {"bbox": [HEBEI_BBOX], "crs": CRS84}},
            "links": [{"href": items, "rel": "items", "title": entry.title},
                      {"href": str(request.url_for("collection", layer=name)), "rel": "self", "type": "application/json"}]}


@router.get("/conformance", response_model=Conformance, summary="the OGC API – Features conformance classes served")
def conformance() -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE}


@router.get("/collections", response_model=Collections, summary="the map layers as OGC API – Features collections")
def collections(request: Request) -> dict[str, Any]:
    return {"collections": [_collection(request, name) for name in LAYERS],
            "links": [{"href": str(request.url), "rel": "self", "type": "application/json"}]}


@router.get("/collections/{layer}", response_model=Collection, name="collection", summary="one collection's description")
def collection(request: Request, layer: str = Path(..., description=", ".join(LAYERS))) -> dict[str, Any]:
    if layer not in LAYERS:
        raise not_found(N_("collection {layer!r}"), {"collections": list(LAYERS)}, layer=layer)
    return _collection(request, layer)


@router.get("/collections/{layer}/items", response_model=FeatureCollection, response_class=GeoJSONResponse,
            name="collection_items", summary="a collection's features (OGC API – Features items: bbox, limit, offset, next)")
def collection_items(
    request: Request,
    layer: str = Path(..., description=", ".join(LAYERS)),
    region: str | None = REGION_Q,
    limit: int = LIMIT_Q,
    offset: int = OFFSET_Q,
    days: int = DAYS_Q,
    bbox: str | None = BBOX_Q,
    bbox_crs: str | None = BBOX_CRS_Q,
    ctx: Context = CONTEXT,
) -> Response:
    found = read_layer(ctx, layer, region, days, parse_bbox(bbox, bbox_crs))
    return geojson(request, found.page(layer, offset, limit, request.url))
