"""/sparql over real HTTP with a real SPARQL client: the CLI's answers, formats, refusals."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
SPARQLWrapper = pytest.importorskip("SPARQLWrapper")

from serve_support import http, serve_url  # noqa: E402

QUERIES = sorted(Path("examples/queries").glob("*.rq"))
STORED = ["examples/lower-back-strain-day20.json", "examples/two-injuries.json", "examples/neck-strain-day16.json",
          "examples/knots-first-report.json"]
PAINKG = [sys.executable, "-m", "kg.cli"]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("serve-store")
    done = subprocess.run([*PAINKG, "batch", *STORED, "--out", str(out / "run"), "--store", str(out / "store")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return out / "store"


@pytest.fixture(scope="module")
def server(store):
    from kg.serve.settings import ServeSettings

    with serve_url(ServeSettings(cds_open=True, store=store, sparql_timeout_s=10)) as base:
        yield base


def _cli_json(store: Path, query_file: Path) -> dict:
    done = subprocess.run([*PAINKG, "query", "--store", str(store), f"@{query_file}", "--format", "json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_query_count():
    assert len(QUERIES) == 8


@pytest.mark.parametrize("query_file", QUERIES, ids=lambda p: p.stem)
def test_sparqlwrapper_gets_the_cli_answer(server, store, query_file):
    from SPARQLWrapper import JSON, POST, SPARQLWrapper as Client

    client = Client(f"{server}/sparql")
    client.setQuery(query_file.read_text("utf-8"))
    client.setReturnFormat(JSON)
    client.setMethod(POST)
    answer = client.query().convert()
    expected = _cli_json(store, query_file)
    assert answer == expected
    if "results" in expected:
        assert expected["results"]["bindings"], f"{query_file.name} answers nothing over the store"


def test_get_post_form_and_direct_post_agree(server):
    q = "SELECT ?rule WHERE { ?rule a pk:Rule } ORDER BY ?rule LIMIT 5"
    accept = {"Accept": "application/sparql-results+json"}
    got = http("GET", f"{server}/sparql?query={urllib.parse.quote(q)}", headers=accept)
    form = http("POST", f"{server}/sparql", body=urllib.parse.urlencode({"query": q}),
                headers={**accept, "Content-Type": "application/x-www-form-urlencoded"})
    direct = http("POST", f"{server}/sparql", body=q, headers={**accept, "Content-Type": "application/sparql-query"})
    assert got[0] == form[0] == direct[0] == 200
    assert got[2] == form[2] == direct[2]
    assert len(json.loads(got[2])["results"]["bindings"]) == 5


SELECT = "SELECT ?p ?id WHERE { ?p a pk:Patient ; dcterms:identifier ?id } ORDER BY ?id"


@pytest.mark.parametrize("accept", ["application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                                    "text/tab-separated-values"])
def test_select_formats(server, accept):
    status, headers, body = http("GET", f"{server}/sparql?query={urllib.parse.quote(SELECT)}",
                                 headers={"Accept": accept})
    assert status == 200
    assert headers["content-type"].split(";")[0] == accept
    text = body.decode("utf-8")
    ids = ["knots-1", "neck-1", "p1", "two-sites-1"]
    if accept.endswith("json"):
        assert [b["id"]["value"] for b in json.loads(text)["results"]["bindings"]] == ids
    elif accept.endswith("xml"):
        import xml.etree.ElementTree as ET

        ns = {"r": "http://www.w3.org/2005/sparql-results#"}
        root = ET.fromstring(body)
        assert [e.text for e in root.findall(".//r:binding[@name='id']/r:literal", ns)] == ids
    elif accept == "text/csv":
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == ["p", "id"] and [r[1] for r in rows[1:]] == ids
    else:
        lines = text.splitlines()
        assert lines[0] == "?p\t?id" and [line.split("\t")[1] for line in lines[1:]] == [f'"{i}"' for i in ids]


def test_ask_and_construct_formats(server):
    ask = "ASK { pk:MuscleKnots obo:RO_0003302 pk:PersistentPain }"
    status, headers, body = http("GET", f"{server}/sparql?query={urllib.parse.quote(ask)}",
                                 headers={"Accept": "application/sparql-results+xml"})
    assert status == 200 and b"<boolean>true</boolean>" in body
    status, _, body = http("GET", f"{server}/sparql?query={urllib.parse.quote(ask)}", headers={"Accept": "text/csv"})
    assert status == 406 and json.loads(body)["field"] == "Accept"
    construct = "CONSTRUCT { ?s a pk:Rule } WHERE { ?s a pk:Rule } "
    for accept, marker in [("text/turtle", b"@prefix"), ("application/n-triples", b"<https://w3id.org/painkg/rule/"),
                           ("application/ld+json", b"@context")]:
        status, headers, body = http("POST", f"{server}/sparql", body=construct,
                                     headers={"Content-Type": "application/sparql-query", "Accept": accept})
        assert status == 200 and headers["content-type"].split(";")[0] == accept and marker in body


def test_service_description_and_query_page(server):
    status, headers, body = http("GET", f"{server}/sparql", headers={"Accept": "text/turtle"})
    assert status == 200 and headers["content-type"].startswith("text/turtle")
    from rdflib import Graph, URIRef
    from rdflib.namespace import RDF

    g = Graph().parse(data=body.decode(), format="turtle")
    sd = "http://www.w3.org/ns/sparql-service-description#"
    me = URIRef(f"{server}/sparql")
    assert (me, RDF.type, URIRef(sd + "Service")) in g
    assert (me, URIRef(sd + "supportedLanguage"), URIRef(sd + "SPARQL11Query")) in g
    status, headers, body = http("GET", f"{server}/sparql",
                                 headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b'src="/static/yasgui/yasgui.min.js"' in body and b"https://" not in body.split(b"<body>")[0]
    status, headers, js = http("GET", f"{server}/static/yasgui/yasgui.min.js")
    assert status == 200 and len(js) > 500_000


def _error(r, status: int) -> dict:
    assert r[0] == status, r[2]
    assert r[1]["content-type"] == "application/json"
    data = json.loads(r[2])
    assert data["status"] == status and "Traceback" not in data["error"]
    return data


@pytest.mark.parametrize("how", ["form", "body", "query-param"])
def test_updates_are_refused_with_403(server, how):
    update = "INSERT DATA { <urn:a> <urn:b> <urn:c> }"
    if how == "form":
        r = http("POST", f"{server}/sparql", body=urllib.parse.urlencode({"update": update}),
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    elif how == "body":
        r = http("POST", f"{server}/sparql", body=update, headers={"Content-Type": "application/sparql-update"})
    else:
        r = http("GET", f"{server}/sparql?update={urllib.parse.quote(update)}")
    assert _error(r, 403)["field"] == "update"


def test_an_update_sent_as_a_query_is_400(server):
    r = http("POST", f"{server}/sparql", body="DELETE WHERE { ?s ?p ?o }",
             headers={"Content-Type": "application/sparql-query"})
    assert _error(r, 400)["error"] == "query: SPARQL Update (DELETE) is refused: painkg queries are read-only"


@pytest.mark.parametrize("query, expected", [
    ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", "SERVICE (line 1, column 18) is refused"),
    ("SELECT * FROM <http://example.org/g> WHERE { ?s ?p ?o }", "FROM"),
    ("SELECT * WHERE " + "{" * 100 + "}" * 100, "nesting deeper than 64 levels"),
    ("SELECT ?x WHERE { ?x a }", "syntax error at line 1, column 25"),
])
def test_hostile_and_malformed_queries_are_400(server, query, expected):
    r = http("POST", f"{server}/sparql", body=query, headers={"Content-Type": "application/sparql-query"})
    data = _error(r, 400)
    assert data["field"] == "query" and expected in data["error"]


def test_dataset_parameters_and_wrong_content_type(server):
    q = urllib.parse.quote("ASK {}")
    r = http("GET", f"{server}/sparql?query={q}&default-graph-uri=http%3A%2F%2Fexample.org%2F")
    assert _error(r, 400)["field"] == "default-graph-uri"
    r = http("POST", f"{server}/sparql", body="ASK {}", headers={"Content-Type": "text/plain"})
    assert _error(r, 415)["field"] == "Content-Type"


def test_row_limit_and_timeout(store):
    from kg.serve.settings import ServeSettings

    with serve_url(ServeSettings(cds_open=True, store=store, sparql_max_rows=3, sparql_timeout_s=0.5)) as base:
        r = http("GET", f"{base}/sparql?query={urllib.parse.quote('SELECT * WHERE { ?s ?p ?o }')}")
        assert _error(r, 400)["error"] == "query: more than 3 result rows (limit --max-rows 3)"
        slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
        r = http("GET", f"{base}/sparql?query={urllib.parse.quote(slow)}")
        data = _error(r, 503)
        assert data["error"] == "query: timed out after 0.5 s (limit --timeout 0.5)"
        assert r[1]["retry-after"] == "5"


GRAPH_QUERY = "CONSTRUCT { ?s a pk:Rule ; rdfs:label ?l } WHERE { ?s a pk:Rule ; rdfs:label ?l }"


def test_rdf_xml_for_construct_and_describe(server):
    from rdflib import Graph
    from rdflib.compare import isomorphic

    def fetch(query: str, accept: str) -> bytes:
        status, headers, body = http("POST", f"{server}/sparql", body=query,
                                     headers={"Content-Type": "application/sparql-query", "Accept": accept})
        assert status == 200 and headers["content-type"].split(";")[0] == accept, body[:300]
        return body

    for query in (GRAPH_QUERY, "DESCRIBE pk:MuscleKnots"):
        xml = Graph().parse(data=fetch(query, "application/rdf+xml"), format="xml")
        turtle = Graph().parse(data=fetch(query, "text/turtle"), format="turtle")
        assert len(xml) > 10 and isomorphic(xml, turtle)
    assert fetch(GRAPH_QUERY, "application/rdf+xml") == fetch(GRAPH_QUERY, "application/rdf+xml")  # deterministic


def test_rdflibs_sparqlstore_runs_construct_and_select(server):
    """rdflib's own SPARQL client (no SPARQLWrapper): CONSTRUCT comes back as RDF/XML, SELECT as XML results."""
    from rdflib import Graph
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    remote = Graph(store=SPARQLStore(query_endpoint=f"{server}/sparql", returnFormat="xml"))
    built = remote.query(GRAPH_QUERY).graph
    expected = Graph().parse(data=http("POST", f"{server}/sparql", body=GRAPH_QUERY, headers={
        "Content-Type": "application/sparql-query", "Accept": "text/turtle"})[2], format="turtle")
    assert len(built) == len(expected) > 10 and set(built) == set(expected)
    rows = list(remote.query("SELECT ?id WHERE { ?p a pk:Patient ; dcterms:identifier ?id } ORDER BY ?id"))
    assert [str(r[0]) for r in rows] == ["knots-1", "neck-1", "p1", "two-sites-1"]


