"""Time: an onset is a date, resolution has a date, and every question reasons in time.

One test per finding of the issue ("Time: dates, not just a day count"); each docstring
quotes the sentence it enforces.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kg
from kg.cli import cli
from kg.questions.interventions import interventions
from kg.questions.what_if import what_if
from kg.questions.why_not import why_not
from kg.rules.engine import observed_facts

from support import EXAMPLES, example_paths, strain, with_resolution_dates

REASONER = kg.Reasoner()
ONTO = kg.load_ontology()
DAY20 = EXAMPLES / "lower-back-strain-day20.json"
ACUTE = EXAMPLES / "lower-back-strain-acute.json"
TEAR_DAY0 = {"id": "tear", "assessed_on": "2026-03-01",
             "injuries": [{"kind": "tear", "site": "lower_back", "days_since_onset": 0}]}


def fixed_on(resolved_on: str, *, assessed_on: str = "2026-04-02", onset: str = "2026-03-01") -> dict:
    return {"id": "fixed", "assessed_on": assessed_on,
            "injuries": [{"kind": "strain", "site": "lower_back", "onset": onset, "resolved_on": resolved_on}]}


def knots(e, site: str = "lower_back"):
    return next((f for f in e.facts if f.id == f"muscle_knots@{site}"), None)


# ---------------------------------------------------------------- the onset is a date
def test_days_since_onset_is_anchored_to_the_inputs_own_assessed_on():
    """"days_since_onset is anchored to the input's own assessed_on ... and turned into an onset date when read"."""
    p = kg.parse_patient({"id": "a", "assessed_on": "2026-03-21",
                          "injuries": [{"kind": "strain", "site": "neck", "days_since_onset": 20}]},
                         as_of="2026-04-04")
    assert p.injuries[0].onset == dt.date(2026, 3, 1) and p.injuries[0].days_since_onset == 34
    assert p.to_dict()["injuries"][0]["onset"] == "2026-03-01"


def test_days_since_onset_without_assessed_on_counts_from_the_run_date():
    """"(or to the run's date when absent)"."""
    p = kg.parse_patient({"id": "a", "injuries": [{"kind": "strain", "site": "neck", "days_since_onset": 3}]})
    assert p.injuries[0].onset == dt.date.today() - dt.timedelta(days=3)


def test_as_of_ages_an_injury_given_in_days_as_what_if_does():
    """"a day-0 tear re-assessed 14 days later still reports day 0 and no knots ... One rule everywhere: the
    onset is a date, --as-of moves only the assessment date"."""
    later = kg.explain(TEAR_DAY0, as_of="+14d", reasoner=REASONER)
    assert later.patient.injuries[0].days_since_onset == 14 and knots(later) is not None and later.pain_persists
    moved = what_if(TEAR_DAY0, [], as_of="+14d", reasoner=REASONER).after
    assert moved.to_json() == later.to_json()
    result = CliRunner().invoke(cli, ["explain", "-", "--as-of", "+14d", "--format", "json"],
                                input=json.dumps(TEAR_DAY0))
    assert result.exit_code == 0 and json.loads(result.stdout)["pain_persists"] is True


def test_what_if_days_since_onset_sets_an_onset_date_that_time_then_ages():
    """"the onset is a date": a changed day count is a date, and moving the assessment keeps it."""
    w = what_if(strain(2), ["injuries[0].days_since_onset=5", "assessed_on=+9d"], reasoner=REASONER)
    assert w.after.patient.injuries[0].onset == dt.date(2026, 6, 25)
    assert w.after.patient.injuries[0].days_since_onset == 14 and w.pain_persists_after


# ---------------------------------------------------------------- resolution has a date
def test_resolved_on_is_a_date_that_implies_resolved_and_round_trips():
    """"Injuries accept resolved_on (a date, implies resolved)"."""
    p = kg.parse_patient(fixed_on("2026-03-20"))
    inj = p.injuries[0]
    assert inj.resolved and inj.resolved_on == dt.date(2026, 3, 20) and inj.resolution == "dated"
    assert inj.unresolved_days == 19
    assert kg.parse_patient(p.to_dict()) == p


