"""The held-out patients of ``compare_landed.py``: a seeded generator of its own, not ``kg.cohort.synthetic``.

Valid patients in painkg's JSON contract (no injury to three, every site and alias, onsets as
dates and as days before the assessment, resolved with and without dates, ``resolved_by``,
recurrences, mechanisms, findings with and without sites, reported knots and spasm), the same
patients as FHIR R4 Bundles (Conditions and Observations in painkg's code system, hedged and
negative ones, a Procedure painkg ignores), and bad records, one kind of fault each: an unknown
site or finding, a date given as a number (refused since issue 18), an onset after the
assessment, no id, an unknown field, a wrong type, unreadable JSON, an impossible date, negative days.

>>> records = held_out_cohort(16, seed=1)
>>> [r["kind"] for r in records][:8]
['patient', 'patient', 'patient', 'fhir', 'patient', 'patient', 'patient', 'unknown_site']
>>> held_out_cohort(16, seed=1) == records
True
"""

from __future__ import annotations

import datetime as dt
import json
import random

__all__ = ["held_out_patient", "bad_record", "fhir_bundle", "held_out_cohort"]

_KINDS = ("muscle_strain", "strain", "pulled_muscle", "ligament_sprain", "sprain", "muscle_tear", "tear",
          "muscle_overstretch", "overstretch")
_SITES = ("lower_back", "low_back", "lumbar", "neck", "cervical", "upper_back", "thoracic", "hip", "shoulder",
          "thigh", "calf")
_MECHANISMS = ("fall", "heavy_lifting", "lifting_while_twisting", "twisting_lift", "sudden_movement")
_FINDINGS = ("better_at_rest", "difficulty_moving", "localized_pain", "local_pain", "muscle_knots", "knots",
             "muscle_spasm", "spasm", "radiating_pain_to_leg", "severe_low_back_pain", "tender_to_touch",
             "tenderness")
#: Ways a record is bad; "number_date" is the change of issue 18 (a number is no date any more).
_BAD = ("unknown_site", "number_date", "onset_after_assessment", "missing_id", "unknown_field", "wrong_type",
        "invalid_json", "unknown_finding", "bad_threshold_date", "negative_days")


def _day(rng: random.Random, lo: dt.date, span: int) -> dt.date:
    return lo + dt.timedelta(days=rng.randrange(span))


def held_out_patient(rng: random.Random, pid: str) -> dict:
    """One valid patient in painkg's JSON contract."""
    assessed = _day(rng, dt.date(2024, 1, 1), 1100)
    injuries = []
    for _ in range(rng.choice((0, 1, 1, 1, 1, 2, 2, 3))):
        injury = {"kind": rng.choice(_KINDS), "site": rng.choice(_SITES)}
        days = rng.choice((rng.randrange(0, 14), rng.randrange(14, 40), rng.randrange(40, 400)))
        if rng.random() < 0.5:
            injury["onset"] = (assessed - dt.timedelta(days=days)).isoformat()
        else:
            injury["days_since_onset"] = days
        if rng.random() < 0.7:
            injury["mechanism"] = rng.choice(_MECHANISMS)
        roll = rng.random()
        if roll < 0.15:
            injury["resolved"] = True
        elif roll < 0.3 and days > 1:
            injury["resolved_on"] = (assessed - dt.timedelta(days=rng.randrange(0, days))).isoformat()
        elif roll < 0.35 and days > 1:
            injury["resolved"] = True
            injury["resolved_by"] = (assessed - dt.timedelta(days=rng.randrange(0, days))).isoformat()
        elif roll < 0.42:
            injury["episode_start_unknown"] = True
        injuries.append(injury)
    findings: list = []
    for name in rng.sample(_FINDINGS, rng.choice((0, 0, 1, 2, 3, 4))):
        if name in ("severe_low_back_pain", "radiating_pain_to_leg"):
            findings.append(name if rng.random() < 0.5 else {"kind": name, "site": "lower_back"})
        elif rng.random() < 0.4:
            findings.append({"kind": name, "site": rng.choice(_SITES)})
        else:
            findings.append(name)
    patient = {"id": pid, "assessed_on": assessed.isoformat(), "injuries": injuries}
    if findings or rng.random() < 0.5:
        patient["findings"] = findings
    return patient


def bad_record(rng: random.Random, pid: str, kind: str) -> str:
    """A record that breaks the contract in one way, as JSON text."""
    p = held_out_patient(rng, pid)
    if not p["injuries"]:
        p["injuries"] = [{"kind": "strain", "site": "neck", "days_since_onset": 3}]
    inj = p["injuries"][0]
    if kind == "unknown_site":
        inj["site"] = "elbow"
    elif kind == "number_date":
        inj.pop("days_since_onset", None)
        inj["onset"] = rng.choice((0, 20260301, 1767225600))
    elif kind == "onset_after_assessment":
        inj.pop("days_since_onset", None)
        inj["onset"] = (dt.date.fromisoformat(p["assessed_on"]) + dt.timedelta(days=3)).isoformat()
    elif kind == "missing_id":
        del p["id"]
    elif kind == "unknown_field":
        inj["severity"] = "high"
    elif kind == "wrong_type":
        p["injuries"] = {"kind": "strain"}
    elif kind == "invalid_json":
        return json.dumps(p)[:-7]
    elif kind == "unknown_finding":
        p["findings"] = ["knee_pain"]
    elif kind == "bad_threshold_date":
        p["assessed_on"] = "2026-02-30"
    elif kind == "negative_days":
        inj.pop("onset", None)
        inj["days_since_onset"] = -4
    return json.dumps(p)


