"""The CDS Hooks 2.0 service of ``painkg serve`` (https://cds-hooks.hl7.org/2.0/).

* ``GET /cds-services``: discovery; one service, ``painkg-persistent-pain``,
  for the ``patient-view`` hook, with prefetch templates for the patient, their
  Conditions, Observations and Procedures (:data:`~kg.serve.cds_prefetch.PREFETCH`).
* ``POST /cds-services/painkg-persistent-pain``: the call; answers
  ``{"cards": [...]}`` (:mod:`kg.serve.cds_cards`), one card or none.
* ``POST /cds-services/painkg-persistent-pain/feedback``: the client's feedback
  on a card; validated, counted (per app, in :attr:`CdsState.feedback`), logged,
  answered 200 ``{}``. Nothing is stored.

Status codes: 200; 400 (body not JSON, not a CDS request, wrong hook, a
prefetch value that is not FHIR); 401 (JWT missing or refused, with
``WWW-Authenticate``); 404 (unknown service id); 412 (required prefetch missing
and not fetchable: no ``fhirServer``, or the operator disallowed fetching);
413 (body too large); 415 (not JSON); 422 (FHIR painkg cannot read). Every
error body is ``{"error", "field", "status"}`` (:mod:`kg.serve.http_errors`).

Every call must carry a JWT (:mod:`kg.serve.auth`) whose ``aud`` is the URL
called under ``ServeSettings.base_url``, which is required when issuers are
configured (:func:`~kg.serve.auth.check_auth_settings`; the request's ``Host``
is never trusted for it). ``ServeSettings.cds_open`` turns the check off, for
local testing only; the router logs a warning when it is built that way.
Tokens are verified on a worker thread when a key fetch may block
(:attr:`~kg.serve.auth.TokenVerifier.may_fetch`), else on the event loop (a
signature check costs less than the thread hop); a large call's body and
prefetch are read on a worker thread.
Each refused call is logged on one line (status, field, reason), without a
traceback.

The date painkg assesses the patient on is today (UTC), or the request's
extension ``org.w3id.painkg.asOf`` (``YYYY-MM-DD``), so a call can be
replayed with the same answer. Cards of identical data (same resources, date
and base URL) are cached, bounded (``ServeSettings.cds_cache``
entries, default 1024; 0 turns it off): the explanation is deterministic, so a
cached card is byte-identical to a fresh one.

>>> from kg.serve.settings import ServeSettings
>>> router = cds_router(ServeSettings())
>>> sorted(r.path for r in router.routes)
['/cds-services', '/cds-services/{service_id}', '/cds-services/{service_id}/feedback']
"""

# No `from __future__ import annotations`: FastAPI reads the handlers' `Request` annotation at runtime.
import datetime as _dt
import hashlib
import json
import logging
import re
import threading
from collections import Counter, OrderedDict
from importlib import resources as _resources

from ..errors import InputError
from ..reasoning.json_text import loads_json
from .auth import TokenError, TokenVerifier, check_auth_settings
from .cds_cards import card_for, with_uuid
from .cds_models import HOOK, parse_feedback, parse_request
from .cds_prefetch import PREFETCH, gather, prefetch_patient
from .http_errors import ApiError, error_response
from .http_io import json_body
from .replay_guard import RETRY_AFTER_S, ReplayStoreUnavailable
from .settings import ServeSettings

__all__ = ["cds_router", "SERVICE_ID", "AS_OF_EXTENSION", "CdsState", "service_description"]

_log = logging.getLogger("kg.serve")

SERVICE_ID = "painkg-persistent-pain"
#: The request extension that fixes the assessment date (the spec reserves ``extension`` for this).
AS_OF_EXTENSION = "org.w3id.painkg.asOf"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def service_description() -> dict:
    """The service's entry in the discovery document.

    >>> service_description()["prefetch"]["conditions"]
    'Condition?patient={{context.patientId}}'
    """
    return {
        "hook": HOOK,
        "title": "painkg: why does this patient's pain persist?",
        "description": ("Explains, from one source text on muscle spasm, muscle knots and low back strain, whether "
                        "and why a patient's back or neck pain may persist: the chain from the recorded injury to "
                        "spasm, knots and persistent pain, each step with its rule, certainty and quoted source "
                        "sentences. A reasoning aid, not a diagnosis."),
        "id": SERVICE_ID,
        "prefetch": dict(PREFETCH),
        "usageRequirements": ("Send the conditions and observations prefetch (412 without them unless the operator "
                              "allows fetching from fhirServer); sign each call with a JWT from a configured issuer."),
    }


