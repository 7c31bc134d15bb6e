"""The hand check of a record's shape (kg.inputs.patient_shape) accepts only what the contract's
pydantic models accept, and reads the same fields: so errors and answers are the same either way."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

import kg
from kg.inputs.patient_schema import validate_shape
from kg.inputs.patient_shape import fast_shape

FIELDS = ("kind", "site", "onset", "days_since_onset", "mechanism", "resolved", "resolved_on", "resolved_by",
          "episode_start_unknown")
ANY = st.one_of(st.none(), st.booleans(), st.integers(-3, 40), st.floats(allow_nan=False), st.text(max_size=12),
                st.sampled_from(["2026-03-01", "strain", "neck", "lower_back", " "]),
                st.just(dt.date(2026, 3, 1)), st.just(dt.datetime(2026, 3, 1)), st.lists(st.integers(), max_size=2))
INJURY = st.dictionaries(st.sampled_from(FIELDS + ("extra",)), ANY, max_size=6)
FINDING = st.one_of(st.text(max_size=10), st.dictionaries(st.sampled_from(("kind", "site", "x")), ANY, max_size=3), ANY)
RECORD = st.dictionaries(st.sampled_from(("id", "assessed_on", "injuries", "findings", "other")),
                         st.one_of(ANY, st.lists(INJURY, max_size=3), st.lists(FINDING, max_size=3)), max_size=4)


def fields(raw) -> tuple:
    findings = [f if isinstance(f, str) else (f.kind, f.site) for f in raw.findings]
    injuries = [(tuple(getattr(i, name) for name in FIELDS), set(i.model_fields_set)) for i in raw.injuries]
    return raw.id, raw.assessed_on, injuries, findings


@settings(max_examples=400, deadline=None)
@given(RECORD)
def test_what_the_hand_check_accepts_the_models_accept_with_the_same_fields(data):
    fast = fast_shape(data)
    if fast is None:
        return
    assert fields(fast) == fields(validate_shape(data))


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({"id": st.sampled_from(["p", "q1"])},
                             optional={"assessed_on": st.sampled_from(["2026-03-01", None]),
                                       "injuries": st.lists(st.fixed_dictionaries(
                                           {"kind": st.just("strain"), "site": st.sampled_from(["neck", "lower_back"])},
                                           optional={"days_since_onset": st.integers(0, 30),
                                                     "resolved": st.booleans()}), max_size=1),
                                       "findings": st.lists(st.sampled_from(["localized_pain", "muscle_spasm"]),
                                                            max_size=2)}))
def test_well_formed_records_take_the_hand_check(data):
    assert fast_shape(data) is not None


def test_explaining_a_file_does_not_import_pydantic():
    code = ("import sys, kg; kg.explain('examples/lower-back-strain-day20.json').to_json(); "
            "print('pydantic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "False\n"


def test_a_malformed_record_is_still_named_exactly():
    try:
        kg.parse_patient({"id": "p", "injuries": [{"kind": "strain", "site": "neck", "days_since_onset": 1.5}]})
    except kg.InputError as exc:
        assert str(exc) == "injuries[0].days_since_onset: 1.5 is not allowed; expected a whole number of days (>= 0)"
    else:
        raise AssertionError("accepted")
