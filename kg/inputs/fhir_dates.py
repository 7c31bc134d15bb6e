"""FHIR dates, dateTimes and instants to painkg's days: one rule for time zones.

A dateTime with a time is converted to UTC before its date is taken, so instants
compare as instants, to the day; a date without a time is taken as it is. The
reader applies it to onsets, abatements and the assessment date (docs/fhir.md).
"""

from __future__ import annotations

import datetime as dt
import re

from .fhir_validate import FhirInputError

__all__ = ["fhir_date", "fhir_instant"]

_DATE_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
                        r"(Z|[+-]\d{2}:\d{2})?)?")


_STRING_DATE = "a FHIR date or dateTime as a string (YYYY-MM-DD, YYYY-MM-DDThh:mm:ss+zz:zz)"


def fhir_date(value: object, where: str, element: str) -> dt.date | None:
    """The day of a FHIR date, dateTime or instant; None for a partial date (year or month) or none.

    One rule: a dateTime with a time is converted to UTC before its date is taken, so instants
    compare as instants, to the day; a date without a time is taken as it is.

    >>> fhir_date("2026-03-01T23:30:00-05:00", "Condition/c1", "onsetDateTime").isoformat()
    '2026-03-02'
    >>> fhir_date("2026-03-01", "Condition/c1", "onsetDateTime").isoformat()
    '2026-03-01'
    >>> fhir_date("2026-03", "Condition/c1", "onsetDateTime") is None
    True
    >>> fhir_date(0, "Condition/c1", "onsetDateTime")
    Traceback (most recent call last):
    ...
    kg.inputs.fhir_validate.FhirInputError: Condition/c1.onsetDateTime: 0 is not allowed; expected a FHIR date or dateTime as a string (YYYY-MM-DD, YYYY-MM-DDThh:mm:ss+zz:zz)
    """
    if value is None:
        return None
    if not isinstance(value, str):
        # FHIR JSON writes every date as a string: a number is not Unix time, it is an error.
        raise FhirInputError(where, element, value, _STRING_DATE)
    match = _DATE_TIME.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    try:
        day = dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise FhirInputError(where, element, value, "a real calendar date") from None
    instant = _utc(match, day)
    return day if instant is None else instant.date()


def _utc(match: re.Match, day: dt.date) -> dt.datetime | None:
    if match[4] is None or match[7] is None:  # no time, or (invalid FHIR) a time without a zone
        return None
    local = dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
    minutes = int(match[4]) * 60 + int(match[5])
    if match[7] != "Z":
        sign = -1 if match[7][0] == "-" else 1
        minutes -= sign * (int(match[7][1:3]) * 60 + int(match[7][4:6]))
    try:
        return local + dt.timedelta(minutes=minutes, seconds=min(int(match[6] or 0), 59))
    except OverflowError:  # past the calendar's ends: the day as written
        return local


def fhir_instant(value: object) -> dt.datetime | None:
    """A FHIR instant (or dateTime with a time and zone) in UTC, to the second; None for anything else.

    >>> fhir_instant("2026-03-01T23:30:00-05:00")
    datetime.datetime(2026, 3, 2, 4, 30, tzinfo=datetime.timezone.utc)
    """
    match = _DATE_TIME.match(value) if isinstance(value, str) else None
    try:
        return _utc(match, dt.date(int(match[1]), int(match[2]), int(match[3]))) if match else None
    except ValueError:
        return None
