"""The demo's accounts: one per role, the enterprise account on 沧州's enterprise with most hidden dangers."""
from __future__ import annotations

import stat

from riskgraph.api.users import user_store
from riskgraph.cli.demo_users import DEMO_INSPECTOR_REGION, ensure_demo_users

CANGZHOU_BUSY = "91130900MA0CZBUSY1"
CANGZHOU_QUIET = "91130900MA0CZQUIE2"
ELSEWHERE = "91130100MA0SJZBUSY"  # more dangers, but in 石家庄


def _province(store):
    store.upsert_nodes("Enterprise", [
        {"uscc": CANGZHOU_BUSY, "name": "沧州甲化工有限公司", "regionCode": "130984"},
        {"uscc": CANGZHOU_QUIET, "name": "沧州乙化工有限公司", "regionCode": "130902"},
        {"uscc": ELSEWHERE, "name": "石家庄丙化工有限公司", "regionCode": "130102"},
    ])
    dangers = {CANGZHOU_BUSY: 2, CANGZHOU_QUIET: 1, ELSEWHERE: 3}
    rows = [{"id": f"hd-{uscc}-{n}", "name": "隐患"} for uscc, count in dangers.items() for n in range(count)]
    store.upsert_nodes("HiddenDanger", rows)
    store.upsert_relationships("HAS_HIDDEN_DANGER", [{"from": r["id"].split("-")[1], "to": r["id"]} for r in rows])


def test_demo_accounts_are_made_once_with_their_scopes(store, tmp_path):
    _province(store)
    path = ensure_demo_users(tmp_path, store)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    users = user_store(tmp_path)
    enterprise, inspector = users.get("enterprise"), users.get("inspector")
    assert enterprise is not None and enterprise.uscc == CANGZHOU_BUSY
    assert inspector is not None and inspector.regions == (DEMO_INSPECTOR_REGION,)
    assert {u.username for u in users.list()} == {"admin", "analyst", "inspector", "enterprise"}
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    passwords = {line.split("\t")[0]: line.split("\t")[1] for line in lines}
    assert users.authenticate("enterprise", passwords["enterprise"]) is not None
    # a second run keeps the accounts and the file as they are
    before = path.read_text(encoding="utf-8")
    assert ensure_demo_users(tmp_path, store) == path and path.read_text(encoding="utf-8") == before
