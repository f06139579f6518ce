"""Log in (OAuth2 password flow) and say who the caller is."""
from __future__ import annotations

import math

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import Field

from riskgraph.api.access import ANONYMOUS, Caller
from riskgraph.api.deps import client_of, get_caller, services
from riskgraph.api.errors import ApiError
from riskgraph.api.limits import too_many
from riskgraph.api.models import LevelName, Out
from riskgraph.ontology.errors import N_

router = APIRouter(tags=["auth"])


class TokenResponse(Out):
    access_token: str = Field(description="send it as `Authorization: Bearer <token>`")
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds until the token expires")


class Me(Out):
    username: str | None = Field(description="null for the anonymous public")
    role: str = Field(description="public, enterprise, inspector, analyst or admin")
    uscc: str | None = Field(description="an enterprise account's 统一社会信用代码")
    regions: list[str] = Field(description="an inspector account's GB/T 2260 codes")
    level: LevelName = Field(description="the highest disclosure level the caller reads")


@router.post("/auth/token", response_model=TokenResponse,
             summary="exchange a username and password (form fields) for a bearer token")
def login(request: Request, form: OAuth2PasswordRequestForm = Depends()) -> TokenResponse:
    svc = services(request)
    throttle = request.app.state.limits.login  # api/limits.py: by address and by username
    address = client_of(request) or "unknown"
    wait = throttle.wait(address, form.username)
    if wait > 0:
        svc.audit.record(ANONYMOUS, "login", "throttled", method="POST", path=request.url.path, status=429,
                         client=client_of(request), details={"retryAfter": math.ceil(wait)})
        raise too_many(N_("too many failed logins for this name or from this address"), wait)
    with throttle.hashing():
        user = svc.users.authenticate(form.username, form.password)
    if user is None:
        throttle.failed(address, form.username)
        known = svc.users.get(form.username) if form.username else None
        svc.audit.record(ANONYMOUS, "login", "failed", username=known.username if known else None,
                         method="POST", path=request.url.path, status=401, client=client_of(request),
                         details=None if known else {"username": "unknown"})
        raise ApiError(401, "invalid_credentials", N_("wrong username or password, or the account is disabled"),
                       headers={"WWW-Authenticate": "Bearer"})
    throttle.succeeded(address, form.username)
    token, expires_in = svc.tokens.issue(user)
    svc.audit.record(user.caller(), "login", "ok", method="POST", path=request.url.path, status=200,
                     client=client_of(request))
    return TokenResponse(access_token=token, expires_in=expires_in)


@router.get("/auth/me", response_model=Me, summary="the caller: role, scope and disclosure level")
def me(caller: Caller = Depends(get_caller)) -> dict:
    return caller.describe()