class CdsState:
    """What one router keeps between requests: the feedback counts and the card cache (bounded)."""

    def __init__(self, cache_size: int):
        self.lock = threading.Lock()
        self.feedback: Counter = Counter()
        self.cache_size = max(0, int(cache_size))
        self.cache: OrderedDict[str, dict | None] = OrderedDict()
        self.hits = 0

    def cached(self, key: str):
        """``(True, card)`` if ``key`` is cached, else ``(False, None)``."""
        with self.lock:
            if key in self.cache:
                self.cache.move_to_end(key)
                self.hits += 1
                return True, self.cache[key]
        return False, None

    def store(self, key: str, card: dict | None) -> None:
        """Remember ``card`` under ``key``, forgetting the least recently used beyond the bound."""
        if not self.cache_size:
            return
        with self.lock:
            self.cache[key] = card
            self.cache.move_to_end(key)
            while len(self.cache) > self.cache_size:
                self.cache.popitem(last=False)


def _source_title() -> str:
    text = _resources.files("kg.ontology").joinpath("source.ttl").read_text(encoding="utf-8")
    found = re.search(r'dcterms:title "([^"]+)"', text)
    return found.group(1) if found else "source text"


def _as_of(request) -> str:
    value = (request.extension or {}).get(AS_OF_EXTENSION)
    if value is None:
        return _dt.datetime.now(_dt.timezone.utc).date().isoformat()
    field = f"extension.{AS_OF_EXTENSION}"
    if not isinstance(value, str) or not _DATE.match(value):
        raise ApiError(400, field, f"{field}: {json.dumps(value)[:40]} is not allowed; expected a date YYYY-MM-DD")
    try:
        _dt.date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, field, f"{field}: {json.dumps(value)} is not a calendar date") from None
    return value


#: A call's body up to this size is answered on the event loop when the card cache or the memo holds its
#: answer (no reasoning): reading a prefetch of a few KB and merging cached text take about a millisecond,
#: less than the hop to an engine thread and back with the GIL hand-offs it costs under load (as POST
#: /explain does). Larger bodies, calls that may fetch from fhirServer, and patients whose reasoning the
#: memo has not seen go to an engine thread.
INLINE_BODY_BYTES = 32 * 1024
#: :func:`_explain_card`'s answer when ``reason`` is False and the memo does not hold the patient's pieces.
UNREASONED = object()


def _explain_card(resources: list, notes: tuple, patient_id: str, as_of: str, base: str, label: str, pages=None,
                  *, memo=None, source=None, reason: bool = True):
    """Read the FHIR resources, explain the patient and make the card (runs on an engine thread).

    ``pages`` (the app's :class:`~kg.serve.explanation_cache.ExplanationCache`) keeps the
    explanation so the card links to its page, ``{base}/explanations/{key}``. ``memo`` is the
    memo to ask (default: the engine thread's); ``source`` the intake when already read. With
    ``reason=False`` the memo is only asked for what it holds (on the event loop): :data:`UNREASONED`
    when the patient needs reasoning.
    """
    from ..reasoning.memo import thread_memo

    if source is None:
        source = prefetch_patient(resources, patient_id, as_of)  # the one intake, as the CLI and POST /explain
    # Memoised reasoning (kg.reasoning.memo): the same explanation as fresh reasoning, byte for
    # byte, at a fraction of the cost for a patient whose reasoning the engine thread has seen.
    memo = thread_memo() if memo is None else memo
    try:
        result = memo.explain_json(source.record, as_of=source.as_of) if reason else \
            memo.cached_json(source.record, as_of=source.as_of)
    except InputError as exc:
        raise ApiError(422, exc.field or "prefetch", f"prefetch: {exc}") from None
    if result is None:
        return UNREASONED
    data = loads_json(result.explanation)
    link = None
    if pages is not None and data["facts"]:
        key = pages.put(data, not_used=source.ignored, record=source.record, as_of=source.as_of,
                        compact=result.explanation)  # the memo's text, kept as it is
        link = f"{base}/explanations/{key}"
    return card_for(data, memo.ontology, base_url=base, source_label=label, ignored=list(source.ignored),
                    notes=notes, link=link)


