"""The recommender's versioned parameters: `recommend.toml` beside this module."""
from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from riskgraph.reasoning.models.config import ModelConfig, _freeze

CONFIG_PATH = Path(__file__).resolve().parent / "recommend.toml"


@lru_cache(maxsize=1)
def load_config() -> ModelConfig:
    """The parsed TOML, read once per process; `with_overrides` gives varied copies."""
    with CONFIG_PATH.open("rb") as fh:
        data = tomllib.load(fh)
    if "version" not in data:
        raise ValueError(f"{CONFIG_PATH} has no version")
    return ModelConfig("recommend", str(data["version"]), _freeze(data))
