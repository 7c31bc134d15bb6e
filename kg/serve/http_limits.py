"""What ``painkg serve`` enforces on every request before a handler runs: body size, uploads at once, time.

:class:`ServeLimits` holds the numbers (:func:`serve_limits` reads them from the
:class:`~kg.serve.settings.ServeSettings` fields of the same names, which check
them; docs/serve.md lists them).
:class:`RequestLimitsMiddleware` applies the request-level ones:

- a body over the route's limit is refused with 413 from its ``Content-Length``,
  before a byte of it is read (patient bodies, ``POST /explain`` and the
  questions, 1 MiB as ``painkg explain`` reads a file; CDS calls carrying a
  prefetch bundle, 16 MiB); a chunked body is counted as it arrives;
- at most ``max_uploads`` large bodies (over 64 KiB, or of unknown length)
  are received at once: one more is 503 with ``Retry-After``, so stalled
  uploads cannot pin memory without bound (``max_uploads`` times 16 MiB at most);
- the whole body must arrive within ``body_timeout_s``: else 408;
- a request on a connection over ``max_connections`` (marked by
  :mod:`kg.serve.http_protocol`) is 503; a WebSocket upgrade is 400 (the
  service speaks plain HTTP only).

Every refusal is the JSON error (:mod:`kg.serve.http_errors`) with
``Connection: close``, and one short log line (``kg.serve.limits``; the log
filter of :mod:`kg.serve.log_limits` bounds their rate).

>>> limits = ServeLimits()
>>> limits.body_limit("POST", "/explain"), limits.body_limit("POST", "/cds-services/x")
(1048576, 16777216)
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, fields

from ..inputs.limits import LIMITS
from .http_errors import send_error

__all__ = ["ServeLimits", "serve_limits", "RequestLimitsMiddleware", "OVERLOADED", "PATIENT_PATHS",
           "SMALL_BODY_BYTES"]

_log = logging.getLogger("kg.serve.limits")

#: The scope extension :mod:`kg.serve.http_protocol` sets on a request that came over the connection cap.
OVERLOADED = "painkg.overloaded"

#: Bodies up to this size (declared by ``Content-Length``) do not count against ``max_uploads``.
SMALL_BODY_BYTES = 64 * 1024

#: Routes whose body is one patient: limited to ``patient_body_bytes`` (as ``painkg explain`` limits a file).
PATIENT_PATHS = frozenset({"/explain", "/why-not", "/what-if", "/interventions", "/timeline"})


@dataclass(frozen=True)
class ServeLimits:
    """The limits of one server; each is the ``ServeSettings`` field of the same name (defaults alike)."""

    #: seconds for a request's head (request line and headers) to arrive, counted from the connection or the
    #: previous answer; then 408 and the connection is closed (uvicorn itself has no such timeout).
    header_timeout_s: float = 10.0
    #: seconds for a whole request body to arrive once its head is in; then 408.
    body_timeout_s: float = 30.0
    #: seconds an idle keep-alive connection is kept (uvicorn's ``timeout_keep_alive``).
    keep_alive_s: float = 5.0
    #: connections served at once; requests over it get 503, connections over twice it are closed at once.
    max_connections: int = 512
    #: connections the system queues before the server accepts them; the server accepts them in one burst, so
    #: the open-file limit must hold this many besides twice ``max_connections`` (uvicorn's ``backlog``).
    backlog: int = 2048
    #: large request bodies received at once; one more gets 503 (each may hold up to ``max_body_bytes``).
    max_uploads: int = 8
    #: the largest request head (request line and headers): uvicorn's h11 buffer, and counted for httptools,
    #: whose parser buffers a header value however long it grows (:mod:`kg.serve.http_protocol`).
    max_head_bytes: int = 16 * 1024
    #: the largest body of any route (``ServeSettings.max_body_bytes``, 16 MiB).
    max_body_bytes: int = 16 * 1024 * 1024
    #: the largest patient body (``POST /explain`` and the questions; ``POST /`` takes 3 times it, a form
    #: percent-encodes).
    patient_body_bytes: int = LIMITS.patient_bytes

    def body_limit(self, method: str, path: str) -> int:
        """The body limit of a route: the patient limit for patient routes, else ``max_body_bytes``."""
        if path in PATIENT_PATHS:
            return min(self.patient_body_bytes, self.max_body_bytes)
        if path == "/" and method == "POST":
            return min(3 * self.patient_body_bytes + 64 * 1024, self.max_body_bytes)
        return self.max_body_bytes


def serve_limits(settings) -> ServeLimits:
    """The :class:`ServeLimits` of ``settings``: its fields of the same names (checked when it was built).

    >>> from kg.serve.settings import ServeSettings
    >>> serve_limits(ServeSettings(header_timeout_s=2)).header_timeout_s
    2.0
    """
    return ServeLimits(**{spec.name: getattr(settings, spec.name) for spec in fields(ServeLimits)})


class RequestLimitsMiddleware:
    """ASGI middleware applying :class:`ServeLimits` to each request (see the module docstring)."""

    def __init__(self, app, limits: ServeLimits):
        self.app = app
        self.limits = limits
        # Bodies being received now: a plain count, as the event loop runs one middleware call at a time.
        self.uploads = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            await _refuse_websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        overloaded = (scope.get("extensions") or {}).get(OVERLOADED)
        if overloaded is not None:  # the protocol's cap (it may have been lowered to fit the open-file limit)
            cap = overloaded.get("max_connections", self.limits.max_connections)
            await _refuse(scope, send, 503, "connections", f"connections: the server is at its limit of {cap:,} "
                          "connections; try again shortly", headers=[(b"retry-after", b"1")])
            return
        if headers.get(b"upgrade", b"").strip().lower() == b"websocket":
            await _refuse(scope, send, 400, "Upgrade", _NO_WEBSOCKET)
            return
        limit = self.limits.body_limit(scope.get("method", ""), scope.get("path", ""))
        length = headers.get(b"content-length")
        declared = None
        if length is not None:
            text = length.decode("latin-1").strip()
            if not (text.isascii() and text.isdigit()) or len(text) > 18:  # "²" is a digit to isdigit
                await _refuse(scope, send, 400, "Content-Length", "Content-Length: is not a whole number")
                return
            declared = int(text)
            if declared > limit:
                await _too_large(scope, send, limit)
                return
        if declared == 0 or (declared is None and b"transfer-encoding" not in headers):
            await self.app(scope, receive, send)  # no body: nothing to bound
            return
        # Small bodies are not counted: they arrive at once and pin little; the connection cap bounds them.
        large = declared is None or declared > SMALL_BODY_BYTES
        if large and self.uploads >= self.limits.max_uploads:
            await _refuse(scope, send, 503, "body", f"body: the server is receiving {self.uploads} large bodies, "
                          "its limit; try again shortly", headers=[(b"retry-after", b"1")])
            return
        self.uploads += large
        try:
            body = await self._read(scope, receive, send, limit)
        finally:
            self.uploads -= large
        if body is None:
            return  # refused, or the client went away
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read(self, scope, receive, send, limit: int) -> bytes | None:
        """The whole body within the deadline and the limit; None after answering 408/413 (or a disconnect)."""
        deadline = time.monotonic() + self.limits.body_timeout_s
        # One growing buffer, not a list of chunks: past glibc's mmap threshold it is its own mapping, given back
        # to the system when freed (thousands of 64 KiB chunks fragmented the heap and stayed in the process).
        buffer, more = bytearray(), True
        while more:
            try:
                # wait_for rather than asyncio.timeout: Python 3.10 is supported.
                message = await asyncio.wait_for(receive(), max(deadline - time.monotonic(), 0.001))
            except asyncio.TimeoutError:
                await _refuse(scope, send, 408, "body", f"body: not received within {self.limits.body_timeout_s:g} s "
                              f"({len(buffer):,} bytes arrived); send the whole body at once")
                return None
            if message["type"] == "http.disconnect":
                return None
            buffer += message.get("body", b"")
            if len(buffer) > limit:
                await _too_large(scope, send, limit)
                return None
            more = message.get("more_body", False)
        return bytes(buffer)


_NO_WEBSOCKET = "Upgrade: websocket is not supported; painkg serve answers plain HTTP requests only"


async def _too_large(scope, send, limit: int) -> None:
    await _refuse(scope, send, 413, "body", f"body: larger than the limit of {limit:,} bytes", limit_bytes=limit)


async def _refuse(scope, send, status: int, field: str, message: str, *, headers=(), **extra) -> None:
    client = (scope.get("client") or ("-",))[0]
    # One short line per refused request (no traceback); kg.serve.log_limits bounds how many reach the log.
    _log.warning("refused %s %s from %s: %s %s", scope.get("method", "-"), scope.get("path", "")[:100], client,
                 status, field)
    await send_error(send, status, field, message, headers=headers, **extra)


async def _refuse_websocket(scope, receive, send) -> None:
    """Refuse a WebSocket handshake with the JSON error where the server can send one (the ASGI WebSocket
    denial response extension), else close it (the server answers 403 then)."""
    message = await receive()
    if message.get("type") != "websocket.connect":
        return
    _log.warning("refused WebSocket %s from %s", scope.get("path", "")[:100], (scope.get("client") or ("-",))[0])
    if "websocket.http.response" not in (scope.get("extensions") or {}):
        await send({"type": "websocket.close", "code": 1008})
        return
    from .http_errors import error_bytes

    payload = error_bytes(400, "Upgrade", _NO_WEBSOCKET)
    await send({"type": "websocket.http.response.start", "status": 400,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "websocket.http.response.body", "body": payload})
