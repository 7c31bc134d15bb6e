"""The hand check of plain FHIR resources (kg.inputs.fhir_shape) says yes only where the R4B model does.

``plainly_valid(r)`` lets the reader skip the model's validation of ``r``; the
rule is that it is True only for a resource the model accepts. Checked on:

* generated resources: each element the hand check knows, given a good value
  or a near miss (a trailing newline, an impossible day, a leap second, a
  64/65/256-character id, a lone surrogate, a number as a string...), with
  unknown elements, nulls, empty arrays and missing required elements mixed in;
* realistic resources (the bench's prefetch, the CDS fixtures) broken at one
  random path, as tests/test_serve_cds_fuzz.py breaks a call;
* every resource of the FHIR test files (HL7's examples, painkg's own).

And end to end: reading each FHIR test file and each CDS fixture with the hand
check and with the model alone gives the same records, the same ignored
resources, or the same error, word for word.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kg.inputs.fhir as fhir_module
from kg.errors import InputError
from kg.inputs.fhir_shape import SHAPES, plainly_valid
from kg.inputs.fhir_validate import FhirInputError, validate_resource
from kg.inputs.intake import intake
from kg.inputs.reading import loads

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "benchmarks"))
from json_mutation import mutated_at_random_path  # noqa: E402
from serve_load import fhir_prefetch, patients  # noqa: E402

GEN = settings(max_examples=400, deadline=None, derandomize=True, database=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def model_accepts(resource: dict) -> bool:
    try:
        validate_resource(resource, "X")
    except FhirInputError:
        return False
    return True


def check(resource) -> bool:
    """The rule: the hand check's yes is the model's yes. Returns the hand check's answer."""
    fast = plainly_valid(resource)
    if fast:
        assert model_accepts(resource), f"plainly_valid accepted what the model refuses: {resource!r}"
    return fast


# --- the grammar: each element kind, good values and near misses -----------------------------------

NEAR = ["", " ", "\t", "\n", "\x0b", "\x1c", "\x00", "a\n", "\na", "x y", " x", "x ", "x  y", "a\u00a0b", "\u2028",
        "é", "naïve text", "\ud800", "a" * 64, "a" * 65, "a" * 255, "a" * 256, "p.1-x", "p_1", "p/1", "Patient/p1",
        "http://x", "urn:uuid:0", "S39.012A", "final", "active", "male", "Male", "unknown",
        "2026", "2026-03", "2026-3-1", "2026-03-01", "2026-02-29", "2024-02-29", "2026-02-30", "2026-04-31",
        "0000-01-01", "0999-01-01", "1000-01-01", "9999-12-31", "2026-03-01T10:00:00Z", "2026-03-01T10:00:00",
        "2026-03-01T10:00Z", "2026-03-01T24:00:00Z", "2026-03-01T23:59:60Z", "2026-03-01T10:00:00.123456Z",
        "2026-03-01T10:00:00.1234567Z", "2026-03-01T10:00:00+14:00", "2026-03-01T10:00:00+13:59",
        "2026-03-01T10:00:00-00:00", "2026-03-01T10:00:00+15:00", "2026-03-01 10:00:00Z", "2026-03-01T10:00:00Z\n"]
NASTY = st.sampled_from(NEAR) | st.sampled_from([None, True, False, 0, 1, -1, 2 ** 40, 1.5, [], {}, [{}], [None],
                                                  {"a": 1}, ["x"]]) | st.text(max_size=12)


def _kind(good):
    return st.integers(0, 7).flatmap(lambda n: NASTY if n == 0 else good)  # a near miss one time in eight


