"""Why-not: introspected premises agree with the engine; answers are complete, sound, flippable."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kg
from kg.cli import cli
from kg.reasoning.premises import best_match, fact_fields, fact_id, rule_premises
from kg.rules.knots import BLOCKED_AT_SITE
from kg.rules.engine import engine_rule_ids
from kg.questions.what_if import what_if
from kg.questions.why_not import site_answer, why_not
from kg.questions.why_not_time import injury_kind_bind

from support import EXAMPLES, strain, with_resolution_dates

ONTO = kg.load_ontology()
REASONER = kg.Reasoner()
SITES = ONTO.keys("site")
CONCLUDABLE = sorted({c for r in ONTO.rules.values() for c in r.concludes})
injury = st.fixed_dictionaries(
    {"kind": st.sampled_from(ONTO.keys("injury")), "site": st.sampled_from(SITES),
     "days_since_onset": st.integers(0, 30)},
    optional={"mechanism": st.sampled_from(ONTO.keys("mechanism")), "resolved": st.booleans(),
              "resolved_after": st.integers(0, 30)})  # a resolution date (support.with_resolution_dates)
finding = st.fixed_dictionaries({"kind": st.sampled_from(ONTO.keys("finding")), "site": st.sampled_from(SITES)}).filter(
    lambda f: f["site"] in (ONTO.allowed_sites(f["kind"]) or SITES))  # site-bound findings at their site only
patients = st.fixed_dictionaries({
    "id": st.just("g"),
    "assessed_on": st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)).map(dt.date.isoformat),
    "injuries": st.lists(injury, max_size=3, unique_by=lambda i: (i["kind"], i["site"])),
    "findings": st.lists(finding, max_size=3),
}).map(with_resolution_dates)
fast = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fired_sites(e, rule):
    """Sites at which the engine fired ``rule`` (from the trace, not from kg.questions.why_not)."""
    return {f.site for f in e.trace.values() for j in f.justifications if j.rule == rule}


# ---------------------------------------------------------------- introspection
def test_every_engine_rule_is_introspected_and_in_the_ontology():
    assert sorted(rule_premises()) == engine_rule_ids() == sorted(ONTO.rules)
    assert len(rule_premises()) == 24


def test_threshold_rule_is_read_from_the_engine():
    rp = rule_premises()["overload-after-threshold"]
    test = rp.premises[-1].test
    assert test.text == "days >= threshold" and test.args == ("days", "threshold")
    assert test.holds({"days": 14, "threshold": 14}) and not test.holds({"days": 13, "threshold": 14})
    inflammation = rule_premises()["inflammation-from-muscle-injury"].premises[0].field("concept")
    assert inflammation.predicates[0].text == "k in MUSCLE_INJURIES"
    assert rule_premises()["severe-low-back-pain"].conclusion_site == "lower_back"


@fast
@given(patients, st.integers(1, 30))
def test_introspected_premises_fire_exactly_when_the_engine_does(patient, threshold):
    e = REASONER.explain(patient, threshold_days=threshold)
    facts = {k: fact_fields(f) for k, f in e.trace.items()}
    sites = {f.site for f in e.trace.values()} | set(SITES)
    for rid, rp in rule_premises().items():
        fired = fired_sites(e, rid)
        if rp.conclusion_site and rp.conclusion_site.startswith("?"):
            matched = {s for s in sites
                       if best_match(rp, facts, {"threshold_days": threshold}, {"site": s}).complete}
            # A rule blocked where a fact holds at the site (break-cycle-fix-injury where knots are) does not fire there.
            blocker = BLOCKED_AT_SITE.get(rid)
            matched -= {s for s in matched if blocker and fact_id(blocker, s) in e.trace}
            assert matched == fired, rid
        else:
            complete = best_match(rp, facts, {"threshold_days": threshold}).complete
            assert complete == bool(fired), rid
            assert fired <= {rp.conclusion_site}


@fast
@given(patients, st.integers(1, 30))
def test_rules_conclude_what_the_ontology_says_at_the_site_they_bind(patient, threshold):
    e = REASONER.explain(patient, threshold_days=threshold)
    for fact in e.trace.values():
        for j in fact.justifications:
            assert fact.concept in ONTO.rules[j.rule].concludes, (j.rule, fact.id)
            where = rule_premises()[j.rule].conclusion_site
            expected = dict(j.bindings)[where[1:]] if where.startswith("?") else where
            assert fact.site == expected


def test_every_declared_conclusion_is_produced_by_the_engine():
    # Together with the property above: the ontology's pk:concludes is exactly what the engine does.
    pairs = set()
    fixed_late = strain(20)
    fixed_late["injuries"][0].update(resolved=True, resolved_on="2026-06-25")  # unresolved 15 days
    # a strain fixed on day 9 and a tear from day 7: unfixed without a break for 19 days (kg.inputs.site_runs)
    recurred = {**strain(20), "injuries": [{**strain(20)["injuries"][0], "episode_start_unknown": True}]}
    overlapping = {"id": "t", "assessed_on": "2026-03-20", "injuries": [
        {"kind": "strain", "site": "lower_back", "onset": "2026-03-01", "resolved_on": "2026-03-10"},
        {"kind": "tear", "site": "lower_back", "onset": "2026-03-08"}]}
    for patient in (strain(20, findings=["localized_pain", "tender_to_touch", "better_at_rest",
                                         "radiating_pain_to_leg"], mechanism="fall"),
                    strain(5), strain(20, resolved=True), fixed_late, strain(20, "shoulder"), overlapping,
                    recurred):
        e = REASONER.explain(patient)
        pairs |= {(j.rule, f.concept) for f in e.trace.values() for j in f.justifications}
    declared = {(rid, c) for rid, info in ONTO.rules.items() for c in info.concludes}
    assert pairs == declared


# ---------------------------------------------------------------- complete, sound, flippable
@fast
@given(patients, st.integers(1, 30), st.sampled_from(CONCLUDABLE))
def test_why_not_is_complete_and_sound(patient, threshold, concept):
    e = REASONER.explain(patient, threshold_days=threshold)
    w = why_not(e, concept)
    rules = sorted(rid for rid, info in ONTO.rules.items() if concept in info.concludes)
    for answer in w.sites:
        concluded = any(f.concept == concept and f.site == answer.site for f in e.facts)
        assert answer.concluded == concluded
        if concluded:
            assert answer.chain is not None and answer.chain.steps[-1].concept == concept
            continue
        # Complete: every rule that could conclude the concept is there, once per injury at the
        # site for a rule about an injury (every route, in time too).
        assert sorted({r.rule for r in answer.routes if r.rule}) == rules
        here = [i.index for i in e.patient.injuries if i.site == answer.site]
        for rule in rules:
            injuries = [r.injury for r in answer.routes if r.rule == rule]
            assert injuries == (here if injury_kind_bind(rule_premises()[rule]) and here else [None])
        for route in answer.routes:
            if route.rule is None:
                continue
            # Sound: the rule really did not fire here, and some premise is reported failed.
            assert answer.site not in fired_sites(e, route.rule) or not route.applies_at_site
            assert route.failed or not route.applies_at_site
            for failed in route.failed:
                if failed.fact is not None:
                    assert failed.fact not in e.trace, failed
                else:  # a test, a predicate that fails, or a premise left open by an earlier failure
                    assert failed.values or "fails `" in failed.reason or "?" in failed.premise, failed
                values = dict(failed.values)
                tests = [p.test for p in rule_premises()[route.rule].premises if p.kind == "test"]
                for test in tests:
                    if set(test.args) <= set(values) and failed.premise == test.text:
                        assert not test.holds(values) and values.get("threshold", threshold) == threshold
                if values.get("resolved"):
                    assert any(i.resolved and i.site == answer.site for i in e.patient.injuries)
            for held in route.held:
                assert set(held.facts) <= set(e.trace)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patients, st.integers(1, 30), st.sampled_from(CONCLUDABLE))
def test_making_the_failed_premises_true_concludes_the_concept(patient, threshold, concept):
    e = REASONER.explain(patient, threshold_days=threshold)
    for answer in why_not(e, concept).sites:
        for route in answer.routes:
            if answer.concluded or route.changes is None:
                continue
            after = what_if(e.patient, list(route.changes), threshold_days=threshold, reasoner=REASONER).after
            assert any(f.concept == concept and f.site == answer.site for f in after.facts), \
                (route.rule, route.changes)


# ---------------------------------------------------------------- the source's conditions
def test_threshold_not_reached_names_the_days_and_the_passages():
    e = REASONER.explain(strain(5))
    route = why_not(e, "knots", site="lower_back").at("lower_back").routes[1]
    assert route.rule == "knots-from-overload" and route.held == ()
    overload = route.failed[0]
    assert overload.fact == "muscle_overload@lower_back"
    inner = overload.why_not.routes[0]
    assert inner.rule == "overload-after-threshold"
    assert [h.premise for h in inner.held] == [
        "continuous_contraction@lower_back", "injury muscle_strain@lower_back (days 5, resolution unresolved)",
        "injury_unresolved@lower_back/muscle_strain", "threshold_days 14"]
    test = inner.failed[0]
    assert dict(test.values) == {"days": 5, "threshold": 14}
    assert "began 5 days before assessment" in test.reason and "at least 14 days (9 more days" in test.reason
    assert [ev.passage for ev in test.evidence] == ["s03", "s04", "s12", "s14"]
    assert route.changes == ("assessed_on=+9d",)


def test_resolved_injury_fails_the_unresolved_premise():
    e = REASONER.explain(strain(30, resolved=True))
    routes = {r.rule: r for r in why_not(e, "muscle_spasm").at("lower_back").routes}
    status = routes["spasm-protective"].failed[0]
    assert status.fact == "injury_unresolved@lower_back/muscle_strain"
    assert "marked resolved" in status.reason and status.changes == ("injuries[0].resolved=false",)
    assert {ev.passage for ev in status.evidence} >= {"s03", "s14"}


def test_a_ligament_sprain_fails_the_muscle_injury_predicate():
    e = REASONER.explain(strain(3, kind="ligament_sprain"))
    route = why_not(e, "inflammation").at("lower_back").routes[0]
    assert route.rule == "inflammation-from-muscle-injury"
    assert [h.premise for h in route.held] == ["injury_unresolved@lower_back/ligament_sprain"]
    assert "fails `k in MUSCLE_INJURIES`" in route.failed[0].reason
    assert "ligament_sprain" in route.failed[0].reason


def test_severe_low_back_pain_at_the_neck_only_applies_at_the_lower_back():
    e = REASONER.explain(strain(3, site="neck"))
    route = [r for r in why_not(e, "severe_low_back_pain", site="neck").at("neck").routes if r.rule][0]
    assert not route.applies_at_site and route.changes is None


def test_radiating_pain_is_what_atypical_needs():
    e = REASONER.explain(strain(3))
    route = [r for r in why_not(e, "atypical_for_muscle_strain").at("lower_back").routes][0]
    assert route.rule == "atypical-radiating-pain"
    assert route.failed[0].fact == "radiating_pain_to_leg@lower_back"
    assert route.changes == ('findings+={"kind": "radiating_pain_to_leg", "site": "lower_back"}',)


def test_a_concluded_concept_answers_with_its_chain():
    e = REASONER.explain(EXAMPLES / "lower-back-strain-day20.json")
    w = e.why_not("persistent_pain")
    assert w.concluded and w.sites[0].routes == ()
    assert w.sites[0].chain.to_dict() == e.chain("persistent_pain").to_dict()


def test_unknown_concept_lists_the_keys_and_unknown_site_too():
    e = REASONER.explain(strain(3))
    with pytest.raises(kg.InputError) as err:
        e.why_not("knee")
    assert err.value.field == "concept" and "muscle_knots" in err.value.allowed
    with pytest.raises(kg.InputError, match='site: "knee"'):
        e.why_not("muscle_knots", site="knee")


def test_nothing_at_all_can_lead_there():
    e = REASONER.explain(strain(3))
    assert why_not(e, "acute_low_back_pain").message.startswith("nothing can lead to acute lower back pain")
    empty = REASONER.explain({"id": "x", "assessed_on": "2026-01-01"})
    w = why_not(empty, "persistent_pain")
    assert w.sites == () and "has no injury or finding at any site" in w.message


def test_site_answer_bounds_the_depth():
    e = REASONER.explain(strain(5))
    shallow = site_answer(e, "persistent_pain", "lower_back", depth=0)
    # No recursion at depth 0; knots can still be reported, so that change remains.
    assert shallow.routes[0].failed[0].why_not is None
    assert shallow.changes == ('findings+={"kind": "muscle_knots", "site": "lower_back"}',)
    assert site_answer(e, "persistent_pain", "lower_back").changes == ("assessed_on=+9d",)
    with pytest.raises(kg.InputError, match="depth"):
        why_not(e, "persistent_pain", depth=-1)


def test_output_is_deterministic_and_json_round_trips():
    a = why_not(REASONER.explain(EXAMPLES / "two-injuries.json"), "persistent_pain")
    b = why_not(kg.Reasoner().explain(EXAMPLES / "two-injuries.json"), "persistent_pain")
    assert a.to_json() == b.to_json() and a.to_text() == b.to_text()
    data = json.loads(a.to_json())
    assert [s["site"] for s in data["sites"]] == ["lower_back", "neck"]
    assert data["sites"][1]["changes"] == ["assessed_on=+11d"]


def test_cli_matches_the_api_and_reports_bad_input():
    path = str(EXAMPLES / "lower-back-strain-acute.json")
    result = CliRunner().invoke(cli, ["why-not", path, "muscle_knots", "--format", "json"])
    assert result.exit_code == 0
    assert result.stdout == kg.explain(path).why_not("muscle_knots").to_json()
    result = CliRunner().invoke(cli, ["why-not", path, "knots", "--site", "lower_back"])
    words = " ".join(result.stdout.split())  # the text form wraps lines
    assert result.exit_code == 0 and "days >= threshold is false (days = 5, threshold = 14)" in words
    bad = CliRunner().invoke(cli, ["why-not", path, "knee"])
    assert bad.exit_code == 2 and bad.stderr.startswith('error: concept: "knee" is not allowed')


def test_suggestions_never_repeat_an_injury_the_patient_already_has():
    # Found by hypothesis in CI: the muscle injury inflammation needs is already at the
    # site, only resolved; adding another one would be an invalid patient.
    patient = {"id": "g", "assessed_on": "2020-01-01", "injuries": [
        {"kind": "ligament_sprain", "site": "lower_back", "days_since_onset": 0},
        {"kind": "muscle_overstretch", "site": "lower_back", "days_since_onset": 0, "resolved": True}]}
    e = REASONER.explain(patient, threshold_days=1)
    (answer,) = why_not(e, "difficulty_moving").sites
    changes = {c for route in answer.routes for c in (route.changes or ())}
    assert "injuries[1].resolved=false" in changes
    assert not any(c.startswith("injuries+=") and "muscle_overstretch" in c for c in changes)
    for route in answer.routes:
        if route.changes:
            after = what_if(e.patient, list(route.changes), threshold_days=1, reasoner=REASONER).after
            assert any(f.concept == "difficulty_moving" and f.site == "lower_back" for f in after.facts)


# An old strain fixed on an unknown date and a 5-day tear at one site: knots and persistent pain only possible.
OLD_STRAIN_NEW_TEAR = {"id": "w", "assessed_on": "2026-06-20", "injuries": [
    {"kind": "strain", "site": "lower_back", "onset": "2026-03-01", "resolved": True},
    {"kind": "tear", "site": "lower_back", "onset": "2026-06-15"}]}


@pytest.mark.parametrize("concept, label", [("muscle_knots", "Muscle knots"), ("persistent_pain", "Persistent pain")])
def test_why_not_on_a_concept_concluded_only_as_possible_says_what_would_make_it_expected(concept, label):
    """"why-not muscle_knots / persistent_pain must say what would make it expected, with dates (the date the tear
    reaches the threshold: onset + threshold days, if it stays unresolved; or a resolution date for the strain
    past the threshold)"."""
    e = REASONER.explain(OLD_STRAIN_NEW_TEAR)
    w = why_not(e, concept)
    (answer,) = w.sites
    assert answer.concluded and answer.certainty == "possible"
    said = (f"{label} at the lower back would be expected from 2026-06-29 if the muscle tear of the lower back "
            "stays unresolved; or if the muscle strain of the lower back was fixed on 2026-03-15 or later; or if the "
            "muscle strain of the lower back were still unresolved"
            + ("; or if muscle knots were reported there" if concept == "persistent_pain" else ""))
    assert w.message == f"{label.lower()} was concluded at the lower back (possible). {said}"
    assert f"{said}. Every way it would be expected:" in " ".join(w.to_text().split())
    assert answer.expected_changes == ("assessed_on=+9d",)
    assert [r.rule for r in answer.expected_routes] == [
        "knots-from-overload" if concept == "muscle_knots" else "persistent-pain-from-knots"]
    assert json.loads(w.to_json())["sites"][0]["expected_changes"] == ["assessed_on=+9d"]
    # each way really makes it expected
    for changes in (["assessed_on=+9d"], ["injuries[0].resolved_on=2026-03-15"], ["injuries[0].resolved=false"]):
        after = what_if(e.patient, changes, reasoner=REASONER).after
        assert after.fact(f"{concept}@lower_back").certainty == "expected", changes


