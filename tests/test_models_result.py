"""The shared pieces of the models: result serialisation, config loading and overrides, banding."""
from __future__ import annotations

import datetime as dt
import json
import math
from collections import Counter
from decimal import Decimal

import pytest

from riskgraph.reasoning.models.bands import band_set
from riskgraph.reasoning.models.config import CONFIG_DIR, load_config
from riskgraph.reasoning.models.result import Component, ModelResult, json_default, jsonable

CONFIGS = sorted(p.stem for p in CONFIG_DIR.glob("*.toml"))


def test_every_config_file_is_versioned_and_names_its_method():
    assert set(CONFIGS) >= {"major_hazard", "risk_point", "enterprise_rating", "enterprise_risk", "inform",
                            "coupling", "temporal"}
    for name in CONFIGS:
        cfg = load_config(name)
        assert cfg.version
        methods = [cfg.get("method")] + [s.get("method") for s in cfg.data.values() if hasattr(s, "get")]
        assert any(methods), name


def test_loaded_config_is_read_only_and_overrides_make_a_new_version():
    cfg = load_config("enterprise_rating")
    with pytest.raises(TypeError):
        cfg.data["base"] = 0  # type: ignore[index]
    varied = cfg.with_overrides({"static": {"major_hazard": {"aggregate": "max"}}})
    assert varied["static"]["major_hazard"]["aggregate"] == "max"
    assert varied["static"]["major_hazard"]["cap"] == cfg["static"]["major_hazard"]["cap"]
    assert cfg["static"]["major_hazard"]["aggregate"] == "per-level"  # the loaded config is unchanged
    assert varied.version == cfg.version + "+override"


def test_to_json_is_plain_json():
    result = ModelResult(
        method="m", version="1", score=1.5, level="L", colour="RED",
        components=(Component("a", 1.0, None, 1.0, ("e1",), "n"),),
        evidence=("e1",), parameters={"d": Decimal("0.5"), "day": dt.date(2024, 1, 2), "inf": math.inf, "t": (1, 2)},
        flags=("f",), details={"x": 1},
    )
    data = result.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["parameters"] == {"d": 0.5, "day": "2024-01-02", "inf": None, "t": [1, 2]}
    assert data["components"][0]["evidence"] == ["e1"]


def _compact(value, **kw) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False, **kw)


def test_the_encoders_default_writes_what_jsonable_writes():
    # writeback.components_json writes a result in one pass of the C encoder with json_default and
    # falls back to jsonable only where the encoder refuses: the two must give the same text
    class Code(str):
        pass

    component = Component("a.b", Decimal("2.5"), 0.25, 0.625, ("e1", "e2"), "风险")
    value = {
        "components": (component, Component("c", 1, None, 0.0)),
        "parameters": load_config("inform")["indicators"],  # frozen mappings and tuples
        "details": {"n": Counter({"x": 2}), "codes": frozenset({"A"}), "day": dt.date(2026, 12, 4), 7: [1.5, None],
                    "nested": {"result": ModelResult("m", "1", 1.0, None, None, (component,), (), {}, ())},
                    Code("k"): Code("v"), "big": 10**20, "small": 1e-300},
        "flags": ("f",),
    }
    assert _compact(value, default=json_default) == _compact(jsonable(value))
    with pytest.raises(ValueError):  # a non-finite number: the caller falls back to jsonable, which writes null
        _compact({"x": math.nan}, default=json_default)
    with pytest.raises(TypeError):  # a time: str() and isoformat() differ, so it goes through jsonable too
        _compact({"at": dt.datetime(2026, 12, 4, 8, 0)}, default=json_default)


@pytest.mark.parametrize(
    "edge, value, expected",
    [
        ("lower", 10, "high"), ("upper", 10, "mid"),
        ("lower", 5, "mid"), ("upper", 5, "low"),
        ("lower", 0, "low"), ("upper", 0, "low"),  # the lowest band always holds its own edge
        ("lower", -1, None), ("upper", -1, None),  # below the lowest band: unrated
    ],
)
def test_edge_conventions(edge, value, expected):
    bands = band_set("t", {"edge_inclusive": edge, "bands": [
        {"lower": 0, "label": "low"}, {"lower": 10, "label": "high"}, {"lower": 5, "label": "mid"}]})
    band = bands.classify(value)
    assert (band.label if band else None) == expected


def test_band_sets_refuse_unknown_conventions_and_colours():
    with pytest.raises(ValueError):
        band_set("t", {"edge_inclusive": "both", "bands": [{"lower": 0, "label": "x"}]})
    with pytest.raises(ValueError):
        band_set("t", {"edge_inclusive": "lower", "bands": [{"lower": 0, "label": "x", "colour": "GREEN"}]})
