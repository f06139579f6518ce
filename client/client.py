"""The client: hand-written over httpx, one method per question an analyst asks, typed, returning pandas.

Lists are read page by page until the end (or `limit`); assessments and their components come from the
XLSX export (one request, types kept); layers follow `next` links where the service gives them. Every
failure is a `ClientError` with the service's error `code`, `message` (in the language asked for with
`lang`) and HTTP status. geopandas is optional (`riskgraph[analyst]`): without it, layers come back as
DataFrames with `lon` / `lat` columns and a warning says why.
"""
from __future__ import annotations

import io
import json
import warnings
from collections.abc import Iterator
from typing import Any, Literal

import httpx
import pandas as pd

from riskgraph.ontology.errors import RiskGraphError

#: the largest page the service serves (api/pagination.py MAX_SIZE)
PAGE_SIZE = 200
CRS = "EPSG:4326"  # GeoJSON's WGS 84 longitude / latitude (RFC 7946)


class ClientError(RiskGraphError):
    """The service refused or failed: its error code and message, and the HTTP status."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class RiskGraphClient:
    """One service, one (optional) account. Use as a context manager, or call `close()`."""

    def __init__(self, base_url: str, token: str | None = None, *, lang: Literal["en", "zh"] = "en",
                 timeout: float = 60.0, transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Accept-Language": "zh-CN" if lang == "zh" else "en"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport)

    def __enter__(self) -> RiskGraphClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ plumbing
    def _get(self, path: str, params: dict[str, Any] | None = None, *, accept: str | None = None) -> httpx.Response:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        r = self._http.get(path, params=clean, headers={"Accept": accept} if accept else None)
        if r.status_code >= 400:
            raise _error(r)
        return r

    def _json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._get(path, params).json()

    def _pages(self, path: str, params: dict[str, Any], limit: int | None) -> Iterator[dict[str, Any]]:
        page, seen = 1, 0
        while True:
            body = self._json(path, {**params, "page": page, "size": PAGE_SIZE})
            for item in body["items"]:
                if limit is not None and seen >= limit:
                    return
                seen += 1
                yield item
            if page >= body["pages"] or not body["items"]:
                return
            page += 1

    # ------------------------------------------------------------------ account
    def login(self, username: str, password: str) -> None:
        """Log in (OAuth2 password flow); later calls carry the token."""
        r = self._http.post("/auth/token", data={"username": username, "password": password})
        if r.status_code >= 400:
            raise _error(r)
        self._http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

    def me(self) -> dict[str, Any]:
        return self._json("/auth/me")

    # ------------------------------------------------------------------ lists
    def enterprises(self, *, q: str | None = None, region: str | None = None, industry: str | None = None,
                    colour: str | None = None, tag: str | None = None, rating_below: float | None = None,
                    sort: Literal["key", "score"] = "key", limit: int | None = None) -> pd.DataFrame:
        """Enterprises (GET /enterprises with its filters): one row each, `uscc` first, the fields you may read."""
        params = {"q": q, "region": region, "industry": industry, "colour": colour, "tag": tag,
                  "rating_below": rating_below, "sort": sort}
        rows = [{"uscc": i["key"], **i["properties"]} for i in self._pages("/enterprises", params, limit)]
        return _frame(rows, ["uscc", "name", "regionCode"])

    def enterprise(self, uscc: str) -> dict[str, Any]:
        """The enterprise's portrait (一企一档) as the service returns it."""
        return self._json(f"/enterprises/{uscc}")

    def focus_inspections(self, *, below: float | None = None, region: str | None = None) -> pd.DataFrame:
        """The focus-inspection list (重点监管): one row per enterprise, with its county and reasons."""
        body = self._json("/focus-inspections", {"below": below, "region": region, "per_county": 1000})
        rows = []
        for county in body["counties"]:
            for rank, e in enumerate(county["enterprises"], start=1):
                rows.append({"county": county["county"], "countyName": county["countyName"], "rank": rank,
                             "uscc": e["uscc"], "name": e["name"], "score": e["score"], "scoreMin": e["scoreMin"],
                             "officialColour": e["officialColour"]["colour"], "autoRed": e["autoRed"],
                             "reasons": e["reasons"]})
        return _frame(rows, ["county", "countyName", "rank", "uscc", "name", "score"])

    def assessments(self, *, method: str | list[str] | None = None, region: str | None = None) -> pd.DataFrame:
        """Assessments you may read (one row each: subject, method, score, level, colour …)."""
        return self._assessment_sheets(method, region)["评估"]

    def assessment_components(self, *, method: str | list[str] | None = None, region: str | None = None) -> pd.DataFrame:
        """Every component of every assessment (name, value, weight, contribution), with its assessment's id."""
        frame = self._assessment_sheets(method, region)["分项"]
        return frame.rename(columns=lambda c: c.removeprefix("component_"))

    def _assessment_sheets(self, method: str | list[str] | None, region: str | None) -> dict[str, pd.DataFrame]:
        methods = [method] if isinstance(method, str) else method
        r = self._get("/exports/assessments.xlsx", {"method": methods, "region": region})
        return pd.read_excel(io.BytesIO(r.content), sheet_name=None)

    def region_risk(self, code: str, *, method: str | None = None) -> pd.DataFrame:
        """A region's newest assessment per method, components spread into columns."""
        body = self._json(f"/regions/{code}/risk", {"method": method})
        rows = []
        for a in body["assessments"]:
            p = dict(a["properties"])
            parts = p.pop("components", None)
            listed = parts.get("components", []) if isinstance(parts, dict) else []
            rows.append({"id": a["key"], **p, **{c["name"]: c.get("value") for c in listed}})
        return _frame(rows, ["id", "method", "score"])

    def quarantine(self, *, reason: str | None = None, source: str | None = None) -> pd.DataFrame:
        """The quarantine report (analysts, admins): rows the loaders could not load, and why."""
        r = self._get("/exports/quarantine.csv", {"reason": reason, "source": source})
        return pd.read_csv(io.BytesIO(r.content), encoding="utf-8-sig", dtype={"row": "Int64"})

    def dossier_pdf(self, uscc: str) -> bytes:
        """The printable dossier PDF."""
        return self._get(f"/enterprises/{uscc}/dossier.pdf").content

    # ------------------------------------------------------------------ map layers
    def layers(self) -> pd.DataFrame:
        return pd.DataFrame(self._json("/layers")["layers"])

    def layer(self, name: str, *, region: str | None = None, limit: int | None = None) -> Any:
        """A map layer as a GeoDataFrame (EPSG:4326), following `next` links; a DataFrame with lon/lat without geopandas."""
        features: list[dict[str, Any]] = []
        url: str | None = f"/layers/{name}"
        params: dict[str, Any] | None = {"region": region, "limit": limit}
        while url:
            r = self._get(url, params, accept="application/geo+json, application/json")
            body = json.loads(r.content)
            page = body.get("features", [])
            features += page
            nxt = next((link.get("href") for link in body.get("links", []) if link.get("rel") == "next"), None)
            if not nxt or not page or (limit is not None and len(features) >= limit):
                break
            # the link's query travels as explicit params: a request's params replace a URL's own query in httpx
            link = httpx.URL(nxt)
            url, params = link.path, dict(link.params)
        return to_geo(features)


