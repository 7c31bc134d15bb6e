"""An injury's dates as the record states them: its onset, when it was fixed, and the latest
day an undated fix can have happened.

One rule for time: an onset is a date. ``days_since_onset`` counts back from the
input's OWN assessment date; ``--as-of`` then moves only the assessment date, so
time passes for every injury, while what the record says happened stays where
the record put it (an undated fix stays bounded by the record's own date).
``item`` is one validated injury of the input (:mod:`kg.inputs.patient`).
"""

from __future__ import annotations

import datetime as dt

from ..errors import InputError
from .dates import parse_date
from .limits import LIMITS

__all__ = ["injury_onset", "resolution_date", "resolution_bound"]


def injury_onset(item, anchor: dt.date, at: str) -> dt.date:
    """The onset date: given, or ``days_since_onset`` before ``anchor`` (the input's own assessment date)."""
    if item.onset is None and item.days_since_onset is None:
        raise InputError(f"{at}.onset", message="is missing; give onset (YYYY-MM-DD) or days_since_onset (a whole number >= 0)")
    if item.days_since_onset is not None and item.days_since_onset < 0:
        raise InputError(f"{at}.days_since_onset", item.days_since_onset, "a whole number of days (>= 0)")
    if item.days_since_onset is not None and item.days_since_onset > 36500:
        raise InputError(f"{at}.days_since_onset", item.days_since_onset, "a whole number of days from 0 to 36500")
    if item.onset is not None:
        onset = parse_date(item.onset, f"{at}.onset")
        days = (anchor - onset).days
        if item.days_since_onset is not None and item.days_since_onset != days:
            raise InputError(f"{at}.days_since_onset", item.days_since_onset,
                             message=f"{item.days_since_onset} disagrees with onset {onset.isoformat()} "
                                     f"({days} days before {anchor.isoformat()}); give one of them")
        return onset
    days = item.days_since_onset
    onset = anchor - dt.timedelta(days=days)
    if onset < LIMITS.earliest_date:
        raise InputError(f"{at}.days_since_onset", days,
                         message=f"{days} puts the onset on {onset.isoformat()}; expected an onset on or after "
                                 f"{LIMITS.earliest_date.isoformat()} (at most "
                                 f"{(anchor - LIMITS.earliest_date).days} days before {anchor.isoformat()})")
    return onset


def resolution_date(item, onset: dt.date, assessed: dt.date, at: str) -> dt.date | None:
    """The date the injury was fixed: from its onset to the assessment date; it implies ``resolved``."""
    if item.resolved_on is None:
        return None
    date = parse_date(item.resolved_on, f"{at}.resolved_on")
    if "resolved" in item.model_fields_set and not item.resolved:
        raise InputError(f"{at}.resolved", False,
                         message=f"false disagrees with resolved_on {date.isoformat()} (a resolution date means "
                                 "the injury is resolved); give resolved: true, or no resolved_on")
    if date < onset:
        raise InputError(f"{at}.resolved_on", date.isoformat(),
                         message=f"\"{date.isoformat()}\" is before the onset {onset.isoformat()}")
    if date > assessed:
        raise InputError(f"{at}.resolved_on", date.isoformat(),
                         message=f"\"{date.isoformat()}\" is after the assessment date {assessed.isoformat()}")
    return date


def resolution_bound(item, resolved_on: dt.date | None, onset: dt.date, own: dt.date, assessed: dt.date,
                 at: str) -> dt.date | None:
    """For ``resolved: true`` without ``resolved_on``: the latest date the injury was fixed.

    A record that says "resolved" on its own assessment date says it was fixed by then:
    moving the assessment (``--as-of``, what-if) does not move when that happened. It is
    ``resolved_by`` when given (a re-parsed patient keeps it), else the record's own
    assessment date, and never after the assessment painkg reasons at.
    """
    if item.resolved_by is not None:
        date = parse_date(item.resolved_by, f"{at}.resolved_by")
        if resolved_on is not None or not item.resolved:
            raise InputError(f"{at}.resolved_by", date.isoformat(),
                             message=f"\"{date.isoformat()}\" is only for an injury with resolved: true and no "
                                     "resolved_on (the latest date it can have been fixed)")
        if date < onset:
            raise InputError(f"{at}.resolved_by", date.isoformat(),
                             message=f"\"{date.isoformat()}\" is before the onset {onset.isoformat()}")
    elif item.resolved and resolved_on is None:
        date = own
    else:
        return None
    return max(onset, min(date, assessed))
