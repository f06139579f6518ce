"""Delivery with nothing lost: the outbox in the graph store, the channels, and watches (画像动态预警).

| module | job |
|---|---|
| `outbox.py` | `Delivery` nodes: enqueue (idempotency key = id), claim with a lease, complete with a receipt, |
|  | retry with backoff, dead-letter |
| `dispatcher.py` | the worker that drains the outbox through the adapters (a thread in the service) |
| `channels.py` | configured channels (webhook, WeChat, mobile push) and recipient bindings, in `channels.sqlite3` |
| `webhook.py` | HTTP POST signed with HMAC-SHA256 (`X-RiskGraph-Signature: sha256=<hex>`) |
| `wechat.py` | WeChat official-account template messages (stable access token, template send) |
| `mobile.py` | mobile push (JPush v3 REST: alias audience, Basic auth) |
| `web.py`, `events.py` | the web channel: the inbox (`Notification` nodes) and Server-Sent Events to signed-in users |
| `watches.py` | subscriptions to an enterprise, a risk point or a region; changes batched per subscriber |
| `settings.py` | retry, backoff, lease and time-out settings from the environment |
"""
