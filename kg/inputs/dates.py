"""Dates, one rule everywhere: the contract's ``YYYY-MM-DD``, inside the calendar painkg allows.

:func:`parse_date` reads a date of the patient contract (``assessed_on``,
``onset``, a what-if value); :func:`resolve_as_of` reads ``as_of``
(``--as-of``), which may also be ``+Nd`` / ``-Nd``: days after / before the
patient's own assessment date. Both refuse ISO week dates, ordinal dates,
times, and dates outside :data:`~kg.inputs.limits.LIMITS` (1900-01-01 to
2999-12-31), so no date arithmetic later can leave Python's calendar.

>>> resolve_as_of("+10d", dt.date(2026, 3, 6)).isoformat()
'2026-03-16'
>>> parse_date("2026-W10-6", "as_of")
Traceback (most recent call last):
...
kg.errors.InputError: as_of: "2026-W10-6" is not allowed; expected a date as YYYY-MM-DD (ISO week dates are not accepted)
"""

from __future__ import annotations

import datetime as dt
import re

from ..errors import InputError
from .limits import LIMITS

__all__ = ["DATE_HELP", "AS_OF_HELP", "RELATIVE_DAYS", "parse_date", "shift_date", "relative_days",
           "resolve_as_of", "check_as_of"]

DATE_HELP = "a date as YYYY-MM-DD"
AS_OF_HELP = "a date as YYYY-MM-DD, or +Nd / -Nd (days after / before the patient's assessed_on)"

#: ``+Nd`` / ``-Nd``: a date relative to the patient's assessment date.
RELATIVE_DAYS = re.compile(r"\A(?P<sign>[+-])(?P<days>[0-9]{1,5})d\Z", re.ASCII)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_WEEK_DATE = re.compile(r"[0-9]{4}-?W[0-9]{2}(-?[0-9])?", re.ASCII | re.IGNORECASE)


def _in_range(date: dt.date, field: str, shown: object) -> dt.date:
    if not LIMITS.earliest_date <= date <= LIMITS.latest_date:
        raise InputError(field, shown, LIMITS.date_range)
    return date


def parse_date(value: object, field: str) -> dt.date:
    """Parse a contract date strictly: ``YYYY-MM-DD``, from 1900-01-01 to 2999-12-31.

    >>> parse_date("2026-02-30", "onset")
    Traceback (most recent call last):
    ...
    kg.errors.InputError: onset: "2026-02-30" is not allowed; expected a date as YYYY-MM-DD (day is out of range for month)
    >>> parse_date("9999-12-31", "as_of")
    Traceback (most recent call last):
    ...
    kg.errors.InputError: as_of: "9999-12-31" is not allowed; expected a date from 1900-01-01 to 2999-12-31
    """
    if isinstance(value, dt.datetime):
        return _in_range(value.date(), field, value.date())
    if isinstance(value, dt.date):
        return _in_range(value, field, value)
    if not isinstance(value, str):
        raise InputError(field, value, DATE_HELP)
    if not _ISO_DATE.fullmatch(value):
        why = " (ISO week dates are not accepted)" if _WEEK_DATE.fullmatch(value) else ""
        raise InputError(field, value, DATE_HELP + why)
    try:
        date = dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(field, value, f"{DATE_HELP} ({exc})") from None
    return _in_range(date, field, value)


def shift_date(base: dt.date, days: int, field: str, shown: object) -> dt.date:
    """``base`` moved by ``days``, refused (naming ``field`` and ``shown``) outside the allowed dates.

    >>> shift_date(dt.date(2999, 12, 30), 5, "as_of", "+5d")
    Traceback (most recent call last):
    ...
    kg.errors.InputError: as_of: "+5d" is not allowed; expected a date from 1900-01-01 to 2999-12-31 (it gives 3000-01-04)
    """
    try:
        date = base + dt.timedelta(days=days)
    except OverflowError:
        date = None
    if date is None or not LIMITS.earliest_date <= date <= LIMITS.latest_date:
        gives = f" (it gives {date.isoformat()})" if date is not None else " (it leaves the calendar)"
        raise InputError(field, shown, LIMITS.date_range + gives)
    return date


def relative_days(value: object) -> int | None:
    """The days of ``+Nd`` / ``-Nd``, or None if ``value`` is not one.

    >>> relative_days("-3d"), relative_days("2026-01-01")
    (-3, None)
    """
    match = RELATIVE_DAYS.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    return int(match.group("days")) * (1 if match.group("sign") == "+" else -1)


def check_as_of(value: object, field: str = "as_of") -> object:
    """Check the form of ``as_of`` without a patient (a date or ``+Nd`` / ``-Nd``); return it.

    >>> check_as_of("+2d")
    '+2d'
    >>> check_as_of(5)
    Traceback (most recent call last):
    ...
    kg.errors.InputError: as_of: 5 is not allowed; expected a date as YYYY-MM-DD, or +Nd / -Nd (days after / before the patient's assessed_on)
    """
    if value is None or relative_days(value) is not None:
        return value
    if not isinstance(value, (str, dt.date)):
        raise InputError(field, value, AS_OF_HELP)
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value) and value[:1] in "+-":
        raise InputError(field, value, AS_OF_HELP)
    parse_date(value, field)
    return value


def resolve_as_of(value: object, base: dt.date | None, field: str = "as_of") -> dt.date:
    """The assessment date ``as_of`` names: a date, or ``+Nd`` / ``-Nd`` from ``base`` (default today).

    >>> resolve_as_of("2026-04-01", None).isoformat()
    '2026-04-01'
    """
    check_as_of(value, field)
    days = relative_days(value)
    if days is None:
        return parse_date(value, field)
    return shift_date(base or dt.date.today(), days, field, value)
