"""The answer to a why-not question: routes, premises that held or failed, and its text and JSON forms.

:func:`kg.questions.why_not.why_not` builds these; see that module for the search.

>>> merge_changes(["assessed_on=+1d", "assessed_on=+2d"])
('assessed_on=+2d',)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator

from ..knowledge.wording import DISCLAIMER, wrap
from ..reasoning.explanation import Chain, Evidence
from .why_not_expected import expected_sentence

__all__ = ["HeldPremise", "FailedPremise", "Route", "SiteAnswer", "WhyNot", "merge_changes", "DEFAULT_DEPTH"]

#: How many levels of failed, derivable premises are explained in turn.
DEFAULT_DEPTH = 3


@dataclass(frozen=True)
class HeldPremise:
    """A premise that held, and the facts that satisfied it (none for a test or setting).

    ``certainty`` holds each fact's certainty (``reported``, ``expected`` or
    ``possible``), in the order of ``facts``.
    """

    premise: str
    facts: tuple[str, ...]
    certainty: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"premise": self.premise, "facts": list(self.facts), "certainty": list(self.certainty)}


@dataclass(frozen=True)
class FailedPremise:
    """A premise that is false for this patient, why, and what would make it hold.

    ``fact`` is the id of the fact the premise needed, when its bindings
    name one that is absent from the run (None when the fact exists but fails
    a predicate, or the premise is a test). ``changes`` are patient changes (:mod:`kg.questions.what_if` syntax) that together
    make the premise hold, or None when no patient change can (a rule that
    only applies at another site) or the depth bound stopped the search.
    """

    premise: str
    reason: str
    values: tuple[tuple[str, Any], ...]
    evidence: tuple[Evidence, ...]
    changes: tuple[str, ...] | None
    why_not: "SiteAnswer | None"
    fact: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"premise": self.premise, "fact": self.fact, "reason": self.reason, "values": dict(self.values),
                "evidence": [e.to_dict() for e in self.evidence],
                "changes": None if self.changes is None else list(self.changes),
                "why_not": None if self.why_not is None else self.why_not.to_dict()}


@dataclass(frozen=True)
class Route:
    """One way the concept could be concluded: a rule (``rule`` set) or a report by the patient.

    A rule about an injury is one route per injury at the site: ``injury`` is its
    index in the patient's ``injuries`` (None when the route is not about one).
    """

    rule: str | None
    label: str
    edge: str | None
    applies_at_site: bool
    held: tuple[HeldPremise, ...]
    failed: tuple[FailedPremise, ...]
    injury: int | None = None

    @property
    def changes(self) -> tuple[str, ...] | None:
        """Patient changes that make every failed premise hold, or None if some cannot."""
        if not self.applies_at_site or any(f.changes is None for f in self.failed):
            return None
        return merge_changes(c for f in self.failed for c in f.changes)

    def to_dict(self) -> dict[str, Any]:
        return {"route": "rule" if self.rule else "reported", "rule": self.rule, "injury": self.injury,
                "label": self.label, "edge": self.edge, "applies_at_site": self.applies_at_site,
                "held": [h.to_dict() for h in self.held], "failed": [f.to_dict() for f in self.failed],
                "changes": None if self.changes is None else list(self.changes)}


@dataclass(frozen=True)
class SiteAnswer:
    """The answer at one site: the chain if concluded, otherwise every route.

    ``certainty`` is how firmly the concept is concluded here (``reported``,
    ``expected`` or ``possible``; None when it is not concluded). A ``possible``
    conclusion is only what the source says can happen: the text says so, and
    ``expected_routes`` are every way it would be expected (rules the source states as
    what happens, on facts held firmly), with the dates and changes that get there.
    """

    concept: str
    site: str | None
    concluded: bool
    chain: Chain | None
    routes: tuple[Route, ...]
    certainty: str | None = None
    expected_routes: tuple[Route, ...] = ()

    @property
    def changes(self) -> tuple[str, ...] | None:
        """The smallest set of patient changes, over all routes, that concludes the concept here."""
        options = [r.changes for r in self.routes if r.changes is not None]
        return min(options, key=lambda c: (len(c), c)) if options else None

    @property
    def expected_changes(self) -> tuple[str, ...] | None:
        """For a possible conclusion, the smallest set of patient changes that makes it expected."""
        options = [r.changes for r in self.expected_routes if r.changes is not None]
        return min(options, key=lambda c: (len(c), c)) if options else None

    def to_dict(self) -> dict[str, Any]:
        return {"concept": self.concept, "site": self.site, "concluded": self.concluded,
                "certainty": self.certainty, "chain": None if self.chain is None else self.chain.to_dict(),
                "routes": [r.to_dict() for r in self.routes],
                "changes": None if self.changes is None else list(self.changes),
                "expected_routes": [r.to_dict() for r in self.expected_routes],
                "expected_changes": None if self.expected_changes is None else list(self.expected_changes)}


class WhyNot:
    """The answer to "why was CONCEPT not concluded?" for one patient.

    ``sites`` holds one :class:`SiteAnswer` per site asked about; ``message``
    says so plainly when nothing at all could lead to the concept.
    """

    def __init__(self, explanation, concept: str, site: str | None, sites: tuple[SiteAnswer, ...],
                 message: str):
        self.explanation = explanation
        self.concept = concept
        self.site = site
        self.sites = sites
        self.message = message

    @property
    def concluded(self) -> bool:
        """True when the concept was concluded at some site asked about."""
        return any(s.concluded for s in self.sites)

    def at(self, site: str) -> SiteAnswer:
        """The answer at ``site`` (KeyError if that site was not asked about)."""
        for answer in self.sites:
            if answer.site == site:
                return answer
        raise KeyError(site)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see docs/clinician-questions.md)."""
        e = self.explanation
        return {"patient": e.patient.id, "assessed_on": e.assessed_on, "threshold_days": e.threshold_days,
                "concept": self.concept, "label": e.ontology.concepts[self.concept].label,
                "site": self.site, "concluded": self.concluded, "message": self.message,
                "sites": [s.to_dict() for s in self.sites]}

    def to_json(self) -> str:
        """Deterministic JSON text, ending in a newline."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def to_text(self) -> str:
        """Plain-language answer with the source quotes."""
        return "\n".join(_text_lines(self)) + "\n"

    def __repr__(self) -> str:
        return f"<WhyNot concept={self.concept!r} site={self.site!r} concluded={self.concluded}>"


def merge_changes(changes) -> tuple[str, ...]:
    """Deduplicate changes in order; of several relative ``assessed_on=+Nd`` keep the latest.

    >>> merge_changes(["assessed_on=+3d", "findings+=x", "assessed_on=+9d", "findings+=x"])
    ('findings+=x', 'assessed_on=+9d')
    """
    out: list[str] = []
    later = None
    for change in changes:
        if change.startswith("assessed_on=+") and change.endswith("d"):
            days = int(change[len("assessed_on=+"):-1])
            later = days if later is None else max(later, days)
        elif change not in out:
            out.append(change)
    if later is not None:
        out.append(f"assessed_on=+{later}d")
    return tuple(out)


# ---------------------------------------------------------------- text form
def _wrap(text: str, indent: str = "") -> list[str]:
    return wrap(text, indent, hang=4)


def _answer_lines(w: WhyNot, answer: SiteAnswer, indent: str) -> Iterator[str]:
    onto = w.explanation.ontology
    where = onto.concepts[answer.site].label if answer.site else "no site"
    head = f"{onto.concepts[answer.concept].label} at the {where}"
    if answer.concluded:
        if answer.certainty == "possible":
            yield from _wrap(f"{head}: concluded as possible: the source says it can happen, not that it "
                             "does, so it may be so; its chain:", indent)
        else:
            level = f" ({answer.certainty})" if answer.certainty else ""
            yield from _wrap(f"{head}: CONCLUDED{level}, so there is no why-not; its chain:", indent)
        for step in answer.chain.steps if answer.chain else ():
            if step.rule is None:
                how = "given (you reported it)"
            else:
                how = (f"{step.certainty}, by {step.rule} (a rule the source states as {step.rule_certainty}) "
                       f"from {', '.join(step.premises)}")
            yield from _wrap(f"- {step.fact}: {how}", indent + "  ")
        if answer.certainty == "possible":
            yield from _wrap(expected_sentence(answer, w.explanation) + " Every way it would be expected:", indent)
            yield from _routes_lines(w, answer.expected_routes, indent)
        return
    yield from _wrap(f"{head}: not concluded. Every way it could be:", indent)
    yield from _routes_lines(w, answer.routes, indent)


def _routes_lines(w: WhyNot, routes, indent: str) -> Iterator[str]:
    for route in routes:
        name = f"rule {route.rule}: {route.label}" if route.rule else route.label
        if route.injury is not None:
            name += f" [for injuries[{route.injury}]]"
        yield from _wrap(f"- {name}", indent + "  ")
        pad = indent + "    "
        if not route.applies_at_site:
            yield from _wrap("this rule only concludes at another site (its premises name the site)", pad)
        for h in route.held:
            levels = h.certainty or ("",) * len(h.facts)
            shown = [f"{fact} ({level})" if level else fact for fact, level in zip(h.facts, levels)]
            facts = f" [{', '.join(shown)}]" if h.facts else ""
            yield from _wrap(f"held: {h.premise}{facts}", pad)
        for f in route.failed:
            yield from _wrap(f"FAILED: {f.premise}: {f.reason}", pad)
            for ev in f.evidence:
                yield from _wrap(f'source {ev.passage}: "{ev.text}"', pad + "  ")
            if f.why_not is not None and not f.why_not.concluded:
                yield from _answer_lines(w, f.why_not, pad + "  ")
        if route.changes is not None:
            yield from _wrap("would hold with: " + " ".join(route.changes), pad)


def _text_lines(w: WhyNot) -> Iterator[str]:
    e = w.explanation
    label = e.ontology.concepts[w.concept].label
    yield f"painkg: why not {w.concept} ({label})? (patient {e.patient.id})"
    yield from _wrap(w.message, "")  # the answer, in the first lines
    yield f"assessed on {e.assessed_on}; threshold {e.threshold_days} days"
    for answer in w.sites:
        yield ""
        yield from _answer_lines(w, answer, "")
    yield ""
    yield DISCLAIMER
