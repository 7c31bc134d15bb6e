"""`painkg query` (CliRunner and the installed console script)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import kg
from kg.cli import cli
from kg.store.sparql import PREFIXES

ROOT = Path(__file__).resolve().parents[1]
DAY20 = str(ROOT / "examples" / "lower-back-strain-day20.json")
ACUTE = str(ROOT / "examples" / "lower-back-strain-acute.json")
KNOTS_RQ = str(ROOT / "examples" / "queries" / "persistent-pain-through-knots.rq")


def invoke(*args, input=None):
    return CliRunner().invoke(cli, list(args), input=input)


def test_prefixes_lists_every_prebound_prefix():
    result = invoke("query", "--prefixes")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == len(PREFIXES)
    assert "PREFIX prov:    <http://www.w3.org/ns/prov#>" in lines
    assert [line.split()[1][:-1] for line in lines] == sorted(PREFIXES)


def test_table_over_the_ontology():
    result = invoke("query", "SELECT ?key WHERE { ?c pk:keyConclusion ?r ; skos:notation ?key } ORDER BY ?r")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["key", "-" * len("atypical_for_muscle_strain"), "persistent_pain", "muscle_knots",
                                          "muscle_spasm", "atypical_for_muscle_strain", "severe_low_back_pain",
                                          "pain", "(6 rows)"]


def test_query_file_over_patients_as_json():
    result = invoke("query", f"@{KNOTS_RQ}", "-p", DAY20, "--patient", ACUTE, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["head"]["vars"] == ["patient", "site", "certainty", "knots"]
    assert [{k: v["value"] for k, v in b.items()} for b in data["results"]["bindings"]] == [
        {"patient": "p1", "site": "lower_back", "certainty": "expected", "knots": "concluded"}]
    assert result.output == kg.query(Path(KNOTS_RQ).read_text(), [DAY20, ACUTE]).to_json()


def test_query_from_stdin_csv_and_output_file(tmp_path):
    out = tmp_path / "answer.csv"
    result = invoke("query", "@-", "-p", DAY20, "--format", "csv", "-o", str(out),
                    input="SELECT ?id WHERE { ?f a pk:MuscleKnots ; dcterms:identifier ?id }")
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == b"id\r\nmuscle_knots@lower_back\r\n"


def test_construct_writes_turtle_and_ask_writes_true():
    result = invoke("query", "CONSTRUCT { ?s skos:notation ?n } WHERE { ?s skos:notation ?n . FILTER(?n = 'neck') }")
    assert result.exit_code == 0, result.output
    assert result.output.endswith('pk:Neck skos:notation "neck" .\n')
    assert invoke("query", "ASK { pk:Neck skos:notation 'neck' }").output == "true\n"


def test_reason_option():
    text = "SELECT ?id WHERE { ?f a pk:Injury ; dcterms:identifier ?id }"
    assert invoke("query", text, "-p", DAY20).output.splitlines()[-1] == "(0 rows)"
    result = invoke("query", text, "-p", DAY20, "--reason", "rdfs")
    assert result.output.splitlines()[2:] == ["muscle_strain@lower_back", "(1 row)"]


@pytest.mark.parametrize("args, message", [
    (["SELECT * WHERE {\n ?s ?p }"], "error: query: syntax error at line 2, column"),
    (["INSERT DATA { pk:a pk:b pk:c }"], "error: query: SPARQL Update (INSERT) is refused"),
    (["SELECT * { SERVICE <http://example.org/q> { ?s ?p ?o } }"], "error: query: SERVICE (line 1, column 12) is refused"),
    (["SELECT * { ?s ?p ?o }", "--format", "ttl"], 'error: --format: "ttl" is not allowed; expected one of table, csv'),
    (["CONSTRUCT WHERE { ?s a pk:Rule }", "--format", "csv"], 'error: --format: "csv" is not allowed; expected one of ttl'),
    ([], "error: QUERY: is missing"),
    (["@/no/such/file.rq"], 'error: query: "@/no/such/file.rq" is not allowed'),
    (["ASK {}", "-p", "/no/such/patient.json"], "error: "),
    (["ASK {}", "--reason", "owl"], "error: Invalid value for '--reason'"),
])
def test_errors_exit_2_without_traceback(args, message):
    result = invoke("query", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def _painkg() -> str:
    found = Path(sys.executable).with_name("painkg")
    return str(found) if found.exists() else shutil.which("painkg")


def test_console_script_gives_the_same_bytes_every_run():
    args = [_painkg(), "query", f"@{KNOTS_RQ}", "-p", DAY20, "-p", ACUTE, "--format", "tsv"]
    runs = [subprocess.run(args, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": seed})
            for seed in ("0", "77")]
    assert [r.returncode for r in runs] == [0, 0]
    assert runs[0].stdout == runs[1].stdout == ('?patient\t?site\t?certainty\t?knots\n'
                                                 '"p1"\t"lower_back"\t"expected"\t"concluded"\n')
    bad = subprocess.run([_painkg(), "query", "SELECT ?x WHERE { ?x }"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: query: syntax error at line 1, column") and bad.stdout == ""


def test_explain_trig_then_query_it_as_data(tmp_path):
    trig = tmp_path / "p1.trig"
    assert invoke("explain", DAY20, "--format", "trig", "-o", str(trig)).exit_code == 0
    # The export is the per-patient form (every firing with its rule and premises).
    query = f"@{ROOT / 'examples' / 'queries' / 'per-patient' / 'alternative-justifications.rq'}"
    from_data = invoke("query", query, "--data", str(trig))
    assert from_data.exit_code == 0, from_data.output
    assert "spasm-from-inflammation | spasm-protective" in from_data.output
    assert from_data.output == invoke("query", query, "-p", DAY20).output
