"""uvicorn's HTTP protocols with the guards uvicorn lacks: a header timeout, a connection cap, JSON errors.

:func:`guarded_protocol` makes the protocol class :func:`kg.serve.run.uvicorn_config`
passes to uvicorn (``uvicorn.Config(http=...)``): uvicorn's ``httptools``
protocol where httptools is installed (the faster parser, as uvicorn's own
``auto``), else its ``h11`` one, with :class:`Guards` mixed in and bound to one
server's :class:`~kg.serve.http_limits.ServeLimits`:

- **header timeout**: a request's head (request line and headers) must arrive
  within ``header_timeout_s`` of the connection, or of the previous answer on a
  kept-alive connection; else 408 (JSON) and the connection is closed (a
  connection that sent nothing is closed unanswered). uvicorn waits for a head
  forever once its first byte is in, so one byte a minute held a connection.
- **connection cap**: a request on a connection over ``max_connections`` is
  marked (:data:`~kg.serve.http_limits.OVERLOADED`) and answered 503 by the
  app's limits middleware, as JSON with CORS headers (uvicorn's own
  ``limit_concurrency`` answered plain text); a connection over twice the cap
  is closed at once, unanswered, so the process keeps descriptors for
  ``/healthz``.
- **head size**: a request head over ``max_head_bytes`` is answered 400 (JSON)
  and the connection closed, with either parser: h11's own buffer limit
  (uvicorn's ``h11_max_incomplete_event_size``), and for httptools the bytes of
  an unfinished head counted here, as its parser keeps a header value growing
  however long it is (one endless header held 95 MiB in 8 s, bounded only by
  the header timeout).
- **JSON errors**: a request the parser refuses is answered 400 with the JSON
  error (uvicorn sent "Invalid HTTP request received." as plain text).
- **no WebSocket**: the service has no WebSocket endpoint and runs with
  ``ws="none"``; an upgrade request reaches the app as plain HTTP and is
  refused there (400, JSON), without uvicorn's two warnings per request.

What is relied on in uvicorn's protocols: their ``app``, ``cycle`` (with
``response_complete``), ``connections``, ``tasks``, ``transport``, ``loop`` and
``client`` attributes and the methods overridden below, alike in both;
``tests/test_serve_attack_http.py`` checks each guard against the real server.

>>> guarded_protocol(ServeLimits(header_timeout_s=2.0)).limits.header_timeout_s
2.0
"""

from __future__ import annotations

import logging

from .http_errors import error_bytes
from .http_limits import OVERLOADED, ServeLimits
from .settings import HTTP_PARSERS

__all__ = ["guarded_protocol", "Guards", "PARSERS"]

_log = logging.getLogger("kg.serve.limits")

#: The parsers :func:`guarded_protocol` takes: ``auto`` is httptools where it is installed, else h11.
PARSERS = HTTP_PARSERS


class Guards:
    """The guards of the module docstring, mixed in before a uvicorn protocol class; ``limits`` is set by
    :func:`guarded_protocol`."""

    limits: ServeLimits = ServeLimits()

    def __init__(self, config, server_state, app_state, _loop=None):
        super().__init__(config, server_state, app_state, _loop)
        self.limit_concurrency = None  # the cap is ours (JSON, CORS), not uvicorn's plain-text one
        self.head_timer = None
        self.head_started = False  # httptools: a request's head has begun and is not complete
        self.head_bytes = 0  # httptools: bytes of the unfinished head received so far
        inner, cap = self.app, self.limits.max_connections

        def admit(scope, receive, send):
            # The request's own task is already counted in tasks, and its connection in connections.
            if len(self.connections) > cap or len(self.tasks) > cap:
                scope["extensions"] = {**(scope.get("extensions") or {}), OVERLOADED: {"max_connections": cap}}
            return inner(scope, receive, send)

        self.app = admit

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        if len(self.connections) > 2 * self.limits.max_connections:
            # Far over the cap: close at once, so the process keeps file descriptors (and /healthz) available.
            self.connections.discard(self)
            transport.abort()
            return
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        cycle = self.cycle
        # Whether this chunk starts inside a head or between requests (else its first bytes may be the end of
        # the previous request's body, which must not count against the next head).
        from_head = self.head_started or cycle is None or cycle.response_complete
        super().data_received(data)
        if self.cycle is not cycle:  # a request's head is complete: its body has its own deadline
            self._cancel_head_timer()
        if self.head_started and from_head:  # httptools, still in a head after this chunk
            self.head_bytes += len(data)
            if self.head_bytes > self.limits.max_head_bytes and not self.transport.is_closing():
                self._head_too_large()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        cycle = self.cycle
        if not self.transport.is_closing() and (cycle is None or cycle.response_complete):
            self._arm_head_timer()  # kept alive with no request in hand: the next head has the same time

    def on_message_begin(self) -> None:  # httptools only (h11 has no such callback)
        self.head_started = True
        self.head_bytes = 0
        super().on_message_begin()

    def on_headers_complete(self) -> None:  # httptools only
        self.head_started = False
        super().on_headers_complete()

    def _head_pending(self) -> bool:
        """Whether bytes of an unfinished request head have arrived."""
        conn = getattr(self, "conn", None)
        if conn is not None and hasattr(conn, "trailing_data"):  # h11 keeps them in its buffer
            return bool(conn.trailing_data[0])
        return self.head_started

    def connection_lost(self, exc) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        # Written raw, as both parsers are in an error state here; the connection closes after it.
        payload = error_bytes(400, "request", "request: is not a valid HTTP/1.1 request")
        self.transport.write(b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
                             b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(payload), payload))
        self.transport.close()

    def _head_too_large(self) -> None:
        """Refuse a head over ``max_head_bytes`` (httptools; h11 refuses it itself): 400, JSON, closed."""
        client = self.client[0] if self.client else "-"
        _log.warning("closed a connection from %s: request head over %d bytes", client, self.limits.max_head_bytes)
        payload = error_bytes(400, "request", f"request: the request line and headers are larger than "
                                              f"{self.limits.max_head_bytes:,} bytes")
        self.transport.write(b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
                             b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(payload), payload))
        self.transport.close()

    def _unsupported_upgrade_warning(self) -> None:
        pass  # the app refuses the upgrade (400, JSON) and logs one line for it

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self.head_timer = self.loop.call_later(self.limits.header_timeout_s, self._head_timeout)

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timeout(self) -> None:
        self.head_timer = None
        if self.transport.is_closing():
            return
        if self._head_pending():  # part of a head arrived: say why the connection ends
            client = self.client[0] if self.client else "-"
            _log.warning("closed a connection from %s: no request head within %g s", client,
                         self.limits.header_timeout_s)
            payload = error_bytes(408, "request", f"request: the request line and headers did not arrive within "
                                                  f"{self.limits.header_timeout_s:g} s")
            self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                                 b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(payload), payload))
        self.transport.close()


def guarded_protocol(limits: ServeLimits, parser: str = "auto") -> type:
    """uvicorn's protocol for ``parser`` (one of :data:`PARSERS`) with :class:`Guards`, bound to ``limits`` (a
    class per server: no shared state). httptools asked for but not installed is :class:`ImportError`."""
    if parser not in PARSERS:
        from ..errors import InputError

        raise InputError("http_parser", parser, f"one of {', '.join(PARSERS)}")
    if parser != "h11":
        try:
            from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
        except ImportError:
            if parser == "httptools":
                raise
            parser = "h11"
    if parser == "h11":
        from uvicorn.protocols.http.h11_impl import H11Protocol as base
    return type(f"Guarded{base.__name__}", (Guards, base), {"limits": limits})
