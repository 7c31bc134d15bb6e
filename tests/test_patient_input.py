"""Bad patient input: one documented exception, naming the field, the value and what is allowed."""

from __future__ import annotations

import datetime as dt

import pytest

import kg

BASE = {"id": "p", "assessed_on": "2026-03-21"}


def injury(**fields):
    return {**BASE, "injuries": [{"kind": "strain", "site": "lower_back", "onset": "2026-03-01", **fields}]}


ERROR_CASES = [
    ([1, 2], "patient", "expected a dict, a kg.Patient, or a path to a JSON file"),
    ({"assessed_on": "2026-03-21"}, "id", "is missing"),
    ({"id": ""}, "id", "expected a non-empty string"),
    ({"id": 7}, "id", "7 is not allowed; expected a non-empty string"),
    ({**BASE, "age": 40}, "age", "unknown field; allowed fields are assessed_on, findings, id, injuries"),
    ({**BASE, "assessed_on": "21/03/2026"}, "assessed_on", "expected a date as YYYY-MM-DD"),
    ({**BASE, "assessed_on": "2026-02-30"}, "assessed_on", "day is out of range for month"),
    (injury(kind="bruise"), "injuries[0].kind", '"bruise" is not allowed; expected one of ligament_sprain'),
    (injury(site="knee"), "injuries[0].site", "expected one of calf, hip, lower_back, neck, shoulder, thigh, upper_back"),
    (injury(site="lowerback"), "injuries[0].site", 'did you mean "lower_back"?'),
    (injury(mechanism="running"), "injuries[0].mechanism", "expected one of fall, heavy_lifting"),
    (injury(onset="2026-04-01"), "injuries[0].onset", "is after the assessment date 2026-03-21"),
    (injury(onset="2026-13-01"), "injuries[0].onset", "month must be in 1..12"),
    (injury(onset=20260301), "injuries[0].onset", "expected a date as YYYY-MM-DD"),
    (injury(resolved="no"), "injuries[0].resolved", '"no" is not allowed; expected true or false'),
    (injury(resolved=1), "injuries[0].resolved", "expected true or false"),
    (injury(days_since_onset=-2, onset=None), "injuries[0].days_since_onset", "expected a whole number of days"),
    (injury(days_since_onset="3", onset=None), "injuries[0].days_since_onset", "expected a whole number of days"),
    (injury(days_since_onset=5), "injuries[0].days_since_onset", "disagrees with onset 2026-03-01"),
    (injury(onset=None), "injuries[0].onset", "give onset (YYYY-MM-DD) or days_since_onset"),
    (injury(colour="red"), "injuries[0].colour", "unknown field; allowed fields are days_since_onset, "
                                                    "episode_start_unknown, kind"),
    ({**BASE, "injuries": {"kind": "strain"}}, "injuries", "expected a list of injury objects"),
    ({**BASE, "injuries": [{"kind": "strain", "site": "neck", "days_since_onset": 1},
                           {"kind": "pulled_muscle", "site": "neck", "days_since_onset": 2}]},
     "injuries[1]", "repeats injuries[0] (same kind and site)"),
    ({**BASE, "findings": ["sore_knee"]}, "findings[0]", '"sore_knee" is not allowed; expected one of'),
    ({**BASE, "findings": [3]}, "findings[0]", 'expected a finding key or a {"kind": ..., "site": ...} object'),
    ({**BASE, "findings": [{"kind": "muscle_knots", "site": "toe"}]}, "findings[0].site", '"toe" is not allowed'),
    ({**BASE, "findings": [{"site": "neck"}]}, "findings[0].kind", "is missing"),
]


def test_error_case_count():
    assert len(ERROR_CASES) == 27


@pytest.mark.parametrize("data,field,text", ERROR_CASES, ids=[c[1] + ":" + c[2][:30] for c in ERROR_CASES])
def test_bad_input_raises_input_error(data, field, text):
    if isinstance(data, dict) and data.get("injuries") and isinstance(data["injuries"], list):
        for item in data["injuries"]:
            if isinstance(item, dict) and item.get("onset", "") is None:
                del item["onset"]
    with pytest.raises(kg.InputError) as info:
        kg.explain(data)
    assert info.value.field == field
    assert text in str(info.value)
    assert str(info.value).startswith(f"{field}: ")


def test_input_error_is_a_value_error_and_a_painkg_error():
    assert issubclass(kg.InputError, ValueError) and issubclass(kg.InputError, kg.PainkgError)


@pytest.mark.parametrize("value", [-1, 36501, 2.5, True, "14"])
def test_bad_threshold(value):
    with pytest.raises(kg.InputError) as info:
        kg.explain(BASE, threshold_days=value)
    assert info.value.field == "threshold_days"


def test_bad_as_of():
    with pytest.raises(kg.InputError) as info:
        kg.explain(BASE, as_of="yesterday")
    assert info.value.field == "as_of"


def test_assessed_on_defaults_to_today():
    e = kg.explain({"id": "p", "injuries": [{"kind": "strain", "site": "neck", "days_since_onset": 2}]})
    assert e.assessed_on == dt.date.today().isoformat()
    assert e.patient.injuries[0].onset == dt.date.today() - dt.timedelta(days=2)


def test_keys_are_case_and_separator_insensitive():
    e = kg.explain({"id": "p", "assessed_on": "2026-03-21", "injuries": [
        {"kind": "Pulled Muscle", "site": "Lower-Back", "days_since_onset": 1, "mechanism": "Heavy lifting"}]})
    inj = e.patient.injuries[0]
    assert (inj.kind, inj.site, inj.mechanism) == ("muscle_strain", "lower_back", "heavy_lifting")


def test_unreadable_files(tmp_path):
    with pytest.raises(kg.InputError, match="not found"):
        kg.explain(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(kg.InputError, match="is not valid JSON .* at line 1 column 2"):
        kg.explain(tmp_path / "bad.json")
    with pytest.raises(kg.InputError, match="it is a directory"):
        kg.explain(tmp_path)


def test_unusable_paths_and_stdin_are_input_errors(monkeypatch):
    # Found by hypothesis in CI: a string patient is a path, and these escaped as
    # ValueError / OSError tracebacks.
    with pytest.raises(kg.InputError, match="not a valid path: embedded null byte"):
        kg.explain("\x00")

    class ClosedStdin:
        def read(self, size=-1):
            raise OSError("stdin is closed")

    monkeypatch.setattr("sys.stdin", ClosedStdin())
    with pytest.raises(kg.InputError) as info:
        kg.explain("-")
    assert str(info.value) == ("file: standard input cannot be read (stdin is closed); "
                               "expected a patient's JSON on standard input")
