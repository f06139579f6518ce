"""The one write path (riskgraph.workflows), directly on a real store: what it checks, what one write
leaves in the graph (node, relationships, SourceRecord, ChangeEvents), and that a refused write leaves
nothing at all."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from riskgraph.graph.values import LOCAL_TZ
from riskgraph.workflows.origin import API, Origin
from riskgraph.workflows.writes import Link, WriteConflict, WriteError, WriteNotFound, WriteService

E1 = "91130100MA0CEFGH1X"
ENTERPRISE_LINK = Link("HAS_HIDDEN_DANGER", ("Enterprise", E1), outgoing=False)


def origin(actor: str | None = "ent.e1", role: str = "enterprise", endpoint: str = "POST /q/{token}/hidden-dangers",
           **kwargs: Any) -> Origin:
    return Origin(actor=actor, role=role, channel=API, endpoint=endpoint, **kwargs)


def danger(key: str = "HD-W1", **extra: Any) -> dict[str, Any]:
    return {"id": key, "name": "配电室门未关闭", "grade": "GENERAL", "state": "REPORTED", "foundOn": "2031-01-02", **extra}


@pytest.fixture
def graph(store):
    store.upsert_nodes("Enterprise", [{"uscc": E1, "name": "石家庄冀中化工有限公司", "regionCode": "130102"}])
    store.upsert_nodes("RiskPoint", [{"id": "RP1", "name": "液氯储罐区", "regionCode": "130102"}])
    store.upsert_nodes("Chemical", [{"id": "CH1", "name": "氯", "casNumber": "7782-50-5"}])
    return store


def everything(store) -> tuple[int, int]:
    nodes = store.read("MATCH (n) RETURN count(n) AS c")[0]["c"]
    rels = store.read("MATCH ()-[r]->() RETURN count(r) AS c")[0]["c"]
    return int(nodes), int(rels)


def record_of(store, label: str, key: str) -> list[dict[str, Any]]:
    return [r["s"] for r in store.read(
        f"MATCH (n:{label} {{{store.ontology.key_of(label)}: $key}})-[:DERIVED_FROM]->(s:SourceRecord) "
        "RETURN properties(s) AS s ORDER BY s.loadedAtMs", {"key": key})]


def events_of(store, key: str) -> dict[str, tuple[Any, Any, str]]:
    rows = store.read("MATCH (c:ChangeEvent {entityKey: $key})-[:DERIVED_FROM]->(s:SourceRecord) "
                      "RETURN c.property AS p, c.oldValue AS old, c.newValue AS new, s.id AS record", {"key": key})
    return {r["p"]: (json.loads(r["old"]), json.loads(r["new"]), r["record"]) for r in rows}


def test_a_create_writes_node_links_record_and_change_log_together(graph):
    at = dt.datetime(2031, 1, 2, 9, 30, tzinfo=LOCAL_TZ)
    who = origin(request_id="req-1", at=at)
    written = WriteService(graph).create(
        "HiddenDanger", danger(grade="一般隐患", hazardFactors=["4"]), who,
        links=[ENTERPRISE_LINK, Link("AT_RISK_POINT", ("RiskPoint", "RP1"))], raw={"name": "配电室门未关闭", "grade": "一般隐患"})
    assert written.created and written.key == "HD-W1"
    assert written.properties["grade"] == "GENERAL"  # a concept's label is stored as its notation
    assert [(lk.type, lk.source, lk.target) for lk in written.links] == [
        ("HAS_HIDDEN_DANGER", ("Enterprise", E1), ("HiddenDanger", "HD-W1")),
        ("AT_RISK_POINT", ("HiddenDanger", "HD-W1"), ("RiskPoint", "RP1"))]
    assert graph.read("MATCH (:Enterprise {uscc: $e})-[:HAS_HIDDEN_DANGER]->(h:HiddenDanger {id: 'HD-W1'})"
                      "-[:AT_RISK_POINT]->(:RiskPoint {id: 'RP1'}) RETURN h.grade AS g, h.foundOnMs AS ms",
                      {"e": E1}) == [{"g": "GENERAL", "ms": int(dt.datetime(2031, 1, 2, tzinfo=LOCAL_TZ).timestamp() * 1000)}]
    [record] = record_of(graph, "HiddenDanger", "HD-W1")
    assert record["id"] == written.record == "api:req-1:HiddenDanger:HD-W1"
    assert (record["actor"], record["actorRole"], record["sourceSystem"]) == ("ent.e1", "enterprise", "api")
    assert record["endpoint"] == "POST /q/{token}/hidden-dangers"
    assert record["requestId"] == record["loadId"] == "req-1"
    assert record["loadedAt"] == "2031-01-02T09:30:00+08:00"
    assert json.loads(record["rawValues"]) == {"name": "配电室门未关闭", "grade": "一般隐患"}
    assert json.loads(record["facts"])["HiddenDanger:HD-W1"]["hazardFactors"] == ["4"]
    events = events_of(graph, "HD-W1")
    assert set(events) == {"name", "grade", "state", "foundOn", "hazardFactors"}  # every fact set; the key is the entity
    assert events["grade"] == (None, "GENERAL", written.record)
    assert {c.property for c in written.changes} == set(events)


def test_an_update_logs_only_what_changed_with_its_old_value(graph):
    service = WriteService(graph)
    first = origin(request_id="req-1")
    service.create("HiddenDanger", danger(), first, links=[ENTERPRISE_LINK])
    # a second later, not the same second: records are ordered by their time, which is kept to the second
    later = origin(actor="insp.sjz", role="inspector", endpoint="POST /hidden-dangers/{id}/state", request_id="req-2",
                   at=first.at + dt.timedelta(seconds=1))
    written = service.update("HiddenDanger", "HD-W1", {"state": "整改中", "name": "配电室门未关闭"}, later)
    assert not written.created
    assert [(c.property, c.old, c.new) for c in written.changes] == [("state", "REPORTED", "RECTIFYING")]
    assert graph.get_node("HiddenDanger", "HD-W1")["state"] == "RECTIFYING"
    records = record_of(graph, "HiddenDanger", "HD-W1")
    assert [r["actor"] for r in records] == ["ent.e1", "insp.sjz"]
    assert events_of(graph, "HD-W1")["state"] == ("REPORTED", "RECTIFYING", "api:req-2:HiddenDanger:HD-W1")


def test_shapes_see_the_relationships_a_node_already_has(graph):
    """An inventory must name its chemical (SHACL): refused without the link, and an update that does
    not repeat it passes because the stored relationship counts."""
    service = WriteService(graph)
    with pytest.raises(WriteError) as refused:
        service.create("Inventory", {"id": "INV-W1", "maxQuantityT": 3.5}, origin())
    assert refused.value.code == "shape_violation" and refused.value.field == "ofChemical"
    service.create("Inventory", {"id": "INV-W1", "maxQuantityT": 3.5}, origin(),
                   links=[Link("OF_CHEMICAL", ("Chemical", "CH1"))])
    service.update("Inventory", "INV-W1", {"maxQuantityT": 4.0}, origin())
    assert graph.get_node("Inventory", "INV-W1")["maxQuantityT"] == 4.0


REFUSED = [
    ("unknown_property", lambda s: s.create("HiddenDanger", danger(colour="RED"), origin(), links=[ENTERPRISE_LINK])),
    ("bad_value", lambda s: s.create("HiddenDanger", danger(foundOn="yesterday"), origin())),
    ("not_in_vocabulary", lambda s: s.create("HiddenDanger", danger(grade="SEVERE"), origin())),
    ("not_in_vocabulary", lambda s: s.create("HiddenDanger", danger(hazardFactors=["4", "nope"]), origin())),
    ("shape_violation", lambda s: s.create("HiddenDanger", {"id": "HD-W9", "name": "x", "grade": "MAJOR", "state": "REPORTED"},
                                           origin())),
    ("shape_violation", lambda s: s.create("PublicReport", {"id": "PR-W9", "text": "有人吸烟", "lon": 200.0}, origin())),
    ("shape_violation", lambda s: s.create("PublicReport", {"id": "PR-W9", "text": "有人吸烟", "regionCode": "13"}, origin())),
    ("unknown_relation", lambda s: s.create("HiddenDanger", danger(), origin(), links=[Link("OWNS", ("Enterprise", E1))])),
    ("relation_mismatch", lambda s: s.create("HiddenDanger", danger(), origin(), links=[Link("HAS_HIDDEN_DANGER", ("Enterprise", E1))])),
    ("reserved_relation", lambda s: s.create("HiddenDanger", danger(), origin(),
                                             links=[Link("DERIVED_FROM", ("SourceRecord", "x"))])),
    ("not_found", lambda s: s.create("HiddenDanger", danger(), origin(), links=[Link("AT_RISK_POINT", ("RiskPoint", "RP9"))])),
    ("not_found", lambda s: s.update("HiddenDanger", "HD-W9", {"state": "RECTIFIED"}, origin())),
    ("exists", lambda s: s.create("Enterprise", {"uscc": E1, "name": "另一个名字"}, origin())),
    ("bookkeeping", lambda s: s.create("ChangeEvent", {"id": "c1"}, origin())),
    ("unknown_label", lambda s: s.create("Factory", {"id": "f1"}, origin())),
    ("missing_key", lambda s: s.create("HiddenDanger", {"name": "门坏了"}, origin())),
    ("key_change", lambda s: s.update("Enterprise", E1, {"uscc": "91130100MA0XYZAB3C"}, origin())),
]


@pytest.mark.parametrize("code,attempt", REFUSED, ids=[f"{i}-{c}" for i, (c, _) in enumerate(REFUSED)])
def test_a_refused_write_says_why_and_writes_nothing(graph, code, attempt):
    before = everything(graph)
    with pytest.raises(WriteError) as refused:
        attempt(WriteService(graph))
    assert refused.value.code == code, refused.value
    assert refused.value.message
    assert everything(graph) == before


def test_typed_refusals(graph):
    service = WriteService(graph)
    with pytest.raises(WriteConflict):
        service.create("RiskPoint", {"id": "RP1", "name": "重名"}, origin())
    with pytest.raises(WriteNotFound):
        service.update("RiskPoint", "RP9", {"name": "无此风险点"}, origin())


class _Stale(WriteService):
    """Sees a risk point that is deleted before the statement runs (two requests racing)."""

    def _current(self, ref):
        found = super()._current(ref)
        return {"id": ref[1], "name": "已删除"} if found is None and ref[0] == "RiskPoint" else found


def test_a_target_gone_by_the_time_of_the_statement_leaves_nothing_written(graph):
    before = everything(graph)
    with pytest.raises(WriteNotFound):
        _Stale(graph).create("HiddenDanger", danger(), origin(),
                             links=[ENTERPRISE_LINK, Link("AT_RISK_POINT", ("RiskPoint", "RP-GONE"))])
    assert everything(graph) == before


def test_an_origin_names_its_time_zone_and_endpoint():
    with pytest.raises(ValueError):
        origin(at=dt.datetime(2031, 1, 2, 9, 30))
    with pytest.raises(ValueError):
        Origin(actor=None, role="public", channel=API, endpoint="")
    assert origin().request_id != origin().request_id


class _Raced(WriteService):
    """Reads the danger as it was before another request moved it on (the check passes, the statement must not)."""

    def _current(self, ref):
        found = super()._current(ref)
        return {**found, "state": "REPORTED"} if found is not None and ref[0] == "HiddenDanger" else found


def test_a_compare_and_set_update_refuses_a_node_that_moved_on(graph):
    service = WriteService(graph)
    service.create("HiddenDanger", danger(), origin(), links=[ENTERPRISE_LINK])
    service.update("HiddenDanger", "HD-W1", {"state": "RECTIFYING"}, origin(), expect={"state": "REPORTED"})
    before = everything(graph)
    with pytest.raises(WriteConflict) as checked:  # refused by the check before the statement
        service.update("HiddenDanger", "HD-W1", {"state": "RECTIFIED"}, origin(), expect={"state": "REPORTED"})
    assert checked.value.field == "state"
    with pytest.raises(WriteConflict):  # refused by the statement itself: the check saw a stale node
        _Raced(graph).update("HiddenDanger", "HD-W1", {"state": "RECTIFIED"}, origin(), expect={"state": "REPORTED"})
    assert everything(graph) == before and graph.get_node("HiddenDanger", "HD-W1")["state"] == "RECTIFYING"
    service.update("HiddenDanger", "HD-W1", {"deadline": "2031-02-01"}, origin(), expect={"state": "RECTIFYING", "deadline": None})
    assert graph.get_node("HiddenDanger", "HD-W1")["deadline"] == "2031-02-01"
