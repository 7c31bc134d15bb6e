"""A request that offers an HTTP/2 upgrade (``Upgrade: h2c``) is answered over HTTP/1.1 with its body read.

Every stock Java ``HttpClient`` offers h2c on a cleartext URL, body included (Jena's ``rsparql --post``
does; an EHR's CDS client may). RFC 9110 lets a server ignore the offer; uvicorn's httptools protocol
instead drops the body (uvicorn issue 2722), so painkg serves with h11 unless told otherwise. A real
server on a loopback port; the requests as a Java client writes them.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from serve_support import serve_url  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PATIENT = (ROOT / "examples" / "lower-back-strain-day20.json").read_bytes()
H2C = {"Connection": "Upgrade, HTTP2-Settings", "Upgrade": "h2c", "HTTP2-Settings": "AAEAAEAAAAIAAAABAAMAAABkAAQBAAAAAAUAAEAA"}


@pytest.fixture(scope="module")
def server():
    from kg.serve.settings import ServeSettings

    with serve_url(ServeSettings(cds_open=True)) as base:
        yield urllib.parse.urlsplit(base)


def _post(server, path: str, body: bytes, headers: dict, *, chunked: bool = False) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(server.hostname, server.port, timeout=30)
    try:
        if chunked:
            conn.request("POST", path, body=iter([body[:100], body[100:]]), headers={**H2C, **headers},
                         encode_chunked=True)
        else:
            conn.request("POST", path, body=body, headers={**H2C, **headers})
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_explain_reads_the_body_of_a_request_offering_h2c(server, chunked):
    status, body = _post(server, "/explain", PATIENT, {"Content-Type": "application/json"}, chunked=chunked)
    assert status == 200, body
    answer = json.loads(body)
    assert answer["patient"] == "p1" and answer["pain_persists"] is True


def test_sparql_reads_the_form_of_a_request_offering_h2c(server):
    form = urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"}).encode()
    status, body = _post(server, "/sparql", form, {"Content-Type": "application/x-www-form-urlencoded",
                                                   "Accept": "application/sparql-results+json"})
    assert status == 200, body
    assert json.loads(body)["boolean"] is True
