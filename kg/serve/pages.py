"""The pages: ``/`` (try an example, paste or upload a patient), ``/explanations/{key}`` (one
explanation, with a URL to share) and ``/patients/{id}`` (a stored patient), each with its JSON twin.

* ``POST /`` explains the submitted patient, keeps the explanation in the app's
  :class:`~kg.serve.explanation_cache.ExplanationCache` and answers **303** to
  ``/explanations/{key}`` (``?audience=patient`` when the form asked for the
  patient's wording). An API client asking for JSON (``?format=json`` or
  ``Accept: application/json``) gets the twin at once, 200, with
  ``Content-Location: /explanations/{key}.json``. A form that cannot be used is
  shown again with the message (4xx).
* ``GET /explanations/{key}`` renders the explanation's
  :class:`~kg.render.presentation.Presentation` (:func:`kg.serve.page_html.explanation_body`);
  ``?audience=patient`` gives the patient's wording. An unknown or forgotten key is
  404 (submit the patient again). ``/explanations/{key}/graph`` is its graph page.
* ``GET /patients/{id}`` renders the same page for a stored patient (read back
  from the store, nothing re-explained); ``/patients/{id}/graph`` is its graph.
  Any id is served: the id is read from the raw path (``%2F`` stays in it), and
  ``/patients?id=ID`` names one exactly (:mod:`kg.serve.stored`). The store is
  read under the SPARQL queue's limits (:mod:`kg.serve.sparql_queue`): busy is
  503 with ``Retry-After``, on the page and on its twin.

The twin of a page is the same URL with ``?format=json``, ``Accept:
application/json`` or ``.json``: ``{"explanation": to_dict(), "presentation",
"patient_presentation", "not_used", "text", "disclaimer"}`` (``key`` too for
``/explanations``). Every value on a page is escaped; every page ends with the disclaimer.
"""


import json
from typing import Optional
from urllib.parse import quote

from ..errors import InputError
from .http_errors import ApiError
from .page_html import EXAMPLES, error_page, esc, explanation_body, explanation_page, form_page, layout

__all__ = ["pages_router", "wants_json", "page_twin"]

_PAGE_MEDIA = ["text/html", "application/json"]
_FORM_FIELDS = ("patient", "as_of", "audience", "example")


def wants_json(request, fmt: Optional[str]) -> bool:
    """Whether the client asked for the JSON twin (``?format=json`` or Accept preferring JSON)."""
    from .http_io import negotiate

    if fmt is not None:
        if fmt not in ("json", "html"):
            raise ApiError(422, "format", f"format: {json.dumps(fmt[:60])} is not allowed; expected json or html")
        return fmt == "json"
    return negotiate(request.headers.get("accept"), _PAGE_MEDIA) == "application/json"


def _json(data: dict, status: int = 200, headers: Optional[dict] = None):
    from starlette.responses import Response

    return Response(json.dumps(data, indent=2, ensure_ascii=False) + "\n", status_code=status,
                    media_type="application/json", headers={"Vary": "Accept", **(headers or {})})


def _html(text: str, status: int = 200):
    from starlette.responses import HTMLResponse

    return HTMLResponse(text, status_code=status, headers={"Vary": "Accept"})


def _audience(value: Optional[str]) -> str:
    if value in (None, "", "clinician"):
        return "clinician"
    if value == "patient":
        return "patient"
    raise ApiError(422, "audience", f"audience: {json.dumps(value[:60])} is not allowed; expected clinician or patient")


def _explain_into(cache, pi) -> str:
    """Explain the intake ``pi``, keep it in ``cache`` and return its key (runs on an engine thread)."""
    from ..reasoning.reasoner import explain

    e = explain(pi.record, as_of=pi.as_of)
    return cache.put(e.to_dict(), not_used=pi.ignored, record=pi.record, as_of=pi.as_of, text=e.to_text())


def _entry_text(cache, entry) -> Optional[str]:
    """The full report of a cached explanation, reasoning again when it was not kept (a CDS card's)."""
    from ..reasoning.reasoner import explain

    if entry.text is not None or entry.record is None:
        return entry.text
    text = explain(entry.record, as_of=entry.as_of, threshold_days=entry.explanation["threshold_days"]).to_text()
    cache.with_text(entry.key, text)
    return text


