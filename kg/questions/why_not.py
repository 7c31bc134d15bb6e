"""Why was a concept NOT concluded? Every rule that could conclude it, and what failed.

For each site in question, :func:`why_not` lists every route to the concept:
the patient reporting it (for input concepts) and every engine rule whose
ontology entry says it concludes the concept. Each rule's premises are
matched against the run's facts by :func:`kg.reasoning.premises.best_match` (the
engine's own patterns and predicates, not a copy), so the answer shows the
premises that held, with the facts that matched, and the ones that failed,
with the values involved, the passages that set the condition, a patient
change in :mod:`kg.questions.what_if` syntax that would make the premise hold, and (for
a premise that could itself be concluded) its own why-not, to a bounded depth.
Asking about a concept that WAS concluded answers with its chain.

Every route includes time: a rule about an injury is asked once per injury at the
site (``Route.injury``), and a day count that falls short says, with the
injury's dates, on which date it is reached (``assessed_on=+Nd``) or which
resolution date would make it hold (``injuries[i].resolved_on=DATE``); see
:mod:`kg.questions.why_not_time`.

Example
-------
>>> import kg
>>> e = kg.explain({"id": "p", "assessed_on": "2026-03-10",
...     "injuries": [{"kind": "strain", "site": "lower_back", "days_since_onset": 5}]})
>>> w = e.why_not("muscle_knots")
>>> w.concluded, [r.rule for r in w.sites[0].routes]
(False, [None, 'knots-from-overload', 'knots-from-overload-elsewhere'])
>>> print(w.sites[0].routes[1].failed[0].why_not.routes[0].failed[0].reason)
days >= threshold is false (days = 5, threshold = 14): the muscle strain of the lower back began 5 days before assessment, on 2026-03-05; the condition "only if the basic injury stays unresolved for about two weeks" needs it unresolved for at least 14 days (9 more days: on 2026-03-19 the muscle strain reaches the threshold)
>>> w.sites[0].routes[1].changes
('assessed_on=+9d',)
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from typing import Any

from ..knowledge.ontology import ANY_SITE
from ..knowledge.wording import knots_now_phrase, site_phrase, sites_phrase
from ..reasoning.certainty import is_firm, strongest
from ..reasoning.expectations import BLOCKED_AT_SITE
from ..reasoning.explanation import Evidence
from ..reasoning.premises import MISSING, Premise, RulePremises, best_match, fact_fields, fact_id, rule_premises
from .why_not_answer import (DEFAULT_DEPTH, FailedPremise, HeldPremise, Route, SiteAnswer, WhyNot,
                             merge_changes)
from .why_not_expected import expected_sentence
from .why_not_inputs import InputFailures
from .why_not_time import injury_kind_bind, injury_pattern, test_reason

__all__ = ["HeldPremise", "FailedPremise", "Route", "SiteAnswer", "WhyNot", "why_not", "site_answer",
           "merge_changes", "DEFAULT_DEPTH"]


class _Asker(InputFailures):
    """Answers why-not questions about one explanation (facts indexed once)."""

    def __init__(self, e, firm: bool = False):
        # firm: what would conclude a concept firmly (expected or reported), so possible facts
        # count as absent and rules the source only says "can" happen (possible) are left out.
        self.e = e
        self.firm = firm
        self.onto = e.ontology
        self.facts = {fid: fact_fields(tf) for fid, tf in sorted(e.trace.items())
                      if not firm or is_firm(e.fact(fid).certainty)}
        self.setting = {"threshold_days": e.threshold_days}
        self.assessed = dt.date.fromisoformat(e.assessed_on)

    # ------------------------------------------------------------ labels
    def label(self, key: Any) -> str:
        concept = self.onto.concepts.get(key) if isinstance(key, str) else None
        return concept.label if concept else str(key)

    def injury_index(self, kind: str, site: str) -> int | None:
        return next((i.index for i in self.e.patient.injuries if i.kind == kind and i.site == site), None)

    def evidence(self, ids) -> tuple[Evidence, ...]:
        ordered = sorted(set(ids), key=lambda p: self.onto.passages[p].number)
        return tuple(Evidence(p, self.onto.passages[p].text) for p in ordered)

    # ------------------------------------------------------------ answers
    def answer(self, concept: str, site: str | None, depth: int, seen: frozenset) -> SiteAnswer:
        concluded = [f for f in self.e.facts if f.concept == concept and f.site == site and f.id in self.facts]
        if concluded:
            level = strongest(f.certainty for f in concluded)
            # Concluded only as possible: every way it would be expected, with its dates.
            firmer = () if level != "possible" else tuple(
                r for r in _Asker(self.e, firm=True).answer(concept, site, depth, seen).routes if r.rule)
            return SiteAnswer(concept, site, True, self.e.chain(concept, site) if site else None, (),
                              level, firmer)
        routes = []
        role = self.onto.concepts[concept].input_role
        if role in ("finding", "injury", "mechanism"):
            routes.append(self.reported_route(concept, site, role))
        seen = seen | {(concept, site)}
        for rule_id, info in sorted(self.onto.rules.items()):
            if concept in info.concludes and not (self.firm and info.level == "possible"):
                rp = rule_premises()[rule_id]
                # Every route: a rule about an injury is asked once per injury at the site
                # (an old resolved strain and a new tear are two ways, each with its dates).
                injuries = [i for i in self.e.patient.injuries if i.site == site] if injury_kind_bind(rp) else []
                for inj in injuries or [None]:
                    routes.append(self.rule_route(rp, concept, site, depth, seen, inj))
        return SiteAnswer(concept, site, False, None, tuple(routes))

    def reported_route(self, concept: str, site: str | None, role: str) -> Route:
        where = f" at the {self.label(site)}" if site else ""
        changes: tuple[str, ...] | None
        if role == "finding":
            item = {"kind": concept, "site": site} if site else concept
            # A site-bound finding (kg.inputs.sites) cannot be reported at another site.
            changes = (f"findings+={json.dumps(item)}",) if self.placeable(concept, site) else None
        elif role == "injury":
            changes = (f"injuries+={json.dumps(self.new_injury(concept, site, 0))}",) if site else None
        else:  # a mechanism belongs to an injury at the site
            index = next((i.index for i in self.e.patient.injuries if i.site == site), None)
            changes = (f"injuries[{index}].mechanism={concept}",) if index is not None else None
        reason = f"the patient did not report {self.label(concept)}{where}"
        if role == "finding" and not self.placeable(concept, site):
            reason += f" (and cannot: it is only at the {self.label(self.onto.allowed_sites(concept)[0])})"
        evidence = self.evidence(self.onto.concepts[concept].passages)
        failed = FailedPremise(f"{concept}@{site} reported", reason, (), evidence, changes, None)
        return Route(None, f"reported by the patient ({role})", None, True, (), (failed,))

    def placeable(self, concept: str, site: str | None) -> bool:
        """Whether patient input may put ``concept`` at ``site`` (site-bound concepts, ``pk:onlyAtSite``)."""
        allowed = self.onto.allowed_sites(concept)
        return allowed is None or site is None or site in allowed

    def new_injury(self, kind: str, site: str, days: int) -> dict[str, Any]:
        return {"kind": kind, "site": site, "days_since_onset": days}

    def rule_route(self, rp: RulePremises, concept: str, site: str | None, depth: int, seen, inj=None) -> Route:
        info = self.onto.rules[rp.id]
        edge = self.onto.edge_for(rp.id, concept, site)
        where = rp.conclusion_site
        bindings, applies = {}, True
        if inj is not None:
            bindings[injury_kind_bind(rp)] = inj.kind
        if where is not None and where.startswith("?"):
            if site is not None:
                bindings[where[1:]] = site
                # A rule whose own site predicate refuses this site (knots "most often" in the
                # neck and back, s15) only concludes elsewhere: no patient change makes it hold here.
                applies = all(pred.holds({pred.args[0]: site}) for p in rp.premises
                              for t in [p.field("site")] if t is not None and t.bind == where[1:]
                              for pred in t.predicates)
        elif where is not None and where != site:
            applies = False
        match = best_match(rp, self.facts, self.setting, bindings)
        env = dict(match.bindings)
        held = []
        for index, fid in match.held:
            premise = rp.premises[index]
            held.append(HeldPremise(premise.describe(env), (fid,) if fid else (),
                                    (self.e.fact(fid).certainty,) if fid else ()))
        failed = [self.failed(rp, rp.premises[i], env, edge, depth if applies else 0, seen)
                  for i in match.failed]
        blocker = BLOCKED_AT_SITE.get(rp.id)
        if blocker is not None and site is not None and fact_id(blocker, site) in self.e.trace:
            failed.append(self.blocked(rp, blocker, site))
        return Route(rp.id, info.label, edge.id if edge else None, applies, tuple(held), tuple(failed),
                     inj.index if inj is not None else None)

    def blocked(self, rp: RulePremises, concept: str, site: str) -> FailedPremise:
        """The rule does not conclude where ``concept`` holds at the site (knots formed stay, s05)."""
        fact = self.e.fact(fact_id(concept, site))
        present = (knots_now_phrase(fact.certainty, site, self.onto) if concept == "muscle_knots"
                   else f"{fact.label} holds at {site_phrase(site, self.onto)} ({fact.certainty})")
        reason = (f"{present}; formed knots stay and become part of the problem, so fixing the injury no longer "
                  "prevents them")
        return FailedPremise(f"no {fact.id}", reason, ((fact.id, fact.certainty),), self.evidence(("s05",)),
                             None, None)

    def env_injury(self, rp: RulePremises, env: dict):
        """The patient's injury the rule's injury pattern is bound to in ``env``, if any."""
        pattern, bind = injury_pattern(rp), injury_kind_bind(rp)
        if pattern is None or bind not in env:
            return None
        site = pattern.value("site", env)
        return next((i for i in self.e.patient.injuries if i.kind == env[bind] and i.site == site), None)

    # ------------------------------------------------------------ failed premises
    def condition_passages(self, edge, rp: RulePremises, site: object = ANY_SITE) -> tuple[str, ...]:
        if edge is not None and edge.condition is not None:
            return edge.condition.passages
        return self.onto.evidence(rp.id, site)  # with a site: what speaks of it (s21 not at the neck)

    def failed(self, rp: RulePremises, premise: Premise, env: dict, edge, depth: int, seen) -> FailedPremise:
        result = self._failed(rp, premise, env, edge, depth, seen)
        if premise.kind != "fact":
            return result
        parts = [premise.value(name, env) for name in ("concept", "site")]
        injury = premise.value("injury", env) if premise.field("injury") else None
        needed = None if MISSING in parts or injury is MISSING else fact_id(parts[0], parts[1], injury)
        # A fact that exists but fails a predicate is not a missing fact: say what it fails.
        if needed is not None and needed in self.facts:
            fields = self.facts[needed]
            problems = [p for p in (t.check(fields.get(t.field, MISSING), env) for t in premise.fields) if p]
            if problems and premise.value("role", env) not in ("injury", "status"):
                return replace(result, reason=f"{needed} holds, but its {'; '.join(problems)}", changes=None,
                               why_not=None)
            return result
        return result if needed is None else replace(result, fact=needed)

    def _failed(self, rp: RulePremises, premise: Premise, env: dict, edge, depth: int, seen) -> FailedPremise:
        text = premise.describe(env)
        if premise.kind == "test":
            return self.failed_test(rp, premise, env, edge, text)
        role = premise.value("role", env)
        concept = premise.value("concept", env)
        site = premise.value("site", env)
        site = None if site is MISSING else site
        if role == "status":
            return self.failed_status(rp, premise, env, edge, text, site)
        if role in ("injury", "mechanism"):
            return self.failed_input(rp, premise, env, edge, text, site, role)
        if concept is MISSING:  # pragma: no cover - every engine pattern names its concept
            return FailedPremise(text, "no fact matches", (), self.evidence(self.onto.evidence(rp.id)), None, None)
        return self.failed_fact(rp, premise, env, edge, text, concept, site, depth, seen)

    def failed_test(self, rp, premise, env, edge, text) -> FailedPremise:
        test = premise.test
        values = tuple((a, env[a]) for a in test.args if a in env)
        missing = [a for a in test.args if a not in env]
        evidence = self.evidence(self.condition_passages(edge, rp))
        if missing:
            reason = (f"{test.text} cannot be checked: {', '.join(missing)} unknown because "
                      "an earlier premise failed")
            return FailedPremise(text, reason, values, evidence, (), None)
        shown = ", ".join(f"{a} = {v}" for a, v in values)
        reason = f"{test.text} is false ({shown})"
        changes: tuple[str, ...] | None = None
        cond = edge.condition if edge is not None else None
        inj = self.env_injury(rp, env)
        if inj is not None and "threshold" in env:
            # A day count against the threshold: say it with the injury's dates, and
            # give the date (time passing, or a resolution date) that makes it hold.
            more, changes = test_reason(rp, premise, inj, self.assessed, env["threshold"], cond, self.label,
                                        self.e.patient.injuries)
            reason += more
        return FailedPremise(text, reason, values, evidence, changes, None)

    def failed_fact(self, rp, premise, env, edge, text, concept, site, depth, seen) -> FailedPremise:
        where = f" at the {self.label(site)}" if site else ""
        elsewhere = sorted(f["site"] or "" for f in self.facts.values() if f["concept"] == concept
                           and f["site"] != site)
        reason = f"{self.label(concept)}{where} was neither reported nor concluded"
        if elsewhere:
            reason += f" (it holds at: {', '.join(s or 'no site' for s in elsewhere)})"
        passages = set(self.onto.evidence(rp.id)) if edge is None else set(edge.passages)
        cond = edge.condition if edge is not None else None
        if cond is not None and (concept == cond.cooccurring or (cond.site and cond.site == site)):
            passages |= set(cond.passages)
        passages = {p for p in passages if self.onto.speaks_of(p, site)}  # s21 is not quoted for the neck
        sub = None
        changes: tuple[str, ...] | None = None
        if depth > 0 and (concept, site) not in seen:
            sub = self.answer(concept, site, depth - 1, seen)
            changes = sub.changes
        elif (self.onto.concepts[concept].input_role == "finding" and site is not None
              and self.placeable(concept, site)):
            changes = (f"findings+={json.dumps({'kind': concept, 'site': site})}",)
        return FailedPremise(text, reason, (), self.evidence(passages), changes, sub)


def _sites(e, concept: str) -> list[str]:
    sites = {i.site for i in e.patient.injuries}
    sites |= {f.site for f in e.patient.findings if f.site}
    sites |= {f.site for f in e.facts if f.concept == concept and f.site}
    return sorted(sites)


def why_not(e, concept: str, site: str | None = None, *, depth: int = DEFAULT_DEPTH) -> WhyNot:
    """Why ``concept`` was (not) concluded for the explanation ``e``, per site.

    ``concept`` and ``site`` may be keys or aliases; an unknown one raises
    :class:`~kg.errors.InputError` listing the keys. Without ``site`` the
    answer covers the patient's injury and finding sites. ``depth`` bounds how
    many levels of failed premises that could themselves be concluded are
    explained in turn.

    >>> import kg
    >>> e = kg.explain("examples/radiating-pain.json")
    >>> w = why_not(e, "persistent_pain", site="lower_back")
    >>> [(r.rule, r.changes) for r in w.at("lower_back").routes]
    [('persistent-pain-from-knots', ('assessed_on=+5d',))]
    >>> try:
    ...     why_not(e, "knee")
    ... except kg.InputError as err:
    ...     print(str(err)[:60])
    concept: "knee" is not allowed; expected one of acute_low_ba
    """
    from ..errors import InputError, type_name
    from ..reasoning.explanation import Explanation

    if not isinstance(e, Explanation):
        raise InputError("explanation", type_name(e), "a kg.Explanation (from kg.explain)")
    if isinstance(depth, bool) or not isinstance(depth, int) or not 0 <= depth <= 10:
        raise InputError("depth", depth, "a whole number from 0 to 10")
    onto = e.ontology
    key = onto.resolve(concept, field="concept")
    where = onto.resolve(site, "site", field="site") if site is not None else None
    asker = _Asker(e)
    label = onto.concepts[key].label
    has_rules = any(key in r.concludes for r in onto.rules.values())
    reportable = onto.concepts[key].input_role in ("finding", "injury", "mechanism")
    sites = [where] if where else _sites(e, key)
    if not has_rules and not reportable:
        return WhyNot(e, key, where, (), f"nothing can lead to {label}: no rule of the engine concludes it "
                                         "and it is not something a patient reports")
    if not sites:
        return WhyNot(e, key, where, (), f"nothing could lead to {label} for this patient: it has no injury "
                                         "or finding at any site, and every route to it needs one")
    answers = tuple(asker.answer(key, s, depth, frozenset()) for s in sites)
    done = [f"{site_phrase(a.site, e.ontology)} ({a.certainty})" for a in answers if a.concluded]
    if done:
        message = f"{label} was concluded at {', '.join(done)}"
        rest = [a.site for a in answers if not a.concluded]
        if rest:
            message += f"; not at {sites_phrase(rest, e.ontology)}"
        message += "".join(f". {expected_sentence(a, e)}"[:-1] for a in answers if a.certainty == "possible")
    else:
        message = f"{label} was not concluded at {sites_phrase(sites, e.ontology)}"
    return WhyNot(e, key, where, answers, message)


def site_answer(e, concept: str, site: str | None, *, depth: int = DEFAULT_DEPTH) -> SiteAnswer:
    """The why-not answer for one canonical ``concept`` key at one ``site`` (may be None).

    >>> import kg
    >>> a = site_answer(kg.explain("examples/lower-back-strain-resolved.json"), "muscle_spasm", "lower_back")
    >>> [(r.rule, r.changes) for r in a.routes]
    [(None, ('findings+={"kind": "muscle_spasm", "site": "lower_back"}',)), ('spasm-from-inflammation', ('injuries[0].resolved=false',)), ('spasm-protective', ('injuries[0].resolved=false',))]
    """
    return _Asker(e).answer(concept, site, depth, frozenset())
