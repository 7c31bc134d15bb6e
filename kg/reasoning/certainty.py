"""How firmly each fact is held: ``reported``, ``expected`` or ``possible``.

The source hedges its claims ("can", "may", "usually"), and painkg keeps the
hedge: every rule has a level in the ontology (``pk:certaintyLevel``, from the
hedge of the claim it applies), a patient's input is ``reported``, and a derived
fact is held

* per justification, at the WEAKEST of its rule's level and its premises' levels
  (a chain is no firmer than its weakest link), and
* overall, at the STRONGEST of its justifications (two ways to a fact).

So certainty never rises along a chain, and no ``possible`` fact is a premise of
an ``expected`` step.

>>> weakest(["expected", "possible"]), strongest(["possible", "expected"])
('possible', 'expected')
>>> import kg
>>> e = kg.explain({"id": "p", "assessed_on": "2026-03-01",
...     "injuries": [{"kind": "tear", "site": "lower_back", "days_since_onset": 0}]})
>>> e.fact("inflammation@lower_back").certainty, e.fact("muscle_spasm@lower_back").certainty
('possible', 'expected')
>>> e.fact("severe_low_back_pain@lower_back").certainty
'possible'
"""

from __future__ import annotations

from typing import Iterable, Mapping

from ..knowledge.ontology import Ontology
from ..rules.tracing import Justification, TracedFact

__all__ = ["LEVELS", "REPORTED", "EXPECTED", "POSSIBLE", "weakest", "strongest", "is_firm",
           "fact_certainties"]

REPORTED, EXPECTED, POSSIBLE = "reported", "expected", "possible"
#: The levels, firmest first.
LEVELS = (REPORTED, EXPECTED, POSSIBLE)
_RANK = {level: n for n, level in enumerate(reversed(LEVELS))}  # possible 0 < expected 1 < reported 2


def weakest(levels: Iterable[str]) -> str:
    """The least firm of ``levels`` (``reported`` if there are none)."""
    return min(levels, key=_RANK.__getitem__, default=REPORTED)


def strongest(levels: Iterable[str]) -> str:
    """The firmest of ``levels`` (``possible`` if there are none)."""
    return max(levels, key=_RANK.__getitem__, default=POSSIBLE)


def is_firm(level: str | None) -> bool:
    """Whether a fact at ``level`` may be stated as a fact: reported or expected, not possible.

    >>> is_firm("expected"), is_firm("possible"), is_firm(None)
    (True, False, False)
    """
    return level in (REPORTED, EXPECTED)


def fact_certainties(trace: Mapping[str, TracedFact], ontology: Ontology
                     ) -> tuple[dict[str, str], dict[tuple[str, Justification], str]]:
    """The certainty of every fact, and of every (fact, justification), by fixpoint.

    Levels only rise during the iteration (from "not yet known"), and there are
    three, so it ends; a fact with no well-founded derivation would stay
    unknown, which the engine never produces (the property tests check it).
    """
    fact_level: dict[str, str] = {k: REPORTED for k, f in trace.items() if f.observed}
    step_level: dict[tuple[str, Justification], str] = {}
    changed = True
    while changed:
        changed = False
        for key, fact in trace.items():
            # An observed fact may also be concluded (a reported spasm the injury
            # explains): its steps get a level, the fact stays "reported".
            for j in fact.justifications:
                if not all(p in fact_level for p in j.premises):
                    continue
                level = weakest([ontology.rules[j.rule].level, *(fact_level[p] for p in j.premises)])
                if step_level.get((key, j)) != level:
                    step_level[(key, j)] = level
                    changed = True
                best = REPORTED if fact.observed else strongest(
                    step_level[(key, other)] for other in fact.justifications if (key, other) in step_level)
                if fact_level.get(key) != best:
                    fact_level[key] = best
                    changed = True
    return fact_level, step_level
