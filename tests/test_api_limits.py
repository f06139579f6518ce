"""Abuse limits held at the service's edge: login throttling, body sizes, rates, odd input, and the
analyst's share of the store. A real server over HTTP with tight limits (RISKGRAPH_LIMITS)."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from api_support import E1, PASSWORD, Api, assert_error, serve_app

from riskgraph import graph

LIMITS = {
    "rates": {"heavy": [3, 0.05], "report": [2, 0.01]},
    "login_free_failures_user": 3,
    "login_free_failures_address": 6,
    # a minute, not the default second: on a busy machine the next login (a password hash) can take over a
    # second to arrive, and the try that must be throttled was let through
    "login_first_backoff_s": 60,
    "body_bytes": {"analyst": 8 * 1024, "login": 2 * 1024, "report": 16 * 1024},
}


@pytest.fixture
def limited(tmp_path_factory, request, monkeypatch) -> Iterator[Api]:
    """A fresh service per test: the counters start from zero."""
    monkeypatch.setenv("RISKGRAPH_LIMITS", json.dumps(LIMITS))
    yield from serve_app(tmp_path_factory.mktemp("limited"), request, monkeypatch)


def login(api: Api, username: str, password: str) -> httpx.Response:
    return api.post(None, "/auth/token", data={"username": username, "password": password})


def audit(api: Api, **params) -> list[dict]:
    response = api.get("admin", "/admin/audit", params={"size": 200, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


# ---------------------------------------------------------------------- 13. password guessing
def test_guessing_a_password_is_slowed_then_refused_even_with_the_right_one(limited):
    admin_token = limited.token("admin1")  # logged in before the guessing starts
    for _ in range(3):
        assert_error(login(limited, "analyst1", "wrong-password-123"), 401, "invalid_credentials")
    throttled = login(limited, "analyst1", "wrong-password-123")
    assert_error(throttled, 429, "too_many_requests")
    assert int(throttled.headers["Retry-After"]) >= 1
    assert_error(login(limited, "analyst1", PASSWORD), 429)  # the right password waits its turn too
    # an unknown name is throttled the same way: the answers do not tell which names exist
    for _ in range(3):
        assert_error(login(limited, "no.such.user", "wrong-password-123"), 401)
    assert_error(login(limited, "no.such.user", "wrong-password-123"), 429)
    entries = audit(limited, action="login", result="throttled")
    assert len(entries) >= 3 and entries[0]["status"] == 429
    assert admin_token


def test_guessing_many_names_from_one_address_is_throttled(limited):
    for n in range(6):
        assert_error(login(limited, f"user{n}", "wrong-password-123"), 401)
    assert_error(login(limited, "user-new", "wrong-password-123"), 429)


# ---------------------------------------------------------------------- 14. body sizes and rates
def test_an_oversized_body_is_refused_before_it_is_parsed(limited):
    big = {"cypher": "RETURN 1", "params": {"x": "长" * 10_000}}
    assert_error(limited.post("analyst", "/analyst/query", json=big), 413, "payload_too_large")
    # anonymous report bodies too, before the report rate limit and before parsing
    response = limited.post(None, "/q/AAAAAAAA/reports", content=b"{" + b" " * 20 * 1024 * 1024 + b"}",
                            headers={"content-type": "application/json"})
    assert_error(response, 413, "payload_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the size is counted as it streams
        for _ in range(64):
            yield b"x" * 1024

    streamed = limited.post(None, "/auth/token", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert_error(streamed, 413, "payload_too_large")


def test_anonymous_reports_are_rate_limited_before_their_body_is_read(limited):
    answers = [limited.post(None, "/q/NOTATOKEN/reports", content=b'{"text": "x"}',
                            headers={"content-type": "application/json"}) for _ in range(3)]
    assert [a.status_code for a in answers[:2]] != [429, 429]
    assert_error(answers[2], 429, "too_many_requests")
    assert int(answers[2].headers["Retry-After"]) >= 1


def test_heavy_anonymous_reads_are_rate_limited_per_client(limited):
    path = "/nodes/Region/130102/dossier"
    answers = [limited.get(None, path).status_code for _ in range(4)]
    assert answers[:3] == [200, 200, 200] and answers[3] == 429
    refused = limited.get(None, path)
    assert refused.headers["Retry-After"].isdigit() and int(refused.headers["Retry-After"]) >= 1
    assert limited.get("analyst", path).status_code == 200  # an account has its own allowance


# ---------------------------------------------------------------------- 15. odd input at the edge
@pytest.mark.parametrize("path", ["/risk-points/a%00b", "/enterprises?q=a%00b", "/enterprises?=x",
                                  "/nodes/Region/13%0001/subgraph"])
def test_nul_bytes_and_nameless_parameters_are_refused_and_audited(api, path):
    response = api.get(None, path)
    assert_error(response, 400, "invalid_input")
    entries = audit(api, action="invalid_request")
    assert any(e["status"] == 400 and e["client"] == "127.0.0.1" for e in entries)


def test_bad_analyst_parameters_are_4xx_and_audited(api):
    with api.client("analyst") as c:
        nameless = c.post("/analyst/query", json={"cypher": "RETURN 1 AS x", "params": {"": 1}})
        surrogate = c.post("/analyst/query", content=b'{"cypher": "RETURN $x AS x", "params": {"x": "\\ud800"}}',
                           headers={"content-type": "application/json"})
    assert_error(nameless, 422, "validation_error")
    assert_error(surrogate, 400, "invalid_input")
    refused = audit(api, action="analyst_query", result="refused")
    assert any("not an identifier" in (e["details"] or {}).get("reason", "") for e in refused)
    assert any("lone surrogate" in (e["details"] or {}).get("problem", "") for e in audit(api, action="invalid_request"))


# ---------------------------------------------------------------------- 12. the analyst's share of the store
SLOW = "UNWIND range(1, 10000000000) AS x RETURN count(x)"


def _running(store) -> int:
    info = store._db.connection.execute_command("GRAPH.INFO")
    return len(info[info.index("# Running queries") + 1])


def test_one_analyst_query_per_account_and_the_services_reads_never_wait_for_them(api):
    with graph.connect(api.store_url) as watcher, ThreadPoolExecutor(3) as pool:
        slow = {"cypher": SLOW, "timeout_ms": 10000}  # long enough to tell a slow read (a busy machine) from a queued one
        first = pool.submit(api.post, "analyst", "/analyst/query", json=slow)
        deadline = time.monotonic() + 30
        while not _running(watcher):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        second = pool.submit(api.post, "admin", "/analyst/query", json=slow)  # another account: waits for the slot
        same = api.post("analyst", "/analyst/query", json={"cypher": "RETURN 1"})
        assert_error(same, 429, "too_many_requests")  # one at a time per account
        started = time.monotonic()
        portrait = api.get(None, f"/enterprises/{E1}")
        took = time.monotonic() - started
        assert portrait.status_code == 200
        assert not first.done() and not second.done(), "the analyst queries ended before the read was tried"
        assert took < 4.0, f"the portrait waited {took:.1f} s behind analyst queries"
        assert first.result().status_code == 504
        assert second.result().status_code == 504


def test_a_heavy_read_past_the_cap_waits_for_a_slot_then_is_refused() -> None:
    """`heavy_at_once` run; one more waits up to `heavy_queue_s` for a slot, and gets it when one frees."""
    import asyncio

    from riskgraph.api.limits import Edge, Limits

    async def scenario() -> tuple[bool, bool, bool]:
        edge = Edge(Limits(heavy_at_once=1, heavy_queue_s=0.05))
        first = await edge.heavy_slot()
        refused = await edge.heavy_slot()  # the cap is taken and nobody gives it back within 0.05 s
        edge.limits = Limits(heavy_at_once=1, heavy_queue_s=30)
        waiting = asyncio.ensure_future(edge.heavy_slot())
        while not edge.heavy._waiters:  # the waiter is queued on the semaphore
            await asyncio.sleep(0)
        edge.heavy.release()  # the first read ends
        return first, refused, await waiting

    assert asyncio.run(scenario()) == (True, False, True)
