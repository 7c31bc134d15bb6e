"""The explain API: ``POST /explain``, ``/why-not``, ``/what-if``, ``/interventions``, ``/timeline``.

Each endpoint mirrors the ``painkg`` command of the same name and calls the
same function (:func:`kg.explain`, :func:`kg.why_not`, :func:`kg.what_if`,
:func:`kg.interventions`, :func:`kg.timeline`); the body is the patient
(painkg's JSON or FHIR R4, read by the one intake, :mod:`kg.inputs.intake`),
the command's options are query parameters (``--set`` is ``?set=``,
repeatable). The answer's format follows ``Accept`` (or ``?format=``): JSON
by default, ``text/plain``, and for ``/explain`` every format of
:data:`kg.render.formats.FORMATS` (the table ``painkg explain --format``
uses: the RDF formats, ``application/fhir+json``), byte for byte as the CLI
writes it.
"""


import json
from typing import Literal, Optional

from ..render.formats import FORMATS
from .http_io import negotiate, read_json
from .patient_body import from_data

__all__ = ["explain_router", "EXPLAIN_MEDIA", "QUESTION_MEDIA", "render_explanation", "explanation_json"]

#: Media type -> format name, for ``/explain``: the table of output formats, in its order (JSON first).
EXPLAIN_MEDIA = {f.media_type: f.name for f in FORMATS.values()}
QUESTION_MEDIA = {"application/json": "json", "text/plain": "text"}

_PATIENT_BODY = {
    "required": True,
    "description": "One patient: painkg's patient JSON (see README) or FHIR R4 JSON (a Bundle, or one resource).",
    "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}},
                "application/fhir+json": {"schema": {"type": "object", "additionalProperties": True}}},
}


def _responses(media: dict) -> dict:
    content = {m: ({"schema": {"type": "object"}} if "json" in m else {"schema": {"type": "string"}}) for m in media}
    from .http_errors import ErrorBody

    error = {"description": "A JSON error naming the field", "model": ErrorBody}
    return {200: {"description": "The answer", "content": content},
            **{code: error for code in (400, 406, 413, 415, 422)}}


def _media(request, fmt: Optional[str], media: dict) -> str:
    if fmt is not None:
        by_name = {name: m for m, name in media.items()}
        if fmt in by_name:
            return by_name[fmt]
        from .http_errors import ApiError

        raise ApiError(422, "format", f"format: {json.dumps(fmt[:60])} is not allowed; expected one of "
                                      f"{', '.join(media.values())}")
    return negotiate(request.headers.get("accept"), list(media))


def _answer(text: str, media: str):
    from starlette.responses import Response

    kind = f"{media}; charset=utf-8" if media.startswith("text/") else media
    return Response(text, media_type=kind, headers={"Vary": "Accept"})


#: A body up to this size whose JSON answer the memo holds is answered on the event loop: merging
#: cached text takes a fraction of a millisecond, less than the hop to an engine thread and back
#: with the GIL hand-offs it costs under load. Larger bodies, and patients whose reasoning the
#: memo has not seen, go to an engine thread.
INLINE_BODY_BYTES = 32 * 1024


async def _patient(request, as_of, patient):
    # read_json parses a large body off the event loop (a 0.8 MB patient stalled /healthz 0.4-0.6 s).
    return from_data(await read_json(request), as_of=as_of, patient=patient)


def memo_answer(memo, pi, threshold_days) -> str | None:
    """The JSON answer for ``pi`` if ``memo`` holds every piece of it (no reasoning needed), else None."""
    result = memo.cached_json(pi.record, as_of=pi.as_of, threshold_days=_threshold(threshold_days))
    return None if result is None else explanation_json(result.explanation,
                                                        None if pi.fhir is None else pi.fhir.ignored)


def _threshold(value):
    from ..reasoning.reasoner import DEFAULT_THRESHOLD_DAYS

    return DEFAULT_THRESHOLD_DAYS if value is None else value