@pytest.mark.parametrize("injury,field,message", [
    ({"resolved_on": "2026-02-27"}, "injuries[0].resolved_on", '"2026-02-27" is before the onset 2026-03-01'),
    ({"resolved_on": "2026-04-03"}, "injuries[0].resolved_on", '"2026-04-03" is after the assessment date 2026-04-02'),
    ({"resolved_on": "2026-03-20", "resolved": False}, "injuries[0].resolved", "false disagrees with resolved_on"),
    ({"resolved_on": "20/03/2026"}, "injuries[0].resolved_on", "expected a date as YYYY-MM-DD"),
])
def test_a_bad_resolution_date_names_the_field(injury, field, message):
    """"resolved_on ... must be >= onset and <= assessed_on, else InputError naming the field"."""
    patient = fixed_on("2026-03-20")
    patient["injuries"][0].update(injury)
    with pytest.raises(kg.InputError) as err:
        kg.parse_patient(patient)
    assert err.value.field == field and message in str(err.value)


def test_engine_facts_carry_the_unresolved_span_for_each_kind_of_resolution():
    """"Unresolved at assessment: unresolved time = assessment - onset. resolved_on given: unresolved time =
    resolved_on - onset"."""
    p = kg.parse_patient({"id": "x", "assessed_on": "2026-04-02", "injuries": [
        {"kind": "strain", "site": "lower_back", "onset": "2026-03-01"},
        {"kind": "strain", "site": "neck", "onset": "2026-03-01", "resolved_on": "2026-03-20"},
        {"kind": "strain", "site": "upper_back", "onset": "2026-03-01", "resolved": True}]})
    facts = {f["site"]: f for f in observed_facts(p) if f.get("role") == "injury"}
    assert (facts["lower_back"]["resolution"], facts["lower_back"]["unresolved_days"]) == ("unresolved", 32)
    assert (facts["neck"]["resolution"], facts["neck"]["unresolved_days"]) == ("dated", 19)
    assert facts["upper_back"]["resolution"] == "undated" and "unresolved_days" not in facts["upper_back"]
    assert facts["upper_back"]["days"] == 32
    assert [f["site"] for f in observed_facts(p) if f.get("concept") == "injury_unresolved"] == ["lower_back"]


def test_knots_formed_before_the_resolution_date_are_expected_and_persist_past_it():
    """"knots are expected if that reached the threshold, and then persist past the resolution" (s03-s05)."""
    e = REASONER.explain(EXAMPLES / "resolved-after-knots.json")
    assert e.pain_persists and e.persistent_pain == "expected" and knots(e).certainty == "expected"
    step = next(s for s in e.chain("persistent_pain").steps if s.rule == "overload-before-resolution")
    assert ("the muscle strain stayed unresolved from 2026-03-01 to 2026-03-20, 19 days (threshold 14 days)"
            in step.condition)
    assert {"s03", "s04", "s05", "s14"} <= {ev.passage for ev in step.evidence}
    assert "resolved on 2026-03-20, 19 days after onset" in e.fact("muscle_strain@lower_back").detail


def test_an_injury_fixed_before_the_threshold_forms_no_knots():
    """"knots form when the basic injury is not fixed for about two weeks" (s03-s04): fixed on day 13, none."""
    e = REASONER.explain(fixed_on("2026-03-14"))
    assert knots(e) is None and e.persistent_pain is None and e.expectations == ()


def test_resolved_without_a_date_makes_knots_possible_and_says_a_date_would_decide():
    """"resolved: true with no date: when it was fixed is unknown, so knots are possible (not expected) once the
    assessment is past onset + threshold, and the explanation says that a resolution date would decide it"."""
    e = REASONER.explain(EXAMPLES / "lower-back-strain-resolved.json")
    assert knots(e).certainty == "possible" and e.persistent_pain == "possible" and not e.pain_persists
    step = next(s for s in e.chain("persistent_pain").steps if s.rule == "overload-maybe-before-resolution")
    assert "a resolution date (injuries[0].resolved_on) would decide it" in step.condition
    [x] = e.expectations
    assert (x.expected_on, x.injury) == ("2026-03-24", 0) and "resolved_on would decide it" in x.condition
    early = REASONER.explain(EXAMPLES / "lower-back-strain-resolved.json", as_of="2026-03-23")
    assert knots(early) is None and early.persistent_pain is None


