"""The shape of a well-formed patient record, checked by hand: no pydantic on the common path.

:func:`fast_shape` accepts only what the contract's pydantic models
(:mod:`kg.inputs.patient_schema`) accept, with the exact types (``str``, ``int``,
``bool``, ``list``, ``dict``, ``datetime.date``), and returns the same fields; for
anything else it returns None and the caller asks the models, which name the first
problem. So an error reads the same either way, and a valid record costs a few
microseconds and no pydantic import (about 80 ms of ``painkg explain``'s start-up).

>>> raw = fast_shape({"id": "p", "injuries": [{"kind": "strain", "site": "neck", "days_since_onset": 3}],
...                   "findings": ["localized_pain", {"kind": "muscle_spasm"}]})
>>> raw.id, raw.injuries[0].days_since_onset, sorted(raw.injuries[0].model_fields_set), raw.findings[1].site
('p', 3, ['days_since_onset', 'kind', 'site'], None)
>>> fast_shape({"id": "p", "injuries": [{"kind": "strain", "site": "neck", "onset": 0}]}) is None
True
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from .limits import LIMITS

__all__ = ["fast_shape", "within_limits", "RawPatient", "RawInjury", "RawFinding"]

_PATIENT = frozenset({"id", "assessed_on", "injuries", "findings"})
_INJURY = frozenset({"kind", "site", "onset", "days_since_onset", "mechanism", "resolved", "resolved_on",
                     "resolved_by", "episode_start_unknown"})
_FINDING = frozenset({"kind", "site"})


class RawInjury:
    """An injury as given (the fields of the contract's injury object)."""

    __slots__ = ("kind", "site", "onset", "days_since_onset", "mechanism", "resolved", "resolved_on",
                 "resolved_by", "episode_start_unknown", "model_fields_set")

    def __init__(self, item: dict):
        self.kind, self.site = item["kind"], item["site"]
        self.onset, self.days_since_onset = item.get("onset"), item.get("days_since_onset")
        self.mechanism = item.get("mechanism")
        self.resolved = item.get("resolved", False)
        self.resolved_on, self.resolved_by = item.get("resolved_on"), item.get("resolved_by")
        self.episode_start_unknown = item.get("episode_start_unknown", False)
        self.model_fields_set = frozenset(item)  # which fields were given, as pydantic says


class RawFinding:
    """A finding given as an object (``kind`` and maybe ``site``)."""

    __slots__ = ("kind", "site")

    def __init__(self, item: dict):
        self.kind, self.site = item["kind"], item.get("site")


class RawPatient:
    """A record as given: ``id``, ``assessed_on``, ``injuries`` and ``findings``."""

    __slots__ = ("id", "assessed_on", "injuries", "findings")

    def __init__(self, data: dict, injuries: list, findings: list):
        self.id, self.assessed_on = data["id"], data.get("assessed_on")
        self.injuries, self.findings = injuries, findings


def _date_or_none(value: Any) -> bool:
    # A date is a string (checked later by parse_date) or a datetime.date, not a datetime.
    return value is None or type(value) is str or type(value) is dt.date


def _str_or_none(value: Any) -> bool:
    return value is None or type(value) is str


def _injury(item: Any) -> RawInjury | None:
    if type(item) is not dict or not _INJURY.issuperset(item):
        return None
    if type(item.get("kind")) is not str or type(item.get("site")) is not str:
        return None
    if not (_date_or_none(item.get("onset")) and _date_or_none(item.get("resolved_on"))
            and _date_or_none(item.get("resolved_by")) and _str_or_none(item.get("mechanism"))):
        return None
    days = item.get("days_since_onset")
    if days is not None and type(days) is not int:
        return None
    if type(item.get("resolved", False)) is not bool or type(item.get("episode_start_unknown", False)) is not bool:
        return None
    return RawInjury(item)


def _finding(item: Any):
    if type(item) is str:
        return item
    if type(item) is not dict or not _FINDING.issuperset(item):
        return None
    if type(item.get("kind")) is not str or not _str_or_none(item.get("site")):
        return None
    return RawFinding(item)


def fast_shape(data: Any) -> RawPatient | None:
    """The record's fields if its shape is the contract's exactly; None to let the models decide.

    Also None for a list longer than ``LIMITS.items`` (the limits' check names it), so a caller's
    list of a million injuries is refused before it is walked.
    """
    if type(data) is not dict or not _PATIENT.issuperset(data):
        return None
    pid = data.get("id")
    if type(pid) is not str or not pid.strip() or not _date_or_none(data.get("assessed_on")):
        return None
    given_injuries, given_findings = data.get("injuries", []), data.get("findings", [])
    if type(given_injuries) is not list or type(given_findings) is not list:
        return None
    if len(given_injuries) > LIMITS.items or len(given_findings) > LIMITS.items:
        return None
    injuries = [_injury(item) for item in given_injuries]
    findings = [_finding(item) for item in given_findings]
    if None in injuries or any(f is None for f in findings):
        return None
    return RawPatient(data, injuries, findings)


_SURROGATE = re.compile("[\ud800-\udfff]")
_BIG_INT = 10 ** LIMITS.number_chars


def within_limits(raw: RawPatient) -> bool:
    """Whether a record :func:`fast_shape` accepted is within the input limits (``LIMITS``).

    Such a record's keys are the contract's, its lists at most ``LIMITS.items`` long and its
    nesting three deep, so only its strings (length, lone surrogates) and its day counts (digits)
    remain to check. False: let :func:`kg.inputs.reading.check_tree` walk it and name the problem.

    >>> within_limits(fast_shape({"id": "p", "findings": ["x" * 201]})), within_limits(fast_shape({"id": "p"}))
    (False, True)
    """
    strings = [raw.id]
    for item in raw.injuries:
        strings += (item.kind, item.site)
        for value in (item.onset, item.mechanism, item.resolved_on, item.resolved_by):
            if type(value) is str:
                strings.append(value)
        days = item.days_since_onset
        if days is not None and not -_BIG_INT < days < _BIG_INT:
            return False
    for item in raw.findings:
        if type(item) is str:
            strings.append(item)
        else:
            strings.append(item.kind)
            if item.site is not None:
                strings.append(item.site)
    if type(raw.assessed_on) is str:
        strings.append(raw.assessed_on)
    return max(map(len, strings)) <= LIMITS.string_chars and _SURROGATE.search("".join(strings)) is None
