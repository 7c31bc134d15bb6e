"""The questions asked of a patient: ``kg.why_not`` and ``kg.timeline``, as ``painkg`` and HTTP ask them.

:func:`kg.questions.why_not.why_not` and :func:`kg.questions.timeline.timeline`
take an :class:`~kg.reasoning.explanation.Explanation`. The functions here take
a patient, as :func:`kg.explain` does (a dict, a path, a
:class:`~kg.inputs.patient.Patient`), explain it, and ask; an Explanation is
taken as it is. They have the options of the command of the same name
(``painkg why-not``, ``painkg timeline``), and the HTTP endpoints call them too.

Example
-------
>>> import kg
>>> kg.why_not("examples/lower-back-strain-acute.json", "muscle_knots").concluded
False
>>> [(ev.date, ev.relative) for ev in kg.timeline("examples/lower-back-strain-acute.json", as_of="+10d").events
...  if ev.kind == "knots_expected"]
[('2026-03-15', 'past')]
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError, show
from ..reasoning.explanation import Explanation
from ..reasoning.reasoner import DEFAULT_THRESHOLD_DAYS, Reasoner, reasoner_or_own
from .why_not_answer import DEFAULT_DEPTH

__all__ = ["why_not", "timeline", "explanation_of", "check_settings"]


def check_settings(explanation: Explanation, *, as_of: object = None,
                   threshold_days: object = DEFAULT_THRESHOLD_DAYS) -> None:
    """Refuse settings that contradict an Explanation already reasoned (it is not reasoned again).

    ``as_of`` must be None, and ``threshold_days`` the default or the
    explanation's own.
    """
    if as_of is not None:
        raise InputError("as_of", as_of, message=f"{show(as_of)} cannot apply to a kg.Explanation, already assessed "
                                                 f"on {explanation.assessed_on}; pass the patient instead")
    if threshold_days not in (DEFAULT_THRESHOLD_DAYS, explanation.threshold_days) or isinstance(threshold_days, bool):
        raise InputError("threshold_days", threshold_days,
                         message=f"{show(threshold_days)} cannot apply to a kg.Explanation reasoned with "
                                 f"threshold_days={explanation.threshold_days}; pass the patient instead")


def explanation_of(patient: Any, *, as_of: object = None, threshold_days: int = DEFAULT_THRESHOLD_DAYS,
                   reasoner: Reasoner | None = None) -> Explanation:
    """``patient`` explained (see :func:`kg.explain`), or ``patient`` itself if it is an Explanation.

    >>> import kg
    >>> e = kg.explain("examples/two-injuries.json")
    >>> explanation_of(e) is e
    True
    >>> explanation_of(e, as_of="2026-04-01")
    Traceback (most recent call last):
    ...
    kg.errors.InputError: as_of: "2026-04-01" cannot apply to a kg.Explanation, already assessed on 2026-07-22; pass the patient instead
    """
    if isinstance(patient, Explanation):
        check_settings(patient, as_of=as_of, threshold_days=threshold_days)
        return patient
    return reasoner_or_own(reasoner).explain(patient, as_of=as_of, threshold_days=threshold_days)


def why_not(patient: Any, concept: str, site: str | None = None, *, as_of: object = None,
            threshold_days: int = DEFAULT_THRESHOLD_DAYS, depth: int = DEFAULT_DEPTH,
            reasoner: Reasoner | None = None):
    """Why ``concept`` was (not) concluded for ``patient``: ``painkg why-not`` (see :mod:`kg.questions.why_not`).

    ``patient``, ``as_of``, ``threshold_days`` and ``reasoner`` are as for
    :func:`kg.explain` (or ``patient`` is an Explanation); ``concept``, ``site``
    and ``depth`` as for :func:`kg.questions.why_not.why_not`. Returns a
    :class:`~kg.questions.why_not_answer.WhyNot` (``to_text()``, ``to_json()``).

    >>> import kg
    >>> w = kg.why_not("examples/two-injuries.json", "persistent_pain", site="neck")
    >>> w.message
    'persistent pain was not concluded at the neck'
    >>> w.to_json() == kg.explain("examples/two-injuries.json").why_not("persistent_pain", site="neck").to_json()
    True
    """
    from .why_not import why_not as ask

    e = explanation_of(patient, as_of=as_of, threshold_days=threshold_days, reasoner=reasoner)
    return ask(e, concept, site=site, depth=depth)


def timeline(patient: Any, *, as_of: object = None, threshold_days: int = DEFAULT_THRESHOLD_DAYS,
             reasoner: Reasoner | None = None):
    """Dated events from onset to assessment and beyond: ``painkg timeline`` (see :mod:`kg.questions.timeline`).

    Arguments are as for :func:`kg.explain` (or ``patient`` is an
    Explanation). Returns a :class:`~kg.questions.timeline.Timeline`.

    >>> import kg
    >>> t = kg.timeline("examples/lower-back-strain-acute.json", threshold_days=3)
    >>> [(ev.date, ev.kind) for ev in t.events if ev.kind == "knots_expected"]
    [('2026-03-04', 'knots_expected')]
    """
    from .timeline import timeline as ask

    return ask(explanation_of(patient, as_of=as_of, threshold_days=threshold_days, reasoner=reasoner))