def test_fixing_the_day20_strain_now_keeps_the_pain_persisting():
    """"Today what-if --set injuries[0].resolved=true on the day-20 example says pain no longer persists, and
    interventions offers that as the cure, although knots were due on day 14"."""
    w = what_if(DAY20, ["injuries[0].resolved=true"], reasoner=REASONER)
    assert w.pain_persists_after and knots(w.after).certainty == "expected"
    r = interventions(DAY20, reasoner=REASONER)
    assert r.interventions == () and "injuries[0].resolved=true" not in {c for i in r.interventions for c in i.changes}


# ---------------------------------------------------------------- the threshold
def test_before_the_threshold_the_explanation_gives_the_date_knots_would_be_expected():
    """"Before it is reached the explanation says when knots would be expected if the injury stays unresolved
    (the date), instead of 'nothing in this patient's data leads to painful muscle knots'"."""
    e = REASONER.explain(ACUTE)
    assert json.loads(e.to_json())["expectations"] == [
        {"concept": "muscle_knots", "site": "lower_back", "injury": 0, "expected_on": "2026-03-15",
         "if": "the muscle strain of the lower back stays unresolved", "certainty": "expected",
         "passages": ["s03", "s04"]}]
    text = " ".join(e.to_text().split())
    assert "Muscle knots would be expected at the lower back from 2026-03-15 if the muscle strain" in text
    assert "Nothing in this patient's data leads to painful muscle knots" not in text
    assert REASONER.explain(DAY20).expectations == ()


def test_knots_expected_at_a_site_where_the_source_makes_them_only_possible_say_so():
    """s15, "most often (but not only) with injuries to the neck and back": the expectation's certainty follows."""
    e = REASONER.explain({"id": "s", "assessed_on": "2026-03-06", "injuries": [
        {"kind": "strain", "site": "shoulder", "onset": "2026-03-01"}, {"kind": "strain", "site": "neck",
                                                                       "onset": "2026-03-01"}]})
    assert [(x.site, x.certainty) for x in e.expectations] == [("shoulder", "possible"), ("neck", "expected")]
    later = REASONER.explain(e.patient, as_of="2026-03-15")
    assert [knots(later, s).certainty for s in ("shoulder", "neck")] == ["possible", "expected"]


@pytest.mark.parametrize("days", [1, 14, 365])
def test_threshold_days_accepts_1_to_365(days):
    """"--threshold-days accepts 1 to 365"."""
    assert REASONER.explain(strain(days), threshold_days=days).pain_persists


@pytest.mark.parametrize("days", [0, 366, -1])
def test_threshold_0_is_refused_naming_s03_s04(days):
    """"0 is refused (knots on the day of injury contradicts s03-s04)"."""
    with pytest.raises(kg.InputError, match=r"from 1 to 365 .*s03-s04"):
        REASONER.explain(strain(3), threshold_days=days)
    result = CliRunner().invoke(cli, ["explain", str(ACUTE), "--threshold-days", str(days)])
    assert result.exit_code == 2 and "from 1 to 365" in result.stderr


# ---------------------------------------------------------------- what-if and interventions in time
def test_what_if_fixing_happens_on_the_assessment_date_unless_given():
    """"Fixing an injury happens on a date (the assessment date unless given)"."""
    now = what_if(ACUTE, ["injuries[0].resolved=true"], reasoner=REASONER)
    assert now.after.patient.injuries[0].resolved_on == dt.date(2026, 3, 6)
    given_date = what_if(DAY20, ["injuries[0].resolved_on=2026-03-10"], reasoner=REASONER)
    assert given_date.after.patient.injuries[0].resolved_on == dt.date(2026, 3, 10)
    assert not given_date.pain_persists_after  # fixed on day 9: before the threshold
    later = what_if(ACUTE, ["injuries[0].resolved=true"], as_of="+30d", reasoner=REASONER)
    # --as-of moves only the assessment: the injury stays fixed on day 5, so no knots ever form.
    assert later.after.patient.injuries[0].resolved_on == dt.date(2026, 3, 6) and not later.pain_persists_after
    undo = what_if(EXAMPLES / "resolved-after-knots.json", ["injuries[0].resolved=false"], reasoner=REASONER)
    assert undo.after.patient.injuries[0].resolved_on is None and undo.pain_persists_after


