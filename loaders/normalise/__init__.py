"""Cleaning and standardising source values; each failure is a RowError with a reason code."""
from loaders.normalise.errors import RowError

__all__ = ["RowError"]
