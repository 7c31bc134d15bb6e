"""The FHIR data of a CDS call: from its ``prefetch``, or fetched from its ``fhirServer`` when the operator allows.

The service asks for four prefetch templates (:data:`PREFETCH`). Per CDS
Hooks 2.0 (https://cds-hooks.hl7.org/2.0/#prefetch-template) a key the client
did not satisfy is absent, and a key with no data is ``null``; an
``OperationOutcome`` in place of the data means the client's prefetch failed,
and is treated as absent. ``conditions`` and ``observations`` are required
(:data:`REQUIRED`): without them painkg cannot say why pain persists. When a
required key is absent, the service may fetch it from ``fhirServer`` only if
``ServeSettings.fhir_fetch`` is on; otherwise it answers 412 Precondition
Failed, as the spec prescribes ("If the CDS Service is unable to obtain
required data ... the service SHALL respond with an HTTP 412"). An absent
optional key (``patient``, ``procedures``) is fetched when allowed, or noted on
the card.

>>> from kg.serve.settings import ServeSettings
>>> from kg.serve.cds_models import parse_request
>>> req = parse_request({"hook": "patient-view", "hookInstance": "h1",
...     "context": {"userId": "Practitioner/1", "patientId": "p1"},
...     "prefetch": {"conditions": None, "observations": None}})
>>> data = gather(req, ServeSettings())
>>> [r["resourceType"] for r in data.resources], data.notes
(['Patient'], ('prefetch procedures: not sent, so heat or cold therapy is not known to painkg',))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..inputs.intake import Intake, Naming
from .http_errors import ApiError
from .settings import ServeSettings

__all__ = ["PREFETCH", "REQUIRED", "FhirData", "gather", "prefetch_patient", "MAX_PAGES", "NAMING"]

#: The prefetch templates of the service (discovery), by key.
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}",
    "procedures": "Procedure?patient={{context.patientId}}",
}
#: Keys without which the service cannot answer (412 when absent and not fetchable).
REQUIRED = ("conditions", "observations")
#: The most search result pages followed when fetching one key from the FHIR server.
MAX_PAGES = 10
_WHY = {"patient": "the Patient resource", "procedures": "heat or cold therapy"}
#: How a CDS call names its FHIR data and its patient in the intake's errors (:func:`prefetch_patient`).
NAMING = Naming("prefetch", "context.patientId", "the call's context.patientId chooses one", "")


@dataclass(frozen=True)
class FhirData:
    """The patient's resources for painkg, and remarks about what was missing."""

    resources: list[dict]
    notes: tuple[str, ...]


def _absent(value: Any) -> bool:
    return isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"


def _resources(key: str, value: Any) -> list[dict]:
    """The resources of one prefetch value: a Bundle's entries, or one resource."""
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise ApiError(400, f"prefetch.{key}", f"prefetch.{key}: must be a FHIR resource or Bundle (a JSON object "
                                              "with resourceType) or null")
    if value["resourceType"] != "Bundle":
        return [value]
    entries = value.get("entry")
    entries = [] if entries is None else entries
    if not isinstance(entries, list):
        raise ApiError(400, f"prefetch.{key}.entry", f"prefetch.{key}.entry: must be an array")
    out = []
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            raise ApiError(400, f"prefetch.{key}.entry[{i}]", f"prefetch.{key}.entry[{i}]: has no resource object")
        search = entry.get("search")
        if search is not None and not isinstance(search, dict):
            raise ApiError(400, f"prefetch.{key}.entry[{i}].search", f"prefetch.{key}.entry[{i}].search: must be "
                                                                     "an object (a Bundle entry's search)")
        if (search or {}).get("mode") == "outcome" or resource.get("resourceType") == "OperationOutcome":
            continue  # a search's own messages, not patient data
        out.append(resource)
    return out


