"""The one root of every exception RiskGraph raises on purpose.

`except RiskGraphError` catches any of them (the CLI turns them into a one-line error and an exit
code: 2 for usage, 1 for runtime errors); each family keeps its own class and its built-in base (`StoreError` is still a
`RuntimeError`, `RowError` a `ValueError`), so existing handlers keep working.

It lives here because `ontology/` is the lowest layer: it imports no other RiskGraph package,
and every other package (graph, loaders, reasoning, api, cli) already imports it, so any module
can import this one without an import cycle.
"""
from __future__ import annotations


class RiskGraphError(Exception):
    """Something RiskGraph refuses or cannot do, with a message meant for the person who asked."""
