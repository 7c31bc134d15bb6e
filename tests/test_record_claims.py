"""Claim what the record says, no more (FHIR codes, record dates, hedged and negated input).

Each test names the finding it enforces.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import kg
from kg.inputs.fhir import read_fhir

ICD = "http://hl7.org/fhir/sid/icd-10-cm"


def _bundle(code: str) -> dict:
    return {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "s1"}},
        {"resource": {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/s1"},
                      "code": {"coding": [{"system": ICD, "code": code}]}, "onsetDateTime": "2026-03-01"}}]}


@pytest.mark.parametrize("code, kind, site", [
    ("S46.011A", "muscle_strain", "shoulder"),  # "a shoulder strain (S46.011A) is 'not a concept painkg models'"
    ("S46.812A", "muscle_strain", "shoulder"),
    ("S76.019A", "muscle_strain", "hip"),
    ("S76.311A", "muscle_strain", "thigh"),
    ("S86.112D", "muscle_strain", "calf"),  # a subsequent encounter reads as the same code
    ("S29.012A", "muscle_strain", "upper_back"),
    ("S23.3XXA", "ligament_sprain", "upper_back"),
    ("S43.401A", "ligament_sprain", "shoulder"),
    ("S73.109A", "ligament_sprain", "hip"),
])
def test_icd10cm_strain_and_sprain_codes_exist_for_every_modelled_site(code, kind, site):
    (patient,) = read_fhir(_bundle(code), as_of="2026-03-20")
    (injury,) = patient.record["injuries"]
    assert (injury["kind"], injury["site"]) == (kind, site)
    assert patient.ignored == ()


def test_every_modelled_site_has_a_strain_code():
    onto = kg.load_ontology()
    from kg.knowledge.xrefs import load_xrefs

    x = load_xrefs()
    sites = {x.site_of(ICD, ref.code) for ref in x.of_concept("muscle_strain") if ref.scheme == "ICD-10-CM"}
    assert sites == set(onto.keys("site"))


# ------------------------------------------------------------------ hedged, negated and valid-but-refused FHIR

SCT = "http://snomed.info/sct"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
HPO = "http://human-phenotype-ontology.org"
HL7 = Path(__file__).parent / "fhir" / "hl7-examples"
FIRM = "as it holds what it reads as reported, its firmest certainty"


def _condition(cid="c1", code="S16.1XXA", onset="2026-03-01", **extra) -> dict:
    out = {"resourceType": "Condition", "id": cid, "subject": {"reference": "Patient/p1"},
           "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
           "code": {"coding": [{"system": ICD, "code": code}]}, "onsetDateTime": onset}
    out.update(extra)
    return out


def _spasm(oid="o1", **extra) -> dict:
    out = {"resourceType": "Observation", "id": oid, "status": "final", "subject": {"reference": "Patient/p1"},
           "code": {"coding": [{"system": HPO, "code": "HP:0003394"}]}}
    out.update(extra)
    return out


def _of(*resources, timestamp="2026-03-16T09:00:00Z", kind="collection", first=None) -> dict:
    entries = ([{"resource": first}] if first else []) + [{"resource": {"resourceType": "Patient", "id": "p1"}}]
    return {"resourceType": "Bundle", "type": kind, "timestamp": timestamp,
            "entry": entries + [{"resource": r} for r in resources]}


def _verified(code: str) -> dict:
    return {"coding": [{"system": VERIFICATION, "code": code}]}


@pytest.mark.parametrize("code, gloss", [("differential", "one of the diagnoses still considered"),
                                         ("provisional", "a tentative diagnosis"),
                                         ("unconfirmed", "not confirmed")])
def test_condition_verificationStatus_differential_provisional_unconfirmed_is_not_reported(code, gloss, reasoner):
    # "a 15-day neck strain that is only a differential diagnosis gives 'Pain persists: yes (expected)'"
    bundle = _of(_condition(verificationStatus=_verified(code)))
    (patient,) = read_fhir(bundle)
    assert patient.record == {"id": "p1", "assessed_on": "2026-03-16", "injuries": [], "findings": []}
    assert patient.ignored == ({"resource": "Condition/c1", "reason": f"verificationStatus is {code} ({gloss}): "
                                f"painkg reasons only from confirmed diagnoses, {FIRM}"},)
    assert patient.sources == ("Patient/p1",)
    assert reasoner.explain(patient.record).pain_persists is False


@pytest.mark.parametrize("status", [None, "confirmed"])
def test_condition_verificationStatus_confirmed_or_absent_is_used(status, reasoner):
    extra = {"verificationStatus": _verified(status)} if status else {}
    (patient,) = read_fhir(_of(_condition(**extra)))
    assert patient.record["injuries"] == [{"kind": "muscle_strain", "site": "neck", "onset": "2026-03-01",
                                           "resolved": False}]
    assert patient.ignored == ()
    assert (reasoner.explain(patient.record).pain_persists, reasoner.explain(patient.record).persistent_pain) == (
        True, "expected")


def test_observation_status_preliminary_is_not_reported():
    (patient,) = read_fhir(_of(_spasm(status="preliminary"), _spasm("o2", status="final")))
    assert patient.record["findings"] == ["muscle_spasm"]
    assert patient.ignored == ({"resource": "Observation/o1", "reason": "status is preliminary: painkg reasons only "
                                "from final results (final, amended or corrected), " + FIRM},)
    assert patient.sources == ("Patient/p1", "Observation/o2")


@pytest.mark.parametrize("negation, evidence", [
    ({"valueBoolean": False}, "valueBoolean false"),
    ({"valueCodeableConcept": {"coding": [{"system": SCT, "code": "260385009"}]}},
     'valueCodeableConcept 260385009 "negative"'),
    ({"valueCodeableConcept": {"coding": [{"system": SCT, "code": "2667000"}]}},
     'valueCodeableConcept 2667000 "absent"'),
    ({"valueCodeableConcept": {"coding": [{"system": SCT, "code": "373067005"}]}},
     'valueCodeableConcept 373067005 "no"'),
    ({"valueCodeableConcept": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0136", "code": "N"}]}},
     'valueCodeableConcept N "no"'),
    ({"valueCodeableConcept": {"coding": [{"system": "http://example.org/local", "code": "x", "display": "Absent"}]}},
     'valueCodeableConcept "Absent"'),
    ({"valueCodeableConcept": {"text": "not present"}}, 'valueCodeableConcept "not present"'),
    ({"interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                                      "code": "NEG"}]}]}, "interpretation NEG"),
    ({"interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                                      "code": "ND"}]}]}, "interpretation ND"),
    ({"valueString": "no spasm"}, 'valueString "no spasm"'),
    ({"valueString": "None"}, 'valueString "None"'),
    ({"valueString": "Denies spasm on palpation"}, 'valueString "Denies spasm on palpation"'),
    ({"valueString": "not present today"}, 'valueString "not present today"'),
    ({"valueString": "absent"}, 'valueString "absent"'),
    ({"valueString": "negative"}, 'valueString "negative"'),
])
def test_observation_value_or_interpretation_recording_absence_is_never_present(negation, evidence):
    (patient,) = read_fhir(_of(_spasm(**negation)))
    assert patient.record["findings"] == []
    assert patient.ignored == ({"resource": "Observation/o1",
                                "reason": f"records muscle spasm as absent ({evidence})"},)


@pytest.mark.parametrize("value", [
    {"interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                                     "code": "N"}]}]},  # N is "normal" in v3 interpretation, not a negation
    {"valueBoolean": True},
    {"valueString": "marked spasm, not severe"},  # a negation word not at the start is not read
    {"valueString": "normal tone elsewhere"},
    {"valueCodeableConcept": {"coding": [{"system": SCT, "code": "52101004", "display": "Present"}]}},
])
def test_observation_value_that_does_not_negate_keeps_the_finding(value):
    (patient,) = read_fhir(_of(_spasm(**value)))
    assert (patient.record["findings"], patient.ignored) == (["muscle_spasm"], ())


@pytest.mark.parametrize("status", ["recurrence", "relapse"])
def test_condition_clinicalStatus_recurrence_or_relapse_does_not_count_from_the_original_onset(status, reasoner):
    # 166 days from the original onset read as unresolved: "knots expected", though the injury healed in between.
    # Issue: "the episode's start is unknown unless the resource pins it; treat it as the undated case does".
    recurring = _condition(code="S39.012A", onset="2025-10-01",
                           clinicalStatus={"coding": [{"system": CLINICAL, "code": status}]})
    (patient,) = read_fhir(_of(recurring))
    assert patient.record["injuries"] == [{"kind": "muscle_strain", "site": "lower_back", "onset": "2025-10-01",
                                           "resolved": False, "episode_start_unknown": True}]
    assert patient.ignored == ()
    e = reasoner.explain(patient.record)
    assert e.pain_persists is False and e.persistent_pain == "possible"
    assert e.fact("muscle_spasm@lower_back").certainty == "expected"  # the spasm it causes now
    overload = e.fact("muscle_overload@lower_back")
    assert [j.rule for j in overload.justifications] == ["overload-maybe-in-episode"]
    spasm = _condition("c2", code="M62.830", onset="2025-10-01",
                       clinicalStatus={"coding": [{"system": CLINICAL, "code": status}]})
    (patient,) = read_fhir(_of(spasm))  # a recurring finding is present now: no date is needed
    assert (patient.record["findings"], patient.ignored) == (["muscle_spasm"], ())


def test_onsetDateTime_with_a_time_is_taken_in_utc_13_days_not_14(reasoner):
    # 2026-03-01T23:30-05:00 is 2026-03-02T04:30Z; 13.2 days to 2026-03-15T10:00Z: 13 days, under the 14-day threshold
    onset = "2026-03-01T23:30:00-05:00"
    (patient,) = read_fhir(_of(_condition(code="S39.012A", onset=onset), timestamp="2026-03-15T10:00:00Z"))
    assert patient.record["injuries"] == [{"kind": "muscle_strain", "site": "lower_back", "onset": "2026-03-02",
                                           "resolved": False}]
    e = reasoner.explain(patient.record)
    assert (e.pain_persists, e.persistent_pain) == (False, None)
    assert "muscle_knots@lower_back" not in {f["id"] for f in e.to_dict()["facts"]}


def test_abatementDateTime_and_bundle_timestamp_with_a_time_are_taken_in_utc():
    resolved = _condition(code="S39.012A", clinicalStatus={"coding": [{"system": CLINICAL, "code": "resolved"}]},
                          abatementDateTime="2026-03-10T21:00:00-08:00")  # 2026-03-11T05:00Z
    (patient,) = read_fhir(_of(resolved, timestamp="2026-03-15T22:00:00-05:00"))  # 2026-03-16T03:00Z
    assert patient.record["assessed_on"] == "2026-03-16"
    assert patient.record["injuries"][0]["resolved_on"] == "2026-03-11"
    (patient,) = read_fhir(_of(_condition(onset="2026-03-01T00:30:00+14:00"), _condition("c2", code="S39.012A")))
    assert [i["onset"] for i in patient.record["injuries"]] == ["2026-02-28", "2026-03-01"]  # a date stays as it is


@pytest.mark.parametrize("kind, header, reason", [
    ("document", {"resourceType": "Composition", "id": "doc1", "status": "final",
                  "subject": {"reference": "Patient/p1"}, "type": {"text": "Discharge summary"}, "date": "2026-03-16",
                  "author": [{"display": "Dr A"}], "title": "Discharge"},
     "is the document's Composition (its sections and narrative); painkg reads the document's other resources"),
    ("message", {"resourceType": "MessageHeader", "id": "m1", "eventCoding": {"code": "admin-notify"},
                 "source": {"endpoint": "http://example.org/sender"}},
     "is the message's MessageHeader; painkg reads the message's other resources"),
])
def test_bundle_type_document_and_message_are_read(kind, header, reason):
    (patient,) = read_fhir(_of(_condition(), kind=kind, first=header))
    assert patient.record["injuries"] == [{"kind": "muscle_strain", "site": "neck", "onset": "2026-03-01",
                                           "resolved": False}]
    assert patient.ignored == ({"resource": f"{header['resourceType']}/{header['id']}", "reason": reason},)


def test_contained_patient_referenced_as_subject_hash_id():
    condition = _condition(subject={"reference": "#p1"},
                           contained=[{"resourceType": "Patient", "id": "p1", "birthDate": "1980-02-01"}])
    (patient,) = read_fhir(condition, as_of="2026-03-16")
    assert patient.record == {"id": "p1", "assessed_on": "2026-03-16", "injuries": [
        {"kind": "muscle_strain", "site": "neck", "onset": "2026-03-01", "resolved": False}], "findings": []}
    assert (patient.sources, patient.ignored) == (("Condition/c1",), ())
    del condition["contained"]
    with pytest.raises(kg.InputError, match=r"^Condition/c1: its subject #p1 is not a Patient it contains; painkg "
                                            r"reads resources about a patient$"):
        read_fhir(condition, as_of="2026-03-16")


def test_same_type_and_id_from_two_servers_are_told_apart_by_fullUrl():
    a, b = "http://a.example.org/fhir", "http://b.example.org/fhir"
    bundle = {"resourceType": "Bundle", "type": "collection", "timestamp": "2026-03-16T09:00:00Z", "entry": [
        {"fullUrl": f"{a}/Patient/p1", "resource": {"resourceType": "Patient", "id": "p1"}},
        {"fullUrl": f"{a}/Condition/1", "resource": _condition("1", code="S16.1XXA")},
        {"fullUrl": f"{b}/Condition/1", "resource": _condition("1", code="S39.012A",
                                                               subject={"reference": f"{a}/Patient/p1"})},
        {"fullUrl": f"{b}/Observation/1", "resource": _spasm("1", subject={"reference": "Patient/p1"})}]}
    (patient,) = read_fhir(bundle)
    assert [(i["kind"], i["site"]) for i in patient.record["injuries"]] == [("muscle_strain", "neck"),
                                                                           ("muscle_strain", "lower_back")]
    assert patient.record["findings"] == ["muscle_spasm"]  # Patient/p1 from server b: by type/id, after fullUrl
    assert patient.sources == ("Patient/p1", f"{a}/Condition/1", f"{b}/Condition/1", "Observation/1")
    assert patient.ignored == ()
    bundle["entry"].append(bundle["entry"][1])
    with pytest.raises(kg.InputError, match=r"^entry\[4\]\.id: repeats Condition/1; give each resource once$"):
        read_fhir(bundle)


def test_valueQuantity_value_longer_than_20_digits_in_an_element_painkg_never_reads(tmp_path):
    from click.testing import CliRunner

    from kg.cli import cli

    bundle = _of(_condition(extension=[{"url": "http://example.org/precise", "valueDecimal": 0}]),
                 _spasm("bp", code={"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                        valueQuantity={"value": 0, "unit": "mm[Hg]"}))
    text = json.dumps(bundle).replace('"valueDecimal": 0', '"valueDecimal": -3.14159265358979323846264338327950288e-5')
    text = text.replace('"value": 0', '"value": 120.000000000000000000000000001')
    (tmp_path / "long.json").write_text(text)
    result = CliRunner().invoke(cli, ["explain", str(tmp_path / "long.json"), "--input", "fhir", "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["pain_persists"], out["ignored"]) == (True, [{"resource": "Observation/bp", "reason": (
        "code 8480-6 (system http://loinc.org) is not a concept painkg models")}])
    # An element painkg reads keeps the limit: onsetAge.value
    aged = text.replace('"onsetDateTime": "2026-03-01"', '"onsetAge": {"value": 46.0000000000000000000000001, '
                                                         '"code": "a", "system": "http://unitsofmeasure.org"}')
    (tmp_path / "aged.json").write_text(aged.replace('"id": "p1"}', '"id": "p1", "birthDate": "1980-01-01"}', 1))
    result = CliRunner().invoke(cli, ["explain", str(tmp_path / "aged.json")])
    assert (result.exit_code, result.stderr) == (2, "error: Condition/c1.onsetAge.value: a number has 28 characters; "
                                                    "expected numbers of at most 20 characters\n")


def test_condition_bodySite_painkg_does_not_model_is_listed_when_the_code_names_the_site():
    knee = {"coding": [{"system": SCT, "code": "72696002", "display": "Knee region"}]}
    (patient,) = read_fhir(_of(_condition(code="S39.012A", bodySite=[knee])))
    assert patient.record["injuries"] == [{"kind": "muscle_strain", "site": "lower_back", "onset": "2026-03-01",
                                           "resolved": False}]
    assert patient.sources == ("Patient/p1", "Condition/c1")
    assert patient.ignored == ({"resource": "Condition/c1", "reason": "bodySite 72696002 (SNOMED CT) is not a site "
                                "painkg models; the code's site, the lower back, is used"},)
    lower_back = {"coding": [{"system": SCT, "code": "37822005"}]}
    (patient,) = read_fhir(_of(_condition(code="M62.830", bodySite=[lower_back, knee])))  # a finding at two sites
    assert patient.record["findings"] == [{"kind": "muscle_spasm", "site": "lower_back"}]
    assert patient.ignored == ({"resource": "Condition/c1", "reason": "bodySite 72696002 (SNOMED CT) is not a site "
                                "painkg models; the lower back, also given as its bodySite, is used"},)


# ------------------------------------------------------------------ the official HL7 FHIR R4 examples

FULL = os.environ.get("PAINKG_HL7_EXAMPLES")  # the whole package: tests/fhir/fetch_hl7_examples.sh
EXAMPLES_DIR = Path(FULL) if FULL else HL7
READ = ("Condition", "Observation", "Patient", "Bundle")


def _examples() -> list[str]:
    names = []
    for path in sorted(EXAMPLES_DIR.glob("*.json")):
        try:
            kind = json.loads(path.read_text(encoding="utf-8")).get("resourceType")
        except (ValueError, AttributeError):
            continue
        if kind in READ:
            names.append(path.name)
    return names


EXAMPLES = _examples()


def test_official_hl7_examples_are_vendored():
    if not FULL:
        assert len(EXAMPLES) == 132  # 12 Conditions, 64 Observations, 22 Patients, 34 Bundles (PROVENANCE.md)


def _modelled_codes(resource: dict) -> set[str]:
    """The painkg concepts a resource's codes name in the ontology's cross-references."""
    from kg.knowledge.xrefs import load_xrefs

    x = load_xrefs()
    codings = [c for c in (resource.get("code") or {}).get("coding") or [] if isinstance(c, dict)]
    return {k for c in codings for k in x.concepts_for(c.get("system"), c.get("code"))}


def _resources(data) -> dict[str, dict]:
    if data.get("resourceType") != "Bundle":
        return {f"{data['resourceType']}/{data.get('id')}": data}
    out = {}
    for entry in data.get("entry") or []:
        r = entry.get("resource")
        if isinstance(r, dict):
            out[f"{r['resourceType']}/{r.get('id')}"] = r
            if entry.get("fullUrl"):
                out[entry["fullUrl"]] = r
    return out


@pytest.mark.parametrize("name", EXAMPLES)
def test_official_hl7_examples_read_without_traceback_or_unmodelled_facts(name):
    data = json.loads((EXAMPLES_DIR / name).read_text(encoding="utf-8"))
    try:
        patients = read_fhir(data, as_of="2030-01-01")
    except kg.InputError as exc:  # a clean refusal is fine: one line, naming what is wrong
        assert "\n" not in str(exc) and str(exc).split(":")[0]
        return
    by_label = _resources(data)
    for p in patients:
        kinds = [i["kind"] for i in p.record["injuries"]] + [f if isinstance(f, str) else f["kind"]
                                                             for f in p.record["findings"]]
        named = set().union(*(_modelled_codes(by_label[s]) for s in p.sources if s in by_label))
        assert set(kinds) <= named, (name, kinds)
        # none of the official examples is a muscle injury or a finding painkg models
        assert kinds == [], (name, kinds)


@pytest.mark.parametrize("name", EXAMPLES[::9])
def test_official_hl7_examples_through_painkg_explain(name):
    from click.testing import CliRunner

    from kg.cli import cli

    result = CliRunner().invoke(cli, ["explain", str(EXAMPLES_DIR / name), "--input", "fhir", "--as-of",
                                      "2030-01-01"])
    assert result.exit_code in (0, 2), (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output and not isinstance(result.exception, (TypeError, AttributeError,
                                                                                   KeyError, IndexError))
    if result.exit_code == 2:
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1 and result.stdout == ""
