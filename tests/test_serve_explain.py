"""The explain API over real HTTP: same answers as the CLI, content negotiation, JSON errors."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from click.testing import CliRunner  # noqa: E402
from serve_support import http, live_server  # noqa: E402,F401

from kg.cli import cli  # noqa: E402

EXAMPLES = sorted(Path("examples").glob("*.json"))
JSON = {"Content-Type": "application/json"}


def _cli(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_example_count():
    assert len(EXAMPLES) == 9


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_explain_json_equals_cli(live_server, path):
    status, headers, body = http("POST", f"{live_server}/explain", body=path.read_bytes(), headers=JSON)
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert body.decode("utf-8") == _cli("explain", str(path), "--format", "json")


@pytest.mark.parametrize("path", EXAMPLES[:3], ids=lambda p: p.stem)
def test_explain_text_equals_cli(live_server, path):
    status, headers, body = http("POST", f"{live_server}/explain", body=path.read_bytes(),
                                 headers={**JSON, "Accept": "text/plain"})
    assert status == 200
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert body.decode("utf-8") == _cli("explain", str(path), "--format", "text")


@pytest.mark.parametrize("accept, fmt", [("text/turtle", "ttl"), ("application/trig", "trig"),
                                         ("application/n-quads", "nq"), ("application/n-triples", "nt"),
                                         ("application/ld+json", "jsonld")])
def test_explain_rdf_negotiation(live_server, accept, fmt):
    path = "examples/lower-back-strain-day20.json"
    status, headers, body = http("POST", f"{live_server}/explain", body=Path(path).read_bytes(),
                                 headers={**JSON, "Accept": accept})
    assert status == 200
    assert headers["content-type"].split(";")[0] == accept
    assert body.decode("utf-8") == _cli("explain", path, "--format", fmt)


def test_accept_q_values_and_format_param(live_server):
    body = Path("examples/neck-strain-day16.json").read_bytes()
    status, headers, _ = http("POST", f"{live_server}/explain", body=body,
                              headers={**JSON, "Accept": "application/json;q=0.2, text/turtle;q=0.9"})
    assert (status, headers["content-type"]) == (200, "text/turtle; charset=utf-8")
    status, headers, _ = http("POST", f"{live_server}/explain?format=text", body=body, headers=JSON)
    assert (status, headers["content-type"]) == (200, "text/plain; charset=utf-8")


def test_as_of_and_threshold_match_cli(live_server):
    path = "examples/lower-back-strain-acute.json"
    status, _, body = http("POST", f"{live_server}/explain?as_of=%2B20d&threshold_days=10",
                           body=Path(path).read_bytes(), headers=JSON)
    assert status == 200
    expected = _cli("explain", path, "--format", "json", "--as-of", "+20d", "--threshold-days", "10")
    assert body.decode() == expected
    assert json.loads(body)["pain_persists"] is True


@pytest.mark.parametrize("endpoint, query, args", [
    ("why-not", "concept=muscle_knots", ["why-not", "examples/lower-back-strain-acute.json", "muscle_knots"]),
    ("why-not", "concept=persistent_pain&site=neck",
     ["why-not", "examples/two-injuries.json", "persistent_pain", "--site", "neck"]),
    ("what-if", "set=injuries%5B0%5D.resolved%3Dtrue",
     ["what-if", "examples/lower-back-strain-day20.json", "--set", "injuries[0].resolved=true"]),
    ("interventions", "", ["interventions", "examples/two-injuries.json"]),
    ("timeline", "", ["timeline", "examples/two-injuries.json"]),
])
@pytest.mark.parametrize("fmt", ["json", "text"])
def test_questions_equal_cli(live_server, endpoint, query, args, fmt):
    accept = "application/json" if fmt == "json" else "text/plain"
    status, _, body = http("POST", f"{live_server}/{endpoint}?{query}", body=Path(args[1]).read_bytes(),
                           headers={**JSON, "Accept": accept})
    assert status == 200, body
    assert body.decode("utf-8") == _cli(*args, "--format", fmt)


def _error(status_body) -> dict:
    status, headers, body = status_body
    assert headers["content-type"] == "application/json"
    data = json.loads(body)
    assert set(data) >= {"error", "field", "status"} and data["status"] == status
    assert "Traceback" not in data["error"] and "File \"" not in data["error"]
    return data


def test_malformed_json_is_400(live_server):
    r = http("POST", f"{live_server}/explain", body='{"id": "p1",', headers=JSON)
    assert r[0] == 400
    data = _error(r)
    assert data["field"] == "body"
    assert data["error"].startswith("body: the request body is not valid JSON (")


def test_duplicate_key_and_bad_utf8_are_400(live_server):
    r = http("POST", f"{live_server}/explain", body=b'{"id": "a", "id": "b"}', headers=JSON)
    assert r[0] == 400 and "given twice" in _error(r)["error"]
    r = http("POST", f"{live_server}/explain", body=b'{"id": "\xff"}', headers=JSON)
    assert r[0] == 400 and "not UTF-8" in _error(r)["error"]


def test_wrong_content_type_is_415(live_server):
    r = http("POST", f"{live_server}/explain", body="id=p1", headers={"Content-Type": "text/csv"})
    assert r[0] == 415
    assert _error(r)["field"] == "Content-Type"


def test_unacceptable_accept_is_406(live_server):
    r = http("POST", f"{live_server}/explain", body=Path(EXAMPLES[0]).read_bytes(),
             headers={**JSON, "Accept": "image/png"})
    assert r[0] == 406
    assert "application/json" in _error(r)["allowed"]


def test_invalid_patient_is_422_naming_the_field(live_server):
    patient = {"id": "p1", "assessed_on": "2026-03-10",
               "injuries": [{"kind": "strain", "site": "knee", "days_since_onset": 3}]}
    r = http("POST", f"{live_server}/explain", body=json.dumps(patient), headers=JSON)
    assert r[0] == 422
    data = _error(r)
    assert data["field"] == "injuries[0].site"
    assert data["error"].startswith('injuries[0].site: "knee" is not allowed; expected one of')


def test_bad_query_parameters_are_422(live_server):
    body = Path(EXAMPLES[0]).read_bytes()
    r = http("POST", f"{live_server}/explain?threshold_days=0", body=body, headers=JSON)
    assert r[0] == 422 and _error(r)["field"] == "threshold_days"
    r = http("POST", f"{live_server}/explain?threshold_days=abc", body=body, headers=JSON)
    assert r[0] == 422 and _error(r)["error"].startswith('threshold_days: "abc" is not allowed')
    r = http("POST", f"{live_server}/why-not?concept=knee", body=body, headers=JSON)
    assert r[0] == 422 and _error(r)["field"] == "concept"
    r = http("POST", f"{live_server}/why-not", body=body, headers=JSON)
    assert r[0] == 422 and _error(r)["field"] == "concept"


def test_a_string_body_is_not_read_as_a_path(live_server):
    r = http("POST", f"{live_server}/explain", body='"/etc/passwd"', headers=JSON)
    assert r[0] == 422
    assert _error(r)["error"].startswith("patient: a string is not allowed")


def _raw(base: str, request: bytes) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(request)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def test_oversized_body_is_413_before_reading(live_server):
    from kg.serve.http_limits import serve_limits
    from kg.serve.settings import ServeSettings

    limit = serve_limits(ServeSettings()).body_limit("POST", "/explain")  # a patient's limit, as painkg explain
    assert limit < ServeSettings().max_body_bytes
    head = (f"POST /explain HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {limit + 1}\r\nConnection: close\r\n\r\n").encode()
    answer = _raw(live_server, head + b"{")  # the rest of the body is never sent
    assert answer.startswith(b"HTTP/1.1 413")
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert body["field"] == "body" and body["limit_bytes"] == limit


def test_chunked_body_over_the_limit_is_413():
    from kg.serve.settings import ServeSettings
    from serve_support import serve_url

    with serve_url(ServeSettings(cds_open=True, max_body_bytes=1000)) as base:
        chunk = b"x" * 600
        head = b"POST /explain HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n" \
               b"Connection: close\r\n\r\n"
        framed = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(3)) + b"0\r\n\r\n"
        answer = _raw(base, head + framed)
    assert answer.startswith(b"HTTP/1.1 413")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"] == "body: larger than the limit of 1,000 bytes"


def test_unknown_path_and_method_are_json(live_server):
    r = http("GET", f"{live_server}/no/such/page")
    assert r[0] == 404 and _error(r)["field"] == "path"
    r = http("GET", f"{live_server}/explain")
    assert r[0] == 405 and _error(r)["field"] == "request" or r[0] == 405


def test_healthz_and_openapi(live_server):
    status, _, body = http("GET", f"{live_server}/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, _, body = http("GET", f"{live_server}/openapi.json")
    paths = json.loads(body)["paths"]
    assert {"/explain", "/why-not", "/what-if", "/interventions", "/timeline", "/sparql", "/"} <= set(paths)


def test_cors_headers_when_configured():
    from kg.serve.settings import ServeSettings
    from serve_support import serve_url

    with serve_url(ServeSettings(cds_open=True, cors_origins=("https://app.example.org",))) as base:
        status, headers, _ = http("OPTIONS", f"{base}/explain", headers={
            "Origin": "https://app.example.org", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        assert status == 200
        assert headers["access-control-allow-origin"] == "https://app.example.org"
        status, headers, _ = http("GET", f"{base}/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in {k.lower() for k in headers}


def test_no_cors_headers_by_default(live_server):
    _, headers, _ = http("GET", f"{live_server}/healthz", headers={"Origin": "https://app.example.org"})
    assert "access-control-allow-origin" not in {k.lower() for k in headers}


def test_fhir_bundle_equals_cli_with_ignored(live_server):
    path = Path("tests/fhir/refuted-condition.json")
    status, headers, body = http("POST", f"{live_server}/explain", body=path.read_bytes(),
                                 headers={"Content-Type": "application/fhir+json"})
    assert status == 200
    assert body.decode("utf-8") == _cli("explain", str(path), "--format", "json")
    ignored = json.loads(body)["ignored"]
    assert {"resource": "Condition/c1", "reason": "verificationStatus is refuted (the condition was ruled out)"} \
        in ignored


def test_invalid_fhir_is_422_naming_the_element(live_server):
    status, headers, body = http("POST", f"{live_server}/explain",
                                 body=Path("tests/fhir/con4-violation.json").read_bytes(), headers=JSON)
    assert status == 422
    data = json.loads(body)
    assert data["error"].startswith('Condition/c1.clinicalStatus: "active" is not allowed')


# POST /explain answers JSON through the memo (kg.reasoning.memo, shared by the engine threads): on
# the event loop when the memo holds every piece of the patient, else on an engine thread. Either
# way the bytes are those of fresh reasoning (painkg explain --format json, Explanation.to_json).

def _cohort(n: int, seed: int) -> list[dict]:
    import random

    from kg.cohort.synthetic import synthetic_patient

    rng = random.Random(seed)
    return [synthetic_patient(rng, f"memo-{seed}-{i}") for i in range(n)]


def test_explain_json_through_the_memo_equals_fresh_reasoning(live_server):
    import kg

    cohort = _cohort(40, 18)
    # Each patient three times: first reasoned (an engine thread), then from the memo (on the event
    # loop), then through the documented route with its query parameters validated.
    for patient in cohort:
        expected = kg.explain(patient).to_json().encode("utf-8")
        for query in ("", "", "?threshold_days=14"):
            status, headers, body = http("POST", f"{live_server}/explain{query}", body=json.dumps(patient),
                                         headers=JSON)
            assert (status, headers["content-type"]) == (200, "application/json"), body
            assert body == expected, (patient, query)


def test_memo_answers_depend_on_the_threshold_and_the_date(live_server):
    import kg

    patient = _cohort(1, 3)[0]
    patient = {**patient, "injuries": [{"kind": "muscle_strain", "site": "neck", "days_since_onset": 20}]}
    for query, kwargs in (("?threshold_days=30", {"threshold_days": 30}), ("", {}),
                          ("?as_of=%2B40d", {"as_of": "+40d"}), ("?threshold_days=10", {"threshold_days": 10})):
        status, _, body = http("POST", f"{live_server}/explain{query}", body=json.dumps(patient), headers=JSON)
        assert status == 200
        assert body.decode("utf-8") == kg.explain(patient, **kwargs).to_json(), query


def test_large_body_and_fhir_body_through_the_memo_equal_the_cli(live_server):
    from kg.serve.explain_api import INLINE_BODY_BYTES

    path = Path("examples/two-injuries.json")
    padded = path.read_bytes() + b" " * (INLINE_BODY_BYTES + 1)  # answered on an engine thread
    expected = _cli("explain", str(path), "--format", "json")
    for body in (path.read_bytes(), padded, path.read_bytes()):
        status, _, got = http("POST", f"{live_server}/explain", body=body, headers=JSON)
        assert (status, got.decode("utf-8")) == (200, expected)
    fhir = Path("tests/fhir/refuted-condition.json")
    for _ in range(2):  # reasoned, then from the memo: "ignored" is added to the memo's JSON alike
        status, _, got = http("POST", f"{live_server}/explain", body=fhir.read_bytes(),
                              headers={"Content-Type": "application/fhir+json"})
        assert (status, got.decode("utf-8")) == (200, _cli("explain", str(fhir), "--format", "json"))


def test_input_errors_are_the_same_from_the_memo_path(live_server):
    bad = {"id": "p1", "assessed_on": "2026-03-10", "injuries": [{"kind": "strain", "site": "knee",
                                                                   "days_since_onset": 3}]}
    answers = [http("POST", f"{live_server}/explain{q}", body=json.dumps(bad), headers=JSON)
               for q in ("", "?threshold_days=14")]
    assert [a[0] for a in answers] == [422, 422]
    assert _error(answers[0]) == _error(answers[1])
    assert _error(answers[0])["field"] == "injuries[0].site"
    status, _, body = http("POST", f"{live_server}/explain", body=b"{}", headers={"Content-Type": "text/csv"})
    assert status == 415


def test_explanation_json_without_orjson_gives_the_same_bytes(monkeypatch):
    import builtins

    import kg
    from kg.serve.explain_api import explanation_json

    e = kg.explain("examples/two-injuries.json")
    compact = json.dumps(e.to_dict(), ensure_ascii=False, separators=(",", ":"))
    with_orjson = explanation_json(compact)
    real_import = builtins.__import__

    def no_orjson(name, *args, **kwargs):
        if name == "orjson":
            raise ImportError("no orjson here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_orjson)
    assert explanation_json(compact) == with_orjson == e.to_json()
    ignored = [{"resource": "Procedure/p1", "reason": "a treatment"}]
    assert json.loads(explanation_json(compact, ignored))["ignored"] == ignored