def test_interventions_give_the_deadline_the_source_supports():
    """"Interventions answer with deadlines ... ('fixing the basic injury before DATE is what the source says
    prevents knots')"."""
    r = interventions(ACUTE, reasoner=REASONER)
    [d] = r.deadlines
    assert d.before == "2026-03-15" and d.change == "injuries[0].resolved=true" and d.confirmed is True
    assert "fixing the muscle strain of the lower back before 2026-03-15 is what the source says prevents knots" in d.text
    # The engine agrees: fixed now, no knots on that date; left alone, knots.
    fixed = what_if(ACUTE, [d.change], as_of=d.before, reasoner=REASONER).after
    left = what_if(ACUTE, [], as_of=d.before, reasoner=REASONER).after
    assert knots(fixed) is None and knots(left) is not None


def test_interventions_say_plainly_nothing_stops_what_has_formed_quoting_s13():
    """"and say plainly when no modelled change can stop what has already formed, quoting s13 for treating the
    spasm ('helps reduce this problem')"."""
    for path in (DAY20, EXAMPLES / "resolved-after-knots.json"):
        r = interventions(path, reasoner=REASONER)
        assert r.pain_persists and r.interventions == ()
        assert r.message.startswith("no modelled change stops what has already formed")
        assert '"Treating spasm helps reduce this problem." (s13)' in r.message
        assert [(a.passage, a.text) for a in r.advice] == [("s13", "Treating spasm helps reduce this problem.")]


TIME_CASES = [
    strain(5), strain(20), strain(13, findings=["muscle_spasm"]), strain(20, resolved=True),
    fixed_on("2026-03-20"), fixed_on("2026-03-10"),
    {"id": "mix", "assessed_on": "2026-03-10", "injuries": [
        {"kind": "strain", "site": "lower_back", "onset": "2025-12-01", "resolved_on": "2025-12-04"},
        {"kind": "tear", "site": "lower_back", "days_since_onset": 5}]},
    {"id": "two", "assessed_on": "2026-03-21", "injuries": [
        {"kind": "tear", "site": "lower_back", "days_since_onset": 20},
        {"kind": "sprain", "site": "lower_back", "days_since_onset": 5}], "findings": ["muscle_spasm"]},
]


def assert_explain_and_interventions_agree(patient, as_of=None, threshold=14):
    e = REASONER.explain(patient, as_of=as_of, threshold_days=threshold)
    r = interventions(patient, as_of=as_of, threshold_days=threshold, reasoner=REASONER)
    # explain advises fixing an injury (injury_resolution) exactly where interventions gives its deadline
    advised = {(dict(j.bindings)["kind"], f.site) for f in e.facts_of("injury_resolution") for j in f.justifications}
    assert advised == {(e.patient.injuries[d.injury].kind, d.site) for d in r.deadlines}
    for d in r.deadlines:
        assert d.before == (e.patient.injuries[d.injury].onset + dt.timedelta(days=threshold)).isoformat()
        assert f"{d.text[1:]}" in r.message
    # explain's spasm treatment is interventions' advice for what has formed (s13)
    if e.facts_of("spasm_treatment"):
        assert [a.passage for a in r.advice] == ["s13"]
    # every intervention really stops the pain; when none does and the pain persists, the answer says so
    for i in r.interventions:
        assert not what_if(e.patient, list(i.changes), threshold_days=threshold, reasoner=REASONER).pain_persists_after
    if e.pain_persists and not r.interventions:
        assert r.message.startswith(("no modelled change stops what has already formed",
                                     "no change among the modelled treatments"))
    # a deadline is never for an injury whose knots have already formed from it
    for d in r.deadlines:
        assert e.patient.injuries[d.injury].days_since_onset < threshold


@pytest.mark.parametrize("path", example_paths(), ids=lambda p: p.stem)
def test_explain_and_interventions_never_contradict_each_other_on_the_examples(path):
    """"The explanation's advice and interventions never contradict each other (today explain says fixing the
    injury breaks the cycle while interventions says nothing stops it)"."""
    assert_explain_and_interventions_agree(path)


@pytest.mark.parametrize("patient", TIME_CASES, ids=lambda p: p["id"] + str(p["injuries"][0].get("days_since_onset", "")))
def test_explain_and_interventions_never_contradict_each_other_in_time(patient):
    """The same, for injuries before and after the threshold, fixed on a date, without one, and mixed."""
    assert_explain_and_interventions_agree(patient)
    assert_explain_and_interventions_agree(patient, as_of="+10d")


