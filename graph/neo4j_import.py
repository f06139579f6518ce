"""A whole graph as the CSV files `neo4j-admin database import full` reads, and the check after it.

Neo4j's offline importer writes its store files directly — millions of nodes a minute — where
`copy` sends Cypher batches through a running server. This is how a province too large for
`copy` seeds a Neo4j database (a cluster's first member): `riskgraph neo4j-import DIR` writes, from
any store or a `backup` file (the records of graph/backup.py: the content its checksum covers):

- `nodes/<Label>.csv` with `nodes/<Label>.header.csv`, one pair per node's first label: an
  `<key>:ID(<Label>)` column (the ontology's key: an ID space per label, as keys are unique per
  label), a `:LABEL` column and one typed column per property;
- `relationships/<TYPE>.<From>.<To>.csv` with its header: `:START_ID(<From>)`, `:END_ID(<To>)`,
  `:TYPE` and the relationship's properties;
- `import.sh`, the exact `neo4j-admin database import full` command for them; `manifest.json`, the
  counts and checksum of the original; `empty-lists.csv`, the nodes' properties that are empty lists.

Then `riskgraph --graph neo4j://… neo4j-import --finish DIR` (`finish`) creates the ontology's
constraints and indexes, sets those empty lists again (neo4j-admin cannot store one: an empty array
field is read as absent, neo4j/neo4j#13566) and checks the imported graph against the manifest, as
`restore` checks a backup.

Column types follow the values: long, double, boolean, string and their arrays. A column holding
whole and fractional numbers is a double (a whole number then comes back as 3.0); one holding
numbers and text, or scalars and lists, is text. Each such change is counted in the manifest by
label and property (the generated and demo provinces have none), so the check after the import
says why it differs. Arrays are joined by U+001F (no text of ours holds it), fields are quoted and
may span lines (`--multiline-fields=true`); an unquoted empty field is an absent property.

Rows are spooled per file as JSON lines first (a column's type is known only after its last
value), then written as CSV: the memory it needs does not grow with the province.
"""
from __future__ import annotations

import csv
import json
import math
import shlex
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from riskgraph.graph.backup import (
    Summary,
    check_equal,
    checked_trailer,
    opened_dump,
    records,
    summarise,
    writes_paused,
)
from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.ontology.errors import N_, RiskGraphError
from riskgraph.ontology.model import Ontology

FORMAT = "riskgraph-neo4j-import"
VERSION = 1
#: what the folder holds besides the CSV files: counts and checksum of the original, and the changes
MANIFEST = "manifest.json"
#: (label, key, property) of each node property that is an empty list, for `finish`
EMPTY_LISTS = "empty-lists.csv"
#: between the elements of an array value (`--array-delimiter=U+001F`): a control character no text of ours holds
ARRAY_DELIMITER = "\x1f"
SCALARS = ("boolean", "long", "double", "string")


class Neo4jImportError(RiskGraphError, ValueError):
    """A value the importer's CSV cannot carry, or a folder that cannot be written; the message says which."""


@dataclass
class ImportFiles:
    """What was written: rows per file, and every value whose type the import will change."""

    folder: Path
    files: list[Path] = field(default_factory=list)
    #: "Label.property: long → double" (or "… → string") → values the import changes (a node's empty
    #: lists are not among them: `finish` sets them again)
    changed: Counter[str] = field(default_factory=Counter)
    #: counts per label and type and the content checksum of what was written (graph/backup.py's)
    summary: Summary = field(default_factory=Summary)
    #: bytes of the largest field written (quotes included): neo4j-admin's read buffer must hold it
    biggest: int = 0

    @property
    def nodes(self) -> Counter[str]:
        return self.summary.labels

    @property
    def relationships(self) -> Counter[str]:
        return self.summary.relationships

    @property
    def command(self) -> Path:
        return self.folder / "import.sh"


