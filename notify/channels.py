"""Configured delivery channels and recipients' addresses on them, in `<data dir>/channels.sqlite3` (mode 600).

`riskgraph channel-add webhook URL --secret S` writes here; the dispatcher reads the table on every
round, so a channel added to a running service is used from its next round, without a restart.
Secrets (a webhook's HMAC key, a WeChat app secret, a JPush master secret) are stored here only —
never in the graph, where read-only analyst Cypher could read them — and never printed or logged.

| kind | url | secret | options |
|---|---|---|---|
| webhook | where to POST | HMAC-SHA256 key (≥ 16 characters) | — |
| wechat | API base (https://api.weixin.qq.com) | the official account's AppSecret | app_id, template_id |
| mobile | API base (https://api.jpush.cn) | JPush master secret | app_key |

A channel may be limited to a region (GB/T 2260 prefix) and a lowest warning level. Bindings map a
recipient of a push plan to its address on a channel kind (a WeChat openid).
"""
from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from riskgraph.api.access import region_prefix
from riskgraph.api.sqlite import connection, initialise
from riskgraph.graph.connect import default_data_dir
from riskgraph.ontology.errors import N_, RiskGraphError, as_message

CHANNELS_FILE = "channels.sqlite3"
KINDS = ("webhook", "wechat", "mobile")
#: the channel every signed-in user has: inbox + Server-Sent Events (not configured here)
WEB = "web"
MIN_SECRET = 16
REQUIRED_OPTIONS = {"webhook": (), "wechat": ("app_id", "template_id"), "mobile": ("app_key",)}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS channels (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    region TEXT,
    min_level TEXT,
    options TEXT NOT NULL DEFAULT '{}',
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bindings (
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    address TEXT NOT NULL,
    PRIMARY KEY (kind, recipient)
);
"""


class ChannelError(RiskGraphError, ValueError):
    """A channel that cannot be configured as asked; the message says why."""


@dataclass(frozen=True)
class Channel:
    id: str
    kind: str
    name: str
    url: str
    secret: str = field(repr=False)
    region: str | None = None
    min_level: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    active: bool = True
    created_at: str = ""

    def public(self) -> dict[str, Any]:
        """What a CLI or an API may show: never the secret."""
        return {"id": self.id, "kind": self.kind, "name": self.name, "url": self.url, "region": self.region,
                "minLevel": self.min_level, "options": self.options, "active": self.active, "createdAt": self.created_at}

    def accepts(self, region: str | None, level_rank: int, rank_of) -> bool:
        """Does this channel want a warning of this region and level?"""
        if self.region and not (region or "").startswith(region_prefix(self.region)):
            return False
        return not (self.min_level and level_rank < rank_of(self.min_level))


def _check_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ChannelError(N_("{url!r} is not an http(s) URL"), url=url)
    if parsed.username or parsed.password:
        raise ChannelError(N_("put credentials in --secret, not in the URL"))
    return url


class ChannelRegistry:
    """The channels file; one connection per call, so it is safe from any thread or process."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        initialise(self.path, _SCHEMA)

    def add(self, kind: str, url: str, secret: str, *, name: str | None = None, region: str | None = None,
            min_level: str | None = None, options: dict[str, Any] | None = None) -> Channel:
        if kind not in KINDS:
            raise ChannelError(N_("unknown channel kind {kind!r}; one of {kinds} (web is built in)"), kind=kind,
                               kinds=", ".join(KINDS))
        _check_url(url)
        if not secret or len(secret) < MIN_SECRET:
            raise ChannelError(N_("a {kind} channel needs a secret of at least {length} characters"), kind=kind,
                               length=MIN_SECRET)
        options = {k: v for k, v in (options or {}).items() if v is not None}
        missing = [o for o in REQUIRED_OPTIONS[kind] if not options.get(o)]
        if missing:
            raise ChannelError(N_("a {kind} channel needs {options}"), kind=kind,
                               options=", ".join("--" + m.replace("_", "-") for m in missing))
        if region:
            try:
                region_prefix(region)
            except ValueError as exc:
                raise ChannelError(as_message(exc)) from None
        channel_id = f"{kind}-{secrets.token_hex(4)}"
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with connection(self.path) as conn:
            conn.execute("INSERT INTO channels (id, kind, name, url, secret, region, min_level, options, active, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                         (channel_id, kind, name or urlparse(url).hostname or kind, url, secret, region, min_level,
                          json.dumps(options, ensure_ascii=False), now))
        return self.get(channel_id)  # type: ignore[return-value]

    def get(self, channel_id: str) -> Channel | None:
        with connection(self.path) as conn:
            row = conn.execute("SELECT * FROM channels WHERE id = ?", (channel_id,)).fetchone()
        return _channel(row) if row else None

    def list(self, kind: str | None = None, *, active_only: bool = True) -> list[Channel]:
        sql, params = "SELECT * FROM channels WHERE 1 = 1", []
        if kind:
            sql += " AND kind = ?"
            params.append(kind)
        if active_only:
            sql += " AND active = 1"
        with connection(self.path) as conn:
            rows = conn.execute(sql + " ORDER BY created_at, id", params).fetchall()
        return [_channel(r) for r in rows]

    def deactivate(self, channel_id: str) -> None:
        """Stop using a channel (deliveries already made keep naming it; pending ones go to dead letters)."""
        with connection(self.path) as conn:
            if conn.execute("UPDATE channels SET active = 0 WHERE id = ?", (channel_id,)).rowcount == 0:
                raise ChannelError(N_("no channel {channel!r}"), channel=channel_id)

    def bind(self, kind: str, recipient: str, address: str) -> None:
        """A recipient's address on a channel kind (a person's WeChat openid, a push alias other than its id)."""
        if kind not in KINDS or not recipient or not address:
            raise ChannelError(N_("a binding needs a kind ({kinds}), a recipient and an address"), kinds=", ".join(KINDS))
        with connection(self.path) as conn:
            conn.execute("INSERT INTO bindings (kind, recipient, address) VALUES (?, ?, ?) "
                         "ON CONFLICT (kind, recipient) DO UPDATE SET address = excluded.address", (kind, recipient, address))

    def address(self, kind: str, recipient: str) -> str | None:
        with connection(self.path) as conn:
            row = conn.execute("SELECT address FROM bindings WHERE kind = ? AND recipient = ?", (kind, recipient)).fetchone()
        return row["address"] if row else None


def _channel(row) -> Channel:
    return Channel(id=row["id"], kind=row["kind"], name=row["name"], url=row["url"], secret=row["secret"],
                   region=row["region"], min_level=row["min_level"], options=json.loads(row["options"] or "{}"),
                   active=bool(row["active"]), created_at=row["created_at"])


def channel_registry(data_dir: Path | None = None) -> ChannelRegistry:
    """The channels file in `data_dir` (default: RISKGRAPH_DATA_DIR, else the user's data directory)."""
    return ChannelRegistry(Path(data_dir or default_data_dir()) / CHANNELS_FILE)
