"""Time in an explanation: when knots would be expected, and the dates behind each timed step.

The source says knots form "after an initial period, if the basic injury is not
fixed" (s03), "usually ... about two weeks after the initial injury" (s04). An
injury's onset is a date, so painkg can say WHEN:

* :func:`expectations` lists, for each injury that is still unresolved and short of
  the threshold, the date knots would be expected if it stays unresolved (onset +
  threshold); and, for an injury marked resolved without a date, the date by which
  it must have been fixed for knots not to have formed (its ``resolved_on`` would
  decide it). Only where that says more than the record already does: knots
  present at the site (reported, or formed from any injury there, :func:`knots_now`)
  are not forecast again, since formed knots stay (s05); where they are only
  possible, a date that would make them expected is still given.
* :func:`time_condition` phrases the condition of a timed rule step with the
  patient's dates ("the muscle strain stayed unresolved from 2026-03-01 to
  2026-03-20, 19 days (threshold 14 days)"; for overlapping injuries at a site, each of
  them with its dates and the run they make).
* :func:`resolution_text` says how an injury fact stands (not resolved, resolved
  on a date, resolved on an unknown date).

Example
-------
>>> import kg
>>> e = kg.explain({"id": "p", "assessed_on": "2026-03-06",
...     "injuries": [{"kind": "strain", "site": "neck", "onset": "2026-03-01"}]})
>>> [x.to_dict() for x in e.expectations]
[{'concept': 'muscle_knots', 'site': 'neck', 'injury': 0, 'expected_on': '2026-03-15', 'if': 'the muscle strain of the neck stays unresolved', 'certainty': 'expected', 'passages': ['s03', 's04']}]
"""

from __future__ import annotations

import functools

import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping

# Rules that do not conclude where a fact of a concept holds at their site (break-cycle-fix-injury
# where knots are present), re-exported for the questions, which may not import the rules.
from ..rules.knots import BLOCKED_AT_SITE

__all__ = ["Expectation", "expectations", "knots_level", "knots_now", "time_condition", "resolution_text",
           "due_date", "BLOCKED_AT_SITE"]

#: The passages that set the date: knots form if the injury is not fixed (s03), about two weeks on (s04).
_PASSAGES = ("s03", "s04")


@dataclass(frozen=True)
class Expectation:
    """Knots at ``site`` from ``expected_on`` if ``condition`` holds (from injury ``injury``).

    ``certainty`` is how firmly the engine would then conclude them: ``expected``, or
    ``possible`` where the source says knots form "most often (but not only)" elsewhere (s15).
    """

    concept: str
    site: str
    injury: int
    expected_on: str
    condition: str
    passages: tuple[str, ...]
    certainty: str = "expected"

    def to_dict(self) -> dict[str, Any]:
        return {"concept": self.concept, "site": self.site, "injury": self.injury,
                "expected_on": self.expected_on, "if": self.condition, "certainty": self.certainty,
                "passages": list(self.passages)}


def due_date(onset: dt.date, threshold: int) -> dt.date:
    """The day an injury unresolved since ``onset`` reaches the threshold (onset + threshold days).

    Patient dates end at 2999-12-31 and the threshold is at most 365 days, so this stays in the calendar.
    """
    return onset + dt.timedelta(days=threshold)


def _name(onto, kind: str, site: str) -> str:
    return f"the {onto.concepts[kind].label} of the {onto.concepts[site].label}"


def knots_level(onto, site: str, overload_rule: str) -> str | None:
    """How firmly knots would follow at ``site`` from an overload concluded by ``overload_rule``.

    Read from the engine's own rules (:mod:`kg.reasoning.premises`): the rules that conclude
    knots from a muscle overload and whose site test passes ``site``, at the weakest of
    their level and ``overload_rule``'s (certainty never rises along a chain).

    >>> from kg.knowledge.ontology import load_ontology
    >>> knots_level(load_ontology(), "neck", "overload-after-threshold")
    'expected'
    """
    return _knots_level(onto, site, overload_rule)


@functools.lru_cache(maxsize=256)
def _knots_level(onto, site: str, overload_rule: str) -> str | None:
    # Cached: asked for every expectation of every patient, and an Ontology never changes.
    from .certainty import strongest, weakest
    from .premises import MISSING, rule_premises

    levels = []
    for rule_id, info in onto.rules.items():
        facts = [p for p in rule_premises()[rule_id].premises if p.kind == "fact"]
        if "muscle_knots" not in info.concludes or len(facts) != 1:
            continue
        if facts[0].value("concept", {}) != "muscle_overload":
            continue
        test = facts[0].field("site")
        if test is None or ((test.literal is MISSING or test.literal == site)
                            and all(pred.holds({pred.args[0]: site}) for pred in test.predicates)):
            levels.append(info.level)
    return weakest([onto.rules[overload_rule].level, strongest(levels)]) if levels else None


