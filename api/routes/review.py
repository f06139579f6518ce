"""The entity-resolution review queue: list items, decide them, unlink a fact, split a merge.

Inspectors act within their regions (an item's region, or the enterprise a fact goes to);
analysts and admins everywhere. Every action is kept in the item's history and audited; every
later load applies the decision.
"""
from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from riskgraph.api.access import Caller, Role
from riskgraph.api.deps import client_of, require, route_name, services
from riskgraph.api.errors import ApiError, forbidden, invalid, not_found
from riskgraph.api.pagination import Page, PageParams, page_params
from riskgraph.api.routes.common import region_param
from riskgraph.api.routes.match import MatchCandidate, enterprise_index
from riskgraph.loaders.review import STATUSES, ReviewError, ReviewService
from riskgraph.ontology.anchors import ENTERPRISE
from riskgraph.ontology.errors import N_

router = APIRouter(tags=["entity resolution"], prefix="/review")
REVIEWERS = Depends(require(Role.INSPECTOR, Role.ANALYST, Role.ADMIN))


class HistoryEntry(BaseModel):
    action: str
    by: str
    at: str
    uscc: str | None = None
    previous: list[str] = Field(default_factory=list, description="the enterprises it was taken off")
    note: str | None = None


class ReviewItemOut(BaseModel):
    id: str
    status: Literal["open", "linked", "rejected"]
    subjectLabel: str
    subjectKey: str
    writtenName: str | None = None
    writtenUscc: str | None = None
    writtenFields: dict[str, Any] = Field(default_factory=dict, description="the record's fields used for matching "
                                          "(authority region, address, legal representative, phone, licence)")
    regionCode: str | None = None
    reason: str | None = None
    candidates: list[MatchCandidate] = Field(default_factory=list)
    decidedUscc: str | None = None
    excludedUsccs: list[str] = Field(default_factory=list)
    decidedBy: str | None = None
    decidedAt: str | None = None
    history: list[HistoryEntry] = Field(default_factory=list)
    sourceSystem: str | None = None
    sourceFile: str | None = None
    rowNumber: int | None = None


class DecisionIn(BaseModel):
    action: Literal["link", "reject", "reopen"]
    uscc: str | None = Field(None, description="for link: the enterprise the fact is about")
    note: str | None = Field(None, max_length=500)


class FactRef(BaseModel):
    label: str
    key: str


class UnlinkIn(FactRef):
    note: str | None = Field(None, max_length=500)


class SplitIn(BaseModel):
    uscc: str = Field(description="the enterprise the facts were wrongly merged into")
    facts: list[FactRef] = Field(min_length=1, max_length=500)
    to: str | None = Field(None, description="the enterprise they are really about, if known")
    note: str | None = Field(None, max_length=500)


def item_out(item: dict[str, Any]) -> ReviewItemOut:
    history = [HistoryEntry(action=h.get("action", ""), by=h.get("by", ""), at=h.get("at", ""), uscc=h.get("uscc"),
                            previous=list(h.get("from") or []), note=h.get("note")) for h in item.get("history", [])]
    return ReviewItemOut(
        id=item["id"], status=item.get("reviewStatus", "open"), subjectLabel=item["reviewedLabel"],
        subjectKey=item["reviewedKey"], writtenName=item.get("writtenName"), writtenUscc=item.get("writtenUscc"),
        writtenFields=item.get("writtenFields") or {}, regionCode=item.get("regionCode"), reason=item.get("reviewReason"),
        candidates=[MatchCandidate(**c) for c in item.get("candidates", [])], decidedUscc=item.get("decidedUscc"),
        excludedUsccs=item.get("excludedUsccs") or [], decidedBy=item.get("decidedBy"), decidedAt=item.get("decidedAt"),
        history=history, sourceSystem=item.get("sourceSystem"), sourceFile=item.get("sourceFile"),
        rowNumber=item.get("rowNumber"),
    )


def _service(request: Request) -> ReviewService:
    svc = services(request)
    return ReviewService(svc.store, lambda: enterprise_index(request))


def _error(exc: ReviewError) -> ApiError:
    if exc.kind == "not_found":
        return not_found(exc.text)
    if exc.kind == "conflict":
        return ApiError(409, "conflict", exc.text)
    return invalid(exc.text)


def _covers(caller: Caller, request: Request, region: str | None = None, uscc: str | None = None) -> bool:
    if caller.role is not Role.INSPECTOR:
        return True
    if caller.covers_region(region):
        return True
    if uscc:
        node = services(request).store.get_node(ENTERPRISE, uscc) or {}
        return caller.covers_region(node.get("regionCode"))
    return False


