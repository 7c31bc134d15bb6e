"""Timeline: onset, expected spasm and inflammation, the knot date (onset + threshold), assessment."""

from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kg
from kg.cli import cli
from kg.questions.timeline import EVENT_KINDS, timeline

from support import with_resolution_dates, EXAMPLES, strain

ONTO = kg.load_ontology()
REASONER = kg.Reasoner()


def test_acute_strain_knots_are_expected_in_the_future():
    t = REASONER.explain(EXAMPLES / "lower-back-strain-acute.json").timeline()
    assert [(ev.date, ev.kind, ev.site, ev.relative) for ev in t.events] == [
        ("2026-03-01", "onset", "lower_back", "past"),
        ("2026-03-01", "inflammation_possible", "lower_back", "past"),  # s21 "can become inflamed"
        ("2026-03-01", "spasm_expected", "lower_back", "past"),
        ("2026-03-06", "assessment", None, "today"),
        ("2026-03-15", "knots_expected", "lower_back", "future"),  # onset + 14 days
        ("2026-03-15", "persistent_pain_expected", "lower_back", "future"),
    ]
    knots = t.events[4]
    assert knots.confirmed and "(9 days after assessment)" in knots.label
    assert knots.depends_on == ("injuries[0].onset", "threshold_days", "injuries[0].resolved")
    assert [e.passage for e in knots.evidence] == ["s03", "s04", "s11", "s12", "s14"]
    assert "no day count" in t.events[2].label


def test_threshold_moves_the_knot_date_and_past_dates_say_so():
    t = REASONER.explain(EXAMPLES / "lower-back-strain-acute.json", threshold_days=3).timeline()
    knots = next(ev for ev in t.events if ev.kind == "knots_expected")
    assert (knots.date, knots.relative) == ("2026-03-04", "past")
    assert "reached 2 days before assessment" in knots.label


def test_resolved_without_a_date_past_the_threshold_makes_knots_possible_and_no_spasm_from_it():
    """s03: knots form "if the basic injury is not fixed": fixed on an unknown date, they are only possible."""
    t = REASONER.explain(EXAMPLES / "lower-back-strain-resolved.json").timeline()
    kinds = [ev.kind for ev in t.events]
    assert kinds == ["onset", "knots_possible", "resolved", "assessment"]
    assert t.events[1].date == "2026-03-24" and "resolution date (resolved_on) would decide it" in t.events[1].label
    assert t.events[1].confirmed is True and "not given" in t.events[2].label


def test_resolved_on_a_date_dates_the_resolution_and_the_knots_before_it():
    """s03-s05: knots that formed before the injury was fixed stay; fixed before the threshold, none form."""
    late = REASONER.explain({"id": "r", "assessed_on": "2026-04-15", "injuries": [
        {"kind": "strain", "site": "lower_back", "onset": "2026-03-10", "resolved_on": "2026-03-30"}]}).timeline()
    assert [(ev.date, ev.kind, ev.confirmed) for ev in late.events if ev.injury is not None] == [
        ("2026-03-10", "onset", None), ("2026-03-24", "knots_expected", True),
        ("2026-03-24", "persistent_pain_expected", True), ("2026-03-30", "resolved", None)]
    early = REASONER.explain({"id": "r", "assessed_on": "2026-04-15", "injuries": [
        {"kind": "strain", "site": "lower_back", "onset": "2026-03-10", "resolved_on": "2026-03-20"}]}).timeline()
    assert [(ev.date, ev.kind, ev.confirmed) for ev in early.events if ev.injury is not None] == [
        ("2026-03-10", "onset", None), ("2026-03-20", "resolved", None), ("2026-03-20", "knots_not_expected", True)]


def test_ligament_sprain_expects_spasm_but_not_inflammation():
    t = REASONER.explain(strain(3, kind="ligament_sprain")).timeline()
    assert "spasm_expected" in [ev.kind for ev in t.events]
    assert not any(ev.kind.startswith("inflammation") for ev in t.events)