#: Knots present at a site, weakest first: none, possible, expected, reported.
_PRESENT_RANK = {None: 0, "possible": 1, "expected": 2, "reported": 3}


def knots_now(e, site: str) -> str | None:
    """How firmly knots are present at ``site`` at the assessment: reported, expected, possible or None.

    Read from the patient alone (the memo cache has no engine run to look at): knots the
    patient reported there, and knots formed from any injury there that stayed unresolved
    for the threshold (still unresolved, or fixed on a date at least the threshold after
    onset), or may have (fixed on an unknown date, assessed past the threshold; or overlapping
    injuries there left it unfixed without a break for the threshold), each as
    firmly as the engine's rules would conclude them (:func:`knots_level`). The property
    tests check that this is the certainty of the engine's ``muscle_knots`` fact at the site.

    >>> import kg
    >>> e = kg.explain({"id": "p", "assessed_on": "2026-06-06", "findings": [{"kind": "muscle_knots", "site": "neck"}],
    ...     "injuries": [{"kind": "strain", "site": "neck", "onset": "2026-06-01"}]})
    >>> knots_now(e, "neck"), knots_now(e, "lower_back")
    ('reported', None)
    """
    from .certainty import strongest

    onto, threshold = e.ontology, e.threshold_days
    levels = ["reported" for f in e.patient.findings if f.concept == "muscle_knots" and f.site == site]
    for inj in e.patient.injuries:
        if inj.site != site:
            continue
        if inj.unresolved_days is not None and inj.unresolved_days >= threshold:
            rule = "overload-after-threshold" if inj.resolution == "unresolved" else "overload-before-resolution"
        elif inj.resolution == "undated" and (inj.unresolved_at_most or 0) >= threshold:
            rule = "overload-maybe-before-resolution"
        elif inj.resolution == "recurred" and inj.days_since_onset >= threshold:
            rule = "overload-maybe-in-episode"
        else:
            rule = None
        if rule is not None:
            levels.append(knots_level(onto, site, rule))
        if (inj.run_days or 0) >= threshold:  # overlapping injuries unfixed without a break (site_runs)
            levels.append(knots_level(onto, site, "overload-maybe-across-injuries"))
    return strongest(levels) if levels else None


def expectations(e) -> tuple[Expectation, ...]:
    """When knots would be expected for the explanation ``e``, per injury, in injury order.

    An expectation is given only where it is firmer than the knots already present at
    its site (:func:`knots_now`): none where knots are reported or expected there.
    """
    onto, threshold = e.ontology, e.threshold_days
    out = []
    present = {site: _PRESENT_RANK[knots_now(e, site)] for site in {i.site for i in e.patient.injuries}}
    for inj in e.patient.injuries:
        due = due_date(inj.onset, threshold)
        name = _name(onto, inj.kind, inj.site)
        if inj.resolution == "unresolved" and inj.days_since_onset < threshold:
            condition, rule = f"{name} stays unresolved", "overload-after-threshold"
        elif inj.resolution == "recurred" and inj.days_since_onset < threshold:
            # The episode began on an unknown date since onset: at onset + threshold it may have lasted that long.
            condition = (f"{name} stays unresolved (a recurrence: its current episode began on an unknown date "
                         "since onset, so by then it may have lasted the threshold; the date the episode began would "
                         "decide it)")
            rule = "overload-maybe-in-episode"
        elif inj.resolution == "undated" and (inj.unresolved_at_most or 0) >= threshold:
            condition = (f"{name} was still unresolved on {due.isoformat()} (it is marked resolved without a "
                         f"date, by {inj.resolved_by.isoformat()} at the latest; injuries[{inj.index}].resolved_on "
                         "would decide it)")
            rule = "overload-before-resolution"
        else:
            continue
        level = knots_level(onto, inj.site, rule)
        if level is None:  # pragma: no cover - every site has a rule from overload to knots
            continue
        if _PRESENT_RANK[level] <= present[inj.site]:  # knots as firm as this are already there (s05)
            continue
        out.append(Expectation("muscle_knots", inj.site, inj.index, due.isoformat(), condition, _PASSAGES, level))
    return tuple(out)


