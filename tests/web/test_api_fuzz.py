"""schemathesis against the OpenAPI document: no request, however odd, gets a server error (5xx).

Every operation is fuzzed twice: anonymously and with a signed-in seller's session cookie.
"""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from .conftest import login_as


def test_no_server_errors(app, client, account_id):
    login_as(client, account_id("张伟"))
    client.get("/")  # materialise the session cookie
    cookie = f"session={client.get_cookie('session').value}"
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            for headers in ({}, {"Cookie": cookie}):
                response = case.call(headers=headers)
                assert response.status_code < 500, f"{case.method} {case.formatted_path} → {response.status_code}"
        check()
