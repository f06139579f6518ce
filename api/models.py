"""What the service returns, as pydantic models: the OpenAPI document describes every route's answer
with them, and every answer is checked against them before it leaves.

Every model forbids keys it does not declare, so a route that starts returning something its
contract does not describe fails its tests (500; the server log has the validation error) instead
of quietly growing an undocumented field. Keys a route only sometimes sends (a hidden danger's `derived`, a
capped list's `truncated`) are optional; such routes declare `response_model_exclude_unset=True`,
so an absent key stays absent rather than coming back as `null`.

One part is open by design: a node's `properties`. Which properties a node carries, and their
types, are the ontology's (`ontology/riskgraph.ttl`, per class) and what the caller's disclosure
level lets it read, not this module's; they are described, not enumerated.
"""
from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from riskgraph.ontology.model import Disclosure

#: a disclosure level as the API names it (`Disclosure.PUBLIC` → "public")
LevelName = Literal["public", "enterprise", "inspector", "internal"]
if set(get_args(LevelName)) != {d.name.lower() for d in Disclosure}:
    raise RuntimeError("api.models.LevelName no longer matches ontology.model.Disclosure")

PROPERTIES_DESCRIPTION = (
    "the node's properties that the caller's disclosure level may read: names and datatypes are those the "
    "ontology declares for the node's class (ontology/riskgraph.ttl); dates and times as ISO 8601 text, "
    "vocabulary values as SKOS notations, multi-valued properties as lists, JSON-text properties (an "
    "assessment's `components`) parsed; storage companions (…Ms, …Tokens) never appear"
)
KEY = "the value of the class's key property (uscc for an enterprise, code for a region or industry, id otherwise)"
LEVEL = "the disclosure level the caller reads this subject at"


class Out(BaseModel):
    """A response body: undeclared keys are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class NodeOut(Out):
    """A node as lists return it."""

    label: str = Field(description="the node's ontology class")
    key: str | None = Field(description=KEY)
    properties: dict[str, Any] = Field(description=PROPERTIES_DESCRIPTION)


class NodeRefOut(Out):
    """A node already shown elsewhere in the same answer."""

    label: str
    key: str
    ref: Literal[True]


class DangerStatus(Out):
    """Values computed at read time for a hidden danger (only for levels that may read its deadline and state)."""

    open: bool = Field(description="not yet rectified (state before RECTIFIED in the state vocabulary's life cycle)")
    overdue: bool = Field(description="open and past its deadline")
    daysOverdue: int | None = Field(None, description="whole days past the deadline, when overdue")
    daysOpen: int | None = Field(None, description="whole days since it was found (to now while open; to its last "
                                                   "step once rectified)")
    daysInState: int | None = Field(None, description="whole days in its current state of the rectification loop")


class ViewNodeOut(Out):
    """A node with its surroundings, as portraits nest them."""

    label: str = Field(description="the node's ontology class")
    key: str = Field(description=KEY)
    properties: dict[str, Any] = Field(description=PROPERTIES_DESCRIPTION)
    derived: DangerStatus | None = Field(None, description="hidden dangers: open / overdue, computed at read time")
    relations: dict[str, list[ViewNodeOut | NodeRefOut]] | None = Field(
        None, description="lists of related nodes named after the ontology relation (`hasLicence`; `^assesses` "
                          "when followed backwards), newest first; the centre lists every relation its class has")
    truncated: dict[str, int] | None = Field(None, description="relation → total, for lists cut at the limit")


class HiddenDangerSummary(Out):
    total: int
    open: int | None = Field(None, description="only for levels that may read the dangers' state")
    overdue: int | None = Field(None, description="only for levels that may read state and deadline")
    major: int | None = Field(None, description="only for levels that may read the grade")
    majorOverdue: int | None = Field(None, description="only for levels that may read state, deadline and grade")
    byState: dict[str, int] | None = Field(None, description="HiddenDangerState notation → number, the rectification "
                                                             "loop at a glance (only for levels that may read the state)")


class CheckSummary(Out):
    """The enterprise's dual-prevention checks (排查任务): only for levels that may read them."""

    tasks: int = Field(description="checks in force")
    lapsed: int = Field(description="check periods that ended without a record in the last `window` days")
    window: int


class EnterpriseSummary(Out):
    counts: dict[str, int] = Field(description="relation → number of related nodes")
    hiddenDangers: HiddenDangerSummary | None = Field(
        None, description="absent from a public scan whose policy does not show hidden dangers (api/qr/policy.py)")
    checks: CheckSummary | None = Field(None, description="排查任务: lapsed checks are flagged here and feed the rating")


class EntityView(ViewNodeOut):
    """Any other entity's dossier (a disaster point, a shelter, a supply …)."""

    level: LevelName = Field(description=LEVEL)


class ColourOut(Out):
    colour: str | None = Field(description="four-colour level (BLUE, YELLOW, ORANGE, RED)")
    method: str | None = Field(description="the assessment method that set it")


class ColoursOut(Out):
    """The official colour (the one placards, search and the map show), the other model's, and the choice."""

    official: ColourOut
    secondary: ColourOut
    choice: dict[str, Any] = Field(description="the configured choice: `default` method, `bySupervisionIndustry` "
                                               "overrides, and `source` (where it is configured)")


class ScoreOrigin(Out):
    assessment: str | None
    method: str | None
    computedAt: str | None = Field(description="when the score was computed (ISO 8601)")
    asOf: str | None = Field(description="the date its facts run to")
    data: Any = Field(None, description="the data load its run saw (internal level only)")
    dataChangedSince: bool | None = Field(description="whether the enterprise's records were loaded again since")
    notKnown: list[str] = Field(description="what the model could not know (flags)")


class ScoreProvenance(Out):
    """When each score was computed and from which data (scores are never older than their data unnoticed)."""

    scores: list[ScoreOrigin]
    hazardSources: list[dict[str, Any]] | None = Field(
        None, description="per major-hazard unit: method, computedAt and what it could not know (GB 18218 flags)")
    latestDataLoadedAt: str | None = Field(None, description="newest load of the enterprise's own records (internal)")


class EnterprisePortrait(ViewNodeOut):
    """The enterprise's portrait (一企一档)."""

    level: LevelName = Field(description=LEVEL)
    recentAlarms: list[ViewNodeOut] = Field(description="newest IoT alarms first")
    assessments: list[ViewNodeOut] = Field(description="the newest assessment per method")
    recommendations: list[ViewNodeOut] = Field(description="stored recommendations (written by `riskgraph assess`), "
                                                           "the subject's own first, best first")
    summary: EnterpriseSummary
    colours: ColoursOut | None = Field(None, description="official and secondary colour (absent when not disclosed)")
    scoreProvenance: ScoreProvenance | None = None


class RiskPointPortrait(ViewNodeOut):
    """The risk point's dual-prevention chain."""

    level: LevelName = Field(description=LEVEL)
    assessments: list[ViewNodeOut] = Field(description="the newest assessment per method")
    recommendations: list[ViewNodeOut]
    naturalDisasterPoints: list[NodeOut] = Field(description="natural-disaster risk points in the same county")


def file_response(media_type: str, description: str, *, text: bool = False) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI description of a 200 that is a file, not JSON."""
    schema: dict[str, Any] = {"type": "string"} if text else {"type": "string", "format": "binary"}
    return {200: {"description": description, "content": {media_type: {"schema": schema}}}}


class StateChangeOut(Out):
    """One step of a workflow record's history, as its change log tells it (reports, census entries)."""
    at: str | None
    by: str | None
    role: str | None
    endpoint: str | None
    fromState: str | None
    toState: str | None
    note: str | None
