"""Reading requests safely: the body size limit, the content type, JSON, and the ``Accept`` header.

:class:`BodyLimitMiddleware` refuses a body over ``max_bytes`` with 413 before
any handler parses it (a ``Content-Length`` over the limit is refused without
reading; a chunked body is counted as it arrives). :func:`json_body` checks
the content type (415), decodes strict UTF-8 and parses strict JSON with
painkg's own limits (400, naming where it broke). :func:`negotiate` picks the
response media type from ``Accept`` (406 when none fits).

>>> negotiate("text/turtle;q=0.9, application/trig", ["application/json", "text/turtle", "application/trig"])
'application/trig'
>>> negotiate(None, ["application/json", "text/plain"])
'application/json'
>>> negotiate("text/*", ["application/json", "text/plain"])
'text/plain'
"""

from __future__ import annotations

import json

from ..errors import InputError
from .http_errors import ApiError, error_body

__all__ = ["BodyLimitMiddleware", "json_body", "negotiate", "parse_accept", "JSON_TYPES"]

#: Content types a JSON body may have (FHIR's own media type included).
JSON_TYPES = ("application/json", "application/fhir+json")


class BodyLimitMiddleware:
    """ASGI middleware: a request body over ``max_bytes`` gets 413 and a JSON error, unparsed."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await self._refuse(send, 400, "Content-Length", "Content-Length: is not a whole number")
                return
            if declared > self.max_bytes:
                await self._too_large(send)
                return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send):
        await self._refuse(send, 413, "body", f"body: larger than the limit of {self.max_bytes:,} bytes",
                           limit_bytes=self.max_bytes)

    @staticmethod
    async def _refuse(send, status: int, field: str, message: str, **extra):
        payload = (json.dumps(error_body(status, field, message, **extra), indent=2) + "\n").encode("utf-8")
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(payload)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": payload})


def media_type(content_type: str | None) -> str:
    """The bare media type of a ``Content-Type`` value, lower case (``""`` if none).

    >>> media_type("Application/JSON; charset=utf-8")
    'application/json'
    """
    return (content_type or "").split(";", 1)[0].strip().lower()


def json_body(body: bytes, content_type: str | None, *, field: str = "body"):
    """The parsed JSON of a request body; ApiError 415 (content type), 400 (empty, not UTF-8, not JSON).

    >>> json_body(b'{"id": "p1"}', "application/json")
    {'id': 'p1'}
    >>> json_body(b'{"id": ', "application/json")
    Traceback (most recent call last):
    ...
    kg.serve.http_errors.ApiError: body: the request body is not valid JSON (Expecting value at line 1 column 8)
    """
    from ..inputs.reading import decode_utf8, parse_json

    kind = media_type(content_type)
    if kind not in JSON_TYPES and not kind.endswith("+json"):
        shown = f'"{kind[:80]}"' if kind else "missing"
        raise ApiError(415, "Content-Type", f"Content-Type: {shown} is not supported; expected "
                                            f"{' or '.join(JSON_TYPES)}", allowed=list(JSON_TYPES))
    if not body.strip():
        raise ApiError(400, field, f"{field}: is empty; expected a patient as JSON (painkg's JSON or FHIR R4)")
    try:
        text = decode_utf8(body, field=field, shown="the request body")
        return parse_json(text, field=field, shown="the request body")
    except InputError as exc:
        message = exc.message.replace('"the request body"', "the request body")
        raise ApiError(400, field, f"{field}: {message}") from None


def parse_accept(accept: str | None) -> list[tuple[str, float]]:
    """``Accept`` as ``[(media range, q)]``, best first (stable for equal q); ``*/*`` if absent.

    >>> parse_accept("text/html, application/json;q=0.5, */*;q=0.1")
    [('text/html', 1.0), ('application/json', 0.5), ('*/*', 0.1)]
    """
    if not accept or not accept.strip():
        return [("*/*", 1.0)]
    ranges = []
    for position, part in enumerate(accept.split(",")[:50]):
        pieces = [p.strip() for p in part.split(";")]
        kind = pieces[0].lower()
        if not kind:
            continue
        q = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        ranges.append((kind, q, position))
    ranges.sort(key=lambda r: (-r[1], r[2]))
    return [(kind, q) for kind, q, _ in ranges] or [("*/*", 1.0)]


def _matches(media_range: str, offer: str) -> bool:
    if media_range in ("*/*", "*"):
        return True
    if media_range.endswith("/*"):
        return offer.split("/", 1)[0] == media_range[:-2]
    return media_range == offer


def negotiate(accept: str | None, offers: list[str], *, field: str = "Accept") -> str:
    """The offer ``Accept`` prefers (the first offer for ``*/*``); ApiError 406 if none is acceptable."""
    for media_range, q in parse_accept(accept):
        if q <= 0:
            continue
        for offer in offers:
            if _matches(media_range, offer):
                return offer
    raise ApiError(406, field, f"{field}: {json.dumps((accept or '')[:120])} asks for no format this endpoint "
                               f"gives; expected one of {', '.join(offers)}", allowed=list(offers))
