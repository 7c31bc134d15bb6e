"""FHIR Bulk Data ``$export`` output: a directory of NDJSON files, one resource type per file.

:func:`read_export` joins the files by patient (the export's Patient resources give the
patients, the other files' ``subject`` / ``patient`` references say whose each resource is):
one :class:`BulkPatient` per patient, the patient's resources as a ``collection`` Bundle (for
:func:`kg.inputs.fhir.read_fhir`) whose ``timestamp`` is the export's ``transactionTime``
(from the manifest, when there is one: any ``*.json`` file of the directory with
``transactionTime`` and ``output``), and one :class:`BulkOrphan` per resource that belongs to
no patient of the export, with the reason: it names no patient (no ``subject`` or ``patient``
reference, or one to another type, such as a Group), or a Patient the export does not hold
(not in ``Patient.ndjson``). An export without any Patient resource (``_type=Condition,...``)
has the patients its resources name, as a Bundle has. A resource whose subject is a Patient
it contains (``#p1``) is a patient of its own (``Condition/c1#p1``). Without a manifest the
files are the directory's ``*.ndjson`` in name order, and the assessment date must be given
(``--as-of``). The whole export is held in memory while it is joined (an orphan as its place
in its file, read back at the end).

Example
-------
>>> import tempfile, pathlib, json
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "Patient.ndjson").write_text('{"resourceType": "Patient", "id": "p1"}\\n')
>>> _ = (d / "Condition.ndjson").write_text(json.dumps({"resourceType": "Condition", "id": "c1",
...     "subject": {"reference": "Patient/p1"}, "onsetDateTime": "2026-03-01",
...     "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "S33.5XXA"}]}}) + "\\n"
...     + '{"resourceType": "Condition", "id": "c2", "subject": {"reference": "Patient/p9"}}\\n')
>>> is_bulk_dir(d)
True
>>> export = read_export(d)
>>> [(b.reference, [e["resource"]["id"] for e in b.bundle["entry"]]) for b in export.patients]
[('Patient/p1', ['p1', 'c1'])]
>>> [o] = export.orphans
>>> o.resource, o.file, o.line
('Condition/c2', 'Condition.ndjson', 2)
>>> o.reason
'belongs to no patient of the export: its subject Patient/p9 is not a Patient of the export'
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..errors import InputError
from .limits import LIMITS
from .reading import JsonLimitError, loads

__all__ = ["BulkPatient", "BulkOrphan", "BulkExport", "read_export", "read_ndjson_dir", "is_bulk_dir",
           "bulk_files", "ORPHAN_BYTES"]

_PATIENT_REF = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]*)?$")
#: Bytes of an orphan's line kept (``head``): at least the 1,000 characters a batch's reject shows.
ORPHAN_BYTES = 4096
_NO_PATIENT = "belongs to no patient of the export: "


@dataclass(frozen=True)
class BulkPatient:
    """One patient of a bulk export: ``reference`` (``Patient/p1``) and its resources as a Bundle."""

    reference: str
    bundle: dict


@dataclass(frozen=True)
class BulkOrphan:
    """A resource of a bulk export that belongs to no patient of it.

    ``resource`` names it (``Observation/o9``; ``Observation (no id)`` without an id),
    ``file`` and ``line`` say where it is (the file's name in the export, the line from 1),
    ``reason`` why it is nobody's; ``head`` is the line's first :data:`ORPHAN_BYTES` bytes and
    ``size`` its length in bytes (without the line end).
    """

    resource: str
    file: str
    line: int
    reason: str
    head: bytes
    size: int


@dataclass(frozen=True)
class BulkExport:
    """A joined export: its patients (in the order they first appear) and its orphans (in file and line order)."""

    patients: tuple[BulkPatient, ...]
    orphans: tuple[BulkOrphan, ...]


def _first_line(path: Path) -> bytes:
    with open(path, "rb") as handle:
        for line in handle:
            if line.strip():
                return line[:LIMITS.patient_bytes]
            if handle.tell() > LIMITS.patient_bytes:
                break
    return b""


def is_bulk_dir(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a directory of FHIR NDJSON: an ``*.ndjson`` file whose first record has ``resourceType``."""
    path = Path(path)
    if not path.is_dir():
        return False
    for file in sorted(path.glob("*.ndjson")):
        try:
            first = json.loads(_first_line(file).decode("utf-8"))
        except (ValueError, OSError):
            continue
        return isinstance(first, dict) and isinstance(first.get("resourceType"), str)
    return False


def _manifest(path: Path) -> dict | None:
    for file in sorted(path.glob("*.json")):
        try:
            data = json.loads(file.read_bytes()[:LIMITS.patient_bytes].decode("utf-8"))
        except (ValueError, OSError):
            continue
        if isinstance(data, dict) and "transactionTime" in data and isinstance(data.get("output"), list):
            return data
    return None


def bulk_files(path: str | os.PathLike) -> tuple[list[Path], str | None]:
    """The NDJSON files of an export directory (the manifest's order, else name order) and its transactionTime."""
    path = Path(path)
    manifest = _manifest(path)
    files = sorted(path.glob("*.ndjson"))
    if manifest is not None:
        named = [path / os.path.basename(str(o.get("url", ""))) for o in manifest["output"] if isinstance(o, dict)]
        files = [f for f in named if f.is_file()] + [f for f in files if f not in named]
    stamp = manifest.get("transactionTime") if manifest else None
    return files, stamp if isinstance(stamp, str) else None


def _resources(file: Path) -> Iterator[tuple[int, int, int, dict]]:
    """``(line, offset, size, resource)`` of each resource of ``file`` (size without the line end)."""
    offset = 0
    with open(file, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            start, offset = offset, offset + len(raw)
            if not raw.strip():
                continue
            where = f"{file.name} line {number}"
            if len(raw) > LIMITS.patient_bytes:
                raise InputError(where, message=f"is longer than {LIMITS.patient_bytes:,} bytes; expected one "
                                                "FHIR resource per line")
            try:
                data = loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, JsonLimitError, ValueError) as exc:
                raise InputError(where, message=f"is not a JSON FHIR resource ({str(exc)[:120]})") from None
            if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
                raise InputError(where, message="is not a FHIR resource; expected a JSON object with resourceType")
            yield number, start, len(raw.rstrip(b"\r\n")), data


def _label(resource: dict) -> str:
    rid = resource.get("id")
    return f"{resource['resourceType']}/{rid}" if isinstance(rid, str) else f"{resource['resourceType']} (no id)"


def _reference(resource: dict) -> tuple[str, str | None]:
    """The element naming the resource's patient (``subject`` or ``patient``) and its reference."""
    element = "subject" if resource.get("subject") else "patient"
    ref = resource.get(element) or {}
    ref = ref.get("reference") if isinstance(ref, dict) else None
    return element, ref if isinstance(ref, str) else None


def _owner(resource: dict) -> tuple[str | None, str]:
    """The patient ``resource`` is about (``Patient/p1``, or ``Condition/c1#p1`` for a contained
    Patient), or None and the reason it is about none."""
    if resource["resourceType"] == "Patient":
        rid = resource.get("id")
        return (f"Patient/{rid}", "") if isinstance(rid, str) else (None, "it is a Patient without an id")
    element, ref = _reference(resource)
    if ref is None:
        return None, "it has no subject (or patient) reference"
    if ref.startswith("#"):  # a Patient the resource contains: a patient of its own
        rid = resource.get("id")
        if not isinstance(rid, str):
            return None, f"its {element} {ref} is a Patient it contains, and a resource without an id cannot " \
                         "name that patient"
        return f"{resource['resourceType']}/{rid}{ref}", ""
    match = _PATIENT_REF.search(ref)
    if match is None:
        return None, f"its {element} {ref} is not a Patient"
    return f"Patient/{match.group(1)}", ""


def read_export(path: str | os.PathLike) -> BulkExport:
    """The export in ``path`` joined by patient: its :class:`BulkPatient`\\ s and :class:`BulkOrphan`\\ s.

    A line that is not a JSON FHIR resource raises :class:`~kg.errors.InputError` naming the
    file and line.
    """
    path = Path(path)
    if not path.is_dir():
        raise InputError("input", str(path), "a directory of FHIR bulk NDJSON files")
    files, stamp = bulk_files(path)
    files.sort(key=lambda f: f.name != "Patient.ndjson")
    groups: dict[str, list[dict]] = {}
    places: dict[str, list[tuple[int, int, int, int]]] = {}  # each group's resources: (file, line, offset, size)
    orphans: list[tuple[int, int, int, int, str, str]] = []  # (file, line, offset, size, resource, reason)
    listed: set[str] = set()  # the export's Patient resources
    for index, file in enumerate(files):
        for line, offset, size, resource in _resources(file):
            owner, why = _owner(resource)
            if owner is None:
                orphans.append((index, line, offset, size, _label(resource), why))
                continue
            if resource["resourceType"] == "Patient":
                listed.add(owner)
            groups.setdefault(owner, []).append(resource)
            places.setdefault(owner, []).append((index, line, offset, size))
    patients = []
    for reference, resources in groups.items():
        if listed and reference.startswith("Patient/") and reference not in listed:
            for resource, place in zip(resources, places[reference]):
                element, ref = _reference(resource)
                orphans.append((*place, _label(resource),
                                f"its {element} {ref} is not a Patient of the export"))
            continue
        bundle = {"resourceType": "Bundle", "type": "collection"}
        if stamp:
            bundle["timestamp"] = stamp
        bundle["entry"] = [{"resource": r} for r in resources]
        patients.append(BulkPatient(reference, bundle))
    return BulkExport(tuple(patients), tuple(_orphan(files, *o) for o in sorted(orphans)))


def _orphan(files: list[Path], index: int, line: int, offset: int, size: int, resource: str,
            why: str) -> BulkOrphan:
    with open(files[index], "rb") as handle:
        handle.seek(offset)
        head = handle.read(min(size, ORPHAN_BYTES))
    return BulkOrphan(resource, files[index].name, line, _NO_PATIENT + why, head, size)


def read_ndjson_dir(path: str | os.PathLike, *, as_of: str | None = None) -> Iterator[BulkPatient]:
    """One :class:`BulkPatient` per patient of the export in ``path``, in the order patients first appear
    (``Patient.ndjson`` first); the export's orphans are in :func:`read_export`. ``as_of`` is accepted
    for symmetry with :func:`~kg.inputs.fhir.read_fhir` and checked when each patient is read. A line
    that is not a JSON FHIR resource raises :class:`~kg.errors.InputError` naming the file and line.
    """
    yield from read_export(path).patients
