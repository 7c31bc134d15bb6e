"""The brief text report: the answer first, on one screen.

``painkg explain FILE`` prints this by default: the headline, each site's key
conclusion with its key chain, the condition and the sentence that carry it,
what would change the answer, what can help, flags, input not used, and how
to see more (``--detail``: every step with every quote, :mod:`kg.render.text`).
It renders a :class:`~kg.render.presentation.Presentation` and composes no
sentence of its own; ``audience="patient"`` gives the patient wording.

:func:`brief_lines` yields ``(style, text)`` pairs (the CLI styles them with
rich on a terminal); :func:`brief_text` joins them plainly.

>>> import kg
>>> from kg.render.presentation import present
>>> e = kg.explain("examples/lower-back-strain-day20.json")
>>> text = brief_text(present(e.to_dict(), e.ontology))
>>> text.splitlines()[1] == e.headline
True
>>> len(text.splitlines()) <= 40
True
"""

from __future__ import annotations

from typing import Iterator

from ..knowledge.wording import MORE_HINT, wrap
from .presentation import Presentation

__all__ = ["brief_lines", "brief_text"]


def _section(title: str, items) -> Iterator[tuple[str, str]]:
    if not items:
        return
    yield "", ""
    yield "heading", title
    for item in items:
        yield from (("derived", t) for t in wrap(f"- {item}", "  "))


def _conclusion_lines(p: Presentation, c) -> Iterator[tuple[str, str]]:
    yield "", ""
    yield from (("heading", t) for t in wrap(c.heading))
    if p.audience == "patient":
        for link in c.links:
            yield from (("derived", t) for t in wrap(link.said, "  "))
        if c.carried_by:
            yield from (("quote", t) for t in wrap(f'The source says: "{c.carried_by.text}" ({c.carried_by.passage})',
                                                   "  "))
        return
    yield from (("story", t) for t in wrap("key chain: " + c.chain_text, "  ", hang=4))
    for link in c.links:
        if link.condition:
            yield from (("condition", t) for t in wrap(f"condition: {link.condition}", "  ", hang=4))
    if c.carried_by:
        yield from (("quote", t) for t in wrap(f'carried by {c.carried_by.passage}: "{c.carried_by.text}"', "  ",
                                               hang=4))


def brief_lines(p: Presentation) -> Iterator[tuple[str, str]]:
    """The brief report of a presentation as ``(style, line)`` pairs."""
    if p.audience == "patient":
        yield "title", f"painkg, in plain words (assessed on {p.assessed_on})"
    else:
        yield "title", (f"painkg: patient {p.patient}, assessed on {p.assessed_on} "
                        f"(knots after {p.threshold_days} days unresolved)")
    # One line, unwrapped: the same bytes as the JSON's "headline", the card's summary and the page.
    yield "answer", p.headline
    for c in p.conclusions:
        yield from _conclusion_lines(p, c)
    patient = p.audience == "patient"
    yield from _section("What could change it" if patient else "What would change it", p.changes)
    yield from _section("What the source says can help", p.helps)
    yield from _section("Worth knowing" if patient else "Flags", p.flags)
    yield from _section(f"Input not used ({len(p.not_used)})", p.not_used)
    yield "", ""
    if not patient:
        yield from (("meta", t) for t in wrap(p.legend))
        yield from (("meta", t) for t in wrap(MORE_HINT))
    yield from (("meta", t) for t in wrap(p.disclaimer))


def brief_text(p: Presentation) -> str:
    """The brief report as plain text, ending in a newline."""
    return "\n".join(text for _, text in brief_lines(p)) + "\n"
