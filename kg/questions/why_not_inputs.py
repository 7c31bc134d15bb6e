"""Why-not for the patient's own input: an injury's status, the injury itself, its mechanism.

A mixin of the why-not asker (:mod:`kg.questions.why_not`): when a rule's premise on
an injury, its unresolved status or its mechanism fails, say what the record holds at
the site and the patient change (in time too, :mod:`kg.questions.why_not_time`) that
would make the premise hold.
"""

from __future__ import annotations

import json

from ..reasoning.premises import MISSING, RulePremises
from .why_not_answer import FailedPremise
from .why_not_time import RUN_FIELD, injury_pattern, new_injury_plan, time_plan

__all__ = ["InputFailures"]


class InputFailures:
    """Failed premises on patient input; needs ``e``, ``onto``, ``facts``, ``assessed``, ``label``,
    ``evidence``, ``condition_passages`` and ``env_injury`` from the asker."""

    def failed_status(self, rp, premise, env, edge, text, site) -> FailedPremise:
        kind = premise.value("injury", env)
        evidence = self.evidence(self.condition_passages(edge, rp, site)
                                 + self.onto.concepts["injury_unresolved"].passages)
        injuries = [i for i in self.e.patient.injuries if i.site == site and (kind is MISSING or i.kind == kind)]
        if injuries:
            inj = injuries[0]
            when = (f"was fixed on {inj.resolved_on.isoformat()}" if inj.resolved_on is not None
                    else "is marked resolved (the date is not given)")
            reason = (f"the {self.label(inj.kind)} of the {self.label(site)} (injuries[{inj.index}]) {when}: "
                      "the basic injury is fixed")
            return FailedPremise(text, reason, (("resolved", True),), evidence,
                                 self.injury_changes(rp, site, inj), None)
        where = f" at the {self.label(site)}" if site else ""
        changes = self.injury_changes(rp, site)
        return FailedPremise(text, f"there is no unresolved injury{where}", (), evidence, changes, None)

    def injury_changes(self, rp: RulePremises, site: str | None, inj=None) -> tuple[str, ...] | None:
        """Patient changes that give ``site`` an injury passing the rule's injury pattern.

        An injury of an accepted kind already at the site (``inj`` when given) is
        changed to match, in time too (made unresolved, or resolved on a date; time
        passes to the threshold; see :func:`kg.questions.why_not_time.time_plan`)
        rather than added again: a patient gives each kind once per site, so adding
        it would be invalid. Otherwise an accepted kind the site does not have yet is added.
        """
        if site is None:
            return None
        pattern = injury_pattern(rp)
        kinds = self.onto.keys("injury")
        test = pattern.field("concept") if pattern else None
        if test is not None:
            kinds = [k for k in kinds if all(pred.holds({pred.args[0]: k}) for pred in test.predicates)]
        threshold = self.e.threshold_days
        if inj is not None and inj.kind not in kinds:
            inj = None  # the bound injury is of a kind the rule does not take: use or add one it does
        present = [i for i in self.e.patient.injuries if i.site == site and i.kind in kinds
                   and (inj is None or i.index == inj.index)]
        if present:
            return time_plan(rp, present[0], self.assessed, threshold) or None
        taken = {i.kind for i in self.e.patient.injuries if i.site == site}
        kind = next((k for k in kinds if k not in taken), None)
        if kind is None:  # pragma: no cover - every accepted kind at the site is handled above
            return None
        add = new_injury_plan(rp, kind, site, self.assessed, threshold)
        return (f"injuries+={json.dumps(add)}",) if add is not None else None

    def failed_input(self, rp, premise, env, edge, text, site, role) -> FailedPremise:
        evidence = self.evidence(self.onto.evidence(rp.id, site))
        near = []
        inj = self.env_injury(rp, env) if role == "injury" else None
        for fid, fields in self.facts.items():
            if fields.get("role") != role or fields.get("site") != site:
                continue
            if inj is not None and fields.get("concept") != inj.kind:
                continue
            problems = [p for p in (t.check(fields.get(t.field, MISSING), env) for t in premise.fields) if p]
            near.append(f"{fid}: {'; '.join(problems)}")
        where = f" at the {self.label(site)}" if site else ""
        if role == "mechanism":
            index = next((i.index for i in self.e.patient.injuries if i.site == site), None)
            mech = self.onto.keys("mechanism")[0]
            changes = (f"injuries[{index}].mechanism={mech}",) if index is not None else None
            reason = f"no injury mechanism is recorded{where}"
        elif premise.field(RUN_FIELD) is not None:
            # Overlapping injuries at the site (kg.inputs.site_runs): a run is not a change to one injury.
            changes = None
            carrier = next((i for i in self.e.patient.injuries if i.site == site and i.run_days is not None), None)
            if carrier is not None:
                reason = (f"there is no matching injury{where}: the injuries there that overlap without a break are "
                          f"the route of the {self.label(carrier.kind)} (injuries[{carrier.index}]), the last of "
                          "them to begin")
            else:
                reason = (f"there is no matching injury{where}: no injuries there overlap without a break for longer "
                          f"than any of them alone stayed unfixed ({RUN_FIELD} is set only then); why-not does not "
                          "plan changes that make injuries overlap")
        else:
            changes = self.injury_changes(rp, site, inj)
            reason = f"there is no matching injury{where}"
        if near:
            reason += " (" + "; ".join(near) + ")"
        return FailedPremise(text, reason, (), evidence, changes, None)
