"""Render an :class:`~kg.reasoning.explanation.Explanation` as text a patient or clinician can read.

:func:`report_lines` yields ``(style, text)`` pairs: the CLI styles them with
rich on a terminal, :func:`render_text` joins them plainly.

The report keeps the source's hedges (see :mod:`kg.reasoning.certainty`).
Every fact is named with its certainty, ``muscle knots (lower back,
expected)``; a ``possible`` fact is never stated as a fact: its line says
"may" ("the area may be inflamed"), and the headline (the same sentence every
face opens with, :mod:`kg.reasoning.answer`) says "may persist" unless
persistent pain is reported or expected. Each chain step shows its own
certainty and its rule's level. This is the ``--detail`` report; the default
is the brief one (:mod:`kg.render.brief`).

>>> import kg
>>> e = kg.explain({"id": "p", "assessed_on": "2026-03-01",
...     "injuries": [{"kind": "tear", "site": "lower_back", "days_since_onset": 0}]})
>>> text = render_text(e)
>>> "So: inflammation (lower back, possible): the area may be inflamed" in text
True
>>> text.splitlines()[1] == e.headline
True
"""

from __future__ import annotations

from typing import Iterator

from ..knowledge import wording as w
from ..knowledge.wording import CERTAINTY_LEGEND, DISCLAIMER, WIDTH, may_phrase, wrap

__all__ = ["DISCLAIMER", "WIDTH", "wrap", "report_lines", "render_text", "fact_name", "may_phrase"]

_HELPS = ("spasm_treatment", "injury_resolution", "heat_therapy", "cold_therapy", "alternating_heat_cold")
_FITS = ("consistent_with_muscle_strain", "atypical_for_muscle_strain", "strain_mechanism", "common_knot_site")

_AS_SAID = "the source states it as what happens"


def _site(e, site) -> str:
    return e.ontology.concepts[site].label if site else ""


def fact_name(e, fact_id: str) -> str:
    """A fact as the report names it: label, then site and certainty in parentheses.

    >>> import kg
    >>> fact_name(kg.explain("examples/knots-first-report.json"), "persistent_pain@upper_back")
    'persistent pain (upper back, expected)'
    """
    f = e.fact(fact_id)
    return w.fact_name(f.label, f.site, f.certainty, e.ontology)


def _weakest_premise(e, premises) -> str:
    from ..reasoning.certainty import weakest

    return weakest(e.fact(p).certainty for p in premises)


def _step_lines(e, n: int, step) -> Iterator[tuple[str, str]]:
    fact = e.fact(step.fact)
    head = f"{n:>2}. "
    if step.rule is None:
        line = head + w.recorded_sentence(fact.label, fact.site, fact.detail, e.ontology, fact.concept)
        yield from (("observed", t) for t in wrap(line, "  "))
        return
    if step.certainty == "possible":
        said = may_phrase(fact.concept, fact.label)
        if fact.certainty == "reported":
            said = f"reported; by this step alone it would only be possible: {said}"
        elif fact.certainty != "possible":
            said = f"by this step only possibly: {said} (another step makes it {fact.certainty})"
    else:
        said = f"reported, and {_AS_SAID}" if fact.certainty == "reported" else f"this is expected, {_AS_SAID}"
    yield from (("derived", t) for t in wrap(f"{head}So: {fact_name(e, step.fact)}: {said}", "  "))
    pad = "      "
    yield from (("rule", t) for t in wrap(
        f"certainty of this step: {step.certainty}, the weakest of its rule ({step.rule_certainty}) "
        f"and its premises ({_weakest_premise(e, step.premises)})", pad))
    rule = e.ontology.rules[step.rule]
    yield from (("rule", t) for t in wrap(f"rule {step.rule}: {rule.label}", pad))
    yield from (("premise", t) for t in wrap("from: " + "; ".join(fact_name(e, p) for p in step.premises), pad))
    if step.condition:
        yield from (("condition", t) for t in wrap(f"condition: {step.condition}", pad))
    for ev in step.evidence:
        yield from (("quote", t) for t in wrap(f'source {ev.passage}: "{ev.text}"', pad))


def _story(e, chain, facts) -> str:
    # The key chain (kg.reasoning.key_chain): the firmest, then shortest, causal path.
    from ..reasoning.key_chain import key_path

    def short(fact_id: str) -> str:
        f = e.fact(fact_id)
        return f.label + (" (possible)" if f.certainty == "possible" else "")

    return " -> ".join(short(f) for f in key_path(facts, chain.fact, e.ontology))


