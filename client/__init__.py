"""A small typed Python client of the RiskGraph service for analysts: lists and assessments come back
as pandas DataFrames, map layers as GeoDataFrames (geopandas) — see `client/client.py`.

    from riskgraph.client import RiskGraphClient
    with RiskGraphClient("http://127.0.0.1:8000") as rg:
        rg.login("analyst", password)
        df = rg.enterprises(region="1309", colour="RED")
        points = rg.layer("major-hazard-sources")          # GeoDataFrame, EPSG:4326
"""
from riskgraph.client.client import ClientError, RiskGraphClient

__all__ = ["ClientError", "RiskGraphClient"]
