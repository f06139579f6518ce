"""`GET /match`: query by example — name, region, USCC, address … → ranked registered enterprises with
scores and the reasons, as the loader's resolver sees them (for inspectors and reporting workflows)."""
from __future__ import annotations

import threading
import time
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from riskgraph.api.access import Caller, Role
from riskgraph.api.deps import Services, client_of, require, route_name, services
from riskgraph.api.errors import invalid
from riskgraph.graph.dialect import ident
from riskgraph.loaders.matching.records import Query as RecordQuery
from riskgraph.loaders.normalise.regions import region_from_address, region_table
from riskgraph.loaders.resolve import EnterpriseIndex
from riskgraph.ontology.anchors import ENTERPRISE
from riskgraph.ontology.errors import N_

router = APIRouter(tags=["entity resolution"])
RESOLVERS = Depends(require(Role.INSPECTOR, Role.ANALYST, Role.ADMIN))
#: the registry index is rebuilt when the number of enterprises changes, or after this long
INDEX_MAX_AGE_S = 60.0


class MatchCandidate(BaseModel):
    uscc: str
    name: str
    regionCode: str | None = None
    score: float = Field(description="P(same enterprise) under the learned model")
    level: str = Field(description="name evidence: exact_full, exact_body, near, near2, trade or weak")
    reasons: list[str]


class MatchAnswer(BaseModel):
    outcome: Literal["link", "review", "none"] = Field(description="what a load would do with such a record")
    uscc: str | None = Field(None, description="the enterprise it would be linked to")
    method: str
    reasons: list[str]
    region: str | None = Field(None, description="the GB/T 2260 code the region parameter was read as")
    candidates: list[MatchCandidate]


class _IndexCache:
    """One EnterpriseIndex per app, rebuilt when the registry changes (by count) or grows old."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.index: EnterpriseIndex | None = None
        self.count = -1
        self.built = 0.0

    def get(self, svc: Services) -> EnterpriseIndex:
        count = int(svc.store.read(f"MATCH (e:{ident(ENTERPRISE)}) RETURN count(e) AS c")[0]["c"])
        with self.lock:
            if self.index is None or count != self.count or time.monotonic() - self.built > INDEX_MAX_AGE_S:
                self.index = EnterpriseIndex.from_store(svc.store)
                self.count, self.built = count, time.monotonic()
            return self.index


def enterprise_index(request: Request) -> EnterpriseIndex:
    cache = getattr(request.app.state, "er_index", None)
    if cache is None:
        cache = request.app.state.er_index = _IndexCache()
    return cache.get(services(request))


def region_code(region: str | None) -> str | None:
    """A GB/T 2260 code, or a place or authority written out (沧州市应急管理局) read as one; 422 if neither."""
    if not region or not region.strip():
        return None
    text = region.strip()
    if text.isdigit():
        if text not in region_table():
            raise invalid(N_("{text} is not a GB/T 2260 code"), "region", text=text)
        return text
    code = region_from_address(text)
    if code is None:
        raise invalid(N_("{text!r} names no GB/T 2260 region"), "region", text=text)
    return code


@router.get("/match", response_model=MatchAnswer, summary="registered enterprises that fit a record, ranked, with reasons")
def match(
    request: Request,
    name: str | None = Query(None, max_length=200, description="the enterprise name as written"),
    region: str | None = Query(None, max_length=100, description="GB/T 2260 code, or a place / authority (沧县应急管理局)"),
    uscc: str | None = Query(None, max_length=40, description="统一社会信用代码 as written (a mistyped one still helps)"),
    address: str | None = Query(None, max_length=200),
    legal_rep: str | None = Query(None, max_length=50, description="法定代表人 / 主要负责人"),
    phone: str | None = Query(None, max_length=30),
    licence: str | None = Query(None, max_length=60, description="a licence number"),
    limit: int = Query(5, ge=1, le=20, description="most candidates returned"),
    caller: Caller = RESOLVERS,
) -> MatchAnswer:
    if not any(v and v.strip() for v in (name, uscc, phone, licence)):
        raise invalid(N_("give at least a name, a USCC, a phone or a licence number"), "name")
    code = region_code(region)
    index = enterprise_index(request)
    resolution = index.match(RecordQuery(name=name, uscc=uscc, region=code, address=address, legal_rep=legal_rep,
                                         phone=phone, licence=licence))
    svc = services(request)
    svc.audit.record(caller, route_name(request), "ok", method="GET", path=request.url.path, status=200,
                     client=client_of(request), details={"outcome": resolution.outcome})
    return MatchAnswer(
        outcome=resolution.outcome,  # type: ignore[arg-type]
        uscc=resolution.uscc, method=resolution.method, reasons=list(resolution.reasons), region=code,
        candidates=[MatchCandidate(**c.as_dict()) for c in resolution.candidates[:limit]],
    )
