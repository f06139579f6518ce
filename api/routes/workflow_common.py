"""What the self-service routes (tasks, the hidden-danger loop, risk analysis, photos) share: the
app's photo store, running a workflow step for the caller with its refusals in the one error shape,
and the audit entry of every step taken or refused."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fastapi import Request

from riskgraph.api.deps import Context, client_of, services
from riskgraph.api.errors import ApiError
from riskgraph.api.models import NodeOut
from riskgraph.api.writes import api_error
from riskgraph.notify.watches import Change
from riskgraph.ontology.model import Disclosure
from riskgraph.workflows.actors import Denied, WorkflowError
from riskgraph.workflows.photos import PhotoStore
from riskgraph.workflows.writes import WriteError, Written

_lock = threading.Lock()


def photo_store(request: Request) -> PhotoStore:
    """The app's photo store, made on first use in the service's data directory."""
    app = request.app
    found = getattr(app.state, "photos", None)
    if found is None:
        with _lock:
            found = getattr(app.state, "photos", None)
            if found is None:
                found = PhotoStore(services(request).settings.data_dir, getattr(app.state, "photo_settings", None))
                app.state.photos = found
    return found


def audit(ctx: Context, action: str, result: str, status: int, *, subject: str | None = None,
          details: dict[str, Any] | None = None) -> None:
    req = ctx.request
    ctx.svc.audit.record(ctx.caller, action, result, subject=subject, method=req.method, path=req.url.path[:300],
                         status=status, client=client_of(req), details=details)


def step[T](ctx: Context, action: str, subject: str, run: Callable[[], T]) -> T:
    """Run a workflow step; a refusal becomes the one error shape (a denial is audited, 401 when anonymous)."""
    try:
        return run()
    except Denied as exc:
        if ctx.caller.anonymous:
            raise ApiError(401, "unauthorized", exc.message, headers={"WWW-Authenticate": "Bearer"}) from None
        audit(ctx, action, "denied", 403, subject=subject, details={"role": ctx.caller.role.value})
        raise ApiError(403, "forbidden", exc.message, {"role": ctx.caller.role.value}) from None
    except WorkflowError as exc:
        if exc.code == "photo_too_large":
            raise ApiError(413, "payload_too_large", exc.message) from None
        if exc.code == "photo_unsupported_type":
            raise ApiError(415, "unsupported_media_type", exc.message) from None
        if exc.status == 422:
            raise ApiError(422, "validation_error", exc.message,
                           [{"field": exc.field, "message": exc.message, "type": exc.code}]) from None
        code = {404: "not_found", 409: "conflict"}.get(exc.status, exc.code)
        raise ApiError(exc.status, code, exc.message, {"field": exc.field, "reason": exc.code}) from None
    except WriteError as exc:
        raise api_error(exc) from None


def after(ctx: Context, *written: Written | None) -> None:
    """Tell the background what the step wrote: fresh scores, the warning rules and watches follow,
    off the request (as for every write through the API)."""
    bg = getattr(ctx.request.app.state, "background", None)
    if bg is None:
        return
    bg.freshness.submit([Change(w.label, w.key, "new" if w.created else "changed",
                                tuple((c.property, c.old, c.new) for c in w.changes))
                         for w in written if w is not None])


def node(ctx: Context, written: Written, level: Disclosure) -> dict[str, Any]:
    """A node a step wrote, as the caller may read it."""
    return {"label": written.label, "key": written.key,
            "properties": ctx.disclosed.properties(written.label, written.properties, level)}


__all__ = ["NodeOut", "after", "audit", "node", "photo_store", "step"]
