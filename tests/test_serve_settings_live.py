"""Settings given to `painkg serve` on the command line reach the running server: the real command in its own
process on a loopback port, asked over HTTP (tests/serve_support.py's client), then stopped with SIGTERM.

With ``--header-timeout 1`` a request whose head never ends is answered 408 after about a second (the default
is 10 s); with ``--sparql-concurrency 1 --sparql-queue 0`` a second query while a heavy one runs is refused at
once with 503 and ``Retry-After``; with ``--max-patient-body`` a larger patient is 413 before it is read.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from serve_support import http, wait_until_healthy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HEAVY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # a cross product: runs to the timeout
QUERY = {"Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"}
OPTIONS = ["--header-timeout", "1", "--sparql-concurrency", "1", "--sparql-queue", "0", "--sparql-timeout", "3",
           "--max-patient-body", "2000", "--log-level", "warning"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """``painkg serve`` with :data:`OPTIONS` on a free loopback port: yields ``(base URL, process)``."""
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "kg.cli", "serve", "--port", str(port), *OPTIONS],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**os.environ})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, proc, log)
        yield base, proc, log
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_header_timeout_from_the_command_line_answers_408_after_a_second(served):
    base, _, _ = served
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=8) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # the head never ends
        got = b""
        while chunk := sock.recv(65536):
            got += chunk
        elapsed = time.monotonic() - started
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"HTTP/1.1 408 Request Timeout"
    assert b"content-type: application/json" in head.lower() and b"connection: close" in head.lower()
    assert json.loads(body)["status"] == 408 and json.loads(body)["field"] == "request"
    assert 0.9 <= elapsed < 4.0, elapsed  # the default would have held it 10 s


def test_sparql_queue_0_from_the_command_line_refuses_a_second_query_with_503(served):
    base, _, _ = served
    heavy: list = []
    runner = threading.Thread(target=lambda: heavy.append(http("POST", f"{base}/sparql", body=HEAVY, headers=QUERY,
                                                               timeout=30)))
    runner.start()
    try:
        time.sleep(1.0)  # the heavy query holds the one turn (it runs until its 3 s timeout)
        started = time.monotonic()
        status, headers, body = http("POST", f"{base}/sparql", body="ASK {}", headers=QUERY, timeout=30)
        waited = time.monotonic() - started
    finally:
        runner.join(timeout=30)
    headers = {name.lower(): value for name, value in headers.items()}
    assert (status, headers["retry-after"], headers["content-type"]) == (503, "5", "application/json")
    assert json.loads(body) == {"error": "query: the server is busy (1 query running and 0 waiting, its limit); try "
                                         "again later", "field": "query", "status": 503, "retry_after": 5}
    assert waited < 2.0  # refused at once, not queued
    assert heavy and heavy[0][0] == 503  # the heavy one ran into --sparql-timeout 3
    # The turn is free again: a trivial query is answered.
    status, _, body = http("POST", f"{base}/sparql", body="ASK {}", headers=QUERY, timeout=30)
    assert status == 200 and json.loads(body)["boolean"] is True


def test_max_patient_body_from_the_command_line_is_413_before_reading(served):
    base, _, _ = served
    patient = (ROOT / "examples" / "lower-back-strain-day20.json").read_bytes()
    assert len(patient) < 2000
    assert http("POST", f"{base}/explain", body=patient, headers={"Content-Type": "application/json"})[0] == 200
    big = patient[:-2] + b" " * 2000 + patient[-2:]
    status, _, body = http("POST", f"{base}/explain", body=big, headers={"Content-Type": "application/json"})
    assert (status, json.loads(body)) == (413, {"error": "body: larger than the limit of 2,000 bytes", "field": "body",
                                               "status": 413, "limit_bytes": 2000})


def test_sigterm_stops_the_server_cleanly(served):
    """Last in the module: SIGTERM (as systemd stops it) ends painkg serve at once when idle, with no traceback.

    uvicorn shuts down gracefully, then raises the signal again, so the process ends by SIGTERM, which
    systemd counts as a clean stop."""
    _, proc, log = served
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=40) in (0, -signal.SIGTERM)
    assert time.monotonic() - started < 10
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-2000:]
