"""When: dated events from each injury's onset to the assessment and beyond.

For every injury: its onset; the inflammation and protective spasm the
engine concluded from it while it is unresolved (dated "from onset": the
source gives no day count, so none is invented); the date knots are expected
if it stays unresolved (onset + threshold, the condition of
``overload-after-threshold``), said to be past, today or future at the
assessment date and checked by running the engine on that date and the day
before (``confirmed`` is None for a date after 2999-12-31, the last date
painkg reasons about). A future date is given only where the explanation
expects it (:func:`kg.reasoning.expectations.expectations`): not where knots
are already present at the site as firmly, reported or formed from any injury
there, since formed knots stay (s05). For a resolved injury: the date it was fixed (the
assessment when ``resolved_on`` is not given) and whether knots formed before
that: expected if it stayed unresolved for the threshold (they stay, s03-s05),
not expected if it was fixed before, possible if the date is unknown and the
assessment is past the threshold (``confirmed`` then says whether the engine
concluded them). For overlapping injuries at a site that left it unfixed without a break for
the threshold (:mod:`kg.inputs.site_runs`), knots possible on the day the run reached it
(``overload-maybe-across-injuries``). Reported knots and the assessment itself are events too. Each event says what its
date depends on. Events are ordered by date, then kind, then site.

An event's kind carries its certainty, as the engine would conclude it:
``inflammation_possible`` (s21 "can become inflamed"), ``spasm_expected``,
``knots_expected`` in the neck and back and ``knots_possible`` elsewhere (s15), and
so on (:data:`EVENT_KINDS`).

Example
-------
>>> import kg
>>> t = kg.explain("examples/lower-back-strain-acute.json").timeline()
>>> [(ev.date, ev.kind, ev.relative) for ev in t.events]
[('2026-03-01', 'onset', 'past'), ('2026-03-01', 'inflammation_possible', 'past'), ('2026-03-01', 'spasm_expected', 'past'), ('2026-03-06', 'assessment', 'today'), ('2026-03-15', 'knots_expected', 'future'), ('2026-03-15', 'persistent_pain_expected', 'future')]
>>> t.events[-2].depends_on
('injuries[0].onset', 'threshold_days', 'injuries[0].resolved')
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from dataclasses import dataclass
from typing import Any

from ..inputs.limits import LIMITS
from ..reasoning.expectations import due_date, knots_level, knots_now
from ..reasoning.explanation import Evidence
from ..knowledge.wording import DISCLAIMER, injury_phrase, knots_now_phrase, site_phrase

__all__ = ["Event", "Timeline", "timeline", "EVENT_KINDS"]

#: Event kinds, in the order they sort within one date: each fact's kind ends in its certainty.
EVENT_KINDS = ("onset", "inflammation_expected", "inflammation_possible", "spasm_expected", "spasm_possible",
               "resolved", "assessment", "knots_reported", "knots_expected", "knots_possible",
               "persistent_pain_expected", "persistent_pain_possible", "knots_not_expected")


def _kind(stem: str, level: str) -> str:
    # A fact's event is named by how firmly it would be concluded: never "expected" for a possible one.
    return f"{stem}_{'possible' if level == 'possible' else 'expected'}"


@dataclass(frozen=True)
class Event:
    """One dated event; ``relative`` is past, today or future at the assessment date."""

    date: str
    kind: str
    site: str | None
    injury: int | None
    label: str
    relative: str
    depends_on: tuple[str, ...]
    confirmed: bool | None
    evidence: tuple[Evidence, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"date": self.date, "kind": self.kind, "site": self.site, "injury": self.injury,
                "label": self.label, "relative": self.relative, "depends_on": list(self.depends_on),
                "confirmed_by_engine": self.confirmed, "evidence": [e.to_dict() for e in self.evidence]}


class Timeline:
    """The dated events of one explanation."""

    def __init__(self, explanation, events: tuple[Event, ...]):
        self.explanation = explanation
        self.events = events

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see docs/clinician-questions.md)."""
        e = self.explanation
        return {"patient": e.patient.id, "assessed_on": e.assessed_on, "threshold_days": e.threshold_days,
                "pain_persists": e.pain_persists, "persistent_pain": e.persistent_pain,
                "events": [ev.to_dict() for ev in self.events]}

    def to_json(self) -> str:
        """Deterministic JSON text, ending in a newline."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def to_text(self) -> str:
        """One line per event, with what the date depends on."""
        e = self.explanation
        # The answer first: the headline every face opens with (it names the date knots would be
        # expected when nothing is concluded yet).
        lines = [f"painkg: timeline (patient {e.patient.id})", e.headline,
                 f"assessed on {e.assessed_on}; threshold {e.threshold_days} days", ""]
        for ev in self.events:
            where = f" [{e.ontology.concepts[ev.site].label}]" if ev.site else ""  # the site by its label
            lines += textwrap.wrap(f"{ev.date}  {ev.relative:<6}  {ev.kind}{where}: {ev.label}", 88,
                                   subsequent_indent=" " * 20)
            if ev.depends_on:
                lines.append(" " * 20 + "depends on: " + ", ".join(ev.depends_on))
        lines += ["", DISCLAIMER]
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:
        return f"<Timeline patient={self.explanation.patient.id!r} events={len(self.events)}>"


def _relative(date: dt.date, assessed: dt.date) -> str:
    return "past" if date < assessed else "today" if date == assessed else "future"


def _derived_from(e, concept: str, site: str, rule: str, status_id: str) -> bool:
    fact = e.trace.get(f"{concept}@{site}")
    return fact is not None and any(j.rule == rule and status_id in j.premises for j in fact.justifications)


def _knots_on(reasoner, injury, day: dt.date, threshold: int) -> bool:
    # The engine, not arithmetic here, decides whether knots follow on `day`
    # from this injury alone, still unresolved.
    patient = {"id": "timeline", "assessed_on": day.isoformat(),
               "injuries": [{"kind": injury.kind, "site": injury.site, "onset": injury.onset.isoformat()}]}
    e = reasoner.explain(patient, threshold_days=threshold)
    return any(f.id == f"muscle_knots@{injury.site}" for f in e.facts)


def _level_words(level: str) -> str:
    # "can become inflamed" (s21) is possible, "spasms to protect" (s02) expected.
    return "possible (the source says it can happen)" if level == "possible" else "expected"


def _expected_words(e, site: str, overload_rule: str) -> tuple[str, str, str]:
    # Knots are expected with neck and back injuries and only possible elsewhere (s15):
    # the timeline words and names them as the engine would conclude them, never firmer.
    if knots_level(e.ontology, site, overload_rule) == "possible":
        return ("possible", "may form (possible: most often, but not only, with neck and back injuries, s15)",
                "may follow (possible)")
    return "expected", "expected", "expected"


def _resolved_events(e, inj, due: dt.date, label, ev_of) -> list[Event]:
    # A resolved injury: when it was fixed, and whether knots formed before that (s03-s05).
    at = f"injuries[{inj.index}]"
    assessed = e.patient.assessed_on
    kind = label(inj.kind)
    knots = e.trace.get(f"muscle_knots@{inj.site}")
    injury_fact = f"{inj.kind}@{inj.site}"
    overload = e.trace.get(f"muscle_overload@{inj.site}")
    rule = "overload-before-resolution" if inj.resolved_on is not None else "overload-maybe-before-resolution"
    fired = overload is not None and knots is not None and any(
        j.rule == rule and injury_fact in j.premises for j in overload.justifications)
    if inj.resolved_on is not None:
        fixed, span = inj.resolved_on, inj.unresolved_days
        events = [Event(fixed.isoformat(), "resolved", inj.site, inj.index,
                        f"the {kind} of the {label(inj.site)} was fixed, {span} day{'s' * (span != 1)} after onset",
                        _relative(fixed, assessed), (f"{at}.resolved_on",), None, ())]
        depends = (f"{at}.onset", "threshold_days", f"{at}.resolved_on")
        if fixed < due:
            events.append(Event(fixed.isoformat(), "knots_not_expected", inj.site, inj.index,
                                f"the {kind} was fixed before onset + {e.threshold_days} days ({due.isoformat()}): "
                                "knots are not expected from it", _relative(fixed, assessed), depends, not fired,
                                ev_of("break-cycle-fix-injury")))
            return events
        level, knots, pain = _expected_words(e, inj.site, rule)
        events.append(Event(due.isoformat(), _kind("knots", level), inj.site, inj.index,
                            f"muscle knots {knots} at the {label(inj.site)}: the {kind} was still not fixed at onset + "
                            f"{e.threshold_days} days; knots that formed before it was fixed stay (s03-s05)",
                            _relative(due, assessed), depends, fired, ev_of(rule)))
        events.append(Event(due.isoformat(), _kind("persistent_pain", level), inj.site, inj.index,
                            f"persistent pain {pain} from the knots at the {label(inj.site)}, past the resolution",
                            _relative(due, assessed), depends, fired, ev_of("persistent-pain-from-knots")))
        return events
    events = [Event(assessed.isoformat(), "resolved", inj.site, inj.index,
                    f"the {kind} of the {label(inj.site)} is marked resolved at assessment (the date it was fixed is "
                    "not given)", "today", (f"{at}.resolved",), None, ())]
    depends = (f"{at}.onset", "threshold_days", f"{at}.resolved", f"{at}.resolved_on")
    if due > assessed:
        events.append(Event(due.isoformat(), "knots_not_expected", inj.site, inj.index,
                            f"the {kind} is marked resolved by the assessment, before onset + {e.threshold_days} "
                            "days: knots are not expected from it", _relative(due, assessed), depends, not fired,
                            ev_of("break-cycle-fix-injury")))
        return events
    events.append(Event(due.isoformat(), "knots_possible", inj.site, inj.index,
                        f"muscle knots possible at the {label(inj.site)}: if the {kind} was still not fixed on this "
                        "date, knots formed then and stay; a resolution date (resolved_on) would decide it",
                        _relative(due, assessed), depends, fired, ev_of(rule)))
    return events


def _while_unresolved(e, inj, ev_of) -> list[Event]:
    # Inflammation and protective spasm from the injury while it is unresolved, dated from onset,
    # each named and worded by the certainty of the engine's step (s21 "can become inflamed").
    at, out = f"injuries[{inj.index}]", []
    status = f"injury_unresolved@{inj.site}/{inj.kind}"
    for concept, rule, stem in (("inflammation", "inflammation-from-muscle-injury", "inflammation"),
                                ("muscle_spasm", "spasm-protective", "spasm")):
        if _derived_from(e, concept, inj.site, rule, status):
            level = e.ontology.rules[rule].level
            out.append(Event(
                inj.onset.isoformat(), _kind(stem, level), inj.site, inj.index,
                f"{e.ontology.concepts[concept].label} {_level_words(level)} after the injury, while it is "
                "not fixed (the source gives no day count)", _relative(inj.onset, e.patient.assessed_on),
                (f"{at}.onset", f"{at}.resolved"), True, ev_of(rule)))
    return out


def _unresolved_knots(e, inj, due: dt.date, confirmed, name: str, ev_of) -> list[Event]:
    # Knots (and the persistent pain from them) at onset + threshold if the injury stays unresolved.
    at, assessed, threshold = f"injuries[{inj.index}]", e.patient.assessed_on, e.threshold_days
    rel = _relative(due, assessed)
    gap = abs((due - assessed).days)
    when = {"past": f"reached {gap} day{'s' * (gap != 1)} before assessment",
            "today": "reached on the assessment date",
            "future": f"{gap} day{'s' * (gap != 1)} after assessment"}[rel]
    now = knots_now(e, inj.site) if rel == "future" else None
    already = f"; now {knots_now_phrase(now, inj.site, e.ontology)}" if now else ""
    level, knots, pain = _expected_words(e, inj.site, "overload-after-threshold")
    where = site_phrase(inj.site, e.ontology)
    depends = (f"{at}.onset", "threshold_days", f"{at}.resolved")
    return [Event(due.isoformat(), _kind("knots", level), inj.site, inj.index,
                  f"muscle knots {knots} at {where} if {name} is still not fixed: onset + {threshold} days ({when})"
                  f"{already}", rel, depends, confirmed, ev_of("overload-after-threshold")),
            Event(due.isoformat(), _kind("persistent_pain", level), inj.site, inj.index,
                  f"persistent pain {pain} from the knots at {where}, on the same condition", rel,
                  depends, confirmed, ev_of("persistent-pain-from-knots"))]


def _recurred_events(e, inj, due: dt.date, name: str, ev_of) -> list[Event]:
    # An unresolved injury whose current episode began on an unknown date since onset: at onset + threshold
    # the episode may have lasted the threshold (overload-maybe-in-episode), never more than possible.
    at, assessed, rule = f"injuries[{inj.index}]", e.patient.assessed_on, "overload-maybe-in-episode"
    overload, knots = e.trace.get(f"muscle_overload@{inj.site}"), e.trace.get(f"muscle_knots@{inj.site}")
    fired = overload is not None and knots is not None and any(
        j.rule == rule and f"{inj.kind}@{inj.site}" in j.premises for j in overload.justifications)
    level = knots_level(e.ontology, inj.site, rule)
    where = site_phrase(inj.site, e.ontology)
    depends = (f"{at}.onset", "threshold_days", f"{at}.resolved", f"{at}.episode_start_unknown")
    rel = _relative(due, assessed)
    return [Event(due.isoformat(), _kind("knots", level), inj.site, inj.index,
                  f"muscle knots possible at {where}: {name} recurred, its current episode began on an unknown date "
                  f"since onset; if it began at onset, it was unfixed for {e.threshold_days} days on this date; the "
                  "date the episode began would decide it", rel, depends, fired if rel != "future" else None,
                  ev_of(rule)),
            Event(due.isoformat(), _kind("persistent_pain", level), inj.site, inj.index,
                  f"persistent pain may follow (possible) from the knots at {where}, on the same condition", rel,
                  depends, fired if rel != "future" else None, ev_of("persistent-pain-from-knots"))]


def _run_events(e, inj, label, ev_of) -> list[Event]:
    # Overlapping injuries at a site (kg.inputs.site_runs) that left it unfixed without a break for the
    # threshold: knots may have formed on the day the run reached it (overload-maybe-across-injuries).
    from ..inputs.site_runs import run_members

    threshold, assessed = e.threshold_days, e.patient.assessed_on
    if inj.run_days is None or inj.run_days < threshold:
        return []
    rule = "overload-maybe-across-injuries"
    members = run_members(inj, e.patient.injuries)
    due = inj.run_start + dt.timedelta(days=threshold)
    overload, knots = e.trace.get(f"muscle_overload@{inj.site}"), e.trace.get(f"muscle_knots@{inj.site}")
    fired = overload is not None and knots is not None and any(
        j.rule == rule and f"{inj.kind}@{inj.site}" in j.premises for j in overload.justifications)
    names = " and ".join(f"the {label(m.kind)}" for m in members)
    depends = tuple(f"injuries[{m.index}].{field}" for m in members
                    for field in ("onset", "resolved_on" if m.resolved_on is not None else "resolved"))
    depends += ("threshold_days",)
    level = knots_level(e.ontology, inj.site, rule)
    knots_words, pain = ("may have formed (possible: the source speaks of one basic injury left unfixed)",
                         "may follow (possible)")
    where = site_phrase(inj.site, e.ontology)
    return [Event(due.isoformat(), _kind("knots", level), inj.site, inj.index,
                  f"muscle knots {knots_words} at {where}: {names} left it with an unfixed injury without a break "
                  f"since {inj.run_start.isoformat()}, {threshold} days on this date (no one of them alone that "
                  "long); knots formed then stay", _relative(due, assessed), depends, fired, ev_of(rule)),
            Event(due.isoformat(), _kind("persistent_pain", level), inj.site, inj.index,
                  f"persistent pain {pain} from the knots at {where}, on the same condition",
                  _relative(due, assessed), depends, fired, ev_of("persistent-pain-from-knots"))]


def _check_explanation(e) -> None:
    from ..errors import InputError, type_name
    from ..reasoning.explanation import Explanation

    if not isinstance(e, Explanation):
        raise InputError("explanation", type_name(e), "a kg.Explanation (from kg.explain)")


def timeline(e) -> Timeline:
    """The dated events for the explanation ``e`` (see the module doc).

    >>> import kg
    >>> t = timeline(kg.explain("examples/lower-back-strain-resolved.json"))
    >>> [(ev.date, ev.kind, ev.confirmed) for ev in t.events if ev.kind.startswith("knots")]
    [('2026-03-24', 'knots_possible', True)]
    """
    from ..reasoning.reasoner import thread_reasoner

    _check_explanation(e)
    onto = e.ontology
    label = lambda key: onto.concepts[key].label  # noqa: E731
    ev_of = lambda rule: tuple(Evidence(p, onto.passages[p].text) for p in onto.evidence(rule))  # noqa: E731
    assessed = e.patient.assessed_on
    threshold = e.threshold_days
    events: list[Event] = []
    reasoner = None
    forecast = {x.injury for x in e.expectations}  # where a knot date says more than the record does
    for inj in e.patient.injuries:
        at = f"injuries[{inj.index}]"
        name = injury_phrase(label(inj.kind), inj.site, onto)
        events.append(Event(inj.onset.isoformat(), "onset", inj.site, inj.index, f"{name} began",
                            _relative(inj.onset, assessed), (f"{at}.onset",), None, ()))
        events += _while_unresolved(e, inj, ev_of)
        events += _run_events(e, inj, label, ev_of)
        # Patient dates lie in 1900..2999 and the threshold is at most 365 days
        # (kg.inputs.limits, kg.reasoning.reasoner), so this date and the day before it stay in the calendar.
        due = due_date(inj.onset, threshold)
        if inj.resolved:
            events += _resolved_events(e, inj, due, label, ev_of)
            continue
        if inj.resolution == "recurred":
            if due <= assessed or inj.index in forecast:
                events += _recurred_events(e, inj, due, name, ev_of)
            continue
        if due > assessed and inj.index not in forecast:
            continue  # knots as firm are already present at the site: they are not forecast again (s05)
        confirmed = None  # past the last date painkg reasons about: not checked by the engine
        if due <= LIMITS.latest_date:
            reasoner = reasoner or thread_reasoner()
            confirmed = (_knots_on(reasoner, inj, due, threshold)
                         and not _knots_on(reasoner, inj, due - dt.timedelta(days=1), threshold))
        events += _unresolved_knots(e, inj, due, confirmed, name, ev_of)
    for finding in e.patient.findings:
        if finding.concept == "muscle_knots":
            where = f" at the {label(finding.site)}" if finding.site else ""
            events.append(Event(assessed.isoformat(), "knots_reported", finding.site, None,
                                f"muscle knots reported{where} (when they formed is not given)", "today",
                                ("findings",), None, ev_of("persistent-pain-from-knots")))
    pain = ("pain persists" if e.pain_persists else "pain may persist (possible)" if e.persistent_pain == "possible"
            else "persistent pain not concluded")
    events.append(Event(assessed.isoformat(), "assessment", None, None, f"the patient is assessed ({pain})", "today",
                        ("assessed_on",), None, ()))
    rank = {k: i for i, k in enumerate(EVENT_KINDS)}
    events.sort(key=lambda ev: (ev.date, rank[ev.kind], ev.site or "", -1 if ev.injury is None else ev.injury))
    return Timeline(e, tuple(events))
