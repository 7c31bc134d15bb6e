"""Rules about muscle knots: overload after the threshold, knots, persistent pain,
where knots are common, and what breaks the cycle.

Source: sentences 2-7, 11-15. The threshold (default 14 days, inclusive) is a
:class:`~kg.rules.facts.Setting`, so it is configurable per run; the rules bind
``days`` and ``threshold`` so the trace can state the values it compared. Knots
from an injury that is already resolved are in :mod:`kg.rules.resolution`.

``break-cycle-fix-injury`` does not conclude at a site where knots are already
present (reported, or concluded from any injury there): fixing the injury prevents
knots only before they form (s03, s14), and formed knots stay (s05). That is a
negation, and :mod:`kg.reasoning.premises` (which the why-not answers, the memo
and the expectations read) does not read experta's ``NOT``; so the rule checks it
itself, at a lower salience than every other rule (nothing it concludes is a
premise, so it fires once every knot is known), and :data:`BLOCKED_AT_SITE` names
the check for those readers.
"""

from __future__ import annotations

from experta import MATCH, P, TEST, Rule

from .facts import C, Setting

__all__ = ["KnotRules"]

#: "This happens most often (but not only) with injuries to the neck and back" (s15): the
#: input sites under the ontology's pk:Neck and pk:Back (tests/test_sites.py checks it).
#: Knots are expected here and only possible elsewhere (rules/knots_sites.py).
KNOT_PRONE_SITES = frozenset({"neck", "upper_back", "lower_back"})

#: Rules that do not conclude at a site where a fact of the concept holds: ``{rule id: concept}``.
#: The rule checks it in its body (see the module doc); tests check that it fires exactly
#: when its premises hold and no such fact does.
BLOCKED_AT_SITE = {"break-cycle-fix-injury": "muscle_knots"}


class KnotRules:
    """Mixin of knot rules for :class:`~kg.rules.engine.PainEngine`."""

    # resolution="unresolved": not a recurrence whose current episode began on an unknown date
    # (resolution "recurred"): its days unresolved are unknown (rules/resolution.py).
    @Rule(C(concept="continuous_contraction", site=MATCH.site),
          C(role="injury", concept=MATCH.kind, site=MATCH.site, resolution="unresolved", days=MATCH.days),
          C(role="status", concept="injury_unresolved", site=MATCH.site, injury=MATCH.kind),
          Setting(threshold_days=MATCH.threshold),
          TEST(lambda days, threshold: days >= threshold))
    def overload_after_threshold(self, site, kind, days, threshold):
        self.declare(C(concept="muscle_overload", site=site))

    @Rule(C(concept="muscle_overload", site=MATCH.site & P(lambda s: s in KNOT_PRONE_SITES)))
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

    # Fixing the basic injury prevents knots only while it is still unresolved and
    # short of the threshold (s03, s04, s14), and only where no knots are present yet:
    # knots formed before it is fixed stay (s05; rules/resolution.py), whatever injury
    # at the site formed them, and then treating the spasm is what helps (s13).
    @Rule(C(role="injury", concept=MATCH.kind, site=MATCH.site, days=MATCH.days),
          C(role="status", concept="injury_unresolved", site=MATCH.site, injury=MATCH.kind),
          Setting(threshold_days=MATCH.threshold),
          TEST(lambda days, threshold: days < threshold),
          salience=-1)
    def break_cycle_fix_injury(self, kind, site, days, threshold):
        if not self.holds_at(BLOCKED_AT_SITE["break-cycle-fix-injury"], site):
            self.declare(C(concept="injury_resolution", site=site))

    def holds_at(self, concept: str, site) -> bool:
        """Whether a fact of ``concept`` at ``site`` is in working memory (reported or concluded)."""
        return any(isinstance(f, C) and f.get("concept") == concept and f.get("site") == site
                   for f in self.facts.values())
