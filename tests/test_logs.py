"""Structured logging: one line per event, the work's id on it, no secret in it."""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from riskgraph.graph import logs


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """configure() changes the process's root logger: put it back for the other tests."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, {n: logging.getLogger(n).level for n in logs.OWN_LOGGERS})
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


def _record(msg: str, *args, **extra) -> logging.LogRecord:
    record = logging.LogRecord("riskgraph.loaders.load", logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def test_key_value_lines_carry_the_load_id_and_the_event_fields():
    with logs.bound(logs.LOAD_ID, "load-20261101T080000-0a1b2c3d"):
        line = logs.StructuredFormatter().format(_record("file loaded", file="iot/alarms.jsonl", rows_read=660,
                                                         note='has "quotes" and spaces'))
    assert line.startswith("ts=") and " level=info logger=riskgraph.loaders.load " in line
    assert 'msg="file loaded" load_id=load-20261101T080000-0a1b2c3d file=iot/alarms.jsonl rows_read=660' in line
    assert 'note="has \\"quotes\\" and spaces"' in line
    assert "request_id" not in line  # no request in progress
    # outside the block the id is gone
    assert "load_id" not in logs.StructuredFormatter().format(_record("later"))


def test_json_lines_parse_and_keep_types():
    with logs.bound(logs.REQUEST_ID, "abc123"):
        data = json.loads(logs.StructuredFormatter("json").format(_record("request %s", "GET", status=200, ms=1.5)))
    assert data["msg"] == "request GET" and data["request_id"] == "abc123"
    assert data["status"] == 200 and data["ms"] == 1.5


def test_secrets_never_reach_a_line():
    fmt = logs.StructuredFormatter("json")
    data = json.loads(fmt.format(_record("connecting to neo4j://neo4j:hunter2@db:7687", password="hunter2",
                                         jwt_secret="s3cr3t", access_token="eyJ.x.y", api_key="k",
                                         url="bolt://user:pw@host:7687/db", rows=3)))
    text = json.dumps(data)
    for secret in ("hunter2", "s3cr3t", "eyJ.x.y", ":pw@"):
        assert secret not in text
    assert data["password"] == data["jwt_secret"] == data["access_token"] == data["api_key"] == logs.REDACTED
    assert data["url"] == "bolt://host:7687/db" and data["msg"] == "connecting to neo4j://db:7687" and data["rows"] == 3


def test_exceptions_are_one_line_with_their_traceback():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("riskgraph", logging.ERROR, __file__, 1, "failed", None, __import__("sys").exc_info())
    line = logs.StructuredFormatter().format(record)
    assert "\n" not in line and "RuntimeError: boom" in line


def test_configure_once_for_the_process(restored_logging, capsys):
    assert logs.configure("debug") == logging.DEBUG
    assert logs.configure("info", "json") == logging.INFO  # again: the same handler, new level and format
    assert sum(getattr(h, "_riskgraph_handler", False) for h in logging.getLogger().handlers) == 1
    logging.getLogger("riskgraph.test").info("shown", extra={"n": 1})
    logging.getLogger("riskgraph.test").debug("hidden")
    logging.getLogger("some.library").info("a library's chatter is hidden below warning")
    err = capsys.readouterr().err.splitlines()
    assert [json.loads(line)["msg"] for line in err] == ["shown"]
    with pytest.raises(ValueError, match="unknown log level"):
        logs.configure("loud")
    with pytest.raises(ValueError, match="log format"):
        logs.configure("info", "xml")