def _audit(request: Request, caller: Caller, subject: str, details: dict[str, Any]) -> None:
    services(request).audit.record(caller, route_name(request), "ok", subject=subject, method=request.method,
                                   path=request.url.path, status=200, client=client_of(request), details=details)


@router.get("", response_model=Page[ReviewItemOut], summary="review items, newest first (an inspector's regions only)")
def list_items(
    request: Request,
    status: str | None = Query("open", description=f"one of {', '.join(STATUSES)}; empty for all"),
    region: str | None = Query(None, description="GB/T 2260 prefix"),
    uscc: str | None = Query(None, description="items naming this enterprise as a candidate or decision"),
    paging: PageParams = Depends(page_params),
    caller: Caller = REVIEWERS,
) -> dict:
    prefix = region_param(region)
    prefixes: list[str] | None = [prefix] if prefix else None
    if caller.role is Role.INSPECTOR:  # only its own regions, narrowed by the filter
        prefixes = [prefix if prefix and prefix.startswith(p) else p for p in caller.prefixes
                    if not prefix or prefix.startswith(p) or p.startswith(prefix)]
    try:
        total, items = _service(request).list_items(status=status or None, prefixes=prefixes, uscc=uscc,
                                              offset=paging.offset, limit=paging.size)
    except ReviewError as exc:
        raise _error(exc) from None
    _audit(request, caller, "ReviewItem", {"items": len(items)})
    return paging.wrap([item_out(i) for i in items], total)


@router.post("/unlink", response_model=ReviewItemOut, summary="take a fact off its enterprise, back into review")
def unlink(body: UnlinkIn, request: Request, caller: Caller = REVIEWERS) -> ReviewItemOut:
    reviews = _service(request)
    try:
        linked = reviews.linked_to(body.label, body.key)
        if not any(_covers(caller, request, uscc=u) for u in linked) and linked:
            raise forbidden(N_("the fact's enterprise is outside your regions"))
        item = reviews.unlink(body.label, body.key, by=caller.username or "", note=body.note)
    except ReviewError as exc:
        raise _error(exc) from None
    _audit(request, caller, f"{body.label}/{body.key}", {"unlinked": linked})
    return item_out(item)


@router.post("/split", response_model=list[ReviewItemOut], summary="split a merge: facts that are not about this enterprise")
def split(body: SplitIn, request: Request, caller: Caller = REVIEWERS) -> list[ReviewItemOut]:
    if not _covers(caller, request, uscc=body.uscc):
        raise forbidden(N_("the enterprise is outside your regions"))
    try:
        items = _service(request).split(body.uscc, [(f.label, f.key) for f in body.facts], by=caller.username or "",
                                        note=body.note, to=body.to)
    except ReviewError as exc:
        raise _error(exc) from None
    _audit(request, caller, f"{ENTERPRISE}/{body.uscc}", {"split": len(items), "to": body.to})
    return [item_out(i) for i in items]


@router.get("/{item_id:path}", response_model=ReviewItemOut, summary="one review item with its candidates and history")
def get_item(request: Request, item_id: str = Path(..., max_length=300), caller: Caller = REVIEWERS) -> ReviewItemOut:
    try:
        item = _service(request).get(item_id)
    except ReviewError as exc:
        raise _error(exc) from None
    if not _covers(caller, request, item.get("regionCode"), item.get("decidedUscc")):
        raise forbidden(N_("the item is outside your regions"))
    _audit(request, caller, f"ReviewItem/{item_id}", {})
    return item_out(item)


@router.post("/{item_id:path}/decision", response_model=ReviewItemOut, summary="decide: link, reject all, or reopen")
def decide(body: DecisionIn, request: Request, item_id: str = Path(..., max_length=300),
           caller: Caller = REVIEWERS) -> ReviewItemOut:
    reviews = _service(request)
    by = caller.username or ""
    try:
        item = reviews.get(item_id)
        if not _covers(caller, request, item.get("regionCode"), body.uscc):
            raise forbidden(N_("the item is outside your regions"))
        if body.action == "link":
            if not body.uscc:
                raise invalid(N_("link needs the enterprise's uscc"), "uscc")
            item = reviews.link(item_id, body.uscc.strip().upper(), by=by, note=body.note)
        elif body.action == "reject":
            item = reviews.reject(item_id, by=by, note=body.note)
        else:
            item = reviews.reopen(item_id, by=by, note=body.note)
    except ReviewError as exc:
        raise _error(exc) from None
    _audit(request, caller, f"ReviewItem/{item_id}", {"action": body.action, "uscc": body.uscc})
    return item_out(item)
