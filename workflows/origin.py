"""Where a write comes from: the person, their role, the channel and endpoint, the request, the moment.

It is to a write through the API (or the command line) what the source system, file and row are to
a loaded row, and becomes the write's `SourceRecord`.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from riskgraph.graph.values import LOCAL_TZ

#: the SourceRecord's sourceSystem for each channel people write through
API = "api"
CLI = "cli"


def new_request_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Origin:
    """Who writes, through what, when."""

    actor: str | None          #: the account; None for the anonymous public
    role: str                  #: the account's role (public, enterprise, inspector, analyst, admin)
    channel: str               #: API or CLI: becomes the SourceRecord's sourceSystem
    endpoint: str              #: "POST /q/{token}/hidden-dangers" (route template, never a token), or the command
    request_id: str = field(default_factory=new_request_id)  #: ties a request's records, log lines and audit entry
    at: dt.datetime = field(default_factory=lambda: dt.datetime.now(LOCAL_TZ).replace(microsecond=0))

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("a write's time must carry its time zone")
        if not self.channel or not self.endpoint or not self.request_id:
            raise ValueError("a write names its channel, endpoint and request")
