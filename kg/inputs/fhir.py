"""FHIR R4 input: a Bundle, one resource, or a list of resources, to painkg patient records.

:func:`read_fhir` takes a ``Bundle`` (collection, searchset, transaction, batch, document or
message), a single resource, or a list of resources (CDS Hooks prefetch entries, bulk NDJSON
lines), groups them by patient (``subject.reference``: a bundle's ``fullUrl`` first, then the
type and id, or a Patient the resource contains, ``#p1``) and gives one :class:`FhirPatient` each:
the patient record in painkg's JSON contract (:mod:`kg.inputs.patient`), the resources it used,
and the resources it ignored with the reason. Structurally invalid FHIR raises :class:`FhirInputError` naming
the resource and the element (:mod:`kg.inputs.fhir_validate`: a plain resource is checked by hand,
:mod:`kg.inputs.fhir_shape`, the others by the R4B models, which name the problem); what each resource gives is in
:mod:`kg.inputs.fhir_map`; bulk ``$export`` directories are read by :mod:`kg.inputs.fhir_bulk`.

Resources are told apart by their ``fullUrl`` when the bundle gives one, else by type and id,
so two ``Condition/1`` from two servers both count (each is then named by its ``fullUrl``). Two
entries with the same ``fullUrl`` and different ``meta.versionId`` are versions of one resource:
the latest (by ``meta.lastUpdated``, else by a numeric ``versionId``) is read, the others are
listed as not used.

The assessment date is ``as_of`` when given (a date, or ``+Nd`` / ``-Nd`` from the bundle's
date), else the date of ``Bundle.timestamp`` (in UTC, as every dateTime with a time:
:func:`kg.inputs.fhir_map.fhir_date`); without either, :class:`FhirInputError` asks for
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
from dataclasses import dataclass, field
from typing import Any, Iterator

from ..errors import InputError, type_name
from ..knowledge.ontology import load_ontology
from .dates import resolve_as_of
from .fhir_bulk import BulkPatient, read_ndjson_dir
from .fhir_map import fhir_date, fhir_instant
from .fhir_shape import plainly_valid
from .fhir_validate import READ_TYPES, FhirInputError, element_path, stand_in, validate_resource
from .reading import LongNumber

__all__ = ["FhirInputError", "FhirPatient", "BulkPatient", "is_fhir", "read_fhir", "read_fhir_ndjson_dir",
           "fhir_record", "BUNDLE_TYPES"]

#: The Bundle types painkg reads.
BUNDLE_TYPES = ("collection", "searchset", "transaction", "batch", "document", "message")
#: The first entry of a document or message Bundle, which painkg skips, and why.
_HEADERS = {"document": ("Composition", "is the document's Composition (its sections and narrative); painkg "
                                       "reads the document's other resources"),
            "message": ("MessageHeader", "is the message's MessageHeader; painkg reads the message's other "
                                         "resources")}
_PATIENT_REF = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]*)?$")
_HISTORY = re.compile(r"/_history/[^/]*$")
_ABOUT = "painkg reads resources about a patient"
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


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
    header: str | None = None  # the reason to skip a document's Composition or a message's MessageHeader


@dataclass
class _Entry:
    """One resource of the input: ``key`` tells it apart (its fullUrl, else type/id), ``label`` names it."""

    key: str
    where: str
    resource: dict
    full_url: str | None
    header: str | None
    position: int
    typeid: str | None = None
    label: str = ""
    versions: list = field(default_factory=list)  # its earlier versions (_Entry), in the bundle's order
    older: list = field(default_factory=list)  # the same, listed as not used: {"resource": ..., "reason": ...}


def _text(value: object) -> str | None:
    """A non-empty JSON string (a number too long for the limits is not one)."""
    return value if isinstance(value, str) and value and not isinstance(value, LongNumber) else None


def _label(resource: dict, fallback: str) -> str:
    rid = _text(resource.get("id"))
    return f"{resource['resourceType']}/{rid}" if rid else fallback


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
    header_type, header_reason = _HEADERS.get(bundle["type"], (None, None))
    items = []
    for i, entry in enumerate(entries):
        at = f"entry[{i}]"
        if not isinstance(entry, dict):
            raise FhirInputError(where, at, type_name(entry), "an object")
        shell = {k: v for k, v in entry.items() if k != "resource"}
        try:
            BundleEntry.model_validate(stand_in(shell))
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            loc = element_path(tuple(first["loc"]))
            raise FhirInputError(where, f"{at}.{loc}" if loc else at,
                                 message=f"is not valid: {first['msg'][:200]}") from None
        resource = entry.get("resource")
        if resource is not None and not isinstance(resource, dict):
            raise FhirInputError(where, f"{at}.resource", type_name(resource), "a FHIR resource object")
        header = header_reason if i == 0 and header_type and (resource or {}).get("resourceType") == header_type \
            else None
        items.append(_Item(at, resource, _text(entry.get("fullUrl")), (entry.get("request") or {}).get("method"),
                           header))
    return items


def _timestamp(bundle: dict) -> dt.date | None:
    stamp = bundle.get("timestamp")
    return fhir_date(stamp, _label(bundle, "Bundle"), "timestamp") if stamp is not None else None


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


def _version(resource: dict) -> str | None:
    meta = resource.get("meta")
    return _text(meta.get("versionId")) if isinstance(meta, dict) else None


def _latest(versions: list[_Entry]) -> _Entry:
    """The latest of several versions of one resource (bundle invariant bdl-7 allows them in one bundle)."""
    stamps = [fhir_instant((v.resource.get("meta") or {}).get("lastUpdated")) for v in versions]
    if all(stamps) and len(set(stamps)) == len(stamps):
        return versions[stamps.index(max(stamps))]
    ids = [_version(v.resource) for v in versions]
    if all(i.isdigit() for i in ids):
        return versions[max(range(len(ids)), key=lambda n: int(ids[n]))]
    raise FhirInputError(versions[-1].where, "meta.versionId", message=f"gives versions {', '.join(ids)} of "
                                                                      f"{versions[0].key}; painkg cannot tell the "
                                                                      "latest (give each its meta.lastUpdated)")


def _entries(items: list[_Item], ignored: list[dict], order: dict[str, int]) -> list[_Entry]:
    """The input's resources, validated, each once (the latest version), labelled; entries without a
    resource are added to ``ignored``."""
    groups: dict[str, list[_Entry]] = {}
    for position, item in enumerate(items):
        resource = item.resource
        if resource is None:
            method = f" (a {item.method} request)" if item.method else ""
            order.setdefault(item.where, position)
            ignored.append({"resource": item.where, "reason": f"has no resource{method}"})
            continue
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise FhirInputError(item.where, "resourceType", message="is missing; expected a FHIR resource type "
                                                                     "such as Condition")
        rid = _text(resource.get("id"))
        typeid = f"{resource['resourceType']}/{rid}" if rid else None
        key = _HISTORY.sub("", item.full_url) if item.full_url else typeid or item.where
        entry = _Entry(key, item.where, resource, item.full_url, item.header, position, typeid)
        same = groups.setdefault(key, [])
        if same and not (_version(resource) and all(_version(e.resource) not in (None, _version(resource))
                                                     for e in same)):
            raise FhirInputError(item.where, "id", resource.get("id"),
                                 message=f"repeats {same[0].typeid or key}; give each resource once")
        same.append(entry)
        if resource["resourceType"] in READ_TYPES and resource["resourceType"] != "Bundle" \
                and not plainly_valid(resource):  # a plain resource the model would accept: no model built
            validate_resource(resource, typeid or item.full_url or item.where)
    entries = []
    for versions in groups.values():
        used = _latest(versions) if len(versions) > 1 else versions[0]
        used.versions = [e for e in versions if e is not used]
        entries.append(used)
    entries.sort(key=lambda e: e.position)
    shared = {}
    for e in entries:
        shared[e.typeid] = shared.get(e.typeid, 0) + 1
    for e in entries:
        unique = e.typeid is not None and (shared[e.typeid] == 1 or not e.full_url)
        e.label = e.typeid if unique else (e.full_url or e.where)
        order[e.label] = e.position
        for old in e.versions:
            name = f"{e.label}/_history/{_version(old.resource)}"
            order[name] = old.position
            e.older.append({"resource": name, "reason": f"is an earlier version of {e.label}; version "
                                                        f"{_version(e.resource)}, the latest, is used"})
    return entries


class _Patients:
    """The patients of the input, and how a reference finds one: fullUrl first, then type/id."""

    def __init__(self, entries: list[_Entry]):
        self.found: dict[str, dict | None] = {}  # key -> the Patient resource (None: only referenced)
        self.labels: dict[str, str | None] = {}  # key -> the label sources name it by (None: not a source)
        self.by_url: dict[str, _Entry] = {e.full_url and _HISTORY.sub("", e.full_url): e for e in entries
                                          if e.full_url}
        self.by_typeid: dict[str, list[str]] = {}
        for e in entries:
            if e.resource["resourceType"] == "Patient":
                self.found[e.key] = e.resource
                self.labels[e.key] = e.label
                if e.typeid:
                    self.by_typeid.setdefault(e.typeid, []).append(e.key)

    def owner(self, entry: _Entry) -> tuple[str | None, str]:
        """The key of the patient ``entry`` is about, or None and the reason it is about none."""
        ref = entry.resource.get("subject") or entry.resource.get("patient") or {}
        ref = _text(ref.get("reference")) if isinstance(ref, dict) else None
        if ref is None:
            return None, f"is not about a patient; {_ABOUT}"
        if ref.startswith("#"):
            return self._contained(entry, ref)
        plain = _HISTORY.sub("", ref)
        target = self.by_url.get(plain) or self.by_url.get(_resolve(entry.full_url, plain) or "")
        if target is not None:
            if target.resource["resourceType"] == "Patient":
                return target.key, ""
            return None, f"its subject {ref} is not a Patient; {_ABOUT}"
        match = _PATIENT_REF.search(plain)
        if match is None:
            return None, f"its subject {ref} is not a Patient; {_ABOUT}"
        typeid = f"Patient/{match.group(1)}"
        candidates = self.by_typeid.get(typeid, [])
        if _ABSOLUTE.match(plain):  # not a patient another server gave
            candidates = [k for k in candidates if not _ABSOLUTE.match(k)]
        if len(candidates) > 1:
            return None, (f"its subject {ref} may be any of {', '.join(self.labels[k] for k in candidates)}; painkg "
                          "cannot tell which")
        key = candidates[0] if candidates else typeid
        if key not in self.found:
            self.found[key], self.labels[key] = None, None
        return key, ""

    def _contained(self, entry: _Entry, ref: str) -> tuple[str | None, str]:
        for inner in entry.resource.get("contained") or []:
            if isinstance(inner, dict) and inner.get("resourceType") == "Patient" and inner.get("id") == ref[1:]:
                key = f"{entry.key}{ref}"
                if key not in self.found:
                    self.found[key], self.labels[key] = inner, None  # part of its container, not a source itself
                return key, ""
        return None, f"its subject {ref} is not a Patient it contains; {_ABOUT}"


def _resolve(base_url: str | None, reference: str) -> str | None:
    """A relative reference (``Patient/1``) as the full URL it has on the server of ``base_url``."""
    if not base_url or not _ABSOLUTE.match(base_url) or _ABSOLUTE.match(reference) or ":" in reference:
        return None
    parts = base_url.rstrip("/").split("/")
    return "/".join(parts[:-2] + [reference]) if len(parts) > 4 else None


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
    ignored_all: list[dict] = []
    order: dict[str, int] = {}
    entries = _entries(items, ignored_all, order)
    patients = _Patients(entries)
    extra: dict[str, list[dict]] = {key: [] for key in patients.found}
    for e in entries:
        if e.resource["resourceType"] == "Patient":
            extra[e.key].extend(e.older)
    resolved: list[tuple[str, str, dict]] = []
    for e in entries:
        if e.resource["resourceType"] == "Patient":
            continue
        key, why = patients.owner(e)
        notes = list(e.older)
        if e.header:
            notes.insert(0, {"resource": e.label, "reason": e.header})
        if key is None:
            if not e.header:
                reason = f"painkg does not read {e.resource['resourceType']} resources" \
                    if e.resource["resourceType"] not in READ_TYPES else why
                notes.insert(0, {"resource": e.label, "reason": reason})
            ignored_all.extend(notes)
            continue
        extra.setdefault(key, []).extend(notes)
        if not e.header:
            resolved.append((key, e.label, e.resource))
    if not patients.found:
        if len(entries) == 1 and ignored_all and isinstance(data, dict) and data.get("resourceType") != "Bundle":
            raise FhirInputError(ignored_all[0]["resource"], message=ignored_all[0]["reason"])
        raise FhirInputError(date_field.split(".")[0] if "." in date_field else "fhir",
                             message="holds no Patient and no resource about a patient; expected a Patient with "
                                     "its Conditions and Observations")
    out = []
    for key, patient in patients.found.items():
        mine = [(label, r) for k, label, r in resolved if k == key]
        out.append(_one_patient(key, patients.labels[key], patient, mine, ignored_all + extra.get(key, []),
                                assessed, onto, order))
    return out


def _one_patient(key: str, label: str | None, patient: dict | None, resources, ignored: list[dict],
                 assessed: dt.date, onto, order: dict[str, int]) -> FhirPatient:
    from .fhir_record import build_record

    pid = _text((patient or {}).get("id")) or re.split(r"[/:#]", key)[-1]
    birth = None
    if patient and patient.get("birthDate"):
        birth = fhir_date(patient["birthDate"], label or key, "birthDate")
    record, sources, more = build_record(pid, assessed, resources, birth, onto)
    head = (label,) if label is not None else ()
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
