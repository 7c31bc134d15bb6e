"""Words every text form shares: the disclaimer, the line wrapping and how certainty is said.

They live in the knowledge layer because the questions (why-not, what-if,
interventions, timeline) and the renderers both print them, and the questions
sit below the renderers.

>>> DISCLAIMER.startswith("painkg is a reasoning aid")
True
"""

from __future__ import annotations

import textwrap

__all__ = ["DISCLAIMER", "WIDTH", "wrap", "CERTAINTY_LEGEND", "pain_persists_text"]

DISCLAIMER = ("painkg is a reasoning aid built from one source text, not a diagnosis; "
              "it claims no more certainty than the source gives.")

#: Line width of every painkg text report.
WIDTH = 88


def wrap(text: str, indent: str = "", hang: int = 2) -> list[str]:
    """Wrap ``text`` to :data:`WIDTH`, continuation lines ``hang`` spaces deeper.

    >>> wrap("a " * 50, "  ", hang=4)[1][:6]
    '      '
    """
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent + " " * hang) or [indent]


#: One line that says what the three certainty levels mean (kg.reasoning.certainty).
CERTAINTY_LEGEND = ("certainty: reported = you reported it; expected = the source states it as what happens; "
                    "possible = the source says it can or may happen, so painkg says \"may\"")


def pain_persists_text(level: str | None) -> str:
    """Whether pain persists, said no more firmly than ``level`` (persistent pain's certainty).

    Only a reported or expected persistent pain "persists"; a possible one "may persist".

    >>> [pain_persists_text(x) for x in ("expected", "possible", None)]
    ['pain persists: yes (expected)', 'pain may persist (possible)', 'pain persists: no']
    """
    if level in ("reported", "expected"):
        return f"pain persists: yes ({level})"
    if level == "possible":
        return "pain may persist (possible)"
    return "pain persists: no"