def _loop_lines(e) -> Iterator[tuple[str, str]]:
    # Feedback loops and the causal paths to persistent pain (kg.reasoning.loops).
    from ..reasoning.loops import causal_paths, feedback_loops, inactive_loops

    loops, notes = feedback_loops(e), inactive_loops(e)
    if not (loops or notes):
        return
    yield "", ""
    yield "heading", "Feedback loops"
    for loop in loops:
        yield from (("story", t) for t in wrap(f"- {loop.text}", "  "))
    def listed(keys) -> str:
        labels = [e.ontology.concepts[k].label for k in keys]
        return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]

    for site, cycle, missing in notes:
        present = [c for c in cycle if c not in missing]
        yield from (("derived", t) for t in wrap(
            f"- No active loop at the {e.ontology.concepts[site].label}: the facts there include "
            f"{listed(present).replace(' or ', ' and ')} but not {listed(missing)}, so the self-sustaining "
            "loop the source describes is not shown to be active.", "  "))
    paths = causal_paths(e)
    if paths:
        yield "", ""
        yield "heading", "Causal paths to persistent pain (shortest first)"
        for n, path in enumerate(paths, 1):
            line = " -> ".join(fact_name(e, f) for f in path.facts)
            weakest = _weakest_premise(e, path.facts)
            if weakest == "possible":
                line += " (a possible path: it may run this way)"
            yield from (("derived", t) for t in wrap(f"{n:>2}. {line}", "  "))


def _headline(e) -> Iterator[str]:
    # The headline every face opens with, on one line (the same bytes everywhere), then
    # (this is the detail) when knots would be expected, wrapped.
    yield e.headline
    for x in e.expectations:
        yield from wrap(w.expectation_sentence(x.to_dict(), e.ontology))


def _why(e, fact_id: str) -> str:
    f = e.fact(fact_id)
    if f.certainty == "possible":
        return f"Why: {fact_name(e, fact_id)}: {may_phrase(f.concept, f.label)}"
    return f"Why: {fact_name(e, fact_id)}"


def report_lines(e) -> Iterator[tuple[str, str]]:
    """The report as ``(style, line)`` pairs; styles name what a line is."""
    yield "title", f"painkg: why does the pain of patient {e.patient.id} persist? (every step)"
    yield from (("answer", t) for t in _headline(e))
    yield "", ""
    yield "meta", f"assessed on {e.assessed_on}; knots are concluded once an injury has stayed unresolved for {e.threshold_days} days"
    yield from (("meta", t) for t in wrap(CERTAINTY_LEGEND))
    shown: set[str] = set()
    facts = {f.id: f.to_dict() for f in e.facts}
    for chain in e.chains:
        if chain.fact in shown:
            continue
        yield "", ""
        yield from (("heading", t) for t in wrap(_why(e, chain.fact)))
        yield from (("story", t) for t in wrap(f"In short: {_story(e, chain, facts)}.", "  "))
        for n, step in enumerate(chain.steps, 1):
            yield from _step_lines(e, n, step)
        shown.update(s.fact for s in chain.steps)
    yield from _loop_lines(e)
    helps = [f for f in e.facts if f.concept in _HELPS]
    if helps:
        yield "", ""
        yield "heading", "What the source says can help"
        for f in sorted(helps, key=lambda f: (_HELPS.index(f.concept), f.site or "")):
            rule = e.ontology.rules[f.justifications[0].rule]
            said = e.ontology.edge_for(rule.id, f.concept, f.site).label
            if f.certainty == "possible" and " may " not in f" {said} ":
                said = f"{may_phrase(f.concept, f.label)}: {said}"
            yield from (("derived", t) for t in wrap(f"- {fact_name(e, f.id)}: {said} (rule {rule.id})", "  "))
    fits = [f for f in e.facts if f.concept in _FITS and f.id not in shown]
    if fits:
        yield "", ""
        yield "heading", "How the findings compare with the source's picture"
        for f in sorted(fits, key=lambda f: (_FITS.index(f.concept), f.site or "")):
            rules = ", ".join(sorted({j.rule for j in f.justifications}))
            basis = "; ".join(sorted({fact_name(e, p) for j in f.justifications for p in j.premises}))
            said = f" {may_phrase(f.concept, f.label)}," if f.certainty == "possible" else ""
            line = f"- {fact_name(e, f.id)}:{said} from {basis} (rule {rules})"
            yield from (("derived", t) for t in wrap(line, "  "))
    yield from _conflict_lines(e)
    yield "", ""
    yield "meta", DISCLAIMER


def _conflict_lines(e) -> Iterator[tuple[str, str]]:
    # Contradictory findings (s24) are said, not silently used both ways.
    from ..reasoning.conflicts import conflicts as find_conflicts

    conflicts = find_conflicts(e)
    if not conflicts:
        return
    yield "", ""
    yield "heading", "Findings that contradict each other"
    for c in conflicts:
        yield from (("condition", t) for t in wrap(f"- {c.message}", "  "))
        if c.passage:
            yield from (("quote", t) for t in wrap(f'source {c.passage}: "{c.text}"', "    "))


def render_text(e) -> str:
    """The report as plain text, ending in a newline."""
    return "\n".join(text for _, text in report_lines(e)) + "\n"
