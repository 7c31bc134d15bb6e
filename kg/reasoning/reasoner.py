"""``kg.explain``: reason over one patient and explain the result.

A :class:`Reasoner` holds one engine and the ontology; reuse it across
patients (``reset()`` between them, never a new engine per patient). Without
an explicit reasoner, :func:`explain` uses one reasoner per thread, created on
first use.

Example
-------
>>> import kg
>>> r = kg.Reasoner()
>>> e = r.explain({"id": "p2", "assessed_on": "2026-03-10",
...     "injuries": [{"kind": "strain", "site": "lower_back", "days_since_onset": 5}]})
>>> e.pain_persists, bool(e.chain("muscle_spasm"))
(False, True)
>>> r.explain(e.patient, threshold_days=5).pain_persists
True
"""

from __future__ import annotations

import threading

from ..errors import InputError, type_name
from .explanation import Explanation, build_explanation
from ..knowledge.ontology import Ontology
from ..inputs.patient import PatientLike, load_patient, ontology_or_default
from ..rules.engine import PainEngine, observed_facts

__all__ = ["Reasoner", "explain", "thread_reasoner", "DEFAULT_THRESHOLD_DAYS", "MIN_THRESHOLD_DAYS",
           "MAX_THRESHOLD_DAYS", "check_threshold", "reasoner_or_own"]

#: "Usually this happens about two weeks after the initial injury." (s04)
DEFAULT_THRESHOLD_DAYS = 14
#: The threshold is "about two weeks" (s04), not a cliff: any whole number of days from 1 to 365.
MIN_THRESHOLD_DAYS, MAX_THRESHOLD_DAYS = 1, 365


def check_threshold(value: object) -> int:
    """Validate a knot-formation threshold in days: 1 to 365.

    0 is refused: knots on the day of the injury would contradict the source, which
    says they form "after an initial period" (s03), "usually ... about two weeks
    after the initial injury" (s04).

    >>> check_threshold(0)
    Traceback (most recent call last):
    ...
    kg.errors.InputError: threshold_days: 0 is not allowed; expected a whole number of days from 1 to 365 (knots form after an initial period, usually about two weeks after the injury: s03-s04)
    """
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_THRESHOLD_DAYS <= value <= MAX_THRESHOLD_DAYS:
        raise InputError("threshold_days", value,
                         f"a whole number of days from {MIN_THRESHOLD_DAYS} to {MAX_THRESHOLD_DAYS} (knots form "
                         "after an initial period, usually about two weeks after the injury: s03-s04)")
    return value


class Reasoner:
    """One traced engine plus the ontology. Not thread-safe: one per thread or worker.

    ``ontology`` is a :class:`~kg.knowledge.ontology.Ontology` (default: painkg's
    own); anything else raises :class:`~kg.errors.InputError`.

    >>> Reasoner(ontology=5)
    Traceback (most recent call last):
    ...
    kg.errors.InputError: ontology: a number is not allowed; expected a kg.Ontology (kg.load_ontology()) or None
    """

    def __init__(self, ontology: Ontology | None = None):
        self.ontology = ontology_or_default(ontology)
        self.engine = PainEngine()

    def explain(self, patient: PatientLike, *, as_of: object = None,
                threshold_days: int = DEFAULT_THRESHOLD_DAYS) -> Explanation:
        """Reason over ``patient`` (dict, path, ``"-"`` or :class:`~kg.inputs.patient.Patient`); see :func:`explain`."""
        threshold = check_threshold(threshold_days)
        parsed = load_patient(patient, as_of=as_of, ontology=self.ontology)
        trace = self.engine.infer(observed_facts(parsed), threshold_days=threshold)
        return build_explanation(parsed, trace, self.ontology, threshold)


_per_thread = threading.local()


def thread_reasoner() -> Reasoner:
    """The calling thread's own :class:`Reasoner`, created on first use.

    Functions that take ``reasoner=None`` use it, so a program that never
    builds a reasoner still runs one engine per thread, not one per patient.

    >>> thread_reasoner() is thread_reasoner()
    True
    """
    reasoner = getattr(_per_thread, "reasoner", None)
    if reasoner is None:
        reasoner = _per_thread.reasoner = Reasoner()
    return reasoner


def reasoner_or_own(reasoner: object) -> Reasoner:
    """``reasoner`` if it is a :class:`Reasoner`, the thread's own if it is None; else :class:`~kg.errors.InputError`.

    >>> reasoner_or_own("r")
    Traceback (most recent call last):
    ...
    kg.errors.InputError: reasoner: a string is not allowed; expected a kg.Reasoner or None
    """
    if reasoner is None:
        return thread_reasoner()
    if not isinstance(reasoner, Reasoner):
        raise InputError("reasoner", type_name(reasoner), "a kg.Reasoner or None")
    return reasoner


def explain(patient: PatientLike, *, as_of: object = None, threshold_days: int = DEFAULT_THRESHOLD_DAYS,
            reasoner: Reasoner | None = None) -> Explanation:
    """Explain why (or whether) the patient's pain persists.

    ``patient`` is a dict in the JSON contract, a path to a JSON file, ``"-"``
    for standard input, or a :class:`~kg.inputs.patient.Patient`. ``as_of``
    (``YYYY-MM-DD``, or ``+Nd`` / ``-Nd`` from the patient's ``assessed_on``) overrides
    the assessment date only (an onset is a date: ``days_since_onset`` counts back
    from the patient's own ``assessed_on``, so time passes); ``threshold_days``
    (1 to 365) is how long the injury must stay unresolved before knots are
    concluded (inclusive). Raises
    :class:`~kg.errors.InputError` on bad input, wrong argument types included.

    >>> explain({"id": "x", "findings": ["muscle_knots"]}, as_of="2026-01-01").pain_persists
    True
    >>> explain({"id": "x", "findings": ["knee_pain"]})
    Traceback (most recent call last):
    ...
    kg.errors.InputError: findings[0]: "knee_pain" is not allowed; expected one of better_at_rest, difficulty_moving, localized_pain, muscle_knots, muscle_spasm, radiating_pain_to_leg, severe_low_back_pain, tender_to_touch
    """
    return reasoner_or_own(reasoner).explain(patient, as_of=as_of, threshold_days=threshold_days)
