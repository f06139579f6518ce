"""The outbox and its adapters against real HTTP servers on loopback ports that answer like the real
services (a webhook receiver, WeChat's official-account API, JPush): signatures, token refresh,
retries with backoff, dead letters, idempotent enqueueing, leases."""
from __future__ import annotations

import datetime as dt

import pytest
from notify_support import JPushLike, Receiver, WeChatLike, signature_ok, wait_for

from riskgraph.notify import outbox
from riskgraph.notify.channels import ChannelError, ChannelRegistry
from riskgraph.notify.dispatcher import Dispatcher
from riskgraph.notify.settings import DeliverySettings

# quick retries, but 30 s for a receiver to answer on a busy machine (a time-out would be one attempt more)
FAST = DeliverySettings(max_attempts=3, backoff_s=0.05, backoff_max_s=0.2, lease_s=60, timeout_s=30, poll_s=0.05)
SECRET = "webhook-secret-0123456789"


@pytest.fixture
def registry(tmp_path):
    return ChannelRegistry(tmp_path / "channels.sqlite3")


def _payload(title: str = "液氯储罐压力超红线") -> dict:
    return {"event": "warning.published", "title": title,
            "warning": {"id": "130102-ABC", "title": title, "level": "RED", "levelName": "红色", "description": "压力 2.1 MPa",
                        "subjectName": "液氯储罐区", "regionCode": "130102", "publishedAt": "2026-11-01T08:00:00+08:00"}}


def _drain(dispatcher: Dispatcher, store, ids: list[str], states: set[str], timeout: float = 30) -> dict[str, dict]:
    def settled():
        dispatcher.run_once()
        _, rows = outbox.deliveries(store, limit=1000)
        mine = {r["id"]: r for r in rows if r["id"] in ids}
        return mine if len(mine) == len(ids) and all(r["state"] in states for r in mine.values()) else None

    return wait_for(settled, timeout, f"deliveries {ids} to be {states}")


def test_a_channel_needs_a_real_url_and_a_secret(registry):
    with pytest.raises(ChannelError):
        registry.add("webhook", "ftp://example.org/x", SECRET)
    with pytest.raises(ChannelError):
        registry.add("webhook", "https://user:pw@example.org/x", SECRET)
    with pytest.raises(ChannelError):
        registry.add("webhook", "https://example.org/x", "short")
    with pytest.raises(ChannelError):
        registry.add("wechat", "https://api.weixin.qq.com", SECRET, options={"app_id": "wx1"})  # no template id
    channel = registry.add("webhook", "https://example.org/x", SECRET, region="130100", min_level="ORANGE")
    assert SECRET not in repr(channel) and "secret" not in channel.public()


def test_webhook_is_signed_retried_and_enqueued_once(store, registry):
    answers = iter([(503, {"busy": True}), (200, {"ok": True})])
    receiver = Receiver(respond=lambda r: next(answers)).start()
    try:
        channel = registry.add("webhook", f"{receiver.url}/in", SECRET)
        item = outbox.NewDelivery(outbox.idempotency_key("w1", "r1"), "webhook", "webhook:x", _payload(), channel_id=channel.id)
        assert outbox.enqueue(store, [item]) == 1
        assert outbox.enqueue(store, [item]) == 0  # a publish retried after a crash adds nothing
        dispatcher = Dispatcher(store, registry, settings=FAST)
        done = _drain(dispatcher, store, [item.id], {"delivered"})
        assert done[item.id]["attempts"] == 2 and done[item.id]["receipt"]["status"] == 200
        first, second = receiver.requests
        assert first.body == second.body and signature_ok(SECRET, second)
        assert second.headers["idempotency-key"] == item.id == second.headers["x-riskgraph-delivery"]
    finally:
        receiver.stop()


def test_a_permanent_refusal_goes_to_the_dead_letters_and_can_be_requeued(store, registry):
    state = {"status": 410}
    receiver = Receiver(respond=lambda r: (state["status"], {"gone": True})).start()
    try:
        channel = registry.add("webhook", f"{receiver.url}/gone", SECRET)
        item = outbox.NewDelivery(outbox.idempotency_key("w2", "r1"), "webhook", "webhook:y", _payload(), channel_id=channel.id)
        outbox.enqueue(store, [item])
        dispatcher = Dispatcher(store, registry, settings=FAST)
        dead = _drain(dispatcher, store, [item.id], {"dead"})
        assert dead[item.id]["attempts"] == 1 and "410" in dead[item.id]["error"]
        state["status"] = 200
        assert outbox.requeue(store, [item.id]) == 1
        _drain(dispatcher, store, [item.id], {"delivered"})
    finally:
        receiver.stop()


