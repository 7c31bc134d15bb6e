"""The candidates of :func:`kg.questions.interventions.interventions`: which therapies a patient change expresses.

Candidates come from the ontology's therapy concepts (subclasses of
``therapy``). A candidate counts only if it maps to a change of the patient
record that the engine reasons with; today that is "fixing the basic
injury" (``injury_resolution``: ``injuries[i].resolved=true``). The others
are :class:`Considered`, with what the source says about them: treating spasm
"helps reduce" the problem, and heat or cold "may work best" depending on the
cause of the spasm, not that they stop the knots, so painkg does not claim they
would. Heat, cold and alternating them (the conclusions of ``therapy-options``)
are for a spasm: they are considered only at the sites where the explanation
concludes them, that is where a spasm is (s26).

>>> import kg
>>> found, considered = candidates(kg.explain("examples/knots-first-report.json"))
>>> found, [c.therapy for c in considered]
([], ['spasm_treatment'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..inputs.patient import Patient
from ..knowledge.wording import injury_phrase
from ..reasoning.explanation import Evidence

__all__ = ["Candidate", "Considered", "candidates", "therapies", "edges_from", "evidence", "SPASM_OPTIONS"]

#: The rule whose conclusions (heat, cold, alternating) are options for a spasm (s26).
SPASM_OPTIONS = "therapy-options"


@dataclass(frozen=True)
class Candidate:
    """A patient change that expresses a therapy: ``change`` (what-if syntax), ``description``, ``therapy``."""

    change: str
    description: str
    therapy: str


@dataclass(frozen=True)
class Considered:
    """A therapy the ontology names that is not modelled as a patient change, and why.

    ``sites`` are where it is offered: for heat, cold and alternating them, the sites where
    a spasm is concluded (a spasm reported without a site has none); empty for the others.
    """

    therapy: str
    label: str
    reason: str
    edges: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    sites: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"therapy": self.therapy, "label": self.label, "reason": self.reason, "sites": list(self.sites),
                "edges": list(self.edges), "evidence": [e.to_dict() for e in self.evidence]}


def evidence(onto, ids) -> tuple[Evidence, ...]:
    """The quotes of passages ``ids``, in source order, each once."""
    ordered = sorted(set(ids), key=lambda p: onto.passages[p].number)
    return tuple(Evidence(p, onto.passages[p].text) for p in ordered)


def therapies(onto) -> list[str]:
    """The ontology's therapy concepts, sorted."""
    return sorted(k for k in onto.concepts if k != "therapy" and "therapy" in onto.ancestors(k))


def edges_from(onto, therapy: str) -> list:
    """The causal claims whose subject is ``therapy``."""
    return [e for e in onto.edges.values() if e.subject == therapy]


def _resolve_injuries(patient: Patient, onto) -> list[tuple[str, str]]:
    label = lambda key: onto.concepts[key].label  # noqa: E731
    return [(f"injuries[{i.index}].resolved=true",
             f"fix {injury_phrase(label(i.kind), i.site, onto)} on {patient.assessed_on.isoformat()}")
            for i in patient.injuries if not i.resolved]


# The therapy concepts a patient record can express, and how. Everything else the
# ontology names as a therapy is reported under "considered", never silently dropped.
_PATIENT_CHANGES: dict[str, Callable[[Patient, Any], list[tuple[str, str]]]] = {
    "injury_resolution": _resolve_injuries,
}


def _considered(onto, therapy: str, sites: tuple[str, ...]) -> Considered:
    edges = edges_from(onto, therapy)
    said = "; ".join(f"{e.label} ({e.certainty}; {', '.join(e.passages)})" for e in edges)
    reason = (f"the source says: {said}. That is not a claim that it stops the knots, so painkg does not "
              "model it as sufficient on its own to stop persistent pain (and a patient record has no "
              "field for it)")
    passages = [p for e in edges for p in e.passages] or list(onto.concepts[therapy].passages)
    return Considered(therapy, onto.concepts[therapy].label, reason, tuple(e.id for e in edges),
                      evidence(onto, passages), sites)


def candidates(e) -> tuple[list[Candidate], list[Considered]]:
    """The patient changes to search over, and the therapies only considered, for explanation ``e``.

    A therapy of ``therapy-options`` (heat, cold, alternating) is considered only where
    ``e`` concludes it (where a spasm is, as the rule needs); nowhere, it is not offered.
    """
    onto = e.ontology
    spasm_options = set(onto.rules[SPASM_OPTIONS].concludes)
    found: list[Candidate] = []
    considered: list[Considered] = []
    for therapy in therapies(onto):
        make = _PATIENT_CHANGES.get(therapy)
        if make is not None:
            found.extend(Candidate(change, text, therapy) for change, text in make(e.patient, onto))
            continue
        sites: tuple[str, ...] = ()
        if therapy in spasm_options:
            concluded = e.facts_of(therapy)
            if not concluded:
                continue  # no spasm anywhere: heat or cold "depending on the cause of the spasm" is not offered
            sites = tuple(sorted(f.site for f in concluded if f.site))
        considered.append(_considered(onto, therapy, sites))
    return found, considered
