"""``/sparql``: the SPARQL 1.1 Protocol query operation over the ontology and the store.

- ``GET /sparql?query=...``, ``POST`` with ``application/x-www-form-urlencoded``
  ``query=...``, or ``POST`` with an ``application/sparql-query`` body. The query
  runs through :func:`kg.store.sparql.query` exactly as ``painkg query --store``
  runs it: the guarded worker process, the limits of ``settings`` (timeout,
  rows), SERVICE and FROM refused, the pre-bound prefixes, the default graph as
  the union of all graphs. Without a store, over the ontology alone.
- Results by ``Accept`` (:mod:`kg.serve.sparql_formats`).
- No query: a browser (``Accept: text/html``) gets the YASGUI query page, anything
  else the service description (Turtle, ``sd:Service``).
- Status codes (SPARQL 1.1 Protocol §2.1.7 gives 400 for a query that is not
  legal SPARQL and lets a service refuse a query; "other 4XX or 5XX HTTP
  response codes for other failure conditions, as per HTTP"): 400 malformed or
  refused query (SERVICE, FROM, nesting, too many rows, too much memory,
  ``default-graph-uri``/``named-graph-uri``, an update sent as a query); 403 for
  the update operation (``update=`` or ``application/sparql-update``: the
  endpoint is read-only, as Oxigraph's read-only server answers); 503 with
  ``Retry-After`` when the query timed out or found no turn in the queue
  (:mod:`kg.serve.sparql_queue`: at most ``sparql_concurrency`` queries run,
  ``sparql_queue`` wait, none longer than ``sparql_max_wait_s``); 405 with
  ``Allow`` for any other method (``OPTIONS`` answers 204 with ``Allow``);
  406, 413, 415 as everywhere. Every error body is the service's JSON error.
- ``HEAD`` answers as ``GET`` does, without the body (the app's HeadMiddleware).
- Start-up: building the router warms rdflib's parser up fully, once, before
  the server accepts a request (:func:`kg.store.query_warmup.load_rdflib_parser`),
  so that concurrent first queries cannot damage what every worker inherits.
"""


import html
from urllib.parse import parse_qs

from .http_errors import ApiError
from .http_io import media_type, negotiate
from .sparql_formats import SD_MEDIA, media_for, render_result, service_description
from .sparql_queue import QueueFull, busy_response, run_queued

__all__ = ["sparql_router", "run_sparql", "stored_graphs", "query_error_status", "ALLOW",
           "MAX_DESCRIBED_GRAPHS"]

#: The methods /sparql answers (the Allow header of its 405 and OPTIONS answers).
ALLOW = "GET, HEAD, POST, OPTIONS"
#: Named graphs listed in the service description at most.
MAX_DESCRIBED_GRAPHS = 1000

_FORM = "application/x-www-form-urlencoded"
_QUERY = "application/sparql-query"
_UPDATE = "application/sparql-update"


def _refuse_update():
    raise ApiError(403, "update", "update: SPARQL Update is refused: this endpoint is read-only (the SPARQL 1.1 "
                                  "query operation only)")


def _one(params: dict, name: str) -> str | None:
    values = params.get(name) or []
    if len(values) > 1:
        raise ApiError(400, name, f"{name}: given {len(values)} times; expected once")
    return values[0] if values else None


def _check_params(params: dict) -> None:
    if "update" in params:
        _refuse_update()
    for name in ("default-graph-uri", "named-graph-uri"):
        if params.get(name):
            raise ApiError(400, name, f"{name}: is not supported: the query runs over the ontology and the store "
                                      "(the default graph is their union); use GRAPH <iri> { ... }")


def run_sparql(settings, sparql: str):
    """Run ``sparql`` as ``painkg query [--store]`` does, with the limits of ``settings``; a QueryResult."""
    from ..inputs.limits import LIMITS
    from ..inputs.reading import size_text
    from ..store.query_limits import QueryLimits
    from ..store.sparql import query

    if len(sparql.encode("utf-8", "surrogatepass")) > LIMITS.query_bytes:
        raise ApiError(400, "query", f"query: longer than {size_text(LIMITS.query_bytes)}; expected a query of at "
                                     f"most {size_text(LIMITS.query_bytes)}")
    limits = QueryLimits(timeout=settings.sparql_timeout_s, max_rows=settings.sparql_max_rows)
    if settings.store is not None:
        return query(sparql, store=settings.store, limits=limits)
    return query(sparql, limits=limits)


