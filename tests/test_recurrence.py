"""A recurrence with an unknown episode start (issue: "the episode's start is unknown unless the resource
pins it; treat it as the undated case does"): ``episode_start_unknown: true``."""

from __future__ import annotations

import pytest

import kg
from support import assert_one_shape

#: A strain from 03-01, recurred: its current episode began on an unknown date since then.
RECURRED = {"id": "rec", "assessed_on": "2026-03-20",
            "injuries": [{"kind": "strain", "site": "lower_back", "onset": "2026-03-01", "episode_start_unknown": True}]}
#: The same, assessed on day 9: short of the threshold since onset.
EARLY = {**RECURRED, "id": "early", "assessed_on": "2026-03-10"}
RECORDS = [RECURRED, EARLY]


def test_overload_after_threshold_does_not_count_from_the_original_onset():
    e = kg.explain(RECURRED)
    (inj,) = e.patient.injuries
    assert (inj.resolution, inj.unresolved_days, inj.days_since_onset) == ("recurred", None, 19)
    assert e.fact("muscle_spasm@lower_back").certainty == "expected"  # the status fact stays
    overload = e.fact("muscle_overload@lower_back")
    assert [j.rule for j in overload.justifications] == ["overload-maybe-in-episode"]
    assert e.persistent_pain == "possible" and e.pain_persists is False
    assert e.headline.startswith("Pain may persist at the lower back")
    step = next(s for s in e.chain("muscle_overload").steps if s.rule == "overload-maybe-in-episode")
    assert step.condition == (
        "only if the basic injury stays unresolved for about two weeks: the muscle strain is not resolved, but its "
        "current episode (a recurrence) began on an unknown date since its onset on 2026-03-01: it has been "
        "unresolved for up to 19 days (threshold 14 days) and may have stayed unresolved past the threshold; the "
        "date the episode began would decide it")
    assert kg.load_ontology().rules["overload-maybe-in-episode"].level == "possible"


def test_before_the_threshold_knots_are_forecast_as_possible_only():
    e = kg.explain(EARLY)
    assert e.persistent_pain is None
    assert [x.to_dict() for x in e.expectations] == [{
        "concept": "muscle_knots", "site": "lower_back", "injury": 0, "expected_on": "2026-03-15",
        "if": "the muscle strain of the lower back stays unresolved (a recurrence: its current episode began on an "
              "unknown date since onset, so by then it may have lasted the threshold; the date the episode began "
              "would decide it)", "certainty": "possible", "passages": ["s03", "s04"]}]
    assert e.fact("injury_resolution@lower_back").certainty == "expected"  # fixing it still prevents knots


def test_the_field_is_input_round_trips_and_is_refused_for_a_resolved_injury():
    p = kg.parse_patient(RECURRED)
    assert p.to_dict()["injuries"][0]["episode_start_unknown"] is True
    assert kg.parse_patient(p.to_dict()) == p
    bad = {**RECURRED, "injuries": [{**RECURRED["injuries"][0], "resolved_on": "2026-03-10"}]}
    with pytest.raises(kg.InputError) as info:
        kg.parse_patient(bad)
    assert str(info.value).startswith("injuries[0].episode_start_unknown: true is only for an unresolved injury")


def test_why_not_plans_the_episode_and_what_if_fixing_it_ends_it():
    w = kg.explain(EARLY).why_not("muscle_overload").to_dict()
    routes = {r["rule"]: r for r in w["sites"][0]["routes"] if r.get("rule")}
    assert routes["overload-after-threshold"]["changes"] == ["injuries[0].episode_start_unknown=false",
                                                              "assessed_on=+5d"]
    assert routes["overload-maybe-in-episode"]["changes"] == ["assessed_on=+5d"]
    after = kg.what_if(EARLY, ["injuries[0].episode_start_unknown=false", "assessed_on=+5d"]).to_dict()["after"]
    assert after["persistent_pain"] == "expected"
    # Fixing a recurrence now: how long its episode lasted is still unknown (the undated case, bounded by the fix).
    fixed = kg.what_if(RECURRED, ["injuries[0].resolved=true"])
    (inj,) = fixed.after.patient.injuries
    assert (inj.resolution, inj.resolved_by.isoformat(), inj.episode_start_unknown) == ("undated", "2026-03-20", False)
    assert fixed.to_dict()["after"]["persistent_pain"] == "possible"


def test_timeline_says_knots_possible_from_onset_plus_threshold():
    t = kg.explain(RECURRED).timeline()
    knots = [ev for ev in t.events if ev.kind.startswith("knots")]
    assert [(ev.date, ev.kind, ev.confirmed) for ev in knots] == [("2026-03-15", "knots_possible", True)]


def test_memo_lean_triples_and_store_give_the_one_shape(tmp_path):
    assert_one_shape(RECORDS, tmp_path)