def test_an_unreachable_receiver_is_retried_until_the_attempts_are_spent(store, registry):
    receiver = Receiver().start()
    url = receiver.url
    receiver.stop()  # nothing listens there any more: connection refused
    channel = registry.add("webhook", f"{url}/nobody", SECRET)
    item = outbox.NewDelivery(outbox.idempotency_key("w3", "r1"), "webhook", "webhook:z", _payload(), channel_id=channel.id)
    outbox.enqueue(store, [item])
    dead = _drain(Dispatcher(store, registry, settings=FAST), store, [item.id], {"dead"})
    assert dead[item.id]["attempts"] == FAST.max_attempts and "unreachable" in dead[item.id]["error"]


def test_wechat_template_messages_refresh_an_expired_token(store, registry):
    server = WeChatLike("wx0123456789", "wechat-app-secret-0123", expire_first_token=True, busy_sends=1)
    server.receiver.start()
    try:
        channel = registry.add("wechat", server.receiver.url, "wechat-app-secret-0123",
                               options={"app_id": "wx0123456789", "template_id": "TPL-RISK-01"})
        ok = outbox.NewDelivery(outbox.idempotency_key("w4", "p1"), "wechat", "person:P1", _payload(), address="oOPENID123",
                                channel_id=channel.id)
        gone = outbox.NewDelivery(outbox.idempotency_key("w4", "p2"), "wechat", "person:P2", _payload(), address="unfollowed-1",
                                  channel_id=channel.id)
        outbox.enqueue(store, [ok, gone])
        dispatcher = Dispatcher(store, registry, settings=FAST)
        rows = _drain(dispatcher, store, [ok.id, gone.id], {"delivered", "dead"})
        assert rows[ok.id]["state"] == "delivered" and rows[ok.id]["receipt"]["msgid"] > 200228332
        assert rows[gone.id]["state"] == "dead" and "43004" in rows[gone.id]["error"]
        [message] = server.sent
        assert message["touser"] == "oOPENID123" and message["template_id"] == "TPL-RISK-01"
        assert message["data"]["first"]["value"] == "液氯储罐压力超红线" and message["data"]["keyword1"]["value"] == "红色"
        assert len(server.tokens) >= 2  # the expired first token was replaced
        # the AppSecret travels only in the token request's body, never in a URL
        assert all("wechat-app-secret" not in r.path for r in server.receiver.requests)
    finally:
        server.receiver.stop()


def test_mobile_push_goes_to_the_alias_with_basic_auth(store, registry):
    server = JPushLike("appkey-01", "master-secret-0123456")
    server.unavailable = 1
    server.receiver.start()
    try:
        channel = registry.add("mobile", server.receiver.url, "master-secret-0123456", options={"app_key": "appkey-01"})
        ok = outbox.NewDelivery(outbox.idempotency_key("w5", "u1"), "mobile", "user:ent.e1", _payload(), address="user:ent.e1",
                                channel_id=channel.id)
        nobody = outbox.NewDelivery(outbox.idempotency_key("w5", "u2"), "mobile", "user:x", _payload(), address="nobody",
                                    channel_id=channel.id)
        outbox.enqueue(store, [ok, nobody])
        rows = _drain(Dispatcher(store, registry, settings=FAST), store, [ok.id, nobody.id], {"delivered", "dead"})
        assert rows[ok.id]["state"] == "delivered" and rows[ok.id]["receipt"]["msg_id"]
        assert rows[nobody.id]["state"] == "dead" and "1011" in rows[nobody.id]["error"]
        [push] = server.pushed
        assert push["audience"] == {"alias": ["user:ent.e1"]} and push["notification"]["android"]["title"] == "液氯储罐压力超红线"
    finally:
        server.receiver.stop()


def test_a_lease_keeps_a_delivery_from_a_second_sender_until_it_runs_out(store, registry):
    item = outbox.NewDelivery(outbox.idempotency_key("w6", "r"), "web", "user:a", _payload(), address="a")
    outbox.enqueue(store, [item])
    now = outbox.now()
    assert [d.id for d in outbox.claim(store, "one", lease_s=60, limit=10, at=now)] == [item.id]
    assert outbox.claim(store, "two", lease_s=60, limit=10, at=now + dt.timedelta(seconds=30)) == []
    [again] = outbox.claim(store, "two", lease_s=60, limit=10, at=now + dt.timedelta(seconds=61))
    assert again.id == item.id
    # the first sender lost its lease: its late result is not recorded over the second's
    assert not outbox.complete(store, again, "one", {"late": True})
    assert outbox.complete(store, again, "two", {"ok": True})
