"""The `painkg` command line: output, errors (`error: ...`, exit 2, no traceback), help."""

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

from support import EXAMPLES

DAY20 = str(EXAMPLES / "lower-back-strain-day20.json")


def run(*args, input=None):
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def test_explain_json_matches_the_api():
    code, out, _ = run("explain", DAY20, "--format", "json")
    assert code == 0
    assert out == kg.explain(DAY20).to_json()


def test_explain_text_is_plain_when_piped():
    code, out, _ = run("explain", DAY20)
    assert code == 0 and "\x1b[" not in out
    assert out == kg.FORMATS["text"].render(kg.explain(DAY20))
    assert out.split("\n")[1] == kg.explain(DAY20).headline
    code, detail, _ = run("explain", DAY20, "--detail")
    assert code == 0 and detail == kg.explain(DAY20).to_text()


def test_explain_reads_stdin_and_writes_a_file(tmp_path):
    target = tmp_path / "out.json"
    code, out, _ = run("explain", "-", "--format", "json", "-o", str(target),
                       input=(EXAMPLES / "neck-strain-day16.json").read_text())
    assert code == 0 and out == ""
    assert json.loads(target.read_text())["patient"] == "neck-1"


def test_explain_options_mirror_the_api():
    code, out, _ = run("explain", str(EXAMPLES / "lower-back-strain-acute.json"), "--format", "json",
                       "--as-of", "2026-03-20", "--threshold-days", "10")
    data = json.loads(out)
    assert code == 0 and data["assessed_on"] == "2026-03-20" and data["threshold_days"] == 10
    assert data["pain_persists"] is True


CLI_ERRORS = [
    (["explain", "/no/such.json"], 'error: file: "/no/such.json" is not allowed; expected a readable JSON file (not found)'),
    (["explain", DAY20, "--format", "xml"], "error: Invalid value for '--format': 'xml' is not one of"),
    (["explain", DAY20, "--threshold-days", "two"], "error: Invalid value for '--threshold-days': 'two' is not a valid integer."),
    (["explain", DAY20, "--threshold-days", "-1"], "error: threshold_days: -1 is not allowed; expected a whole number of days from 1 to 365 (knots form after an initial period, usually about two weeks after the injury: s03-s04)"),
    (["explain", DAY20, "--as-of", "2026-02-30"], 'error: as_of: "2026-02-30" is not allowed; expected a date as YYYY-MM-DD'),
    (["explain", DAY20, "--as-of", "2026-01-01"], 'error: injuries[0].onset: "2026-03-01" is after the assessment date 2026-01-01'),
    (["explain"], "error: Missing argument 'FILE|-'."),
    (["explode"], "error: No such command 'explode'."),
    (["terms", "--role", "organ"], "error: Invalid value for '--role': 'organ' is not one of"),
]


def test_cli_error_case_count():
    assert len(CLI_ERRORS) == 9


@pytest.mark.parametrize("args,message", CLI_ERRORS, ids=[" ".join(a[:1] + a[2:]) for a, _ in CLI_ERRORS])
def test_cli_errors(args, message):
    code, out, err = run(*args)
    assert code == 2
    assert err.startswith(message)
    assert "Traceback" not in out + err


@pytest.mark.parametrize("payload,message", [
    ("{not json", 'error: file: standard input is not valid JSON (Expecting property name enclosed in double quotes at line 1 column 2)'),
    ('{"id": "x", "injuries": [{"kind": "strain", "site": "knee", "days_since_onset": 1}]}',
     'error: injuries[0].site: "knee" is not allowed; expected one of calf, hip, lower_back, neck, shoulder, thigh, upper_back'),
    ('"just a string"', "error: patient: a string is not allowed; expected a JSON object with id, assessed_on, injuries, findings"),
])
def test_cli_bad_patients_on_stdin(payload, message):
    code, _, err = run("explain", "-", input=payload)
    assert code == 2 and err.strip() == message


def test_help_says_it_is_not_a_diagnosis():
    for args in ([], ["explain"]):
        code, out, _ = run(*args, "--help")
        assert code == 0 and "not a diagnosis" in out


def test_every_command_has_an_example_in_its_help():
    for name, command in cli.commands.items():
        assert "Example:" in (command.help or ""), f"painkg {name} --help lacks an example"


def test_terms_lists_keys_with_aliases():
    code, out, _ = run("terms", "--role", "injury")
    assert code == 0
    assert "muscle_strain            muscle strain  (also: pulled_muscle, strain)" in out
    code, out, _ = run("terms", "--format", "json")
    assert {row["role"] for row in json.loads(out)} == {"injury", "mechanism", "site", "finding"}


# The console script installed beside this interpreter (PATH may not include the venv).
PAINKG = shutil.which("painkg", path=str(Path(sys.executable).parent)) or shutil.which("painkg")


@pytest.mark.skipif(PAINKG is None, reason="painkg console script not installed")
def test_console_script_from_another_directory(tmp_path):
    proc = subprocess.run([PAINKG, "explain", DAY20, "--format", "json"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 0 and json.loads(proc.stdout)["pain_persists"] is True
    proc = subprocess.run([PAINKG, "explain", "missing.json"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.startswith('error: file: "missing.json"')
    assert "Traceback" not in proc.stderr


def test_module_entry_point():
    proc = subprocess.run([sys.executable, "-m", "kg.cli", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and "painkg, version" in proc.stdout


def test_serve_with_cds_issuer_needs_a_base_url(tmp_path):
    pytest.importorskip("fastapi")
    jwks = tmp_path / "ehr-jwks.json"
    jwks.write_text('{"keys": []}')
    issuer = ("serve", "--cds-issuer", "https://ehr.example.org", "--cds-jwks", str(jwks), "--port", "0")
    code, out, err = run(*issuer)
    assert (code, out) == (2, "")
    assert err.startswith("error: --base-url: is required when CDS Hooks JWTs are verified (issuers configured)")
    code, _, err = run(*issuer, "--base-url", "cds.example.org")
    assert code == 2 and err.startswith('error: --base-url: "cds.example.org" is not allowed; expected an absolute')
    assert "Traceback" not in err


# Start-up: `painkg explain` imports what explaining needs, nothing else (issue 20).
_IMPORTED = """
import sys
import kg.cli
try:
    kg.cli.main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print(code, sorted(m for m in ("rdflib", "kg.store", "kg.serve", "kg.cohort", "kg.questions.what_if",
                               "kg.questions.interventions", "kg.render.rdf", "kg.cli.query_cmd",
                               "rich") if m in sys.modules), file=sys.stderr)
"""


def test_explain_imports_no_rdf_store_or_other_command(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PAINKG_NO_CACHE"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    for _ in range(2):  # cold cache (the ontology compiled with rdflib), then warm
        done = subprocess.run([sys.executable, "-c", _IMPORTED, "explain", DAY20], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
    assert done.stdout == kg.FORMATS["text"].render(kg.explain(DAY20))
    assert done.stderr == "0 []\n"


def test_commands_load_on_demand_and_all_are_listed():
    code, out, _ = run("--help")
    assert code == 0
    listed = [line.split()[0] for line in out.split("Commands:\n")[1].split("\n\n")[0].splitlines()]
    assert listed == sorted(cli.commands) and "explain" in listed and "what-if" in listed
    assert cli.get_command(None, "no-such-command") is None
