"""Overlapping injuries at one site (issue: "Where injuries at a site overlap so that the site has an
unfixed injury continuously for the threshold, say at least that knots are possible, naming the injuries
and dates; decide the level from the source and write down why")."""

from __future__ import annotations

import json

import kg
from support import assert_one_shape

#: "neither injury alone was unfixed 14 days (9 and 12), but the lower back had an unfixed injury
#: without a break from 03-01 to 03-20 (19 days)."
OVERLAP = {"id": "o", "assessed_on": "2026-03-20",
           "injuries": [{"kind": "strain", "site": "lower_back", "onset": "2026-03-01", "resolved_on": "2026-03-10"},
                        {"kind": "tear", "site": "lower_back", "onset": "2026-03-08"}]}
#: The same, with a day between the strain being fixed and the tear: no run.
GAP = {**OVERLAP, "id": "gap",
       "injuries": [OVERLAP["injuries"][0], {"kind": "tear", "site": "lower_back", "onset": "2026-03-11"}]}
#: Three injuries one after another, the middle one fixed on an unknown date (its bound, 03-20, ends the run).
CHAIN_OF_THREE = {"id": "three", "assessed_on": "2026-03-20",
                  "injuries": [{"kind": "sprain", "site": "neck", "onset": "2026-03-01", "resolved_on": "2026-03-06"},
                               {"kind": "strain", "site": "neck", "onset": "2026-03-06", "resolved": True},
                               {"kind": "tear", "site": "neck", "onset": "2026-03-09", "resolved_on": "2026-03-12"}]}
#: A run still short of the threshold, still open (the tear is not resolved).
SHORT = {"id": "short", "assessed_on": "2026-03-10",
         "injuries": [{"kind": "strain", "site": "lower_back", "onset": "2026-03-01", "resolved_on": "2026-03-05"},
                      {"kind": "tear", "site": "lower_back", "onset": "2026-03-04"}]}
RECORDS = [OVERLAP, GAP, CHAIN_OF_THREE, SHORT]

CONDITION = ("only if the basic injury stays unresolved for about two weeks: the muscle strain of the lower back "
             "(onset 2026-03-01, fixed 2026-03-10) and the muscle tear of the lower back (onset 2026-03-08, not "
             "resolved) left the lower back with an unfixed injury without a break from 2026-03-01 to 2026-03-20, "
             "19 days (threshold 14 days), so the muscle may have overloaded")


def test_overlapping_injuries_make_persistent_pain_possible_and_name_the_injuries_and_dates():
    e = kg.explain(OVERLAP)
    strain, tear = e.patient.injuries
    assert (strain.unresolved_days, tear.unresolved_days) == (9, 12)
    assert (tear.run_days, tear.run_start.isoformat(), tear.run_with) == (19, "2026-03-01", (0,))
    assert e.persistent_pain == "possible" and e.pain_persists is False
    steps = e.chain("persistent_pain").steps
    assert [s.rule for s in steps] == [None, "overload-maybe-across-injuries", "knots-from-overload",
                                       "persistent-pain-from-knots"]
    assert steps[1].condition == CONDITION
    assert e.headline.startswith("Pain may persist at the lower back")
    # The tear alone reaches the threshold on 03-22: then knots are expected.
    assert [x.to_dict()["expected_on"] for x in e.expectations] == ["2026-03-22"]


def test_the_level_is_possible_and_written_down_with_its_passages():
    onto = kg.load_ontology()
    rule = onto.rules["overload-maybe-across-injuries"]
    assert rule.level == "possible"
    assert "the source does not state this case" in rule.label
    assert onto.evidence("overload-maybe-across-injuries", "lower_back") == (
        "s02", "s03", "s04", "s07", "s10", "s11", "s12", "s14")


def test_a_day_between_the_injuries_is_a_break():
    e = kg.explain(GAP)
    assert [i.run_days for i in e.patient.injuries] == [None, None]
    assert e.persistent_pain is None and e.facts_of("muscle_knots") == []
    assert all(j.rule != "overload-maybe-across-injuries" for f in e.facts for j in f.justifications)


def test_an_injury_fixed_on_an_unknown_date_counts_up_to_its_bound():
    e = kg.explain(CHAIN_OF_THREE)
    assert [(i.kind, i.run_days, i.run_with) for i in e.patient.injuries] == [
        ("ligament_sprain", None, ()), ("muscle_strain", None, ()), ("muscle_tear", 19, (0, 1))]
    assert e.persistent_pain == "possible"
    step = next(s for s in e.chain("muscle_overload").steps if s.rule == "overload-maybe-across-injuries")
    assert step.condition.endswith(
        "the ligament sprain of the neck (onset 2026-03-01, fixed 2026-03-06), the muscle strain of the neck "
        "(onset 2026-03-06, fixed by 2026-03-20 at the latest) and the muscle tear of the neck (onset 2026-03-09, "
        "fixed 2026-03-12) left the neck with an unfixed injury without a break from 2026-03-01 to 2026-03-20, "
        "19 days (threshold 14 days), so the muscle may have overloaded")


