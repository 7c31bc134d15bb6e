"""Fuzz the API and the CLI with hostile input: only the documented exceptions, never a crash.

A fixed budget per target (``FUZZ_EXAMPLES``, default 150) keeps CI bounded; raise it
locally for a longer hunt: ``FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py``. Every
accepted input must also give well-formed output (JSON that parses, RDF that parses).
"""

from __future__ import annotations

import json
import os

import pyoxigraph as ox
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kg
from kg.cli import cli

BUDGET = int(os.environ.get("FUZZ_EXAMPLES", "150"))
fuzz = settings(max_examples=BUDGET, deadline=None, suppress_health_check=list(HealthCheck))
ONTO = kg.load_ontology()
REASONER = kg.Reasoner()

# Text a hostile user would type: control characters, a lone surrogate, bidi marks,
# escapes, very long runs, and the words the readers look for.
hostile_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from(["\x00", "\x01", "\x1b", "\ud800", "\ufffe", "\u202e", "\n", "\\", '"',
                                      "{", "}", "<", ">", "&", "@", "a", "é", "1", "-", "+", "d"]), max_size=40),
    st.sampled_from(["-", "@-", "2026-W10-6", "9999-12-31", "0001-01-01", "+99999d", "-1d", "1e400",
                     "9" * 5000, "a" * 3000, "null", "true", "[]", "{}"]),
)
keys = st.sampled_from(["id", "assessed_on", "injuries", "findings", "kind", "site", "onset",
                        "days_since_onset", "mechanism", "resolved", "resolved_on", "x"])
leaf = (st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True) | hostile_text
        | st.sampled_from(ONTO.keys("injury") + ONTO.keys("site") + ONTO.keys("finding") + ONTO.keys("mechanism")))
json_values = st.recursive(leaf, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(keys, kids, max_size=6),
                           max_leaves=16)
plausible = st.fixed_dictionaries(
    {"id": hostile_text | st.just("p1"), "assessed_on": st.sampled_from(["2026-03-21", "9999-12-31", "0001-01-01"])},
    optional={"injuries": st.lists(st.dictionaries(keys, leaf, max_size=6) | st.fixed_dictionaries(
        {"kind": st.sampled_from(ONTO.keys("injury")), "site": st.sampled_from(ONTO.keys("site"))},
        optional={"days_since_onset": st.integers(-5, 40000), "resolved": st.booleans(),
                  "onset": st.sampled_from(["2026-03-01", "0001-01-01", "9999-12-31"])}), max_size=3),
        "findings": st.lists(leaf | st.dictionaries(keys, leaf, max_size=3), max_size=4)})
patients = plausible | json_values
changes = st.lists(hostile_text | st.builds(lambda p, op, v: f"{p}{op}{v}",
                                             st.sampled_from(["id", "assessed_on", "injuries", "findings",
                                                              "injuries[0].resolved", "injuries[0].onset",
                                                              "injuries[0].days_since_onset", "injuries[9].kind",
                                                              "findings[0]", "x.y"]),
                                             st.sampled_from(["=", "+=", "-="]),
                                             hostile_text | st.sampled_from(["true", "+14d", "5", "neck",
                                                                             '{"kind": "muscle_knots"}'])),
                   max_size=3)
sparql_parts = st.sampled_from([
    "SELECT", "ASK", "CONSTRUCT", "DESCRIBE", "SERVICE", "service", "SERVICE SILENT", "FROM", "FROM NAMED",
    "INSERT DATA", "LOAD", "WHERE", "{", "}", "(", ")", ".", ";", "?s", "?p", "?o", "*", "<http://127.0.0.1:9/x>",
    "<urn:x>", "pk:MuscleKnots", "obo:RO_0003302+", "a", "FILTER", "OPTIONAL", "UNION", "GRAPH ?g", "LIMIT 1",
    "#c\n", '"\\u0053"', "\\u0053ERVICE", "PREFIX x: <http://x/>", "VALUES ?s { 1 }", "BIND(1 AS ?z)", " "])
queries = st.one_of(hostile_text, st.lists(sparql_parts, max_size=25).map(" ".join),
                    st.integers(1, 400).map(lambda n: "ASK " + "{" * n + "}" * n))


def _check_explanation(e) -> None:
    json.loads(e.to_json())
    list(ox.parse(e.to_rdf("nq").encode("utf-8"), format=ox.RdfFormat.N_QUADS))


@fuzz
@given(patients)
def test_explain_raises_only_input_error(data):
    try:
        e = REASONER.explain(data)
    except kg.InputError as err:
        assert str(err).startswith(err.field + ": ")
        assert len(str(err)) < 2000
    else:
        _check_explanation(e)


@fuzz
@given(plausible, changes, st.sampled_from([None, "+1d", "+14d", "9999-12-31", "2026-W10-6", "x"]))
def test_what_if_raises_only_input_error(patient, change_list, as_of):
    try:
        w = kg.what_if(patient, change_list, as_of=as_of)
    except kg.InputError as err:
        assert len(str(err)) < 2000
    else:
        json.loads(w.to_json())
        assert w.to_text()


@fuzz
@given(plausible, hostile_text | st.sampled_from(sorted(ONTO.concepts)),
       st.none() | hostile_text | st.sampled_from(ONTO.keys("site")))
def test_why_not_raises_only_input_error(patient, concept, site):
    try:
        e = REASONER.explain(patient)
        answer = e.why_not(concept, site=site)
    except kg.InputError:
        return
    json.loads(answer.to_json())
    assert answer.to_text()


@fuzz
@given(queries)
def test_query_raises_only_input_error(text):
    try:
        result = kg.query(text)
    except kg.PainkgError as err:
        assert len(str(err)) < 2000
    else:
        json.loads(result.to_json())


@settings(max_examples=max(BUDGET // 3, 20), deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(["explain", "why-not", "what-if", "interventions", "timeline", "graph"]), patients,
       st.lists(hostile_text, max_size=3))
def test_cli_exits_0_or_2_with_an_error_line(command, patient, extra):
    runner = CliRunner()
    text = json.dumps(patient, ensure_ascii=False) if not isinstance(patient, str) else patient
    args = [command, "-"]
    if command == "why-not":
        args.append(extra[0] if extra else "muscle_knots")
    elif command == "what-if":
        for change in extra:
            args += ["--set", change]
    elif command == "graph":
        args += ["--format", "graphml"]
    result = runner.invoke(cli, args, input=text.encode("utf-8", "surrogatepass"), prog_name="painkg")
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert result.stderr.startswith("error: "), result.stderr
    assert "Traceback" not in result.output
