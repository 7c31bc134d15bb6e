"""Claim what the record says, no more (FHIR codes, record dates, hedged and negated input).

Each test names the finding it enforces.
"""

from __future__ import annotations

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
