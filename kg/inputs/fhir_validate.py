"""FHIR R4 structure: each resource painkg reads is checked with the ``fhir.resources.R4B`` models.

A structural problem is a :class:`FhirInputError` naming the resource (``Condition/c1``, or
``entry[3]`` when it has no id) and the element (``clinicalStatus.coding[0].code``), with the
value cut short as every painkg error shows it. The models check structure only (types,
cardinality, unknown elements, choice types); the invariant painkg relies on, con-4 (an abated
Condition is inactive, remission or resolved), and the clinicalStatus codes are checked here.
``fhir.resources`` is imported only when a FHIR input is read, never by ``import kg``.

A number longer than painkg's limit (a :class:`~kg.inputs.reading.LongNumber`, kept as its text
by the JSON reader) is checked for what it is, a number, by a stand-in: it is neither converted
nor refused for its length here (:func:`stand_in`). An element painkg reads refuses it itself.

Example
-------
>>> validate_resource({"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p"},
...     "clinicalStatus": {"coding": [{"code": 5}]}}, "Condition/c1")
Traceback (most recent call last):
...
kg.inputs.fhir_validate.FhirInputError: Condition/c1.clinicalStatus.coding[0].code: 5 is not allowed; expected a string (FHIR R4 code)
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from ..errors import SHOWN_CHARS, InputError, TypeName, show
from .reading import LongNumber

__all__ = ["FhirInputError", "validate_resource", "check_condition_status", "clinical_status", "CLINICAL_STATUS",
           "READ_TYPES", "element_path", "stand_in"]

_MISSING = object()

#: The resource types painkg reads (and so validates), with their R4B modules.
READ_TYPES = {"Patient": "patient", "Condition": "condition", "Observation": "observation",
              "Procedure": "procedure", "Bundle": "bundle"}

#: Condition.clinicalStatus codes (http://terminology.hl7.org/CodeSystem/condition-clinical):
#: whether the condition is resolved.
CLINICAL_STATUS = {"active": False, "recurrence": False, "relapse": False,
                   "inactive": True, "remission": True, "resolved": True}
CLINICAL_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-clinical"

_TYPE_HELP = {
    "string_type": "a string", "int_type": "a whole number", "int_parsing": "a whole number",
    "bool_type": "true or false", "bool_parsing": "true or false", "decimal_type": "a number",
    "float_type": "a number", "list_type": "an array", "dict_type": "an object", "model_type": "an object",
    "model_attributes_type": "an object",
}
_PRIMITIVE_HELP = {
    "DateTime": "a FHIR dateTime (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a time zone)",
    "Date": "a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)",
    "Instant": "a FHIR instant (YYYY-MM-DDThh:mm:ss with a time zone)",
    "Code": "a FHIR code (no leading or trailing spaces)",
    "Id": "a FHIR id (1 to 64 letters, digits, '-' and '.')",
    "Uri": "a FHIR uri", "Decimal": "a number",
}


class FhirInputError(InputError):
    """Invalid FHIR: ``resource`` (``Condition/c1`` or ``entry[3]``) at ``element`` had ``value``.

    ``field`` is ``resource.element`` (or the resource alone), so the message reads
    ``Condition/c1.abatementDateTime: ...``; :attr:`resource` and :attr:`element` keep the parts.
    """

    def __init__(self, resource: str, element: str = "", value: Any = _MISSING, allowed: str = "",
                 message: str = ""):
        self.resource = resource
        self.element = element
        field = f"{resource}.{element}" if element else resource
        if value is _MISSING:
            super().__init__(field, allowed=allowed, message=message)
        else:
            super().__init__(field, value, allowed, message)


def element_path(loc: tuple) -> str:
    """A pydantic location as a FHIR element path: ``('coding', 0, 'code')`` -> ``coding[0].code``.

    >>> element_path(("clinicalStatus", "coding", 0, "code"))
    'clinicalStatus.coding[0].code'
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _value_at(data: Any, loc: tuple) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return data


def _model(resource_type: str):
    module = importlib.import_module(f"fhir.resources.R4B.{READ_TYPES[resource_type]}")
    return getattr(module, resource_type)


def _error(resource: dict, where: str, err: dict, prefix: tuple = ()) -> FhirInputError:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    element = element_path(prefix + loc)
    value = _value_at(resource, loc)
    if isinstance(value, LongNumber):  # a number, shown as written (cut), not as a string
        cut = value if len(value) <= SHOWN_CHARS else f"{value[:SHOWN_CHARS]}… ({len(value):,} characters)"
        value = TypeName(cut)
    kind, msg = err["type"], err["msg"].removeprefix("Value error, ")
    if kind == "missing":
        return FhirInputError(where, element, message="is missing; FHIR R4 requires it")
    if kind == "extra_forbidden":
        owner = element_path(prefix + loc[:-1]) or resource.get("resourceType", "resource")
        return FhirInputError(where, element, message=f"is not an element of {owner} in FHIR R4")
    if "Any of one field value is expected" in msg:
        names = re.findall(r"'(\w+)'", msg)
        stem = _common_prefix(names)
        given = [n for n in names if n in (resource if not loc else (_value_at(resource, loc) or {}))]
        return FhirInputError(where, element_path(prefix + loc + (f"{stem}[x]",)),
                              message=f"gives {', '.join(given) or 'several'}; expected one {stem}[x] element "
                                      f"only (one of {', '.join(names)})")
    if "does not match spec regex" in msg:
        primitive = msg.split(" value", 1)[0]
        help_ = _PRIMITIVE_HELP.get(primitive, f"a FHIR {primitive[:1].lower()}{primitive[1:]}")
        return FhirInputError(where, element, value, help_)
    if kind in _TYPE_HELP:
        return FhirInputError(where, element, value, f"{_TYPE_HELP[kind]} (FHIR R4 {loc[-1] if loc else 'value'})")
    shown = value if value is not _MISSING else None
    return FhirInputError(where, element, message=f"{show(shown)} is not allowed: {msg[:200]}")


