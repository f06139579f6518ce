"""The package layout: one import namespace, and the design's top-level folders linked under it.

The folders (`api/`, `graph/`, …) are importable from the repository root by accident (the root is on
`sys.path` when Python runs there); installed, only `riskgraph.*` exists. These tests keep the code
from relying on the accident, and the wheel to one top-level package.
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINKS = ROOT / "riskgraph"
PACKAGES = sorted(p.name for p in LINKS.iterdir() if p.is_symlink())


def test_every_top_level_package_is_linked_under_riskgraph() -> None:
    folders = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file() and p.name != "riskgraph"}
    assert folders == set(PACKAGES), "a top-level package needs its link: ln -s ../NAME riskgraph/NAME"
    for name in PACKAGES:
        assert (LINKS / name).resolve() == ROOT / name


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):  # code run in a subprocess
            found += [(node.lineno, m.group(1)) for m in re.finditer(r"(?:^|[;\n]\s*)(?:from|import) ([\w.]+)", node.value)]
    return found


def test_code_imports_the_folders_only_through_riskgraph() -> None:
    sources = [p for p in ROOT.rglob("*.py")
               if not {".venv", "build", "riskgraph", ".git"} & set(p.relative_to(ROOT).parts)]
    bare = [f"{p.relative_to(ROOT)}:{line}: import {name}"
            for p in sources for line, name in _imports(p) if name.split(".")[0] in PACKAGES]
    assert not bare, "\n".join(bare)


@pytest.mark.slow
def test_the_wheel_installs_exactly_one_top_level_package(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
                    str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("riskgraph-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"riskgraph"}
    for data in ("riskgraph/ontology/riskgraph.ttl", "riskgraph/loaders/mappings/market_registry.yaml",
                 "riskgraph/reasoning/config/major_hazard.toml", "riskgraph/cli/main.py"):
        assert data in names
