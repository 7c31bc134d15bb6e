"""Which smallest changes, among the treatments the ontology names, stop the pain persisting?

Three steps, one module each: the candidates
(:mod:`kg.questions.intervention_candidates`: the therapy concepts a patient change
expresses, today "fixing the basic injury", and the others only considered, heat and
cold only where a spasm is), the minimal-set search
(:mod:`kg.questions.intervention_search`: the engine re-run on every subset, smallest
first) and the message (:mod:`kg.questions.intervention_message`).

It reasons in time. Fixing an injury happens on a date, the assessment date
(``injuries[i].resolved=true`` sets ``resolved_on``), and knots that formed
before the injury was fixed stay (s03-s05): once an injury has stayed
unresolved for the threshold, fixing it no longer stops the pain persisting,
and the answer says plainly that no modelled change stops what has already
formed, with the source's advice for it: "Treating spasm helps reduce this
problem." (s13). Before the threshold, the answer gives the deadline
(:mod:`kg.questions.deadlines`): fixing the basic injury before onset +
threshold is what the source says prevents knots, and only where no knots are
present at the site yet (formed knots stay, s05). The deadlines are exactly the
explanation's ``injury_resolution`` conclusions (``break-cycle-fix-injury``), so
``explain`` and ``interventions`` never disagree.

Example
-------
>>> import kg
>>> r = kg.interventions("examples/two-injuries.json")
>>> r.interventions, [(d.change, d.before) for d in r.deadlines]
((), [('injuries[1].resolved=true', '2026-08-02')])
>>> print(r.message)  # doctest: +ELLIPSIS
no modelled change stops what has already formed: muscle knots at the lower back formed while the muscle tear stayed unresolved past 2026-07-15 (...). Knots that formed before the basic injury is fixed stay and become part of the problem (s03-s05), so fixing it now does not stop the pain persisting (tried: injuries[0].resolved=true, injuries[1].resolved=true). The source's advice for what has formed: "Treating spasm helps reduce this problem." (s13). Fixing the ligament sprain of the neck before 2026-08-02 is what the source says prevents knots (s03, s04, s14).
>>> kg.interventions("examples/knots-first-report.json").interventions
()
"""

from __future__ import annotations

import json
from typing import Any

from ..reasoning.reasoner import DEFAULT_THRESHOLD_DAYS, Reasoner, check_threshold, reasoner_or_own
from ..errors import InputError
from ..reasoning.explanation import Chain, Evidence, Explanation
from ..inputs.patient import PatientLike, load_patient
from ..knowledge.wording import DISCLAIMER, pain_persists_text, sites_phrase, wrap
from .asking import check_settings
from .deadlines import SPASM_ADVICE, Deadline, deadlines, formed_knots
from .intervention_candidates import Considered, candidates
from .intervention_message import bound_message, deadline_text, found_message, not_persisting, nothing_stops
from .intervention_search import Intervention, all_applied, minimal_sets

__all__ = ["Intervention", "Considered", "Interventions", "interventions", "MAX_CHANGES"]

#: Largest number of changes combined in one intervention (the search is exponential in it).
MAX_CHANGES = 3


class Interventions:
    """The answer: minimal interventions, therapies considered, and what blocks the rest.

    In time: ``deadlines`` (fix an injury before a date to prevent knots),
    ``formed`` (where knots have already formed, and how) and ``advice`` (the
    source's word for what has formed: s13, when there is any).
    """

    def __init__(self, explanation: Explanation, interventions: tuple[Intervention, ...],
                 considered: tuple[Considered, ...], candidates: tuple[str, ...], message: str,
                 blocking: tuple[Chain, ...], deadlines: tuple[Deadline, ...] = (),
                 formed: tuple[str, ...] = (), advice: tuple[Evidence, ...] = ()):
        self.explanation = explanation
        self.interventions = interventions
        self.considered = considered
        self.candidates = candidates
        self.message = message
        self.blocking = blocking
        self.deadlines = deadlines
        self.formed = formed
        self.advice = advice

    @property
    def pain_persists(self) -> bool:
        return self.explanation.pain_persists

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see docs/clinician-questions.md)."""
        e = self.explanation
        return {"patient": e.patient.id, "assessed_on": e.assessed_on, "threshold_days": e.threshold_days,
                "pain_persists": self.pain_persists, "message": self.message,
                "candidates": list(self.candidates),
                "interventions": [i.to_dict() for i in self.interventions],
                "deadlines": [d.to_dict() for d in self.deadlines],
                "formed": list(self.formed), "advice": [a.to_dict() for a in self.advice],
                "considered": [c.to_dict() for c in self.considered],
                "blocking": [c.to_dict() for c in self.blocking]}

    def to_json(self) -> str:
        """Deterministic JSON text, ending in a newline."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def to_text(self) -> str:
        """Plain-language answer with the source quotes."""
        return "\n".join(_text_lines(self)) + "\n"

    def __repr__(self) -> str:
        return f"<Interventions pain_persists={self.pain_persists} found={len(self.interventions)}>"


