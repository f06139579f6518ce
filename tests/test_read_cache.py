"""The read cache (api/read_cache.py) through the real service, and the store's change token under it.

A repeated portrait is answered from the cache; a write from another connection (as a load, `assess`
or another worker makes) is seen by the very next read; answers are never shared between callers;
a cached read is audited like a computed one."""
from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from riskgraph import graph
from riskgraph.api.app import _freeze_what_lives_on, create_app
from riskgraph.api.users import user_store
from riskgraph.graph.store import GraphStore
from tests.api_support import E1, E3, PASSWORD, ROLE_USER, Api, LogCapture, assert_error, start_server

ATTEMPTS = 20  # background work (fresh scores, source checks) may write between two reads: try again


def cache_stats(api: Api) -> dict[str, int]:
    body = api.get(None, "/ready").json()
    return body["readCache"]


def twice_with_a_hit(api: Api, user: str | None, path: str, then: Api | None = None,
                     counter: str = "hits") -> tuple[dict[str, Any], dict[str, Any]]:
    """Two reads of `path` in a row (the second from `then`, another worker, if given), the second
    answered from a cache as `counter` counts it (the data unchanged between them), and no other read
    computed meanwhile."""
    then = then or api
    for _ in range(ATTEMPTS):
        first = api.get(user, path)
        before = cache_stats(then)
        second = then.get(user, path)
        after = cache_stats(then)
        assert first.status_code == second.status_code == 200, second.text
        if after[counter] == before[counter] + 1 and after["misses"] == before["misses"]:
            return first.json(), second.json()
    pytest.fail(f"{path}: no read was answered from the cache in {ATTEMPTS} attempts")


def test_a_worker_takes_what_it_built_at_start_up_out_of_the_collectors_walks(api: Api) -> None:
    """The ontology, tables and clients a worker starts with are frozen once (api/app.py): each
    full garbage collection walked them and paused every request the worker held (0.4–0.7 s at
    10,000 enterprises, most of the portraits' p99)."""
    assert api.get(None, "/health").status_code == 200
    assert _freeze_what_lives_on.cache_info().currsize == 1 and gc.get_freeze_count() > 10_000


@pytest.mark.parametrize("path", [f"/enterprises/{E1}", "/enterprises?q=化工", f"/nodes/Enterprise/{E1}/subgraph?depth=2",
                                  "/regions/130102/risk", "/risk-points/RP1"])
def test_a_repeated_read_is_answered_from_the_cache_unchanged(api: Api, path: str) -> None:
    first, second = twice_with_a_hit(api, None, path)
    assert second == first


def test_a_write_from_another_connection_is_seen_by_the_next_read(api: Api) -> None:
    path = f"/enterprises/{E3}"
    twice_with_a_hit(api, None, path)
    with graph.connect(api.store_url) as store:  # another client of the same store, as a loader is
        store.upsert_nodes("Enterprise", [{"uscc": E3, "name": "石家庄长安矿业（集团）有限公司"}])
    assert api.get(None, path).json()["properties"]["name"] == "石家庄长安矿业（集团）有限公司"


def test_a_kept_response_is_sent_as_first_sent_and_only_for_the_same_request(api: Api) -> None:
    """The second read is sent the first one's bytes and headers (its own request id aside); a
    request differing in its query or language is answered for itself."""
    path = f"/enterprises/{E1}?limit=7"
    for _ in range(ATTEMPTS):
        first, before = api.get(None, path), cache_stats(api)
        second, after = api.get(None, path), cache_stats(api)
        if after["hits"] == before["hits"] + 1 and after["misses"] == before["misses"]:
            break
    else:
        pytest.fail("the repeated read was not answered from the cache")
    assert second.content == first.content
    own = {"x-request-id", "date"}  # each response's own (the server dates every response)
    same = {k: v for k, v in first.headers.items() if k not in own}
    assert {k: v for k, v in second.headers.items() if k not in own} == same
    assert second.headers["x-request-id"] != first.headers["x-request-id"]
    before = cache_stats(api)
    assert api.get(None, path, headers={"Accept-Language": "en"}).json() == first.json()
    after = cache_stats(api)
    assert (after["hits"], after["misses"]) == (before["hits"], before["misses"] + 1)
    other = api.get(None, f"/enterprises/{E1}?limit=8")
    assert other.status_code == 200 and other.json() == first.json()  # the same data, asked anew


def test_only_the_response_of_one_cached_answer_is_kept(api: Api) -> None:
    """A portrait's response is kept; an export assembled from several answers (the search's pages) is
    not, nor is an error."""
    for attempt in range(ATTEMPTS):
        before = cache_stats(api)
        assert api.get(None, "/exports/enterprises.csv").status_code == 200
        assert api.get(None, "/enterprises/NOSUCHCODE?limit=3").status_code == 404
        assert api.get(None, f"/enterprises/{E1}?limit={10 + attempt}").status_code == 200  # a new request each time
        after = cache_stats(api)
        if after["responses"] >= before["responses"]:
            break  # the data unchanged meanwhile (a change would have emptied the cache)
    else:
        pytest.fail("the data kept changing")
    assert after["responses"] == before["responses"] + 1


def test_a_revoked_token_is_not_sent_a_kept_response(api: Api) -> None:
    users = user_store(api.data_dir)
    users.create("insp.revoked", PASSWORD, "inspector", regions=["130100"])
    path = f"/enterprises/{E1}"
    mine, _ = twice_with_a_hit(api, "insp.revoked", path)
    assert mine["level"] == "inspector"
    users.set_active("insp.revoked", False)
    assert_error(api.get("insp.revoked", path), 401)  # kept for this caller, but the caller is no more
    assert_error(api.get(None, path, headers={"Authorization": "Basic abc"}), 401)


