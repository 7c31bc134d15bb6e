"""A patient from a request body: painkg's JSON, or FHIR R4 (a Bundle, a resource, or a list of resources).

The body is read by the one intake (:func:`kg.inputs.intake.intake`), as
``painkg explain`` reads a file and the CDS hook its prefetch: the same input
is accepted and refused alike; only the names in the errors are the HTTP
API's (``body``, ``?patient=``). A FHIR input holding several patients needs
``?patient=ID`` to choose one. Errors are :class:`~kg.errors.InputError`
(answered 422).

>>> from_data({"id": "p1", "assessed_on": "2026-03-10", "injuries": []}).fhir is None
True
>>> from_data("/etc/passwd")
Traceback (most recent call last):
...
kg.errors.InputError: patient: a string is not allowed; expected a JSON object with id, assessed_on, injuries, findings
"""

from __future__ import annotations

from typing import Any

from ..inputs.intake import Intake, Naming, intake

__all__ = ["PatientInput", "from_data", "NAMING"]

#: How the HTTP API names its input and the choice of a patient in the intake's errors.
NAMING = Naming("body", "patient", "choose one with ?patient=ID", "painkg's patient JSON")

#: What a request gave: ``record``, ``as_of`` (to pass on to :func:`kg.explain`) and ``fhir``.
PatientInput = Intake


def from_data(data: Any, *, as_of: str | None = None, patient: str | None = None) -> Intake:
    """The patient in ``data`` (parsed JSON, never read as a path); ``patient`` picks one of a FHIR input's patients."""
    return intake(data, as_of=as_of, patient=patient, naming=NAMING)