STRING = _kind(st.sampled_from(["spasm", "Muscle strain", "x", "Ünïcode ok", "a\tb", "p1"]))
CODE = _kind(st.sampled_from(["active", "final", "S39.012A", "muscle_spasm", "a b"]))
URI = _kind(st.sampled_from(["http://hl7.org/fhir/sid/icd-10-cm", "https://w3id.org/painkg/ontology", "urn:oid:1.2"]))
ID = _kind(st.sampled_from(["p1", "c-1", "a.b", "A" * 64]))
BOOL = _kind(st.booleans())
DATE = _kind(st.sampled_from(["1980-02-29", "2026-03-01", "1000-01-01"]))
DATE_TIME = _kind(st.sampled_from(["2026-03-01", "2026-03-01T10:00:00Z", "2026-03-01T10:00:00.5+02:00"]))
DECIMAL = _kind(st.sampled_from([0, 72, 72.5, -3, 10 ** 14, 1e14]) | st.sampled_from([10 ** 15, 1e15, 2 ** 64, "72"]))
INSTANT = _kind(st.sampled_from(["2026-03-01T10:00:00Z", "2026-03-01T10:00:00.123-05:00"]))


@st.composite
def obj(draw, fields: dict, required=()):
    keys = draw(st.lists(st.sampled_from(sorted(fields)), min_size=draw(st.integers(0, 9)) > 0,
                         max_size=len(fields), unique=True))
    keys = list(dict.fromkeys([*required, *keys])) if draw(st.integers(0, 5)) else keys
    out = {k: draw(fields[k]) for k in keys}
    if draw(st.integers(0, 8)) == 0:
        out[draw(st.sampled_from(["id", "extension", "text", "_code", "modifierExtension", "zzz"]))] = draw(NASTY)
    return out


def arr(item):
    return st.integers(0, 9).flatmap(lambda n: st.lists(item, min_size=1, max_size=3) if n > 1
                                     else st.just([]) if n else NASTY)


CODING = _kind(obj({"system": URI, "version": STRING, "code": CODE, "display": STRING, "userSelected": BOOL}))
CONCEPT = _kind(obj({"coding": arr(CODING), "text": STRING}))
REFERENCE = _kind(obj({"reference": STRING, "display": STRING}))
META = _kind(obj({"versionId": ID, "lastUpdated": INSTANT}))
QUANTITY = _kind(obj({"value": DECIMAL, "unit": STRING, "system": URI, "code": CODE, "comparator": CODE}))
EXTENSION = _kind(obj({"url": URI, "valueCodeableConcept": CONCEPT, "valueString": STRING}, ("url",)))

KINDS = {  # each element of kg.inputs.fhir_shape.SHAPES, by its FHIR type (this test's own reading of R4B)
    "Patient": {"id": ID, "meta": META, "birthDate": DATE, "gender": CODE, "active": BOOL},
    "Condition": {"id": ID, "meta": META, "subject": REFERENCE, "encounter": REFERENCE, "code": CONCEPT,
                  "bodySite": arr(CONCEPT), "category": arr(CONCEPT), "clinicalStatus": CONCEPT,
                  "verificationStatus": CONCEPT, "onsetDateTime": DATE_TIME, "abatementDateTime": DATE_TIME,
                  "recordedDate": DATE_TIME, "extension": arr(EXTENSION), "onsetString": STRING},
    "Observation": {"id": ID, "meta": META, "status": CODE, "code": CONCEPT, "subject": REFERENCE,
                    "encounter": REFERENCE, "category": arr(CONCEPT), "bodySite": CONCEPT | arr(CONCEPT),
                    "effectiveDateTime": DATE_TIME, "issued": INSTANT, "interpretation": arr(CONCEPT),
                    "valueBoolean": BOOL, "valueCodeableConcept": CONCEPT, "valueString": STRING,
                    "valueQuantity": QUANTITY},
    "Procedure": {"id": ID, "meta": META, "status": CODE, "subject": REFERENCE, "encounter": REFERENCE,
                  "code": CONCEPT, "performedDateTime": DATE_TIME},
}
REQUIRED = {"Patient": (), "Condition": ("subject",), "Observation": ("status", "code"),
            "Procedure": ("status", "subject")}


def test_the_grammar_covers_every_element_the_hand_check_knows():
    for kind, (fields, required) in SHAPES.items():
        assert set(fields) - {"resourceType"} <= set(KINDS[kind]), kind
        assert required == REQUIRED[kind]


@st.composite
def resources(draw):
    kind = draw(st.sampled_from(sorted(KINDS)))
    return {"resourceType": kind, **draw(obj(KINDS[kind], REQUIRED[kind]))}


