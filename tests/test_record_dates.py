"""The record's own dates stay put: moving the assessment (--as-of, what-if) does not move
when the record says something happened (issue: "Claim what the record says, no more")."""

from __future__ import annotations

import json

from click.testing import CliRunner

import kg
from kg.cli import cli

#: "resolved: true without resolved_on in a file assessed on 03-06 (onset 03-01) means the
#: strain was fixed by 03-06, five days in."
FIXED_BY_DAY_5 = {"id": "r", "assessed_on": "2026-03-06",
                  "injuries": [{"kind": "strain", "site": "lower_back", "onset": "2026-03-01", "resolved": True}]}


def test_an_undated_resolution_is_bounded_by_the_records_own_assessment_date():
    e = kg.explain(FIXED_BY_DAY_5, as_of="+30d")
    assert e.assessed_on == "2026-04-05"
    (injury,) = e.patient.injuries
    assert (injury.resolved_by.isoformat(), injury.unresolved_at_most) == ("2026-03-06", 5)
    # Re-assessed 30 days later it is still a strain fixed within 5 days: no knots, nothing possible.
    assert e.persistent_pain is None and e.facts_of("muscle_knots") == []
    assert e.headline == "Persistent pain is not concluded: nothing recorded leads to muscle knots."
    assert e.to_dict() == kg.explain(FIXED_BY_DAY_5, as_of="2026-04-05").to_dict()


def test_the_cli_as_of_gives_the_same_answer_as_the_records_own_date(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(FIXED_BY_DAY_5))
    own = CliRunner().invoke(cli, ["explain", str(path), "--format", "json"])
    later = CliRunner().invoke(cli, ["explain", str(path), "--format", "json", "--as-of", "+30d"])
    assert own.exit_code == later.exit_code == 0
    assert json.loads(own.output)["headline"] == json.loads(later.output)["headline"]
    assert json.loads(later.output)["persistent_pain"] is None


def test_a_bound_past_the_threshold_leaves_knots_possible_and_says_the_bound():
    record = {**FIXED_BY_DAY_5, "assessed_on": "2026-03-20"}  # fixed by day 19: may have passed day 14
    e = kg.explain(record, as_of="+60d")
    assert e.persistent_pain == "possible"
    step = next(s for s in e.chain("muscle_overload").steps if s.rule == "overload-maybe-before-resolution")
    assert step.condition.startswith("only if the basic injury stays unresolved for about two weeks: the muscle "
                                     "strain is marked resolved without a date, by 2026-03-20 at the latest")
    assert "up to 19 days" in step.condition


def test_resolved_by_round_trips_through_the_patient_record():
    p = kg.parse_patient(FIXED_BY_DAY_5, as_of="+30d")
    assert p.to_dict()["injuries"][0]["resolved_by"] == "2026-03-06"
    assert kg.parse_patient(p.to_dict()) == p


def test_resolved_by_is_refused_where_it_means_nothing():
    bad = {**FIXED_BY_DAY_5, "injuries": [{"kind": "strain", "site": "neck", "onset": "2026-03-01",
                                           "resolved_on": "2026-03-03", "resolved_by": "2026-03-04"}]}
    result = CliRunner().invoke(cli, ["explain", "-"], input=json.dumps(bad))
    assert result.exit_code == 2
    assert result.output.startswith('error: injuries[0].resolved_by: "2026-03-04" is only for an injury with '
                                    "resolved: true and no resolved_on")
