"""Every HTTP error the service answers, as one JSON shape, and the handlers that make it so.

The body of every 4xx and 5xx is ``{"error": MESSAGE, "field": FIELD,
"status": CODE}`` (plus optional keys such as ``"allowed"``), with the
``application/json`` media type. ``MESSAGE`` is the same text the command line
prints after ``error:`` (``kg.errors.InputError`` messages name the field, the
value cut short and what is allowed); no traceback, path or class name of
painkg's internals ever reaches a client.

>>> e = ApiError(415, "body", "the content type \\"text/csv\\" is not supported; expected application/json")
>>> error_body(e.status, e.field, e.message)["field"]
'body'
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..errors import InputError

__all__ = ["ErrorBody", "ApiError", "error_body", "error_bytes", "error_response", "input_error_response",
           "install_error_handlers", "send_error", "ORIGINAL_METHOD"]

#: The scope key where :class:`kg.serve.http_guards.HeadMiddleware` keeps a request's own method (``HEAD``)
#: while the app answers it as ``GET``: error messages name the method the client sent.
ORIGINAL_METHOD = "painkg.method"

_log = logging.getLogger("kg.serve")


class ErrorBody(BaseModel):
    """The JSON error every 4xx/5xx answer carries (for the OpenAPI document)."""

    model_config = ConfigDict(extra="allow")
    error: str
    field: str
    status: int


class ApiError(Exception):
    """An HTTP error to answer with: ``status``, the ``field`` it is about, a ``message``, extra keys."""

    def __init__(self, status: int, field: str, message: str, **extra: Any):
        super().__init__(message)
        self.status = status
        self.field = field
        self.message = message
        self.extra = extra


def error_body(status: int, field: str, message: str, **extra: Any) -> dict:
    """The JSON error object: ``{"error", "field", "status", ...extra}``.

    >>> error_body(406, "Accept", "no acceptable format")
    {'error': 'no acceptable format', 'field': 'Accept', 'status': 406}
    """
    return {"error": message, "field": field, "status": status, **extra}


def error_bytes(status: int, field: str, message: str, **extra: Any) -> bytes:
    """The JSON error as the bytes of a response body (UTF-8, indented, a final newline), as every answer has it.

    >>> error_bytes(408, "body", "body: not received in time")[:12]
    b'{\\n  "error":'
    """
    text = json.dumps(error_body(status, field, message, **extra), ensure_ascii=False, indent=2) + "\n"
    return text.encode("utf-8")


async def send_error(send, status: int, field: str, message: str, *, headers=(), **extra: Any) -> None:
    """Answer on an ASGI ``send`` with the JSON error and ``Connection: close`` (for middleware that refuses a
    request before the app sees it: the body may be unread, so the connection cannot be reused)."""
    payload = error_bytes(status, field, message, **extra)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                            (b"connection", b"close"), *headers]})
    await send({"type": "http.response.body", "body": payload})


def error_response(status: int, field: str, message: str, headers: dict | None = None, **extra: Any):
    """A Starlette ``Response`` with the JSON error body."""
    from starlette.responses import Response

    return Response(error_bytes(status, field, message, **extra), status_code=status, media_type="application/json",
                    headers=headers)


def input_error_response(exc: InputError, status: int = 422):
    """The answer to an :class:`~kg.errors.InputError`: its field and the CLI's message (``field: ...``)."""
    extra = {"allowed": exc.allowed} if getattr(exc, "allowed", "") else {}
    return error_response(status, exc.field, str(exc), **extra)


def _validation_field(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")] or [str(p) for p in loc]
    return ".".join(parts) or "request"


def install_error_handlers(app) -> None:
    """Answer ApiError, InputError, FastAPI's validation errors, HTTP errors and anything else in the JSON shape."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(ApiError)
    async def _api_error(request, exc: ApiError):
        return error_response(exc.status, exc.field, exc.message, **exc.extra)

    @app.exception_handler(InputError)
    async def _input_error(request, exc: InputError):
        return input_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request, exc: RequestValidationError):
        errors = exc.errors()
        first = errors[0] if errors else {"loc": ("request",), "msg": "is not valid"}
        field = _validation_field(first.get("loc", ()))
        value = first.get("input")
        shown = ""
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            from ..errors import show

            shown = f" {show(value)}"
        detail = str(first.get("msg", "is not valid"))
        said = f"{shown} is not allowed: {detail}" if shown else f" {detail}"
        return error_response(422, field, f"{field}:{said}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request, exc: StarletteHTTPException):
        field = "path" if exc.status_code in (404, 405) else "request"
        method = request.scope.get(ORIGINAL_METHOD, request.method)  # HEAD, where it was answered as GET
        message = {404: f"path: {request.url.path[:200]!r} is not a page or endpoint of painkg serve",
                   405: f"method: {method} is not allowed here"}.get(exc.status_code, str(exc.detail))
        return error_response(exc.status_code, field, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _internal(request, exc: Exception):  # the last resort: never a traceback to the client
        _log.exception("internal error on %s %s", request.method, request.url.path)
        return error_response(500, "server", "internal error; the server log has the details")
