"""The HTTP service: `create_app()` builds it; the store is opened once, when it starts."""
from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.concurrency import run_in_threadpool

from riskgraph import graph
from riskgraph.api import errors
from riskgraph.api.audit import AuditLog
from riskgraph.api.auth import TokenService, load_secret
from riskgraph.api.background import start_background
from riskgraph.api.deps import Services
from riskgraph.api.kept_responses import KeptResponses
from riskgraph.api.limits import Edge, EdgeMiddleware, Limits
from riskgraph.api.read_cache import ReadCache
from riskgraph.api.request_context import RequestContext
from riskgraph.api.routes import (
    admin,
    analyst,
    assessments,
    auth,
    enterprises,
    events,
    exports,
    health,
    ingest,
    layers,
    match,
    nodes,
    qr,
    rdf,
    recommendations,
    reports,
    resources,
    review,
    risk_points,
    sources,
    warnings,
)
from riskgraph.api.routes.selfservice import router as selfservice
from riskgraph.api.schema import Schema
from riskgraph.api.settings import Settings
from riskgraph.api.users import UserStore
from riskgraph.graph.collector import freeze_alive
from riskgraph.graph.values import warm_up_search
from riskgraph.ontology.model import load_ontology
from riskgraph.web.desk import router as desk_pages
from riskgraph.web.docs import router as offline_docs
from riskgraph.web.routes import router as web_pages

log = logging.getLogger("riskgraph.api")

DESCRIPTION = """
一企一档一码 knowledge-graph risk service: enterprise and risk-point portraits, subgraphs and RDF
dossiers, map layers, regional and industry risk, and read-only analyst queries.

Anonymous callers read public fields. Log in at `POST /auth/token` (OAuth2 password flow) and send
`Authorization: Bearer <token>`; each role reads what the ontology's disclosure levels allow it
(see `api/README.md`). Every error has the body `{"error": {"code", "message", "details"}}`.
"""


def create_app(store_url: str | None = None, data_dir: Path | None = None, *,
               settings: Settings | None = None, limits: Limits | None = None) -> FastAPI:
    """The service over the store at `store_url` (default: RISKGRAPH_GRAPH_URL, else the embedded
    store in `data_dir`), keeping accounts, the audit log and the token secret in `data_dir`
    (default: RISKGRAPH_DATA_DIR, else the user's data directory)."""
    settings = settings or Settings.from_env(store_url, data_dir)
    reads = ReadCache.from_env()  # a bad setting is refused here, before the server starts, in one line

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = await run_in_threadpool(_open_services, settings, reads)
        app.state.services = svc
        app.state.background = await run_in_threadpool(start_background, svc)
        log.info("serving %s", graph.redact(settings.store_url))
        try:
            yield
        finally:
            await run_in_threadpool(app.state.background.stop)
            await run_in_threadpool(svc.store.close)
            reads.close()

    app = FastAPI(
        title="RiskGraph",
        version=load_ontology().version or "0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        responses=errors.COMMON_RESPONSES,
        docs_url=None,  # /docs and /redoc are web/docs.py: their assets are served here, never from a CDN
        redoc_url=None,
    )
    errors.install(app)
    app.state.limits = Edge(limits or Limits.from_env())  # see api/limits.py
    app.add_middleware(KeptResponses)  # innermost: a kept response still passes the edge's checks
    app.add_middleware(EdgeMiddleware)
    app.add_middleware(RequestContext)  # a request id on every log line and response
    for module in (health, auth, enterprises, risk_points, nodes, assessments, layers, analyst, admin, qr, recommendations, match, review,
                   rdf):
        app.include_router(module.router)
    for module in (warnings, events, reports, resources, sources, ingest):
        app.include_router(module.router)
    app.include_router(selfservice)
    app.include_router(exports.router)
    app.include_router(web_pages)
    app.include_router(desk_pages)
    app.include_router(offline_docs)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _open_services(settings: Settings, reads: ReadCache) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    onto = load_ontology()
    schema = Schema(onto)  # fails before the store is opened when the ontology lacks an anchor
    users = UserStore(settings.users_db)
    tokens = TokenService(load_secret(settings.jwt_secret, settings.secret_file), users,
                          minutes=settings.token_minutes)
    audit = AuditLog(settings.audit_db)
    store = graph.connect(settings.store_url)
    reads.share(settings.data_dir / "read-cache.sqlite3", settings.store_url)  # with the other workers
    warm_up_search()
    _freeze_what_lives_on()
    return Services(settings=settings, store=store, onto=onto, schema=schema, users=users, tokens=tokens, audit=audit,
                    reads=reads, layers=layers.layer_cache(reads))


@functools.cache
def _freeze_what_lives_on() -> None:
    """Once per process, after start-up: the ontology, the tables and the clients it built live as
    long as the worker, so they are moved out of the garbage collector's walks (`gc.freeze()`; still
    freed by reference counting). Why: each full collection walked them and paused every request
    the worker held — 0.39–0.73 s a pause, 2–3 pauses a worker in 20 s at 10,000 enterprises, most of
    the portraits' p99; frozen, 0.12–0.22 s."""
    freeze_alive()


def _stream_as_openapi_31(content: dict) -> None:
    """FastAPI describes a Server-Sent Events stream with OpenAPI 3.2's `itemSchema`, which a 3.1 document
    (what FastAPI declares) may not hold: say it the 3.1 way, a text stream, keeping each event's schema."""
    stream = content.get("text/event-stream")
    if stream and "itemSchema" in stream:
        item = stream.pop("itemSchema")
        stream["schema"] = {"type": "string", "description": "Server-Sent Events; each event is described by x-itemSchema"}
        stream["x-itemSchema"] = item


def _openapi(app: FastAPI) -> dict:
    """The OpenAPI document, with validation errors described in the service's one error shape."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    for path in doc.get("paths", {}).values():
        for op in path.values():
            response = op.get("responses", {}).get("422")
            if response:
                response["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
                response["description"] = "invalid parameters"
            for answer in op.get("responses", {}).values():
                _stream_as_openapi_31(answer.get("content", {}))
    schemas = doc.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    app.openapi_schema = doc
    return doc
