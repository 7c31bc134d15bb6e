"""The pages: ``/`` (paste or upload a patient, see the explanation beside its graph) and
``/patients/{id}`` (a stored patient), each with its JSON twin.

The twin of a page is the same URL with ``?format=json`` or ``Accept:
application/json`` (and ``/patients/{id}.json``). ``?audience=patient`` (or the
form's wording choice) adds the plain-language wording of
:mod:`kg.render.patient_text` next to the clinician text. Every page ends with
the disclaimer; every value on a page is escaped.
"""


import json
from typing import Optional

from ..errors import InputError
from .http_errors import ApiError
from .page_html import error_page, esc, form_page, graph_frame, layout, pre

__all__ = ["pages_router", "wants_json", "explain_page_data"]

_PAGE_MEDIA = ["text/html", "application/json"]


def wants_json(request, fmt: Optional[str]) -> bool:
    """Whether the client asked for the JSON twin (``?format=json`` or Accept preferring JSON)."""
    from .http_io import negotiate

    if fmt is not None:
        if fmt not in ("json", "html"):
            raise ApiError(422, "format", f"format: {json.dumps(fmt[:60])} is not allowed; expected json or html")
        return fmt == "json"
    return negotiate(request.headers.get("accept"), _PAGE_MEDIA) == "application/json"


def _json(data: dict, status: int = 200):
    from starlette.responses import Response

    return Response(json.dumps(data, indent=2, ensure_ascii=False) + "\n", status_code=status,
                    media_type="application/json", headers={"Vary": "Accept"})


def _html(text: str, status: int = 200):
    from starlette.responses import HTMLResponse

    return HTMLResponse(text, status_code=status, headers={"Vary": "Accept"})


def _audience(value: Optional[str]) -> str:
    if value in (None, "", "clinician"):
        return "clinician"
    if value == "patient":
        return "patient"
    raise ApiError(422, "audience", f"audience: {json.dumps(value[:60])} is not allowed; expected clinician or patient")


def explain_page_data(record: dict, as_of, audience: str) -> dict:
    """Explain ``record`` and gather what the page and its twin show (runs on an engine thread)."""
    from ..knowledge.wording import DISCLAIMER
    from ..reasoning.reasoner import explain
    from ..render.graph_export import to_html
    from ..render.patient_text import to_patient_text

    e = explain(record, as_of=as_of)
    data = {"explanation": e.to_dict(), "text": e.to_text(), "audience": audience, "disclaimer": DISCLAIMER}
    if audience == "patient":
        data["patient_text"] = to_patient_text(e)
    data["graph_html"] = to_html(e.graph())
    return data


def _texts(text: str, patient_text: Optional[str]) -> str:
    parts = ['<section class="clinician"><h2>For the clinician</h2>' + pre(text) + "</section>"]
    if patient_text is not None:
        parts.append('<section class="patient" lang="en"><h2>In plain words, for the patient</h2>'
                     + "".join(f"<p>{esc(line)}</p>" for line in patient_text.strip().split("\n") if line)
                     + "</section>")
    return '<div class="texts">' + "".join(parts) + "</div>"


def _stored_patient_text(data: dict) -> str:
    from ..knowledge.ontology import load_ontology
    from ..render.brief import brief_text
    from ..render.presentation import present

    return brief_text(present(data, load_ontology(), "patient"))


def _stored_text(data: dict) -> str:
    from ..knowledge.ontology import load_ontology

    onto = load_ontology()
    lines = [f"patient {data['patient']}, assessed on {data.get('assessed_on')}; "
             f"pain persists: {'yes' if data.get('pain_persists') else 'not concluded'}", ""]
    for f in data["facts"]:
        for j in f["justifications"]:
            lines.append(f"{f['id']} ({j['certainty']}) by rule {j['rule']}: {onto.rules[j['rule']].label}")
            lines.append(f"  from: {', '.join(j['premises'])}")
            lines += [f'  source {p}: "{onto.passages[p].text}"' for p in onto.evidence(j["rule"], f["site"])]
    return "\n".join(lines) + "\n"