def to_geo(features: list[dict[str, Any]]) -> Any:
    """GeoJSON point features as a GeoDataFrame, else (no geopandas) a DataFrame with lon / lat."""
    try:
        import geopandas as gpd
    except ImportError:
        warnings.warn("geopandas is not installed (pip install 'riskgraph[analyst]'): the layer is a pandas "
                      "DataFrame with lon / lat columns", stacklevel=2)
        rows = [{"featureId": f.get("id"), **(f.get("properties") or {}), "lon": f["geometry"]["coordinates"][0],
                 "lat": f["geometry"]["coordinates"][1]} for f in features if f.get("geometry")]
        return pd.DataFrame(rows)
    if not features:
        return gpd.GeoDataFrame({"featureId": []}, geometry=gpd.GeoSeries([], crs=CRS), crs=CRS)
    frame = gpd.GeoDataFrame.from_features(features, crs=CRS)
    frame.insert(0, "featureId", [f.get("id") for f in features])  # Label/key of the node drawn
    return frame


def _frame(rows: list[dict[str, Any]], first: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    ordered = [c for c in first if c in frame.columns] + [c for c in frame.columns if c not in first]
    return frame[ordered] if len(frame.columns) else pd.DataFrame(columns=first)


def _error(r: httpx.Response) -> ClientError:
    try:
        error = r.json()["error"]
        return ClientError(r.status_code, error["code"], error["message"], error.get("details"))
    except (ValueError, KeyError, TypeError):
        return ClientError(r.status_code, "http_error", r.text[:200] or r.reason_phrase)
