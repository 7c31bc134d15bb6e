"""Time routes of why-not: what an injury's dates must be for a rule to hold, and the change that gets there.

A rule about an injury may need it unresolved (the ``injury_unresolved`` status
fact), resolved on a date (``resolution`` ``dated``) or resolved on an unknown
date (``undated``), and its ``TEST`` may compare a day count with the threshold.
Which count, and which way, is read from the rule itself (:mod:`kg.reasoning.premises`):
a test on the injury's ``days`` (onset to assessment) is met by time passing
(``assessed_on=+Nd``), one on ``unresolved_days`` by a resolution date
(``injuries[i].resolved_on=DATE``). :func:`time_plan` finds the smallest such change
by evaluating the rule's own patterns and predicates on the injury as it would be,
so every suggested change makes the premises hold; :func:`test_reason` says in
words, with the dates, why a timed test fails.

>>> import kg
>>> from kg.reasoning.premises import rule_premises
>>> e = kg.explain({"id": "p", "assessed_on": "2026-03-06",
...     "injuries": [{"kind": "strain", "site": "neck", "onset": "2026-03-01"}]})
>>> time_plan(rule_premises()["overload-after-threshold"], e.patient.injuries[0], e.patient.assessed_on, 14)
('assessed_on=+9d',)
>>> time_plan(rule_premises()["overload-before-resolution"], e.patient.injuries[0], e.patient.assessed_on, 14)
('injuries[0].resolved_on=2026-03-15', 'assessed_on=+9d')
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..reasoning.premises import MISSING, Premise, RulePremises

__all__ = ["injury_pattern", "injury_kind_bind", "required_resolution", "time_plan", "new_injury_plan",
           "test_reason", "RUN_FIELD", "reads_run"]

#: The injury field of overlapping injuries at a site (:mod:`kg.inputs.site_runs`): how long the site
#: had an unfixed injury without a break. A change to one injury does not make injuries overlap, so
#: :func:`time_plan` and :func:`new_injury_plan` plan nothing for a rule that reads it; :func:`test_reason`
#: says how long the run is and, while it is still open, when it reaches the threshold.
RUN_FIELD = "site_run_days"


def reads_run(rp: RulePremises) -> bool:
    """Whether the rule's injury premise reads :data:`RUN_FIELD` (overlapping injuries at a site)."""
    pattern = injury_pattern(rp)
    return pattern is not None and pattern.field(RUN_FIELD) is not None


def injury_pattern(rp: RulePremises) -> Premise | None:
    """The rule's injury premise (``role="injury"``), if it has one."""
    return next((p for p in rp.premises if p.kind == "fact" and p.value("role", {}) == "injury"), None)


def injury_kind_bind(rp: RulePremises) -> str | None:
    """The variable the rule binds the injury's kind to (``?kind``), if any."""
    pattern = injury_pattern(rp)
    test = pattern.field("concept") if pattern else None
    return test.bind if test is not None else None


def _has_status(rp: RulePremises) -> bool:
    return any(p.kind == "fact" and p.value("role", {}) == "status" for p in rp.premises)


def required_resolution(rp: RulePremises) -> str | None:
    """``unresolved``, ``dated`` or ``undated`` if the rule needs the injury so; None if it does not care."""
    pattern = injury_pattern(rp)
    literal = pattern.value("resolution", {}) if pattern else MISSING
    if literal is not MISSING:
        return literal
    return "unresolved" if _has_status(rp) else None


def _fields(kind: str, site: str, resolution: str, days: int, span: int | None) -> dict[str, Any]:
    # The injury fact as rules.engine.observed_facts would declare it (the fields rules test).
    fields = {"role": "injury", "concept": kind, "site": site, "days": days, "resolution": resolution,
              "resolved": resolution not in ("unresolved", "recurred")}
    if resolution == "unresolved":
        fields["unresolved_days"] = days
    elif resolution == "dated":
        fields["unresolved_days"] = span
    return fields


