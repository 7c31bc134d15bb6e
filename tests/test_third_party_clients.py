"""Third-party SPARQL and RDF clients against ``painkg serve --store`` (issue 19's acceptance).

A small cohort (synthetic records with bad ones mixed in, and the examples) is stored with the real
``painkg batch --store``, and ``painkg serve --store`` is started for real on a loopback port. Then:

- Apache Jena's parser (``arq.qparse``, strict SPARQL 1.1) accepts every ``examples/queries/**/*.rq``
  as written: a client that parses before sending needs each query's ``PREFIX`` lines.
- Jena's ``arq.rsparql`` runs every example query (and an ASK and a CONSTRUCT) against the live
  ``/sparql``, with the answers ``kg.query(text, store=...)`` gives over the same store.
- So does rdflib's ``SPARQLStore`` (a CONSTRUCT comes as RDF/XML), and its own queries too
  (``len``, ``triples``, ``contexts``).
- Jena's ``riotcmd.riot --validate`` accepts ``painkg explain --format trig|nq|ttl|jsonld`` output
  and the endpoint's CONSTRUCT of the whole store (its only export) as RDF/XML, Turtle and
  N-Triples; the RDF/XML, read by Jena, holds the same triples as the N-Triples.

Jena is Debian's ``libapache-jena-java`` (or a class path in ``PAINKG_JENA_CLASSPATH``). Its command
classes run in one JVM, through JPype, in a subprocess (tests/jena_commands.py), so a JVM starts once
for all of them (about 2 s) instead of once per command. Without Java, the jars or JPype the Jena
tests skip, except under CI (CI=true), where they fail: a missing install step must not pass CI
silently (.ci/run installs the package). The rdflib tests need neither.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import rdflib
from rdflib import URIRef
from rdflib.namespace import RDF

import kg
from kg.cohort.synthetic import synthetic_records
from kg.store.query_limits import QueryLimits
from serve_support import wait_until_healthy
from sparql_answers import XSD, row_values, same_answer, same_graph
from support import EXAMPLES, ROOT

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

PAINKG = [sys.executable, "-m", "kg.cli"]
#: Read at collection time: the queries in examples/queries/ as they are now, however many.
QUERIES = sorted((EXAMPLES / "queries").glob("**/*.rq"))
#: The busy test machine: a generous timeout, the other limits as by default.
LIMITS = QueryLimits(timeout=180)
PK = "https://w3id.org/painkg/ontology#"
ASK = f"PREFIX pk: <{PK}>\nASK {{ ?patient pk:painPersists true }}\n"
ASK_FALSE = f"PREFIX pk: <{PK}>\nASK {{ ?patient pk:painPersists \"no such value\" }}\n"
#: Every key chain with what it says.
CONSTRUCT = f"PREFIX pk: <{PK}>\nCONSTRUCT {{ ?chain ?p ?o }} WHERE {{ ?chain a pk:KeyChain ; ?p ?o }}\n"
#: The whole store (the ontology and every stored patient), as the endpoint exports it.
EVERYTHING = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"
#: Jena parses queries as SPARQL 1.1, not as its own superset of it.
STRICT = "--syntax=SPARQL_11"
#: The media types the endpoint writes a graph in, with the file suffix riot reads each by.
GRAPH_MEDIA = {"application/rdf+xml": "rdf", "text/turtle": "ttl", "application/n-triples": "nt"}
EXPLAINED = ("two-injuries.json", "neck-strain-day16.json")
EXPLAIN_FORMATS = ("trig", "nq", "ttl", "jsonld")

JENA = Path(__file__).with_name("jena_commands.py")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _unavailable(reason: str):
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: Jena must be installed, see .ci/run)")
    pytest.skip(reason)


def _query_id(path: Path) -> str:
    return path.relative_to(EXAMPLES / "queries").as_posix()


# ---------------------------------------------------------------- Jena


@pytest.fixture(scope="module")
def jena_here() -> None:
    """Skip (fail under CI) at once when Jena cannot run, before the store and server are built for it."""
    from jena_commands import unavailable

    reason = unavailable()
    if reason:
        _unavailable(f"Jena unavailable: {reason}")


def _run_jena(jobs: list[tuple[str, list[str]]]) -> list[dict]:
    """Jena's commands ``jobs`` run in one JVM (tests/jena_commands.py): each one's status, stdout and stderr."""
    proc = subprocess.run([sys.executable, str(JENA)], input=json.dumps({"jobs": jobs}), capture_output=True,
                          text=True, timeout=600)
    if proc.returncode == 3:
        _unavailable("Jena unavailable: " + json.loads(proc.stdout)["reason"])
    assert proc.returncode == 0, f"the Jena runner failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    results = json.loads(proc.stdout)
    assert len(results) == len(jobs)
    return results


# ---------------------------------------------------------------- the store and the server


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """About 50 synthetic patients (a few bad records) and the examples, stored by ``painkg batch --store``."""
    tmp = tmp_path_factory.mktemp("third-party-store")
    cohort = tmp / "cohort.ndjson"
    cohort.write_bytes(b"\n".join(synthetic_records(50, seed=1919, bad=0.04)) + b"\n")
    proc = subprocess.run([*PAINKG, "batch", str(cohort), str(EXAMPLES), "--out", str(tmp / "run"),
                           "--store", str(tmp / "store"), "--chunk-size", "25"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    counts = json.loads((tmp / "run" / "summary.json").read_text())["counts"]
    assert counts["results"] >= 50 and counts["pain_persists"] > 0, counts
    return tmp / "store"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def served(store, tmp_path_factory):
    """``painkg serve --store`` on a free loopback port, as a process: yields its ``/sparql`` URL and its log."""
    port = _free_port()
    log = tmp_path_factory.mktemp("third-party-serve") / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([*PAINKG, "serve", "--store", str(store), "--port", str(port),
                                 "--log-level", "warning"], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, proc, log)
        yield f"{base}/sparql", log
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def endpoint(served) -> str:
    return served[0]  # the /sparql URL


def _construct(url: str, media: str) -> bytes:
    body = urllib.parse.urlencode({"query": EVERYTHING}).encode()
    request = urllib.request.Request(url, data=body, headers={"Accept": media,
                                                              "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=120) as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].split(";")[0] == media
        return answer.read()


@pytest.fixture(scope="module")
def documents(endpoint, tmp_path_factory) -> dict[str, Path]:
    """RDF for riot: ``painkg explain`` output (name ``EXAMPLE.FORMAT``) and the store as the endpoint exports it."""
    folder = tmp_path_factory.mktemp("third-party-rdf")
    paths: dict[str, Path] = {}
    running: list = []  # (path, its open file, the process writing it)
    for example in EXPLAINED:
        for fmt in EXPLAIN_FORMATS:
            path = folder / f"{Path(example).stem}.{fmt}"
            out = open(path, "wb")
            running.append((path, out, subprocess.Popen([*PAINKG, "explain", str(EXAMPLES / example), "--format", fmt],
                                                        stdout=out, stderr=subprocess.PIPE, cwd=ROOT)))
            paths[f"{example}.{fmt}"] = path
            if len(running) == 2:  # two at a time: the machine has two cores
                _finish(running)
    _finish(running)
    for media, suffix in GRAPH_MEDIA.items():
        path = folder / f"store.{suffix}"
        path.write_bytes(_construct(endpoint, media))
        paths[f"store.{suffix}"] = path
    broken = folder / "broken.ttl"  # the control: riot must refuse this
    broken.write_text(f'@prefix pk: <{PK}> .\npk:a pk:b "x"^^<{XSD}integer> .\npk:a pk:b pk:c\n', encoding="utf-8")
    paths["broken.ttl"] = broken
    return paths


def _finish(running: list) -> None:
    for path, out, proc in running:
        _, err = proc.communicate(timeout=300)
        out.close()
        assert proc.returncode == 0, (path.name, err.decode(errors="replace"))
        assert path.stat().st_size > 0, path.name
    running.clear()


@pytest.fixture(scope="module")
def jena(jena_here, endpoint, documents, expected, tmp_path_factory) -> dict[str, dict]:
    """Every Jena command of this module, run once in one JVM: results by a name for each job."""
    folder = tmp_path_factory.mktemp("third-party-queries")
    ask, ask_false, construct = folder / "ask.rq", folder / "ask-false.rq", folder / "construct.rq"
    for path, text in ((ask, ASK), (ask_false, ASK_FALSE), (construct, CONSTRUCT)):
        path.write_text(text, encoding="utf-8")
    jobs: dict[str, tuple[str, list[str]]] = {}
    for path in QUERIES:
        # SPARQL 1.1 as the W3C defines it: Jena's default syntax is ARQ's superset (LET, ...).
        jobs[f"qparse {_query_id(path)}"] = ("arq.qparse", [STRICT, "--query", str(path)])
        graph = expected[_query_id(path)].type in ("CONSTRUCT", "DESCRIBE")
        jobs[f"rsparql {_query_id(path)}"] = ("arq.rsparql", [STRICT, "--service", endpoint, "--query", str(path),
                                                              "--results", "NT" if graph else "JSON"])
    # rsparql sends a query with GET (the query in the URL); --post sends it as an HTML form.
    jobs["rsparql post"] = ("arq.rsparql", [STRICT, "--post", "--service", endpoint, "--query", str(QUERIES[0]),
                                            "--results", "JSON"])
    # The controls: the prefix-less form the issue found in examples/queries/, and an ARQ extension.
    jobs["qparse no prefix"] = ("arq.qparse", [STRICT, "SELECT ?p WHERE { ?p pk:painPersists true }"])
    jobs["qparse arq extension"] = ("arq.qparse", [STRICT, "SELECT ?x WHERE { LET (?x := 1) }"])
    for name, path, results in (("ask", ask, "JSON"), ("ask false", ask_false, "JSON"), ("construct", construct, "NT")):
        jobs[f"rsparql {name}"] = ("arq.rsparql", [STRICT, "--service", endpoint, "--query", str(path),
                                                   "--results", results])
    rdf = [str(p) for name, p in sorted(documents.items()) if not name.endswith(("jsonld", "broken.ttl"))]
    jobs["riot validate"] = ("riotcmd.riot", ["--validate", *rdf])
    # JSON-LD 1.0 (jsonld-java): Debian ships no jakarta.json provider, which Jena's JSON-LD 1.1
    # reader (Titanium) needs, so that reader fails on any document ("LOADING_DOCUMENT_FAILED").
    jsonld = [str(p) for name, p in sorted(documents.items()) if name.endswith("jsonld")]
    jobs["riot validate jsonld"] = ("riotcmd.riot", ["--validate", "--syntax=jsonld10", *jsonld])
    jobs["riot broken"] = ("riotcmd.riot", ["--validate", str(documents["broken.ttl"])])
    jobs["riot rdfxml to nt"] = ("riotcmd.riot", ["--output=NT", str(documents["store.rdf"])])
    return dict(zip(jobs, _run_jena(list(jobs.values()))))


# ---------------------------------------------------------------- kg.query's answers


@pytest.fixture(scope="module")
def expected(store) -> dict[str, object]:
    """``kg.query`` over the same store, for each query the clients run."""
    texts = {_query_id(p): p.read_text(encoding="utf-8") for p in QUERIES}
    texts.update(ask=ASK, ask_false=ASK_FALSE, construct=CONSTRUCT)
    return {name: kg.query(text, store=store, limits=LIMITS) for name, text in texts.items()}


def _ok(run: dict) -> None:
    assert run["status"] == 0, run["stderr"]


# ---------------------------------------------------------------- the tests


def test_the_example_queries_are_all_here():
    # The case count, so that a moved or emptied examples/queries/ cannot pass by shrinking.
    assert len(QUERIES) >= 8, QUERIES
    assert len([p for p in QUERIES if p.parent.name == "queries"]) >= 5


@pytest.mark.parametrize("query", QUERIES, ids=_query_id)
def test_jena_parses_the_example_query_as_written(jena, query):
    run = jena[f"qparse {_query_id(query)}"]
    assert run["status"] == 0, f"Jena's parser refuses {_query_id(query)}: {run['stderr'].strip()}"
    assert run["stdout"].strip(), "qparse prints the query it parsed"


def test_jena_refuses_a_query_without_its_prefix_lines(jena):
    run = jena["qparse no prefix"]
    assert run["status"] == 2
    assert "Unresolved prefixed name: pk:painPersists" in run["stderr"]


def test_jena_parses_as_sparql_1_1_only(jena):
    # The control for STRICT: ARQ's LET is not SPARQL 1.1.
    run = jena["qparse arq extension"]
    assert run["status"] == 2
    assert "Lexical error at line 1" in run["stderr"]


def test_jena_rsparql_posting_a_form_answers_as_kg_query(jena, expected):
    run = jena["rsparql post"]
    _ok(run)
    same_answer(run["stdout"], expected[_query_id(QUERIES[0])])


@pytest.mark.parametrize("query", QUERIES, ids=_query_id)
def test_jena_rsparql_answers_the_example_query_as_kg_query(jena, expected, query):
    run, mine = jena[f"rsparql {_query_id(query)}"], expected[_query_id(query)]
    assert run["status"] == 0, f"rsparql fails on {_query_id(query)}: {run['stderr'].strip()}"
    same_answer(run["stdout"], mine)
    if query.parent.name == "queries":  # the cohort queries: not an empty comparison
        assert mine, f"{_query_id(query)} has no answer over the cohort store"


def test_jena_rsparql_ask_and_construct_as_kg_query(jena, expected):
    for name in ("ask", "ask false", "construct"):
        run = jena[f"rsparql {name}"]
        _ok(run)
        same_answer(run["stdout"], expected[name.replace(" ", "_")])
    assert expected["ask"].askAnswer is True and expected["ask_false"].askAnswer is False
    assert len(expected["construct"]) > 0


def test_riot_validates_painkg_explain_output_and_the_store_export(jena, documents):
    for name in ("riot validate", "riot validate jsonld"):
        run = jena[name]
        _ok(run)
        # riot logs each file at INFO; a WARN (an ill-formed literal, a bad IRI) or ERROR fails too.
        problems = [line for line in run["stderr"].splitlines() if " WARN " in line or " ERROR " in line]
        assert not problems, "\n".join(problems)
    checked = jena["riot validate"]["stderr"] + jena["riot validate jsonld"]["stderr"]
    for name, path in documents.items():
        if name != "broken.ttl":
            assert f"File: {path}" in checked, name


def test_riot_refuses_a_broken_document(jena):
    # The control: the validation above can fail.
    run = jena["riot broken"]
    assert run["status"] != 0
    assert "Lexical form 'x' not valid for datatype XSD integer" in run["stderr"]
    assert "Triples not terminated by DOT" in run["stderr"]


def test_the_endpoints_rdf_xml_read_by_jena_is_the_same_graph_as_its_n_triples(jena, documents):
    _ok(jena["riot rdfxml to nt"])
    from_xml = rdflib.Graph().parse(data=jena["riot rdfxml to nt"]["stdout"], format="nt")
    from_nt = rdflib.Graph().parse(documents["store.nt"], format="nt")
    assert len(from_nt) > 1000
    assert set(from_xml) == set(from_nt)


# ---------------------------------------------------------------- rdflib's SPARQLStore


@pytest.fixture(scope="module")
def remote(endpoint) -> rdflib.Graph:
    """A graph over the endpoint through rdflib's SPARQLStore, as its documentation sets one up."""
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    return rdflib.Graph(SPARQLStore(query_endpoint=endpoint))


