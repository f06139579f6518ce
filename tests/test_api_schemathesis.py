"""Property-based requests generated from the service's own OpenAPI document (schemathesis):
whatever a caller sends, the service answers with a 4xx or a success — never a 5xx. Bounded:
a few examples per operation, as anonymous and as an admin. Event streams (`GET /events`) are left
out: a valid request to one is answered by a stream that stays open by design, which schemathesis reads
to its end (test_warnings_api.py drives that route).

(The operations are driven with hypothesis directly: schemathesis' pytest plugin does not load
under this project's pytest.)"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

MAX_EXAMPLES = 8
BOUNDED = settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                   derandomize=True, database=None)


def _streams(operation) -> bool:
    """Does the operation answer with Server-Sent Events (an open-ended body)?"""
    responses = operation.definition.raw.get("responses", {})
    return any("text/event-stream" in (answer.get("content") or {}) for answer in responses.values())


@pytest.mark.parametrize("role", ["public", "admin"])
def test_no_request_makes_the_service_fail(api, role):
    schema = schemathesis.openapi.from_url(f"{api.base_url}/openapi.json")
    headers = {"Authorization": f"Bearer {api.token('admin1')}"} if role == "admin" else {}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        if _streams(operation):
            continue

        @BOUNDED
        @given(case=operation.as_strategy())
        def call(case) -> None:
            response = case.call(base_url=api.base_url, headers=headers, timeout=60)
            if response.status_code >= 500 and response.status_code != 504:
                failures.append(f"{case.method} {case.formatted_path} {case.query or ''} -> "
                                f"{response.status_code}: {response.text[:300]}")

        call()
    assert operations >= 20
    assert not failures, "\n".join(sorted(set(failures))[:20])
