"""The fact types the rules match.

One type, :class:`C`, stands for "concept at a site": observed and derived
facts share it, so a rule fires the same way whether a spasm was reported or
concluded. Input facts carry a ``role`` (``injury``, ``mechanism``,
``status``) so rules can tell an injury from a finding without a table of keys.
"""

from __future__ import annotations

from ._experta_compat import experta

__all__ = ["C", "Setting", "fact_id"]


class C(experta.Fact):
    """A concept at a site: ``C(concept=..., site=...)`` plus input details."""


class Setting(experta.Fact):
    """Run settings the rules test against (``threshold_days``); never a premise."""


def fact_id(concept: str, site: str | None, injury: str | None = None) -> str:
    """The stable id of a fact, derived from its content.

    >>> fact_id("inflammation", "lower_back")
    'inflammation@lower_back'
    >>> fact_id("injury_unresolved", "neck", "muscle_strain")
    'injury_unresolved@neck/muscle_strain'
    """
    text = concept if site is None else f"{concept}@{site}"
    return text if injury is None else f"{text}/{injury}"
