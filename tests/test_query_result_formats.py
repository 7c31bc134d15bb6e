"""`painkg query` output formats are the standard ones, read back by standard parsers.

* ASK: the W3C SPARQL 1.1 CSV and TSV results formats define SELECT results only, so ASK
  refuses them and offers table and json (SPARQL 1.1 JSON results, which rdflib reads).
* CONSTRUCT/DESCRIBE `--format json`: JSON-LD with the triples in the default graph, so a
  reader of plain graphs (rdflib, Oxigraph) finds them there.
"""

from __future__ import annotations

import io
import json
import warnings

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from rdflib import Dataset, Graph
from rdflib.compare import isomorphic
from rdflib.query import Result

import kg
from kg.cli import cli
from kg.errors import InputError

from support import EXAMPLES

DAY20 = str(EXAMPLES / "lower-back-strain-day20.json")
ASK = "ASK { pk:MuscleKnots obo:RO_0003302 pk:PersistentPain }"
CONSTRUCT = "CONSTRUCT { ?a ro:0003302 ?b . ?a rdfs:label ?l } WHERE { ?a ro:0003302 ?b ; rdfs:label ?l }"
DESCRIBE = "DESCRIBE pkr:knots-from-overload"


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_ask_refuses_csv_and_tsv_and_says_what_it_allows(fmt):
    result = invoke("query", ASK, "--format", fmt)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: --format: ")
    assert result.stderr.rstrip().endswith("expected one of table, json for an ASK query (the W3C SPARQL CSV "
                                           "and TSV results formats are for SELECT only)")
    with pytest.raises(InputError, match="SELECT only"):
        getattr(kg.query(ASK), f"to_{fmt}")()


@pytest.mark.parametrize("fmt,expected", [("table", "true\n"), ("json", None)])
def test_ask_in_the_formats_it_allows(fmt, expected):
    result = invoke("query", ASK, "--format", fmt)
    assert result.exit_code == 0, result.output
    if expected is not None:
        assert result.output == expected
    else:
        assert Result.parse(io.StringIO(result.output), format="json").askAnswer is True


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json"])
def test_select_results_read_back_with_rdflib(fmt):
    query = "SELECT ?c ?label WHERE { ?c obo:RO_0003302 pk:MuscleKnots ; rdfs:label ?label } ORDER BY ?c"
    result = invoke("query", query, "-p", DAY20, "--format", fmt)
    assert result.exit_code == 0, result.output
    back = Result.parse(io.StringIO(result.output), format=fmt)
    expected = [(str(r.c), str(r.label)) for r in kg.query(query, [DAY20])]
    assert expected and [(str(r[0]), str(r[1])) for r in back] == expected


@pytest.mark.parametrize("query", [CONSTRUCT, DESCRIBE], ids=["construct", "describe"])
def test_graph_results_as_json_are_json_ld_in_the_default_graph(query):
    result = kg.query(query, [DAY20])
    text = result.to_json()
    assert len(result) > 0 and text == kg.query(query, [DAY20]).to_json()
    data = json.loads(text)
    assert sorted(data) == ["@context", "@graph"]  # no "@id": the graph is not named
    # rdflib: every triple in the default graph, none in a named one.
    ds = Dataset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ds.parse(data=text, format="json-ld")
    assert {str(g.identifier) for g in ds.graphs() if len(g)} == {"urn:x-rdflib:default"}
    plain = Graph().parse(data=text, format="json-ld")
    assert len(plain) == len(result) and isomorphic(plain, result.graph)
    # Oxigraph: the same.
    quads = list(ox.parse(text.encode("utf-8"), format=ox.RdfFormat.JSON_LD))
    assert len(quads) == len(result) and all(q.graph_name == ox.DefaultGraph() for q in quads)


def test_graph_json_from_the_cli_is_the_api_json():
    result = invoke("query", CONSTRUCT, "--format", "json")
    assert result.exit_code == 0, result.output
    assert result.output == kg.query(CONSTRUCT).to_json()


def test_obo_iris_are_compacted_with_a_prefix_json_ld_1_1_expands():
    # "ro:0003302" would not expand in JSON-LD 1.1 (its namespace ends in "_", not a gen-delim).
    text = kg.query(CONSTRUCT).to_json()
    data = json.loads(text)
    assert "ro" not in data["@context"] and data["@context"]["obo"] == "http://purl.obolibrary.org/obo/"
    assert any("obo:RO_0003302" in node for node in data["@graph"])