def test_reported_knots_are_an_event_at_assessment():
    t = REASONER.explain(EXAMPLES / "knots-first-report.json").timeline()
    assert [(ev.kind, ev.site) for ev in t.events] == [("assessment", None), ("knots_reported", "upper_back")]


injury = st.fixed_dictionaries({"kind": st.sampled_from(ONTO.keys("injury")),
                                "site": st.sampled_from(ONTO.keys("site")),
                                "days_since_onset": st.integers(0, 40), "resolved": st.booleans()},
                               optional={"resolved_after": st.integers(0, 40)})
patients = st.fixed_dictionaries({
    "id": st.just("g"), "assessed_on": st.dates(dt.date(2020, 1, 1), dt.date(2030, 1, 1)).map(dt.date.isoformat),
    "injuries": st.lists(injury, max_size=3, unique_by=lambda i: (i["kind"], i["site"])),
    "findings": st.lists(st.fixed_dictionaries({"kind": st.just("muscle_knots"),
                                                "site": st.sampled_from(ONTO.keys("site"))}), max_size=1)}
                                 ).map(with_resolution_dates)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patients, st.integers(1, 30))
def test_knot_dates_agree_with_the_engine(patient, threshold):
    e = REASONER.explain(patient, threshold_days=threshold)
    t = e.timeline()
    rank = {k: i for i, k in enumerate(EVENT_KINDS)}
    keys = [(ev.date, rank[ev.kind], ev.site or "", -1 if ev.injury is None else ev.injury) for ev in t.events]
    assert keys == sorted(keys)
    for ev in t.events:
        if ev.kind == "knots_expected":
            inj = e.patient.injuries[ev.injury]
            assert inj.resolution != "undated" and ev.confirmed is True
            assert inj.unresolved_days >= threshold or not inj.resolved
            assert ev.date == (inj.onset + dt.timedelta(days=threshold)).isoformat()
            assert ev.relative == ("past" if ev.date < e.assessed_on else "today" if ev.date == e.assessed_on
                                   else "future")
    # Knots are concluded at a site exactly when a knot date there has come, or knots were reported.
    for site in ONTO.keys("site"):
        due = any(ev.kind in ("knots_expected", "knots_possible", "knots_reported") and ev.site == site
                  and ev.relative != "future" for ev in t.events)
        assert due == any(f.id == f"muscle_knots@{site}" for f in e.facts)
    assert t.to_json() == timeline(REASONER.explain(patient, threshold_days=threshold)).to_json()


def test_cli_matches_the_api():
    path = str(EXAMPLES / "two-injuries.json")
    result = CliRunner().invoke(cli, ["timeline", path, "--format", "json"])
    assert result.exit_code == 0 and result.stdout == kg.explain(path).timeline().to_json()
    data = json.loads(result.stdout)
    assert [(ev["date"], ev["relative"]) for ev in data["events"] if ev["kind"] == "knots_expected"] == [
        ("2026-07-15", "past"), ("2026-08-02", "future")]
    text = CliRunner().invoke(cli, ["timeline", path, "--as-of", "2026-08-02"])
    assert text.exit_code == 0 and "2026-08-02  today   knots_expected [neck]" in text.stdout


def test_the_timeline_words_possible_events_as_possible():
    """s21 "the area ... can become inflamed" and s15 "most often (but not only) with injuries to
    the neck and back": a shoulder strain's timeline never calls inflammation or knots expected."""
    t = kg.explain({"id": "s", "assessed_on": "2026-03-05", "injuries": [
        {"kind": "strain", "site": "shoulder", "days_since_onset": 3}]}).timeline()
    labels = {ev.kind: ev.label for ev in t.events}
    assert labels["inflammation_possible"].startswith("inflammation possible (the source says it can happen)")
    assert labels["spasm_expected"].startswith("muscle spasm expected")
    assert labels["knots_possible"].startswith("muscle knots may form (possible")
    assert labels["persistent_pain_possible"].startswith("persistent pain may follow (possible)")
    neck = kg.explain({"id": "n", "assessed_on": "2026-03-05", "injuries": [
        {"kind": "strain", "site": "neck", "days_since_onset": 3}]}).timeline()
    assert {ev.kind: ev.label for ev in neck.events}["knots_expected"].startswith("muscle knots expected at the neck")