def _passes(rp: RulePremises, fields: dict[str, Any], threshold: int) -> bool:
    """Whether an injury with ``fields`` passes the rule's injury pattern and every test it feeds."""
    pattern = injury_pattern(rp)
    env: dict[str, Any] = {}
    for premise in rp.premises:
        if premise.kind == "setting":
            env.update({f.bind: threshold for f in premise.fields if f.bind and f.field == "threshold_days"})
    if pattern is not None:
        for test in pattern.fields:
            if test.field in ("mechanism",):  # not a matter of time: left to the other premises
                continue
            value = fields.get(test.field, MISSING)
            if test.check(value, {}) is not None:
                return False
            if test.bind is not None:
                env[test.bind] = value
    for premise in rp.premises:
        if premise.kind == "test" and all(a in env for a in premise.test.args) and not premise.test.holds(env):
            return False
    return True


def time_plan(rp: RulePremises, inj, assessed: dt.date, threshold: int) -> tuple[str, ...] | None:
    """The smallest changes after which injury ``inj`` passes the rule's injury, status and timed premises.

    Time only moves forward (``assessed_on=+Nd``, at most threshold + 1 days); None if
    no such change exists (a test that needs fewer days than have passed).
    """
    if reads_run(rp):
        return None
    target = required_resolution(rp) or inj.resolution
    if target == "dated" and inj.resolution == "recurred":
        return None  # fixing a recurrence on a date leaves its episode's start unknown (kg.questions.changes)
    at = f"injuries[{inj.index}]"
    changes: list[str] = []
    if target != inj.resolution:
        if target == "unresolved" and inj.resolution == "recurred":
            changes.append(f"{at}.episode_start_unknown=false")  # the episode began at onset
        elif target == "recurred":
            changes += ([f"{at}.resolved=false"] if inj.resolved else []) + [f"{at}.episode_start_unknown=true"]
        elif target == "unresolved":
            changes.append(f"{at}.resolved=false")
        elif target == "undated":
            changes += ([] if inj.resolved else [f"{at}.resolved=true"]) + [f"{at}.resolved_on=null"]
    days = inj.days_since_onset
    span = inj.unresolved_days if inj.resolution == "dated" else None
    for more in range(0, threshold + 2):
        if target == "dated":
            spans = [s for s in dict.fromkeys((span, threshold, days + more)) if s is not None and s <= days + more]
        else:
            spans = [None]
        for s in spans:
            if _passes(rp, _fields(inj.kind, inj.site, target, days + more, s), threshold):
                plan = list(changes)
                if target == "dated" and (inj.resolution != "dated" or s != span):
                    plan.append(f"{at}.resolved_on={(inj.onset + dt.timedelta(days=s)).isoformat()}")
                if more:
                    plan.append(f"assessed_on=+{more}d")
                return tuple(plan)
    return None


def new_injury_plan(rp: RulePremises, kind: str, site: str, assessed: dt.date, threshold: int
                    ) -> dict[str, Any] | None:
    """A new injury (for ``injuries+=``) that passes the rule's injury, status and timed premises."""
    if reads_run(rp):
        return None
    target = required_resolution(rp) or "unresolved"
    for days in range(0, threshold + 2):
        if _passes(rp, _fields(kind, site, target, days, days), threshold):
            item: dict[str, Any] = {"kind": kind, "site": site, "days_since_onset": days}
            if target == "dated":
                item["resolved_on"] = assessed.isoformat()
            elif target == "undated":
                item["resolved"] = True
            elif target == "recurred":
                item["episode_start_unknown"] = True
            return item
    return None


def _days(n: int) -> str:
    return f"{n} day{'s' * (n != 1)}"


