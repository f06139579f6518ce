"""Every request has an id: in its response, in each log line written while it ran, and as an error's ref."""
from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from api_support import E1, assert_error

from riskgraph.api.request_context import loggable_path
from riskgraph.graph.logs import StructuredFormatter


def configure_app(app):
    def crash() -> dict:
        logging.getLogger("riskgraph.api.test").warning("about to fail")
        raise RuntimeError("internal detail")

    app.add_api_route("/test-only/crash", crash, methods=["GET"])


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(StructuredFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def lines(api) -> Iterator[list[str]]:
    handler = Lines()
    logger = logging.getLogger("riskgraph.api")
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


def test_each_response_has_its_own_id_and_its_log_line(api, lines):
    first, second = api.get(None, f"/enterprises/{E1}"), api.get(None, f"/enterprises/{E1}")
    ids = [r.headers["X-Request-ID"] for r in (first, second)]
    assert all(re.fullmatch(r"[0-9a-f]{16}", i) for i in ids) and ids[0] != ids[1]
    for request_id in ids:
        line = next(ln for ln in lines if f"request_id={request_id}" in ln)
        assert 'msg=request' in line and f"path=/enterprises/{E1}" in line and "status=200" in line and "ms=" in line


def test_a_callers_plain_id_is_kept_and_anything_else_replaced(api):
    assert api.get(None, "/health", headers={"X-Request-ID": "lb-7f3a.42"}).headers["X-Request-ID"] == "lb-7f3a.42"
    forged = api.get(None, "/health", headers={"X-Request-ID": "x level=error msg=forged"}).headers["X-Request-ID"]
    assert forged != "x level=error msg=forged" and re.fullmatch(r"[0-9a-f]{16}", forged)


def test_an_unhandled_error_is_found_in_the_log_by_its_ref(api, lines):
    detail = assert_error(api.get(None, "/test-only/crash", headers={"X-Request-ID": "trace-1"}), 500, "internal_error")
    assert detail["details"]["ref"] == "trace-1"
    tagged = [ln for ln in lines if "request_id=trace-1" in ln]
    assert any('msg="about to fail"' in ln for ln in tagged)  # written inside the route
    assert any("unhandled error" in ln and "RuntimeError" in ln for ln in tagged)  # by the error handler
    assert any("msg=request" in ln and "status=500" in ln for ln in tagged)


def test_a_codes_token_stays_out_of_the_request_line():
    assert loggable_path("/q/AB12CD34/hidden-dangers") == "/q/[token]/hidden-dangers"
    assert loggable_path("/Q/AB12CD34") == "/Q/[token]"
    assert loggable_path("/qr/Enterprise/91130100MA0CEFGH1X.png") == "/qr/Enterprise/91130100MA0CEFGH1X.png"
