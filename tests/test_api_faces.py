"""The three faces mirror each other: every `painkg` command is a `kg` function with the same options, every
output format of `painkg explain` is `POST /explain`'s byte for byte, and one intake reads FHIR for all."""

from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import kg
import kg.reasoning.explanation
from kg.cli import cli

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from serve_support import http, live_server  # noqa: E402,F401

EXAMPLES = Path("examples")
DAY20 = EXAMPLES / "lower-back-strain-day20.json"
FHIR_IGNORED = Path("tests/fhir/refuted-condition.json")
FHIR_MANY = Path("tests/fhir/sites/neck.json")

# ------------------------------------------------------------------ every command is a function

#: What only the command line has: how the answer is written (and `painkg query --prefixes`, which lists the
#: pre-bound prefixes: kg.store.prefixes.PREFIXES in Python).
CLI_ONLY = {"fmt", "output"}
CLI_ONLY_OF = {"query": {"show_prefixes"}}
#: What only Python has: the reasoner to reuse (the command line reasons once per run).
PYTHON_ONLY = {"reasoner"}
#: The function(s) of each command, when not `kg.<command name>`: `painkg explain`'s --input and --patient
#: choose how the file is read (kg.intake, which gives kg.explain its record), and its --detail and
#: --audience how the text report is written (kg.text_report); `painkg serve` runs the app of
#: kg.create_app(kg.ServeSettings(...)).
FUNCTIONS = {"explain": ("explain", "intake", "text_report"), "serve": ("ServeSettings",)}
#: Options the Python API spells differently: command -> {CLI parameter: Python parameter[.field]}.
SPELLED = {
    "batch": {"dask_address": "client"},  # a Dask Client or its scheduler address
    "query": {"timeout": "limits.timeout", "max_rows": "limits.max_rows", "max_memory": "limits.max_memory_mb"},
    "serve": {"cors": "cors_origins", "cds_issuer": "cds_issuers", "cds_jwks": "cds_issuers"},
}


def _functions(command: str) -> list:
    return [getattr(kg, name) for name in FUNCTIONS.get(command, (command.replace("-", "_"),))]


def _names(param: click.Parameter) -> set[str]:
    """The Python names a click parameter may have: its dest, and its long flag without dashes."""
    names = {param.name}
    names.update(o.lstrip("-").replace("-", "_") for o in param.opts if o.startswith("--"))
    return names


def test_every_command_is_listed():
    assert sorted(cli.commands) == ["batch", "explain", "graph", "interventions", "query", "serve", "terms",
                                    "timeline", "what-if", "why-not"]


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_has_a_kg_function_with_its_options(command):
    functions = _functions(command)
    params: dict[str, inspect.Parameter] = {}
    for function in functions:
        params.update(inspect.signature(function).parameters)
    spelled = SPELLED.get(command, {})
    options = cli.commands[command].params
    for param in options:
        if param.name in spelled:
            name, _, field = spelled[param.name].partition(".")
            assert name in params, (command, param.name, name)
            if field:  # an option of a limits object: kg.QueryLimits(timeout=...)
                from kg.store.query_limits import QueryLimits

                assert field in inspect.signature(QueryLimits).parameters
            continue
        found = _names(param) & set(params)
        if found:
            continue
        if param.name in CLI_ONLY | CLI_ONLY_OF.get(command, set()):
            continue
        extra = [p for p in params.values() if p.kind is p.VAR_KEYWORD]
        # kg.graph(..., **options) passes them on to Explanation.graph (kg.render.graph.explanation_graph).
        assert extra and command == "graph", f"painkg {command} {param.opts or param.name}: no kg parameter"
        from kg.render.graph import explanation_graph

        assert param.name in inspect.signature(explanation_graph).parameters
    # The arguments come first, in the command's order; the shared options mean the same.
    arguments = [p.name for p in options if isinstance(p, click.Argument)]
    first = list(inspect.signature(functions[0]).parameters)
    assert first[:len(arguments)] == arguments
    for param in options:
        if param.name in ("as_of", "threshold_days"):
            assert params[param.name].default == param.to_info_dict()["default"]  # None when the option has none
    python = set(params) - PYTHON_ONLY - {p.name for p in params.values() if p.kind is p.VAR_KEYWORD}
    covered = set().union(*(_names(p) for p in options)) | {v.partition(".")[0] for v in spelled.values()}
    if command in ("why-not", "timeline", "what-if", "interventions", "graph"):
        assert python <= covered, (command, python - covered)  # and nothing the command lacks


def test_kg_faces_are_plain_functions_with_runnable_docs():
    for name in ("explain", "why_not", "what_if", "interventions", "timeline", "query", "terms", "graph", "batch",
                 "intake"):
        function = getattr(kg, name)
        assert inspect.isfunction(function), name
        assert ">>> " in (function.__doc__ or "") or ">>> " in inspect.getmodule(function).__doc__, name