def stored_graphs(settings) -> list[str]:
    """The named graphs the endpoint answers over, sorted (the ontology's, and each stored patient's two)."""
    result = run_sparql(settings, "SELECT DISTINCT ?g WHERE { GRAPH ?g {} } ORDER BY ?g "
                                  f"LIMIT {MAX_DESCRIBED_GRAPHS + 1}")
    return [str(row[0]) for row in result.rows]


class _Unwritable(Exception):
    """The result cannot be written in the media type asked for (406)."""

    def __init__(self, error):
        super().__init__(str(error))
        self.error = error


def _run_and_render(settings, sparql: str, media: str) -> tuple[str, str]:
    """Run the query and write its result: ``(media type, text)`` (on a worker thread)."""
    from ..errors import InputError

    result = run_sparql(settings, sparql)
    if media not in media_for(result.type):
        media = next(iter(media_for(result.type)))
    try:
        return media, render_result(result, media)
    except InputError as exc:
        raise _Unwritable(exc) from None


def query_error_status(exc) -> tuple[int, dict]:
    from ..store.query_limits import QueryTimeoutError

    if isinstance(exc, QueryTimeoutError):
        return 503, {"Retry-After": "5"}
    if "is in use" in str(exc) or "is writing it" in str(exc):  # a batch holds the store
        return 503, {"Retry-After": "30"}
    return 400, {}


def _yasgui_page(endpoint: str) -> str:
    from importlib import resources

    from ..knowledge.wording import DISCLAIMER

    page = resources.files("kg.serve").joinpath("templates", "yasgui.html").read_text("utf-8")
    return (page.replace("{{endpoint}}", html.escape(endpoint, quote=True))
                .replace("{{disclaimer}}", html.escape(DISCLAIMER)))


