"""One exception root: every exception class RiskGraph defines is a RiskGraphError."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import riskgraph
from riskgraph.graph.store import QueryTimeout, StoreError
from riskgraph.loaders.normalise.errors import RowError
from riskgraph.ontology.errors import RiskGraphError


def _defined_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(riskgraph.__path__, "riskgraph."):
        if info.name.endswith("__main__"):
            continue  # running it would start the CLI
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = obj
    return found


def test_every_exception_class_is_a_riskgraph_error():
    found = _defined_exceptions()
    assert len(found) >= 15, sorted(found)  # the families exist: the walk did not silently find nothing
    strays = sorted(name for name, cls in found.items() if not issubclass(cls, RiskGraphError))
    assert strays == []


def test_families_keep_their_builtin_bases():
    """Re-parenting under the root changes no existing handler: a RowError is still a ValueError."""
    assert issubclass(RowError, ValueError) and issubclass(StoreError, RuntimeError)
    with pytest.raises(RiskGraphError):
        raise QueryTimeout("stopped")
