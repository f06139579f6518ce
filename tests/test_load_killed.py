"""A load killed after writing rows of a changed file, before its ledger entry: the next load must not
trust the last complete load's digest or line keys, since the graph now holds the killed load's
values. The oracle is a fresh store loaded from the same final file."""
from __future__ import annotations

from pathlib import Path

import pytest

from riskgraph.loaders import load as load_module
from riskgraph.loaders.load import load_directory
from tests.load_support import fresh_store
from tests.test_loaders_hostile import REGISTRY_HEADER, csv_text, registry_row, uscc, write_registry

SOURCE = "market_registry"


def representative(store, n: int) -> str:
    return store.read("MATCH (e:Enterprise {uscc: $u}) RETURN e.legalRepresentative AS r", {"u": uscc(n)})[0]["r"]


def registry(root: Path, rows: list[list[str]]) -> None:
    write_registry(root, csv_text(REGISTRY_HEADER, rows))


def fresh_representative(root: Path, n: int) -> str:
    """What loading the export as it now is into an empty store gives."""
    with fresh_store(root) as (s, _):
        return representative(s, n)


def killed_load(store, root: Path, monkeypatch) -> None:
    """A load that writes every row of the changed file and is killed before the file's ledger entry."""
    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed after the file's last row, before its ledger entry")
    with monkeypatch.context() as m:
        m.setattr(load_module, "record_file", killed)
        with pytest.raises(KeyboardInterrupt):
            load_directory(store, root)


@pytest.fixture
def export(tmp_path, store, monkeypatch):
    """Five enterprises loaded whole, then a load of row 1 changed (法定代表人 李四) killed."""
    root = tmp_path / "export"
    rows = [registry_row(n) for n in range(1, 6)]
    registry(root, rows)
    load_directory(store, root)
    registry(root, [registry_row(1, 法定代表人="李四"), *rows[1:]])
    killed_load(store, root, monkeypatch)
    assert representative(store, 1) == "李四"
    return root, rows


def test_a_row_put_back_after_a_killed_load_is_read_and_written_again(export, store):
    root, rows = export
    registry(root, [rows[0], *rows[1:3], registry_row(4, 从业人数="41"), rows[4]])  # row 1 back, row 4 changed
    load_directory(store, root)
    assert representative(store, 1) == fresh_representative(root, 1) == "王1"


def test_the_file_put_back_byte_for_byte_after_a_killed_load_is_not_skipped(export, store):
    root, rows = export
    registry(root, rows)  # what the last complete load read, digest and all
    stats = load_directory(store, root).by_source()[SOURCE]
    assert not stats.skipped
    assert representative(store, 1) == fresh_representative(root, 1) == "王1"


def point(store, n: int) -> tuple:
    row = store.read("MATCH (e:Enterprise {uscc: $u}) RETURN e.regionCode AS r, e.lon AS lon, e.lat AS lat, "
                     "e.locationMethod AS m", {"u": uscc(n)})[0]
    return row["r"], row["lon"], row["lat"], row["m"]


def test_an_enterprise_a_killed_load_moved_is_placed_by_the_load_that_finishes_it(tmp_path, store, monkeypatch):
    """The killed load wrote row 1's new address and died before placing the enterprises; the rerun
    finds the row recorded and skips it, but must still place the enterprise it moved."""
    root = tmp_path / "export"
    rows = [registry_row(n) for n in range(1, 6)]
    registry(root, rows)
    load_directory(store, root)
    registry(root, [registry_row(1, 注册地址="河北省石家庄市桥西区中山西路9号"), *rows[1:]])
    killed_load(store, root, monkeypatch)
    load_directory(store, root)
    with fresh_store(root) as (fresh, _):
        assert point(fresh, 1)[0] == "130104"
        assert point(store, 1) == point(fresh, 1)