def _cache_key(resources: list, notes: tuple, as_of: str, base: str) -> str:
    # Internal to this server (never shown): orjson where installed, a tenth of json.dumps's time.
    value = [resources, notes, as_of, base]
    try:
        from orjson import OPT_SORT_KEYS, dumps

        text = dumps(value, option=OPT_SORT_KEYS)
    except (ImportError, TypeError):  # no orjson, or what it refuses (a big integer, a lone surrogate)
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8", "surrogatepass")
    return hashlib.sha256(text).hexdigest()


def _compact_json(payload: dict) -> bytes:
    """``json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\\n"`` as UTF-8: by orjson where
    installed (the same bytes for cards and discovery, which hold no floats), else by json.

    >>> _compact_json({"cards": [{"summary": "é\\n"}]})
    b'{"cards":[{"summary":"\\xc3\\xa9\\\\n"}]}\\n'
    """
    try:
        from orjson import dumps

        return dumps(payload) + b"\n"
    except (ImportError, TypeError):  # no orjson, or what it refuses: json writes it, as before
        return (json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def _read_call(raw: bytes, content_type, settings: ServeSettings, base: str, keyed: bool):
    """The call's request, date, FHIR data and cache key, from its body (runs on a worker thread: a
    prefetch may be megabytes, and fetching from ``fhirServer``, when allowed, waits on the network)."""
    cds = parse_request(json_body(raw, content_type))
    as_of = _as_of(cds)
    data = gather(cds, settings)
    key = _cache_key(data.resources, data.notes, as_of, base) if keyed else ""
    return cds, as_of, data, key


def _read_feedback(raw: bytes, content_type):
    """The feedback in the body (on a worker thread, as :func:`_read_call`)."""
    return parse_feedback(json_body(raw, content_type))


def _one_line(text: str, limit: int = 300) -> str:
    """``text`` fit for one log line: control characters escaped, cut to ``limit``.

    >>> _one_line('bad\\nline')
    'bad\\\\nline'
    """
    return text.encode("unicode_escape").decode("ascii")[:limit]


def _direct_route_class():
    """The route class of the CDS call: FastAPI documents and matches it as any route, and its handler
    calls the endpoint with the path's ``service_id`` and the request, as FastAPI would, without
    solving dependencies the endpoint does not have (the request is its only other parameter; it reads
    its body itself): a twentieth of a call's time. (FastAPI's hook: a custom ``APIRoute.get_route_handler``.)"""
    from fastapi.routing import APIRoute

    class DirectRoute(APIRoute):
        def get_route_handler(self):
            endpoint = self.endpoint

            async def handler(request):
                return await endpoint(request.path_params["service_id"], request)

            return handler

    return DirectRoute


def cds_router(settings: ServeSettings):
    """The CDS Hooks routes for ``settings`` (a FastAPI ``APIRouter``; its :class:`CdsState` is ``router.cds_state``).

    Raises :class:`~kg.errors.InputError` (field ``base_url``) when tokens are verified and
    ``settings.base_url`` is not set or not a URL (:func:`~kg.serve.auth.check_auth_settings`).
    """
    from fastapi import APIRouter, Request
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response

    check_auth_settings(settings)
    router = APIRouter(tags=["CDS Hooks"])
    state = CdsState(settings.cds_cache)
    router.cds_state = state
    verifier = None if settings.cds_open else TokenVerifier(settings)
    router.token_verifier = verifier
    label = f"painkg: {_source_title()}"
    if settings.cds_open:
        _log.warning("CDS Hooks is OPEN (cds_open): calls are not authenticated; use this for local testing only")
    elif not settings.cds_issuers:
        _log.warning("CDS Hooks: no issuers configured (cds_issuers); every CDS call will be refused with 401")

    def base_url(request) -> str:
        # The configured URL (always set when tokens are verified); the request's own only in open mode.
        return (settings.base_url or str(request.base_url)).rstrip("/")

    async def refused(request, *paths: str):
        """None if the request's JWT is good for one of ``paths``, else the 401 response."""
        if verifier is None:
            return None
        try:
            authorization = request.headers.get("authorization")
            if verifier.may_fetch:  # a key fetch may wait (bounded): on a worker thread
                await run_in_threadpool(verifier.verify_call, authorization, *paths)
            else:  # a signature check only: the thread hop would cost more than it spares the loop
                verifier.verify_call(authorization, *paths)
        except TokenError as exc:
            _log.info("CDS call refused: 401 Authorization: %s", _one_line(str(exc)))
            return error_response(401, "Authorization", f"Authorization: {exc}", reason=exc.reason,
                                  headers={"WWW-Authenticate": exc.www_authenticate()})
        except ReplayStoreUnavailable as exc:  # never accept a token unchecked (the guard logged why)
            return error_response(503, "Authorization", f"Authorization: the replay guard is unavailable ({exc}); "
                                  "try again", headers={"Retry-After": str(RETRY_AFTER_S), "Cache-Control": "no-store"})
        return None

    def refusing(handler):
        """Log each ApiError (a 4xx) of ``handler`` on one line before the app's handler answers it."""
        import functools

        @functools.wraps(handler)
        async def wrapped(*args, **kwargs):
            try:
                return await handler(*args, **kwargs)
            except ApiError as exc:
                _log.info("CDS call refused: %s %s: %s", exc.status, _one_line(exc.field, 80), _one_line(exc.message))
                raise
        return wrapped

    def json_response(payload: dict) -> Response:
        return Response(_compact_json(payload), media_type="application/json", headers={"Cache-Control": "no-store"})

    def unknown(service_id: str) -> ApiError:
        return ApiError(404, "service", f"service: {json.dumps(service_id[:80])} is not a CDS service of painkg; "
                                        f"expected {SERVICE_ID}", allowed=[SERVICE_ID])

    @router.get("/cds-services", summary="CDS Hooks discovery: the services and their prefetch templates")
    async def discovery(request: Request):
        denied = await refused(request, "/cds-services")
        if denied is not None:
            return denied
        return json_response({"services": [service_description()]})

    @refusing
    async def call(service_id: str, request: Request):
        denied = await refused(request, f"/cds-services/{service_id}")
        if denied is not None:
            return denied
        if service_id != SERVICE_ID:
            raise unknown(service_id)
        base = base_url(request)
        pages = getattr(request.app.state, "explanations", None)

        def card_of(cds, as_of, data, key, memo=None, source=None, reason=True):
            hit, card = state.cached(key) if key else (False, None)
            if not hit:
                if source is None:
                    source = prefetch_patient(data.resources, cds.context.patientId, as_of)
                card = _explain_card(data.resources, data.notes, cds.context.patientId, as_of, base, label, pages,
                                     memo=memo, source=source, reason=reason)
                if card is UNREASONED:
                    return UNREASONED, source
                if key:
                    state.store(key, card)
            return [] if card is None else [with_uuid(card, cds.hookInstance, cds.context.patientId)], source

        def answer(raw: bytes, content_type, read=None, source=None):
            # Reading the call, the card cache and the reasoning in one trip to an engine thread:
            # each extra hop between the event loop and a thread costs latency under load.
            cds, as_of, data, key = read or _read_call(raw, content_type, settings, base, bool(state.cache_size))
            return card_of(cds, as_of, data, key, source=source)[0]

        engines = getattr(request.app.state, "engines", None)
        raw, content_type = await request.body(), request.headers.get("content-type")
        if engines is None:
            return json_response({"cards": await run_in_threadpool(answer, raw, content_type)})
        read = source = None
        if len(raw) <= INLINE_BODY_BYTES and not settings.fhir_fetch:
            # On the event loop: a small body, no network; the answer if nothing needs reasoning.
            read = _read_call(raw, content_type, settings, base, bool(state.cache_size))
            cards, source = card_of(*read, memo=engines.memo, reason=False)
            if cards is not UNREASONED:
                return json_response({"cards": cards})
        return json_response({"cards": await engines.run(answer, raw, content_type, read, source)})

    router.add_api_route("/cds-services/{service_id}", call, methods=["POST"],
                         summary="CDS Hooks call (patient-view): cards explaining persistent pain",
                         route_class_override=_direct_route_class())

    @router.post("/cds-services/{service_id}/feedback", summary="CDS Hooks feedback on a card (counted, not stored)")
    @refusing
    async def feedback(service_id: str, request: Request):
        denied = await refused(request, f"/cds-services/{service_id}/feedback", f"/cds-services/{service_id}")
        if denied is not None:
            return denied
        if service_id != SERVICE_ID:
            raise unknown(service_id)
        received = await run_in_threadpool(_read_feedback, await request.body(), request.headers.get("content-type"))
        with state.lock:
            for item in received.feedback:
                state.feedback[item.outcome] += 1
        _log.info("CDS feedback: %s", _one_line(", ".join(f"{f.card} {f.outcome}" for f in received.feedback), 500))
        return json_response({})

    return router