def render_explanation(pi, as_of, threshold_days, name: str, detail: bool = False,
                       audience: str = "clinician") -> str:
    """Explain the patient ``pi`` (an :class:`~kg.inputs.intake.Intake`) and render it as the format ``name``
    (the text format for ``audience``, with every step when ``detail``).

    The JSON answer comes from the engine thread's memo (:func:`kg.reasoning.memo.thread_memo`,
    as the CDS hook's), byte for byte what ``painkg explain --format json`` writes; the other
    formats read the :class:`~kg.Explanation` object, reasoned fresh.

    >>> from kg.serve.patient_body import from_data
    >>> import kg
    >>> pi = from_data({"id": "p1", "assessed_on": "2026-03-21", "injuries": [
    ...     {"kind": "strain", "site": "neck", "onset": "2026-03-01"}]})
    >>> render_explanation(pi, None, None, "json") == kg.explain(pi.record).to_json()
    True
    """
    if name == "json":
        from ..reasoning.memo import thread_memo

        result = thread_memo().explain_json(pi.record, as_of=pi.as_of, threshold_days=_threshold(threshold_days))
        return explanation_json(result.explanation, None if pi.fhir is None else pi.fhir.ignored)
    from ..reasoning.reasoner import explain

    e = explain(pi.record, as_of=pi.as_of, threshold_days=_threshold(threshold_days))
    if name == "text":
        return FORMATS[name].render(e, pi.fhir, detail=detail, audience=audience)
    return FORMATS[name].render(e, pi.fhir)


def explanation_json(compact: str, ignored=None) -> str:
    """The JSON format's text (:meth:`kg.Explanation.to_json`, indented, a newline at the end) of an
    explanation's compact JSON ``compact``; with ``ignored`` (a FHIR input's resources not used) it
    ends with ``"ignored"``, as :func:`kg.render.fhir_export.fhir_explanation_dict` does.

    >>> explanation_json('{"patient":"p1","facts":[]}', ignored=()).splitlines()
    ['{', '  "patient": "p1",', '  "facts": [],', '  "ignored": []', '}']
    """
    # json.dumps with indent runs the pure-Python encoder (about 1.8 ms for an explanation, more than
    # the memo's reasoning); json_text writes the same bytes, through orjson where installed.
    from ..reasoning.json_text import dumps_explanation, loads_json

    data = loads_json(compact)
    if ignored is not None:
        data["ignored"] = [dict(i) for i in ignored]
    return dumps_explanation(data) + "\n"


async def _json_answer(request, pi, as_of, threshold_days) -> str:
    """The JSON answer: from the memo on the event loop when it holds the patient's pieces, else an engine thread."""
    engines = request.app.state.engines
    if len(await request.body()) <= INLINE_BODY_BYTES:
        text = memo_answer(engines.memo, pi, threshold_days)
        if text is not None:
            return text
    return await engines.run(render_explanation, pi, as_of, threshold_days, "json")


def _explain_route_class():
    from fastapi.routing import APIRoute

    class ExplainRoute(APIRoute):
        """``POST /explain``: its commonest call, no query string and a JSON answer, skips FastAPI's
        validation of the query parameters that are not there (a fifth of the request's time) and is
        answered by :func:`_json_answer`, as the endpoint would answer it; every other call goes
        to the endpoint. (FastAPI's documented hook: a custom ``APIRoute.get_route_handler``.)"""

        def get_route_handler(self):
            documented = super().get_route_handler()

            async def handler(request):
                if request.scope.get("query_string") or _accepts(request) != "application/json":
                    return await documented(request)
                pi = await _patient(request, None, None)
                return _answer(await _json_answer(request, pi, None, None), "application/json")

            return handler

    return ExplainRoute


def _accepts(request) -> str | None:
    """The media type ``Accept`` picks for ``/explain``, None when none fits (the endpoint answers 406)."""
    from .http_errors import ApiError

    try:
        return negotiate(request.headers.get("accept"), list(EXPLAIN_MEDIA))
    except ApiError:
        return None


