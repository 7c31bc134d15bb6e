"""Test helper: a painkg patient record as a FHIR R4 Bundle, and the script that writes the test bundles.

``record_to_bundle(record)`` codes every injury as a Condition and every finding as an
Observation, with the codes the ontology maps one to one (ICD-10-CM, HPO, UBERON) beside
painkg's own code. Run ``python tests/fhir/painkg_to_fhir.py`` to rewrite the generated
bundles (tests/fhir/sites/*.json, tests/fhir/bulk/, examples/fhir/lower-back-strain-bundle.json).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import kg
from kg.knowledge.xrefs import PAINKG_SYSTEM, load_xrefs

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
SITES = ("lower_back", "upper_back", "neck", "shoulder", "hip", "thigh", "calf")


def codings(concept: str, site: str | None = None) -> list[dict]:
    """painkg's coding, then every ontology code that names ``concept`` alone (and no other site)."""
    x = load_xrefs()
    out = [{"system": PAINKG_SYSTEM, "code": concept}]
    for ref in x.of_concept(concept)[1:]:
        if x.concepts_for(ref.system, ref.code) != (concept,):
            continue
        named = x.site_of(ref.system, ref.code)
        if named is not None and named != site:
            continue
        out.append({"system": ref.system, "code": ref.code})
    return out


def _concept(concept: str, site: str | None = None) -> dict:
    label = kg.load_ontology().concepts[concept].label
    return {"coding": codings(concept, site), "text": label}


def record_to_bundle(record: dict, *, timestamp: str | None = None, bundle_id: str | None = None,
                     ref_style: str = "relative") -> dict:
    """``record`` (painkg's contract) as a collection Bundle of Patient, Conditions and Observations."""
    patient = kg.parse_patient(record).to_dict()
    pid = patient["id"]
    entries = [{"fullUrl": f"urn:uuid:patient-{pid}" if ref_style == "urn" else f"Patient/{pid}",
                "resource": {"resourceType": "Patient", "id": pid}}]
    subject = {"reference": f"urn:uuid:patient-{pid}" if ref_style == "urn" else f"Patient/{pid}"}
    for i, injury in enumerate(patient["injuries"]):
        resolved = injury["resolved"]
        condition = {"resourceType": "Condition", "id": f"{pid}-injury-{i}",
                     "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                                    "code": "resolved" if resolved else "active"}]},
                     "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                                        "code": "confirmed"}]},
                     "code": _concept(injury["kind"], injury["site"]),
                     "bodySite": [_concept(injury["site"])],
                     "subject": subject, "onsetDateTime": injury["onset"]}
        if injury.get("mechanism"):
            condition["extension"] = [{"url": "http://hl7.org/fhir/StructureDefinition/condition-dueTo",
                                       "valueCodeableConcept": _concept(injury["mechanism"])}]
        if injury.get("resolved_on"):
            condition["abatementDateTime"] = injury["resolved_on"]
        entries.append({"fullUrl": f"Condition/{condition['id']}", "resource": condition})
    for i, finding in enumerate(patient["findings"]):
        kind, site = (finding, None) if isinstance(finding, str) else (finding["kind"], finding["site"])
        observation = {"resourceType": "Observation", "id": f"{pid}-finding-{i}", "status": "final",
                       "code": _concept(kind), "subject": subject, "valueBoolean": True}
        if site:
            observation["bodySite"] = _concept(site)
        entries.append({"fullUrl": f"Observation/{observation['id']}", "resource": observation})
    bundle = {"resourceType": "Bundle", "type": "collection",
              "timestamp": timestamp or f"{patient['assessed_on']}T09:00:00Z", "entry": entries}
    if bundle_id:
        bundle = {"resourceType": "Bundle", "id": bundle_id, **{k: v for k, v in bundle.items() if k != "resourceType"}}
    return bundle


def site_records(site: str) -> list[dict]:
    """A strain, a sprain and a tear at ``site`` (day 20, unresolved), and knots reported there."""
    day = "2026-05-21"
    out = [{"id": f"{site}-{kind}".replace("_", "-"), "assessed_on": day,
            "injuries": [{"kind": kind, "site": site, "onset": "2026-05-01", "mechanism": "heavy_lifting"}],
            "findings": ["tender_to_touch"]} for kind in ("muscle_strain", "ligament_sprain", "muscle_tear")]
    out.append({"id": f"{site}-knots".replace("_", "-"), "assessed_on": day, "findings": [{"kind": "muscle_knots", "site": site}]})
    return out


def merge(bundles: list[dict], timestamp: str) -> dict:
    """Several patients' bundles as one collection Bundle."""
    return {"resourceType": "Bundle", "type": "collection", "timestamp": timestamp,
            "entry": [e for b in bundles for e in b["entry"]]}


def write_all() -> None:
    """Rewrite the generated bundles."""
    (HERE / "sites").mkdir(exist_ok=True)
    for site in SITES:
        bundle = merge([record_to_bundle(r) for r in site_records(site)], "2026-05-21T09:00:00Z")
        _dump(HERE / "sites" / f"{site}.json", bundle)
    examples = sorted((ROOT / "examples").glob("*.json"))
    bulk = HERE / "bulk"
    bulk.mkdir(exist_ok=True)
    by_type: dict[str, list[dict]] = {}
    cohort = []
    for path in examples:
        record = json.loads(path.read_text())
        record = dict(record, assessed_on="2026-09-30")
        cohort.append(record)
        for entry in record_to_bundle(record)["entry"]:
            by_type.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    for kind, resources in by_type.items():
        (bulk / f"{kind}.ndjson").write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in resources))
    _dump(bulk / "manifest.json", {"transactionTime": "2026-09-30T08:00:00Z", "request": "$export",
                                   "requiresAccessToken": False, "error": [],
                                   "output": [{"type": k, "url": f"{k}.ndjson", "count": len(v)}
                                              for k, v in by_type.items()]})
    (HERE / "bulk-equivalent.ndjson").write_text("".join(json.dumps(r) + "\n" for r in cohort))
    source = json.loads((ROOT / "examples" / "lower-back-strain-day20.json").read_text())
    (ROOT / "examples" / "fhir").mkdir(exist_ok=True)
    _dump(ROOT / "examples" / "fhir" / "lower-back-strain-bundle.json",
          record_to_bundle(source, bundle_id="lower-back-strain-day20"))


def _dump(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(write_all())
