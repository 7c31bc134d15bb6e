"""One intake: painkg's patient JSON or FHIR R4 (already parsed) to one patient record and its FHIR context.

The command line (``painkg explain``), the HTTP API (``POST /explain`` and the
questions) and the CDS hook (its prefetch resources) all read a patient here,
so they accept the same input and refuse it with the same words. Only the
names differ: each interface says how it spells the input and the choice of
a patient (:class:`Naming`: ``file`` and ``--patient`` on the command line,
``body`` and ``?patient=`` over HTTP).

FHIR is told by its ``resourceType`` (:func:`kg.inputs.fhir.is_fhir`: a
resource, a Bundle, or a list of resources) and read by
:func:`kg.inputs.fhir.read_fhir`; an input holding several patients needs
``patient`` to choose one, and the other patients' resources are then listed
as not used. Errors are :class:`~kg.errors.InputError`.

Example
-------
>>> got = intake({"id": "p1", "assessed_on": "2026-03-10", "injuries": []}, as_of="+2d")
>>> got.record["id"], got.as_of, got.fhir, got.ignored
('p1', '+2d', None, ())
>>> bundle = {"resourceType": "Bundle", "type": "collection", "timestamp": "2026-03-21T10:00:00Z",
...   "entry": [{"resource": {"resourceType": "Patient", "id": "a"}},
...             {"resource": {"resourceType": "Patient", "id": "b"}}]}
>>> intake(bundle)
Traceback (most recent call last):
...
kg.errors.InputError: data: holds 2 patients (a, b); pass patient=ID to choose one
>>> got = intake(bundle, patient="b")
>>> got.record, got.as_of, got.ignored
({'id': 'b', 'assessed_on': '2026-03-21', 'injuries': [], 'findings': []}, None, ({'resource': 'Patient/a', 'reason': 'resources of another patient than b'},))
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any

from ..errors import InputError, show, type_name

__all__ = ["Intake", "Naming", "PYTHON", "INPUTS", "intake", "read_json_file", "MAX_IDS_SHOWN"]

#: What the input may be read as: ``auto`` (FHIR when it has ``resourceType``), ``painkg`` or ``fhir``.
INPUTS = ("auto", "painkg", "fhir")
#: The most patient ids an error lists.
MAX_IDS_SHOWN = 20


@dataclass(frozen=True)
class Naming:
    """How an interface names things in the intake's error messages.

    ``data``: the input as a whole (``file``, ``body``); ``patient``: the choice
    of one patient (``--patient``, ``patient``); ``choose``: what to do when a
    FHIR input holds several patients; ``painkg``: how to read FHIR-looking
    input as painkg's JSON instead.
    """

    data: str
    patient: str
    choose: str
    painkg: str


#: The Python API's names (``kg.intake(data, patient=..., input=...)``).
PYTHON = Naming("data", "patient", "pass patient=ID to choose one", 'input="painkg"')


@dataclass(frozen=True)
class Intake:
    """One patient as an interface received it.

    ``record`` is painkg's patient JSON (a dict :func:`kg.explain` reads);
    ``as_of`` is what to pass on to :func:`kg.explain` (None when the FHIR
    reader has already applied it to the record); ``fhir`` is the
    :class:`~kg.inputs.fhir.FhirPatient` of a FHIR input (None for painkg's
    JSON), whose ``ignored`` lists the resources painkg did not use.
    """

    record: dict
    as_of: Any = None
    fhir: Any = None

    @property
    def ignored(self) -> tuple[dict, ...]:
        """The FHIR resources not used, each ``{"resource": ..., "reason": ...}`` (empty for painkg's JSON)."""
        return tuple(self.fhir.ignored) if self.fhir is not None else ()


def read_json_file(path: str | os.PathLike) -> Any:
    """The parsed JSON of a patient file, or of standard input for ``"-"`` (bounded, strict; field ``file``)."""
    from .limits import LIMITS
    from .reading import parse_json, read_text

    stdin = os.fspath(path) == "-"
    shown = "-" if stdin else path
    text = read_text(path, field="file", shown=shown,
                     expected="a patient's JSON on standard input" if stdin else "a readable JSON file",
                     limit=LIMITS.patient_bytes)
    return parse_json(text, field="file", shown=shown)


def intake(data: Any, *, input: str = "auto", patient: str | None = None, as_of: object = None,
           naming: Naming = PYTHON) -> Intake:
    """The one patient in ``data`` (parsed JSON: painkg's patient JSON, or FHIR R4).

    ``input`` is ``"auto"`` (FHIR when the JSON has ``resourceType``),
    ``"painkg"`` or ``"fhir"``. ``patient`` chooses one patient of a FHIR
    input by its id (for painkg's JSON it must be the record's id).
    ``as_of`` is applied by the FHIR reader (a FHIR input needs a date: its
    Bundle's timestamp or ``as_of``), and handed on in :attr:`Intake.as_of`
    for painkg's JSON. ``naming`` words the errors for the interface.

    >>> intake({"resourceType": "Condition", "id": "c1"}, input="painkg")
    Traceback (most recent call last):
    ...
    kg.errors.InputError: resourceType: unknown field; allowed fields are assessed_on, findings, id, injuries
    >>> intake({"id": "p1"}, input="fhir")
    Traceback (most recent call last):
    ...
    kg.errors.InputError: data: is not FHIR; expected a FHIR Bundle or resource (an object with resourceType), or input="painkg"
    """
    if input not in INPUTS:
        raise InputError("input", input, "one of " + ", ".join(INPUTS))
    if patient is not None and not isinstance(patient, str):
        raise InputError(naming.patient, type_name(patient), "the id of a patient (a string)")
    from .fhir import is_fhir

    if input == "painkg" or (input == "auto" and not is_fhir(data)):
        return _painkg(data, patient, as_of, naming)
    if not is_fhir(data):
        raise InputError(naming.data, message="is not FHIR; expected a FHIR Bundle or resource (an object with "
                                              f"resourceType), or {naming.painkg}")
    return _fhir(data, patient, as_of, naming)


def _painkg(data: Any, patient: str | None, as_of: object, naming: Naming) -> Intake:
    from .patient import parse_patient

    if not isinstance(data, dict) or isinstance(data.get("resourceType"), str):
        # Not a record (parse_patient words the error), or a FHIR-looking one read as painkg's
        # JSON: parsed here, because a later reader would take it for FHIR.
        return Intake(parse_patient(data, as_of=as_of).to_dict())
    if patient is not None and data.get("id") != patient:
        raise InputError(naming.patient, patient, f"the id of this painkg patient record ({show(data.get('id'))}), "
                                                  "its only patient")
    return Intake(data, as_of)


def _fhir(data: Any, patient: str | None, as_of: object, naming: Naming) -> Intake:
    from .fhir import read_fhir

    found = read_fhir(data, as_of=as_of)
    ids = [p.record["id"] for p in found]
    if patient is None:
        if len(found) > 1:
            raise InputError(naming.data, message=f"holds {len(found)} patients ({_ids(ids)}); {naming.choose}")
        return Intake(found[0].record, None, found[0])
    if patient not in ids:
        raise InputError(naming.patient, patient, "one of " + _ids(ids))
    mine = found[ids.index(patient)]
    others = tuple({"resource": f"Patient/{p.record['id']}", "reason": f"resources of another patient than {patient}"}
                   for p in found if p is not mine)
    return Intake(mine.record, None, replace(mine, ignored=tuple(mine.ignored) + others) if others else mine)


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:MAX_IDS_SHOWN])
    return shown + (f", ... ({len(ids) - MAX_IDS_SHOWN} more)" if len(ids) > MAX_IDS_SHOWN else "")