def _kind(value: Any) -> str:
    """The import type of one value: a scalar name, "<scalar>[]", or "empty[]"."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Neo4jImportError(N_("{value} has no form neo4j-admin reads"), value=value)
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        kinds = {_kind(v) for v in value}
        if not value:
            return "empty[]"
        if any(k.endswith("[]") for k in kinds):  # an empty list inside one too
            raise Neo4jImportError(N_("a list inside a list has no form neo4j-admin reads"))
        return _scalar(kinds) + "[]"
    raise Neo4jImportError(N_("a {kind} value has no form neo4j-admin reads"), kind=type(value).__name__)


def _scalar(kinds: set[str]) -> str:
    """One column type for scalar kinds: whole and fractional numbers are doubles; anything else mixed is text."""
    if len(kinds) == 1:
        return next(iter(kinds))
    return "double" if kinds <= {"long", "double"} else "string"


def column_type(kinds: set[str]) -> str:
    """The header type of a column that held values of these kinds."""
    arrays = {k[:-2] for k in kinds if k.endswith("[]") and k != "empty[]"}
    scalars = {k for k in kinds if not k.endswith("[]")}
    if arrays and not scalars:
        return _scalar(arrays) + "[]"
    if scalars and not arrays and "empty[]" not in kinds:
        return _scalar(scalars)
    if not scalars and not arrays:  # only empty lists: text arrays, all absent
        return "string[]"
    return "string"


def _text(value: Any, scalar: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if scalar == "double" and isinstance(value, (int, float)):
        return repr(float(value))
    if isinstance(value, str) and ARRAY_DELIMITER in value:
        raise Neo4jImportError(N_("a text holds the array delimiter U+001F: {value!r}"), value=value[:80])
    return str(value)


def _cell(value: Any, kind: str) -> str | None:
    """The CSV field for a value in a column of `kind` (None: an empty, unquoted field — absent)."""
    if value is None:
        return None
    if kind.endswith("[]"):
        if not isinstance(value, list) or not value:
            return None if isinstance(value, list) else _text(value, "string")
        return ARRAY_DELIMITER.join(_text(v, kind[:-2]) for v in value)
    if isinstance(value, list):
        return ARRAY_DELIMITER.join(_text(v, "string") for v in value)
    return _text(value, kind)


def _change(value: Any, kind: str) -> str | None:
    """How the import changes this value in a column of `kind`, or None when it comes back as it is."""
    own = _kind(value)
    if own == kind:
        return None
    if own == "empty[]":
        return "empty list → absent"
    if own == "long[]" and kind == "double[]":
        return "whole numbers → double"
    if own == "long" and kind == "double":
        return "whole number → double"
    return f"{own} → {kind}"


class _Spool:
    """The rows of one CSV file, as JSON lines, with the kinds each column held."""

    def __init__(self, path: Path, fixed: list[str]) -> None:
        self.path = path
        self.fixed = fixed
        self.kinds: dict[str, set[str]] = defaultdict(set)
        self.rows = 0
        #: bytes of the largest field written to the CSV (quotes and doubled quotes included)
        self.biggest = 0
        self._fh: IO[str] = path.open("w", encoding="utf-8")

    def add(self, head: list[Any], props: dict[str, Any]) -> None:
        for name, value in props.items():
            if value is not None:
                self.kinds[name].add(_kind(value))
        self._fh.write(json.dumps([head, props], ensure_ascii=False) + "\n")
        self.rows += 1

    def close(self) -> None:
        self._fh.close()

    def write_csv(self, csv_path: Path, where: str, changed: Counter[str], empties: Any = None) -> None:
        """The CSV and its header; a node's empty lists go to `empties` (label, key, property) for
        `finish` to set again, anything else the import changes is counted in `changed`."""
        self.close()
        columns = sorted(self.kinds)
        types = {name: column_type(self.kinds[name]) for name in columns}
        with (csv_path.with_name(csv_path.stem + ".header.csv")).open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerow([*self.fixed, *(f"{c}:{types[c]}" for c in columns)])
        with self.path.open(encoding="utf-8") as rows, csv_path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, quoting=csv.QUOTE_NOTNULL, lineterminator="\n")
            for line in rows:
                head, props = json.loads(line)
                cells = []
                for name in columns:
                    value = props.get(name)
                    cells.append(_cell(value, types[name]))
                    if value == [] and empties is not None:
                        empties.writerow([where, head[0], name])
                    elif value is not None and (how := _change(value, types[name])):
                        changed[f"{where}.{name}: {how}"] += 1
                writer.writerow([*head, *cells])
                longest = max((len(c) for c in cells if c), default=0)
                if longest * 4 > self.biggest:  # at most four bytes a character: measure only candidates
                    self.biggest = max(self.biggest, *(len(c.encode()) + c.count('"') + 2 for c in cells if c))
        self.path.unlink()


def write_import_files(items: Iterable[dict[str, Any]], folder: Path, ontology: Ontology) -> ImportFiles:
    """Write neo4j-admin's CSV files, `import.sh` and `manifest.json` for these backup records into
    `folder` (new or empty)."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise Neo4jImportError(N_("{folder} is not empty: neo4j-import writes into a new or empty folder"), folder=folder)
    spool_dir = folder / ".spool"
    for sub in ("nodes", "relationships"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    spool_dir.mkdir()
    out = ImportFiles(folder)
    node_spools: dict[str, _Spool] = {}
    rel_spools: dict[tuple[str, str, str], _Spool] = {}

    def spool(item: dict[str, Any], _line: str) -> None:
        if "node" in item:
            label = item["node"]
            key = ontology.key_of(label)
            props = dict(item["p"])
            key_value = props.pop(key, None)
            if key_value in (None, ""):
                raise Neo4jImportError(N_("a {label} node without its key {key}"), label=label, key=key)
            if not isinstance(key_value, str):
                out.changed[f"{label}.{key}: {_kind(key_value)} → string (the ID column)"] += 1
            if label not in node_spools:
                node_spools[label] = _Spool(spool_dir / f"node.{label}.jsonl", [f"{key}:ID({label})", ":LABEL"])
            node_spools[label].add([str(key_value), ARRAY_DELIMITER.join(item["labels"] or [label])], props)
        else:
            rel_key = (item["rel"], item["from"][0], item["to"][0])
            if rel_key not in rel_spools:
                rel_spools[rel_key] = _Spool(spool_dir / "rel.{}.{}.{}.jsonl".format(*rel_key),
                                             [f":START_ID({rel_key[1]})", f":END_ID({rel_key[2]})", ":TYPE"])
            rel_spools[rel_key].add([str(item["from"][1]), str(item["to"][1]), item["rel"]], dict(item["p"] or {}))

    try:
        summary = summarise(iter(items), spool)
        with (folder / EMPTY_LISTS).open("w", encoding="utf-8", newline="") as fh:
            empties = csv.writer(fh, lineterminator="\n")
            for label, node_spool in sorted(node_spools.items()):
                path = folder / "nodes" / f"{label}.csv"
                node_spool.write_csv(path, label, out.changed, empties)
                out.files.append(path)
                out.biggest = max(out.biggest, node_spool.biggest)
        for (rel, src, dst), rel_spool in sorted(rel_spools.items()):
            path = folder / "relationships" / f"{rel}.{src}.{dst}.csv"
            rel_spool.write_csv(path, f"{rel}({src}→{dst})", out.changed)
            out.files.append(path)
            out.biggest = max(out.biggest, rel_spool.biggest)
    finally:
        for open_spool in [*node_spools.values(), *rel_spools.values()]:
            open_spool.close()
        shutil.rmtree(spool_dir, ignore_errors=True)
    out.summary = summary
    (folder / MANIFEST).write_text(json.dumps({
        "format": FORMAT, "version": VERSION, "ontology": ontology.version, **summary.as_dict(),
        "changed": dict(sorted(out.changed.items())),
    }, ensure_ascii=False, indent=1), encoding="utf-8")
    _write_command(folder, out.files, out.biggest)
    return out


#: neo4j-admin's read buffer unless told otherwise (`--read-buffer-size`): it must hold the largest field
DEFAULT_READ_BUFFER = 4 * 2**20


def read_buffer_option(biggest: int) -> list[str]:
    """`--read-buffer-size` when a field outgrows the default buffer (a LoadedFile's line keys: ≈ 11
    bytes a row, so a file of 400,000 rows): twice the field, in whole MiB."""
    if biggest * 2 <= DEFAULT_READ_BUFFER:
        return []
    return [f"--read-buffer-size={-(-biggest * 2 // 2**20)}m"]


def finish(store: GraphStore, folder: Path, *, batch: int = 2_000) -> Summary:
    """After `import.sh`: the ontology's constraints and indexes, the nodes' empty lists set again
    (neo4j-admin cannot store one: neo4j/neo4j#13566), and the graph checked against the manifest —
    counts per label and type and the content checksum, as `restore` checks a backup."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Neo4jImportError(N_("{folder} holds no readable {manifest}: {exc}"), folder=folder, manifest=MANIFEST,
                               exc=exc) from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise Neo4jImportError(N_("{folder} was not written by riskgraph neo4j-import"), folder=folder)
    store.bootstrap_schema()
    onto = store.ontology
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    with (folder / EMPTY_LISTS).open(encoding="utf-8", newline="") as fh:
        for label, key, prop in csv.reader(fh):
            groups[(label, prop)].append(key)
    for (label, prop), keys in sorted(groups.items()):
        cypher = (f"UNWIND $keys AS k MATCH (n:{ident(onto.check_label(label).name)} {{{ident(onto.key_of(label))}: k}}) "
                  f"SET n.{ident(prop)} = []")
        for start in range(0, len(keys), batch):
            store.execute(cypher, {"keys": keys[start:start + batch]})
    expected = Summary(Counter(manifest.get("labels", {})), Counter(manifest.get("relationships", {})),
                       manifest.get("checksum", ""))
    return check_equal(store, expected)


def _write_command(folder: Path, files: list[Path], biggest: int) -> None:
    def group(path: Path) -> str:
        rel = path.relative_to(folder)
        header = rel.with_name(rel.stem + ".header.csv")
        return shlex.quote(f"--{rel.parts[0]}={header},{rel}")

    lines = [
        "#!/bin/sh",
        "# Seeds a new Neo4j database with the graph in this folder (written by `riskgraph neo4j-import`).",
        "# On the Neo4j server, the database not yet created:",
        "#   NEO4J_HOME=/path/to/neo4j sh import.sh [DATABASE [more neo4j-admin options]]",
        "# Then `CREATE DATABASE <name>` (or start the default one) and `riskgraph --graph neo4j://… neo4j-import",
        "# --finish <this folder>`: the ontology's constraints and indexes, empty lists, a check against manifest.json.",
        "set -eu",
        'cd "$(dirname "$0")"',
        'database="${1:-neo4j}"',
        '[ "$#" -gt 0 ] && shift',
        'exec "${NEO4J_HOME:?set NEO4J_HOME to the Neo4j installation}/bin/neo4j-admin" database import full "$database" \\',
        "  --array-delimiter=U+001F --multiline-fields=true --id-type=string \\",
        *(f"  {option} \\" for option in read_buffer_option(biggest)),
        *(f"  {group(p)} \\" for p in files),
        '  --report-file=import.report "$@"',
    ]
    path = folder / "import.sh"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o755)


def from_store(store: GraphStore, folder: Path) -> ImportFiles:
    """The import files of everything `store` holds (on the embedded store, writes wait meanwhile)."""
    with writes_paused(store):
        return write_import_files(records(store), folder, store.ontology)


def from_dump(path: Path, folder: Path, ontology: Ontology) -> ImportFiles:
    """The import files of a `riskgraph backup` file, without a store; a damaged file is refused
    as `restore` refuses it."""
    with opened_dump(path) as (items, trailer):
        files = write_import_files(items, folder, ontology)
    checked_trailer(path, files.summary, trailer)
    return files
