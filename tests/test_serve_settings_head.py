"""``max_head_bytes`` (``painkg serve --max-head``) bounds a request head with either HTTP parser.

h11 refuses a head over its buffer limit itself (uvicorn's ``h11_max_incomplete_event_size``, set from the
setting); httptools keeps a header value growing however long it is, so kg.serve.http_protocol counts the
bytes of an unfinished head. Measured before this guard, one endless header held 95 MiB of a server running
httptools after 8 s, bounded only by the 10 s header timeout. Real servers on loopback (tests/serve_support.py).
"""

from __future__ import annotations

import json
import re
import socket
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from serve_support import serve_url  # noqa: E402

from kg.serve.settings import ServeSettings  # noqa: E402

LIMIT = 4096


def _parser(name: str) -> str:
    if name == "httptools":
        pytest.importorskip("httptools")
    return name


def _send_until_closed(port: int, head: bytes, piece: bytes, most: int) -> tuple[int, bytes]:
    """Send ``head``, then ``piece`` after ``piece`` (never ending the head) until the server closes or ``most``
    bytes went: ``(bytes sent, the answer)``."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(head)
        sent = len(head)
        try:
            while sent < most:
                sock.sendall(piece)
                sent += len(piece)
                time.sleep(0.002)  # pieces arrive one by one, as a slow client sends them
        except (BrokenPipeError, ConnectionResetError):
            pass
        got = b""
        try:
            while chunk := sock.recv(65536):
                got += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    return sent, got


@pytest.mark.parametrize("parser", ["h11", "httptools"])
def test_a_head_over_max_head_bytes_is_400_and_closed(parser):
    settings = ServeSettings(cds_open=True, http_parser=_parser(parser), max_head_bytes=LIMIT)
    with serve_url(settings) as base:
        port = int(base.rsplit(":", 1)[1])
        sent, got = _send_until_closed(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: ", b"a" * 512,
                                       most=4 * 1024 * 1024)
        head, _, body = got.partition(b"\r\n\r\n")
        assert head.split(b"\r\n")[0] == b"HTTP/1.1 400 Bad Request", got[:200]
        answer = json.loads(body)
        assert (answer["status"], answer["field"]) == (400, "request")
        if parser == "httptools":
            assert answer["error"] == "request: the request line and headers are larger than 4,096 bytes"
        # Refused once the limit was passed, not after megabytes (socket buffers hold what was in flight).
        assert sent < 1024 * 1024, sent
        # A head under the limit is served, on a new connection.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * (LIMIT - 200) + b"\r\n"
                         b"Connection: close\r\n\r\n")
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 200 OK"), reply[:200]


@pytest.mark.parametrize("parser", ["h11", "httptools"])
def test_a_long_request_line_is_bounded_too(parser):
    settings = ServeSettings(cds_open=True, http_parser=_parser(parser), max_head_bytes=LIMIT)
    with serve_url(settings) as base:
        port = int(base.rsplit(":", 1)[1])
        sent, got = _send_until_closed(port, b"GET /sparql?query=", b"a" * 512, most=4 * 1024 * 1024)
        assert got.startswith(b"HTTP/1.1 400 Bad Request") and sent < 1024 * 1024, (sent, got[:200])


def test_a_body_in_the_same_chunk_as_the_next_head_does_not_count_against_it():
    """Keep-alive with httptools: a 60 KiB body, then the next request, in one send: both are answered."""
    settings = ServeSettings(cds_open=True, http_parser=_parser("httptools"), max_head_bytes=LIMIT)
    with serve_url(settings) as base:
        port = int(base.rsplit(":", 1)[1])
        body = b'{"x": "' + b"a" * (60 * 1024) + b'"}'
        first = (b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        second = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(first + second)
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", reply)
        assert statuses == [b"400", b"200"], reply[:500]  # the first is a malformed query, the second is served