def _common_prefix(names: list[str]) -> str:
    stem = names[0] if names else "value"
    for name in names[1:]:
        while not name.startswith(stem):
            stem = stem[:-1]
    return stem or "value"


def _stand_in_number(literal: LongNumber) -> int | float:
    # A number of the same JSON kind: a decimal anywhere a decimal is allowed; an integer out of
    # the 32-bit range of FHIR's integer types, as every integer literal of more than 20 characters is.
    if any(c in literal for c in ".eE"):
        return 0.5
    return -(2 ** 31) - 1 if literal.startswith("-") else 2 ** 31


def stand_in(value: Any) -> Any:
    """``value`` with each :class:`~kg.inputs.reading.LongNumber` replaced by a short number of the same
    kind, for structural validation only; ``value`` itself when it holds none (the usual case: no copy).

    >>> from kg.inputs.reading import loads
    >>> stand_in(loads('{"valueQuantity": {"value": 3.14159265358979323846264338327}, "n": [1]}'))
    {'valueQuantity': {'value': 0.5}, 'n': [1]}
    """
    if isinstance(value, LongNumber):
        return _stand_in_number(value)
    if isinstance(value, dict):
        changed = {k: stand_in(v) for k, v in value.items()}
        return value if all(changed[k] is v for k, v in value.items()) else changed
    if isinstance(value, list):
        changed_list = [stand_in(v) for v in value]
        return value if all(a is b for a, b in zip(changed_list, value)) else changed_list
    return value


def validate_resource(resource: dict, where: str, *, prefix: tuple = ()) -> Any:
    """Validate ``resource`` (a type painkg reads, :data:`READ_TYPES`) with its R4B model; the model.

    Raises :class:`FhirInputError` naming ``where`` and the element of the first problem. A number
    too long for painkg's limit is validated as a number of its kind (:func:`stand_in`), not converted.
    """
    from pydantic import ValidationError

    try:
        return _model(resource["resourceType"]).model_validate(stand_in(resource))
    except ValidationError as exc:
        errors = sorted(exc.errors(include_url=False), key=lambda e: tuple(str(p) for p in e["loc"]))
        raise _error(resource, where, errors[0], prefix) from None
    except (ValueError, TypeError) as exc:  # the model refused the input outside pydantic's checks
        raise FhirInputError(where, element_path(prefix), message=f"is not valid FHIR R4 ({str(exc)[:200]})") from None


def check_condition_status(condition: dict, where: str) -> bool | None:
    """Whether a Condition is resolved by its clinicalStatus (None when it has none); checks con-4.

    :func:`clinical_status` gives the code itself.

    >>> check_condition_status({"clinicalStatus": {"coding": [{"code": "active"}]},
    ...     "abatementDateTime": "2026-03-20"}, "Condition/c1")
    Traceback (most recent call last):
    ...
    kg.inputs.fhir_validate.FhirInputError: Condition/c1.clinicalStatus: "active" is not allowed; expected inactive, remission or resolved: the Condition has an abatement (FHIR invariant con-4)
    """
    status = clinical_status(condition, where)
    return None if status is None else CLINICAL_STATUS[status]


def clinical_status(condition: dict, where: str) -> str | None:
    """A Condition's clinicalStatus code (``active``, ``recurrence``...; None when it has none); checks con-4.

    >>> clinical_status({"clinicalStatus": {"coding": [{"code": "relapse"}]}}, "Condition/c1")
    'relapse'
    """
    status = None
    codings = (condition.get("clinicalStatus") or {}).get("coding") or []
    for i, coding in enumerate(codings):
        system, code = coding.get("system"), coding.get("code")
        if system not in (None, CLINICAL_SYSTEM):
            continue
        if code not in CLINICAL_STATUS:
            raise FhirInputError(where, f"clinicalStatus.coding[{i}].code", code,
                                 f"one of {', '.join(CLINICAL_STATUS)} ({CLINICAL_SYSTEM})")
        status = code
        break
    if codings and status is None:
        raise FhirInputError(where, "clinicalStatus.coding", message=f"has no coding of {CLINICAL_SYSTEM}; "
                                                                     f"expected one of {', '.join(CLINICAL_STATUS)}")
    abated = next((k for k in condition if k.startswith("abatement")), None)
    if abated is not None and (status is None or not CLINICAL_STATUS[status]):
        if status is None:
            raise FhirInputError(where, "clinicalStatus", message=f"is missing; expected inactive, remission or "
                                                                  f"resolved: the Condition has {abated} "
                                                                  "(FHIR invariant con-4)")
        raise FhirInputError(where, "clinicalStatus", status, "inactive, remission or resolved: the Condition "
                                                              "has an abatement (FHIR invariant con-4)")
    return status
