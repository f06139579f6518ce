"""Who may move an enterprise's safety work on, and the refusals the workflows raise.

The workflows take the caller as the API knows it (`riskgraph.api.access.Caller`: role, account,
enterprise, regions); the command line builds the same caller from an account. Two questions
decide every permission:

- the **owner**: the enterprise's own account (role enterprise, its USCC);
- the **bureau**: an inspector whose regions cover the enterprise's region, or an admin.

Analysts read everything and write nothing here; the public files reports through a code only.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from riskgraph.api.access import Caller, Role
from riskgraph.ontology.errors import N_, RiskGraphError
from riskgraph.ontology.model import Disclosure
from riskgraph.workflows.photos import PhotoError, PhotoStore


class WorkflowError(RiskGraphError):
    """A step refused before anything was written. `status` is the HTTP status it answers with."""

    status = 422
    code = "invalid"

    def __init__(self, message: str, field: str | None = None, *, code: str | None = None, **values: Any) -> None:
        super().__init__(message, **values)
        self.message = self.text
        self.field = field
        if code is not None:
            self.code = code


class Denied(WorkflowError):
    """The caller may not take this step (403; 401 for the anonymous public)."""

    status = 403
    code = "forbidden"


class WrongState(WorkflowError):
    """The step does not apply to the thing as it is now (409): it moved on, or never got there."""

    status = 409
    code = "wrong_state"


class Missing(WorkflowError):
    status = 404
    code = "not_found"


@dataclass(frozen=True)
class Owner:
    """The enterprise something belongs to, and the region its bureau is judged by."""

    uscc: str
    region: str | None
    name: str | None = None


def is_owner(caller: Caller, owner: Owner) -> bool:
    return caller.role is Role.ENTERPRISE and caller.uscc == owner.uscc


def is_bureau(caller: Caller, owner: Owner) -> bool:
    return caller.role is Role.ADMIN or (caller.role is Role.INSPECTOR and caller.covers_region(owner.region))


def level(caller: Caller, owner: Owner) -> Disclosure:
    """The disclosure level the caller reads this enterprise's things at."""
    return caller.enterprise_level(owner.uscc, owner.region)


def require(allowed: bool, caller: Caller, message: str, **values: Any) -> None:
    """Refuse (Denied) unless `allowed`; `message` is a template filled with `values`."""
    if not allowed:
        raise Denied(message, code="unauthorized" if caller.anonymous else "forbidden", **values)


def photos_for_write(store: PhotoStore | None, photos: Sequence[str], caller: Caller) -> list[str]:
    """The photo hashes a workflow step names, stored first when sent as data; photo problems as workflow errors."""
    if not photos:
        return []
    if store is None:
        raise WorkflowError(N_("photos are not kept by this service"), "photos")
    try:
        return store.resolve(photos, uploaded_by=caller.username)
    except PhotoError as exc:
        raise WorkflowError(exc.message, "photos", code=f"photo_{exc.code}") from None
