"""Workflows: what people do with the graph's results, step by step, with every step audited."""