def pages_router(settings):
    """The APIRouter of the pages for ``settings``."""
    from fastapi import APIRouter, Query, Request

    router = APIRouter(tags=["pages"])
    Fmt = Query(None, description="json for the page's JSON twin (or Accept: application/json)")
    Audience = Query(None, description="patient: add the plain-language wording for the patient")

    @router.get("/", summary="The start page: paste or upload a patient")
    async def index(request: Request, format: Optional[str] = Fmt, audience: Optional[str] = Audience):
        from ..knowledge.wording import DISCLAIMER

        if wants_json(request, format):
            return _json({"page": "explain", "post": {"path": "/", "form_fields": ["patient", "file", "as_of",
                                                                                  "audience"]},
                          "api": {"explain": "/explain", "sparql": "/sparql", "openapi": "/openapi.json"},
                          "disclaimer": DISCLAIMER})
        return _html(form_page(audience=_audience(audience)))

    @router.post("/", summary="The explanation page of a pasted or uploaded patient",
                 openapi_extra={"requestBody": {"content": {"multipart/form-data": {"schema": {
                     "type": "object", "properties": {"patient": {"type": "string"}, "as_of": {"type": "string"},
                                                      "audience": {"type": "string"}}}}}}})
    async def explain_page(request: Request, format: Optional[str] = Fmt, audience: Optional[str] = Audience):
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
            pi = from_data(data, as_of=form.get("as_of") or None)
            page = await request.app.state.engines.run(explain_page_data, pi.record, pi.as_of, who)
        except (ApiError, InputError) as exc:
            status = exc.status if isinstance(exc, ApiError) else 422
            message = exc.message if isinstance(exc, ApiError) else str(exc)
            field = exc.field
            if as_json:
                return _json({"error": message, "field": field, "status": status}, status)
            return _html(form_page(text[:200_000], message=message), status)
        if as_json:
            return _json({k: v for k, v in page.items() if k != "graph_html"})
        e = page["explanation"]
        body = ('<div class="cols">' + _texts(page["text"], page.get("patient_text"))
                + graph_frame(graph_html=page["graph_html"]) + "</div>")
        return _html(layout(f"painkg: patient {e['patient']}, assessed on {e['assessed_on']}", body))

    def need_store():
        if settings.store is None:
            raise ApiError(404, "store", "store: this server has no store; start it with painkg serve --store DIR")

    async def load(pid: str) -> dict:
        from starlette.concurrency import run_in_threadpool

        from .stored import stored_patient

        need_store()
        return await run_in_threadpool(stored_patient, settings, pid)

    @router.get("/patients", summary="The patients in the store")
    async def patients(request: Request, format: Optional[str] = Fmt):
        from starlette.concurrency import run_in_threadpool

        from ..knowledge.wording import DISCLAIMER
        from .stored import stored_ids

        as_json = wants_json(request, format)
        ids = await run_in_threadpool(stored_ids, settings) if settings.store is not None else []
        if as_json:
            return _json({"patients": ids, "store": settings.store is not None, "disclaimer": DISCLAIMER})
        from urllib.parse import quote

        items = "".join(f'<li><a href="/patients/{esc(quote(i, safe=""))}">{esc(i)}</a></li>' for i in ids)
        note = "" if settings.store is not None else "<p>This server has no store (painkg serve --store DIR).</p>"
        return _html(layout("painkg: stored patients", f"{note}<ul>{items}</ul>", json_href="/patients?format=json"))

    @router.get("/patients/{pid}/graph", summary="The interactive graph of a stored patient")
    async def patient_graph(pid: str):
        from ..render.graph_export import to_html
        from .stored import stored_graph

        return _html(to_html(stored_graph(await load(pid))))

    @router.get("/patients/{pid}", summary="A stored patient's explanation page (or .json / ?format=json)")
    async def patient_page(request: Request, pid: str, format: Optional[str] = Fmt,
                           audience: Optional[str] = Audience):
        from urllib.parse import quote

        from ..knowledge.wording import DISCLAIMER

        as_json = pid.endswith(".json") or wants_json(request, format)
        pid = pid[:-5] if pid.endswith(".json") else pid
        who = _audience(audience)
        try:
            data = await load(pid)
        except (ApiError, InputError) as exc:
            status = exc.status if isinstance(exc, ApiError) else 404
            message = exc.message if isinstance(exc, ApiError) else str(exc)
            if as_json:
                return _json({"error": message, "field": exc.field, "status": status}, status)
            return _html(error_page(status, message, "painkg: no such stored patient"), status)
        text = _stored_text(data)
        patient_text = _stored_patient_text(data) if who == "patient" else None
        if as_json:
            extra = {"patient_text": patient_text} if patient_text is not None else {}
            return _json({**data, "text": text, **extra, "audience": who, "disclaimer": DISCLAIMER})
        href = f"/patients/{quote(pid, safe='')}"
        body = ('<div class="cols">' + _texts(text, patient_text) + graph_frame(src=f"{href}/graph") + "</div>")
        return _html(layout(f"painkg: stored patient {pid}", body, json_href=f"{href}.json"))

    return router


async def _form(request) -> dict:
    """The submitted form's fields as text (an uploaded file's content as ``patient``)."""
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
    for name in ("patient", "as_of", "audience"):
        value = form.get(name)
        if isinstance(value, str):
            fields[name] = value
    upload = form.get("file")
    if upload is not None and not isinstance(upload, str) and getattr(upload, "filename", ""):
        from ..inputs.reading import decode_utf8

        content = await upload.read()
        if content.strip():
            fields["patient"] = decode_utf8(content, field="file", shown=upload.filename)
    return fields
