"""Render an :class:`~kg.reasoning.explanation.Explanation` as text a patient or clinician can read.

:func:`report_lines` yields ``(style, text)`` pairs: the CLI styles them with
rich on a terminal, :func:`render_text` joins them plainly.

The report keeps the source's hedges (see :mod:`kg.reasoning.certainty`).
Every fact is named with its certainty, ``muscle knots (lower back,
expected)``; a ``possible`` fact is never stated as a fact: its line says
"may" ("the area may be inflamed"), and the headline says "pain may persist"
unless persistent pain is reported or expected. Each chain step shows its own
certainty and its rule's level.

>>> import kg
>>> e = kg.explain({"id": "p", "assessed_on": "2026-03-01",
...     "injuries": [{"kind": "tear", "site": "lower_back", "days_since_onset": 0}]})
>>> text = render_text(e)
>>> "So: inflammation (lower back, possible): the area may be inflamed" in text
True
>>> print(next(l for l in text.splitlines() if l.startswith("Pain")))
Pain persists: not concluded yet. Muscle knots would be expected at the lower back on
"""

from __future__ import annotations

from typing import Iterator

from ..knowledge.wording import CERTAINTY_LEGEND, DISCLAIMER, WIDTH, pain_persists_text, wrap

__all__ = ["DISCLAIMER", "WIDTH", "wrap", "report_lines", "render_text", "fact_name", "may_phrase"]

_HELPS = ("spasm_treatment", "injury_resolution", "heat_therapy", "cold_therapy", "alternating_heat_cold")
_FITS = ("consistent_with_muscle_strain", "atypical_for_muscle_strain", "strain_mechanism", "common_knot_site")

#: How a possible conclusion is said, per concept: always with "may".
_MAY = {
    "inflammation": "the area may be inflamed",
    "muscle_spasm": "the muscles may spasm",
    "severe_low_back_pain": "this may lead to severe low back pain",
    "difficulty_moving": "this may make moving difficult",
    "pain": "the spasm may be the actual cause of the pain",
    "persistent_pain": "the pain may persist",
    "muscle_knots": "muscle knots may form",
    "muscle_overload": "the muscle may overload",
    "continuous_contraction": "the muscle may be kept continuously on",
    "surrounding_muscle_involvement": "the spasm may affect the muscles around it",
    "consistent_with_muscle_strain": "this may fit the usual picture of a muscle strain",
    "heat_therapy": "heat therapy may help",
    "cold_therapy": "cold therapy may help",
    "alternating_heat_cold": "alternating heat and cold may help",
    "spasm_treatment": "treating the spasm may help",
    "injury_resolution": "fixing the basic injury may help",
}
_AS_SAID = "the source states it as what happens"


def may_phrase(concept: str, label: str) -> str:
    """How painkg says that a concept is possible: a clause with "may".

    >>> may_phrase("inflammation", "inflammation"), may_phrase("x", "a thing")
    ('the area may be inflamed', 'a thing may follow')
    """
    return _MAY.get(concept, f"{label} may follow")


def _site(e, site) -> str:
    return e.ontology.concepts[site].label if site else ""


def fact_name(e, fact_id: str) -> str:
    """A fact as the report names it: label, then site and certainty in parentheses.

    >>> import kg
    >>> fact_name(kg.explain("examples/knots-first-report.json"), "persistent_pain@upper_back")
    'persistent pain (upper back, expected)'
    """
    f = e.fact(fact_id)
    return f"{f.label} ({', '.join(p for p in (_site(e, f.site), f.certainty) if p)})"


def _given_name(e, fact_id: str) -> str:
    f = e.fact(fact_id)
    return f.label + (f" ({_site(e, f.site)})" if f.site else "")


def _weakest_premise(e, premises) -> str:
    from ..reasoning.certainty import weakest

    return weakest(e.fact(p).certainty for p in premises)


def _step_lines(e, n: int, step) -> Iterator[tuple[str, str]]:
    fact = e.fact(step.fact)
    head = f"{n:>2}. "
    if step.rule is None:
        line = f"{head}You reported: {_given_name(e, step.fact)}" + (f" - {fact.detail}" if fact.detail else "")
        yield from (("observed", t) for t in wrap(line, "  "))
        return
    if step.certainty == "possible":
        said = may_phrase(fact.concept, fact.label)
        if fact.certainty == "reported":
            said = f"you reported it; by this step alone it would only be possible: {said}"
        elif fact.certainty != "possible":
            said = f"by this step only possibly: {said} (another step makes it {fact.certainty})"
    else:
        said = f"you reported it, and {_AS_SAID}" if fact.certainty == "reported" else f"this is expected, {_AS_SAID}"
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


def _story(e, chain) -> str:
    def short(fact_id: str) -> str:
        f = e.fact(fact_id)
        return f.label + (" (possible)" if f.certainty == "possible" else "")

    return " -> ".join(short(f) for f in chain.path)


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


def _headline(e) -> str:
    persistent = [f for f in e.facts if f.concept == "persistent_pain"]
    if not persistent and e.expectations:
        return "Pain persists: not concluded yet." + _expectations_text(e)
    if not persistent:
        return "Pain persists: not concluded. Nothing in this patient's data leads to painful muscle knots."

    def where(facts) -> str:
        sites = [f"the {_site(e, f.site)}" if f.site else "a site not given" for f in facts]
        return " and ".join(sites)

    parts = []
    for level in ("reported", "expected"):
        firm = [f for f in persistent if f.certainty == level]
        if firm:
            parts.append(f"{pain_persists_text(level).capitalize()} at {where(firm)}.")
    possible = [f for f in persistent if f.certainty == "possible"]
    if possible:
        parts.append(f"{pain_persists_text('possible').capitalize()} at {where(possible)}: the source says "
                     "this can happen, not that it does.")
    return " ".join(parts) + _expectations_text(e)


def _expectations_text(e) -> str:
    # When knots would be expected, with the date (kg.reasoning.expectations; s03, s04).
    # An expectation the source only allows as possible (a ``certainty`` of
    # "possible", where the knots rule at the site is possible) says "may form".
    def said(x) -> str:
        where, passages = _site(e, x.site), ", ".join(x.passages)
        if getattr(x, "certainty", None) == "possible":
            return f" Muscle knots may form at the {where} from {x.expected_on} if {x.condition} (possible; {passages})."
        return f" Muscle knots would be expected at the {where} on {x.expected_on} if {x.condition} ({passages})."

    return "".join(said(x) for x in e.expectations)


def _why(e, fact_id: str) -> str:
    f = e.fact(fact_id)
    if f.certainty == "possible":
        return f"Why: {fact_name(e, fact_id)}: {may_phrase(f.concept, f.label)}"
    return f"Why: {fact_name(e, fact_id)}"


def report_lines(e) -> Iterator[tuple[str, str]]:
    """The report as ``(style, line)`` pairs; styles name what a line is."""
    yield "title", f"painkg: why does the pain of patient {e.patient.id} persist?"
    yield "meta", f"assessed on {e.assessed_on}; knots are concluded once an injury has stayed unresolved for {e.threshold_days} days"
    yield from (("meta", t) for t in wrap(CERTAINTY_LEGEND))
    yield "", ""
    yield from (("answer", t) for t in wrap(_headline(e)))
    shown: set[str] = set()
    for chain in e.chains:
        if chain.fact in shown:
            continue
        yield "", ""
        yield from (("heading", t) for t in wrap(_why(e, chain.fact)))
        yield from (("story", t) for t in wrap(f"In short: {_story(e, chain)}.", "  "))
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
