"""uvicorn's h11 protocol with the guards uvicorn lacks: a header timeout, a connection cap, JSON errors.

:func:`guarded_protocol` makes the protocol class :func:`kg.serve.run.uvicorn_config`
passes to uvicorn (``uvicorn.Config(http=...)``), bound to one server's
:class:`~kg.serve.http_limits.ServeLimits`:

- **header timeout**: a request's head (request line and headers) must arrive
  within ``header_timeout_s`` of the connection, or of the previous answer on a
  kept-alive connection; else 408 (JSON) and the connection is closed. uvicorn
  waits for a head forever once its first byte is in, so one byte a minute
  held a connection for good.
- **connection cap**: a request on a connection over ``max_connections`` is
  marked (:data:`~kg.serve.http_limits.OVERLOADED`) and answered 503 by the
  app's limits middleware, as JSON with CORS headers (uvicorn's own
  ``limit_concurrency`` answered plain text); a connection over twice the cap
  is closed at once, unanswered, so the process keeps descriptors for
  ``/healthz``.
- **JSON errors**: a request h11 cannot parse is answered 400 with the JSON
  error (uvicorn sent "Invalid HTTP request received." as plain text).
- **no WebSocket**: the service has no WebSocket endpoint and runs with
  ``ws="none"``; an upgrade request reaches the app as plain HTTP and is
  refused there (400, JSON), without uvicorn's two warnings per request.

Only documented behaviour of uvicorn's ``H11Protocol`` is relied on: its
``app``, ``cycle``, ``connections``, ``tasks`` and ``transport`` attributes and
the methods overridden below; ``tests/test_serve_attack_http.py`` checks each
guard against the real server.
"""

from __future__ import annotations

import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .http_errors import error_bytes
from .http_limits import OVERLOADED, ServeLimits

__all__ = ["guarded_protocol", "GuardedH11Protocol"]

_log = logging.getLogger("kg.serve.limits")


class GuardedH11Protocol(H11Protocol):
    """:class:`H11Protocol` with the guards of the module docstring; ``limits`` is set by :func:`guarded_protocol`."""

    limits: ServeLimits = ServeLimits()

    def __init__(self, config, server_state, app_state, _loop=None):
        super().__init__(config, server_state, app_state, _loop)
        self.limit_concurrency = None  # the cap is ours (JSON, CORS), not uvicorn's plain-text one
        self.head_timer = None
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
        super().data_received(data)
        if self.cycle is not cycle:  # a request's head is complete: its body has its own deadline
            self._cancel_head_timer()

    def on_response_complete(self) -> None:
        cycle = self.cycle
        super().on_response_complete()
        if self.cycle is cycle and not self.transport.is_closing():
            self._arm_head_timer()  # kept alive: the next head has the same time to arrive

    def connection_lost(self, exc) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        payload = error_bytes(400, "request", "request: is not a valid HTTP/1.1 request")
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                   (b"connection", b"close")]
        try:
            for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"), h11.Data(payload),
                          h11.EndOfMessage()):
                self.transport.write(self.conn.send(event))
        except h11.LocalProtocolError:  # h11 cannot answer in its state: close without an answer
            pass
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
        if self.conn.trailing_data[0]:  # bytes of a head that never completed
            # Part of a head arrived: say why the connection ends. Written raw, as h11 answers only a whole request.
            client = self.client[0] if self.client else "-"
            _log.warning("closed a connection from %s: no request head within %g s", client,
                         self.limits.header_timeout_s)
            payload = error_bytes(408, "request", f"request: the request line and headers did not arrive within "
                                                  f"{self.limits.header_timeout_s:g} s")
            self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                                 b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(payload), payload))
        self.transport.close()


def guarded_protocol(limits: ServeLimits) -> type[GuardedH11Protocol]:
    """A :class:`GuardedH11Protocol` subclass bound to ``limits`` (a class per server: no shared state).

    >>> guarded_protocol(ServeLimits(header_timeout_s=2.0)).limits.header_timeout_s
    2.0
    """
    return type("PainkgH11Protocol", (GuardedH11Protocol,), {"limits": limits})