def test_no_change_of_the_record_makes_knots_away_from_the_neck_and_back_expected():
    """s15: knots form "most often (but not only)" in the neck and back: at the shoulder they stay possible."""
    e = REASONER.explain(strain(20, "shoulder"))
    assert why_not(e, "muscle_knots").message == ("muscle knots was concluded at the shoulder (possible). No change of "
                                                  "the record would make muscle knots at the shoulder expected")
    assert why_not(e, "persistent_pain").message.endswith(
        "Persistent pain at the shoulder would be expected if muscle knots were reported there")


def test_why_not_fixing_the_injury_names_the_knots_already_there():
    """s05: formed knots stay, so break-cycle-fix-injury does not conclude where knots are present: the why-not
    says so, and no patient change is offered for it."""
    e = REASONER.explain({"id": "n5", "assessed_on": "2026-06-06", "injuries": [
        {"kind": "strain", "site": "neck", "onset": "2026-06-01"}],
        "findings": [{"kind": "muscle_knots", "site": "neck"}]})
    (route,) = why_not(e, "injury_resolution").at("neck").routes
    assert route.rule == "break-cycle-fix-injury" and route.changes is None
    assert [h.premise for h in route.held] == ["injury muscle_strain@neck (days 5)",
                                               "injury_unresolved@neck/muscle_strain", "threshold_days 14",
                                               "days < threshold"]
    (failed,) = route.failed
    assert failed.premise == "no muscle_knots@neck" and failed.values == (("muscle_knots@neck", "reported"),)
    assert failed.reason == ("muscle knots are reported at the neck; formed knots stay and become part of the "
                             "problem, so fixing the injury no longer prevents them")
    assert [ev.passage for ev in failed.evidence] == ["s05"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patients, st.integers(1, 30), st.sampled_from(["muscle_knots", "persistent_pain", "muscle_overload"]))
def test_the_changes_that_would_make_a_possible_conclusion_expected_do(patient, threshold, concept):
    e = REASONER.explain(patient, threshold_days=threshold)
    for answer in why_not(e, concept).sites:
        if answer.certainty != "possible":
            assert answer.expected_routes == ()
            continue
        for route in answer.expected_routes:
            if route.changes is None:
                continue
            after = what_if(e.patient, list(route.changes), threshold_days=threshold, reasoner=REASONER).after
            assert after.fact(fact_id(concept, answer.site)).certainty in ("expected", "reported"), route.changes
