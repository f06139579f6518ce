"""FastAPI dependencies: the app's services, the caller, role guards and the per-request context.

`Context` is what read endpoints take: the caller, its scope rules, the disclosure filter. When
the endpoint returns normally and the response carried non-public fields, the context writes
one audit entry (a failed request writes none: nothing was read).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from riskgraph.api.access import Caller, Role
from riskgraph.api.audit import AuditLog
from riskgraph.api.auth import TokenService
from riskgraph.api.disclosure import Disclosed
from riskgraph.api.errors import forbidden, unauthorized
from riskgraph.api.read_cache import ReadCache
from riskgraph.api.schema import Schema
from riskgraph.api.scope import Scope
from riskgraph.api.settings import Settings
from riskgraph.api.users import UserStore
from riskgraph.graph.store import GraphStore
from riskgraph.ontology.errors import N_
from riskgraph.ontology.model import Ontology


@dataclass
class Services:
    settings: Settings
    store: GraphStore
    onto: Ontology
    schema: Schema
    users: UserStore
    tokens: TokenService
    audit: AuditLog
    reads: ReadCache
    #: whole map layers, each read once for the pages a map fetches of it (api/routes/layers.py)
    layers: ReadCache


def services(request: Request) -> Services:
    return request.app.state.services


oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


def get_caller(request: Request, token: str | None = Depends(oauth2_scheme)) -> Caller:
    """The anonymous public without an Authorization header; 401 for a malformed or bad one."""
    header = request.headers.get("authorization")
    if header is not None and token is None:
        raise unauthorized(N_("the Authorization header must be 'Bearer <token>'"))
    return services(request).tokens.caller(token)


def route_name(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "name", None) or request.url.path


def client_of(request: Request) -> str | None:
    return request.client.host if request.client else None


def require(*roles: Role) -> Callable[..., Caller]:
    """A guard: the caller must have one of these roles (401 when anonymous, 403 otherwise, audited)."""
    allowed = frozenset(roles)

    def guard(request: Request, caller: Caller = Depends(get_caller)) -> Caller:
        if caller.role in allowed:
            return caller
        if caller.anonymous:
            raise unauthorized(N_("log in: this needs the role {roles}"), roles=" or ".join(sorted(r.value for r in allowed)))
        services(request).audit.record(caller, route_name(request), "denied", method=request.method,
                                       path=request.url.path, status=403, client=client_of(request))
        raise forbidden(N_("the {value} role may not do this"),
                        {"required": sorted(r.value for r in allowed), "role": caller.role.value}, value=caller.role.value)

    guard.__name__ = "require_" + "_".join(sorted(r.value for r in allowed))
    return guard


@dataclass
class Context:
    request: Request
    svc: Services
    caller: Caller
    scope: Scope
    disclosed: Disclosed

    @property
    def store(self) -> GraphStore:
        return self.svc.store

    @property
    def schema(self) -> Schema:
        return self.svc.schema

    @property
    def onto(self) -> Ontology:
        return self.svc.onto


def get_context(request: Request, caller: Caller = Depends(get_caller)) -> Iterator[Context]:
    """The request's context; after the endpoint returns, and before the response leaves, the audit
    entry for any restricted read is written: if it cannot be, the caller gets a 500, not the data."""
    svc = services(request)
    ctx = Context(request, svc, caller, Scope(svc.store, svc.schema, caller), Disclosed(svc.onto, caller, svc.store))
    yield ctx
    if ctx.disclosed.restricted:
        svc.audit.restricted_read(
            caller, route_name(request), ctx.disclosed.restricted, subject=ctx.disclosed.subject,
            method=request.method, path=request.url.path, client=client_of(request),
        )


#: what read endpoints declare: `ctx: Context = CONTEXT` (ends with the endpoint, before the response is sent)
CONTEXT = Depends(get_context, scope="function")
