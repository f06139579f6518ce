"""What codes were issued, and which are revoked: `<data dir>/qr.sqlite3` (mode 600).

The registry is what makes revocation, "the current code of this entity" and re-issue after a data
change possible; verification itself needs only the keyring. A code is revoked when its token id
is listed, or when its entity was revoked at or after the moment the code was issued (codes issued
later are good again: that is how a lost or misused placard is replaced).
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from riskgraph.api.sqlite import connection, initialise

REGISTRY_FILE = "qr.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS codes (
    token_id TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    key TEXT NOT NULL,
    kid INTEGER NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    summary INTEGER NOT NULL DEFAULT 0,
    token TEXT NOT NULL,
    issued_by TEXT,
    note TEXT
);
CREATE INDEX IF NOT EXISTS codes_entity ON codes (label, key, issued_at);
CREATE TABLE IF NOT EXISTS revoked_tokens (
    token_id TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    by TEXT,
    reason TEXT
);
CREATE TABLE IF NOT EXISTS revoked_entities (
    label TEXT NOT NULL,
    key TEXT NOT NULL,
    before INTEGER NOT NULL,
    by TEXT,
    reason TEXT,
    PRIMARY KEY (label, key, before)
);
"""


@dataclass(frozen=True)
class CodeRecord:
    token_id: str
    label: str
    key: str
    kid: int
    issued_at: int
    expires_at: int
    fingerprint: str
    summary: bool
    token: str
    issued_by: str | None = None
    note: str | None = None


def _record(row) -> CodeRecord:
    return CodeRecord(token_id=row["token_id"], label=row["label"], key=row["key"], kid=int(row["kid"]),
                      issued_at=int(row["issued_at"]), expires_at=int(row["expires_at"]),
                      fingerprint=row["fingerprint"], summary=bool(row["summary"]), token=row["token"],
                      issued_by=row["issued_by"], note=row["note"])


class Registry:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        initialise(self.path, _SCHEMA)

    # ------------------------------------------------------------------ issued codes
    def add(self, record: CodeRecord) -> None:
        with connection(self.path) as conn:
            conn.execute(
                "INSERT OR IGNORE INTO codes (token_id, label, key, kid, issued_at, expires_at, fingerprint, summary, "
                "token, issued_by, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.token_id, record.label, record.key, record.kid, record.issued_at, record.expires_at,
                 record.fingerprint, int(record.summary), record.token, record.issued_by, record.note))

    def get(self, token_id: str) -> CodeRecord | None:
        with connection(self.path) as conn:
            row = conn.execute("SELECT * FROM codes WHERE token_id = ?", (token_id,)).fetchone()
        return _record(row) if row else None

    def latest_issue(self, label: str, key: str) -> int | None:
        """When the entity's newest code was issued (or its newest revocation covers), for monotone issue times."""
        with connection(self.path) as conn:
            a = conn.execute("SELECT max(issued_at) FROM codes WHERE label = ? AND key = ?", (label, key)).fetchone()[0]
            b = conn.execute("SELECT max(before) FROM revoked_entities WHERE label = ? AND key = ?", (label, key)).fetchone()[0]
        values = [int(v) for v in (a, b) if v is not None]
        return max(values) if values else None

    def for_entity(self, label: str, key: str) -> list[CodeRecord]:
        """The entity's codes, newest first."""
        with connection(self.path) as conn:
            rows = conn.execute("SELECT * FROM codes WHERE label = ? AND key = ? ORDER BY issued_at DESC, token_id",
                                (label, key)).fetchall()
        return [_record(r) for r in rows]

    def live(self, now: int | None = None) -> Iterator[CodeRecord]:
        """The newest unexpired, unrevoked code of every entity that has one."""
        now = int(time.time()) if now is None else now
        with connection(self.path) as conn:
            rows = conn.execute(
                "SELECT c.* FROM codes c WHERE c.expires_at > ? "
                "AND NOT EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.token_id = c.token_id) "
                "AND NOT EXISTS (SELECT 1 FROM revoked_entities e WHERE e.label = c.label AND e.key = c.key "
                "                AND e.before >= c.issued_at) "
                "ORDER BY c.label, c.key, c.issued_at DESC", (now,)).fetchall()
        seen: set[tuple[str, str]] = set()
        for row in rows:
            rec = _record(row)
            if (rec.label, rec.key) not in seen:
                seen.add((rec.label, rec.key))
                yield rec

    # ------------------------------------------------------------------ revocation
    def revoke_token(self, token_id: str, *, by: str | None = None, reason: str | None = None) -> bool:
        """Revoke one code; False if it was already revoked."""
        with connection(self.path) as conn:
            cur = conn.execute("INSERT OR IGNORE INTO revoked_tokens (token_id, at, by, reason) VALUES (?, ?, ?, ?)",
                               (token_id, int(time.time()), by, reason))
            return cur.rowcount == 1

    def revoke_entity(self, label: str, key: str, *, before: int | None = None, by: str | None = None,
                      reason: str | None = None) -> int:
        """Revoke every code of the entity issued at or before `before` (default: every code issued so far,
        some of which may carry an issue time a second or two ahead); returns that moment."""
        with connection(self.path) as conn:
            if before is None:
                newest = conn.execute("SELECT max(issued_at) FROM codes WHERE label = ? AND key = ?",
                                      (label, key)).fetchone()[0]
                moment = max(int(time.time()), int(newest or 0))
            else:
                moment = int(before)
            conn.execute("INSERT OR IGNORE INTO revoked_entities (label, key, before, by, reason) VALUES (?, ?, ?, ?, ?)",
                         (label, key, moment, by, reason))
        return moment

    def revocation(self, token_id: str, label: str, key: str, issued_at: int) -> str | None:
        """Why this code is revoked, or None when it is not."""
        with connection(self.path) as conn:
            row = conn.execute("SELECT reason FROM revoked_tokens WHERE token_id = ?", (token_id,)).fetchone()
            if row is not None:
                return row["reason"] or "the code was revoked"
            row = conn.execute("SELECT reason FROM revoked_entities WHERE label = ? AND key = ? AND before >= ? "
                               "ORDER BY before LIMIT 1", (label, key, issued_at)).fetchone()
            if row is not None:
                return row["reason"] or "every code of this entity issued before its revocation was revoked"
        return None

    def revocations(self) -> dict[str, list[dict]]:
        """The revocation list (for the CLI and admins)."""
        with connection(self.path) as conn:
            tokens = [dict(r) for r in conn.execute("SELECT * FROM revoked_tokens ORDER BY at").fetchall()]
            entities = [dict(r) for r in conn.execute("SELECT * FROM revoked_entities ORDER BY before").fetchall()]
        return {"tokens": tokens, "entities": entities}
