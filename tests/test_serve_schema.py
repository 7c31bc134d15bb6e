"""schemathesis 4.x against the live /openapi.json: no server error on any generated request (bounded)."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from serve_support import serve_url  # noqa: E402

from kg.serve.settings import ServeSettings  # noqa: E402

_server = serve_url(ServeSettings(cds_open=True, sparql_timeout_s=5))
BASE = _server.__enter__()  # stopped at interpreter exit (daemon thread); one server for the module
schema = schemathesis.openapi.from_url(f"{BASE}/openapi.json")


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_error(case):
    response = case.call(timeout=30)
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
    if response.status_code >= 400:
        kind = (response.headers.get("content-type") or [""])[0]
        if kind.startswith("text/html"):  # a page's error, for a browser: the message, escaped, and the disclaimer
            assert 'role="alert"' in response.text and "not a diagnosis" in response.text
        else:
            assert kind == "application/json", kind
            body = response.json()
            assert {"error", "field", "status"} <= set(body) and body["status"] == response.status_code, body


def test_head_answers_every_get_operation_as_get_does():
    """HEAD on each GET operation of /openapi.json without path parameters: GET's status and headers, no body."""
    import json

    from serve_support import http

    paths = json.loads(http("GET", f"{BASE}/openapi.json")[2])["paths"]
    gets = [path for path, ops in paths.items() if "get" in ops and "{" not in path]
    assert {"/healthz", "/", "/sparql", "/cds-services", "/patients"} <= set(gets)
    for path in gets:
        get_status, get_headers, _ = http("GET", BASE + path)
        status, headers, body = http("HEAD", BASE + path)
        assert (status, body) == (get_status, b""), path
        assert headers.get("content-type") == get_headers.get("content-type"), path