def resolution_text(details: Mapping[str, Any]) -> str:
    """How an injury fact stands at assessment, with its dates.

    >>> resolution_text({"resolution": "dated", "resolved_on": "2026-03-20", "unresolved_days": 19})
    'resolved on 2026-03-20, 19 days after onset'
    """
    resolution = details.get("resolution", "resolved" if details.get("resolved") else "unresolved")
    if resolution == "unresolved":
        return "not resolved"
    if resolution == "recurred":
        return "not resolved; its current episode (a recurrence) began on an unknown date since onset"
    if resolution == "dated":
        days = details["unresolved_days"]
        return f"resolved on {details['resolved_on']}, {days} day{'s' * (days != 1)} after onset"
    if details.get("resolved_by"):
        return f"resolved by {details['resolved_by']} at the latest (the date it was fixed is not given)"
    return "resolved (the date it was fixed is not given)"


def _injury(e, kind: Any, site: Any):
    return next((i for i in e.patient.injuries if i.kind == kind and i.site == site), None)


def _run_text(e, inj, days: int, threshold: int) -> str:
    # "the muscle strain of the lower back (onset 2026-03-01, fixed 2026-03-10) and the muscle tear of the
    # lower back (onset 2026-03-08, not resolved) left the lower back with an unfixed injury without a break
    # from 2026-03-01 to 2026-03-20, 19 days (threshold 14 days)"
    from ..inputs.site_runs import run_members

    onto = e.ontology
    parts = []
    for member in run_members(inj, e.patient.injuries):
        if member.resolution == "dated":
            state = f"fixed {member.resolved_on.isoformat()}"
        elif member.resolution == "undated":
            state = (f"fixed by {member.resolved_by.isoformat()} at the latest" if member.resolved_by
                     else "fixed, date not given")
        else:
            state = "not resolved"
        parts.append(f"{_name(onto, member.kind, member.site)} (onset {member.onset.isoformat()}, {state})")
    names = ", ".join(parts[:-1]) + f" and {parts[-1]}"
    start = inj.run_start if inj.run_start is not None else inj.onset
    end = start + dt.timedelta(days=days)
    return (f"{names} left the {onto.concepts[inj.site].label} with an unfixed injury without a break from "
            f"{start.isoformat()} to {end.isoformat()}, {days} day{'s' * (days != 1)} (threshold {threshold} days)")


def time_condition(e, rule: str | None, values: Mapping[str, Any], edge) -> str | None:
    """The condition of a timed step, with the patient's dates; None for a step that is not timed."""
    if rule is None or "threshold" not in values:
        return None
    inj = _injury(e, values.get("kind"), values.get("site"))
    if inj is None:
        return None
    onto = e.ontology
    threshold = values["threshold"]
    due = due_date(inj.onset, threshold).isoformat()
    label = onto.concepts[inj.kind].label
    head = f"{edge.condition.label}: " if edge is not None and edge.condition is not None else ""
    onset = inj.onset.isoformat()
    if rule == "overload-before-resolution":
        days = values["days"]
        return (f"{head}the {label} stayed unresolved from {onset} to {inj.resolved_on.isoformat()}, {days} days "
                f"(threshold {threshold} days): past the threshold on {due}, before it was fixed, so the knots "
                "formed then stay")
    if rule == "overload-maybe-before-resolution":
        days = values["elapsed"]
        return (f"{head}the {label} is marked resolved without a date, by {inj.resolved_by.isoformat()} at the "
                f"latest (the record's own assessment); it began on {onset}, so it stayed unresolved up to {days} "
                f"days (threshold {threshold} days) and may have stayed unresolved past {due}; a resolution date "
                f"(injuries[{inj.index}].resolved_on) would decide it")
    if rule == "overload-maybe-in-episode":
        days = values["days"]
        return (f"{head}the {label} is not resolved, but its current episode (a recurrence) began on an unknown "
                f"date since its onset on {onset}: it has been unresolved for up to {days} days (threshold "
                f"{threshold} days) and may have stayed unresolved past the threshold; the date the episode began "
                "would decide it")
    if rule == "overload-maybe-across-injuries":
        return f"{head}{_run_text(e, inj, values['run'], threshold)}, so the muscle may have overloaded"
    if "days" not in values:
        return None
    days = values["days"]
    if rule == "break-cycle-fix-injury":
        return (f"the {label} has been unresolved for {days} day{'s' * (days != 1)} (threshold {threshold} days), "
                f"since {onset}: fixing it before {due} is what the source says prevents knots")
    if head:
        return (f"{head}the {label} has been unresolved for {days} days (threshold {threshold} days): since its "
                f"onset on {onset}, past the threshold on {due}")
    return None
