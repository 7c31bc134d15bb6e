"""Reading requests safely: the content type, JSON, and the ``Accept`` header.

The body's size and time are bounded before a handler runs
(:mod:`kg.serve.http_limits`). :func:`json_body` checks the content type
(415), decodes strict UTF-8 and parses strict JSON with painkg's own limits
(400, naming where it broke); :func:`read_json` does it for a request, off the
event loop for a body over :data:`OFF_LOOP_BYTES`, so that one large body does
not stall every other request. :func:`negotiate` picks the response media type
from ``Accept`` (406 when none fits).

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
from .http_errors import ApiError

__all__ = ["json_body", "read_json", "negotiate", "parse_accept", "JSON_TYPES", "OFF_LOOP_BYTES"]

#: Content types a JSON body may have (FHIR's own media type included).
JSON_TYPES = ("application/json", "application/fhir+json")

#: Bodies from this size on are parsed in a worker thread: parsing takes ~0.2 s a MB (strict, with painkg's
#: limits), and the event loop must stay free for the other requests; below it a thread costs more than it saves.
OFF_LOOP_BYTES = 64 * 1024


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


async def read_json(request, *, field: str = "body"):
    """The parsed JSON body of a Starlette ``request`` (as :func:`json_body`), parsed off the event loop when large.

    >>> import asyncio
    >>> from starlette.requests import Request
    >>> async def receive():
    ...     return {"type": "http.request", "body": b'{"id": "p1"}', "more_body": False}
    >>> request = Request({"type": "http", "method": "POST", "headers": [(b"content-type", b"application/json")]},
    ...                   receive)
    >>> asyncio.run(read_json(request))
    {'id': 'p1'}
    """
    body = await request.body()
    content_type = request.headers.get("content-type")
    if len(body) < OFF_LOOP_BYTES:
        return json_body(body, content_type, field=field)
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(json_body, body, content_type, field=field)


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