def _explained(patient, as_of, threshold_days, reasoner) -> Explanation:
    if isinstance(patient, Explanation):
        check_settings(patient, as_of=as_of, threshold_days=threshold_days)
        return patient
    threshold = check_threshold(threshold_days)
    return reasoner.explain(load_patient(patient, as_of=as_of, ontology=reasoner.ontology), threshold_days=threshold)


def interventions(patient: PatientLike, *, as_of: object = None, threshold_days: int = DEFAULT_THRESHOLD_DAYS,
                  reasoner: Reasoner | None = None, max_changes: int = MAX_CHANGES) -> Interventions:
    """The smallest sets of treatment changes that stop ``persistent_pain`` being concluded.

    ``patient``, ``as_of`` and ``threshold_days`` are as for :func:`kg.explain`
    (or ``patient`` is an Explanation, used as it is).
    Every engine run reuses one reasoner (``reasoner`` or this thread's). Bad
    input, wrong argument types included, raises :class:`~kg.errors.InputError`.

    >>> r = interventions("examples/lower-back-strain-day20.json")
    >>> r.pain_persists, r.interventions, [a.passage for a in r.advice]
    (True, (), ['s13'])
    >>> [(d.before, d.confirmed) for d in interventions("examples/lower-back-strain-acute.json").deadlines]
    [('2026-03-15', True)]
    >>> [c.therapy for c in r.considered]
    ['alternating_heat_cold', 'cold_therapy', 'heat_therapy', 'spasm_treatment']
    """
    if isinstance(max_changes, bool) or not isinstance(max_changes, int) or not 1 <= max_changes <= 5:
        raise InputError("max_changes", max_changes, "a whole number from 1 to 5")
    reasoner = reasoner_or_own(reasoner)
    e = _explained(patient, as_of, threshold_days, reasoner)
    onto = e.ontology
    found, considered = candidates(e)
    names = tuple(c.change for c in found)
    due = deadlines(e, reasoner)
    formed = tuple(formed_knots(e))
    advice = tuple(Evidence(p, onto.passages[p].text) for p in (SPASM_ADVICE,)) if e.facts_of("muscle_knots") else ()

    def answer(stops=(), message="", blocking=()):
        return Interventions(e, tuple(stops), tuple(considered), names, message + deadline_text(due),
                             tuple(blocking), due, formed, advice)

    if not e.pain_persists:
        return answer(message=not_persisting(e, due))
    stops = minimal_sets(e, found, reasoner, max_changes)
    if stops:
        return answer(stops, found_message(stops))
    # Nothing worked: show why, from the run with every candidate applied.
    worst = all_applied(e, found, reasoner)
    if not worst.pain_persists:
        return answer(message=bound_message(max_changes, names))
    blocking = tuple(worst.chain("persistent_pain", f.site) for f in worst.facts_of("persistent_pain"))
    return answer(message=nothing_stops(worst, blocking, names, formed, advice), blocking=blocking)


def _wrap(text: str, indent: str = "") -> list[str]:
    return wrap(text, indent, hang=4)


def _text_lines(r: Interventions) -> list[str]:
    e = r.explanation
    lines = [f"painkg: what would stop the pain persisting? (patient {e.patient.id})"]
    lines += _wrap(r.message)  # the answer, in the first lines
    lines += ["", f"assessed on {e.assessed_on}; threshold {e.threshold_days} days; "
                  f"{pain_persists_text(e.persistent_pain)}"]
    for n, i in enumerate(r.interventions, 1):
        lines.append("")
        lines += _wrap(f"{n}. {'; '.join(i.descriptions)}  [{' '.join(i.changes)}]")
        lines += _wrap(f"therapy: {', '.join(i.therapies)}; edge: {', '.join(i.edges)} "
                       f"({'; '.join(i.certainty)}); stops: {', '.join(i.stops)}", "   ")
        for ev in i.evidence:
            lines += _wrap(f'source {ev.passage}: "{ev.text}"', "   ")
    for d in r.deadlines:
        lines.append("")
        lines += _wrap(f"deadline: {d.description}  [{d.change}]; prevents: {', '.join(d.prevents)}")
        for ev in d.evidence:
            lines += _wrap(f'source {ev.passage}: "{ev.text}"', "   ")
    for chain in r.blocking:
        lines.append("")
        lines += _wrap(f"why {chain.fact} remains: " + " -> ".join(chain.path))
    if r.considered:
        lines += ["", "also considered (not modelled as stopping persistent pain):"]
        for c in r.considered:
            where = f" at {sites_phrase(c.sites, e.ontology)}" if c.sites else ""
            lines += _wrap(f"- {c.label} ({c.therapy}){where}: {c.reason}", "  ")
    lines += ["", DISCLAIMER]
    return lines
