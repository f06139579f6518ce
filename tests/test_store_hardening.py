"""The store under stress: values round-trip exactly, limits hold at the store, failures say why."""
from __future__ import annotations

from riskgraph.graph.values import encode_properties


def test_a_decimal_reads_back_equal_to_what_was_written(store):
    """FalkorDB answers doubles with 15 significant digits: a value written with more would read
    back different, and every incremental load would log a false ChangeEvent for it."""
    written = 7997.6230000000005  # 7997623 kg in tonnes, as a float multiplication gives it
    store.upsert_nodes("HazardSource", [{"id": "HS1", "name": "罐区", "lon": 0.1 + 0.2, "lat": written}])
    node = store.get_node("HazardSource", "HS1")
    expected = encode_properties(store.ontology, "HazardSource", {"id": "HS1", "lon": 0.1 + 0.2, "lat": written})
    assert (node["lon"], node["lat"]) == (expected["lon"], expected["lat"]) == (0.3, 7997.623)