# ------------------------------------------------------------------ the Explanation's views, without a registry

def test_the_explanation_views_are_plain_methods_without_a_registry():
    assert not hasattr(kg.reasoning.explanation, "VIEWS") and not hasattr(kg.reasoning.explanation, "_view")
    e = kg.explain(DAY20)
    from kg.questions.timeline import timeline
    from kg.questions.why_not import why_not
    from kg.render.text import render_text

    assert e.to_text() == render_text(e)
    assert e.why_not("muscle_knots", site="neck").to_json() == why_not(e, "muscle_knots", site="neck").to_json()
    assert e.timeline().to_json() == timeline(e).to_json()
    assert e.to_rdf("nt") == kg.FORMATS["nt"].render(e)
    assert kg.Explanation.to_text.__qualname__ == "Explanation.to_text"


def test_a_question_takes_a_patient_or_an_explanation():
    e = kg.explain(DAY20, threshold_days=10)
    assert kg.why_not(e, "persistent_pain").to_json() == kg.why_not(DAY20, "persistent_pain",
                                                                      threshold_days=10).to_json()
    assert kg.timeline(e).to_json() == kg.timeline(DAY20, threshold_days=10).to_json()
    assert kg.what_if(e, ["injuries[0].resolved=true"], as_of="+3d").to_json() == \
        kg.what_if(DAY20, ["injuries[0].resolved=true"], as_of="+3d", threshold_days=10).to_json()
    assert kg.interventions(e).to_json() == kg.interventions(DAY20, threshold_days=10).to_json()
    assert kg.graph(e).export("json") == kg.graph(DAY20, threshold_days=10).export("json")
    with pytest.raises(kg.InputError, match="cannot apply to a kg.Explanation, already assessed on 2026-03-21"):
        kg.timeline(e, as_of="2026-04-01")
    with pytest.raises(kg.InputError, match="reasoned with threshold_days=10"):
        kg.interventions(e, threshold_days=20)


# ------------------------------------------------------------------ one table of formats, CLI = HTTP

def _cli_bytes(*args: str) -> bytes:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def test_the_table_drives_both_faces():
    assert list(kg.FORMATS) == ["json", "text", "ttl", "trig", "nt", "nq", "jsonld", "fhir"]
    explain = cli.commands["explain"]
    (fmt,) = [p for p in explain.params if p.name == "fmt"]
    assert sorted(fmt.type.choices) == sorted(kg.FORMATS)
    from kg.serve.explain_api import EXPLAIN_MEDIA

    assert EXPLAIN_MEDIA == {f.media_type: f.name for f in kg.FORMATS.values()}
    assert len({f.extension for f in kg.FORMATS.values()}) == len(kg.FORMATS)


@pytest.mark.parametrize("path", [DAY20, FHIR_IGNORED], ids=["painkg", "fhir"])
@pytest.mark.parametrize("name", list(kg.FORMATS))
def test_every_format_is_byte_identical_over_cli_and_http(live_server, name, path):
    expected = _cli_bytes("explain", str(path), "--format", name)
    fmt = kg.FORMATS[name]
    body = path.read_bytes()
    status, headers, got = http("POST", f"{live_server}/explain?format={name}", body=body,
                                headers={"Content-Type": "application/json"})
    assert status == 200, got
    assert got == expected
    assert headers["content-type"].split(";")[0] == fmt.media_type
    status, headers, got = http("POST", f"{live_server}/explain", body=body,
                                headers={"Content-Type": "application/fhir+json", "Accept": fmt.media_type})
    assert (status, got) == (200, expected)


def test_fhir_over_http_is_the_cli_bundle(live_server):
    status, headers, got = http("POST", f"{live_server}/explain", body=FHIR_IGNORED.read_bytes(),
                                headers={"Content-Type": "application/json", "Accept": "application/fhir+json"})
    assert status == 200 and headers["content-type"] == "application/fhir+json"
    bundle = json.loads(got)
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["ClinicalImpression", "Provenance"]


def test_http_text_of_a_fhir_input_lists_the_resources_not_used(live_server):
    status, _, got = http("POST", f"{live_server}/explain?format=text", body=FHIR_IGNORED.read_bytes(),
                          headers={"Content-Type": "application/json"})
    assert status == 200
    tail = got.decode("utf-8").split("Input not used (3)\n", 1)[1]
    assert tail.splitlines()[0] == "  - Condition/c1: verificationStatus is refuted (the condition was ruled out)."
    status, _, detail = http("POST", f"{live_server}/explain?format=text&detail=true", body=FHIR_IGNORED.read_bytes(),
                             headers={"Content-Type": "application/json"})
    tail = detail.decode("utf-8").split("FHIR resources not used (3)\n", 1)[1]
    assert tail.splitlines()[0] == "  Condition/c1: verificationStatus is refuted (the condition was ruled out)"