def test_fixing_the_injury_is_advised_only_while_it_still_prevents_knots():
    """"The existing rule break-cycle-fix-injury should only suggest fixing the injury when it is still unresolved;
    after knots formed the advice is treating the spasm (s13)"."""
    before, after = REASONER.explain(strain(13)), REASONER.explain(strain(14))
    assert [f.id for f in before.facts_of("injury_resolution")] == ["injury_resolution@lower_back"]
    assert after.facts_of("injury_resolution") == [] and after.facts_of("spasm_treatment")
    assert REASONER.explain(fixed_on("2026-03-20")).facts_of("injury_resolution") == []


# ---------------------------------------------------------------- why-not in time
def test_why_not_follows_the_tears_route_with_its_date_beside_the_old_strain():
    """"why-not follows every route, including time: for knots in a patient with an old resolved strain and a
    5-day unresolved tear at the same site, it must say the tear reaches the threshold on its date, not only
    'un-resolve the old strain'"."""
    e = REASONER.explain(TIME_CASES[6])
    w = why_not(e, "muscle_knots")
    data = json.loads(w.to_json())

    def routes(answer):
        for route in answer["routes"]:
            yield route
            for failed in route["failed"]:
                if failed["why_not"]:
                    yield from routes(failed["why_not"])

    everything = list(routes(data["sites"][0]))
    tear = [r for r in everything if r["rule"] == "overload-after-threshold" and r["injury"] == 1]
    assert tear and tear[0]["changes"] == ["assessed_on=+9d"]
    assert "on 2026-03-19 the muscle tear reaches the threshold" in tear[0]["failed"][0]["reason"]
    strain_route = [r for r in everything if r["rule"] == "overload-after-threshold" and r["injury"] == 0]
    assert strain_route[0]["changes"] == ["injuries[0].resolved=false"]
    dated = [r for r in everything if r["rule"] == "overload-before-resolution" and r["injury"] == 0]
    assert "stayed unresolved from 2025-12-01 to 2025-12-04, 3 days" in dated[0]["failed"][0]["reason"]
    assert dated[0]["changes"] == ["injuries[0].resolved_on=2025-12-15"]
    assert w.sites[0].changes == ("assessed_on=+9d",)
    after = what_if(e.patient, ["assessed_on=+9d"], reasoner=REASONER).after
    assert knots(after) is not None


def test_why_not_suggests_the_resolution_date_that_would_have_formed_knots():
    """"resolved_on given: unresolved time = resolved_on - onset": why-not names the date it would need."""
    answer = why_not(REASONER.explain(fixed_on("2026-03-05")), "muscle_knots").sites[0]
    routes = {r.rule: r for route in answer.routes for f in route.failed if f.why_not for r in f.why_not.routes}
    assert routes["overload-before-resolution"].changes == ("injuries[0].resolved_on=2026-03-15",)
    assert "stayed unresolved from 2026-03-01 to 2026-03-05, 4 days" in routes["overload-before-resolution"].failed[0].reason
    after = what_if(fixed_on("2026-03-05"), list(routes["overload-before-resolution"].changes), reasoner=REASONER).after
    assert knots(after).certainty == "expected"


patients = st.fixed_dictionaries({
    "id": st.just("t"), "assessed_on": st.dates(dt.date(2020, 1, 1), dt.date(2030, 1, 1)).map(dt.date.isoformat),
    "injuries": st.lists(st.fixed_dictionaries(
        {"kind": st.sampled_from(ONTO.keys("injury")), "site": st.sampled_from(["lower_back", "neck", "shoulder"]),
         "days_since_onset": st.integers(0, 40)},
        optional={"resolved": st.booleans(), "resolved_after": st.integers(0, 40)}),
        max_size=3, unique_by=lambda i: (i["kind"], i["site"])),
    "findings": st.lists(st.sampled_from([{"kind": "muscle_spasm", "site": "lower_back"},
                                          {"kind": "muscle_knots", "site": "neck"}]), max_size=1),
}).map(with_resolution_dates)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patients, st.integers(1, 30))
def test_explain_and_interventions_agree_for_any_dates(patient, threshold):
    """"Acceptance will ... check ... consistency between explain and interventions": for any dates."""
    assert_explain_and_interventions_agree(patient, threshold=threshold)