def page_twin(explanation: dict, not_used, text: Optional[str]) -> dict:
    """The JSON twin of an explanation page: the explanation, both presentations, what was not used, the report."""
    from ..knowledge.ontology import load_ontology
    from ..knowledge.wording import DISCLAIMER
    from ..render.presentation import present

    onto = load_ontology()
    return {"explanation": explanation,
            "presentation": present(explanation, onto, "clinician", not_used).to_dict(),
            "patient_presentation": present(explanation, onto, "patient", not_used).to_dict(),
            "not_used": [dict(x) for x in not_used], "text": text, "disclaimer": DISCLAIMER}


def _page(explanation: dict, not_used, text: Optional[str], audience: str, href: str, graph: str) -> str:
    from ..knowledge.ontology import load_ontology
    from ..render.presentation import present

    onto = load_ontology()
    p = present(explanation, onto, audience, not_used)
    tabs = {"clinician": href, "patient": f"{href}?audience=patient"}
    body = explanation_body(p, onto, tabs=tabs, text=text, graph_src=graph)
    title = f"painkg: patient {p.patient}, assessed on {p.assessed_on}"
    return explanation_page(title, body, json_href=f"{href}.json")


def _stored(settings, pid: str):
    """A stored patient's explanation JSON and full report.

    The read-back :func:`~kg.serve.stored.stored_patient` does, keeping the
    :class:`~kg.reasoning.explanation.Explanation` for its report (one query).
    """
    from ..store.readback import explanation_from_triples, patient_sparql
    from .sparql_protocol import run_sparql

    e = explanation_from_triples([tuple(row) for row in run_sparql(settings, patient_sparql(pid)).rows], pid)
    return e.to_dict(), e.to_text()


def _failed(exc, as_json: bool, title: str, default_status: int = 404, back: str = "Back to the start page"):
    status = exc.status if isinstance(exc, ApiError) else default_status
    message = exc.message if isinstance(exc, ApiError) else str(exc)
    retry = exc.extra.get("retry_after") if isinstance(exc, ApiError) else None
    if as_json:
        body = {"error": message, "field": exc.field, "status": status}
        return _json({**body, "retry_after": retry} if retry else body, status,
                     {"Retry-After": str(retry)} if retry else None)
    page = _html(error_page(status, message, title, back), status)
    if retry:
        page.headers["Retry-After"] = str(retry)
    return page


def _raw_path(request) -> bytes:
    """The path as sent, still percent-encoded (a %2F stays part of an id), or re-encoded from the decoded one."""
    raw = request.scope.get("raw_path")
    return raw if raw else quote(request.url.path, safe="/").encode("ascii")


def _query_failure(exc):
    """An ApiError for a store read that did not answer: 503 + Retry-After when busy, 404 for no such patient."""
    from .sparql_protocol import query_error_status
    from .sparql_queue import QueueFull

    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, QueueFull):
        return ApiError(503, "query", exc.message, retry_after=exc.retry_after)
    if exc.field == "id":
        return ApiError(404, "id", str(exc))
    status, headers = query_error_status(exc)
    extra = {"retry_after": int(headers["Retry-After"])} if "Retry-After" in headers else {}
    return ApiError(status, exc.field, str(exc), **extra)


