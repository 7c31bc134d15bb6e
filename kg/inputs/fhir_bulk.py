"""FHIR Bulk Data ``$export`` output: a directory of NDJSON files, one resource type per file.

:func:`read_ndjson_dir` joins the files by patient (``Patient.ndjson`` gives the patients,
the other files' ``subject`` / ``patient`` references say whose each resource is) and yields
one :class:`BulkPatient` per patient: the patient's resources as a ``collection`` Bundle (for
:func:`kg.inputs.fhir.read_fhir`) whose
``timestamp`` is the export's ``transactionTime`` (from the manifest, when there is one: any
``*.json`` file of the directory with ``transactionTime`` and ``output``). Without a manifest
the files are the directory's ``*.ndjson`` in name order, and the assessment date must be
given (``--as-of``). A resource whose subject is a Patient it contains (``#p1``) is a patient
of its own (``Condition/c1#p1``). Resources about no patient are left out (there is no patient
to list them under). The whole export is held in memory while it is joined.

Example
-------
>>> import tempfile, pathlib, json
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "Patient.ndjson").write_text('{"resourceType": "Patient", "id": "p1"}\\n')
>>> _ = (d / "Condition.ndjson").write_text(json.dumps({"resourceType": "Condition", "id": "c1",
...     "subject": {"reference": "Patient/p1"}, "onsetDateTime": "2026-03-01",
...     "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "S33.5XXA"}]}}) + "\\n")
>>> is_bulk_dir(d)
True
>>> [(b.reference, [e["resource"]["id"] for e in b.bundle["entry"]]) for b in read_ndjson_dir(d)]
[('Patient/p1', ['p1', 'c1'])]
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

__all__ = ["BulkPatient", "read_ndjson_dir", "is_bulk_dir", "bulk_files"]

_PATIENT_REF = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]*)?$")


@dataclass(frozen=True)
class BulkPatient:
    """One patient of a bulk export: ``reference`` (``Patient/p1``) and its resources as a Bundle."""

    reference: str
    bundle: dict


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


def _resources(file: Path) -> Iterator[tuple[str, dict]]:
    with open(file, "rb") as handle:
        for number, raw in enumerate(handle, 1):
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
            yield where, data


def _owner(resource: dict) -> str | None:
    if resource["resourceType"] == "Patient":
        rid = resource.get("id")
        return f"Patient/{rid}" if isinstance(rid, str) else None
    ref = resource.get("subject") or resource.get("patient") or {}
    ref = ref.get("reference") if isinstance(ref, dict) else None
    if isinstance(ref, str) and ref.startswith("#"):  # a Patient the resource contains: a patient of its own
        rid = resource.get("id")
        return f"{resource['resourceType']}/{rid}{ref}" if isinstance(rid, str) else None
    match = _PATIENT_REF.search(ref) if isinstance(ref, str) else None
    return f"Patient/{match.group(1)}" if match else None


def read_ndjson_dir(path: str | os.PathLike, *, as_of: str | None = None) -> Iterator[BulkPatient]:
    """One :class:`BulkPatient` per patient of the export in ``path``, in the order patients first appear
    (``Patient.ndjson`` first). ``as_of`` is accepted for symmetry with :func:`~kg.inputs.fhir.read_fhir`
    and checked when each patient is read. A line that is not a JSON FHIR resource raises
    :class:`~kg.errors.InputError` naming the file and line.
    """
    path = Path(path)
    if not path.is_dir():
        raise InputError("input", str(path), "a directory of FHIR bulk NDJSON files")
    files, stamp = bulk_files(path)
    files.sort(key=lambda f: f.name != "Patient.ndjson")
    groups: dict[str, list[dict]] = {}
    for file in files:
        for _where, resource in _resources(file):
            owner = _owner(resource)
            if owner is not None:
                groups.setdefault(owner, []).append(resource)
    for reference, resources in groups.items():
        bundle = {"resourceType": "Bundle", "type": "collection"}
        if stamp:
            bundle["timestamp"] = stamp
        bundle["entry"] = [{"resource": r} for r in resources]
        yield BulkPatient(reference, bundle)
