# %% [markdown]
# # A province through the service: lists, scores and maps with the Python client
#
# `riskgraph.client.RiskGraphClient` asks a running service (`riskgraph serve` or `riskgraph demo`)
# and answers with pandas DataFrames and GeoDataFrames. Set `RISKGRAPH_API_URL` (default
# http://127.0.0.1:8000) and, for more than the public fields, `RISKGRAPH_API_USER` /
# `RISKGRAPH_API_PASSWORD` (the demo writes its accounts to `demo-accounts.txt`). Charts are plotly
# figures, the map a folium map without a tile server; the HTML files go to `RISKGRAPH_NOTEBOOK_OUT`
# (default: a temporary folder). Running needs no network beyond the service.

# %%
import os
import tempfile
from pathlib import Path

import folium
import plotly.express as px
import plotly.io as pio
from IPython.display import display

from riskgraph.client import ClientError, RiskGraphClient

pio.renderers.default = "plotly_mimetype"  # the figure's JSON in the notebook: no CDN
out = Path(os.environ.get("RISKGRAPH_NOTEBOOK_OUT") or tempfile.mkdtemp(prefix="riskgraph-"))
out.mkdir(parents=True, exist_ok=True)
rg = RiskGraphClient(os.environ.get("RISKGRAPH_API_URL", "http://127.0.0.1:8000"))
if os.environ.get("RISKGRAPH_API_USER"):
    rg.login(os.environ["RISKGRAPH_API_USER"], os.environ["RISKGRAPH_API_PASSWORD"])
    print("logged in as", rg.me()["username"])

# %% [markdown]
# ## Enterprises by official risk colour

# %%
enterprises = rg.enterprises()
print(f"{len(enterprises)} enterprises")
order = ["RED", "ORANGE", "YELLOW", "BLUE"]
by_colour = enterprises["riskColour"].value_counts().reindex(order, fill_value=0).rename_axis("colour").reset_index(name="enterprises")
print(by_colour.to_string(index=False))
fig = px.bar(by_colour, x="colour", y="enterprises", color="colour", title="enterprises per official risk colour",
             color_discrete_map={"RED": "#E53935", "ORANGE": "#FB8C00", "YELLOW": "#FDD835", "BLUE": "#1E88E5"})
fig.write_html(out / "colours.html", include_plotlyjs=True)  # plotly.js inside the file: opens offline
display(fig)

# %% [markdown]
# ## The 应急〔2018〕19号 rating and what makes it up
# Every assessment decomposes into components (value, weight, contribution): the lowest-rated
# enterprise's breakdown shows where its points went.

# %%
ratings = rg.assessments(method="mem-2018-19")
scored = ratings.dropna(subset=["score"]) if "score" in ratings else ratings.iloc[0:0]
if scored.empty:  # scores are enterprise-level facts: the public sees the colours only
    print(f"{len(ratings)} ratings, none whose score this account may read: log in (RISKGRAPH_API_USER)")
else:
    print(f"{len(scored)} ratings; score quartiles:", scored["score"].quantile([0.25, 0.5, 0.75]).round(1).tolist())
    px.histogram(scored, x="score", nbins=20, title="应急〔2018〕19号 rating scores").write_html(out / "scores.html",
                                                                                             include_plotlyjs=True)
    components = rg.assessment_components(method="mem-2018-19")
    worst = scored.sort_values("score").iloc[0]
    breakdown = components[components["assessment"] == worst["id"]][["name", "value", "weight", "contribution"]]
    print(worst["subjectName"], worst["score"])
    print(breakdown.to_string(index=False))
    fig = px.bar(breakdown, x="contribution", y="name", orientation="h",
                 title=f"{worst['subjectName']}: contribution per component")
    display(fig)

# %% [markdown]
# ## Where the risk is: hidden-danger hotspots and disaster points on a map
# GeoDataFrames in WGS 84 (EPSG:4326), straight from the service's GeoJSON layers: hidden dangers
# aggregated per county (circle size: how many; colour: how many are overdue, where the account may
# read it) over the natural-disaster risk points.

# %%
hotspots = rg.layer("hidden-danger-hotspots")
points = rg.layer("disaster-points")
print(type(hotspots).__name__, hotspots.crs, len(hotspots), "counties;", len(points), "disaster points")
centre = [float(points.geometry.y.mean()), float(points.geometry.x.mean())]
fmap = folium.Map(location=centre, zoom_start=7, tiles=None)  # no tile server: the layers alone
for _, row in points.iterrows():
    folium.CircleMarker([row.geometry.y, row.geometry.x], radius=1, color="#6D4C41", opacity=0.4).add_to(fmap)
for _, row in hotspots.iterrows():
    overdue = row.get("overdue") or 0
    folium.CircleMarker([row.geometry.y, row.geometry.x], radius=4 + (row["total"] or 0) ** 0.5,
                        color="#E53935" if overdue else "#FB8C00", fill=True, fill_opacity=0.6,
                        tooltip=f"{row.get('name')}: {row['total']} hidden dangers, {overdue} overdue").add_to(fmap)
fmap.save(out / "hotspots_map.html")
fig = px.scatter(hotspots.assign(lon=hotspots.geometry.x, lat=hotspots.geometry.y), x="lon", y="lat", size="total",
                 hover_name="name", title="hidden dangers per county (lon / lat)")
fig.update_yaxes(scaleanchor="x")
fig.write_html(out / "hotspots.html", include_plotlyjs=True)
display(fmap)

# %% [markdown]
# ## The focus-inspection list (重点监管), per county
# Inspector level: shown when the account may read it.

# %%
try:
    focus = rg.focus_inspections()
    print(focus.groupby("countyName").size().sort_values(ascending=False).head(10).to_string())
except ClientError as exc:
    print("the focus-inspection list is not for this account:", exc.code)
rg.close()
print("charts and map written to", out)
