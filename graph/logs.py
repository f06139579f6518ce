"""Logging for the CLI and the service, configured once: one line per event on stderr.

Each line is `key=value` pairs (or a JSON object with `RISKGRAPH_LOG_FORMAT=json`, for a log
shipper) with the time, level, logger and message, the id of the work in progress — the load id
of a `riskgraph load`, the request id of an HTTP request — and the event's own fields, given as
`log.info("file loaded", extra={"rows_read": 120})`. The ids ride on context variables, so code
deep inside a load or a request logs them without passing them around.

Secrets never reach the log: a field whose name says password, secret, token, key, cookie or
authorization is written as `[redacted]`, and credentials inside URLs are cut out of every value.

Stdout stays for a command's output (JSON, tables); logs only ever go to stderr. `RISKGRAPH_LOG_LEVEL`
sets the level (default info). This module sits in `graph/`, the lowest layer that logs, so the
loaders, reasoning, the service and the CLI all import it without a cycle.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO

from riskgraph.ontology.errors import N_, SettingError

ENV_LEVEL = "RISKGRAPH_LOG_LEVEL"
ENV_FORMAT = "RISKGRAPH_LOG_FORMAT"
FORMATS = ("kv", "json")

#: the load a line belongs to (set by the loader for the whole of one `load_directory`)
LOAD_ID: ContextVar[str | None] = ContextVar("riskgraph_load_id", default=None)
#: the HTTP request a line belongs to (set by the service's request middleware)
REQUEST_ID: ContextVar[str | None] = ContextVar("riskgraph_request_id", default=None)
_CONTEXT = {"load_id": LOAD_ID, "request_id": REQUEST_ID}

REDACTED = "[redacted]"
_SECRET_NAME = re.compile(r"pass(word|wd)?|secret|token|(^|_)key$|api_?key|cookie|authori[sz]ation|credential", re.I)
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.I)
#: LogRecord attributes that are not an event's own fields
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName",
                                                                         "color_message"}  # uvicorn's ANSI twin of msg
_MARK = "_riskgraph_handler"
#: loggers shown at the configured level; every other library's only from warning up
OWN_LOGGERS = ("riskgraph", "uvicorn")


@contextmanager
def bound(var: ContextVar[str | None], value: str) -> Iterator[None]:
    """Every line logged inside the block carries `value` (a load id, a request id)."""
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


def scrub(text: str) -> str:
    """`text` without the user:password part of any URL in it."""
    return _URL_CREDENTIALS.sub(r"\g<scheme>", text)


def _clean(name: str, value: Any) -> Any:
    if _SECRET_NAME.search(name):
        return REDACTED
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return scrub(str(value))


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The line's fields in order: time, level, logger, message, the context's ids, the event's own."""
    out: dict[str, Any] = {
        "ts": dt.datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": scrub(record.getMessage()),
    }
    for name, var in _CONTEXT.items():
        value = getattr(record, name, None) or var.get()
        if value:
            out[name] = value
    for name, value in vars(record).items():
        if name not in _STANDARD and name not in out and not name.startswith("_"):
            out[name] = _clean(name, value)
    if record.exc_info and record.exc_info[1] is not None:
        out["exc"] = scrub("".join(logging.Formatter().formatException(record.exc_info)))
    return out


def _kv_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if text and not re.search(r'[\s="\\]', text):
        return text
    return json.dumps(text, ensure_ascii=False)


class StructuredFormatter(logging.Formatter):
    """`key=value` pairs (values with spaces, quotes or `=` are JSON-quoted), or one JSON object."""

    def __init__(self, fmt: str = "kv") -> None:
        super().__init__()
        if fmt not in FORMATS:
            raise SettingError(N_("log format must be one of {formats}, not {fmt!r}"), formats=FORMATS, fmt=fmt)
        self.fmt = fmt

    def format(self, record: logging.LogRecord) -> str:
        data = fields(record)
        if self.fmt == "json":
            return json.dumps(data, ensure_ascii=False, default=str)
        return " ".join(f"{k}={_kv_value(v)}" for k, v in data.items())


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time, so a progress bar that redirects it keeps its place."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def _level(level: str | int) -> int:
    if isinstance(level, int):
        return level
    number = logging.getLevelNamesMapping().get(level.upper())
    if number is None:
        raise SettingError(N_("unknown log level {level!r}; one of debug, info, warning, error"), level=level)
    return number


def configure(level: str | int | None = None, fmt: str | None = None) -> int:
    """Send every log record (RiskGraph's, uvicorn's, libraries' warnings) to stderr in the structured format.

    Idempotent: a second call changes the level and format of the one handler it installed.
    `level` and `fmt` default to RISKGRAPH_LOG_LEVEL (info) and RISKGRAPH_LOG_FORMAT (kv).
    Returns the level now in force for RiskGraph's loggers.
    """
    level = _level(level if level is not None else os.environ.get(ENV_LEVEL) or "INFO")
    fmt = (fmt or os.environ.get(ENV_FORMAT) or "kv").lower()
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, _MARK, False)), None)
    if handler is None:
        handler = _StderrHandler()
        setattr(handler, _MARK, True)
        root.addHandler(handler)
    handler.setFormatter(StructuredFormatter(fmt))
    # our own loggers and the server's at the level asked; other libraries only from warnings up
    root.setLevel(max(level, logging.WARNING))
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level)
    return level
