"""Which smallest changes, among the treatments the ontology names, stop the pain persisting?

Candidates come from the ontology's therapy concepts (subclasses of
``therapy``). A candidate counts only if it maps to a change of the patient
record that the engine reasons with; today that is "fixing the basic
injury" (``injury_resolution``: ``injuries[i].resolved=true``). The others
(treating the spasm, heat, cold, alternating) are reported as considered,
with what the source says about them: it says treating spasm "helps reduce"
the problem and that heat or cold "may work best", not that they stop the
knots, so painkg does not claim they would.

The search re-runs the engine (one reused :class:`~kg.reasoning.reasoner.Reasoner`) on every
subset of candidate changes, smallest first, up to ``max_changes``, and keeps
the minimal subsets after which ``persistent_pain`` is no longer concluded.

It reasons in time. Fixing an injury happens on a date, the assessment date
(``injuries[i].resolved=true`` sets ``resolved_on``), and knots that formed
before the injury was fixed stay (s03-s05): once an injury has stayed
unresolved for the threshold, fixing it no longer stops the pain persisting,
and the answer says plainly that no modelled change stops what has already
formed, with the source's advice for it: "Treating spasm helps reduce this
problem." (s13). Before the threshold, the answer gives the deadline
(:mod:`kg.questions.deadlines`): fixing the basic injury before onset +
threshold is what the source says prevents knots. The deadlines are exactly
the explanation's ``injury_resolution`` conclusions (``break-cycle-fix-injury``),
so ``explain`` and ``interventions`` never disagree.

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

import itertools
import json
from dataclasses import dataclass
from typing import Any, Callable

from ..reasoning.reasoner import DEFAULT_THRESHOLD_DAYS, Reasoner, check_threshold, reasoner_or_own
from ..errors import InputError
from ..reasoning.explanation import Chain, Evidence, Explanation
from ..inputs.patient import Patient, PatientLike, load_patient
from ..knowledge.wording import DISCLAIMER, pain_persists_text, wrap
from .asking import check_settings
from .changes import apply_changes
from .deadlines import SPASM_ADVICE, Deadline, deadlines, formed_knots

__all__ = ["Intervention", "Considered", "Interventions", "interventions", "MAX_CHANGES"]

#: Largest number of changes combined in one intervention (the search is exponential in it).
MAX_CHANGES = 3


def _resolve_injuries(patient: Patient, onto) -> list[tuple[str, str]]:
    label = lambda key: onto.concepts[key].label  # noqa: E731
    return [(f"injuries[{i.index}].resolved=true",
             f"fix the {label(i.kind)} of the {label(i.site)} on {patient.assessed_on.isoformat()}")
            for i in patient.injuries if not i.resolved]


# The therapy concepts a patient record can express, and how. Everything else the
# ontology names as a therapy is reported under "considered", never silently dropped.
_PATIENT_CHANGES: dict[str, Callable[[Patient, Any], list[tuple[str, str]]]] = {
    "injury_resolution": _resolve_injuries,
}


@dataclass(frozen=True)
class Intervention:
    """A minimal set of changes after which persistent pain is no longer concluded."""

    changes: tuple[str, ...]
    descriptions: tuple[str, ...]
    therapies: tuple[str, ...]
    edges: tuple[str, ...]
    certainty: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    stops: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"changes": list(self.changes), "descriptions": list(self.descriptions),
                "therapies": list(self.therapies), "edges": list(self.edges),
                "certainty": list(self.certainty), "evidence": [e.to_dict() for e in self.evidence],
                "stops": list(self.stops)}


@dataclass(frozen=True)
class Considered:
    """A therapy the ontology names that is not modelled as a patient change, and why."""

    therapy: str
    label: str
    reason: str
    edges: tuple[str, ...]
    evidence: tuple[Evidence, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"therapy": self.therapy, "label": self.label, "reason": self.reason,
                "edges": list(self.edges), "evidence": [e.to_dict() for e in self.evidence]}


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


def _evidence(onto, ids) -> tuple[Evidence, ...]:
    ordered = sorted(set(ids), key=lambda p: onto.passages[p].number)
    return tuple(Evidence(p, onto.passages[p].text) for p in ordered)


def _therapies(onto) -> list[str]:
    return sorted(k for k in onto.concepts if k != "therapy" and "therapy" in onto.ancestors(k))


def _edges_from(onto, therapy: str) -> list:
    return [e for e in onto.edges.values() if e.subject == therapy]


def _considered(onto, therapy: str) -> Considered:
    edges = _edges_from(onto, therapy)
    said = "; ".join(f"{e.label} ({e.certainty}; {', '.join(e.passages)})" for e in edges)
    reason = (f"the source says: {said}. That is not a claim that it stops the knots, so painkg does not "
              "model it as sufficient on its own to stop persistent pain (and a patient record has no "
              "field for it)")
    passages = [p for e in edges for p in e.passages] or list(onto.concepts[therapy].passages)
    return Considered(therapy, onto.concepts[therapy].label, reason, tuple(e.id for e in edges),
                      _evidence(onto, passages))


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
    onto = reasoner.ontology
    if isinstance(patient, Explanation):
        check_settings(patient, as_of=as_of, threshold_days=threshold_days)
        e, base, threshold = patient, patient.patient, patient.threshold_days
    else:
        threshold = check_threshold(threshold_days)
        base = load_patient(patient, as_of=as_of, ontology=onto)
        e = reasoner.explain(base, threshold_days=threshold)
    therapies = _therapies(onto)
    candidates: list[tuple[str, str, str]] = []
    considered = []
    for therapy in therapies:
        make = _PATIENT_CHANGES.get(therapy)
        if make is None:
            considered.append(_considered(onto, therapy))
        else:
            candidates.extend((change, text, therapy) for change, text in make(base, onto))
    names = tuple(c[0] for c in candidates)
    due = deadlines(e, reasoner)
    formed = tuple(formed_knots(e))
    advice = tuple(Evidence(p, onto.passages[p].text) for p in (SPASM_ADVICE,)) if e.facts_of("muscle_knots") else ()
    later = _deadline_text(due)

    def answer(found, message, blocking=()):
        return Interventions(e, tuple(found), tuple(considered), names, message + later, tuple(blocking),
                             due, formed, advice)

    if not e.pain_persists:
        if e.persistent_pain == "possible":
            return answer((), "persistent pain is possible, not expected, for this patient (see `painkg explain`: "
                              "a resolution date or the site decides it), so there is nothing firm to stop")
        return answer((), "persistent pain is not concluded for this patient, so there is nothing to stop"
                          + ("" if due else " (see `painkg timeline` for when knots would be expected)"))

    found: list[Intervention] = []
    for size in range(1, min(max_changes, len(candidates)) + 1):
        for combo in itertools.combinations(candidates, size):
            chosen = {c[0] for c in combo}
            if any(set(i.changes) <= chosen for i in found):
                continue
            after = reasoner.explain(apply_changes(base, [c[0] for c in combo], ontology=onto),
                                     threshold_days=threshold)
            if after.pain_persists:
                continue
            used = sorted({c[2] for c in combo})
            edges = [edge for t in used for edge in _edges_from(onto, t)]
            stops = tuple(sorted(f.id for f in e.facts_of("persistent_pain")))
            found.append(Intervention(
                tuple(c[0] for c in combo), tuple(c[1] for c in combo), tuple(used),
                tuple(edge.id for edge in edges), tuple(edge.certainty for edge in edges),
                _evidence(onto, [p for edge in edges for p in edge.passages]), stops))
    if found:
        message = (f"{len(found)} minimal intervention{'s stop' if len(found) != 1 else ' stops'} "
                   "persistent pain being concluded")
        return answer(found, message)

    # Nothing worked: show why, from the run with every candidate applied.
    worst = e if not candidates else reasoner.explain(
        apply_changes(base, list(names), ontology=onto), threshold_days=threshold)
    if candidates and not worst.pain_persists:
        # The bound cut the search short: a larger set does stop it, so say so
        # rather than blame facts that no longer conclude anything.
        limit = min(len(candidates), 5)
        more = (f"raise --max-changes (max_changes=) to {limit} to find the smallest such sets"
                if max_changes < limit else "")
        message = (f"no set of at most {max_changes} change{'s' * (max_changes != 1)} stops persistent pain "
                   f"(the bound max_changes={max_changes}); all {len(candidates)} modelled changes together "
                   f"do ({', '.join(names)})" + (f": {more}" if more else ""))
        return answer((), message)
    blocking = tuple(worst.chain("persistent_pain", f.site) for f in worst.facts_of("persistent_pain"))
    given = sorted({s.fact for c in blocking for s in c.steps
                    if s.status == "observed" and worst.fact(s.fact).concept not in ("injury_unresolved",)
                    and onto.concepts[worst.fact(s.fact).concept].input_role == "finding"})
    tried = f"tried: {', '.join(names)}" if names else "no injury is unresolved, so there is nothing to fix"
    parts = [f"no modelled change stops what has already formed: {'; '.join(formed)}" if formed else
             "no change among the modelled treatments stops persistent pain"]
    if given:
        parts.append(f"Persistent pain follows from what the patient reported ({', '.join(given)}): "
                     f"persistent-pain-from-knots concludes it from knots whatever caused them ({tried})")
    else:
        parts.append("Knots that formed before the basic injury is fixed stay and become part of the problem "
                     f"(s03-s05), so fixing it now does not stop the pain persisting ({tried})")
    if advice:
        parts.append(f'The source\'s advice for what has formed: "{advice[0].text}" ({advice[0].passage})')
    return answer((), ". ".join(parts), blocking)


def _deadline_text(due: tuple[Deadline, ...]) -> str:
    return "".join(f". {d.text[0].upper()}{d.text[1:]}" for d in due) + ("." if due else "")




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
            lines += _wrap(f"- {c.label} ({c.therapy}): {c.reason}", "  ")
    lines += ["", DISCLAIMER]
    return lines