def test_no_timeline_event_forecasts_knots_already_reported_or_formed_at_the_site():
    """"painkg timeline shows a future 'knots expected' event" for a day-5 neck strain with knots reported, and
    the same when the knots come from an older injury there: formed knots stay (s05), so none is forecast."""
    reported = REASONER.explain({"id": "n5", "assessed_on": "2026-06-06", "injuries": [
        {"kind": "strain", "site": "neck", "onset": "2026-06-01"}],
        "findings": [{"kind": "muscle_knots", "site": "neck"}]}).timeline()
    assert [(ev.date, ev.kind, ev.relative) for ev in reported.events] == [
        ("2026-06-01", "onset", "past"), ("2026-06-01", "inflammation_possible", "past"),
        ("2026-06-01", "spasm_expected", "past"), ("2026-06-06", "assessment", "today"),
        ("2026-06-06", "knots_reported", "today")]
    older = REASONER.explain({"id": "n5b", "assessed_on": "2026-06-06", "injuries": [
        {"kind": "sprain", "site": "neck", "onset": "2026-05-01"},
        {"kind": "strain", "site": "neck", "onset": "2026-06-01"}]}).timeline()
    assert [(ev.date, ev.kind, ev.injury) for ev in older.events if ev.kind.startswith(("knots", "persistent"))] == [
        ("2026-05-15", "knots_expected", 0), ("2026-05-15", "persistent_pain_expected", 0)]


def test_a_knot_date_that_would_make_possible_knots_expected_is_kept_and_says_so():
    """Knots only possible at the site (an old strain fixed on an unknown date): the tear's date would make them
    expected (the why-not answer says so too), so the timeline keeps it, saying what is there now."""
    t = REASONER.explain({"id": "w", "assessed_on": "2026-06-20", "injuries": [
        {"kind": "strain", "site": "lower_back", "onset": "2026-03-01", "resolved": True},
        {"kind": "tear", "site": "lower_back", "onset": "2026-06-15"}]}).timeline()
    future = [ev for ev in t.events if ev.relative == "future"]
    assert [(ev.date, ev.kind, ev.injury) for ev in future] == [
        ("2026-06-29", "knots_expected", 1), ("2026-06-29", "persistent_pain_expected", 1)]
    assert future[0].label == ("muscle knots expected at the lower back if the muscle tear of the lower back is still "
                               "not fixed: onset + 14 days (9 days after assessment); now muscle knots may have "
                               "formed at the lower back (possible)")


def test_every_event_of_a_fact_is_named_by_its_certainty():
    """"An event is named inflammation_expected for a possible fact; name it by its certainty (e.g.
    inflammation_possible), consistently for every event kind"."""
    assert EVENT_KINDS == ("onset", "inflammation_expected", "inflammation_possible", "spasm_expected",
                           "spasm_possible", "resolved", "assessment", "knots_reported", "knots_expected",
                           "knots_possible", "persistent_pain_expected", "persistent_pain_possible",
                           "knots_not_expected")
    e = REASONER.explain({"id": "c", "assessed_on": "2026-04-15", "injuries": [
        {"kind": "strain", "site": "calf", "onset": "2026-03-10", "resolved_on": "2026-03-30"},
        {"kind": "strain", "site": "shoulder", "days_since_onset": 3},
        {"kind": "strain", "site": "neck", "days_since_onset": 3}]})
    kinds = {(ev.kind, ev.site) for ev in e.timeline().events}
    assert {("knots_possible", "calf"), ("persistent_pain_possible", "calf"), ("knots_possible", "shoulder"),
            ("persistent_pain_possible", "shoulder"), ("knots_expected", "neck"), ("persistent_pain_expected", "neck"),
            ("inflammation_possible", "neck"), ("spasm_expected", "neck")} <= kinds
    assert e.fact("muscle_knots@calf").certainty == "possible"
    assert not any(k.endswith("_expected") and s in ("calf", "shoulder") and not k.startswith("spasm")
                   for k, s in kinds)
