"""An open review item whose fact a later load can place for certain: the fact is linked and the item
leaves the queue, as a fresh load of the same files would have it — whether the fact's own row
changed or only the registry did. A person's exclusions still hold."""
from __future__ import annotations

import pytest
from er_support import PENALTIES, A, C, code, penalty_owner, write_export
from load_support import fresh_store
from review_support import LATER, F

from riskgraph.api.schema import Schema
from riskgraph.loaders.load import load_directory
from riskgraph.loaders.review import ReviewService
from riskgraph.workflows.freshness import locate, touched_by_load


def _open(store) -> set[str]:
    return {r["k"] for r in store.read("MATCH (r:ReviewItem) WHERE r.reviewStatus = 'open' RETURN r.reviewedKey AS k")}


def _item(store, key: str) -> dict:
    return ReviewService(store).get(f"Penalty:{key}")


def _owners(store) -> dict[str, list[str]]:
    return {n: penalty_owner(store, n) for n in PENALTIES}


@pytest.mark.parametrize("row_changed", [False, True], ids=["unchanged_row", "changed_row"])
def test_a_fact_in_review_is_linked_once_its_enterprise_is_registered(store, tmp_path, row_changed):
    load_directory(store, write_export(tmp_path / "first"))
    assert "P5" in _open(store) and penalty_owner(store, "P5") == []
    penalties = {**PENALTIES, "P5": (PENALTIES["P5"][0], PENALTIES["P5"][1], "12000")} if row_changed else PENALTIES
    later = write_export(tmp_path / "later", penalties, LATER)
    report = load_directory(store, later)
    with fresh_store(later) as (fresh, _):
        assert penalty_owner(fresh, "P5") == [F]
        assert _owners(store) == _owners(fresh)
        assert _open(store) == _open(fresh) == {"P2", "P3"}
    item = _item(store, "P5")
    assert item["reviewStatus"] == "settled" and item["decidedUscc"] == F
    assert [(h["action"], h["by"], h.get("uscc")) for h in item["history"]] == [("settle", "load", F)]
    assert report.by_source()["enforcement"].settled == 1
    touched, subjects, _ = locate(store, Schema(store.ontology), touched_by_load(store, report))
    assert F in subjects.enterprises                                          # re-assessed after the load
    assert [c.enterprises for c in touched if c.key == "P5"] == [(F,)]
    again = load_directory(store, later)                                  # nothing left to do
    assert again.by_source()["enforcement"].settled == 0 and sum(f.loaded for f in again.files) == 0
    assert _item(store, "P5")["history"] == item["history"]


def test_a_settled_fact_goes_back_to_review_when_its_row_is_in_doubt_again(store, tmp_path):
    load_directory(store, write_export(tmp_path / "first"))
    load_directory(store, write_export(tmp_path / "later", registry=LATER))
    assert penalty_owner(store, "P5") == [F]
    _, authority, fine = PENALTIES["P5"]
    last = write_export(tmp_path / "last", {**PENALTIES, "P5": ("沧县衡辛化工有限公司", authority, fine)}, LATER)  # F or C?
    load_directory(store, last)
    with fresh_store(last) as (fresh, _):
        assert _owners(store) == _owners(fresh) and penalty_owner(store, "P5") == []
        assert _open(store) == _open(fresh) == {"P2", "P3", "P5"}
    item = _item(store, "P5")
    assert item["reviewStatus"] == "open" and "decidedUscc" not in item and set(item["candidateUsccs"]) == {F, C}
    assert [h["action"] for h in item["history"]] == ["settle", "raise"]


def test_a_reviewers_exclusion_holds_when_the_fact_is_settled(store, tmp_path):
    """P7 (恒信, C) unlinked by a person stays in review when 衡信 registers: C is still excluded."""
    load_directory(store, write_export(tmp_path / "first"))
    ReviewService(store).unlink("Penalty", "P7", by="analyst1", note="another 恒信")
    load_directory(store, write_export(tmp_path / "later", registry=LATER))
    assert penalty_owner(store, "P7") == [] and C in _item(store, "P7")["excludedUsccs"]
    assert _item(store, "P7")["reviewStatus"] == "open"
    assert penalty_owner(store, "P1") == [A]


def test_settled_items_are_listed_by_their_status(store, tmp_path):
    load_directory(store, write_export(tmp_path / "first"))
    load_directory(store, write_export(tmp_path / "later", registry=LATER))
    total, items = ReviewService(store).list_items(status="settled")
    assert total == 1 and [i["reviewedKey"] for i in items] == ["P5"]
    assert C in {c["uscc"] for c in items[0]["candidates"]}  # the candidates the person would have seen


def test_reopening_a_settled_item_stops_the_load_linking_it_again(store, tmp_path):
    load_directory(store, write_export(tmp_path / "first"))
    load_directory(store, write_export(tmp_path / "later", registry=LATER))
    reopened = ReviewService(store).reopen("Penalty:P5", by="analyst1", note="衡信 is not this one")
    assert reopened["reviewStatus"] == "open" and reopened["excludedUsccs"] == [F] and penalty_owner(store, "P5") == []
    other = code("130921", "77777777")                                   # the registry moves on
    load_directory(store, write_export(tmp_path / "last", registry=[*LATER, (other, "沧县远达机械有限公司", "孙伟", "")]))
    assert penalty_owner(store, "P5") == [] and _item(store, "P5")["reviewStatus"] == "open"
    assert [h["action"] for h in _item(store, "P5")["history"]] == ["settle", "reopen"]


def test_settling_reads_the_records_of_the_facts_in_review_only(store, tmp_path):
    """The records of a file's facts in review are read from their nodes, never by reading every
    SourceRecord: FalkorDB's planner started that read at the records (it filters them by file), so a
    1 % change set of a 100,000-enterprise province stopped at the store's time limit."""
    from tests.api_support import statements_sent

    load_directory(store, write_export(tmp_path / "first"))
    with statements_sent() as sent:
        report = load_directory(store, write_export(tmp_path / "later", registry=LATER))
    assert report.by_source()["enforcement"].settled == 1
    stale = [(cypher, params) for cypher, params in sent if "s.yieldedTo AS yielded" in cypher and "$keys" in cypher]
    assert stale  # the records of the facts in review were read
    scans = {cypher: labels for cypher, params in stale if (labels := store.label_scans(cypher, params))}
    assert scans == {}, "\n".join(f"{labels}: {cypher}" for cypher, labels in scans.items())
