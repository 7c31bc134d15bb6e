"""Rules about the injury itself: inflammation, protective spasm, mechanism.

Source: sentences 2, 14, 16, 21 and 23 (ids ``s02``...). An injury only drives
inflammation and spasm while it is unresolved: the unresolved status is an
explicit input fact, so it appears as a premise in every chain.
"""

from __future__ import annotations

from experta import MATCH, P, Rule

from .facts import C

__all__ = ["InjuryRules"]

MUSCLE_INJURIES = frozenset({"muscle_strain", "muscle_tear", "muscle_overstretch"})


class InjuryRules:
    """Mixin of injury rules for :class:`~kg.rules.engine.PainEngine`."""

    @Rule(C(role="injury", concept=MATCH.kind & P(lambda k: k in MUSCLE_INJURIES), site=MATCH.site),
          C(role="status", concept="injury_unresolved", site=MATCH.site, injury=MATCH.kind))
    def inflammation_from_muscle_injury(self, kind, site):
        self.declare(C(concept="inflammation", site=site))

    @Rule(C(role="injury", concept=MATCH.kind, site=MATCH.site),
          C(role="status", concept="injury_unresolved", site=MATCH.site, injury=MATCH.kind))
    def spasm_protective(self, kind, site):
        self.declare(C(concept="muscle_spasm", site=site))

    @Rule(C(role="mechanism", concept=MATCH.mechanism, site=MATCH.site))
    def strain_mechanism(self, mechanism, site):
        self.declare(C(concept="strain_mechanism", site=site))
