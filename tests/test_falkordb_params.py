"""The fast parameter header says exactly what the FalkorDB client's own builder says."""
from __future__ import annotations

import random

import pytest
from falkordb import Graph

from riskgraph.graph.falkordb_params import literal, params_header


def _client_header(params: dict) -> str:
    return Graph._build_params_header(None, params)  # type: ignore[arg-type]  # uses no state


class _Text(str):
    pass


VALUES = [
    "", "plain", 'say "hi"', "back\\slash", 'both \\" mixed', "换行\n和\t制表", "沧州市化工（有限）公司", "`tick`",
    0, -7, 2**40, 1.5, -0.0, 1e-06, 7997.623, float("inf"), True, False, None, b"bytes",
    [], [1, "a", None], ("t", 2), {"a": 1}, {"k": "v", "p": {"n": [1, 2.5, "x"], "b": False}},
    [{"k": "91130100MA0CEFGH1X", "p": {"name": "华润", "dataQuality": ["a", "b"]}}], _Text("sub"),
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_each_value_is_written_as_the_client_writes_it(value):
    assert params_header({"v": value}) == _client_header({"v": value})


def test_random_nested_rows_match_the_client():
    rng = random.Random(3)
    atoms = ["x", 'q"', "\\", "中文", 3, 2.25, True, None]

    def make(depth: int):
        pick = rng.random()
        if depth > 3 or pick < 0.5:
            return rng.choice(atoms)
        if pick < 0.75:
            return [make(depth + 1) for _ in range(rng.randint(0, 4))]
        return {f"k{i}": make(depth + 1) for i in range(rng.randint(0, 4))}

    for _ in range(200):
        params = {"rows": make(0), "ids": make(1)}
        assert params_header(params) == _client_header(params)


def test_bad_map_keys_are_refused_like_the_client_does():
    for bad in ({"": 1}, {"a`b": 1}):
        with pytest.raises(ValueError):
            literal(bad)
    assert params_header(None) == "" and params_header({}) == ""
