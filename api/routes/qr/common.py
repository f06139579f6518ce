"""What the QR routes share: the app's QR service, auditing, the anonymous rate limit, verifying a
code (with its audited refusal) and refusing a caller (403 audited, 401 when anonymous)."""
from __future__ import annotations

import math
import threading
from typing import Any

from fastapi import Request

from riskgraph.api.deps import Context, client_of, services
from riskgraph.api.errors import ApiError, forbidden, not_found, unauthorized
from riskgraph.api.qr.service import QrEntityMissing, QrService, Verified
from riskgraph.api.qr.token import TokenError, parse
from riskgraph.ontology.errors import N_, as_message

#: HTTP status for each reason a code is refused
TOKEN_STATUS = {"token_malformed": 400, "unknown_key": 403, "token_invalid_signature": 403,
                "token_expired": 410, "token_revoked": 410}

_init_lock = threading.Lock()


def qr_service(request: Request) -> QrService:
    """The app's QR service, made on first use (settings: `app.state.qr_settings`, else the environment)."""
    app = request.app
    svc = getattr(app.state, "qr", None)
    if svc is None:
        with _init_lock:
            svc = getattr(app.state, "qr", None)
            if svc is None:
                core = services(request)
                svc = QrService(core.settings.data_dir, core.store, core.schema, getattr(app.state, "qr_settings", None))
                app.state.qr = svc
    return svc


def base_of(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _audit(ctx: Context, action: str, result: str, status: int, *, subject: str | None = None,
           details: dict | None = None) -> None:
    req = ctx.request
    ctx.svc.audit.record(ctx.caller, action, result, subject=subject, method=req.method, path=req.url.path[:300],
                         status=status, client=client_of(req), details=details)


def _rate_limit(ctx: Context, bucket, what: str) -> None:
    """Anonymous callers only: logged-in callers are accountable, and audited."""
    if not ctx.caller.anonymous:
        return
    wait = bucket.take(client_of(ctx.request) or "unknown")
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise ApiError(429, "too_many_requests", N_("too many {what_} from this address; try again in {seconds} s"),
                       {"retryAfter": seconds}, headers={"Retry-After": str(seconds)},
                                                 what_=what, seconds=seconds)


def _verify(ctx: Context, qr: QrService, token: str, action: str) -> Verified:
    """The verified code, or the refusal (audited, no data)."""
    try:
        return qr.verify(token)
    except TokenError as exc:
        status = TOKEN_STATUS.get(exc.code, 400)
        details: dict[str, Any] = {"reason": exc.code}
        subject = None
        try:
            parsed = parse(token)
            details["tokenId"] = parsed.token_id
            claimed = f"{parsed.claims.label}/{parsed.claims.key}"
            if exc.code in ("token_expired", "token_revoked"):
                subject = claimed  # the signature held: the subject is real
            else:
                details["claimed"] = claimed
        except TokenError:
            pass
        _audit(ctx, action, exc.code, status, subject=subject, details=details)
        raise ApiError(status, exc.code, exc.message) from None
    except LookupError as exc:
        _audit(ctx, action, "not_found", 404)
        if isinstance(exc, QrEntityMissing):  # the class by its label in the caller's language
            raise not_found(N_("{label} {key}"), label=exc.text.values["label"], key=exc.text.values["key"]) from None
        # "<label> <key>": names, not words to translate
        raise not_found(as_message(str(exc).replace(" is no longer in the graph", ""))) from None


def _deny(ctx: Context, action: str, message: str, subject: str) -> ApiError:
    if ctx.caller.anonymous:
        return unauthorized(message)
    _audit(ctx, action, "denied", 403, subject=subject, details={"role": ctx.caller.role.value})
    return forbidden(message, {"role": ctx.caller.role.value})

