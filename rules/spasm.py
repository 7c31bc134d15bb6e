"""Rules about muscle spasm: its causes, spread, effects and therapy options.

Source: sentences 1, 2, 7-10, 16, 17, 22 and 26.
"""

from __future__ import annotations

from experta import MATCH, Rule

from .facts import C

__all__ = ["SpasmRules"]


class SpasmRules:
    """Mixin of spasm rules for :class:`~kg.rules.engine.PainEngine`."""

    @Rule(C(concept="inflammation", site=MATCH.site))
    def spasm_from_inflammation(self, site):
        self.declare(C(concept="muscle_spasm", site=site))

    @Rule(C(concept="muscle_spasm", site=MATCH.site))
    def spasm_may_cause_pain(self, site):
        # s01: "...and may be the actual cause of your pain" (a possible conclusion).
        self.declare(C(concept="pain", site=site))

    @Rule(C(concept="muscle_spasm", site=MATCH.site))
    def spasm_spreads(self, site):
        self.declare(C(concept="surrounding_muscle_involvement", site=site))

    @Rule(C(concept="inflammation", site="lower_back"),
          C(concept="muscle_spasm", site="lower_back"))
    def severe_low_back_pain(self):
        self.declare(C(concept="severe_low_back_pain", site="lower_back"),
                     C(concept="difficulty_moving", site="lower_back"))

    @Rule(C(concept="muscle_spasm", site=MATCH.site))
    def continuous_contraction(self, site):
        self.declare(C(concept="continuous_contraction", site=site))

    @Rule(C(concept="muscle_spasm", site=MATCH.site))
    def therapy_options(self, site):
        self.declare(C(concept="heat_therapy", site=site),
                     C(concept="cold_therapy", site=site),
                     C(concept="alternating_heat_cold", site=site))
