"""The source systems the service accepts data from: a SQLite file in the data directory.

    riskgraph source-add iot-cangzhou --kind iot          # prints the key once; only its hash is kept
    riskgraph source-add registry --kind export --pull-folder /srv/drop/registry --every 3600

A key is `rgs_` + 43 random URL-safe characters; what is stored is its SHA-256 (a key is random,
not a password: a fast hash cannot be brute-forced back). A key is scoped to its source: it may
post to `/ingest/{its name}` and nothing else, and only the message types its kind may send.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskgraph.api.sqlite import connection, initialise
from riskgraph.graph.connect import redact
from riskgraph.ontology.errors import N_, RiskGraphError

SOURCES_FILE = "sources.sqlite3"
KEY_PREFIX = "rgs_"
#: iot: sensor readings, alarms and sensor states pushed over HTTP or MQTT; export: a source-system
#: export in the loaders' layout, pulled from a drop folder or an HTTP export URL
SOURCE_KINDS = ("iot", "export")
#: what each kind may send through /ingest and MQTT
MESSAGE_TYPES = {"iot": ("reading", "alarm", "state"), "export": ()}
#: a source silent this long is stale, unless it says otherwise (iot: readings come every minute or so)
DEFAULT_STALE_S = {"iot": 600, "export": None}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,47}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    title TEXT,
    pull_folder TEXT,
    pull_url TEXT,
    pull_every_s INTEGER,
    stale_after_s INTEGER,
    created_at TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1
);
"""


class SourceError(RiskGraphError, ValueError):
    """A source registration that cannot be made; the message says why."""


@dataclass(frozen=True)
class Source:
    name: str
    kind: str
    title: str | None = None
    pull_folder: str | None = None
    pull_url: str | None = None
    pull_every_s: int | None = None
    stale_after_s: int | None = None
    created_at: str = ""

    @property
    def stale_limit_s(self) -> int | None:
        """How long the source may be silent before it counts as stale."""
        if self.stale_after_s:
            return self.stale_after_s
        if self.pull_every_s:
            return 3 * self.pull_every_s
        return DEFAULT_STALE_S.get(self.kind)

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "title": self.title, "pullFolder": self.pull_folder,
                "pullUrl": redact(self.pull_url) if self.pull_url else None, "pullEverySeconds": self.pull_every_s,
                "staleAfterSeconds": self.stale_limit_s, "createdAt": self.created_at}


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class SourceRegistry:
    """The registered sources of one data directory."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        initialise(self.path, _SCHEMA)

    @classmethod
    def in_dir(cls, data_dir: Path) -> SourceRegistry:
        return cls(Path(data_dir) / SOURCES_FILE)

    def add(self, name: str, kind: str, *, title: str | None = None, pull_folder: str | None = None,
            pull_url: str | None = None, pull_every_s: int | None = None, stale_after_s: int | None = None,
            rotate: bool = False) -> str:
        """Register a source (or give an existing one a new key with `rotate`); returns its key, once."""
        if not _NAME.match(name):
            raise SourceError(N_("a source name is 2–48 lower-case letters, digits, '-' or '_', not {name!r}"),
                              name=name)
        if kind not in SOURCE_KINDS:
            raise SourceError(N_("--kind must be one of {SOURCE_KINDS}, not {kind!r}"),
                              SOURCE_KINDS=', '.join(SOURCE_KINDS), kind=kind)
        if pull_url and not re.match(r"^https?://", pull_url):
            raise SourceError(N_("--pull-url must be an http:// or https:// URL"))
        for what, value in (("--every", pull_every_s), ("--stale-after", stale_after_s)):
            if value is not None and value < 1:
                raise SourceError(N_("{what_} must be at least 1 second"), what_=what)
        if (pull_folder or pull_url) and kind != "export":
            raise SourceError(N_("only --kind export sources are pulled (a folder or an export URL)"))
        if pull_folder and pull_url:
            raise SourceError(N_("a source is pulled from a folder or from a URL, not both"))
        if (pull_folder or pull_url) and pull_every_s is None:
            pull_every_s = 3600
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with connection(self.path) as conn:
            exists = conn.execute("SELECT 1 FROM sources WHERE name = ?", (name,)).fetchone()
            if exists and not rotate:
                raise SourceError(N_("source {name!r} exists; --rotate gives it a new key (the old one stops working)"),
                                  name=name)
            if exists:
                conn.execute("UPDATE sources SET key_hash = ? WHERE name = ?", (_digest(key), name))
            else:
                conn.execute("INSERT INTO sources (name, kind, key_hash, title, pull_folder, pull_url, pull_every_s, "
                             "stale_after_s, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             (name, kind, _digest(key), title, pull_folder, pull_url, pull_every_s, stale_after_s, now))
        return key

    def list(self) -> list[Source]:
        with connection(self.path) as conn:
            rows = conn.execute("SELECT * FROM sources WHERE active = 1 ORDER BY name").fetchall()
        return [self._source(r) for r in rows]

    def get(self, name: str) -> Source | None:
        with connection(self.path) as conn:
            row = conn.execute("SELECT * FROM sources WHERE name = ? AND active = 1", (name,)).fetchone()
        return self._source(row) if row else None

    def authenticate(self, name: str, key: str) -> Source | None:
        """The source when `key` is its key (constant-time comparison), else None."""
        with connection(self.path) as conn:
            row = conn.execute("SELECT * FROM sources WHERE name = ? AND active = 1", (name,)).fetchone()
        given = _digest(key)
        if row is None:
            hmac.compare_digest(given, given)  # same work for an unknown source
            return None
        return self._source(row) if hmac.compare_digest(given, row["key_hash"]) else None

    @staticmethod
    def _source(row: Any) -> Source:
        return Source(name=row["name"], kind=row["kind"], title=row["title"], pull_folder=row["pull_folder"],
                      pull_url=row["pull_url"], pull_every_s=row["pull_every_s"], stale_after_s=row["stale_after_s"],
                      created_at=row["created_at"])


def describe(source: Source) -> str:
    return json.dumps(source.public(), ensure_ascii=False)
