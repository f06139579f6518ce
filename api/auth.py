"""Tokens: the OAuth2 password flow hands out HS256 JWTs; every request is checked against the accounts.

The signing secret is `RISKGRAPH_JWT_SECRET` (at least 32 characters), else a random one made once
and kept in `<data dir>/jwt-secret` with mode 600. A token names the account and carries the
account's token generation; each request reloads the account, so disabling it, changing its
password or its role revokes tokens at once. Tokens travel only in the Authorization header
(never in a URL, so never in an access log) and are never logged.
"""
from __future__ import annotations

import os
import secrets
import time
import uuid
from pathlib import Path

import jwt

from riskgraph.api.access import ANONYMOUS, Caller
from riskgraph.api.errors import unauthorized
from riskgraph.api.users import User, UserStore
from riskgraph.ontology.errors import N_, SettingError

ALGORITHM = "HS256"
ISSUER = "riskgraph"
MIN_SECRET_LENGTH = 32


def load_secret(configured: str | None, path: Path) -> str:
    """The configured secret, else the one in `path`, made there (mode 600) on first use."""
    if configured:
        if len(configured) < MIN_SECRET_LENGTH:
            raise SettingError(N_("RISKGRAPH_JWT_SECRET must be at least {length} characters"), length=MIN_SECRET_LENGTH)
        return configured
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        secret = path.read_text(encoding="ascii").strip()
        if len(secret) < MIN_SECRET_LENGTH:
            raise SettingError(N_("{path} holds no usable secret; delete it to have a new one made"), path=path) from None
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
        return secret
    secret = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secret + "\n")
    return secret


class TokenService:
    def __init__(self, secret: str, users: UserStore, *, minutes: int) -> None:
        self._secret = secret
        self.users = users
        self.minutes = minutes

    def __repr__(self) -> str:  # never show the secret
        return f"TokenService(minutes={self.minutes})"

    def issue(self, user: User) -> tuple[str, int]:
        now = int(time.time())
        expires_in = self.minutes * 60
        claims = {
            "iss": ISSUER, "sub": user.username, "role": user.role.value, "gen": user.token_generation,
            "iat": now, "nbf": now, "exp": now + expires_in, "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM), expires_in

    def subject(self, token: str) -> str | None:
        """The account a well-signed, unexpired token names, without looking the account up (the
        rate limits key on it); None for anything else."""
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER,
                                options={"require": ["exp", "sub", "iss"]}, leeway=5)
        except jwt.InvalidTokenError:
            return None
        return str(claims["sub"])

    def caller(self, token: str | None) -> Caller:
        """The caller a token names; anonymous without one; 401 for anything wrong with it."""
        if token is None:
            return ANONYMOUS
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER,
                                options={"require": ["exp", "iat", "sub", "iss"]}, leeway=5)
        except jwt.ExpiredSignatureError:
            raise unauthorized(N_("the token has expired; log in again")) from None
        except jwt.InvalidTokenError:
            raise unauthorized(N_("the token is not valid")) from None
        user = self.users.get(str(claims["sub"]))
        if user is None or not user.active or claims.get("gen") != user.token_generation:
            raise unauthorized(N_("the token has been revoked; log in again"))
        return user.caller()
