"""Rules about the injury itself: inflammation, protective spasm, mechanism.

Source: sentences 2, 14, 16, 21 and 23 (ids ``s02``...). An injury only drives
inflammation and spasm while it is unresolved: the unresolved status is an
explicit input fact, so it appears as a premise in every chain. Inflammation
rests on s16 everywhere and also on s21 in the lower back (the passage's site,
``pk:aboutSite`` in the ontology, decides where it is quoted).
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

    # s23 is about "lower back pain from a muscle strain": the mechanism counts only in
    # the lower back, and only where a muscle there is injured.
    @Rule(C(role="mechanism", concept=MATCH.mechanism, site="lower_back"),
          C(role="injury", concept=MATCH.kind & P(lambda k: k in MUSCLE_INJURIES), site="lower_back"))
    def strain_mechanism(self, mechanism, kind):
        self.declare(C(concept="strain_mechanism", site="lower_back"))