# ------------------------------------------------------------------ one intake: CLI, HTTP, CDS

def _prefetch_resources(name: str, patient_id: str, as_of: str):
    from fhir_cds.cds_support import hook_request, prefetch

    from kg.serve.cds_models import parse_request
    from kg.serve.cds_prefetch import gather
    from kg.serve.settings import ServeSettings

    return gather(parse_request(hook_request(patient_id, prefetch(name), as_of=as_of)), ServeSettings())


def test_fhir_through_cli_http_and_cds_gives_the_same_patient(tmp_path, live_server):
    from kg.cli.explain_cmd import read_patient
    from kg.serve.cds_prefetch import prefetch_patient
    from kg.serve.patient_body import from_data

    data = _prefetch_resources("strain-lower-back-day20", "cds-lb-1", "2026-03-21")
    resources = data.resources
    path = tmp_path / "resources.json"
    path.write_text(json.dumps(resources))
    cds = prefetch_patient(resources, "cds-lb-1", "2026-03-21")
    cli_side = read_patient(str(path), as_of="2026-03-21")
    http_side = from_data(json.loads(path.read_text()), as_of="2026-03-21")
    python = kg.intake(resources, as_of="2026-03-21")
    assert cds == cli_side == http_side == python
    assert cds.record["id"] == "cds-lb-1" and cds.as_of is None
    # And over the wire: the HTTP answer for those resources is the CLI's, from the same record.
    status, _, got = http("POST", f"{live_server}/explain?format=json&as_of=2026-03-21", body=path.read_bytes(),
                          headers={"Content-Type": "application/fhir+json"})
    assert status == 200
    assert got == _cli_bytes("explain", str(path), "--format", "json", "--as-of", "2026-03-21")
    assert json.loads(got)["facts"] == kg.explain(cds.record).to_dict()["facts"]


def test_choosing_one_patient_is_the_same_everywhere(live_server):
    from kg.cli.explain_cmd import read_patient
    from kg.serve.cds_prefetch import prefetch_patient
    from kg.serve.patient_body import from_data

    data = json.loads(FHIR_MANY.read_text())
    cli_side = read_patient(str(FHIR_MANY), chosen="neck-knots")
    http_side = from_data(data, patient="neck-knots")
    cds = prefetch_patient([e["resource"] for e in data["entry"]], "neck-knots", cli_side.record["assessed_on"])
    assert cli_side == http_side
    assert cds.record == cli_side.record and cds.ignored == cli_side.ignored
    assert cli_side.ignored[-1] == {"resource": "Patient/neck-muscle-tear",
                                    "reason": "resources of another patient than neck-knots"}
    status, _, got = http("POST", f"{live_server}/explain?patient=neck-knots", body=FHIR_MANY.read_bytes(),
                          headers={"Content-Type": "application/json"})
    assert (status, got) == (200, _cli_bytes("explain", str(FHIR_MANY), "--patient", "neck-knots", "--format",
                                             "json"))


@pytest.mark.parametrize("query, field, message", [
    ("", "body", "body: holds 4 patients (neck-muscle-strain, neck-ligament-sprain, neck-muscle-tear, neck-knots); "
                 "choose one with ?patient=ID"),
    ("?patient=x", "patient", 'patient: "x" is not allowed; expected one of neck-muscle-strain, '
                              "neck-ligament-sprain, neck-muscle-tear, neck-knots"),
])
def test_http_errors_of_the_intake_name_the_http_names(live_server, query, field, message):
    status, _, got = http("POST", f"{live_server}/explain{query}", body=FHIR_MANY.read_bytes(),
                          headers={"Content-Type": "application/json"})
    assert status == 422
    assert json.loads(got)["field"] == field and json.loads(got)["error"] == message


def test_the_python_intake_names_python_parameters():
    data = json.loads(FHIR_MANY.read_text())
    with pytest.raises(kg.InputError, match=r"^data: holds 4 patients .*; pass patient=ID to choose one$"):
        kg.intake(data)
    with pytest.raises(kg.InputError, match=r'^patient: "x" is not allowed; expected the id of this painkg patient'):
        kg.intake(json.loads(DAY20.read_text()), patient="x")
    assert kg.intake(json.loads(DAY20.read_text()), patient="p1").fhir is None
    with pytest.raises(kg.InputError, match="^input: "):
        kg.intake({}, input="csv")
    assert dataclasses.is_dataclass(kg.Intake)