@pytest.mark.parametrize("query", ['CONSTRUCT { <urn:a> <http://example.org/123> "x" } WHERE {}',
                                   'CONSTRUCT { <urn:a> <http://example.org/p> "a\\u0001b" } WHERE {}'])
def test_a_graph_rdf_xml_cannot_write_is_406(server, query):
    r = http("POST", f"{server}/sparql", body=query,
             headers={"Content-Type": "application/sparql-query", "Accept": "application/rdf+xml"})
    data = _error(r, 406)
    assert data["field"] == "format" and "RDF/XML cannot" in data["error"] and "Turtle" in data["error"]
    r = http("POST", f"{server}/sparql", body=query,
             headers={"Content-Type": "application/sparql-query", "Accept": "application/n-triples"})
    assert r[0] == 200


def test_the_service_description_names_the_stores_graphs(server):
    from rdflib import Graph, URIRef

    status, headers, body = http("GET", f"{server}/sparql", headers={"Accept": "text/turtle"})
    g = Graph().parse(data=body.decode(), format="turtle")
    sd = "http://www.w3.org/ns/sparql-service-description#"
    names = sorted(str(o) for o in g.objects(None, URIRef(sd + "name")))
    patients = [f"https://w3id.org/painkg/patient/{i}/graph/{kind}" for i in ("knots-1", "neck-1", "p1", "two-sites-1")
                for kind in ("derivations", "input")]
    listed = http("GET", f"{server}/sparql?query={urllib.parse.quote('SELECT DISTINCT ?g WHERE { GRAPH ?g {} }')}",
                  headers={"Accept": "application/sparql-results+json"})[2]
    graphs = {b["g"]["value"] for b in json.loads(listed)["results"]["bindings"]}
    assert names == sorted(graphs | {"https://w3id.org/painkg/graph/ontology"})
    assert set(patients) <= set(names)
    formats = {str(o) for o in g.objects(None, URIRef(sd + "resultFormat"))}
    assert "http://www.w3.org/ns/formats/RDF_XML" in formats


def test_methods_allow_options_and_head(server):
    allow = "GET, HEAD, POST, OPTIONS"
    for method in ("PUT", "DELETE", "PATCH", "TRACE"):
        r = http(method, f"{server}/sparql", body="ASK {}", headers={"Content-Type": "application/sparql-query"})
        data = _error(r, 405)
        assert r[1]["allow"] == allow and data["field"] == "method" and data["allowed"] == allow.split(", ")
    status, headers, body = http("OPTIONS", f"{server}/sparql")
    assert status == 204 and headers["allow"] == allow and body == b""
    url = f"{server}/sparql?query={urllib.parse.quote('ASK {}')}"
    got = http("GET", url, headers={"Accept": "application/sparql-results+json"})
    head = http("HEAD", url, headers={"Accept": "application/sparql-results+json"})
    assert head[0] == got[0] == 200 and head[2] == b"" and head[1]["content-type"] == got[1]["content-type"]
