"""FHIR R4 input: a Bundle, one resource, or a list of resources, to painkg patient records.

:func:`read_fhir` takes a ``Bundle`` (collection, searchset, transaction or batch), a single
resource, or a list of resources (CDS Hooks prefetch entries, bulk NDJSON lines), groups them
by patient (``subject.reference``) and gives one :class:`FhirPatient` each: the patient record
in painkg's JSON contract (:mod:`kg.inputs.patient`), the resources it used, and the resources
it ignored with the reason. Structurally invalid FHIR raises :class:`FhirInputError` naming
the resource and the element (:mod:`kg.inputs.fhir_validate`); what each resource gives is in
:mod:`kg.inputs.fhir_map`; bulk ``$export`` directories are read by :mod:`kg.inputs.fhir_bulk`.

The assessment date is ``as_of`` when given (a date, or ``+Nd`` / ``-Nd`` from the bundle's
date), else the date of ``Bundle.timestamp``; without either, :class:`FhirInputError` asks for
``--as-of``.

Example
-------
>>> bundle = {"resourceType": "Bundle", "type": "collection", "timestamp": "2026-03-21T10:00:00Z",
...   "entry": [{"resource": {"resourceType": "Patient", "id": "p1"}},
...     {"resource": {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
...       "clinicalStatus": {"coding": [{"code": "active"}]}, "onsetDateTime": "2026-03-01",
...       "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "S39.012A"}]}}},
...     {"resource": {"resourceType": "Encounter", "id": "e1", "status": "finished"}}]}
>>> [p] = read_fhir(bundle)
>>> p.record
{'id': 'p1', 'assessed_on': '2026-03-21', 'injuries': [{'kind': 'muscle_strain', 'site': 'lower_back', 'onset': '2026-03-01', 'resolved': False}], 'findings': []}
>>> p.sources, p.ignored
(('Patient/p1', 'Condition/c1'), ({'resource': 'Encounter/e1', 'reason': 'painkg does not read Encounter resources'},))
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Iterator

from ..errors import InputError, type_name
from ..knowledge.ontology import load_ontology
from .dates import resolve_as_of
from .fhir_bulk import BulkPatient, read_ndjson_dir
from .fhir_map import fhir_date
from .fhir_validate import READ_TYPES, FhirInputError, element_path, validate_resource

__all__ = ["FhirInputError", "FhirPatient", "BulkPatient", "is_fhir", "read_fhir", "read_fhir_ndjson_dir",
           "fhir_record", "BUNDLE_TYPES"]

#: The Bundle types painkg reads.
BUNDLE_TYPES = ("collection", "searchset", "transaction", "batch")
_PATIENT_REF = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]*)?$")


@dataclass(frozen=True)
class FhirPatient:
    """One patient of a FHIR input: ``record`` is painkg's patient JSON (``kg.explain`` takes it),
    ``ignored`` the resources painkg did not use with the reason, ``sources`` the ones it used."""

    record: dict
    ignored: tuple[dict, ...]
    sources: tuple[str, ...]


def is_fhir(data: object) -> bool:
    """Whether ``data`` looks like FHIR: an object with ``resourceType``, or a list of them.

    >>> is_fhir({"resourceType": "Bundle"}), is_fhir([{"resourceType": "Patient"}]), is_fhir({"id": "p1"})
    (True, True, False)
    """
    if isinstance(data, dict):
        return isinstance(data.get("resourceType"), str)
    return isinstance(data, list) and bool(data) and all(is_fhir(item) for item in data if not isinstance(item, list))


@dataclass
class _Item:
    where: str
    resource: dict | None
    full_url: str | None = None
    method: str | None = None


def _label(resource: dict, fallback: str) -> str:
    rid = resource.get("id")
    return f"{resource['resourceType']}/{rid}" if isinstance(rid, str) and rid else fallback


def _bundle_items(bundle: dict) -> list[_Item]:
    """The entries of a Bundle (its shell and entries validated); an entry without a resource has None."""
    from fhir.resources.R4B.bundle import BundleEntry
    from pydantic import ValidationError

    where = _label(bundle, "Bundle")
    validate_resource({k: v for k, v in bundle.items() if k != "entry"}, where)
    if bundle.get("type") not in BUNDLE_TYPES:
        raise FhirInputError(where, "type", bundle.get("type"), ", ".join(BUNDLE_TYPES))
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise FhirInputError(where, "entry", type_name(entries), "an array of entries")
    items = []
    for i, entry in enumerate(entries):
        at = f"entry[{i}]"
        if not isinstance(entry, dict):
            raise FhirInputError(where, at, type_name(entry), "an object")
        shell = {k: v for k, v in entry.items() if k != "resource"}
        try:
            BundleEntry.model_validate(shell)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            loc = element_path(tuple(first["loc"]))
            raise FhirInputError(where, f"{at}.{loc}" if loc else at,
                                 message=f"is not valid: {first['msg'][:200]}") from None
        resource = entry.get("resource")
        if resource is not None and not isinstance(resource, dict):
            raise FhirInputError(where, f"{at}.resource", type_name(resource), "a FHIR resource object")
        items.append(_Item(at, resource, entry.get("fullUrl"), (entry.get("request") or {}).get("method")))
    return items


def _timestamp(bundle: dict) -> dt.date | None:
    stamp = bundle.get("timestamp")
    return fhir_date(stamp, _label(bundle, "Bundle"), "timestamp") if stamp else None


def _collect(data: Any) -> tuple[list[_Item], dt.date | None, str]:
    """The items, the input's own date, and what to name when the date is missing."""
    if isinstance(data, dict) and data.get("resourceType") == "Bundle":
        return _bundle_items(data), _timestamp(data), f"{_label(data, 'Bundle')}.timestamp"
    if isinstance(data, dict):
        return [_Item(data.get("resourceType", "resource") if isinstance(data.get("resourceType"), str)
                      else "resource", data)], None, "as_of"
    if isinstance(data, list):
        return [_Item(f"resources[{i}]", r) for i, r in enumerate(data)], None, "as_of"
    raise InputError("fhir", type_name(data), "a FHIR Bundle, a FHIR resource, or a list of resources")


