"""The minimal-set search of :func:`kg.questions.interventions.interventions`.

The search re-runs the engine (one reused :class:`~kg.reasoning.reasoner.Reasoner`) on every
subset of candidate changes, smallest first, up to ``max_changes``, and keeps
the minimal subsets after which ``persistent_pain`` is no longer concluded.

>>> import kg
>>> from kg.questions.intervention_candidates import candidates
>>> e = kg.explain("examples/lower-back-strain-day20.json")
>>> minimal_sets(e, candidates(e)[0], kg.Reasoner(), 3)
()
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Sequence

from ..reasoning.explanation import Evidence
from .changes import apply_changes
from .intervention_candidates import Candidate, edges_from, evidence

__all__ = ["Intervention", "minimal_sets", "all_applied"]


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


def _intervention(e, combo: Sequence[Candidate]) -> Intervention:
    onto = e.ontology
    used = sorted({c.therapy for c in combo})
    edges = [edge for t in used for edge in edges_from(onto, t)]
    return Intervention(
        tuple(c.change for c in combo), tuple(c.description for c in combo), tuple(used),
        tuple(edge.id for edge in edges), tuple(edge.certainty for edge in edges),
        evidence(onto, [p for edge in edges for p in edge.passages]),
        tuple(sorted(f.id for f in e.facts_of("persistent_pain"))))


def minimal_sets(e, found: Sequence[Candidate], reasoner, max_changes: int) -> tuple[Intervention, ...]:
    """Every minimal set of at most ``max_changes`` candidates after which pain no longer persists."""
    out: list[Intervention] = []
    for size in range(1, min(max_changes, len(found)) + 1):
        for combo in itertools.combinations(found, size):
            chosen = {c.change for c in combo}
            if any(set(i.changes) <= chosen for i in out):
                continue
            after = reasoner.explain(apply_changes(e.patient, [c.change for c in combo], ontology=e.ontology),
                                     threshold_days=e.threshold_days)
            if not after.pain_persists:
                out.append(_intervention(e, combo))
    return tuple(out)


def all_applied(e, found: Sequence[Candidate], reasoner):
    """The explanation with every candidate applied (``e`` itself when there is none)."""
    if not found:
        return e
    return reasoner.explain(apply_changes(e.patient, [c.change for c in found], ontology=e.ontology),
                            threshold_days=e.threshold_days)
