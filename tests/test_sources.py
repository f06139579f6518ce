"""GET /sources: per source system its freshness from the load ledger — over the real service, on a
generated province loaded into the real embedded store."""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from live_support import LiveService, load_export, serve_live

from riskgraph.loaders.live.registry import SourceRegistry

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, generated: Callable[..., Path],
         monkeypatch_module: pytest.MonkeyPatch) -> Iterator[LiveService]:
    tmp = tmp_path_factory.mktemp("sources")
    export = tmp / "export"
    shutil.copytree(generated(enterprises=30, seed=2), export, ignore=shutil.ignore_patterns("truth"))

    def register(data_dir: Path) -> None:
        SourceRegistry.in_dir(data_dir).add("iot-silent", "iot", title="从未上报的监测平台")

    yield from serve_live(tmp, export, monkeypatch_module, before_start=register)


def _by_source(live: LiveService) -> dict[str, dict]:
    with live.client("analyst1") as c:
        r = c.get("/sources")
    assert r.status_code == 200, r.text
    return {s["source"]: s for s in r.json()["sources"]}


def test_sources_report_each_load_as_the_loader_counted_it(live: LiveService) -> None:
    sources = _by_source(live)
    for source, stats in live.report.by_source().items():
        got = sources[source]
        assert got["rowsRead"] == stats.read, source
        assert got["rowsLoaded"] == stats.loaded, source
        assert got["rowsQuarantined"] == stats.quarantined_total, source
        assert got["quarantined"] == dict(stats.quarantined), source
        assert got["lastLoadKind"] == "folder" and got["lastLoadOk"] is True
        assert got["lastLoadId"] == live.report.load_id
        assert got["lastSuccessAt"] and got["lagSeconds"] is not None and got["lagSeconds"] < 3600
        assert got["stale"] is False  # no expectation for an unregistered export
    iot = sources["iot"]
    assert iot["title"] == "危化品与尾矿库在线监测"
    assert sum(iot["quarantinedHeld"].values()) >= iot["rowsQuarantined"] > 0


def test_a_registered_source_that_never_delivered_is_stale(live: LiveService) -> None:
    silent = _by_source(live)["iot-silent"]
    assert silent["registered"] is True and silent["kind"] == "iot"
    assert silent["loads"] == 0 and silent["lastSuccessAt"] is None
    assert silent["staleAfterSeconds"] == 600 and silent["stale"] is True


def test_a_reload_counts_unchanged_rows_and_names_what_changed(live: LiveService, tmp_path: Path) -> None:
    export = tmp_path / "export2"
    shutil.copytree(_export_of(live), export)
    sensors = export / "iot" / "sensors.csv"
    text = sensors.read_bytes().decode("utf-8")
    lines = text.splitlines(keepends=True)
    fields = lines[1].split(",")
    fields[13] = "离线\r\n" if lines[1].endswith("\r\n") else "离线\n"  # 运行状态 of the first sensor
    changed_status = lines[1].split(",")[13].strip() != "离线"
    lines[1] = ",".join(fields)
    sensors.write_bytes("".join(lines).encode("utf-8"))
    report = load_export(live.store_url, export)
    got = _by_source(live)
    registry = got["market_registry"]
    assert registry["lastLoadId"] == report.load_id
    assert registry["rowsUnchanged"] == registry["rowsRead"] > 0 and registry["rowsLoaded"] == 0
    iot = got["iot"]
    assert iot["loads"] == 2
    if changed_status:
        assert iot["changes"] >= 1
        assert {"label": "Sensor", "property": "status", "count": 1} in iot["changed"]
    assert iot["rowsLoaded"] == (1 if changed_status else 0)


def test_sources_are_for_bureau_staff(live: LiveService) -> None:
    with live.client() as c:
        assert c.get("/sources").status_code == 401
    with live.client("insp1") as c:
        assert c.get("/sources").status_code == 403
    with live.client("admin1") as c:
        body = c.get("/sources").json()
    assert json.dumps(body, ensure_ascii=False).count("rgs_") == 0  # never a key


def _export_of(live: LiveService) -> Path:
    return live.data_dir.parent / "export"
