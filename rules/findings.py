"""Rules comparing the patient's findings with the source's picture of a strain.

Source: sentences 24 and 25. "Usually" stays "usually": these rules say a
finding fits (or is not explained by) the usual picture; they do not rule a
strain in or out.
"""

from __future__ import annotations

from experta import MATCH, Rule

from .facts import C

__all__ = ["FindingRules"]


class FindingRules:
    """Mixin of finding rules for :class:`~kg.rules.engine.PainEngine`."""

    @Rule(C(concept="localized_pain", site=MATCH.site))
    def fits_strain_localized_pain(self, site):
        self.declare(C(concept="consistent_with_muscle_strain", site=site))

    @Rule(C(concept="tender_to_touch", site=MATCH.site))
    def fits_strain_tenderness(self, site):
        self.declare(C(concept="consistent_with_muscle_strain", site=site))

    @Rule(C(concept="better_at_rest", site=MATCH.site))
    def fits_strain_better_at_rest(self, site):
        self.declare(C(concept="consistent_with_muscle_strain", site=site))

    @Rule(C(concept="radiating_pain_to_leg", site=MATCH.site))
    def atypical_radiating_pain(self, site):
        self.declare(C(concept="atypical_for_muscle_strain", site=site))