def gather(request, settings: ServeSettings) -> FhirData:
    """The resources of ``request`` (a :class:`~kg.serve.cds_models.CdsRequest`), fetched where allowed and needed.

    Raises :class:`~kg.serve.http_errors.ApiError` 412 when required data is
    missing and cannot be fetched, 400 when a prefetch value is not FHIR.
    """
    patient_id = request.context.patientId
    prefetch = request.prefetch or {}
    resources: list[dict] = []
    notes: list[str] = []
    missing = [key for key in PREFETCH if key not in prefetch or _absent(prefetch[key])]
    for key in PREFETCH:
        if key not in missing and prefetch[key] is not None:
            resources.extend(_resources(key, prefetch[key]))
    required = [key for key in missing if key in REQUIRED]
    if missing and request.fhirServer is not None and settings.fhir_fetch:
        for key in missing:
            resources.extend(_fetch(request, key, settings.max_body_bytes))
    elif required:
        keys = ", ".join(required)
        if request.fhirServer is None:
            raise ApiError(412, "prefetch", f"prefetch: {keys} missing and no fhirServer to fetch from; send the "
                                            f"prefetch the discovery document asks for ({keys})", missing=required)
        raise ApiError(412, "fhirServer", f"prefetch: {keys} missing, and this server's operator does not allow "
                                          "fetching from fhirServer (fhir_fetch is off); send the prefetch",
                       missing=required)
    else:
        notes += [f"prefetch {key}: not sent, so {_WHY[key]} is not known to painkg"
                  for key in missing if key != "patient"]
    patients = [r for r in resources if r.get("resourceType") == "Patient"]
    for r in patients:
        if r.get("id") != patient_id:
            raise ApiError(400, "prefetch.patient", f"prefetch.patient: id {str(r.get('id'))[:64]!r} is not "
                                                    f"context.patientId {patient_id!r}")
    if not patients:
        resources.insert(0, {"resourceType": "Patient", "id": patient_id})
    return FhirData(resources, tuple(notes))


def prefetch_patient(resources: list[dict], patient_id: str, as_of: str) -> Intake:
    """The patient ``patient_id`` of the gathered ``resources``, assessed on ``as_of``, as an
    :class:`~kg.inputs.intake.Intake`: the one intake that ``painkg explain`` and ``POST /explain``
    use, so the same FHIR data gives the same patient record. Other patients' resources are
    listed as not used. Invalid FHIR is :class:`~kg.serve.http_errors.ApiError` 422 naming
    ``prefetch`` and the element.
    """
    from ..inputs.intake import intake

    try:
        return intake(resources, input="fhir", patient=patient_id, as_of=as_of, naming=NAMING)
    except InputError as exc:
        field = "prefetch" if exc.field in ("", "prefetch") else f"prefetch.{exc.field}"
        raise ApiError(422, field, f"prefetch: {exc}") from None


def _fetch(request, key: str, max_bytes: int) -> list[dict]:
    """GET one prefetch template from the client's FHIR server (only when the operator allows it)."""
    import httpx

    base = request.fhirServer.rstrip("/")
    url = f"{base}/{PREFETCH[key].replace('{{context.patientId}}', request.context.patientId)}"
    headers = {"Accept": "application/fhir+json"}
    if request.fhirAuthorization is not None:
        headers["Authorization"] = f"Bearer {request.fhirAuthorization.access_token}"
    out: list[dict] = []
    with httpx.Client(timeout=5.0, follow_redirects=False, headers=headers) as client:
        for _ in range(MAX_PAGES):
            document = _get_json(client, url, key, max_bytes)
            if document is None:  # no such Patient
                return out
            out.extend(_resources(key, document))
            url = _next_link(document, base)
            if url is None:
                break
    return out


def _get_json(client, url: str, key: str, max_bytes: int) -> dict | None:
    """One GET, its body read up to ``max_bytes``; None for a missing Patient; ApiError 412 on failure."""
    import json

    import httpx

    try:
        with client.stream("GET", url) as response:
            if response.status_code == 404 and key == "patient":
                return None
            if response.status_code != 200:
                raise ApiError(412, "fhirServer", f"fhirServer: fetching {key} answered HTTP {response.status_code}")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise ApiError(412, "fhirServer", f"fhirServer: {key} is larger than {max_bytes:,} bytes")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise ApiError(412, "fhirServer", f"fhirServer: fetching {key} failed ({type(exc).__name__})") from None
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, RecursionError):
        raise ApiError(412, "fhirServer", f"fhirServer: {key} was not JSON") from None


def _next_link(document: dict, base: str) -> str | None:
    # Follow a search's next page only on the same FHIR server (the token must not leave it).
    links = document.get("link")
    for link in links if isinstance(links, list) else ():
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            if isinstance(url, str) and url.startswith(base + "/"):
                return url
    return None
