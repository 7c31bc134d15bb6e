"""FHIR R4 input: bundles, single resources, bulk NDJSON, the official HL7 examples, and bad FHIR."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kg
from kg.inputs.fhir import FhirInputError, FhirPatient, is_fhir, read_fhir, read_fhir_ndjson_dir

FHIR = Path(__file__).parent / "fhir"
ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(FHIR))
from painkg_to_fhir import SITES, codings, record_to_bundle, site_records  # noqa: E402

ICD = "http://hl7.org/fhir/sid/icd-10-cm"
ACTIVE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}


def load(name: str) -> dict:
    return json.loads((FHIR / name).read_text())


def condition(cid="c1", code="S39.012A", system=ICD, **extra) -> dict:
    out = {"resourceType": "Condition", "id": cid, "subject": {"reference": "Patient/p1"},
           "code": {"coding": [{"system": system, "code": code}]}, "onsetDateTime": "2026-03-01"}
    out.update(extra)
    return out


def bundle(*resources, timestamp="2026-03-21T10:00:00Z") -> dict:
    return {"resourceType": "Bundle", "type": "collection", "timestamp": timestamp,
            "entry": [{"resource": {"resourceType": "Patient", "id": "p1"}}] + [{"resource": r} for r in resources]}


# ------------------------------------------------------------------ equivalence with painkg JSON

@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "examples").glob("*.json")))
def test_every_example_as_fhir_explains_the_same(example, reasoner):
    record = json.loads((ROOT / "examples" / example).read_text())
    [patient] = read_fhir(record_to_bundle(record))
    assert patient.ignored == ()
    assert reasoner.explain(patient.record).to_json() == reasoner.explain(record).to_json()


def test_nine_examples():
    assert len(list((ROOT / "examples").glob("*.json"))) == 9


@pytest.mark.parametrize("site", SITES)
def test_strains_sprains_tears_and_knots_at_each_site(site, reasoner):
    patients = read_fhir(load(f"sites/{site}.json"))
    assert [p.record["id"] for p in patients] == [r["id"] for r in site_records(site)]
    firm = site in ("lower_back", "upper_back", "neck")
    for patient, record in zip(patients, site_records(site)):
        e = reasoner.explain(patient.record)
        assert e.to_json() == reasoner.explain(record).to_json()
        knots = e.fact(f"muscle_knots@{site}").certainty
        if patient.record["injuries"]:
            assert (e.pain_persists, e.persistent_pain, knots) == ((True, "expected", "expected") if firm
                                                                 else (False, "possible", "possible"))
        else:
            assert (e.pain_persists, e.persistent_pain, knots) == (True, "expected", "reported")


def test_bundled_example_is_the_day20_patient():
    fhir = kg.explain(json.loads((ROOT / "examples/fhir/lower-back-strain-bundle.json").read_text()))
    assert fhir.to_json() == kg.explain(str(ROOT / "examples/lower-back-strain-day20.json")).to_json()


# ------------------------------------------------------------------ mapping rules

def test_icd_codes_imply_the_site():
    cases = {"S39.012A": ("muscle_strain", "lower_back"), "S16.1XXA": ("muscle_strain", "neck"),
             "S29.012A": ("muscle_strain", "upper_back"), "S33.5XXA": ("ligament_sprain", "lower_back"),
             "S13.4XXA": ("ligament_sprain", "neck"), "S39.012D": ("muscle_strain", "lower_back")}
    for code, (kind, site) in cases.items():
        [p] = read_fhir(bundle(condition(code=code, clinicalStatus=ACTIVE)))
        assert (p.record["injuries"][0]["kind"], p.record["injuries"][0]["site"]) == (kind, site), code


def test_clinical_status_and_abatement():
    resolved = {"coding": [{"code": "resolved"}]}
    [p] = read_fhir(bundle(condition(clinicalStatus=resolved, abatementDateTime="2026-03-15T08:00:00Z")))
    assert p.record["injuries"][0] | {} == {"kind": "muscle_strain", "site": "lower_back", "onset": "2026-03-01",
                                           "resolved": True, "resolved_on": "2026-03-15"}
    for code, done in (("active", False), ("inactive", True), ("remission", True)):
        [p] = read_fhir(bundle(condition(clinicalStatus={"coding": [{"code": code}]})))
        assert p.record["injuries"][0]["resolved"] is done, code
    for code in ("recurrence", "relapse"):  # the current episode's start is not given (tests/test_record_claims.py)
        [p] = read_fhir(bundle(condition(clinicalStatus={"coding": [{"code": code}]})))
        assert p.record["injuries"][0]["resolved"] is False and p.ignored == (), code
        assert p.record["injuries"][0]["episode_start_unknown"] is True, code


def test_onset_period_and_age():
    no_onset = {k: v for k, v in condition().items() if k != "onsetDateTime"}
    [p] = read_fhir(bundle(no_onset | {"onsetPeriod": {"start": "2026-03-02"}}))
    assert p.record["injuries"][0]["onset"] == "2026-03-02"
    data = bundle(no_onset | {"onsetAge": {"value": 40, "unit": "a", "system": "http://unitsofmeasure.org", "code": "a"}})
    data["entry"][0]["resource"]["birthDate"] = "1986-03-05"
    [p] = read_fhir(data)
    assert p.record["injuries"][0]["onset"] == "2026-03-05"
    del data["entry"][0]["resource"]["birthDate"]
    [p] = read_fhir(data)
    assert p.ignored == ({"resource": "Condition/c1",
                          "reason": "onsetAge needs the Patient's birthDate, which is not given"},)


def test_observation_findings_with_body_site_and_absent_values():
    obs = {"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/p1"},
           "code": {"coding": [{"system": "http://human-phenotype-ontology.org", "code": "HP:0003394"}]},
           "bodySite": {"coding": [{"system": "http://purl.obolibrary.org/obo/uberon.owl", "code": "UBERON:0000974"}]}}
    absent = dict(obs, id="o2", valueBoolean=False)
    knots = dict(obs, id="o3", code={"coding": [{"system": ICD, "code": "M79.18"}]}, bodySite=None)
    knots.pop("bodySite")
    [p] = read_fhir(bundle(condition(code="S16.1XXA"), obs, absent, knots))
    assert p.record["findings"] == [{"kind": "muscle_spasm", "site": "neck"}, "muscle_knots"]
    assert p.ignored == ({"resource": "Observation/o2",
                          "reason": "records muscle spasm as absent (valueBoolean false)"},)
    assert p.sources == ("Patient/p1", "Condition/c1", "Observation/o1", "Observation/o3")


def test_ignored_resources_are_listed_in_input_order():
    [p] = read_fhir(load("refuted-condition.json"))
    assert p.ignored == (
        {"resource": "Condition/c1", "reason": "verificationStatus is refuted (the condition was ruled out)"},
        {"resource": "Condition/c2", "reason": "code I10 (ICD-10-CM) is not a concept painkg models"},
        {"resource": "Procedure/heat1", "reason": "heat therapy is a therapy the source names; painkg reasons from "
                                                  "injuries and findings, not from treatments given (`painkg "
                                                  "interventions` lists the therapies)"})
    assert p.record["injuries"] == [{"kind": "muscle_strain", "site": "neck", "onset": "2026-03-01",
                                     "resolved": False}]


def test_shared_codes_are_ambiguous_not_guessed():
    [p] = read_fhir(bundle(condition(code="M54.50")))
    assert p.ignored[0]["reason"] == ("code M54.50 (ICD-10-CM) matches several painkg concepts (acute lower back "
                                      "pain, severe low back pain); painkg cannot tell which")


def test_entered_in_error_and_duplicates():
    eie = {"coding": [{"code": "entered-in-error"}]}
    [p] = read_fhir(bundle(condition(verificationStatus=eie), condition("c2"), condition("c3")))
    assert [i["reason"] for i in p.ignored] == [
        "verificationStatus is entered-in-error",
        "repeats Condition/c2 (the same injury at the same site); the first one is used"]


def test_versions_of_one_resource_in_a_bundle_read_the_latest():
    # bdl-7: entries with the same fullUrl are allowed with different meta.versionId
    old = condition(code="S16.1XXA", meta={"versionId": "1", "lastUpdated": "2026-03-02T09:00:00+01:00"})
    new = condition(code="S39.012A", meta={"versionId": "2", "lastUpdated": "2026-03-02T08:30:00Z"})
    data = bundle()
    data["entry"] += [{"fullUrl": "http://a.example.org/fhir/Condition/c1", "resource": r} for r in (new, old)]
    [p] = read_fhir(data)
    assert [i["site"] for i in p.record["injuries"]] == ["lower_back"]  # 08:30Z is after 09:00+01:00
    assert p.ignored == ({"resource": "Condition/c1/_history/1",
                          "reason": "is an earlier version of Condition/c1; version 2, the latest, is used"},)
    for r in (old, new):
        r["meta"].pop("lastUpdated")
        r["meta"]["versionId"] = "a" if r is old else "b"
    with pytest.raises(FhirInputError, match=r"^entry\[2\]\.meta\.versionId: gives versions b, a of http://a\.example"
                                             r"\.org/fhir/Condition/c1; painkg cannot tell the latest"):
        read_fhir(data)


def test_a_subject_two_servers_share_is_not_guessed():
    data = bundle(condition())
    data["entry"][0]["fullUrl"] = "http://a.example.org/fhir/Patient/p1"
    data["entry"].append({"fullUrl": "http://b.example.org/fhir/Patient/p1",
                          "resource": {"resourceType": "Patient", "id": "p1"}})
    first, second = read_fhir(data)
    assert first.ignored == second.ignored == ({"resource": "Condition/c1", "reason": (
        "its subject Patient/p1 may be any of http://a.example.org/fhir/Patient/p1, "
        "http://b.example.org/fhir/Patient/p1; painkg cannot tell which")},)


# ------------------------------------------------------------------ shapes of input

def test_single_resource_and_list_need_as_of():
    with pytest.raises(kg.InputError) as err:
        read_fhir(condition())
    assert str(err.value) == ("as_of: is missing, so painkg cannot tell the assessment date; pass --as-of YYYY-MM-DD "
                              "(as_of= in Python)")
    [p] = read_fhir([condition(), condition("c2", code="S33.5XXA")], as_of="2026-03-10")
    assert (p.record["id"], p.record["assessed_on"], len(p.record["injuries"])) == ("p1", "2026-03-10", 2)
    assert p.sources == ("Condition/c1", "Condition/c2")


def test_is_fhir():
    assert is_fhir({"resourceType": "Bundle"}) and is_fhir([{"resourceType": "Condition"}])
    assert not is_fhir({"id": "p1"}) and not is_fhir([]) and not is_fhir("Bundle")


def test_fhir_patient_is_frozen():
    [p] = read_fhir(bundle())
    assert isinstance(p, FhirPatient) and p.record == {"id": "p1", "assessed_on": "2026-03-21", "injuries": [],
                                                       "findings": []}
    with pytest.raises(AttributeError):
        p.record = {}


def test_bulk_ndjson_dir():
    patients = list(read_fhir_ndjson_dir(FHIR / "bulk"))
    records = [json.loads(line) for line in (FHIR / "bulk-equivalent.ndjson").read_text().splitlines()]
    assert [b.reference for b in patients] == [f"Patient/{r['id']}" for r in records]
    for bulk, record in zip(patients, records):
        assert kg.parse_patient(read_fhir(bulk.bundle)[0].record).to_dict() == kg.parse_patient(record).to_dict()


# ------------------------------------------------------------------ official HL7 examples

# Eight of the vendored examples, each read to a patient; every vendored example is read by
# tests/test_record_claims.py (test_official_hl7_examples_*).
HL7 = ["Bundle-bundle-transaction.json", "Condition-example.json", "Condition-f201.json", "Condition-stroke.json",
       "Observation-abdo-tender.json", "Observation-blood-pressure-cancel.json", "Patient-example.json",
       "Procedure-physical-therapy.json"]


def test_hl7_examples_are_vendored():
    assert all((FHIR / "hl7-examples" / name).is_file() for name in HL7)
    assert len(list((FHIR / "hl7-examples").glob("*.json"))) == 133


@pytest.mark.parametrize("name", HL7)
def test_hl7_examples_read_without_error(name):
    patients = read_fhir(json.loads((FHIR / "hl7-examples" / name).read_text()), as_of="2026-01-01")
    assert patients and all(p.record["injuries"] == [] and p.record["findings"] == [] for p in patients)


def test_hl7_example_reasons():
    def reasons(name):
        [p, *_] = read_fhir(json.loads((FHIR / "hl7-examples" / name).read_text()), as_of="2026-01-01")
        return [i["reason"] for i in p.ignored]

    assert reasons("Condition-example.json") == ["code 39065001 (SNOMED CT) is not a concept painkg models"]
    assert reasons("Observation-blood-pressure-cancel.json") == [
        "status is cancelled; painkg reads final, amended or corrected observations"]
    assert reasons("Procedure-physical-therapy.json") == ["painkg reasons from injuries and findings, not from "
                                                          "procedures"]
    assert reasons("Bundle-bundle-transaction.json")[:2] == ["has no resource (a DELETE request)"] * 2


# ------------------------------------------------------------------ bad FHIR

@pytest.mark.parametrize("name, message", [
    ("invalid-structure.json", 'Condition/c1.onsetDateTime: "2026-13-01" is not allowed; expected a FHIR dateTime '
                               "(YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a time zone)"),
    ("con4-violation.json", 'Condition/c1.clinicalStatus: "active" is not allowed; expected inactive, remission or '
                            "resolved: the Condition has an abatement (FHIR invariant con-4)"),
])
def test_bad_files(name, message):
    with pytest.raises(FhirInputError) as err:
        read_fhir(load(name))
    assert str(err.value) == message
    assert (err.value.resource, err.value.element) == ("Condition/c1", message.split(":")[0].split(".", 1)[1])


@pytest.mark.parametrize("change, message", [
    (lambda c: c.update(bogus=1), "Condition/c1.bogus: is not an element of Condition in FHIR R4"),
    (lambda c: c.pop("subject"), "Condition/c1.subject: is missing; FHIR R4 requires it"),
    (lambda c: c.update(clinicalStatus={"coding": [{"code": "bogus"}]}),
     'Condition/c1.clinicalStatus.coding[0].code: "bogus" is not allowed; expected one of active, recurrence, '
     "relapse, inactive, remission, resolved (http://terminology.hl7.org/CodeSystem/condition-clinical)"),
    (lambda c: c.update(abatementDateTime="2026-03-02"),
     "Condition/c1.clinicalStatus: is missing; expected inactive, remission or resolved: the Condition has "
     "abatementDateTime (FHIR invariant con-4)"),
    (lambda c: c.update(onsetDateTime="2026-04-01"),
     'Condition/c1.onsetDateTime: "2026-04-01" is after the assessment date 2026-03-21'),
    (lambda c: c.update(onsetAge={"value": 3}),
     "Condition/c1.onset[x]: gives onsetAge, onsetDateTime; expected one onset[x] element only (one of onsetAge, "
     "onsetDateTime, onsetPeriod, onsetRange, onsetString)"),
    (lambda c: c.update(bodySite=[{"coding": [{"system": "http://purl.obolibrary.org/obo/uberon.owl",
                                               "code": "UBERON:0000974"}]}]),
     'Condition/c1.bodySite: "neck" disagrees with the code, a code of the lower back; give one site'),
])
def test_bad_condition_messages(change, message):
    c = condition(clinicalStatus=None)
    c.pop("clinicalStatus")
    change(c)
    with pytest.raises(FhirInputError) as err:
        read_fhir(bundle(c))
    assert str(err.value) == message


def test_bad_bundle_type_and_several_patients_for_explain():
    data = bundle()
    data["type"] = "history"
    with pytest.raises(FhirInputError, match=r'^Bundle.type: "history" is not allowed; expected collection, '
                                             r"searchset, transaction, batch, document, message$"):
        read_fhir(data)
    with pytest.raises(FhirInputError, match=r"holds 4 patients \(neck-muscle-strain, neck-ligament-sprain, "
                                             r"neck-muscle-tear, neck-knots\)"):
        kg.explain(load("sites/neck.json"))


# ------------------------------------------------------------------ property: painkg -> FHIR -> painkg

KINDS = ("muscle_strain", "muscle_tear", "muscle_overstretch", "ligament_sprain")
MECHANISMS = (None, "heavy_lifting", "lifting_while_twisting", "sudden_movement", "fall")
FINDINGS = ("muscle_spasm", "muscle_knots", "localized_pain", "tender_to_touch", "better_at_rest",
            "difficulty_moving")


@st.composite
def patients(draw):
    injuries, used = [], set()
    for _ in range(draw(st.integers(0, 3))):
        kind, site = draw(st.sampled_from(KINDS)), draw(st.sampled_from(SITES))
        if (kind, site) in used:
            continue
        used.add((kind, site))
        onset = draw(st.integers(0, 60))
        injury = {"kind": kind, "site": site, "days_since_onset": onset}
        mechanism = draw(st.sampled_from(MECHANISMS))
        if mechanism:
            injury["mechanism"] = mechanism
        resolved = draw(st.sampled_from(("no", "undated", "dated")))
        if resolved == "undated":
            injury["resolved"] = True
        elif resolved == "dated":
            injury["resolved_on"] = f"2026-06-{30 - draw(st.integers(0, onset)) // 3:02d}"
        injuries.append(injury)
    findings = draw(st.lists(st.one_of(st.sampled_from(FINDINGS), st.builds(
        lambda k, s: {"kind": k, "site": s}, st.sampled_from(FINDINGS), st.sampled_from(SITES))), max_size=4))
    pid = draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9\-.]{0,20}", fullmatch=True))
    return {"id": pid, "assessed_on": "2026-06-30", "injuries": injuries, "findings": findings}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patients(), st.sampled_from(("relative", "urn")))
def test_any_patient_round_trips_through_fhir(record, refs):
    try:
        expected = kg.parse_patient(copy.deepcopy(record)).to_dict()
    except kg.InputError:
        return  # e.g. a resolved_on before its onset: not a patient to convert
    [p] = read_fhir(record_to_bundle(record, ref_style=refs))
    assert p.ignored == ()
    assert kg.parse_patient(p.record).to_dict() == expected


def test_generator_uses_ontology_codes():
    assert {"system": ICD, "code": "S16.1XXA"} in codings("muscle_strain", "neck")
    assert {"system": ICD, "code": "S39.012A"} not in codings("muscle_strain", "neck")
