"""Property-based API tests: schemathesis generates requests from the OpenAPI description.

Every response must be free of server errors and match its documented schema and content
type. Bounded: a few examples per operation; jobs are accepted but not run.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from abroad.server.access import SESSION_COOKIE
from abroad.server.app import create_app

from server.conftest import login, settings_for

SKIPPED = ("/logout", "/disable")
"""Operations that would end the test's own session."""
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def test_api_never_fails_and_keeps_its_schema(db_url: str) -> None:
    app = create_app(settings_for(db_url, run_jobs=False, login_attempts_per_minute=10**6))
    with TestClient(app) as client:
        csrf = login(client, "admin")
        headers = {
            "X-CSRF-Token": csrf,
            "Cookie": f"{SESSION_COOKIE}={client.cookies.get(SESSION_COOKIE)}",
        }
        schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
        operations = [r.ok() for r in schema.get_all_operations()]
        assert len(operations) > 20
        tested = 0
        for operation in operations:
            if operation.path.endswith(SKIPPED):
                continue

            @given(case=operation.as_strategy())
            @settings(
                max_examples=4,
                deadline=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            def check(case: Any) -> None:
                case.call_and_validate(headers=headers, checks=CHECKS)

            check()
            tested += 1
        assert tested > 20
