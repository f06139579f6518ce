"""Administration: the audit log and the accounts (admin role)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field

from riskgraph.api.access import Caller, Role
from riskgraph.api.audit import AuditQuery
from riskgraph.api.deps import require, services
from riskgraph.api.models import Out
from riskgraph.api.pagination import Page, PageParams, page_params

ADMIN = Depends(require(Role.ADMIN))
router = APIRouter(tags=["admin"], prefix="/admin")


class AuditEntry(Out):
    id: int
    at: str = Field(description="ISO 8601, UTC, milliseconds")
    username: str | None = Field(description="null for the anonymous public")
    role: str
    action: str = Field(description="route name (get_enterprise, subgraph, analyst_query, qr_scan, login …)")
    method: str | None
    path: str | None
    subject: str | None = Field(description="the node concerned, as Label/key")
    result: str = Field(description="ok, denied, refused, timeout, error, failed, or a code's refusal reason")
    status: int | None = Field(description="the HTTP status answered")
    client: str | None = Field(description="the client's address")
    details: dict[str, Any] | None = Field(
        description="what the action recorded; its keys depend on the action: a restricted read lists `nodes` "
                    "(Label/key → level) and their count `restricted`; an analyst query its `cypher`, parameter "
                    "names, `limit`, `rows`; a code action its `tokenId` and entity; a write its provenance `record`")


class UserOut(Out):
    username: str
    role: str
    uscc: str | None
    regions: list[str]
    active: bool
    createdAt: str
    updatedAt: str


class Users(Out):
    users: list[UserOut]


def _ms(value: dt.datetime | None) -> int | None:
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return int(aware.timestamp() * 1000)


@router.get("/audit", response_model=Page[AuditEntry], summary="the audit log, newest first")
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


@router.get("/users", response_model=Users, summary="the service's accounts (never their password hashes)")
def users(request: Request, caller: Caller = ADMIN) -> dict:
    return {"users": [u.public() for u in services(request).users.list()]}
