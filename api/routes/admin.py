"""Administration: the audit log and the accounts (admin role)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from riskgraph.api.access import Caller, Role
from riskgraph.api.audit import AuditQuery
from riskgraph.api.deps import require, services
from riskgraph.api.pagination import Page, PageParams, page_params

ADMIN = Depends(require(Role.ADMIN))
router = APIRouter(tags=["admin"], prefix="/admin")


def _ms(value: dt.datetime | None) -> int | None:
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return int(aware.timestamp() * 1000)


@router.get("/audit", response_model=Page[dict[str, Any]], summary="the audit log, newest first")
def audit_log(
    request: Request,
    username: str | None = Query(None),
    action: str | None = Query(None, description="route name (get_enterprise, subgraph, analyst_query, login …)"),
    subject: str | None = Query(None, description="a node as Label/key, e.g. Enterprise/91130100MA0CEFGH1X"),
    result: str | None = Query(None, description="ok, denied, refused, timeout, error, failed"),
    since: dt.datetime | None = Query(None, description="ISO 8601; UTC when no offset"),
    until: dt.datetime | None = Query(None),
    paging: PageParams = Depends(page_params),
    caller: Caller = ADMIN,
) -> dict:
    q = AuditQuery(username=username, action=action, subject=subject, result=result,
                   since_ms=_ms(since), until_ms=_ms(until))
    total, items = services(request).audit.query(q, offset=paging.offset, limit=paging.size)
    return paging.wrap(items, total)


@router.get("/users", summary="the service's accounts (never their password hashes)")
def users(request: Request, caller: Caller = ADMIN) -> dict:
    return {"users": [u.public() for u in services(request).users.list()]}