def test_a_single_injury_never_gets_a_run():
    for injury in ({"kind": "strain", "site": "neck", "onset": "2026-01-01"},
                   {"kind": "strain", "site": "neck", "onset": "2026-01-01", "resolved": True},
                   {"kind": "strain", "site": "neck", "onset": "2026-01-01", "resolved_on": "2026-01-20"}):
        (inj,) = kg.parse_patient({"id": "x", "assessed_on": "2026-03-20", "injuries": [injury]}).injuries
        assert (inj.run_days, inj.run_start, inj.run_with) == (None, None, ())
    # Injuries at different sites never make a run either.
    p = kg.parse_patient({**OVERLAP, "injuries": [OVERLAP["injuries"][0], {**OVERLAP["injuries"][1], "site": "neck"}]})
    assert [i.run_days for i in p.injuries] == [None, None]


def test_a_run_no_longer_than_one_of_its_injuries_adds_nothing():
    # The strain alone spans the whole run: its own rule says it, firmly.
    p = kg.parse_patient({**OVERLAP, "injuries": [{"kind": "strain", "site": "lower_back", "onset": "2026-03-01"},
                                                  {"kind": "tear", "site": "lower_back", "onset": "2026-03-08",
                                                   "resolved_on": "2026-03-09"}]})
    assert [i.run_days for i in p.injuries] == [None, None]


def test_the_run_is_derived_not_input_and_does_not_depend_on_input_order():
    p = kg.parse_patient(OVERLAP)
    assert "run_days" not in json.dumps(p.to_dict())
    assert kg.parse_patient(p.to_dict()) == p
    flipped = {**OVERLAP, "injuries": list(reversed(OVERLAP["injuries"]))}
    (tear, strain) = kg.parse_patient(flipped).injuries
    assert (tear.run_days, tear.run_with, strain.run_days) == (19, (1,), None)
    # Re-assessed later, the run (open: the tear is unresolved) grows with time.
    assert kg.parse_patient(OVERLAP, as_of="+5d").injuries[1].run_days == 24


def test_why_not_says_when_an_open_run_reaches_the_threshold_and_does_not_plan_overlaps():
    w = kg.explain(SHORT).why_not("muscle_overload").to_dict()
    routes = [r for r in w["sites"][0]["routes"] if r.get("rule") == "overload-maybe-across-injuries"]
    assert [r["injury"] for r in routes] == [0, 1]
    strain_route, tear_route = routes
    assert strain_route["failed"][0]["reason"] == (
        "there is no matching injury at the lower back: the injuries there that overlap without a break are the "
        "route of the muscle tear (injuries[1]), the last of them to begin (muscle_strain@lower_back: has no "
        "site_run_days)")
    assert strain_route["failed"][0]["changes"] is None
    (failed,) = tear_route["failed"]
    assert failed["reason"] == (
        "run >= threshold is false (run = 9, threshold = 14): the muscle strain (injuries[0]) and the muscle tear "
        "(injuries[1]) left the lower back with an unfixed injury without a break from 2026-03-01 to 2026-03-10, "
        "9 days; the condition \"only if the basic injury stays unresolved for about two weeks\" needs it for at "
        "least 14 days (5 more days without a break: on 2026-03-15 if it stays unresolved)")
    assert failed["changes"] == ["assessed_on=+5d"]
    later = kg.explain(SHORT, as_of="+5d")
    assert later.persistent_pain == "possible"
    # With no overlapping injuries, why-not says it plans no overlap rather than failing.
    single = kg.explain({"id": "s", "assessed_on": "2026-03-10",
                         "injuries": [{"kind": "strain", "site": "neck", "onset": "2026-03-01"}]})
    route = next(r for r in single.why_not("muscle_overload").to_dict()["sites"][0]["routes"]
                 if r.get("rule") == "overload-maybe-across-injuries")
    assert "why-not does not plan changes that make injuries overlap" in route["failed"][0]["reason"]


def test_memo_lean_triples_and_store_give_the_one_shape(tmp_path):
    assert_one_shape(RECORDS, tmp_path)


def test_the_timeline_dates_when_the_run_reached_the_threshold():
    t = kg.explain(OVERLAP).timeline()
    run = [ev for ev in t.events if ev.date == "2026-03-15" and ev.injury == 1]
    assert [(ev.kind, ev.relative, ev.confirmed) for ev in run] == [
        ("knots_possible", "past", True), ("persistent_pain_possible", "past", True)]
    assert run[0].label == (
        "muscle knots may have formed (possible: the source speaks of one basic injury left unfixed) at the lower "
        "back: the muscle strain and the muscle tear left it with an unfixed injury without a break since "
        "2026-03-01, 14 days on this date (no one of them alone that long); knots formed then stay")
    assert run[0].depends_on == ("injuries[0].onset", "injuries[0].resolved_on", "injuries[1].onset",
                                 "injuries[1].resolved", "threshold_days")
    assert not any(ev.kind.startswith("knots") and ev.date == "2026-03-15" for ev in kg.explain(GAP).timeline().events)
