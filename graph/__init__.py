"""The graph store: one interface over embedded FalkorDB and Neo4j, the same Cypher for both."""
from riskgraph.graph.connect import connect, default_data_dir, default_url, embedded_path, embedded_store_exists, redact
from riskgraph.graph.store import (
    ConstraintViolation,
    GraphStore,
    QueryResult,
    QueryTimeout,
    ReadOnlyViolation,
    Stats,
    StoreError,
    UpsertResult,
)
from riskgraph.graph.subgraph import Subgraph

__all__ = [
    "ConstraintViolation",
    "GraphStore",
    "QueryResult",
    "QueryTimeout",
    "ReadOnlyViolation",
    "Stats",
    "StoreError",
    "Subgraph",
    "UpsertResult",
    "connect",
    "default_data_dir",
    "default_url",
    "embedded_path",
    "embedded_store_exists",
    "redact",
]
