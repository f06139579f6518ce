"""Logging in, accounts, token revocation, the secret, the audit log, and the analyst's Cypher."""
from __future__ import annotations

import stat
import time

import httpx
import jwt
import pytest
from api_support import E1, E2, PASSWORD, assert_error

from riskgraph.api.users import UserError, create_user, user_store


def login(api, username: str, password: str = PASSWORD) -> httpx.Response:
    return api.post(None, "/auth/token", data={"username": username, "password": password})


def audit(api, **params) -> list[dict]:
    response = api.get("admin", "/admin/audit", params={"size": 200, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_login_and_me(api):
    response = login(api, "insp.sjz")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "insp.sjz" and claims["exp"] - claims["iat"] == 3600
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"
    me = api.get(None, "/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert me == {"username": "insp.sjz", "role": "inspector", "uscc": None, "regions": ["130100"], "level": "inspector"}
    assert api.get(None, "/auth/me").json()["role"] == "public"


def test_bad_logins(api):
    assert_error(login(api, "insp.sjz", "wrong password!"), 401, "invalid_credentials")
    assert_error(login(api, "nobody-here"), 401, "invalid_credentials")
    assert_error(api.post(None, "/auth/token", data={"username": "insp.sjz"}), 422, "validation_error")
    entries = audit(api, action="login", result="failed")
    assert any(e["username"] == "insp.sjz" for e in entries)
    assert any(e["username"] is None and e["details"] == {"username": "unknown"} for e in entries)


def test_revocation_takes_effect_at_once(api):
    create_user("temp.user", PASSWORD, "inspector", regions=["130209"], data_dir=api.data_dir)
    token = login(api, "temp.user").json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get(None, "/auth/me", headers=headers).json()["username"] == "temp.user"
    users = user_store(api.data_dir)
    users.set_password("temp.user", "another-long-password")
    assert_error(api.get(None, "/auth/me", headers=headers), 401, "unauthorized")
    assert_error(login(api, "temp.user"), 401)
    token = login(api, "temp.user", "another-long-password").json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get(None, "/auth/me", headers=headers).status_code == 200
    users.set_active("temp.user", False)
    assert_error(api.get(None, "/auth/me", headers=headers), 401)
    assert_error(login(api, "temp.user", "another-long-password"), 401, "invalid_credentials")
    users.set_active("temp.user", True)
    token = login(api, "temp.user", "another-long-password").json()["access_token"]
    users.set_scope("temp.user", "inspector", regions=["130100"])
    assert_error(api.get(None, "/auth/me", headers={"Authorization": f"Bearer {token}"}), 401)
    users.delete("temp.user")


def test_account_rules(tmp_path):
    with pytest.raises(UserError, match="uscc"):
        create_user("e-no-uscc", PASSWORD, "enterprise", data_dir=tmp_path / "rules")
    with pytest.raises(UserError, match="region"):
        create_user("i-no-region", PASSWORD, "inspector", data_dir=tmp_path / "rules")
    with pytest.raises(UserError, match="GB/T 2260"):
        create_user("i-bad-region", PASSWORD, "inspector", regions=["13x"], data_dir=tmp_path / "rules")
    with pytest.raises(UserError, match="at least"):
        create_user("short-pw", "short", "analyst", data_dir=tmp_path / "rules")
    with pytest.raises(UserError, match="role"):
        create_user("who", PASSWORD, "superuser", data_dir=tmp_path / "rules")
    with pytest.raises(UserError, match="anonymous"):
        create_user("anon", PASSWORD, "public", data_dir=tmp_path / "rules")
    with pytest.raises(UserError, match="only enterprise"):
        create_user("a-uscc", PASSWORD, "analyst", uscc=E1, data_dir=tmp_path / "rules")
    with pytest.raises(UserError, match="username"):
        create_user("bad name; drop", PASSWORD, "analyst", data_dir=tmp_path / "rules")
    d = tmp_path / "dup"
    user = create_user("dup", PASSWORD, "enterprise", uscc=E1.lower(), data_dir=d)
    assert user.uscc == E1 and "password_hash" not in user.public()
    with pytest.raises(UserError, match="exists"):
        create_user("dup", PASSWORD, "analyst", data_dir=d)
    stored = user_store(d).get("dup")
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash


def test_files_are_private(api):
    for name in ("jwt-secret", "users.sqlite3", "audit.sqlite3"):
        mode = stat.S_IMODE((api.data_dir / name).stat().st_mode)
        assert mode == 0o600, (name, oct(mode))
    assert len((api.data_dir / "jwt-secret").read_text().strip()) >= 32


def test_tokens_and_passwords_never_reach_the_logs(api):
    token = api.token("admin1")
    api.get("admin", f"/enterprises/{E1}")
    api.post(None, "/auth/token", data={"username": "admin1", "password": "a-wrong-password-typed"})
    api.get(None, "/auth/me", headers={"Authorization": f"Bearer {token}x"})
    lines = "\n".join(api.logs.lines)
    assert "GET /enterprises" in lines  # the access log is being captured
    for secret in (token, token.split(".")[2], PASSWORD, "a-wrong-password-typed",
                   (api.data_dir / "jwt-secret").read_text().strip()):
        assert secret not in lines
    for entry in audit(api):
        text = str(entry)
        assert token not in text and PASSWORD not in text and "a-wrong-password-typed" not in text


def test_restricted_reads_are_audited(api):
    before = {e["id"] for e in audit(api)}
    assert api.get("insp.sjz", f"/enterprises/{E1}").status_code == 200
    assert api.get(None, f"/enterprises/{E1}").status_code == 200             # public fields only: not audited
    assert api.get("insp.sjz", f"/enterprises/{E2}").status_code == 200       # outside its regions: public view
    assert api.get("insp.sjz", "/nodes/HazardSource/HS1/dossier").status_code == 200
    new = [e for e in audit(api) if e["id"] not in before]
    reads = [e for e in new if e["action"] == "get_enterprise"]
    assert len(reads) == 1
    entry = reads[0]
    assert entry["username"] == "insp.sjz" and entry["role"] == "inspector" and entry["result"] == "ok"
    assert entry["subject"] == f"Enterprise/{E1}" and entry["status"] == 200 and entry["client"] == "127.0.0.1"
    assert entry["details"]["nodes"][f"Enterprise/{E1}"] == "inspector"
    assert "Inventory/INV1" in entry["details"]["nodes"]
    dossier = [e for e in new if e["action"] == "dossier"]
    assert dossier and dossier[0]["subject"] == "HazardSource/HS1"
    # the admin finds every restricted read of one dossier
    by_subject = audit(api, subject=f"Enterprise/{E1}")
    assert any(e["id"] == entry["id"] for e in by_subject)
    assert all(e["subject"] == f"Enterprise/{E1}" or f"Enterprise/{E1}" in e["details"]["nodes"] for e in by_subject)
    assert audit(api, username="insp.sjz", action="get_enterprise")[0]["id"] == entry["id"]
    assert audit(api, since="2999-01-01T00:00:00") == []


def test_refusals_are_audited(api):
    assert api.get("ent.e1", "/admin/audit").status_code == 403
    denied = audit(api, result="denied", username="ent.e1")
    assert denied and denied[0]["action"] == "audit_log" and denied[0]["status"] == 403


def test_analyst_query(api):
    response = api.post("analyst", "/analyst/query", json={
        "cypher": "MATCH (e:Enterprise) WHERE e.regionCode STARTS WITH $r RETURN e.uscc AS uscc, e.employees AS n "
                  "ORDER BY uscc", "params": {"r": "1301"}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["columns"] == ["uscc", "n"] and body["rows"][0] == [E1, 420] and body["truncated"] is False
    limited = api.post("admin", "/analyst/query", json={"cypher": "UNWIND range(1, 50) AS x RETURN x", "limit": 10}).json()
    assert limited["rowCount"] == 10 and limited["truncated"] is True
    entries = audit(api, action="analyst_query", username="analyst1")
    assert entries[0]["result"] == "ok" and "STARTS WITH $r" in entries[0]["details"]["cypher"]
    assert entries[0]["details"]["params"] == ["r"]


def test_analyst_writes_are_refused(api):
    for cypher in ("CREATE (:Region {code: '990000'})", "MATCH (e:Enterprise) SET e.name = 'x'",
                   "MATCH (n) DETACH DELETE n", "MERGE (r:Region {code: '990000'}) RETURN r"):
        detail = assert_error(api.post("analyst", "/analyst/query", json={"cypher": cypher}), 400, "read_only")
        assert "read" in detail["message"]
    count = api.post("analyst", "/analyst/query", json={"cypher": "MATCH (e:Enterprise) RETURN count(e) AS c"}).json()
    assert count["rows"] == [[3]]
    names = api.post("analyst", "/analyst/query", json={"cypher": "MATCH (e:Enterprise) WHERE e.name = 'x' RETURN e"}).json()
    assert names["rows"] == []
    refused = audit(api, action="analyst_query", result="refused")
    assert len(refused) >= 4 and refused[0]["status"] == 400


def test_analyst_timeout(api):
    started = time.monotonic()
    response = api.post("analyst", "/analyst/query", json={
        "cypher": "UNWIND range(1, 100000) AS x UNWIND range(1, 100000) AS y RETURN count(*) AS c",
        "timeout_ms": 200})
    assert_error(response, 504, "query_timeout")
    assert time.monotonic() - started < 30  # uncut, the query runs for many minutes
    assert audit(api, action="analyst_query", result="timeout")
    assert api.get(None, "/ready").json()["status"] == "ready"  # the store still answers
