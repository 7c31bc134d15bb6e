"""The JSON bodies of CDS Hooks 2.0 that painkg reads, as pydantic models (https://cds-hooks.hl7.org/2.0/).

:func:`parse_request` and :func:`parse_feedback` turn a parsed JSON body into
a model or raise :class:`~kg.serve.http_errors.ApiError` 400 naming the field
(``context.patientId: is required``), the way every painkg error does.

>>> r = parse_request({"hook": "patient-view", "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
...                    "context": {"userId": "Practitioner/1", "patientId": "p1"}})
>>> (r.hook, r.context.patientId, r.prefetch)
('patient-view', 'p1', None)
>>> parse_request({"hook": "order-sign", "hookInstance": "x", "context": {"patientId": "p1"}})
Traceback (most recent call last):
...
kg.serve.http_errors.ApiError: hook: "order-sign" is not allowed; expected patient-view (this service answers that hook only)
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .http_errors import ApiError

__all__ = ["FhirAuthorization", "PatientViewContext", "CdsRequest", "Coding", "OverrideReason",
           "AcceptedSuggestion", "Feedback", "FeedbackRequest", "parse_request", "parse_feedback", "HOOK"]

#: The one hook painkg's service answers.
HOOK = "patient-view"
_ID = Field(min_length=1, max_length=1024)
# Marks a well-formed but impossible date-time, which is answered 422 (the request's form is right, its value is not).
_NOT_AN_INSTANT = "not-an-instant:"


class _Open(BaseModel):
    # The spec reserves `extension` and lets clients add fields: unknown keys are allowed, kept, unused.
    model_config = ConfigDict(extra="allow", frozen=True)


class FhirAuthorization(_Open):
    """``fhirAuthorization``: an OAuth 2.0 bearer token for the client's FHIR server."""

    access_token: str = Field(min_length=1, max_length=8192)
    token_type: Literal["Bearer"]
    expires_in: int = Field(ge=0)
    scope: str = Field(min_length=1)
    subject: str = Field(min_length=1)


class PatientViewContext(_Open):
    """The ``patient-view`` hook's context: ``userId`` and ``patientId`` required, ``encounterId`` optional."""

    userId: str = _ID
    patientId: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9\-.]{1,64}$")
    encounterId: str | None = Field(default=None, min_length=1, max_length=1024)


class CdsRequest(_Open):
    """A CDS service call (``POST {base}/cds-services/{id}``)."""

    hook: str = Field(min_length=1, max_length=200)
    hookInstance: str = _ID
    fhirServer: str | None = Field(default=None, min_length=1, max_length=2048, pattern=r"^https?://")
    fhirAuthorization: FhirAuthorization | None = None
    context: PatientViewContext
    prefetch: dict[str, Any] | None = None
    extension: dict[str, Any] | None = None

    @field_validator("hook")
    @classmethod
    def _patient_view(cls, value: str) -> str:
        if value != HOOK:
            raise ValueError(f"hook-not-answered:{value}")
        return value

    @model_validator(mode="after")
    def _authorization_needs_server(self) -> "CdsRequest":
        if self.fhirAuthorization is not None and self.fhirServer is None:
            raise ValueError("fhirServer is required when fhirAuthorization is given")
        return self


class Coding(_Open):
    """A CDS Hooks Coding: ``code`` and ``system`` required, ``display`` optional."""

    code: str = Field(min_length=1)
    system: str = Field(min_length=1)
    display: str | None = None


class OverrideReason(_Open):
    """Why a clinician dismissed a card: a ``reason`` Coding and/or a ``userComment``."""

    reason: Coding | None = None
    userComment: str | None = Field(default=None, max_length=10_000)


class AcceptedSuggestion(_Open):
    """One accepted suggestion: its ``id`` (the suggestion's uuid)."""

    id: str = _ID


class Feedback(_Open):
    """One feedback entry about one card."""

    card: str = _ID
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = None
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: str = Field(min_length=10, max_length=64,
                                  pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

    @field_validator("outcomeTimestamp")
    @classmethod
    def _a_real_instant(cls, value: str) -> str:
        # The pattern admits "2026-99-99T99:99:99Z"; the calendar and the clock do not.
        try:
            _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{_NOT_AN_INSTANT}{value}") from None
        return value

    @model_validator(mode="after")
    def _accepted_has_suggestions(self) -> "Feedback":
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions is required when outcome is accepted")
        return self


class FeedbackRequest(_Open):
    """The feedback body: ``{"feedback": [Feedback, ...]}``."""

    feedback: list[Feedback] = Field(min_length=1, max_length=1000)


def _bad_request(exc: ValidationError) -> ApiError:
    first = exc.errors(include_url=False)[0]
    loc = ".".join(str(p) for p in first["loc"]) or "body"
    message = str(first.get("msg", "is not valid")).removeprefix("Value error, ")
    if message.startswith("hook-not-answered:"):
        shown = json.dumps(message.partition(":")[2][:80])
        return ApiError(400, "hook", f"hook: {shown} is not allowed; expected {HOOK} (this service answers "
                                     "that hook only)", allowed=[HOOK])
    if message.startswith(_NOT_AN_INSTANT):
        shown = json.dumps(message.partition(":")[2][:80])
        return ApiError(422, loc, f"{loc}: {shown} is not a date and time that exists; expected an instant such as "
                                  "2026-03-21T10:00:00Z")
    if first["type"] == "missing":
        return ApiError(400, loc, f"{loc}: is required")
    value = first.get("input")
    shown = f" {json.dumps(value)[:80]}" if isinstance(value, (str, int, float)) else ""
    return ApiError(400, loc, f"{loc}:{shown} {message}")


def parse_request(body: Any) -> CdsRequest:
    """The CDS service call in ``body`` (parsed JSON); ApiError 400 naming the first bad field."""
    return _validated(CdsRequest, body, "a CDS Hooks request")


def parse_feedback(body: Any) -> FeedbackRequest:
    """The feedback in ``body`` (parsed JSON); ApiError 400 naming the first bad field, 422 for a
    timestamp of the right form that is not a real instant (``2026-99-99T99:99:99Z``).

    >>> parse_feedback({"feedback": [{"card": "c1", "outcome": "overridden",
    ...                               "outcomeTimestamp": "2026-03-21T10:00:00Z"}]}).feedback[0].outcome
    'overridden'
    >>> parse_feedback({"feedback": [{"card": "c1", "outcome": "overridden",
    ...                               "outcomeTimestamp": "2026-99-99T99:99:99Z"}]})
    Traceback (most recent call last):
    ...
    kg.serve.http_errors.ApiError: feedback.0.outcomeTimestamp: "2026-99-99T99:99:99Z" is not a date and time that exists; expected an instant such as 2026-03-21T10:00:00Z
    """
    return _validated(FeedbackRequest, body, "CDS Hooks feedback")


def _validated(model, body: Any, what: str):
    if not isinstance(body, dict):
        raise ApiError(400, "body", f"body: must be a JSON object ({what})")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise _bad_request(exc) from None
