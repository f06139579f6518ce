# %% [markdown]
# # Exploring a province's risk graph
#
# An analyst's first look at a loaded and assessed province, in the percent format that Jupyter
# (with jupytext), VS Code and plain `python` all run. It reads the store named by
# `RISKGRAPH_GRAPH_URL` (default: the embedded store), so run `riskgraph demo --no-serve` or
# `riskgraph load … && riskgraph assess` first.

# %%
import json

import networkx as nx
import pandas as pd

from riskgraph import graph
from riskgraph.graph.export import read_all, to_networkx
from riskgraph.graph.packed_content import assessment_components, with_components

store = graph.connect()
stats = store.counts()
print({label: n for label, n in stats.labels.items() if n})

# %% [markdown]
# ## Enterprises most in need of focused inspection
# The 应急〔2018〕19号 rating (with the dynamic factors) as written by `riskgraph assess`, lowest first.

# %%
# an assessment's components are kept deflated (graph/packed_content.py): read them through its helpers
rows = with_components(store, store.read(
    "MATCH (a:Assessment)-[:ASSESSES]->(e:Enterprise) WHERE a.method = 'mem-2018-19' "
    "RETURN e.uscc AS uscc, e.name AS name, e.regionCode AS region, a.score AS score, a.riskColour AS colour, "
    f"{assessment_components('a')} ORDER BY a.score LIMIT 10"
))
worst = pd.DataFrame(rows)
print(worst[["name", "region", "score", "colour"]].to_string(index=False))
# every score decomposes: the components of the lowest-rated enterprise
if rows:
    breakdown = json.loads(rows[0]["components"])["components"]
    print(pd.DataFrame(breakdown)[["name", "value", "weight", "contribution"]].to_string(index=False))

# %% [markdown]
# ## Counties by INFORM-style risk
# Hazard & exposure, vulnerability and lack of coping capacity, each 0–10, and the percentile among counties.

# %%
rows = with_components(store, store.read(
    "MATCH (a:Assessment)-[:ASSESSES]->(r:Region) WHERE a.method = 'inform-2024' AND r.regionLevel = 'COUNTY' "
    f"RETURN r.name AS county, a.score AS risk, {assessment_components('a')} ORDER BY a.score DESC LIMIT 10"
))
counties = pd.DataFrame(
    [{"county": r["county"], "risk": r["risk"],
      **{c["name"]: round(c["value"], 2) for c in json.loads(r["components"])["components"]}} for r in rows]
)
print(counties.to_string(index=False))

# %% [markdown]
# ## The graph around major hazard sources
# Enterprises, their hazard sources and the chemicals they hold as a networkx graph: which chemicals
# connect the most enterprises?

# %%
sub = read_all(store, labels=["Enterprise", "HazardSource", "Inventory", "Chemical"])
g = to_networkx(sub)
chemicals = [n for n in g if n[0] == "Chemical"]
reach = {
    g.nodes[c].get("name", c[1]): sum(1 for n in nx.ancestors(g, c) if n[0] == "Enterprise") for c in chemicals
}
print("enterprises reached per chemical:")
print(pd.Series(reach).sort_values(ascending=False).head(10).to_string())
store.close()
