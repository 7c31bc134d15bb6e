"""Overlapping injuries at one site: how long the site had an unfixed injury without a break.

The source speaks of one basic injury left unfixed for about two weeks (s03, s04).
Injuries at one site can follow each other without a break: a strain fixed on
03-10 and a tear on 03-08 at the lower back leave the lower back with an unfixed
injury from 03-01 on, although neither alone stayed unfixed for the threshold.
:func:`with_site_runs` finds such runs; the rule ``overload-maybe-across-injuries``
(:mod:`kg.rules.resolution`) reads them.

Each injury is unfixed over ``[onset, end)``: ``end`` is ``resolved_on`` (fixed on a
date), the assessment date (not resolved), or ``resolved_by`` (fixed on an unknown
date: the latest it can have been fixed, an upper bound). A site's intervals that
overlap or touch (the next onset on or before the current end) merge into one run.
A run of two or more injuries that is longer than every member's own unfixed days
says something no single injury does: it is set on the run's last-starting injury
(ties by kind: the result does not depend on input order) as

* ``run_days``: the run's length in days (onset of its first injury to its end);
* ``run_start``: the date it began;
* ``run_with``: the other members' indices, by onset.

These fields are derived from the patient's injuries and the assessment date, so
:meth:`kg.inputs.patient.Patient.to_dict` does not write them, and everything that
builds :class:`~kg.inputs.patient.Injury` objects (:func:`kg.inputs.patient.parse_patient`,
:mod:`kg.store.readback`) calls this one function.

>>> import kg
>>> p = kg.parse_patient({"id": "o", "assessed_on": "2026-03-20", "injuries": [
...     {"kind": "strain", "site": "lower_back", "onset": "2026-03-01", "resolved_on": "2026-03-10"},
...     {"kind": "tear", "site": "lower_back", "onset": "2026-03-08"}]})
>>> [(i.run_days, i.run_start and i.run_start.isoformat(), i.run_with) for i in p.injuries]
[(None, None, ()), (19, '2026-03-01', (0,))]
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Iterable, Sequence

__all__ = ["with_site_runs", "unfixed_end", "run_members"]


def unfixed_end(inj, assessed: dt.date) -> dt.date:
    """The end of the injury's unfixed interval ``[onset, end)`` (see the module doc)."""
    if inj.resolution == "unresolved":
        return assessed
    if inj.resolution == "dated":
        return inj.resolved_on
    return inj.resolved_by if inj.resolved_by is not None else assessed


def _runs(injuries: Sequence, assessed: dt.date) -> list[list]:
    """The site's injuries grouped into runs (each sorted by onset, then kind)."""
    runs: list[list] = []
    end: dt.date | None = None
    for inj in sorted(injuries, key=lambda i: (i.onset, i.kind)):
        if runs and inj.onset <= end:
            runs[-1].append(inj)
            end = max(end, unfixed_end(inj, assessed))
        else:
            runs.append([inj])
            end = unfixed_end(inj, assessed)
    return runs


def with_site_runs(injuries: Iterable, assessed: dt.date) -> tuple:
    """``injuries`` (in their order) with the run fields set where a run says more than its injuries.

    Any run fields already set are recomputed: the result depends only on the
    injuries' dates and ``assessed``.
    """
    items = [replace(i, run_days=None, run_start=None, run_with=()) if i.run_days is not None or i.run_with else i
             for i in injuries]
    by_site: dict[str, list] = {}
    for inj in items:
        by_site.setdefault(inj.site, []).append(inj)
    update: dict[int, object] = {}
    for site_injuries in by_site.values():
        for run in _runs(site_injuries, assessed):
            if len(run) < 2:
                continue
            start = run[0].onset
            days = (max(unfixed_end(i, assessed) for i in run) - start).days
            if days <= max((unfixed_end(i, assessed) - i.onset).days for i in run):
                continue
            last = max(run, key=lambda i: (i.onset, i.kind))
            others = tuple(i.index for i in run if i is not last)
            update[id(last)] = replace(last, run_days=days, run_start=start, run_with=others)
    return tuple(update.get(id(i), i) for i in items)


def run_members(inj, injuries: Iterable) -> list:
    """The injuries of ``inj``'s run, by onset (``inj`` last), from the patient's ``injuries``."""
    by_index = {i.index: i for i in injuries}
    return [by_index[n] for n in inj.run_with if n in by_index] + [inj]
