"""Render an :class:`~kg.reasoning.explanation.Explanation` as text a patient or clinician can read.

:func:`report_lines` yields ``(style, text)`` pairs: the CLI styles them with
rich on a terminal, :func:`render_text` joins them plainly.
"""

from __future__ import annotations

from typing import Iterator

from ..knowledge.wording import DISCLAIMER, WIDTH, wrap

__all__ = ["DISCLAIMER", "WIDTH", "wrap", "report_lines", "render_text"]

_HELPS = ("spasm_treatment", "injury_resolution", "heat_therapy", "cold_therapy", "alternating_heat_cold")
_FITS = ("consistent_with_muscle_strain", "atypical_for_muscle_strain", "strain_mechanism", "common_knot_site")


def _where(e, site) -> str:
    return f" ({e.ontology.concepts[site].label})" if site else ""


def _name(e, fact_id: str) -> str:
    f = e.fact(fact_id)
    return f.label + _where(e, f.site)


def _chain_lines(e, chain) -> Iterator[tuple[str, str]]:
    for n, step in enumerate(chain.steps, 1):
        fact = e.fact(step.fact)
        head = f"{n:>2}. "
        if step.rule is None:
            line = f"{head}Given: {_name(e, step.fact)}" + (f" - {fact.detail}" if fact.detail else "")
            for text in wrap(line, "  "):
                yield "observed", text
            continue
        yield "derived", f"  {head}So: {_name(e, step.fact)}"
        pad = "      "
        rule = e.ontology.rules[step.rule]
        yield from (("rule", t) for t in wrap(f"rule {step.rule}: {rule.label}", pad))
        yield from (("premise", t) for t in wrap(
            "from: " + "; ".join(_name(e, p) for p in step.premises), pad))
        if step.condition:
            yield from (("condition", t) for t in wrap(f"condition: {step.condition}", pad))
        for ev in step.evidence:
            yield from (("quote", t) for t in wrap(f'source {ev.passage}: "{ev.text}"', pad))


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
            line = " -> ".join(_name(e, f) for f in path.facts)
            yield from (("derived", t) for t in wrap(f"{n:>2}. {line}", "  "))


def report_lines(e) -> Iterator[tuple[str, str]]:
    """The report as ``(style, line)`` pairs; styles name what a line is."""
    yield "title", f"painkg: why does the pain of patient {e.patient.id} persist?"
    yield "meta", f"assessed on {e.assessed_on}; knots are concluded once an injury has stayed unresolved for {e.threshold_days} days"
    yield "", ""
    persistent = [f for f in e.facts if f.concept == "persistent_pain"]
    if persistent:
        where = ", ".join(e.ontology.concepts[f.site].label if f.site else "site not given" for f in persistent)
        yield "answer", f"Pain persists: yes ({where})."
    else:
        yield "answer", "Pain persists: not concluded. Nothing in this patient's data leads to painful muscle knots."
    shown: set[str] = set()
    for chain in e.chains:
        if chain.fact in shown:
            continue
        yield "", ""
        yield "heading", f"Why: {_name(e, chain.fact)}"
        story = " -> ".join(e.fact(f).label for f in chain.path)
        yield from (("story", t) for t in wrap(f"In short: {story}.", "  "))
        yield from _chain_lines(e, chain)
        shown.update(s.fact for s in chain.steps)
    yield from _loop_lines(e)
    helps = [f for f in e.facts if f.concept in _HELPS]
    if helps:
        yield "", ""
        yield "heading", "What the source says can help"
        for f in sorted(helps, key=lambda f: (_HELPS.index(f.concept), f.site or "")):
            rule = e.ontology.rules[f.justifications[0].rule]
            edge = e.ontology.edge_for(rule.id, f.concept, f.site)
            yield from (("derived", t) for t in wrap(f"- {_name(e, f.id)}: {edge.label} (rule {rule.id})", "  "))
    fits = [f for f in e.facts if f.concept in _FITS and f.id not in shown]
    if fits:
        yield "", ""
        yield "heading", "How the findings compare with the source's picture"
        for f in sorted(fits, key=lambda f: (_FITS.index(f.concept), f.site or "")):
            rules = ", ".join(sorted({j.rule for j in f.justifications}))
            basis = "; ".join(sorted({_name(e, p) for j in f.justifications for p in j.premises}))
            yield from (("derived", t) for t in wrap(f"- {_name(e, f.id)}: from {basis} (rule {rules})", "  "))
    yield "", ""
    yield "meta", DISCLAIMER


def render_text(e) -> str:
    """The report as plain text, ending in a newline."""
    return "\n".join(text for _, text in report_lines(e)) + "\n"
