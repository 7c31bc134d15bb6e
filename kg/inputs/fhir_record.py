"""One patient's FHIR resources to painkg's patient record, its dates checked on the resources.

The dates are checked as :func:`kg.inputs.patient.parse_patient` checks them (an onset after the
assessment date, a resolution before the onset or after the assessment), and a problem is
reported on the resource and element it came from (``Condition/c1.abatementDateTime: ...``),
not on the record. (This module does not import :mod:`kg.inputs.patient`, which reads FHIR
through :mod:`kg.inputs.fhir`; the record is parsed by whoever explains it.)

Example
-------
>>> import datetime as dt
>>> from kg.knowledge.ontology import load_ontology
>>> c = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p"},
...      "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "S16.1XXA"}]},
...      "onsetDateTime": "2026-04-01"}
>>> build_record("p", dt.date(2026, 3, 21), [("Condition/c1", c)], None, load_ontology())
Traceback (most recent call last):
...
kg.inputs.fhir_validate.FhirInputError: Condition/c1.onsetDateTime: "2026-04-01" is after the assessment date 2026-03-21
"""

from __future__ import annotations

import datetime as dt

from .fhir_map import Ignored, map_resource
from .fhir_validate import FhirInputError

__all__ = ["build_record"]


def build_record(pid: str, assessed: dt.date, resources, birth: dt.date | None, onto):
    """``(record, sources, ignored)`` for one patient's ``(label, resource)`` pairs, in input order.

    A resource used in part is in ``sources`` and, with what was not used of it, in ``ignored``.
    """
    injuries, findings, sources, ignored = [], [], [], []
    seen: dict[tuple[str, str], str] = {}
    for label, resource in resources:
        part = map_resource(resource, label, onto, birth)
        if isinstance(part, Ignored):
            ignored.append({"resource": label, "reason": part.reason})
            continue
        if part.role == "injury":
            same = (part.item["kind"], part.item["site"])
            if same in seen:
                ignored.append({"resource": label, "reason": f"repeats {seen[same]} (the same injury at the same "
                                                             "site); the first one is used"})
                continue
            seen[same] = label
            _check_dates(part.item, label, part.elements, assessed)
            injuries.append(part.item)
        else:
            findings.append(part.item)
        sources.append(label)
        ignored.extend({"resource": label, "reason": note} for note in part.notes)
    record = {"id": pid, "assessed_on": assessed.isoformat(), "injuries": injuries, "findings": findings}
    return record, tuple(sources), ignored


def _check_dates(item: dict, label: str, elements: dict, assessed: dt.date) -> None:
    onset = dt.date.fromisoformat(item["onset"])
    if onset > assessed:
        raise FhirInputError(label, elements["onset"], item["onset"], message=f"\"{item['onset']}\" is after the "
                                                                             f"assessment date {assessed.isoformat()}")
    end = item.get("resolved_on")
    if end is not None and dt.date.fromisoformat(end) < onset:
        raise FhirInputError(label, elements["resolved_on"], end, message=f"\"{end}\" is before the onset "
                                                                         f"{onset.isoformat()}")
    if end is not None and dt.date.fromisoformat(end) > assessed:
        raise FhirInputError(label, elements["resolved_on"], end, message=f"\"{end}\" is after the assessment "
                                                                         f"date {assessed.isoformat()}")
