"""`riskgraph demo` serves the pages and prints the map's URL (issue 16.9); on its generated province
every enterprise has a point, so the map's enterprises layer is whole (issue 16.1)."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
ENTERPRISES = 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_demo_prints_the_map_url_and_serves_it(tmp_path):
    port = free_port()
    env = {**os.environ, "RISKGRAPH_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    env.pop("RISKGRAPH_GRAPH_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "riskgraph.cli", "demo", "--enterprises", str(ENTERPRISES),
                             "--port", str(port)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        url, seen = None, []
        deadline = time.monotonic() + 480
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline() if proc.stdout else ""
            if not line:
                if proc.poll() is not None:
                    break
                continue
            seen.append(line)
            match = re.search(r"the map \(风险一张图\): (http://\S+/map)", line)
            url = match.group(1) if match else None
        assert url == f"http://127.0.0.1:{port}/map", "".join(seen[-30:])
        assert any(line.startswith("enterprises located by ") for line in seen), "".join(seen[-30:])
        with httpx.Client(timeout=30) as client:
            bound_by = time.monotonic() + 120  # the server binds after the line is printed (slowly on a busy machine)
            while True:
                try:
                    page = client.get(url)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < bound_by and proc.poll() is None, "the demo did not serve the map it printed"
                    time.sleep(0.1)
            assert page.status_code == 200 and "风险一张图" in page.text
            layer = client.get(url.replace("/map", "/layers/enterprises")).json()
            assert layer["skipped"] == 0 and layer["numberMatched"] >= ENTERPRISES
            methods = {f["properties"]["locationMethod"] for f in layer["features"]}
            assert "registry" in methods and methods - {"registry"}, methods
            assert all(isinstance(f["properties"]["locationAccuracy"], int) for f in layer["features"])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
