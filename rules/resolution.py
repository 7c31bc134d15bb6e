"""Rules about what formed while an injury was unresolved, for an injury now resolved.

Source: sentences 3-5 and 11-14. "This is because after an initial period, if the
basic injury is not fixed, the spasm forms muscle knots. Usually this happens about
two weeks after the initial injury. These knots are painful, and become part of the
problem." The muscle overloads while the injury is unresolved (s11-s12); knots that
formed before the injury was fixed do not vanish when it is fixed, so the overload is
concluded from how long the injury STAYED unresolved, and knots and persistent pain
follow from it by the same rules as for an unresolved injury (with the certainty
those rules give at the site, s15).

* ``overload-before-resolution`` (expected): the injury was fixed on a known date
  (``resolved_on``) and stayed unresolved for at least the threshold.
* ``overload-maybe-before-resolution`` (possible): the injury is marked resolved
  without a date, by the record's own assessment date at the latest
  (``resolved_by``), and that date is at least the threshold after its onset, so it
  may or may not have stayed unresolved that long; a resolution date decides it.
  Re-assessing the record later (``--as-of``) does not make it any longer: the
  record said it was fixed by its own date.

An injury fixed before the threshold gives neither: the source's "if the basic
injury is not fixed" did not hold for long enough.

* ``overload-maybe-across-injuries`` (possible): injuries at one site that overlap
  without a break (:mod:`kg.inputs.site_runs`) left the site with an unfixed injury
  for at least the threshold, though none of them alone stayed unfixed that long.
  Why possible, not expected: the source speaks of ONE basic injury left unfixed for
  about two weeks (s03, s04). An injury causes a protective spasm (s02, s14), so
  injuries that follow each other without a break keep the spasm, and with it the
  muscle continuously on (s07, s10), which is the mechanism of overload (s11, s12);
  but the source does not state this case (a spasm passed from one injury to the
  next), so painkg says only that knots may have formed. The run's end for an injury
  fixed on an unknown date is its ``resolved_by`` bound, which can only make the run
  look longer: another reason not to say more than "may".
* ``overload-maybe-in-episode`` (possible): an unresolved injury whose current
  episode (a recurrence, a relapse) began on an unknown date between its onset and
  the assessment (``episode_start_unknown``, resolution ``recurred``), at least the
  threshold after onset: the episode may or may not have lasted that long, as for an
  injury fixed on an unknown date; ``overload-after-threshold`` does not count its
  days from onset.
"""

from __future__ import annotations

from experta import MATCH, TEST, Rule

from .facts import C, Setting

__all__ = ["ResolutionRules"]


class ResolutionRules:
    """Mixin of the rules about resolved injuries for :class:`~kg.rules.engine.PainEngine`."""

    @Rule(C(role="injury", concept=MATCH.kind, site=MATCH.site, resolution="dated", unresolved_days=MATCH.days),
          Setting(threshold_days=MATCH.threshold),
          TEST(lambda days, threshold: days >= threshold))
    def overload_before_resolution(self, kind, site, days, threshold):
        self.declare(C(concept="muscle_overload", site=site))

    @Rule(C(role="injury", concept=MATCH.kind, site=MATCH.site, resolution="undated",
            unresolved_at_most=MATCH.elapsed),
          Setting(threshold_days=MATCH.threshold),
          TEST(lambda elapsed, threshold: elapsed >= threshold))
    def overload_maybe_before_resolution(self, kind, site, elapsed, threshold):
        self.declare(C(concept="muscle_overload", site=site))

    @Rule(C(role="injury", concept=MATCH.kind, site=MATCH.site, site_run_days=MATCH.run),
          Setting(threshold_days=MATCH.threshold),
          TEST(lambda run, threshold: run >= threshold))
    def overload_maybe_across_injuries(self, kind, site, run, threshold):
        # Possible, not expected: see the module doc (the source speaks of one basic injury).
        self.declare(C(concept="muscle_overload", site=site))

    @Rule(C(role="injury", concept=MATCH.kind, site=MATCH.site, resolution="recurred", days=MATCH.days),
          Setting(threshold_days=MATCH.threshold),
          TEST(lambda days, threshold: days >= threshold))
    def overload_maybe_in_episode(self, kind, site, days, threshold):
        self.declare(C(concept="muscle_overload", site=site))