def pages_router(settings):
    """The APIRouter of the pages for ``settings``; the app provides ``app.state.explanations`` and ``engines``."""
    from fastapi import APIRouter, Query, Request
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import RedirectResponse

    from .sparql_queue import QueueFull, run_queued

    router = APIRouter(tags=["pages"])
    Fmt = Query(None, description="json for the page's JSON twin (or Accept: application/json)")
    Audience = Query(None, description="patient: the page in the patient's wording")

    @router.get("/", summary="The start page: try an example, paste or upload a patient")
    async def index(request: Request, format: Optional[str] = Fmt, audience: Optional[str] = Audience):
        from ..knowledge.wording import DISCLAIMER

        if wants_json(request, format):
            post = {"path": "/", "form_fields": ["patient", "file", *_FORM_FIELDS[1:]], "examples": list(EXAMPLES),
                    "redirects_to": "/explanations/{key}"}
            return _json({"page": "explain", "post": post,
                          "api": {"explain": "/explain", "sparql": "/sparql", "openapi": "/openapi.json"},
                          "disclaimer": DISCLAIMER})
        return _html(form_page(audience=_audience(audience)))

    @router.post("/", summary="Explain a submitted patient: 303 to its page /explanations/{key} (JSON: the twin)",
                 status_code=303, responses={200: {"description": "The twin, when JSON is asked for"}},
                 openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": {
                     "type": "object", "properties": {name: {"type": "string"} for name in _FORM_FIELDS}}}}}})
    async def explain_page(request: Request, format: Optional[str] = Fmt, audience: Optional[str] = Audience,
                           patient: Optional[str] = Query(None, max_length=200,
                                                          description="Which patient of a FHIR bundle")):
        as_json = wants_json(request, format)
        text = ""
        try:
            form = await _form(request)
            who = _audience(form.get("audience") or audience)
            text = form.get("patient", "")
            from ..inputs.reading import parse_json
            from .patient_body import from_data

            if not text.strip():
                raise ApiError(400, "patient", "patient: is empty; paste a patient's JSON or choose a file")
            try:
                data = parse_json(text, field="patient", shown="the pasted patient")
            except InputError as exc:  # not JSON at all: a malformed request (400), as on /explain
                raise ApiError(400, "patient", str(exc).replace('"the pasted patient"', "the pasted patient"))
            pi = from_data(data, as_of=form.get("as_of") or None, patient=patient)
            cache = request.app.state.explanations
            key = await request.app.state.engines.run(_explain_into, cache, pi)
        except (ApiError, InputError) as exc:
            if as_json:
                return _failed(exc, True, "", 422)
            status = exc.status if isinstance(exc, ApiError) else 422
            message = exc.message if isinstance(exc, ApiError) else str(exc)
            return _html(form_page(text[:200_000], message=message), status)
        if as_json:
            entry = cache.get(key)
            twin = await run_in_threadpool(page_twin, entry.explanation, entry.not_used, entry.text)
            return _json({"key": key, **twin}, headers={"Content-Location": f"/explanations/{key}.json"})
        where = f"/explanations/{key}" + ("?audience=patient" if who == "patient" else "")
        return RedirectResponse(where, status_code=303)

    def forgotten(key: str) -> ApiError:
        return ApiError(404, "key", f"key: no explanation {json.dumps(key[:40])} is kept by this server (it keeps "
                                    "the latest ones it made, and forgets them when it restarts); submit the patient "
                                    "again on the start page")

    @router.get("/explanations/{key}/graph", summary="The interactive graph of an explanation")
    async def explanation_graph(request: Request, key: str):
        entry = request.app.state.explanations.get(key)
        if entry is None or entry.record is None:
            return _failed(forgotten(key), wants_json(request, None), "painkg: no such explanation",
                           back="Submit the patient again")

        def draw():
            from ..reasoning.reasoner import explain
            from ..render.graph_export import to_html

            return to_html(explain(entry.record, as_of=entry.as_of,
                                   threshold_days=entry.explanation["threshold_days"]).graph())

        return _html(await request.app.state.engines.run(draw))

    @router.get("/explanations/{key}", summary="An explanation's page (or .json / ?format=json for its twin)")
    async def explanation(request: Request, key: str, format: Optional[str] = Fmt, audience: Optional[str] = Audience):
        as_json = key.endswith(".json") or wants_json(request, format)
        key = key.removesuffix(".json")
        who = _audience(audience)
        cache = request.app.state.explanations
        entry = cache.get(key)
        if entry is None:
            return _failed(forgotten(key), as_json, "painkg: no such explanation", back="Submit the patient again")
        text = await request.app.state.engines.run(_entry_text, cache, entry)
        if as_json:
            return _json({"key": key, **await run_in_threadpool(page_twin, entry.explanation, entry.not_used, text)})
        href = f"/explanations/{key}"
        page = await run_in_threadpool(_page, entry.explanation, entry.not_used, text, who, href,
                                       f"{href}/graph" if entry.record is not None else None)
        return _html(page)

    def need_store():
        if settings.store is None:
            raise ApiError(404, "store", "store: this server has no store; start it with painkg serve --store DIR")

    @router.get("/patients", summary="The patients in the store (?id=ID: one patient's page, any id)")
    async def patients(request: Request, format: Optional[str] = Fmt, audience: Optional[str] = Audience,
                       id: Optional[str] = Query(None, max_length=2000, description="A stored patient's id")):
        from ..knowledge.wording import DISCLAIMER
        from .stored import patient_href, stored_ids

        if id is not None:
            return await _patient_view(request, [(id, "page")], format, audience)
        as_json = wants_json(request, format)
        try:
            ids = await run_queued(request, settings, stored_ids, settings) if settings.store is not None else []
        except (QueueFull, InputError) as exc:
            return _failed(_query_failure(exc), as_json, "painkg: stored patients")
        if as_json:
            return _json({"patients": ids, "store": settings.store is not None, "disclaimer": DISCLAIMER})
        items = "".join(f'<li><a href="{esc(patient_href(i))}">{esc(i)}</a></li>' for i in ids)
        note = "" if settings.store is not None else "<p>This server has no store (painkg serve --store DIR).</p>"
        return _html(layout("painkg: stored patients", f'<div class="card"><h1>Stored patients</h1>{note}'
                                                      f"<ul>{items}</ul></div>", json_href="/patients?format=json"))

    async def _patient_view(request, targets, format, audience):
        """The first of ``targets`` (:func:`~kg.serve.stored.patient_targets`) the store has, as asked."""
        from ..render.graph_export import to_html
        from .stored import patient_href, stored_graph

        as_json = wants_json(request, format)
        who = _audience(audience)  # a bad parameter: the JSON 422, as on every route
        try:
            need_store()
            for n, (pid, view) in enumerate(targets):
                try:
                    data, text = await run_queued(request, settings, _stored, settings, pid)
                    break
                except InputError as exc:
                    if exc.field != "id" or n == len(targets) - 1:  # not "no such patient", or the last try
                        raise
        except (ApiError, InputError, QueueFull) as exc:
            as_json = as_json or targets[0][1] == "json"
            return _failed(_query_failure(exc), as_json, "painkg: no such stored patient")
        if view == "graph":
            return _html(await run_in_threadpool(lambda: to_html(stored_graph(data))))
        if view == "json" or as_json:
            return _json(await run_in_threadpool(page_twin, data, (), text))
        href = patient_href(pid)
        return _html(await run_in_threadpool(_page, data, (), text, who, href, f"{href}/graph"))

    # Starlette matches the decoded path, so /patients/a%2Fgraph reaches this route too: both routes read
    # the raw path (patient_targets) and take the same parameters.
    @router.get("/patients/{pid:path}/graph", summary="The interactive graph of a stored patient")
    async def patient_graph(request: Request, pid: str, format: Optional[str] = Fmt,
                            audience: Optional[str] = Audience):
        from .stored import patient_targets

        return await _patient_view(request, patient_targets(_raw_path(request), format), format, audience)

    @router.get("/patients/{pid:path}", summary="A stored patient's explanation page (or .json / ?format=json)")
    async def patient_page(request: Request, pid: str, format: Optional[str] = Fmt,
                           audience: Optional[str] = Audience):
        from .stored import patient_targets

        return await _patient_view(request, patient_targets(_raw_path(request), format), format, audience)

    return router


