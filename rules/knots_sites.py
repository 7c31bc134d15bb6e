"""Knots away from the neck and back: possible, not expected.

Source: sentence 15, "This happens most often (but not only) with injuries to the neck
and back." In the neck and back the overloaded muscle forms knots as the source says it
does (``knots-from-overload``, expected); at any other muscle site (shoulder, hip, thigh,
calf) the "but not only" allows knots without saying they usually form, so this rule
concludes them as possible (its ``pk:certaintyLevel`` in ``ontology/rules.ttl``).
"""

from __future__ import annotations

from experta import MATCH, P, Rule

from .facts import C
from .knots import KNOT_PRONE_SITES

__all__ = ["KnotSiteRules"]


class KnotSiteRules:
    """Mixin of the site-dependent knot rule for :class:`~kg.rules.engine.PainEngine`."""

    @Rule(C(concept="muscle_overload", site=MATCH.site & P(lambda s: s not in KNOT_PRONE_SITES)))
    def knots_from_overload_elsewhere(self, site):
        self.declare(C(concept="muscle_knots", site=site))
