"""Read-only Cypher for analysts: refused if it writes (400), stopped at its time limit (504), cut at the row limit."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from riskgraph.api.access import Caller, Role
from riskgraph.api.deps import client_of, require, services
from riskgraph.api.errors import ApiError, bad_request, invalid
from riskgraph.api.limits import too_many
from riskgraph.api.models import Out
from riskgraph.graph.store import ANALYST_ROW_LIMIT, ANALYST_TIMEOUT_MS, QueryTimeout, ReadOnlyViolation, StoreError
from riskgraph.ontology.errors import N_, as_message

ANALYSTS = Depends(require(Role.ANALYST, Role.ADMIN))
router = APIRouter(tags=["analyst"])

#: how much of a query the audit log keeps
AUDIT_CYPHER_CHARS = 4_000


class AnalystQuery(BaseModel):
    cypher: str = Field(..., min_length=1, max_length=20_000, description="read-only openCypher")
    params: dict[str, Any] = Field(default_factory=dict, description="query parameters ($name)")
    limit: int = Field(100, ge=1, le=ANALYST_ROW_LIMIT, description="row limit")
    timeout_ms: int = Field(ANALYST_TIMEOUT_MS, ge=100, le=ANALYST_TIMEOUT_MS, description="time limit")


class AnalystResult(Out):
    columns: list[str]
    rows: list[list[Any]] = Field(description="one list per row, values in the order of `columns`: whatever the "
                                              "query returns (numbers, text, lists, maps of node properties)")
    truncated: bool = Field(description="the query had more rows than `limit`")
    rowCount: int


@router.post("/analyst/query", response_model=AnalystResult,
             summary="run read-only Cypher (analyst and admin roles); every query is audited",
             responses={400: {"description": "the query writes, or is not valid Cypher"},
                        504: {"description": "the query ran past its time limit"}})
def analyst_query(body: AnalystQuery, request: Request,
                  caller: Caller = ANALYSTS) -> dict:
    svc = services(request)
    details: dict[str, Any] = {"cypher": body.cypher[:AUDIT_CYPHER_CHARS], "params": sorted(body.params),
                               "limit": body.limit}

    def audit(result: str, status: int, **extra: Any) -> None:
        svc.audit.record(caller, "analyst_query", result, method="POST", path=request.url.path, status=status,
                         client=client_of(request), details={**details, **extra})

    gate = request.app.state.limits.analysts  # one query at a time per account (api/limits.py)
    account = caller.username or "?"
    if not gate.enter(account):
        audit("busy", 429)
        raise too_many("this account already has an analyst query running", 1)
    try:
        result = svc.store.analyst_query(body.cypher, body.params, timeout_ms=body.timeout_ms, row_limit=body.limit)
    except ValueError as exc:  # a parameter the store must not be sent (no name, a lone surrogate)
        audit("refused", 422, reason=str(exc))
        raise invalid(as_message(exc), "params") from None
    except ReadOnlyViolation:
        audit("refused", 400)
        raise bad_request("read_only", N_("the analyst query may only read; this one tried to write")) from None
    except QueryTimeout:
        audit("timeout", 504)
        raise ApiError(504, "query_timeout", N_("the query ran past its {timeout_ms} ms limit and was stopped"),
                                             timeout_ms=body.timeout_ms) from None
    except StoreError as exc:
        audit("error", 400)
        raise bad_request("bad_query", N_("the store refused the query"), {"reason": str(exc)}) from None
    finally:
        gate.leave(account)
    audit("ok", 200, rows=len(result.rows), truncated=result.truncated)
    return {"columns": result.columns, "rows": jsonable_encoder(result.rows), "truncated": result.truncated,
            "rowCount": len(result.rows)}