def test_answers_are_kept_per_caller(api: Api) -> None:
    path = f"/enterprises/{E1}"
    public, _ = twice_with_a_hit(api, None, path)
    inspector, _ = twice_with_a_hit(api, ROLE_USER["inspector"], path)
    assert public["level"] == "public" and inspector["level"] == "inspector"
    hidden = set(inspector["properties"]) - set(public["properties"])
    assert hidden, "the inspector reads fields the public does not"
    assert not hidden & set(api.get(None, path).json()["properties"])  # the public is never served the inspector's answer


def test_a_cached_read_is_audited_like_a_computed_one(api: Api) -> None:
    def reads() -> list[dict[str, Any]]:
        items = api.get("admin1", "/admin/audit", params={"size": 200, "username": "insp.sjz",
                                                         "action": "get_enterprise"}).json()["items"]
        return [e for e in items if e["subject"] == f"Enterprise/{E1}"]

    before = len(reads())
    first, second = twice_with_a_hit(api, ROLE_USER["inspector"], f"/enterprises/{E1}")
    entries = reads()
    assert len(entries) >= before + 2  # both reads, the cached one too (a retry adds two more)
    assert entries[0]["details"]["nodes"] == entries[1]["details"]["nodes"]
    assert entries[0]["details"]["nodes"][f"Enterprise/{E1}"] == "inspector"


def layer_stats(api: Api) -> dict[str, int]:
    return api.get(None, "/ready").json()["layerCache"]


def test_the_pages_of_a_layer_after_the_first_are_cut_from_the_layer_read_for_it(api: Api) -> None:
    """A map pages through a layer; it is read whole once (a 50,000-enterprise layer took ten whole
    reads), each caller's own, and read again once the data changed."""
    path = "/layers/enterprises"
    for _ in range(ATTEMPTS):
        before = layer_stats(api)
        first = api.get(None, path, params={"limit": 1}).json()
        rest = api.get(None, path, params={"limit": 1, "offset": 1}).json()
        after = layer_stats(api)
        if (after["hits"], after["misses"]) == (before["hits"] + 1, before["misses"] + 1):
            break
    else:
        pytest.fail("the second page was not cut from the layer read for the first")
    whole = api.get(None, path, params={"limit": 1000}).json()
    assert [f["id"] for f in first["features"] + rest["features"]] == [f["id"] for f in whole["features"][:2]]
    assert first["numberMatched"] == rest["numberMatched"] == whole["numberMatched"] > 2
    # another caller's layer is read for it (an inspector sees fields the public does not)
    before = layer_stats(api)
    mine = api.get(ROLE_USER["inspector"], path, params={"limit": 1000}).json()
    assert layer_stats(api)["misses"] == before["misses"] + 1
    [public_e1] = [f for f in whole["features"] if f["properties"]["key"] == E1]
    [inspector_e1] = [f for f in mine["features"] if f["properties"]["key"] == E1]
    assert set(public_e1["properties"]) < set(inspector_e1["properties"])
    # a write between two pages: the next page is of the new data
    with graph.connect(api.store_url) as store:
        store.upsert_nodes("Enterprise", [{"uscc": E1, "name": "石家庄鑫盛化工有限公司（更名）"}])
        try:
            renamed = api.get(None, path, params={"limit": 1000}).json()
        finally:
            store.upsert_nodes("Enterprise", [{"uscc": E1, "name": public_e1["properties"]["name"]}])
    assert [f["properties"]["name"] for f in renamed["features"] if f["properties"]["key"] == E1] == ["石家庄鑫盛化工有限公司（更名）"]


@pytest.fixture(scope="module")
def second_worker(api: Api) -> Iterator[Api]:
    """Another service process's worth: its own app and cache, the same store and data folder (as
    `serve --workers 2` runs two)."""
    logs = LogCapture()
    server, thread, base_url = start_server(create_app(api.store_url, api.data_dir), logs)
    try:
        yield Api(base_url=base_url, data_dir=api.data_dir, store_url=api.store_url, logs=logs, tokens=api.tokens)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_a_worker_answers_from_what_another_worker_computed(api: Api, second_worker: Api) -> None:
    """The first worker computes an answer; the second, which never computed it, answers from the
    shared answers with the same body — and each caller only from its own."""
    first, second = twice_with_a_hit(api, None, f"/nodes/Enterprise/{E1}/subgraph?depth=2", second_worker, "sharedHits")
    assert second == first
    mine, theirs = twice_with_a_hit(api, ROLE_USER["inspector"], f"/enterprises/{E1}", second_worker, "sharedHits")
    assert theirs == mine and theirs["level"] == "inspector"
    public = second_worker.get(None, f"/enterprises/{E1}").json()  # kept apart from the inspector's
    assert public["level"] == "public" and set(public["properties"]) < set(mine["properties"])


def test_the_change_token_changes_with_the_data_only(store: GraphStore) -> None:
    first = store.change_token()
    if first is None:
        pytest.skip(f"{store.dialect.name} keeps no change token: every read is computed")
    store.read("MATCH (n) RETURN count(n) AS n")
    assert store.change_token() == first  # a read changes nothing
    store.upsert_nodes("Region", [{"code": "130102", "name": "长安区"}])
    second = store.change_token()
    assert second != first
    store.execute("MATCH (n:Region {code: $code}) RETURN n.code AS c", {"code": "none"})
    assert store.change_token() == second  # a statement that changed nothing keeps the version
    store.execute("MATCH (n:Region {code: $code}) DETACH DELETE n", {"code": "130102"})
    assert store.change_token() not in (first, second)  # a new token, never an old one again
