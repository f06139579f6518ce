"""Scheduled pulls over the real service: a drop folder and an HTTP export URL loaded through the
loader on their schedule, incrementally, with per-source freshness in GET /sources, and a source
that stops delivering shown stale."""
from __future__ import annotations

import http.server
import io
import shutil
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from live_support import LiveService, serve_live
from notify_support import wait_for

from riskgraph.loaders.live.pull import PullError, unpack
from riskgraph.loaders.live.registry import SourceRegistry

pytestmark = pytest.mark.slow


class _Export(http.server.BaseHTTPRequestHandler):
    body = b""
    requests: list[str | None] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        type(self).requests.append(self.headers.get("If-None-Match"))
        etag = f'"{len(self.body)}"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("ETag", etag)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


def _zip(folder: Path, under: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                z.write(p, f"{under}/{p.relative_to(folder.parent)}")
    return buf.getvalue()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, generated: Callable[..., Path],
         monkeypatch_module: pytest.MonkeyPatch) -> Iterator[LiveService]:
    tmp = tmp_path_factory.mktemp("pull")
    export = tmp / "export"
    shutil.copytree(generated(enterprises=30, seed=2), export, ignore=shutil.ignore_patterns("truth"))
    (tmp / "drop").mkdir()
    _Export.body = _zip(export / "market_registry", "export")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Export)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def register(data_dir: Path) -> None:
        reg = SourceRegistry.in_dir(data_dir)
        reg.add("drop", "export", pull_folder=str(tmp / "drop"), pull_every_s=1, stale_after_s=3600)
        reg.add("remote", "export", pull_url=f"http://127.0.0.1:{server.server_port}/export.zip", pull_every_s=1)

    try:
        yield from serve_live(tmp, export, monkeypatch_module, before_start=register)
    finally:
        server.shutdown()


def _sources(live: LiveService) -> dict[str, dict]:
    with live.client("admin1") as c:
        r = c.get("/sources")
    assert r.status_code == 200, r.text
    return {s["source"]: s for s in r.json()["sources"]}


def test_an_export_url_is_pulled_incrementally(live: LiveService) -> None:
    remote = wait_for(lambda: (s := _sources(live)["remote"])["loads"] >= 1 and s, 120, "the first pull")
    assert remote["lastLoadKind"] == "pull" and remote["lastLoadOk"] is True and remote["pull"].endswith("/export.zip")
    # the rows were loaded before (the folder load): a pull re-reads them and changes nothing
    assert remote["rowsRead"] == live.report.by_source()["market_registry"].read
    assert remote["rowsUnchanged"] == remote["rowsRead"] and remote["rowsLoaded"] == 0
    # later rounds ask with the ETag and get 304: nothing new, no new load
    wait_for(lambda: _Export.requests.count(f'"{len(_Export.body)}"') >= 2, 30, "conditional requests")
    assert _sources(live)["remote"]["loads"] == 1


def test_a_drop_folder_is_loaded_when_its_files_change(live: LiveService) -> None:
    drop = live.data_dir.parent / "drop"
    first = wait_for(lambda: (s := _sources(live)["drop"])["loads"] >= 1 and s, 60, "the empty folder's pull")
    assert first["lastLoadOk"] is False and "no file any mapping knows" in first["lastError"]
    assert first["stale"] is True  # registered, and never delivered
    # the delivery is made beside the drop folder and moved in at once: the puller (every second) must
    # never see a half-copied folder or the copy before its one edited row
    staged = live.data_dir.parent / "staging" / "iot"
    shutil.copytree(live.data_dir.parent / "export" / "iot", staged)
    sensors = staged / "sensors.csv"
    lines = sensors.read_text(encoding="utf-8").splitlines(keepends=True)
    cells = lines[1].rstrip("\r\n").split(",")
    cells[13] = "离线" if cells[13] != "离线" else "在线"
    lines[1] = ",".join(cells) + "\n"
    sensors.write_text("".join(lines), encoding="utf-8")
    staged.rename(drop / "iot")
    done = wait_for(lambda: (s := _sources(live)["drop"])["lastLoadOk"] and s, 120, "the folder's load")
    assert done["stale"] is False and done["lagSeconds"] < 120
    assert done["changes"] == 1 and done["rowsLoaded"] == 1
    assert done["rowsRead"] == live.report.by_source()["iot"].read
    iot = _sources(live)["iot"]
    assert iot["lastLoadKind"] == "pull" and {"label": "Sensor", "property": "status", "count": 1} in iot["changed"]


def test_an_archive_cannot_write_outside_its_folder(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../escape.csv", "x")
    with pytest.raises(PullError, match="outside"):
        unpack(buf.getvalue(), tmp_path / "in")
    assert not (tmp_path / "escape.csv").exists()
    with pytest.raises(PullError, match="zip"):
        unpack(b"<html>login</html>", tmp_path / "in")
