"""Contradictory findings: reported, with the passage that makes them contradict.

The source defines localized pain by what it is not: "The pain is usually localized,
meaning it doesn't radiate to the leg." (s24). A patient reported with localized pain
and pain radiating to the leg at one site has told painkg two things that cannot both
hold of that pain. The engine is monotonic (no rule fires on the absence of a fact), so
it still draws what each finding supports on its own: the localized pain "fits the
usual picture of a muscle strain", the radiating pain is "not explained" by it. Neither
conclusion is dropped silently; the explanation lists the conflict, the passage, and the
conclusions that rest on each side (``Explanation.to_dict()["conflicts"]``).

Which findings conflict comes from the ontology: two finding concepts declared
``owl:disjointWith`` (``pk:LocalizedPain owl:disjointWith pk:RadiatingPainToLeg``), at
the same site; a finding that could not be placed (no site) conflicts with the other
at any site, since it may be the same pain. The passage is the one both concepts are
derived from.

Example
-------
>>> import kg
>>> e = kg.explain({"id": "c", "assessed_on": "2026-05-12",
...     "injuries": [{"kind": "strain", "site": "lower_back", "days_since_onset": 9}],
...     "findings": ["localized_pain", "radiating_pain_to_leg"]})
>>> [(c.site, c.concepts, c.passage) for c in conflicts(e)]
[('lower_back', ('localized_pain', 'radiating_pain_to_leg'), 's24')]
>>> conflicts(e)[0].used_by
('atypical_for_muscle_strain@lower_back', 'consistent_with_muscle_strain@lower_back')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Conflict", "conflicts"]


@dataclass(frozen=True)
class Conflict:
    """Two reported findings that cannot both hold of one site's pain."""

    site: str | None
    facts: tuple[str, ...]
    concepts: tuple[str, ...]
    passage: str | None
    text: str | None
    message: str
    #: The derived facts that rest (directly) on either finding: drawn, and to be read with care.
    used_by: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"site": self.site, "facts": list(self.facts), "concepts": list(self.concepts),
                "passage": self.passage, "text": self.text, "message": self.message,
                "used_by": list(self.used_by)}


def conflicts(explanation) -> tuple[Conflict, ...]:
    """The contradictory findings of an :class:`~kg.reasoning.explanation.Explanation`'s patient, in a stable order.

    (Typed loosely: the explanation module imports this one.)
    """
    onto = explanation.ontology
    observed = sorted((f for f in explanation.facts if f.status == "observed" and f.concept in onto.concepts
                       and onto.concepts[f.concept].disjoint), key=lambda f: f.id)
    found = []
    for i, a in enumerate(observed):
        for b in observed[i + 1:]:
            if b.concept not in onto.concepts[a.concept].disjoint:
                continue
            if a.site is not None and b.site is not None and a.site != b.site:
                continue
            found.append(_conflict(explanation, *sorted((a, b), key=lambda f: f.concept)))
    return tuple(sorted(found, key=lambda c: (c.site or "", c.facts)))


def _conflict(explanation, a, b) -> Conflict:
    onto = explanation.ontology
    shared = sorted(set(onto.concepts[a.concept].passages) & set(onto.concepts[b.concept].passages),
                    key=lambda p: onto.passages[p].number)
    passage = shared[0] if shared else None
    site = a.site or b.site
    where = f"the {onto.concepts[site].label}" if site else "one site"
    unplaced = [f.label for f in (a, b) if f.site is None]
    note = f" ({' and '.join(unplaced)} given without a site)" if unplaced and site else ""
    message = (f"{a.label} and {b.label} are both reported at {where}{note}; the source says they exclude "
               f"each other, so conclusions drawn from either rest on contradictory findings")
    used_by = sorted(f.id for f in explanation.facts
                     if any(a.id in j.premises or b.id in j.premises for j in f.justifications))
    return Conflict(site, (a.id, b.id), (a.concept, b.concept), passage,
                    onto.passages[passage].text if passage else None, message, tuple(used_by))