@pytest.mark.parametrize("query", QUERIES, ids=_query_id)
def test_rdflib_sparqlstore_answers_the_example_query_as_kg_query(remote, expected, query):
    result, mine = remote.query(query.read_text(encoding="utf-8")), expected[_query_id(query)]
    assert result.type == mine.type
    if mine.type == "SELECT":
        assert [str(v) for v in result.vars] == list(mine.vars)
        assert row_values(result) == row_values(mine.rows)
    elif mine.type == "ASK":
        assert result.askAnswer is mine.askAnswer
    else:
        same_graph(result.graph, mine.triples)


def test_rdflib_sparqlstore_ask_is_kg_query(remote, expected):
    assert remote.query(ASK).askAnswer is True is expected["ask"].askAnswer
    assert remote.query(ASK_FALSE).askAnswer is False is expected["ask_false"].askAnswer


def test_rdflib_sparqlstore_construct_reads_rdf_xml_as_kg_query(remote, expected):
    # SPARQLStore asks for application/sparql-results+xml or application/rdf+xml: the CONSTRUCT
    # comes back as RDF/XML (issue 19's protocol gap), read by rdflib's own RDF/XML parser.
    result = remote.query(CONSTRUCT)
    assert result.type == "CONSTRUCT"
    assert len(result.graph) > 0
    same_graph(result.graph, expected["construct"].triples)


def test_rdflib_sparqlstore_graph_api_is_kg_query(remote, store):
    # Queries SPARQLStore writes itself: len() counts, triples() selects a pattern, contexts() lists graphs.
    def column(text: str) -> list:
        return sorted(row[0] for row in kg.query(text, store=store, limits=LIMITS).rows)

    assert len(remote) == int(column("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]) > 1000
    chains = [s for s, _, _ in remote.triples((None, RDF.type, URIRef(f"{PK}KeyChain")))]
    assert chains and sorted(chains) == column(f"SELECT ?s WHERE {{ ?s a <{PK}KeyChain> }}")
    graphs = column("SELECT DISTINCT ?g WHERE { GRAPH ?g {} }")
    assert len(graphs) > 100 and sorted(remote.store.contexts()) == graphs


def test_the_server_logged_no_error(served):
    # Last in the module, after every client above: what they sent gave no traceback or error
    # (uvicorn's "ERROR:" lines) on the server's side either.
    lines = served[1].read_text(errors="replace").splitlines()
    assert not [line for line in lines if "Traceback" in line or line.startswith("ERROR")], "\n".join(lines[-40:])
