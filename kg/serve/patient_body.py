"""A patient from a request body: painkg's JSON, or FHIR R4 (a Bundle, or one resource).

FHIR is told by its ``resourceType`` (:func:`kg.inputs.fhir.is_fhir`) and read
with :func:`kg.inputs.fhir.read_fhir`; a bundle holding several patients needs
``?patient=ID`` to choose one. Errors are :class:`~kg.errors.InputError`
(answered 422) or :class:`~kg.serve.http_errors.ApiError`.

>>> from_data({"id": "p1", "assessed_on": "2026-03-10", "injuries": []}).fhir is None
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InputError, show
from .http_errors import ApiError

__all__ = ["PatientInput", "from_data"]


@dataclass(frozen=True)
class PatientInput:
    """What a request gave: ``record`` (painkg's patient dict), ``fhir`` (the FhirPatient, or None), ``as_of``.

    ``as_of`` is what to pass on to :func:`kg.explain` (None when the FHIR
    reader has already applied it to the record).
    """

    record: dict
    fhir: Any = None
    as_of: str | None = None


def _fhir_module():
    try:
        from ..inputs import fhir
    except ImportError:  # pragma: no cover - only while the FHIR reader is not installed
        return None
    return fhir


def from_data(data: Any, *, as_of: str | None = None, patient: str | None = None) -> PatientInput:
    """The patient in ``data`` (parsed JSON); ``patient`` picks one of a FHIR bundle's patients."""
    fhir = _fhir_module()
    if fhir is not None and isinstance(data, dict) and fhir.is_fhir(data):
        found = fhir.read_fhir(data, as_of=as_of)
        if patient is not None:
            found = [p for p in found if p.record.get("id") == patient]
            if not found:
                raise InputError("patient", patient, "the id of a Patient in the FHIR data")
        if not found:
            raise InputError("body", message="holds no patient painkg can read; expected a FHIR Bundle with a "
                                             "Patient and its Conditions, or a Condition")
        if len(found) > 1:
            ids = ", ".join(show(p.record.get("id")) for p in found[:20])
            raise ApiError(422, "patient", f"patient: the FHIR data holds {len(found)} patients ({ids}); choose one "
                                           "with ?patient=ID")
        return PatientInput(record=found[0].record, fhir=found[0], as_of=None)
    if not isinstance(data, dict):
        from ..errors import type_name

        raise InputError("patient", type_name(data), "a JSON object (painkg's patient JSON or a FHIR R4 resource)")
    if patient is not None and data.get("id") != patient:
        raise InputError("patient", patient, f"the id of the posted patient ({show(data.get('id'))})")
    return PatientInput(record=data, fhir=None, as_of=as_of)
