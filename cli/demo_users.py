"""Demo accounts, one per role, so the demo can be explored as each kind of user would."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from riskgraph.api.users import user_store
from riskgraph.graph.store import GraphStore

CREDENTIALS_FILE = "demo-accounts.txt"
#: the demo inspector supervises 沧州市, where the province's chemical parks cluster
DEMO_INSPECTOR_REGION = "130900"


def ensure_demo_users(data_dir: Path, store: GraphStore) -> Path:
    """Create admin, analyst, inspector and enterprise accounts once; their passwords go to a
    mode-600 file in the data directory (never to the console or a log). Returns that file."""
    path = Path(data_dir) / CREDENTIALS_FILE
    users = user_store(data_dir)
    if path.is_file() and all(users.get(name) for name in ("admin", "analyst", "inspector", "enterprise")):
        return path
    rows = store.read(
        "MATCH (e:Enterprise)-[:HAS_HIDDEN_DANGER]->(h:HiddenDanger) WHERE e.regionCode STARTS WITH $city "
        "WITH e, count(h) AS n RETURN e.uscc AS uscc ORDER BY n DESC, uscc LIMIT 1",
        {"city": DEMO_INSPECTOR_REGION[:4]},
    )
    uscc = rows[0]["uscc"] if rows else None
    accounts = {
        "admin": ("admin", None, ()),
        "analyst": ("analyst", None, ()),
        "inspector": ("inspector", None, (DEMO_INSPECTOR_REGION,)),
        "enterprise": ("enterprise", uscc, ()),
    }
    lines = []
    for name, (role, account_uscc, regions) in accounts.items():
        if role == "enterprise" and account_uscc is None:
            continue
        password = secrets.token_urlsafe(12)
        if users.get(name):
            users.set_password(name, password)
            users.set_scope(name, role, uscc=account_uscc, regions=regions)
        else:
            users.create(name, password, role, uscc=account_uscc, regions=regions)
        scope = f" uscc={account_uscc}" if account_uscc else f" regions={','.join(regions)}" if regions else ""
        lines.append(f"{name}\t{password}\t{role}{scope}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("username\tpassword\trole and scope\n" + "\n".join(lines) + "\n")
    return path
