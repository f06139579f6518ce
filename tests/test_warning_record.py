"""Recording the rules' candidates on a real store: what a new draft's push plan names and the
measures it suggests, read for every candidate of a run at once; a repeated trigger updates the open
warning and logs it. The expected values are written out by hand from the rules file (rules.toml)."""
from __future__ import annotations

import datetime as dt
import json

from riskgraph.reasoning.warnings import Candidate, load_rules
from riskgraph.reasoning.warnings.evaluate import Evidence
from riskgraph.reasoning.warnings.facts import Owner
from riskgraph.workflows.warnings import record

CST = dt.timezone(dt.timedelta(hours=8))
AT = dt.datetime(2026, 12, 6, 9, 0, tzinfo=CST)
E1, E2 = "91130100MA0CEFGH1X", "91130200MA0ABCDE2Y"


def _province(store) -> None:
    store.upsert_nodes("Enterprise", [{"uscc": E1, "name": "石家庄化工有限公司"}, {"uscc": E2, "name": "唐山钢铁有限公司"}])
    # E1's people out of the rules' order of roles (主要负责人, 安全总监, 安全负责人, 安全管理人员) and one
    # role the rules do not name
    store.upsert_nodes("Person", [{"id": "P3", "name": "丙", "role": "安全管理人员"}, {"id": "P1", "name": "甲", "role": "主要负责人"},
                                  {"id": "P2", "name": "乙", "role": "安全总监"}, {"id": "P9", "name": "庚", "role": "门卫"}])
    store.upsert_relationships("HAS_PERSON", [{"from": E1, "to": p} for p in ("P3", "P1", "P2", "P9")])
    store.upsert_nodes("Region", [{"code": "130102", "name": "长安区"}, {"code": "130100", "name": "石家庄市"},
                                  {"code": "130000", "name": "河北省"}])
    store.upsert_nodes("ControlMeasureType", [{"id": f"M{i}", "name": f"措施{i}"} for i in range(1, 6)])
    # the hidden danger HD1 has two recommendations of its own; E2 has four, HD2 none
    recs = [("HD1", "HiddenDanger", 2, "M2"), ("HD1", "HiddenDanger", 1, "M1"),
            (E2, "Enterprise", 4, "M5"), (E2, "Enterprise", 1, "M3"), (E2, "Enterprise", 3, "M1"), (E2, "Enterprise", 2, "M4")]
    store.upsert_nodes("Recommendation", [{"id": f"R{i}", "subjectKey": key, "subjectLabel": label, "position": pos}
                                          for i, (key, label, pos, _) in enumerate(recs)])
    store.upsert_relationships("RECOMMENDS", [{"from": f"R{i}", "to": m} for i, (*_, m) in enumerate(recs)])


def _candidate(key: str, owner: Owner, region: str, level: str, evidence: tuple[str, ...]) -> Candidate:
    return Candidate(rule="major_hidden_danger", type="major_hidden_danger", level=level, title=f"重大隐患 {key}",
                     subject_label="HiddenDanger", subject_key=key, subject_name=key, owner=owner, region=region,
                     evidence=tuple(Evidence("HiddenDanger", e) for e in evidence), triggered_at=AT, description="重大隐患")


def _warnings(store) -> dict[str, dict]:
    rows = store.read("MATCH (w:Warning) RETURN properties(w) AS p")
    return {r["p"]["subjectName"]: r["p"] for r in rows}


def test_new_drafts_name_their_recipients_and_measures_read_for_the_whole_run(store):
    _province(store)
    rules = load_rules()
    first = [_candidate("HD1", Owner(E1, person="甲"), "130102", "RED", ("HD1",)),
             _candidate("HD2", Owner(E2, person="李四"), "130209", "YELLOW", ("HD2",))]
    report = record(store, first, rules, at=AT)
    assert len(report.created) == 2 and not report.updated
    w = _warnings(store)

    plan = json.loads(w["HD1"]["pushPlan"])["recipients"]
    assert [(r["id"], r["name"]) for r in plan] == [
        (f"enterprise:{E1}", "石家庄化工有限公司"),
        ("person:P1", "甲"), ("person:P2", "乙"), ("person:P3", "丙"),  # the rules' order of roles; 门卫 not named
        ("bureau:130102", "长安区应急管理局"), ("bureau:130100", "石家庄市应急管理局"), ("bureau:130000", "河北省应急管理厅")]
    # E2 has no Person: its answerable person is the one the facts name; a YELLOW warning reaches the
    # county only, whose Region node is missing here: named by its code
    plan = json.loads(w["HD2"]["pushPlan"])["recipients"]
    assert [(r["id"], r["name"]) for r in plan] == [
        (f"enterprise:{E2}", "唐山钢铁有限公司"), (f"person:{E2}:principal", "李四"), ("bureau:130209", "130209 县级应急管理局")]

    # the subject's own recommendations, best first; else its enterprise's top three (limit = 3)
    assert [(m["measure"], m["position"], m["for"]) for m in json.loads(w["HD1"]["suggestedMeasures"])] == [
        ("M1", 1, "HiddenDanger/HD1"), ("M2", 2, "HiddenDanger/HD1")]
    assert [(m["measure"], m["position"], m["for"]) for m in json.loads(w["HD2"]["suggestedMeasures"])] == [
        ("M3", 1, f"Enterprise/{E2}"), ("M4", 2, f"Enterprise/{E2}"), ("M1", 3, f"Enterprise/{E2}")]

    links = store.read("MATCH (w:Warning)-[:WARNS]->(h:HiddenDanger) RETURN count(w) AS n")
    assert links[0]["n"] == 0  # the dangers are not in this store: nothing to link, nothing invented
    regions = store.read("MATCH (w:Warning)-[:WARNS_REGION]->(r:Region) RETURN w.subjectName AS s, r.code AS c")
    assert [(r["s"], r["c"]) for r in regions] == [("HD1", "130102")]
    drafts = store.read("MATCH (w:Warning)-[:HAS_TRANSITION]->(t:WarningTransition) RETURN w.subjectName AS s, t.toState AS to")
    assert sorted((r["s"], r["to"]) for r in drafts) == [("HD1", "draft"), ("HD2", "draft")]


def test_a_repeated_trigger_updates_the_open_warning_and_logs_it(store):
    _province(store)
    rules = load_rules()
    owner = Owner(E1, person="甲")
    record(store, [_candidate("HD1", owner, "130102", "YELLOW", ("HD1",))], rules, at=AT)
    later = AT + dt.timedelta(hours=1)
    again = record(store, [_candidate("HD1", owner, "130102", "RED", ("HD1", "HD1b"))], rules, at=later)
    assert not again.created and len(again.updated) == 1
    [w] = _warnings(store).values()
    assert w["warningLevel"] == "RED" and w["triggerCount"] == 2 and w["warningState"] == "draft"
    assert [e["key"] for e in json.loads(w["warningEvidence"])["items"]] == ["HD1b", "HD1"]
    log = store.read("MATCH (:Warning {id: $id})-[:HAS_TRANSITION]->(t:WarningTransition) "
                     "RETURN t.transitionNote AS note ORDER BY note", {"id": w["id"]})
    assert [r["note"] for r in log] == ["major_hidden_danger (" + rules.stamp + "): 重大隐患",
                                        "repeated trigger: 1 new facts; level YELLOW → RED"]
    # the same facts once more: nothing to write
    third = record(store, [_candidate("HD1", owner, "130102", "RED", ("HD1", "HD1b"))], rules, at=later)
    assert third.unchanged == 1 and not third.updated and not third.created
