"""An inspection recorded by an inspector in scope, through the enterprise's code: the items checked,
the findings, the penalty proposed, photos. Each finding becomes a hidden danger of the enterprise
in the rectification loop (`FOUND` from the inspection; RECTIFYING at once when the inspector sets its
deadline and the person responsible — 责令限期整改 — else REPORTED).
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from riskgraph.api.access import Caller, Role
from riskgraph.api.schema import ENTERPRISE, HIDDEN_DANGER, INSPECTION, Schema
from riskgraph.graph.store import GraphStore
from riskgraph.ontology.errors import N_
from riskgraph.workflows.actors import Owner, WorkflowError, is_bureau, require
from riskgraph.workflows.hidden_dangers import GENERAL, Loop
from riskgraph.workflows.origin import Origin
from riskgraph.workflows.photos import PhotoError, PhotoStore
from riskgraph.workflows.writes import Link, WriteService, Written

#: what a hidden danger found by an inspection records as its source (rg:reportSource)
ENFORCEMENT_SOURCE = "执法检查"


@dataclass(frozen=True)
class Finding:
    name: str
    grade: str = GENERAL
    description: str | None = None
    deadline: dt.date | None = None
    responsible: str | None = None
    risk_point: str | None = None


@dataclass
class Inspected:
    inspection: Written
    dangers: list[Written] = field(default_factory=list)
    photos: list[str] = field(default_factory=list)


class Inspections:
    def __init__(self, store: GraphStore, photos: PhotoStore | None = None) -> None:
        self.store = store
        self.schema = Schema(store.ontology)
        self.writes = WriteService(store)
        self.photos = photos
        self.loop = Loop(store, photos)
        self.has = self.schema.relation_between(ENTERPRISE, INSPECTION).type
        self.found = self.schema.relation_between(INSPECTION, HIDDEN_DANGER).type

    def record(self, caller: Caller, origin: Origin, owner: Owner, *, inspected_on: dt.date | None = None,
               inspection_type: str = "ROUTINE", inspectors: str | None = None, items: Sequence[str] = (),
               findings: Sequence[Finding] = (), finding_count: int | None = None, conclusion: str | None = None,
               penalty: str | None = None, photos: Sequence[str] = (), raw: Mapping[str, Any] | None = None) -> Inspected:
        require(caller.role is Role.INSPECTOR and is_bureau(caller, owner), caller,
                N_("only an inspector whose regions cover the enterprise may record an inspection of it"))
        today = origin.at.date()
        day = inspected_on or today
        if day > today:
            raise WorkflowError(N_("an inspection cannot be recorded for a future day"), "inspectedOn")
        if finding_count is not None and finding_count < len(findings):
            raise WorkflowError(N_("findings says {finding_count} but {findings} hidden dangers are listed"), "findings",
                                finding_count=finding_count, findings=len(findings))
        try:
            photo_ids = self.photos.resolve(photos, uploaded_by=caller.username) if photos and self.photos else []
        except PhotoError as exc:
            raise WorkflowError(exc.message, "photos", code=f"photo_{exc.code}") from None
        if photos and self.photos is None:
            raise WorkflowError(N_("photos are not kept by this service"), "photos")
        row = {
            "id": f"IN-QR-{uuid.uuid4().hex[:12].upper()}", "inspectedOn": day, "inspectionType": inspection_type,
            "inspectors": (inspectors or caller.username or "").strip() or None,
            "findings": finding_count if finding_count is not None else len(findings),
            "conclusion": conclusion, "itemsChecked": [i.strip() for i in items if i.strip()] or None,
            "proposedPenalty": (penalty or "").strip() or None, "photos": photo_ids or None,
            "regionCode": owner.region, "handledBy": caller.username,
        }
        inspection = self.writes.create(INSPECTION, row, origin, raw=raw,
                                        links=[Link(self.has, (ENTERPRISE, owner.uscc), outgoing=False)])
        if photo_ids and self.photos is not None:
            self.photos.attach(photo_ids, INSPECTION, inspection.key)
        out = Inspected(inspection=inspection, photos=photo_ids)
        for finding in findings:
            out.dangers.append(self.loop.report(
                caller, origin, owner, name=finding.name, grade=finding.grade, description=finding.description,
                deadline=finding.deadline, responsible=finding.responsible, risk_point=finding.risk_point,
                source=ENFORCEMENT_SOURCE, raw=raw, links=[Link(self.found, (INSPECTION, inspection.key), outgoing=False)]))
        return out
