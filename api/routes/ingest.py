"""`POST /ingest/{source}`: a source system pushes a batch of JSON lines (readings, alarms, sensor
states — `loaders/live/stream.py` describes them) with `Authorization: Bearer <source key>`.

The key is the one `riskgraph source-add NAME --kind iot` printed; it is good for this one source's
path only. The answer (202) comes after the lines are in the ingest log, durably: what is
acknowledged is never lost, and a line sent again (a retry after a timeout) is recognised by its
idempotency key and counted as a duplicate. Storing — validation, mapping, quarantine — happens in
the background within moments; `GET /sources` shows it.
"""
from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from riskgraph.api.errors import ApiError, forbidden, unauthorized
from riskgraph.api.models import Out
from riskgraph.loaders.live import payload
from riskgraph.loaders.live.registry import MESSAGE_TYPES
from riskgraph.ontology.errors import N_

router = APIRouter(tags=["ingest"])


class IngestOut(Out):
    source: str
    lines: int = Field(description="non-empty lines in the body")
    accepted: int = Field(description="lines logged now (each stored, or quarantined with its reason, shortly)")
    duplicates: int = Field(description="lines whose idempotency key was already logged: they change nothing")
    pending: int = Field(description="this source's logged lines not yet stored")


def _key(request: Request) -> str:
    header = request.headers.get("authorization") or ""
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise unauthorized(N_("send the source's key as 'Authorization: Bearer <source key>'"))
    return key.strip()


@router.post("/ingest/{source}", response_model=IngestOut, status_code=202,
             summary="a batch of JSON lines from a source system (readings, alarms, sensor states)",
             responses={401: {"description": "no key, or not this source's key"},
                        403: {"description": "this source may not push messages"}},
             openapi_extra={"requestBody": {"required": True, "content": {"text/plain": {
                 "schema": {"type": "string", "description": "one JSON object per line (sent as text/plain or "
                                                            "application/x-ndjson; UTF-8, or GBK / GB 18030)"}}}}})
async def ingest(source: str, request: Request) -> dict:
    key = _key(request)
    background = getattr(request.app.state, "background", None)
    if background is None:
        raise ApiError(503, "not_ready", N_("the service is starting; send the batch again"))
    found = await run_in_threadpool(background.live.registry.authenticate, source, key)
    if found is None:
        raise unauthorized(N_("this is not the key of source {source!r}"), source=source)
    if not MESSAGE_TYPES.get(found.kind):
        raise forbidden(N_("source {source!r} is of kind {kind}: it is pulled, it does not push"),
                        {"kind": found.kind},
                        source=source, kind=found.kind)
    lines = payload.messages(await request.body())
    done = await run_in_threadpool(background.live.receive, source, lines)
    pending = await run_in_threadpool(background.live.pending, source)
    return {"source": source, "lines": len(lines), "accepted": done.accepted, "duplicates": done.duplicates,
            "pending": pending}
