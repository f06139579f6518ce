"""`riskgraph.api.server.serve` in its own process, and the account commands the CLI registers."""
from __future__ import annotations

import argparse
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from riskgraph.api.users import add_user_commands, user_store

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # a whole server process, started and stopped (~6 s)
def test_serve_runs_the_app_until_terminated(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("RISKGRAPH_GRAPH_URL", "RISKGRAPH_JWT_SECRET")}
    env["RISKGRAPH_DATA_DIR"] = str(tmp_path / "data")
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from riskgraph.api.server import serve; serve(None, port=int(sys.argv[1]))", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300  # starting took over 90 s on a busy machine
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.1)
        ready = httpx.get(f"{base}/ready", timeout=30).json()
        assert ready["status"] == "ready" and ready["store"] == "falkordb"
        assert ready["readCache"] == {"worker": proc.pid, "entries": 0, "responses": 0, "hits": 0, "sharedHits": 0,
                                      "misses": 0}  # one worker: serve's own
        assert httpx.get(f"{base}/enterprises", timeout=30).json()["total"] == 0
        assert "server" not in httpx.get(f"{base}/health", timeout=30).headers  # no version banner
        # the embedded store and the secret live in the data directory
        assert (tmp_path / "data" / "graph").is_dir() and (tmp_path / "data" / "jwt-secret").is_file()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        log.close()
    # uvicorn shuts down gracefully, then re-raises the signal it caught
    text = (tmp_path / "server.log").read_text()
    assert code in (0, -signal.SIGTERM), text
    assert "Application shutdown complete" in text


def test_account_commands_for_the_cli(tmp_path, monkeypatch, capsys):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    add_user_commands(sub)

    def run(*argv: str, stdin: str = "") -> int:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        args = parser.parse_args([*argv, "--data-dir", str(tmp_path)])
        return args.func(args)

    assert run("user-add", "zhang.san", "--role", "inspector", "--region", "130100", "--region", "130209",
               "--password-stdin", stdin="a-long-enough-password\n") == 0
    created = json.loads(capsys.readouterr().out)
    assert created["regions"] == ["130100", "130209"] and created["role"] == "inspector"
    assert user_store(tmp_path).authenticate("zhang.san", "a-long-enough-password") is not None
    assert run("user-passwd", "zhang.san", "--password-stdin", stdin="another-long-password\n") == 0
    assert user_store(tmp_path).authenticate("zhang.san", "a-long-enough-password") is None
    assert run("user-disable", "zhang.san") == 0
    assert user_store(tmp_path).authenticate("zhang.san", "another-long-password") is None
    assert run("user-enable", "zhang.san") == 0
    assert run("user-list") == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [u["username"] for u in listed] == ["zhang.san"] and "password_hash" not in listed[0]
