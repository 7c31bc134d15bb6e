"""The patient contract as pydantic models: the first problem of a malformed record, named exactly.

:func:`kg.inputs.patient.parse_patient` checks a well-formed record's shape by hand
(:mod:`kg.inputs.patient_shape`); this module, and pydantic with it, is imported only for a
record that check does not pass, to find and word its first problem.

>>> validate_shape({"id": "p", "injuries": [{"kind": "strain", "site": "neck", "onset": 0}]})
Traceback (most recent call last):
...
kg.errors.InputError: injuries[0].onset: 0 is not allowed; expected a date as YYYY-MM-DD
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Strict, StrictBool, StrictInt, StrictStr, ValidationError, field_validator

from ..errors import InputError
from .dates import DATE_HELP
from .reading import format_path

__all__ = ["validate_shape"]

_DATE_HELP = DATE_HELP


# A date is a string in ISO form or a ``datetime.date`` from Python: strict, so a number
# is an input error naming its field (lax pydantic would read ``0`` as 1970-01-01, Unix time).
_Date = Annotated[dt.date, Strict()]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _InjuryIn(_Strict):
    kind: StrictStr
    site: StrictStr
    onset: Union[StrictStr, _Date, None] = None
    days_since_onset: Union[StrictInt, None] = None
    mechanism: Union[StrictStr, None] = None
    resolved: StrictBool = False
    resolved_on: Union[StrictStr, _Date, None] = None
    resolved_by: Union[StrictStr, _Date, None] = None
    episode_start_unknown: StrictBool = False


class _FindingIn(_Strict):
    kind: StrictStr
    site: Union[StrictStr, None] = None


class _PatientIn(_Strict):
    id: StrictStr
    assessed_on: Union[StrictStr, _Date, None] = None
    injuries: list[_InjuryIn] = []
    findings: list[Union[StrictStr, _FindingIn]] = []

    @field_validator("id")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("empty")
        return value


_FIELD_HELP = {
    "id": "a non-empty string",
    "assessed_on": _DATE_HELP,
    "injuries": "a list of injury objects",
    "findings": "a list of finding keys or {\"kind\": ..., \"site\": ...} objects",
    "kind": "a string key (see `painkg terms`)",
    "site": "a string key (see `painkg terms`)",
    "onset": _DATE_HELP,
    "days_since_onset": "a whole number of days (>= 0)",
    "mechanism": "a string key (see `painkg terms`)",
    "resolved": "true or false",
    "resolved_on": _DATE_HELP,
    "resolved_by": _DATE_HELP,
    "episode_start_unknown": "true or false",
}


def _path(loc: tuple) -> str:
    parts = tuple(p for p in loc if isinstance(p, int) or not (
        p in ("str", "_FindingIn", "date", "int", "bool") or p.startswith("function-")))
    return format_path(parts, "patient")


def _value_at(data: Any, loc: tuple) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _first_error(data: dict, error: ValidationError) -> InputError:
    errors = error.errors(include_url=False)

    # A finding can be a string or an object: report the reading that matches
    # what was given (an object's missing "kind", not "expected a string").
    def as_given(e) -> bool:
        loc = e["loc"]
        if len(loc) >= 2 and loc[0] == "findings" and isinstance(loc[1], int):
            return ("_FindingIn" in loc) != isinstance(_value_at(data, loc[:2]), dict)
        return False

    errors.sort(key=lambda e: (e["loc"][:2], as_given(e)))
    err = errors[0]
    loc = tuple(p for p in err["loc"] if p not in ("str", "_FindingIn", "date") and not str(p).startswith("function-"))
    field = _path(err["loc"])
    last = next((p for p in reversed(loc) if isinstance(p, str)), "patient")
    if err["type"] == "extra_forbidden":
        model = {"patient": _PatientIn, "injuries": _InjuryIn, "findings": _FindingIn}
        owner = next((p for p in reversed(loc[:-1]) if isinstance(p, str)), "patient")
        allowed = sorted(model.get(owner, _PatientIn).model_fields)
        return InputError(field, None, message=f"unknown field; allowed fields are {', '.join(allowed)}")
    if err["type"] == "missing":
        return InputError(field, message=f"is missing; expected {_FIELD_HELP.get(last, 'a value')}")
    value = _value_at(data, loc)
    if last == "findings" and isinstance(loc[-1], int):
        return InputError(field, value, 'a finding key or a {"kind": ..., "site": ...} object')
    return InputError(field, value, _FIELD_HELP.get(last, err["msg"]))


def validate_shape(data: dict) -> Any:
    """``data`` as the contract's models, or :class:`~kg.errors.InputError` naming its first problem."""
    try:
        return _PatientIn.model_validate(data)
    except ValidationError as exc:
        raise _first_error(data, exc) from None