_PK = "https://w3id.org/painkg/ontology"
_CANON = {"strain": "muscle_strain", "pulled_muscle": "muscle_strain", "sprain": "ligament_sprain",
          "tear": "muscle_tear", "overstretch": "muscle_overstretch", "low_back": "lower_back",
          "lumbar": "lower_back", "cervical": "neck", "thoracic": "upper_back", "twisting_lift":
          "lifting_while_twisting", "local_pain": "localized_pain", "knots": "muscle_knots", "spasm": "muscle_spasm",
          "tenderness": "tender_to_touch"}


def _code(key: str) -> dict:
    return {"coding": [{"system": _PK, "code": _CANON.get(key, key)}]}


def fhir_bundle(rng: random.Random, patient: dict) -> dict:
    """The patient as a FHIR R4 Bundle (Conditions, Observations in painkg's codes), plus noise painkg ignores."""
    pid = patient["id"]
    assessed = dt.date.fromisoformat(patient["assessed_on"])
    entries = [{"fullUrl": f"Patient/{pid}", "resource": {"resourceType": "Patient", "id": pid,
                                                         "birthDate": "1980-05-05"}}]
    for i, inj in enumerate(patient["injuries"]):
        onset = inj.get("onset") or (assessed - dt.timedelta(days=inj["days_since_onset"])).isoformat()
        status = "resolved" if inj.get("resolved") or inj.get("resolved_on") else (
            "recurrence" if inj.get("episode_start_unknown") else "active")
        cond = {"resourceType": "Condition", "id": f"{pid}-c{i}", "subject": {"reference": f"Patient/{pid}"},
                "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                               "code": status}]},
                "verificationStatus": {"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed" if rng.random() < 0.9 else "provisional"}]},
                "code": _code(inj["kind"]), "bodySite": [_code(inj["site"])],
                "onsetDateTime": onset + ("T08:15:00Z" if rng.random() < 0.5 else "")}
        if inj.get("resolved_on"):
            cond["abatementDateTime"] = inj["resolved_on"]
        if inj.get("mechanism"):
            cond["extension"] = [{"url": "http://hl7.org/fhir/StructureDefinition/condition-dueTo",
                                  "valueCodeableConcept": _code(inj["mechanism"])}]
        entries.append({"fullUrl": f"Condition/{pid}-c{i}", "resource": cond})
    for i, finding in enumerate(patient.get("findings", [])):
        kind, site = (finding, None) if isinstance(finding, str) else (finding["kind"], finding.get("site"))
        obs = {"resourceType": "Observation", "id": f"{pid}-o{i}", "status": rng.choice(("final", "final", "amended",
                                                                                          "preliminary")),
               "subject": {"reference": f"Patient/{pid}"}, "code": _code(kind),
               "valueBoolean": rng.random() < 0.9}
        if site:
            obs["bodySite"] = _code(site)
        entries.append({"fullUrl": f"Observation/{pid}-o{i}", "resource": obs})
    if rng.random() < 0.3:
        entries.append({"fullUrl": f"Procedure/{pid}-p0", "resource": {
            "resourceType": "Procedure", "id": f"{pid}-p0", "status": "completed",
            "subject": {"reference": f"Patient/{pid}"}, "code": {"text": "heat therapy"}}})
    return {"resourceType": "Bundle", "id": f"{pid}-bundle", "type": "collection",
            "timestamp": f"{patient['assessed_on']}T09:00:00Z", "entry": entries}


def held_out_cohort(n: int, seed: int) -> list[dict]:
    """``n`` records: ``{"id", "text", "kind"}`` with kind ``patient``, ``fhir`` or a bad kind (about one in eight)."""
    rng = random.Random(seed)
    records = []
    bad = 0
    for i in range(n):
        pid = f"held-{seed}-{i:04d}"
        if i % 8 == 7:
            kind = _BAD[bad % len(_BAD)]
            bad += 1
            records.append({"id": pid, "kind": kind, "text": bad_record(rng, pid, kind)})
        elif i % 5 == 3:
            bundle = fhir_bundle(rng, held_out_patient(rng, pid))
            records.append({"id": pid, "kind": "fhir", "text": json.dumps(bundle)})
        else:
            records.append({"id": pid, "kind": "patient", "text": json.dumps(held_out_patient(rng, pid))})
    return records
