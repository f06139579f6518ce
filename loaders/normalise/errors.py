"""Why a row cannot be loaded: a reason code from a fixed list, and a message for people."""
from __future__ import annotations

from typing import Any

from riskgraph.ontology.errors import RiskGraphError

#: Reason codes a quarantined row can carry.
REASONS = {
    "missing_required": "a required field is empty",
    "out_of_range": "a value lies outside its plausible range",
    "unparseable_date": "a date cannot be read",
    "unparseable_number": "an amount or quantity cannot be read",
    "orphan_reference": "the row refers to something that does not exist",
    "unresolved_entity": "the enterprise the row refers to cannot be identified",
    "encoding_error": "the row's bytes are not valid text in any expected encoding",
    "duplicate_row": "the row repeats an earlier row of the same file exactly",
    "invalid_value": "a value is not in its allowed set or format",
    "malformed_row": "the row's text cannot be split into cells (an unmatched quote, a cell over the size limit)",
    "not_allowed": "the source may not send this kind of message (live ingest: its kind, or not registered)",
    "processing_error": "the message could not be stored for a reason of its own; the service log says why",
}


class RowError(RiskGraphError, ValueError):
    """A value that makes its row unloadable."""

    def __init__(self, reason: str, message: str, field: str | None = None, *, raw: str | None = None,
                 **values: Any) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown reason code {reason!r}")
        super().__init__(message, **values)
        self.reason = reason
        self.field = field
        self.message = self.text
        #: the row's content when no row could be read from it (unreadable bytes, escaped)
        self.raw = raw
