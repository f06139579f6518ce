"""Cleaning and standardising source values; each failure is a RowError with a reason code."""
from riskgraph.loaders.normalise.errors import RowError

__all__ = ["RowError"]
