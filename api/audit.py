"""The audit log: who read which restricted node or dossier, when, with which role, and the result.

Written for every response that carried a non-public field, every analyst query, every refusal
(403) and every login attempt. Kept in `audit.sqlite3` in the data directory (mode 600); admins
read it at `GET /admin/audit`. It never holds a password or a token.
"""
from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskgraph.api.access import Caller
from riskgraph.api.sqlite import connection, initialise

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    username TEXT,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    method TEXT,
    path TEXT,
    subject TEXT,
    result TEXT NOT NULL,
    status INTEGER,
    client TEXT,
    details TEXT
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at_ms);
CREATE INDEX IF NOT EXISTS audit_user ON audit (username, at_ms);
CREATE INDEX IF NOT EXISTS audit_subject ON audit (subject, at_ms);
"""
#: restricted nodes listed per entry; the count is always kept
MAX_LISTED = 200


@dataclass(frozen=True)
class AuditQuery:
    username: str | None = None
    action: str | None = None
    subject: str | None = None
    result: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None


class AuditLog:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        initialise(self.path, _SCHEMA)

    def record(self, caller: Caller, action: str, result: str, *, subject: str | None = None,
               method: str | None = None, path: str | None = None, status: int | None = None,
               client: str | None = None, details: dict[str, Any] | None = None,
               username: str | None = None) -> None:
        now = time.time()
        with connection(self.path) as conn:
            conn.execute(
                "INSERT INTO audit (at, at_ms, username, role, action, method, path, subject, result, status, client, details) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    dt.datetime.fromtimestamp(now, dt.UTC).isoformat(timespec="milliseconds"),
                    int(now * 1000),
                    username if username is not None else caller.username,
                    caller.role.value,
                    action, method, path, subject, result, status, client,
                    json.dumps(details, ensure_ascii=False, default=str) if details else None,
                ),
            )

    def restricted_read(self, caller: Caller, action: str, restricted: dict[str, str], *, subject: str | None,
                        method: str, path: str, client: str | None, status: int = 200) -> None:
        """One entry for a response that carried non-public fields: which nodes, at which level."""
        listed = dict(list(sorted(restricted.items()))[:MAX_LISTED])
        self.record(caller, action, "ok", subject=subject or (next(iter(listed)) if len(listed) == 1 else None),
                    method=method, path=path, status=status, client=client,
                    details={"restricted": len(restricted), "nodes": listed})

    def query(self, q: AuditQuery, *, offset: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
        where: list[str] = []
        params: list[str | int] = []
        for column, value in (("username", q.username), ("action", q.action), ("result", q.result)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if q.subject is not None:
            where.append("(subject = ? OR details LIKE ? ESCAPE '\\')")
            escaped = q.subject.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params += [q.subject, f'%"{escaped}"%']
        if q.since_ms is not None:
            where.append("at_ms >= ?")
            params.append(q.since_ms)
        if q.until_ms is not None:
            where.append("at_ms < ?")
            params.append(q.until_ms)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        with connection(self.path) as conn:
            total = conn.execute(f"SELECT count(*) FROM audit{clause}", params).fetchone()[0]
            rows = conn.execute(f"SELECT * FROM audit{clause} ORDER BY id DESC LIMIT ? OFFSET ?",
                                [*params, limit, offset]).fetchall()
        return int(total), [_entry(r) for r in rows]


def _entry(row) -> dict[str, Any]:
    return {
        "id": row["id"], "at": row["at"], "username": row["username"], "role": row["role"],
        "action": row["action"], "method": row["method"], "path": row["path"], "subject": row["subject"],
        "result": row["result"], "status": row["status"], "client": row["client"],
        "details": json.loads(row["details"]) if row["details"] else None,
    }