@GEN
@given(resources())
def test_generated_resources_the_hand_check_accepts_the_model_accepts(resource):
    check(resource)


def test_generated_resources_reach_both_answers():
    # The property above would hold vacuously if the grammar never made a plain resource.
    answers = set()

    @settings(max_examples=200, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(resources())
    def run(resource):
        answers.add(check(resource))

    run()
    assert answers == {True, False}


# --- realistic resources, broken at one path ---------------------------------------------------------

def _bench_resources() -> list[dict]:
    out = []
    for p in patients(60, 11):
        pre = fhir_prefetch(p, p["id"])
        out.append(pre["patient"])
        for key in ("conditions", "observations"):
            out += [e["resource"] for e in pre[key]["entry"]]
    return out


def _fixture_resources() -> list[dict]:
    out = []
    for path in sorted((HERE / "fhir_cds").glob("*.json")):
        for value in json.loads(path.read_text()).values():
            if isinstance(value, dict) and value.get("resourceType") == "Bundle":
                out += [e["resource"] for e in value.get("entry", [])]
            elif isinstance(value, dict):
                out.append(value)
    return out


REALISTIC = _bench_resources() + _fixture_resources()


def test_realistic_resources_are_plainly_valid():
    # The CDS hook's fast path: the bench's prefetch and the fixtures need no model.
    assert len(REALISTIC) > 100
    assert [r for r in REALISTIC if not plainly_valid(r)] == []


EXTRA_KEYS = ("extension", "valueString", "onsetPeriod", "contained", "text", "_status", "note")


@st.composite
def broken(draw):
    """A realistic resource with the value at a random path (drawn level by level) replaced by a near miss, or removed."""
    return draw(mutated_at_random_path(draw(st.sampled_from(REALISTIC)), EXTRA_KEYS, NASTY))


@GEN
@given(broken())
def test_broken_realistic_resources_the_hand_check_accepts_the_model_accepts(resource):
    check(resource)


# --- the FHIR test files -----------------------------------------------------------------------------

def _fhir_files() -> list[Path]:
    files = sorted((HERE / "fhir").rglob("*.json")) + sorted((HERE / "fhir_cds").glob("*.json"))
    return [f for f in files if f.name != "README.json"]


def _walk(value):
    if isinstance(value, dict):
        if value.get("resourceType") in SHAPES:
            yield value
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def test_every_resource_of_the_fhir_test_files():
    seen = plain = 0
    for path in _fhir_files() + sorted((HERE / "fhir").rglob("*.ndjson")):
        text = path.read_text(encoding="utf-8")
        documents = [loads(line) for line in text.splitlines() if line.strip()] if path.suffix == ".ndjson" \
            else [loads(text)]
        for resource in (r for d in documents for r in _walk(d)):
            seen += 1
            plain += check(resource)
    assert seen > 300 and 0 < plain < seen


def _outcome(data, **kwargs):
    try:
        got = intake(data, input="fhir", **kwargs)
    except InputError as exc:
        return ("error", type(exc).__name__, str(exc))
    return ("ok", got.record, got.ignored)


@pytest.mark.parametrize("path", _fhir_files(), ids=lambda p: str(p.relative_to(HERE)))
def test_reading_a_file_gives_the_same_with_the_model_alone(path, monkeypatch):
    data = loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and "resourceType" not in data:  # a CDS fixture: its prefetch, as the hook gathers it
        data = [r for v in data.values() if isinstance(v, dict) for r in
                ([e["resource"] for e in v.get("entry", [])] if v.get("resourceType") == "Bundle" else [v])]
    patient = next((r["id"] for r in _walk(data) if r.get("resourceType") == "Patient" and "id" in r), None)
    kwargs = {"as_of": "2026-03-21", "patient": patient}
    fast = _outcome(data, **kwargs)
    monkeypatch.setattr(fhir_module, "plainly_valid", lambda resource: False)  # every resource to the model
    assert _outcome(data, **kwargs) == fast


def test_the_file_cases_are_all_there():
    assert len(_fhir_files()) >= 130