def sparql_router(settings):
    """The APIRouter of ``GET``/``POST /sparql`` for ``settings``."""
    from fastapi import APIRouter, Request
    from starlette.responses import HTMLResponse, Response

    from ..errors import InputError
    from ..store.query_sandbox import network_filter_available
    from ..store.query_warmup import load_rdflib_parser
    from .http_errors import error_response, input_error_response

    # Before the server accepts a request: every worker forked later inherits a parser that is ready.
    load_rdflib_parser(full=True)
    network_filter_available()
    router = APIRouter(tags=["sparql"])

    def failed(exc):
        status, headers = query_error_status(exc)
        response = input_error_response(exc, status)
        response.headers.update(headers)
        return response

    def endpoint_url(request) -> str:
        base = settings.base_url.rstrip("/") if settings.base_url else str(request.base_url).rstrip("/")
        return f"{base}/sparql"

    async def answer(request: Request, sparql: str | None):
        accept = request.headers.get("accept")
        if sparql is None:
            if negotiate(accept, ["text/turtle", "text/html"]) == "text/html" and "html" in (accept or ""):
                return HTMLResponse(_yasgui_page(endpoint_url(request)))
            negotiate(accept, list(SD_MEDIA))
            try:
                graphs = await run_queued(request, settings, stored_graphs, settings)
            except QueueFull as exc:
                return busy_response(exc)
            except InputError as exc:
                return failed(exc)
            return Response(service_description(endpoint_url(request), graphs[:MAX_DESCRIBED_GRAPHS],
                                                more=len(graphs) > MAX_DESCRIBED_GRAPHS),
                            media_type="text/turtle; charset=utf-8", headers={"Vary": "Accept"})
        from ..store.query_text import query_form

        try:
            form = query_form(sparql)
        except InputError as exc:
            return input_error_response(exc, 400)
        offers = list(media_for(form if form in ("SELECT", "ASK") else "CONSTRUCT"))
        media = negotiate(accept, offers)  # 406 before any work
        try:
            # Rendering too runs on the worker thread, under the same turn: a 99k-triple CONSTRUCT took
            # 2.9 s to write, which stalled every request while it ran on the event loop.
            media, text = await run_queued(request, settings, _run_and_render, settings, sparql, media)
        except QueueFull as exc:
            return busy_response(exc)
        except _Unwritable as exc:  # a graph RDF/XML cannot write (a predicate with no XML name)
            return input_error_response(exc.error, 406)
        except InputError as exc:
            return failed(exc)
        kind = f"{media}; charset=utf-8" if media.startswith("text/") else media
        return Response(text, media_type=kind, headers={"Vary": "Accept"})

    query_doc = {"parameters": [
        {"name": "query", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 4000},
         "description": "A SPARQL 1.1 query (SELECT, ASK, CONSTRUCT, DESCRIBE; longer than a URL holds: POST). Without it: the service "
                        "description (Turtle), or the YASGUI page for a browser."}],
        "responses": {"200": {"description": "Results (by Accept), the service description or the query page",
                              "content": {m: {"schema": {"type": "string"}} for m in
                                          ("application/sparql-results+json", "application/sparql-results+xml",
                                           "text/csv", "text/tab-separated-values", "text/turtle",
                                           "application/n-triples", "application/ld+json", "application/rdf+xml",
                                           "text/html")}},
                      "503": {"description": "Busy (Retry-After): the query queue is full, or the query timed out"}}}

    @router.get("/sparql", summary="SPARQL 1.1 query (GET; HEAD too)", openapi_extra=query_doc)
    async def sparql_get(request: Request):
        params = parse_qs(request.url.query, keep_blank_values=True)
        _check_params(params)
        return await answer(request, _one(params, "query"))

    post_doc = {"requestBody": {"required": True, "content": {
        _FORM: {"schema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}},
        _QUERY: {"schema": {"type": "string"}}}}}

    @router.post("/sparql", summary="SPARQL 1.1 query (POST: form or application/sparql-query)",
                 openapi_extra=post_doc)
    async def sparql_post(request: Request):
        kind = media_type(request.headers.get("content-type"))
        body = await request.body()
        params = parse_qs(request.url.query, keep_blank_values=True)
        if kind == _UPDATE:
            _refuse_update()
        if kind == _FORM:
            try:
                form = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                                errors="strict", max_num_fields=100)
            except (UnicodeDecodeError, ValueError):
                raise ApiError(400, "body", "body: is not a valid UTF-8 form (application/x-www-form-urlencoded)")
            _check_params({**params, **form})
            sparql = _one(form, "query")
            if sparql is None:
                raise ApiError(400, "query", "query: is missing; expected a form field query=...")
        elif kind == _QUERY:
            _check_params(params)
            try:
                sparql = body.decode("utf-8")
            except UnicodeDecodeError:
                raise ApiError(400, "body", "body: is not UTF-8 text; expected a SPARQL query")
        else:
            shown = f'"{kind[:80]}"' if kind else "missing"
            raise ApiError(415, "Content-Type", f"Content-Type: {shown} is not supported; expected {_FORM} or "
                                                f"{_QUERY}", allowed=[_FORM, _QUERY])
        return await answer(request, sparql)

    @router.options("/sparql", summary="The methods /sparql answers (Allow)", status_code=204)
    async def sparql_options():
        return Response(status_code=204, headers={"Allow": ALLOW})

    # The other methods of HTTP: a route of their own, so that the 405 names every method /sparql answers
    # (the router's own 405 would name only the first route's). An unregistered method gets the router's.
    @router.api_route("/sparql", methods=["PUT", "DELETE", "PATCH", "TRACE", "CONNECT"], include_in_schema=False)
    async def other_method(request: Request):
        return error_response(405, "method", f"method: {request.method} is not allowed on /sparql; "
                                             f"expected one of {ALLOW}", headers={"Allow": ALLOW},
                              allowed=ALLOW.split(", "))

    return router
