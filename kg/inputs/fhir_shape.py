"""The shape of a plainly valid FHIR resource, checked by hand: no pydantic model on the common path.

:func:`plainly_valid` says True only for a resource the ``fhir.resources`` R4B
model (:func:`kg.inputs.fhir_validate.validate_resource`) accepts: a Patient,
Condition, Observation or Procedure made only of the elements an EHR commonly
sends painkg (ids, meta, references, codings, the dates painkg reads, a few
status codes), each of the exact JSON type with a value narrower than FHIR's
own rule (an id of 1 to 64 of ``[A-Za-z0-9.-]``, a code of printable ASCII, a
dateTime that is a real day). Anything else (another element, a ``null``, an
empty array, a partial date, a string with no visible ASCII character) gives
False, and the caller asks the model, which accepts it or names its first
problem. So the decision and every message stay the model's; a plain resource
costs a few microseconds instead of a model's validation (about 0.4 ms each).

The rule this module keeps: True implies the model accepts. ``tests/test_fhir_shape.py``
checks it on generated resources (valid ones and ones broken in one place) and on
every resource of the FHIR test files.

>>> c = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
...      "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "S39.012A"}]},
...      "onsetDateTime": "2026-03-01", "clinicalStatus": {"coding": [{"code": "active"}]}}
>>> plainly_valid(c), plainly_valid(dict(c, onsetDateTime="2026-02-30")), plainly_valid(dict(c, note=[]))
(True, False, False)
>>> plainly_valid({"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "spasm"},
...                "valueBoolean": True, "valueString": "yes"})  # value[x] twice: the model decides (it refuses)
False
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable

__all__ = ["plainly_valid", "SHAPES"]

# Narrower than FHIR's own patterns (fhir_core.types), and matched in full with Python's re
# (whose `$` would let a trailing newline through, where the model's regex engine does not).
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_CODE = re.compile(r"[!-~]{1,200}(?: [!-~]{1,200}){0,20}")
_URI = re.compile(r"[!-~]{1,2048}")
_VISIBLE = re.compile(r"[!-~]")
_DATE = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")
# A full day, or a day and a time to the second (at most 59: a leap second is the model's to read),
# at most 6 decimals, and a zone; the year from 1000 on.
_DATE_TIME = re.compile(r"([1-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
                        r"(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+\-](0[0-9]|1[0-3]):[0-5][0-9]))?")
_STRING_MAX = 10_000
_GENDER = frozenset({"male", "female", "other", "unknown"})


def _string(value: Any) -> bool:
    if type(value) is not str or not 0 < len(value) <= _STRING_MAX or _VISIBLE.search(value) is None:
        return False
    if value.isascii():
        return True
    try:  # a lone surrogate cannot reach the model's regex engine: the model decides
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _code(value: Any) -> bool:
    return type(value) is str and _CODE.fullmatch(value) is not None


def _uri(value: Any) -> bool:
    return type(value) is str and _URI.fullmatch(value) is not None


def _id(value: Any) -> bool:
    return type(value) is str and _ID.fullmatch(value) is not None


def _boolean(value: Any) -> bool:
    return type(value) is bool


def _decimal(value: Any) -> bool:
    # A JSON number of ordinary size (a long one is a LongNumber, a str: the model decides).
    return (type(value) is int and abs(value) < 10 ** 15) or (type(value) is float and abs(value) < 1e15)


def _real_day(year: str, month: str, day: str) -> bool:
    try:
        dt.date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def _date(value: Any) -> bool:
    if type(value) is not str:
        return False
    m = _DATE.fullmatch(value)
    return m is not None and int(m[1]) >= 1000 and _real_day(m[1], m[2], m[3])


def _date_time(value: Any) -> bool:
    if type(value) is not str:
        return False
    m = _DATE_TIME.fullmatch(value)
    return m is not None and _real_day(m[1], m[2], m[3])


def _instant(value: Any) -> bool:
    return _date_time(value) and "T" in value


def _object(fields: dict[str, Callable[[Any], bool]], required: tuple[str, ...] = ()) -> Callable[[Any], bool]:
    """A check of a JSON object: not empty, only ``fields`` (each checked), the ``required`` ones given."""
    def check(value: Any) -> bool:
        if type(value) is not dict or not value:
            return False
        for key, item in value.items():
            checker = fields.get(key)
            if checker is None or not checker(item):
                return False
        return all(key in value for key in required)
    return check


def _array(item: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """A check of a JSON array: not empty, each item checked."""
    def check(value: Any) -> bool:
        return type(value) is list and 0 < len(value) <= 1000 and all(item(x) for x in value)
    return check


_coding = _object({"system": _uri, "version": _string, "code": _code, "display": _string, "userSelected": _boolean})
_concept = _object({"coding": _array(_coding), "text": _string})
_reference = _object({"reference": _string, "display": _string})
_quantity = _object({"value": _decimal, "unit": _string, "system": _uri, "code": _code})
_meta = _object({"versionId": _id, "lastUpdated": _instant})
_extension = _object({"url": _uri, "valueCodeableConcept": _concept}, required=("url", "valueCodeableConcept"))

_COMMON = {"resourceType": _string, "id": _id, "meta": _meta}

#: Per resource type: its elements the hand check knows (each with its check), and the required ones.
SHAPES: dict[str, tuple[dict[str, Callable[[Any], bool]], tuple[str, ...]]] = {
    "Patient": ({**_COMMON, "birthDate": _date, "gender": lambda v: type(v) is str and v in _GENDER,
                 "active": _boolean}, ()),
    "Condition": ({**_COMMON, "subject": _reference, "encounter": _reference, "code": _concept,
                   "bodySite": _array(_concept), "category": _array(_concept), "clinicalStatus": _concept,
                   "verificationStatus": _concept, "onsetDateTime": _date_time, "abatementDateTime": _date_time,
                   "recordedDate": _date_time, "extension": _array(_extension)}, ("subject",)),
    "Observation": ({**_COMMON, "status": _code, "code": _concept, "subject": _reference, "encounter": _reference,
                     "category": _array(_concept), "bodySite": _concept, "effectiveDateTime": _date_time,
                     "issued": _instant, "interpretation": _array(_concept), "valueBoolean": _boolean,
                     "valueCodeableConcept": _concept, "valueString": _string, "valueQuantity": _quantity},
                    ("status", "code")),
    "Procedure": ({**_COMMON, "status": _code, "subject": _reference, "encounter": _reference, "code": _concept,
                   "performedDateTime": _date_time}, ("status", "subject")),
}
_VALUES = frozenset({"valueBoolean", "valueCodeableConcept", "valueString", "valueQuantity"})


def plainly_valid(resource: Any) -> bool:
    """True only if ``resource`` is a plain Patient, Condition, Observation or Procedure the R4B model
    accepts; False when the model must decide (see the module docstring)."""
    if type(resource) is not dict:
        return False
    kind = resource.get("resourceType")
    shape = SHAPES.get(kind) if type(kind) is str else None
    if shape is None:
        return False
    fields, required = shape
    for key, value in resource.items():
        checker = fields.get(key)
        if checker is None or not checker(value):
            return False
    if not all(key in resource for key in required):
        return False
    # A choice element given once (value[x]); the others the shapes allow in one form only.
    return len(_VALUES.intersection(resource)) <= 1
