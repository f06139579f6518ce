"""How the command line fails: one line in the user's language, exit 2 for usage, 1 for runtime errors.

Usage errors (a bad argument, a store that does not exist without `init`/`--create`) exit 2, like
argparse's own; everything that goes wrong while doing the work exits 1. A message is shown when
RiskGraph wrote it (a `RiskGraphError`, or a built-in error our own code raised on purpose); an error
from inside a library or the interpreter (`min() iterable argument is empty`, the store server's own
text) is an internal error: the user sees a reference, the log (RISKGRAPH_LOG_LEVEL=DEBUG) the rest.
"""
from __future__ import annotations

import linecache
import logging
import traceback
import uuid
from pathlib import Path

from riskgraph.cli.i18n import _, render
from riskgraph.graph.store import QueryTimeout, ReadOnlyViolation, StoreError
from riskgraph.ontology.errors import RiskGraphError

log = logging.getLogger("riskgraph.cli")

USAGE = 2
RUNTIME = 1
_PACKAGE = Path(__file__).resolve().parents[1]


class CliError(RiskGraphError, RuntimeError):
    """The command could not do its work; the message says why (exit 1)."""


class UsageError(RiskGraphError, ValueError):
    """The command was asked wrongly; the message says how to ask (exit 2)."""


class BadValue(CliError, ValueError):
    """A value the command cannot work with, found while working (exit 1); still a ValueError."""


class NotFound(CliError, LookupError):
    """What the command names is not there (exit 1); still a LookupError."""


def _raised_on_purpose(exc: BaseException) -> bool:
    """True when the innermost frame is a `raise` statement in RiskGraph's own source."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return False
    last = frames[-1]
    try:
        inside = Path(last.filename).resolve().is_relative_to(_PACKAGE)
    except OSError:
        return False
    line = (last.line or linecache.getline(last.filename, last.lineno or 0)).strip()
    return inside and line.startswith("raise")


def describe(exc: BaseException, *, command: str | None = None) -> tuple[str, int]:
    """The message to show and the exit code for an exception that ended a command."""
    if isinstance(exc, UsageError):
        return render(exc), USAGE
    if isinstance(exc, QueryTimeout):
        return _("the query ran past its time limit and was stopped (--timeout-ms)"), RUNTIME
    if isinstance(exc, ReadOnlyViolation):
        return _("refused: this command is read-only and the query tried to write"), RUNTIME
    if isinstance(exc, StoreError) and exc.backend_text:
        if command == "query":  # the analyst's own Cypher: the store's reason is what they need
            return _("the graph store refused the query: {reason}").format(reason=exc), RUNTIME
        ref = _internal(exc)
        return _("the graph store could not do this (ref {ref}; RISKGRAPH_LOG_LEVEL=DEBUG shows the details)").format(
            ref=ref), RUNTIME
    if isinstance(exc, RiskGraphError):
        return render(exc), RUNTIME
    if isinstance(exc, KeyError) and exc.args and _raised_on_purpose(exc):
        return str(exc.args[0]), RUNTIME
    if isinstance(exc, (ValueError, LookupError, RuntimeError, OSError)) and _raised_on_purpose(exc):
        return str(exc), RUNTIME
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError) and exc.filename:
        return _("cannot open {path}: {reason}").format(path=exc.filename, reason=exc.strerror), RUNTIME
    ref = _internal(exc)
    return _("internal error (ref {ref}); RISKGRAPH_LOG_LEVEL=DEBUG shows the details").format(ref=ref), RUNTIME


def _internal(exc: BaseException) -> str:
    ref = uuid.uuid4().hex[:8]
    log.debug("internal error (ref %s)", ref, exc_info=exc)
    return ref
