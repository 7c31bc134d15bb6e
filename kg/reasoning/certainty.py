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

import functools
from typing import Iterable, Mapping

from ..knowledge.ontology import Ontology
from ..rules.tracing import Justification, TracedFact

__all__ = ["LEVELS", "REPORTED", "EXPECTED", "POSSIBLE", "LEVEL_OF_RANK", "weakest", "strongest", "is_firm",
           "fact_certainties", "certainty_ranks"]

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
    fact_rank, step_rank = certainty_ranks(trace, ontology)
    fact_level = {key: LEVEL_OF_RANK[rank] for key, rank in fact_rank.items()}
    step_level = {(key, trace[key].justifications[n]): LEVEL_OF_RANK[rank] for (key, n), rank in step_rank.items()}
    return fact_level, step_level


#: A level's rank (possible 0 < expected 1 < reported 2) back to its name.
LEVEL_OF_RANK = {rank: level for level, rank in _RANK.items()}


@functools.lru_cache(maxsize=16)
def _rule_ranks(ontology: Ontology) -> dict[str, int]:
    # Each rule's level as a rank: the ontology's alone (immutable, hashed by identity).
    return {rule.id: _RANK[rule.level] for rule in ontology.rules.values()}


def certainty_ranks(trace: Mapping[str, TracedFact], ontology: Ontology
                    ) -> tuple[dict[str, int], dict[tuple[str, int], int]]:
    """:func:`fact_certainties` as ranks (see :data:`LEVEL_OF_RANK`), each justification by its index in the trace.

    >>> import kg
    >>> e = kg.explain("examples/lower-back-strain-day20.json")
    >>> facts, steps = certainty_ranks(e.trace, e.ontology)
    >>> LEVEL_OF_RANK[facts["muscle_knots@lower_back"]], LEVEL_OF_RANK[steps["muscle_knots@lower_back", 0]]
    ('expected', 'expected')
    """
    # Ranks, and each justification by its index, so the fixpoint compares small ints and hashes
    # no Justification (a frozen dataclass rehashes its fields on every lookup). Levels only
    # rise, so the iteration reaches the one least fixpoint of the definition in the module
    # docstring whatever order it visits the steps in: here a fact's level is set once its
    # steps of the pass are known.
    rule_rank = _rule_ranks(ontology)
    reported = _RANK[REPORTED]
    fact_rank: dict[str, int] = {k: reported for k, f in trace.items() if f.observed}
    step_rank: dict[tuple[str, int], int] = {}
    facts = [(key, fact.observed,
              [((key, n), rule_rank[j.rule], j.premises) for n, j in enumerate(fact.justifications)])
             for key, fact in trace.items() if fact.justifications]
    changed = True
    while changed:
        changed = False
        for key, observed, steps in facts:
            # An observed fact may also be concluded (a reported spasm the injury
            # explains): its steps get a level, the fact stays "reported".
            best = -1
            for step, level, premises in steps:
                for premise in premises:
                    known = fact_rank.get(premise)
                    if known is None:
                        break
                    if known < level:
                        level = known
                else:
                    if step_rank.get(step) != level:
                        step_rank[step] = level
                        changed = True
                    if level > best:
                        best = level
            if best >= 0:
                best = reported if observed else best
                if fact_rank.get(key) != best:
                    fact_rank[key] = best
                    changed = True
    return fact_rank, step_rank