def _patient_key(reference: object, aliases: dict[str, str]) -> str | None:
    if not isinstance(reference, str):
        return None
    if reference in aliases:
        return aliases[reference]
    match = _PATIENT_REF.search(reference)
    return f"Patient/{match.group(1)}" if match else None


def read_fhir(data: Any, *, as_of: str | None = None, _own_date: dt.date | None = None) -> list[FhirPatient]:
    """One :class:`FhirPatient` per patient of a FHIR Bundle, resource or list of resources.

    Patients come in the order their Patient resource (or first reference) appears.
    Raises :class:`FhirInputError` for invalid FHIR, :class:`~kg.errors.InputError` without
    an assessment date.
    """
    items, own, date_field = _collect(data)
    own = own or _own_date
    if as_of is not None:
        assessed = resolve_as_of(as_of, own)
    elif own is not None:
        assessed = own
    else:
        raise InputError(date_field, message="is missing, so painkg cannot tell the assessment date; pass --as-of "
                                             "YYYY-MM-DD (as_of= in Python)")
    onto = load_ontology()
    seen: set[str] = set()
    patients: dict[str, dict | None] = {}
    aliases: dict[str, str] = {}
    belongs: list[tuple[str, dict]] = []
    ignored_all: list[dict] = []
    order: dict[str, int] = {}
    for item in items:
        resource = item.resource
        if resource is None:
            method = f" (a {item.method} request)" if item.method else ""
            order.setdefault(item.where, len(order))
            ignored_all.append({"resource": item.where, "reason": f"has no resource{method}"})
            continue
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise FhirInputError(item.where, "resourceType", message="is missing; expected a FHIR resource type "
                                                                     "such as Condition")
        label = _label(resource, item.full_url or item.where)
        if label in seen:
            raise FhirInputError(item.where, "id", resource.get("id"), message=f"repeats {label}; give each "
                                                                               "resource once")
        order[label] = len(order)
        seen.add(label)
        if resource["resourceType"] in READ_TYPES and resource["resourceType"] != "Bundle":
            validate_resource(resource, label)
        if resource["resourceType"] == "Patient":
            patients[label] = resource
            if item.full_url:
                aliases[item.full_url] = label
            continue
        belongs.append((label, resource))
    resolved: list[tuple[str, str, dict]] = []
    for label, resource in belongs:
        ref = (resource.get("subject") or resource.get("patient") or {})
        ref = ref.get("reference") if isinstance(ref, dict) else None
        key = _patient_key(ref, aliases)
        if key is None:
            if resource["resourceType"] not in READ_TYPES:
                reason = f"painkg does not read {resource['resourceType']} resources"
            else:
                reason = ("is not about a patient" if ref is None else f"its subject {ref} is not a Patient") + \
                    "; painkg reads resources about a patient"
            ignored_all.append({"resource": label, "reason": reason})
            continue
        patients.setdefault(key, None)
        resolved.append((key, label, resource))
    if not patients:
        raise FhirInputError(date_field.split(".")[0] if "." in date_field else "fhir",
                             message="holds no Patient and no resource about a patient; expected a Patient with "
                                     "its Conditions and Observations")
    out = []
    for key, patient in patients.items():
        mine = [(label, r) for k, label, r in resolved if k == key]
        out.append(_one_patient(key, patient, mine, list(ignored_all), assessed, onto, order))
    return out


def _one_patient(key: str, patient: dict | None, resources, ignored: list[dict], assessed: dt.date,
                 onto, order: dict[str, int]) -> FhirPatient:
    from .fhir_record import build_record

    pid = (patient or {}).get("id") or re.split(r"[/:]", key)[-1]
    birth = None
    if patient and patient.get("birthDate"):
        birth = fhir_date(patient["birthDate"], key, "birthDate")
    record, sources, more = build_record(pid, assessed, resources, birth, onto)
    head = (key,) if patient is not None else ()
    return FhirPatient(record, tuple(sorted(ignored + more, key=lambda i: (order.get(i["resource"], 0), i["resource"]))),
                       head + sources)


def fhir_record(data: Any, *, as_of: str | None = None) -> dict:
    """The painkg record of a FHIR input holding one patient (what ``kg.explain`` reads from FHIR).

    With several patients, :class:`FhirInputError` lists their ids.
    """
    patients = read_fhir(data, as_of=as_of)
    if len(patients) > 1:
        ids = ", ".join(p.record["id"] for p in patients)
        raise FhirInputError("Bundle" if isinstance(data, dict) else "fhir",
                             message=f"holds {len(patients)} patients ({ids}); expected one (painkg explain "
                                     "--patient ID picks one)")
    return patients[0].record


def read_fhir_ndjson_dir(path, *, as_of: str | None = None) -> Iterator[BulkPatient]:
    """The patients of a FHIR bulk ``$export`` directory, one :class:`~kg.inputs.fhir_bulk.BulkPatient` each
    (``reference``, and ``bundle``: the patient's resources, for :func:`read_fhir`); see
    :func:`kg.inputs.fhir_bulk.read_ndjson_dir`. A patient is read (and checked) by ``read_fhir(b.bundle)``.
    """
    return read_ndjson_dir(path, as_of=as_of)
