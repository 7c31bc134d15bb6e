"""ASGI middleware that keeps every answer in the service's shape: HEAD, CORS on errors, JSON 500s.

- :class:`HeadMiddleware`: ``HEAD`` is answered wherever ``GET`` is, as ``GET``
  without the body (the same status and headers, ``Content-Length`` included).
- :class:`JsonCORSMiddleware`: Starlette's CORS middleware, with its refused
  preflight (a plain-text "Disallowed CORS origin") answered as the JSON error.
  It stands outside the limits and the error middleware, so every error answer
  (413, 408, 503, 500) carries the CORS headers a browser needs to read it.
- :class:`InternalErrorMiddleware`: an exception no handler answered becomes the
  JSON 500 here, inside CORS (Starlette's own last resort stands outside every
  middleware, so its 500 had no CORS header), and is logged once (Starlette
  and uvicorn each logged it again).

>>> import asyncio
>>> async def app(scope, receive, send):
...     await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
...     await send({"type": "http.response.body", "body": scope["method"].encode()})
>>> sent = []
>>> async def send(message):
...     sent.append(message)
>>> asyncio.run(HeadMiddleware(app)({"type": "http", "method": "HEAD"}, None, send))
>>> sent[1]["body"], sent[0]["headers"]
(b'', [(b'content-length', b'2')])
"""

from __future__ import annotations

import logging

from starlette.middleware.cors import CORSMiddleware

from .http_errors import ORIGINAL_METHOD, error_response, send_error

__all__ = ["HeadMiddleware", "JsonCORSMiddleware", "InternalErrorMiddleware"]

_log = logging.getLogger("kg.serve")


class HeadMiddleware:
    """ASGI middleware: a ``HEAD`` request runs as ``GET`` and its body is dropped."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "HEAD":
            await self.app(scope, receive, send)
            return
        # A copy: the server keeps its own scope, where the method stays HEAD (uvicorn sends no body for it).
        scope = {**scope, "method": "GET", ORIGINAL_METHOD: "HEAD"}

        async def headless(message):
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, headless)


class JsonCORSMiddleware(CORSMiddleware):
    """Starlette's :class:`CORSMiddleware` whose refused preflight is the JSON error (400, naming the header)."""

    def preflight_response(self, request_headers):
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        failures = response.body.decode("utf-8", "replace").removeprefix("Disallowed CORS ").split(", ")
        field, message = _preflight_failure(failures[0], request_headers)
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-type", "content-length")}
        _log.warning("refused CORS preflight from %s: %s", request_headers.get("origin", "-")[:100], field)
        return error_response(400, field, message, headers=headers)


def _preflight_failure(failure: str, request_headers) -> tuple[str, str]:
    """(field, message) for the first thing Starlette's preflight check refused."""
    import json

    if failure == "origin":
        origin = json.dumps(request_headers.get("origin", "")[:100])
        return "Origin", (f"Origin: {origin} may not call this service from a browser; the server allows the "
                          "origins given to painkg serve --cors")
    if failure == "method":
        method = json.dumps(request_headers.get("access-control-request-method", "")[:40])
        return "Access-Control-Request-Method", (f"Access-Control-Request-Method: {method} is not allowed; "
                                                 "expected GET or POST")
    if failure == "headers":
        asked = json.dumps(request_headers.get("access-control-request-headers", "")[:200])
        return "Access-Control-Request-Headers", (f"Access-Control-Request-Headers: {asked} names a header that "
                                                  "is not allowed; expected Content-Type, Accept, Authorization")
    return "Access-Control-Request-Private-Network", ("Access-Control-Request-Private-Network: private network "
                                                      "access is not allowed")


class InternalErrorMiddleware:
    """ASGI middleware: an unhandled exception is logged once and answered with the JSON 500 (never re-raised)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception:  # the last resort: never a traceback to the client
            _log.exception("internal error on %s %s", scope.get(ORIGINAL_METHOD, scope.get("method")),
                           scope.get("path", "")[:200])
            if not started:
                await send_error(send, 500, "server", "internal error; the server log has the details")
