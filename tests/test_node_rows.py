"""Two rows of one node in one file: the later row's values stand, and when it goes or moves before
the earlier one, the earlier row's values come back — as a fresh store loaded from the final file
gives (the oracle), whether both rows came in a first load, in one later load, or with --force."""
from __future__ import annotations

from riskgraph.loaders.load import load_directory
from tests.test_load_killed import fresh_representative, registry, representative, store  # noqa: F401 (a fixture)
from tests.test_loaders_hostile import registry_row

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
