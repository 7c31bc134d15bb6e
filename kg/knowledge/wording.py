"""Words every text form shares: the disclaimer and the line wrapping.

They live in the knowledge layer because the questions (why-not, what-if,
interventions, timeline) and the renderers both print them, and the questions
sit below the renderers.

>>> DISCLAIMER.startswith("painkg is a reasoning aid")
True
"""

from __future__ import annotations

import textwrap

__all__ = ["DISCLAIMER", "WIDTH", "wrap"]

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