def explain_router():
    """The APIRouter of the five question endpoints; the app provides ``request.app.state.engines``."""
    from fastapi import APIRouter, Query, Request

    from .http_errors import ApiError

    router = APIRouter(tags=["explain"])
    common = {"openapi_extra": {"requestBody": _PATIENT_BODY}}
    AsOf = Query(None, max_length=40, description="Assess as of this date (YYYY-MM-DD) or +Nd / -Nd.")
    Threshold = Query(None, description="Days (1 to 365) an injury must stay unresolved before knots (default 14).")
    Patient = Query(None, max_length=200, description="Which patient of a FHIR bundle holding several.")

    async def explain_endpoint(request: Request, as_of: Optional[str] = AsOf, threshold_days: Optional[int] = Threshold,
                               patient: Optional[str] = Patient,
                               format: Optional[Literal[tuple(FORMATS)]] = None,  # type: ignore[valid-type]
                               detail: bool = Query(False, description="Text: every step with every quote."),
                               audience: Literal["clinician", "patient"] = Query(
                                   "clinician", description="Text: patient gives the plain-language wording.")):
        media = _media(request, format, EXPLAIN_MEDIA)
        if EXPLAIN_MEDIA[media] != "text" and (detail or audience != "clinician"):
            raise ApiError(422, "detail" if detail else "audience",
                           f"{'detail' if detail else 'audience'}: applies to the text answer (text/plain) only")
        if detail and audience != "clinician":
            raise ApiError(422, "audience", "audience: the step-by-step detail is written for the clinician; "
                                            "the patient wording is the brief answer")
        pi = await _patient(request, as_of, patient)
        if EXPLAIN_MEDIA[media] == "json":
            return _answer(await _json_answer(request, pi, as_of, threshold_days), media)
        text = await request.app.state.engines.run(render_explanation, pi, as_of, threshold_days, EXPLAIN_MEDIA[media],
                                                   detail, audience)
        return _answer(text, media)

    router.add_api_route("/explain", explain_endpoint, methods=["POST"], responses=_responses(EXPLAIN_MEDIA),
                         summary="Explain why (or whether) pain persists", route_class_override=_explain_route_class(),
                         **common)

    @router.post("/why-not", responses=_responses(QUESTION_MEDIA), summary="Why was a concept not concluded?",
                 **common)
    async def why_not_endpoint(request: Request, concept: str = Query(..., max_length=200),
                               site: Optional[str] = Query(None, max_length=200), depth: int = 3,
                               as_of: Optional[str] = AsOf, threshold_days: Optional[int] = Threshold,
                               patient: Optional[str] = Patient, format: Optional[Literal["json", "text"]] = None):
        media = _media(request, format, QUESTION_MEDIA)
        pi = await _patient(request, as_of, patient)

        def work():
            from ..questions.asking import why_not

            answer = why_not(pi.record, concept, site=site, as_of=pi.as_of,
                             threshold_days=_threshold(threshold_days), depth=depth)
            return answer.to_json() if media == "application/json" else answer.to_text()

        return _answer(await request.app.state.engines.run(work), media)

    @router.post("/what-if", responses=_responses(QUESTION_MEDIA), summary="What if the patient were different?",
                 **common)
    async def what_if_endpoint(request: Request,
                               set: list[str] = Query([], description="A change PATH=VALUE, PATH+=VALUE or "
                                                                      "PATH-=VALUE (repeatable)"),
                               as_of: Optional[str] = AsOf, threshold_days: Optional[int] = Threshold,
                               patient: Optional[str] = Patient, format: Optional[Literal["json", "text"]] = None):
        media = _media(request, format, QUESTION_MEDIA)
        pi = await _patient(request, None, patient)

        def work():
            from ..questions.what_if import what_if

            result = what_if(pi.record, list(set), as_of=as_of, threshold_days=_threshold(threshold_days))
            return result.to_json() if media == "application/json" else result.to_text()

        return _answer(await request.app.state.engines.run(work), media)

    @router.post("/interventions", responses=_responses(QUESTION_MEDIA),
                 summary="The smallest treatment changes that stop the pain persisting", **common)
    async def interventions_endpoint(request: Request, max_changes: int = 3, as_of: Optional[str] = AsOf,
                                     threshold_days: Optional[int] = Threshold, patient: Optional[str] = Patient,
                                     format: Optional[Literal["json", "text"]] = None):
        media = _media(request, format, QUESTION_MEDIA)
        pi = await _patient(request, as_of, patient)

        def work():
            from ..questions.interventions import interventions

            result = interventions(pi.record, as_of=pi.as_of, threshold_days=_threshold(threshold_days),
                                   max_changes=max_changes)
            return result.to_json() if media == "application/json" else result.to_text()

        return _answer(await request.app.state.engines.run(work), media)

    @router.post("/timeline", responses=_responses(QUESTION_MEDIA), summary="Dated events from onset to assessment",
                 **common)
    async def timeline_endpoint(request: Request, as_of: Optional[str] = AsOf,
                                threshold_days: Optional[int] = Threshold, patient: Optional[str] = Patient,
                                format: Optional[Literal["json", "text"]] = None):
        media = _media(request, format, QUESTION_MEDIA)
        pi = await _patient(request, as_of, patient)

        def work():
            from ..questions.asking import timeline

            t = timeline(pi.record, as_of=pi.as_of, threshold_days=_threshold(threshold_days))
            return t.to_json() if media == "application/json" else t.to_text()

        return _answer(await request.app.state.engines.run(work), media)

    return router