def _run_reason(inj, injuries, assessed: dt.date, threshold: int, needs: str, label
                ) -> tuple[str, tuple[str, ...] | None]:
    # A run of overlapping injuries short of the threshold: open (some member still unresolved, so the
    # run ends at the assessment and grows with time, and stays longer than each member) or closed.
    from ..inputs.site_runs import run_members

    members = run_members(inj, injuries)
    names = " and ".join(f"the {label(m.kind)} (injuries[{m.index}])" for m in members)
    start = inj.run_start
    end = start + dt.timedelta(days=inj.run_days)
    head = (f": {names} left the {label(inj.site)} with an unfixed injury without a break from {start.isoformat()} "
            f"to {end.isoformat()}, {_days(inj.run_days)}; {needs} for at least {_days(threshold)}")
    if end == assessed and any(m.resolution == "unresolved" for m in members):
        more = threshold - inj.run_days
        due = start + dt.timedelta(days=threshold)
        return (f"{head} ({more} more day{'s' * (more != 1)} without a break: on {due.isoformat()} if it stays "
                "unresolved)"), (f"assessed_on=+{more}d",)
    return f"{head}; every one of them is fixed, and time does not run back", None


def test_reason(rp: RulePremises, premise: Premise, inj, assessed: dt.date, threshold: int, cond,
                label, injuries=()) -> tuple[str, tuple[str, ...] | None]:
    """Why a timed test fails for injury ``inj``, with its dates, and the change that makes it hold.

    ``injuries`` are the patient's injuries: a test on overlapping injuries at a site
    (:data:`RUN_FIELD`) names them.
    """
    pattern = injury_pattern(rp)
    source = {f.bind: f.field for f in (pattern.fields if pattern else ()) if f.bind}
    fields = {source.get(a) for a in premise.test.args}
    if RUN_FIELD in fields and inj.run_days is not None:
        needs = f'the condition "{cond.label}" needs it' if cond is not None else "the rule needs it"
        return _run_reason(inj, injuries, assessed, threshold, needs, label)
    name = f"the {label(inj.kind)} of the {label(inj.site)}"
    due = inj.onset + dt.timedelta(days=threshold)
    plan = time_plan(rp, inj, assessed, threshold)
    more = next((int(c[len("assessed_on=+"):-1]) for c in plan or () if c.startswith("assessed_on=+")), 0)
    when = assessed + dt.timedelta(days=more)
    needs = f'the condition "{cond.label}" needs' if cond is not None else "the rule needs"
    if "unresolved_days" in fields and inj.resolved_on is not None:
        reason = (f": {name} stayed unresolved from {inj.onset.isoformat()} to {inj.resolved_on.isoformat()}, "
                  f"{_days(inj.unresolved_days)}; {needs} it unresolved for at least {_days(threshold)}")
        if plan is not None:
            reason += f" (until {due.isoformat()} or later)"
        return reason, plan
    if inj.resolution == "undated":
        head = (f": {name} is marked resolved without a date and began {_days(inj.days_since_onset)} before "
                f"assessment, on {inj.onset.isoformat()}")
    elif inj.resolution == "recurred":
        head = (f": {name} began {_days(inj.days_since_onset)} before assessment, on {inj.onset.isoformat()}, and "
                "its current episode (a recurrence) on an unknown date since then")
    else:
        head = f": {name} began {_days(inj.days_since_onset)} before assessment, on {inj.onset.isoformat()}"
    if plan is None:
        return (f"{head}; it reached the threshold of {_days(threshold)} on {due.isoformat()}, and time does not "
                "run back"), None
    if inj.resolution in ("undated", "recurred"):
        return (f"{head}; knots are possible only once {_days(threshold)} have passed since onset ({more} more "
                f"day{'s' * (more != 1)}: on {when.isoformat()} the {label(inj.kind)} reaches the threshold)"), plan
    return (f"{head}; {needs} it unresolved for at least {_days(threshold)} ({more} more day{'s' * (more != 1)}: "
            f"on {when.isoformat()} the {label(inj.kind)} reaches the threshold)"), plan
