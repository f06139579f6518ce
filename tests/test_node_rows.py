"""Two rows of one node in one file: the later row's values stand, and when it goes or moves before
the earlier one, the earlier row's values come back — as a fresh store loaded from the final file
gives (the oracle), whether both rows came in a first load, in one later load, or with --force."""
from __future__ import annotations

from riskgraph.loaders.load import load_directory
from tests.load_support import fresh_store
from tests.test_load_killed import fresh_representative, registry, representative
from tests.test_loaders_hostile import LICENCE_HEADER, REGISTRY_HEADER, csv_text, licence_book, licence_row, registry_row, write_registry

BASE = [registry_row(n) for n in range(2, 6)]
A, B = registry_row(1), registry_row(1, 法定代表人="李四")


def test_the_later_row_removed_after_a_first_load(tmp_path, store):  # noqa: F811
    root = tmp_path / "export"
    registry(root, [A, *BASE, B])
    load_directory(store, root)
    assert representative(store, 1) == "李四"
    registry(root, [A, *BASE])
    load_directory(store, root)
    assert representative(store, 1) == fresh_representative(root, 1) == "王1"


def test_the_two_rows_swapped_after_a_first_load(tmp_path, store):  # noqa: F811
    root = tmp_path / "export"
    registry(root, [A, *BASE, B])
    load_directory(store, root)
    registry(root, [B, *BASE, A])
    load_directory(store, root)
    assert representative(store, 1) == fresh_representative(root, 1) == "王1"


def test_the_later_row_removed_and_the_file_read_whole(tmp_path, store):  # noqa: F811
    """With --force every line is read: the earlier row's record is of the same load as the later
    row's, which superseded it (it stood later in that load's file)."""
    root = tmp_path / "export"
    registry(root, [A, *BASE, B])
    load_directory(store, root)
    registry(root, [A, *BASE])
    load_directory(store, root, force=True)
    assert representative(store, 1) == "王1"


def test_both_rows_new_in_a_later_load_then_the_later_removed(tmp_path, store):  # noqa: F811
    root = tmp_path / "export"
    registry(root, BASE)
    load_directory(store, root)
    registry(root, [A, *BASE, B])  # one batch: the store knew of neither row when both were written
    load_directory(store, root)
    assert representative(store, 1) == "李四"
    registry(root, [A, *BASE])
    load_directory(store, root)
    assert representative(store, 1) == fresh_representative(root, 1) == "王1"


# ---------------------------------------------------------------- rows without a line key
# A workbook's rows have no lines, nor has a CSV row whose quoted cell spans several: they are read
# every time, and where one stands is only known once it has been read.

def _book(root, rows: list[list]) -> None:
    licence_book(root / "licensing" / "licences.xlsx", {"2024": [LICENCE_HEADER, *rows]})


def _licence(s, key: str) -> dict:
    return s.read("MATCH (l:Licence {id: 'LIC-001'}) RETURN properties(l) AS p")[0]["p"][key]


def _fresh_licence(root, key: str):
    """What loading the export as it now is into an empty store gives."""
    with fresh_store(root) as (s, _):
        return _licence(s, key)


def _licence_with(**cells: str) -> list:
    row = licence_row(1, 1)
    for column, value in cells.items():
        row[LICENCE_HEADER.index(column)] = value
    return row


EARLY, LATE = licence_row(1, 1), _licence_with(状态="注销", 发证机关="")  # the later row leaves 发证机关 to the earlier


def test_a_workbook_row_that_changes_before_a_later_row_of_its_node(tmp_path, store):  # noqa: F811
    root = tmp_path / "export"
    registry(root, [A, *BASE])  # the licences' holder is enterprise 1
    _book(root, [EARLY, licence_row(2, 2), LATE])
    load_directory(store, root)
    _book(root, [_licence_with(发证机关="石家庄市应急管理局"), licence_row(2, 2), LATE])
    load_directory(store, root)
    assert _licence(store, "status") == _fresh_licence(root, "status") == "注销"
    assert _licence(store, "authority") == _fresh_licence(root, "authority") == "石家庄市应急管理局"


def test_a_workbook_row_removed_after_the_earlier_row_of_its_node(tmp_path, store):  # noqa: F811
    root = tmp_path / "export"
    registry(root, [A, *BASE])  # the licences' holder is enterprise 1
    _book(root, [EARLY, licence_row(2, 2), LATE])
    load_directory(store, root)
    _book(root, [EARLY, licence_row(2, 2)])
    load_directory(store, root)
    assert _licence(store, "status") == _fresh_licence(root, "status") == "有效"


def test_a_row_that_changes_before_a_later_row_of_its_node_over_several_lines(tmp_path, store):  # noqa: F811
    root = tmp_path / "export"
    later = ",".join(f'"{c}"' if "\n" in c else c for c in registry_row(1, 法定代表人="李四", 所在园区="循环化工园区\n一期"))

    def write(first: list[str]) -> None:
        write_registry(root, csv_text(REGISTRY_HEADER, [first, *BASE]) + later + "\r\n")

    write(A)
    load_directory(store, root)
    assert representative(store, 1) == "李四"
    write(registry_row(1, 法定代表人="赵六"))
    load_directory(store, root)
    assert representative(store, 1) == fresh_representative(root, 1) == "李四"


def test_changed_workbook_rows_wait_for_the_file_s_end_but_are_normalised_once(tmp_path, store, monkeypatch):  # noqa: F811
    """Each changed row's own old record has no line and is gone from the file, so every changed row
    waits to be placed at the file's end; it is written there as it was prepared, not normalised anew."""
    from riskgraph.loaders import engine

    def book(status: str) -> None:
        rows = [_licence_with(许可证编号=f"LIC-{n:03d}", 状态=status) for n in range(1, 41)]
        licence_book(tmp_path / "export" / "licensing" / "licences.xlsx", {"2024": [LICENCE_HEADER, *rows]})

    registry(tmp_path / "export", [A, *BASE])
    book("有效")
    load_directory(store, tmp_path / "export")
    book("注销")
    filled = []
    fill = engine.FileLoader._fill

    def counting(self, p):
        if self.spec.label == "Licence":
            filled.append(p.row.number)
        return fill(self, p)
    monkeypatch.setattr(engine.FileLoader, "_fill", counting)
    stats = next(f for f in load_directory(store, tmp_path / "export").files if f.file.endswith("licences.xlsx"))
    assert (stats.loaded, len(filled)) == (40, 40)
    assert {r["s"] for r in store.read("MATCH (l:Licence) RETURN l.status AS s")} == {"注销"}
