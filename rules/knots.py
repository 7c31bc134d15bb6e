"""Rules about muscle knots: overload after the threshold, knots, persistent pain,
where knots are common, and what breaks the cycle.

Source: sentences 2-7, 11-15. The threshold (default 14 days, inclusive) is a
:class:`~kg.rules.facts.Setting`, so it is configurable per run; the rule binds
``days`` and ``threshold`` so the trace can state the values it compared.
"""

from __future__ import annotations

from experta import MATCH, P, TEST, Rule

from .facts import C, Setting

__all__ = ["KnotRules"]

KNOT_PRONE_SITES = frozenset({"neck", "upper_back", "lower_back"})


class KnotRules:
    """Mixin of knot rules for :class:`~kg.rules.engine.PainEngine`."""

    @Rule(C(concept="continuous_contraction", site=MATCH.site),
          C(role="injury", concept=MATCH.kind, site=MATCH.site, days=MATCH.days),
          C(role="status", concept="injury_unresolved", site=MATCH.site, injury=MATCH.kind),
          Setting(threshold_days=MATCH.threshold),
          TEST(lambda days, threshold: days >= threshold))
    def overload_after_threshold(self, site, kind, days, threshold):
        self.declare(C(concept="muscle_overload", site=site))

    @Rule(C(concept="muscle_overload", site=MATCH.site))
    def knots_from_overload(self, site):
        self.declare(C(concept="muscle_knots", site=site))

    @Rule(C(concept="muscle_knots", site=MATCH.site))
    def persistent_pain_from_knots(self, site):
        self.declare(C(concept="persistent_pain", site=site))

    @Rule(C(concept="muscle_knots", site=MATCH.site & P(lambda s: s in KNOT_PRONE_SITES)))
    def knots_common_site(self, site):
        self.declare(C(concept="common_knot_site", site=site))

    @Rule(C(concept="muscle_spasm", site=MATCH.site),
          C(concept="muscle_knots", site=MATCH.site))
    def break_cycle_treat_spasm(self, site):
        self.declare(C(concept="spasm_treatment", site=site))

    @Rule(C(concept="muscle_knots", site=MATCH.site),
          C(role="injury", concept=MATCH.kind, site=MATCH.site),
          C(role="status", concept="injury_unresolved", site=MATCH.site, injury=MATCH.kind))
    def break_cycle_fix_injury(self, site, kind):
        self.declare(C(concept="injury_resolution", site=site))
