"""`painkg explain` on FHIR input (--input, --patient, --format fhir) and `painkg batch` on bulk NDJSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import kg

ROOT = Path(__file__).parent.parent
FHIR = ROOT / "tests" / "fhir"
BUNDLE = "examples/fhir/lower-back-strain-bundle.json"


def painkg(*args, stdin: str | None = None):
    return subprocess.run([sys.executable, "-m", "kg.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          input=stdin)


def test_explain_detects_fhir_and_matches_painkg_json():
    fhir = painkg("explain", BUNDLE, "--format", "json")
    plain = painkg("explain", "examples/lower-back-strain-day20.json", "--format", "json")
    assert fhir.returncode == 0, fhir.stderr
    out = json.loads(fhir.stdout)
    assert out.pop("ignored") == []
    assert out == json.loads(plain.stdout)
    text = painkg("explain", BUNDLE)
    assert text.stdout == painkg("explain", "examples/lower-back-strain-day20.json").stdout


def test_explain_from_stdin_and_input_option():
    data = (ROOT / BUNDLE).read_text()
    assert json.loads(painkg("explain", "-", "--format", "json", stdin=data).stdout)["pain_persists"] is True
    wrong = painkg("explain", "examples/two-injuries.json", "--input", "fhir")
    assert (wrong.returncode, wrong.stderr) == (2, "error: file: is not FHIR; expected a FHIR Bundle or resource "
                                                   "(an object with resourceType), or --input painkg\n")
    forced = painkg("explain", BUNDLE, "--input", "painkg")
    assert forced.returncode == 2 and forced.stderr.startswith("error: entry: unknown field")


def test_several_patients_need_patient_option():
    many = painkg("explain", "tests/fhir/sites/neck.json")
    assert (many.returncode, many.stderr) == (2, "error: file: holds 4 patients (neck-muscle-strain, "
                                                 "neck-ligament-sprain, neck-muscle-tear, neck-knots); pass "
                                                 "--patient ID to explain one, or use painkg batch for all\n")
    one = painkg("explain", "tests/fhir/sites/neck.json", "--patient", "neck-knots", "--format", "json")
    assert json.loads(one.stdout)["patient"] == "neck-knots"
    bad = painkg("explain", "tests/fhir/sites/neck.json", "--patient", "x")
    assert bad.returncode == 2 and bad.stderr.startswith('error: --patient: "x" is not allowed; expected one of neck-')


def test_ignored_section_and_json():
    text = painkg("explain", "tests/fhir/refuted-condition.json")
    assert text.returncode == 0
    tail = " ".join(text.stdout.split("\nInput not used (3)\n", 1)[1].split())  # the report's section, unwrapped
    assert tail.startswith("- Condition/c1: verificationStatus is refuted (the condition was ruled out). "
                           "- Condition/c2: code I10 (ICD-10-CM) is not a concept painkg models. "
                           "- Procedure/heat1: ")
    out = json.loads(painkg("explain", "tests/fhir/refuted-condition.json", "--format", "json").stdout)
    assert [i["resource"] for i in out["ignored"]] == ["Condition/c1", "Condition/c2", "Procedure/heat1"]


def test_invalid_fhir_exits_2_naming_resource_and_element():
    for name, start in (("invalid-structure.json", 'error: Condition/c1.onsetDateTime: "2026-13-01" is not allowed'),
                        ("con4-violation.json", 'error: Condition/c1.clinicalStatus: "active" is not allowed')):
        result = painkg("explain", f"tests/fhir/{name}")
        assert result.returncode == 2 and result.stderr.startswith(start) and "Traceback" not in result.stderr
        assert result.stdout == ""


def test_as_of_for_a_bundle():
    out = json.loads(painkg("explain", BUNDLE, "--format", "json", "--as-of", "+10d").stdout)
    assert out["assessed_on"] == "2026-03-31"


def test_format_fhir():
    result = painkg("explain", BUNDLE, "--format", "fhir")
    bundle = json.loads(result.stdout)
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(bundle)
    impression = bundle["entry"][0]["resource"]
    assert impression["summary"] == ("Pain is expected to persist at the lower back: muscle strain -> muscle spasm -> "
                                     "continuous contraction -> muscle overload -> muscle knots.")  # the headline
    assert impression["problem"] == [{"reference": "Condition/p1-injury-0"}]
    plain = json.loads(painkg("explain", "examples/lower-back-strain-day20.json", "--format", "fhir").stdout)
    assert plain["entry"][0]["resource"]["finding"] == impression["finding"]


def _results(out: Path) -> list[dict]:
    lines = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    return [{k: v for k, v in line.items() if k not in ("file", "line")} for line in lines]


def test_batch_over_bulk_ndjson_equals_the_equivalent_cohort(tmp_path):
    bulk = kg.batch([str(FHIR / "bulk")], tmp_path / "bulk")
    plain = kg.batch([str(FHIR / "bulk-equivalent.ndjson")], tmp_path / "plain")
    assert bulk["counts"] == plain["counts"] and bulk["counts"]["rejects"] == 0
    assert _results(tmp_path / "bulk") == _results(tmp_path / "plain")
    again = kg.batch([str(FHIR / "bulk")], tmp_path / "bulk")  # resumes: the spooled input is unchanged
    assert again["counts"] == bulk["counts"]


def test_batch_rejects_one_bad_patient_of_a_bulk_export(tmp_path):
    src = tmp_path / "export"
    src.mkdir()
    (src / "Patient.ndjson").write_text('{"resourceType":"Patient","id":"a"}\n{"resourceType":"Patient","id":"b"}\n')
    good = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/a"},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "S16.1XXA"}]},
            "onsetDateTime": "2026-03-01"}
    bad = dict(good, id="c2", subject={"reference": "Patient/b"}, abatementDateTime="2026-03-05")
    (src / "Condition.ndjson").write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    summary = kg.batch([str(src)], tmp_path / "out", as_of="2026-03-21")
    assert (summary["counts"]["results"], summary["counts"]["rejects"]) == (1, 1)
    reject = json.loads((tmp_path / "out" / "rejects.jsonl").read_text())
    assert reject["error"] == ("Condition/c2.clinicalStatus: is missing; expected inactive, remission or resolved: "
                               "the Condition has abatementDateTime (FHIR invariant con-4)")
