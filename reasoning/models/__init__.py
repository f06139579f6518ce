"""Standards-based risk models as pure functions: facts in, a decomposable ModelResult out.

No graph access: callers read the graph, pass plain facts with their node keys as evidence, and
write `ModelResult.to_json()` back. Tables come from the ontology vocabularies, weights and named
choices from the versioned TOML files in reasoning/config/.
"""
from riskgraph.reasoning.models.config import ModelConfig, load_config
from riskgraph.reasoning.models.result import Component, ModelResult

__all__ = ["Component", "ModelConfig", "ModelResult", "load_config"]
