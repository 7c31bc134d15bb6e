"""Rules comparing the patient's findings with the source's picture of a strain.

Source: sentences 24 and 25. "Usually" stays "usually": these rules say a
finding fits (or is not explained by) the usual picture; they do not rule a
strain in or out. A finding fits (or falls outside) the picture of a muscle
strain only where the patient has a muscle injury (strained, torn or
overstretched): soreness at an uninjured neck fits nothing the source
describes, and pain radiating to the leg is "not explained by a muscle strain"
only where there is one (the ontology binds it to the lower back).
"""

from __future__ import annotations

from experta import MATCH, P, Rule

from .facts import C
from .injury import MUSCLE_INJURIES

__all__ = ["FindingRules"]


class FindingRules:
    """Mixin of finding rules for :class:`~kg.rules.engine.PainEngine`."""

    @Rule(C(concept="localized_pain", site=MATCH.site),
          C(role="injury", concept=MATCH.kind & P(lambda kind: kind in MUSCLE_INJURIES), site=MATCH.site))
    def fits_strain_localized_pain(self, site, kind):
        self.declare(C(concept="consistent_with_muscle_strain", site=site))

    @Rule(C(concept="tender_to_touch", site=MATCH.site),
          C(role="injury", concept=MATCH.kind & P(lambda kind: kind in MUSCLE_INJURIES), site=MATCH.site))
    def fits_strain_tenderness(self, site, kind):
        self.declare(C(concept="consistent_with_muscle_strain", site=site))

    @Rule(C(concept="better_at_rest", site=MATCH.site),
          C(role="injury", concept=MATCH.kind & P(lambda kind: kind in MUSCLE_INJURIES), site=MATCH.site))
    def fits_strain_better_at_rest(self, site, kind):
        self.declare(C(concept="consistent_with_muscle_strain", site=site))

    # Like the "fits" rules, only where a muscle is injured: "not explained by the picture of a
    # muscle strain" says nothing at a site with no muscle injury (s24 is about a strain).
    @Rule(C(concept="radiating_pain_to_leg", site=MATCH.site),
          C(role="injury", concept=MATCH.kind & P(lambda kind: kind in MUSCLE_INJURIES), site=MATCH.site))
    def atypical_radiating_pain(self, site, kind):
        self.declare(C(concept="atypical_for_muscle_strain", site=site))
