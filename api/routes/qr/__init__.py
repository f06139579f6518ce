"""一企一码: scan a code (`/q/{token}`), act through it, and issue, export and revoke codes (`/qr/…`).

Scanning is open to everyone: the token's signature, expiry and revocation are checked first, then
the entity's dossier is returned at the caller's level (anonymous: public fields). Anonymous scans
and reports are rate-limited per client address. Issuing codes (images, batches) is for inspectors,
within their regions, and admins; so is revoking them. Every scan, issue, action and revocation is
audited. Refusals of a code are 4xx in the one error shape with the reason as the code:

| status | code |
|---|---|
| 400 | `token_malformed` (not a RiskGraph code: bad characters, length, version or structure) |
| 403 | `unknown_key` (signed with a key this service does not know, or retired), `token_invalid_signature` |
| 410 | `token_expired`, `token_revoked` |
| 404 | `not_found` (the code is good but its entity is no longer in the graph) |
| 429 | `too_many_requests` (anonymous scans or reports from one address; `Retry-After`) |
"""
from __future__ import annotations

from fastapi import APIRouter

from riskgraph.api.routes.qr import actions, codes, scan
from riskgraph.api.routes.qr.common import qr_service

router = APIRouter()
for module in (scan, actions, codes):
    router.include_router(module.router)

__all__ = ["qr_service", "router"]
