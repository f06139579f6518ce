"""Enterprise self-service through its code, and the bureau's side of it: daily 排查 tasks, the closed
hidden-danger loop, risk analysis, evidence photos (the rules live in `riskgraph.workflows`)."""
from __future__ import annotations

from fastapi import APIRouter

from riskgraph.api.routes import analysis, hidden_dangers, photos, tasks

router = APIRouter()
for module in (tasks, hidden_dangers, analysis, photos):
    router.include_router(module.router)