async def _form(request) -> dict:
    """The submitted form's fields as text (an uploaded file's, or a bundled example's, content as ``patient``)."""
    from .http_io import media_type

    kind = media_type(request.headers.get("content-type"))
    if kind not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        shown = f'"{kind[:80]}"' if kind else "missing"
        raise ApiError(415, "Content-Type", f"Content-Type: {shown} is not supported; expected multipart/form-data "
                                            "or application/x-www-form-urlencoded (the page's form)")
    try:
        form = await request.form(max_files=1, max_fields=20)
    except Exception as exc:  # python-multipart's parse errors
        raise ApiError(400, "body", f"body: the form could not be read ({type(exc).__name__})") from None
    fields: dict[str, str] = {}
    for name in _FORM_FIELDS:
        value = form.get(name)
        if isinstance(value, str):
            fields[name] = value
    upload = form.get("file")
    if upload is not None and not isinstance(upload, str) and getattr(upload, "filename", ""):
        from ..inputs.reading import decode_utf8

        content = await upload.read()
        if content.strip():
            fields["patient"] = decode_utf8(content, field="file", shown=upload.filename)
    example = fields.get("example")
    if example and not fields.get("patient", "").strip():
        if example not in EXAMPLES:
            raise ApiError(422, "example", f"example: {json.dumps(example[:60])} is not allowed; expected one of "
                                           + ", ".join(EXAMPLES), allowed=list(EXAMPLES))
        from importlib import resources

        fields["patient"] = resources.files("kg.serve").joinpath("templates", f"example-{example}.json").read_text(
            encoding="utf-8")
    return fields
