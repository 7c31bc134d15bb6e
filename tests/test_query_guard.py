"""kg.store.query_guard: SERVICE never reaches the network, nesting, time, rows and memory are
bounded, FROM is refused, and accepted queries answer exactly what they answered before.

A real TCP listener on 127.0.0.1 must see no connection from a guarded query, over a
hypothesis-generated family of SERVICE spellings; the same spellings run on the bare
engine do reach a second ("canary") listener, so the family is live.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg.errors import InputError, PainkgError
from kg.store import query_guard as guard
from kg.store import query_sandbox
from kg.store.query_guard import (Answer, QueryCrashError, QueryLimits, QueryMemoryError, QueryNestingError,
                                  QueryRefusedError, QueryTimeoutError, QueryTooManyRowsError, check_query,
                                  run_query)

ROOT = Path(__file__).resolve().parents[1]
EX = "http://ex.org/"


class Listener:
    """A TCP listener on 127.0.0.1 that counts connections (accepted, then closed at once)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # timeout: look at the flag again
                continue
            self.connections += 1
            conn.close()

    def settle(self) -> int:
        """Connections so far, after giving a late one time to arrive."""
        time.sleep(0.02)
        return self.connections

    def close(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


@pytest.fixture(scope="module")
def listener():
    server = Listener()
    yield server
    server.close()
    assert server.connections == 0, "a guarded query opened a connection"


@pytest.fixture(scope="module")
def canary():
    server = Listener()
    yield server
    server.close()


def _quad(i: int, graph: bool = True) -> ox.Quad:
    return ox.Quad(ox.NamedNode(f"{EX}s{i}"), ox.NamedNode(f"{EX}p{i % 7}"), ox.Literal(f"v{i}"),
                   ox.NamedNode(f"{EX}g{i % 3}") if graph else ox.DefaultGraph())


@pytest.fixture(scope="module")
def small():
    store = ox.Store()
    store.extend([_quad(i) for i in range(6)] + [_quad(i, graph=False) for i in range(6, 9)])
    b = ox.BlankNode("node1")
    store.extend([
        ox.Quad(ox.NamedNode(f"{EX}a"), ox.NamedNode(f"{EX}label"), ox.Literal("chat", language="fr")),
        ox.Quad(ox.NamedNode(f"{EX}a"), ox.NamedNode(f"{EX}n"), ox.Literal("42", datatype=ox.NamedNode(
            "http://www.w3.org/2001/XMLSchema#integer"))),
        ox.Quad(ox.NamedNode(f"{EX}a"), ox.NamedNode(f"{EX}knows"), b),
        ox.Quad(b, ox.NamedNode(f"{EX}label"), ox.Literal('tab\tquote" é \U0001F600')),
    ])
    return store


@pytest.fixture(scope="module")
def big():
    """3,000 quads: a two-way cartesian product has 9 million rows, a three-way one 27 billion."""
    store = ox.Store()
    store.extend([_quad(i) for i in range(3000)])
    return store


# ---------------------------------------------------------------- SERVICE never reaches the network

def _keyword(draw, word: str) -> str:
    return "".join(c.lower() if flip else c for c, flip in zip(word, draw(st.lists(st.booleans(), min_size=len(word),
                                                                                      max_size=len(word)))))


@st.composite
def service_queries(draw) -> str:
    """A live SERVICE query to 127.0.0.1:PORT (PORT replaced later), spelled in many ways."""
    gap = st.sampled_from(["", " ", "\n", "\t", "  # a comment { ( SERVICE\n", "#\n", "\r\n "])
    keyword = _keyword(draw, "SERVICE")
    silent = draw(st.sampled_from(["", " SILENT", " silent", "\nSiLeNt", "SILENT"]))  # Oxigraph reads SERVICESILENT
    endpoint = draw(st.sampled_from(["<http://127.0.0.1:PORT/x>", "<http://127.0.0.1:PORT/\\u0078>",
                                     "<http://127.0.0.1:PORT/\\U00000078>", "<http://127.0.0.1:PORT/>", "ep:x",
                                     "ep:", "<x>", "<>"]))
    after_keyword = draw(gap)
    if not after_keyword and endpoint[0] != "<":
        after_keyword = " "  # SERVICEep:x would be one prefixed name
    service = f"{keyword}{silent}{after_keyword}{endpoint}{draw(gap)}{{ ?x ?y ?z }}"
    before = draw(st.sampled_from(["", "?s ?p ?o .", "?s ?p ?o .\n", "?s ?p ?o", "?s ?p ?o . # SERVICE\n",
                                   "?s ?p ?o ; ?q ?r ."]))
    wrapper = draw(st.sampled_from(["@", "OPTIONAL { @ }", "{ @ } UNION { ?a ex:none ?c }", "{ ?a ex:none ?c } UNION {@}",
                                    "MINUS { @ }", "{ SELECT * WHERE { @ } }", "GRAPH ?g { @ }",
                                    "{ { @ } }", "OPTIONAL{GRAPH?g{@}}"]))
    between = draw(gap)
    if not between and before[-1:].isalnum():
        between = " "  # ?oSERVICE would be one variable
    pattern = before + between + wrapper.replace("@", service)
    form = draw(st.sampled_from(["SELECT * WHERE { @ }", "SELECT*{@}", "ASK { @ }", "ask{@}",
                                 "CONSTRUCT { ?x ?y ?z } WHERE { @ }", "select ?x where {@}"]))
    prologue = draw(st.sampled_from(["", "# PREFIX\n", "PREFIX ep: <http://127.0.0.1:PORT/> ", "prefix ep:<http://127.0.0.1:PORT/>"]))
    if "ex:" in pattern:
        prologue = "PREFIX ex: <http://ex.org/>\n" + prologue
    if "ep:" in endpoint and "ep:" not in prologue:
        prologue = "PREFIX ep: <http://127.0.0.1:PORT/>\n" + prologue
    if endpoint in ("<x>", "<>"):
        prologue = "BASE <http://127.0.0.1:PORT/>\n" + prologue
    return prologue + form.replace("@", pattern)


def _run_bare(store: ox.Store, sparql: str) -> None:
    """What painkg did before the guard: the engine, in this process."""
    try:
        result = store.query(sparql, use_default_graph_as_union=True)
        if not isinstance(result, ox.QueryBoolean):
            list(result)
    except OSError:
        pass  # the canary closes every connection without an answer


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(template=service_queries())
def test_service_spellings_never_connect(template, listener, canary, small):
    guarded = template.replace("PORT", str(listener.port))
    before = listener.settle()
    with pytest.raises(QueryRefusedError, match=r"SERVICE \(line \d+, column \d+\) is refused: painkg queries never"):
        run_query(small, guarded, use_default_graph_as_union=True)
    assert listener.settle() == before == 0
    # The same spelling on the bare engine does open a connection: the family is live.
    reached = canary.settle()
    _run_bare(small, template.replace("PORT", str(canary.port)))
    assert canary.settle() > reached, template


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(template=service_queries())
def test_each_later_barrier_alone_stops_service(template, listener, small):
    sparql = template.replace("PORT", str(listener.port))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(guard, "check_query", lambda *args, **kwargs: None)  # barrier 1 wrong
        # rdflib's parse tree has the SERVICE, or rdflib cannot parse the query (SERVICESILENT, which
        # Oxigraph reads), which is refused too, after Oxigraph, in the sandbox, had its say on the syntax.
        with pytest.raises(QueryRefusedError, match="^query: (SERVICE is refused|the query could not be checked|"
                                                    "tried to open a network connection)"):
            run_query(small, sparql, use_default_graph_as_union=True)
        assert listener.settle() == 0
        if not guard.network_filter_available():
            return
        patch.setattr(query_sandbox, "parse_check", lambda sparql: None)  # barrier 2 wrong too
        with pytest.raises(QueryRefusedError, match="tried to open a network connection and was stopped") as info:
            run_query(small, sparql, use_default_graph_as_union=True)  # the kernel's filter
        assert info.value.construct == "network"
        assert listener.settle() == 0


def test_descriptor_limit_alone_stops_service(listener, small):
    sparql = f"SELECT * WHERE {{ ?s ?p ?o .SERVICE SILENT <http://127.0.0.1:{listener.port}/x> {{ ?x ?y ?z }} }}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(guard, "check_query", lambda *args, **kwargs: None)
        patch.setattr(query_sandbox, "parse_check", lambda sparql: None)
        patch.setattr(query_sandbox, "install_network_filter", lambda: False)
        answer = run_query(small, sparql)  # SILENT: the failed connection is an empty SERVICE
        assert answer.kind == "solutions" and all(row[3:] == (None, None, None) for row in answer.solutions)
        with pytest.raises(OSError, match="Too many open files"):
            run_query(small, sparql.replace("SILENT", ""))
    assert listener.settle() == 0


@pytest.mark.parametrize("sparql", [
    "SELECT * WHERE { \\u0053ERVICE <http://127.0.0.1:PORT/x> { ?x ?y ?z } }",
    "SELECT * WHERE { SERVIC\\u0045 <http://127.0.0.1:PORT/x> { ?x ?y ?z } }",
])
def test_escaped_keyword_is_an_error_and_sends_nothing(sparql, listener, small):
    # Oxigraph reads \u escapes only in strings and IRIs, so this is a syntax error for the
    # engine; rdflib expands them everywhere and so refuses it as SERVICE. Either way: no answer.
    sparql = sparql.replace("PORT", str(listener.port))
    with pytest.raises(SyntaxError):
        small.query(sparql)
    with pytest.raises((QueryRefusedError, SyntaxError)):
        run_query(small, sparql)
    assert listener.settle() == 0


@pytest.mark.parametrize("sparql", [
    "SELECT ?service WHERE { VALUES ?service { 'SERVICE' } }",
    'SELECT * WHERE { ?s <http://x/SERVICE> ?o . ?s ex:SERVICE ?o } # SERVICE',
    "SELECT * WHERE { ?s ex:a.SERVICE ?o . ?s ?p \"\"\"SERVICE {\n(\"\"\"@en }",
    "SELECT ?from WHERE { ?from ex:FROM ?x FILTER(?x = 'from') }",
])
def test_words_in_names_strings_iris_and_comments_are_not_keywords(sparql, small):
    answer = run_query(small, sparql, prefixes={"ex": EX})
    assert answer.kind == "solutions"


# ---------------------------------------------------------------- FROM

@pytest.mark.parametrize("sparql, construct", [
    ("SELECT * FROM <http://ex.org/g0> WHERE { ?s ?p ?o }", "FROM"),
    ("select * from<http://ex.org/g0>{?s ?p ?o}", "FROM"),
    ("SELECT * FROM NAMED <http://ex.org/g0> WHERE { GRAPH ?g { ?s ?p ?o } }", "FROM NAMED"),
    ("SELECT * FROM # a comment\n named <http://ex.org/g0> WHERE { ?s ?p ?o }", "FROM NAMED"),
    ("PREFIX ex: <http://ex.org/> DESCRIBE ?s FROM ex:g1 WHERE { ?s ?p ?o }", "FROM"),
    ("ASK FROM <http://ex.org/g0> { ?s ?p ?o }", "FROM"),
])
def test_from_is_refused_by_each_parser(sparql, construct, small):
    with pytest.raises(QueryRefusedError, match=rf"^query: {construct} \(line 1, column \d+\) is refused: painkg "
                                                 r"queries run over the loaded graphs only") as info:
        run_query(small, sparql)
    assert info.value.construct == construct and isinstance(info.value, InputError)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(guard, "check_query", lambda *args, **kwargs: None)
        with pytest.raises(QueryRefusedError, match=rf"^query: {construct} is refused: painkg queries run over"):
            run_query(small, sparql)


# ---------------------------------------------------------------- nesting

@pytest.mark.parametrize("sparql", [
    "{" * 3000,
    "(" * 3000,
    "SELECT * WHERE " + "{" * 3000 + "}" * 3000,
    "SELECT * WHERE { FILTER(" + "(" * 3000 + "1" + ")" * 3000 + ") }",
    "SELECT * WHERE { ?s ?p " + "[ ?p " * 100 + "?o" + " ]" * 100 + " }",
    # "<" after an operand inside an expression is "less than", not an IRI hiding the brackets:
    "SELECT * WHERE { ?s ?p ?o FILTER(?o<" + "(" * 100 + "1" + ")" * 100 + "&&?p>?s) }",
])
def test_deep_nesting_is_refused_before_any_parser(sparql, small):
    with pytest.raises(QueryNestingError, match=r"^query: nesting deeper than 64 levels of \{ \( \[ at line 1, "
                                                r"column \d+ \(limit 64\)$") as info:
        run_query(small, sparql)
    assert (info.value.limit, info.value.limit_value) == ("max_nesting", 64)


@pytest.mark.parametrize("sparql", [
    "SELECT * WHERE { ?s ?p '" + "{" * 200 + "' }",
    'SELECT * WHERE { ?s ?p """' + "(\n" * 200 + '""" }',
    "SELECT * WHERE { ?s ?p ?o } # " + "{" * 200,
    "SELECT * WHERE { ?s <http://ex.org/" + "(" * 200 + "> ?o }",
    "SELECT * WHERE { ?s ex:a" + "\\(" * 200 + " ?o }",
    "SELECT * WHERE " + "{" * 64 + "?s ?p ?o" + "}" * 64,
])
def test_brackets_in_strings_iris_comments_and_names_do_not_count(sparql, small):
    check_query(sparql)
    assert run_query(small, sparql, prefixes={"ex": EX}).kind == "solutions"


def test_engine_crash_is_contained(small):
    crash = "SELECT * WHERE " + "{" * 3000 + "}" * 3000  # Oxigraph's parser overflows its stack (SIGSEGV)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(guard, "check_query", lambda *args, **kwargs: None)
        patch.setattr(query_sandbox, "parse_check", lambda sparql: None)
        with pytest.raises(QueryCrashError, match="crashed with SIGSEGV") as info:
            run_query(small, crash)
    assert isinstance(info.value, InputError) and isinstance(info.value, PainkgError)
    assert run_query(small, "ASK { ?s ?p ?o }").boolean is True  # this process is fine


# ---------------------------------------------------------------- time, rows, memory

def _children() -> list[int]:
    me = str(os.getpid())
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == me:
                found.append(int(entry.name))
    return found


def test_cartesian_product_times_out_and_the_worker_is_gone(big):
    # Children this process already had (multiprocessing's resource tracker, a test's
    # cluster) are not the query's worker.
    before = set(_children())
    start = time.monotonic()
    with pytest.raises(QueryTimeoutError, match=r"^query: timed out after 1\.5 s \(limit --timeout 1\.5\)$") as info:
        run_query(big, "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
                  use_default_graph_as_union=True, limits=QueryLimits(timeout=1.5))
    # Well under "runs until killed"; generous, as a shared 2-core machine can be slow.
    assert 1.5 <= time.monotonic() - start < 20
    assert (info.value.limit, info.value.limit_value) == ("timeout", 1.5)
    if Path("/proc/self/stat").exists():
        assert set(_children()) - before == set()


def test_result_rows_are_bounded(big):
    product = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }"
    with pytest.raises(QueryTooManyRowsError, match=r"^query: more than 1000 result rows \(limit --max-rows 1000\)$"):
        run_query(big, product, use_default_graph_as_union=True, limits=QueryLimits(max_rows=1000))
    with pytest.raises(QueryTooManyRowsError, match="more than 50 result rows"):
        run_query(big, "CONSTRUCT { ?a ?b ?f } WHERE { ?a ?b ?c . ?d ?e ?f }", use_default_graph_as_union=True,
                  limits=QueryLimits(max_rows=50))
    answer = run_query(big, product + " LIMIT 1000", use_default_graph_as_union=True,
                       limits=QueryLimits(max_rows=1000))
    assert len(answer.solutions) == 1000


def test_memory_is_bounded(big):
    with pytest.raises(QueryMemoryError, match=r"^query: needed more than 64 MiB of memory \(limit --max-memory 64\)$"):
        run_query(big, "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f", use_default_graph_as_union=True,
                  limits=QueryLimits(max_memory_mb=64))


def test_text_that_is_not_unicode_is_refused(small):
    with pytest.raises(InputError, match=r"^query: is not valid Unicode text \(a lone surrogate at line 1, column 25\)"):
        run_query(small, "SELECT * WHERE { ?s ?p '\ud800' }")


def test_limits_have_documented_defaults_and_are_checked():
    assert QueryLimits() == QueryLimits(timeout=30.0, max_rows=100_000, max_memory_mb=2048, max_nesting=64)
    for bad in ({"timeout": 0}, {"timeout": -1}, {"timeout": float("nan")}, {"max_rows": -1},
                {"max_memory_mb": 0}, {"max_nesting": 0}, {"max_rows": 1.5}, {"timeout": True}):
        with pytest.raises(InputError):
            QueryLimits(**bad)


# ---------------------------------------------------------------- the same answers as before

@pytest.mark.parametrize("sparql", [
    "SELECT * WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o",
    "SELECT ?s ?o ?missing WHERE { ?s ?p ?o OPTIONAL { ?o ?q ?missing } } ORDER BY ?s ?o",
    "SELECT ?b ?l WHERE { ex:a ex:knows ?b . ?b ex:label ?l }",
    "SELECT (COUNT(*) AS ?n) (SUM(?x) AS ?sum) WHERE { ?s ex:n ?x }",
    "ASK { ex:a ex:label 'chat'@fr }",
    "ASK { ex:a ex:label 'dog' }",
    "CONSTRUCT { ?s ex:seen ?o } WHERE { ?s ?p ?o }",
    "DESCRIBE ex:a",
    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g",
])
def test_answers_equal_the_engine_in_process(sparql, small):
    expected = small.query(sparql, prefixes={"ex": EX}, use_default_graph_as_union=True)
    answer = run_query(small, sparql, prefixes={"ex": EX}, use_default_graph_as_union=True)
    if isinstance(expected, ox.QueryBoolean):
        assert answer == Answer("boolean", boolean=bool(expected))
    elif isinstance(expected, ox.QuerySolutions):
        variables = list(expected.variables)
        assert answer.variables == tuple(v.value for v in variables)
        assert list(answer.solutions) == [tuple(s[v] for v in variables) for s in expected]
    else:
        assert answer.kind == "triples" and sorted(map(str, answer.triples)) == sorted(map(str, expected))


def test_syntax_errors_come_back_as_the_engines():
    store = ox.Store()
    with pytest.raises(SyntaxError) as bare:
        store.query("SELECT ?x WHERE { ?x a }")
    with pytest.raises(SyntaxError) as guarded:
        run_query(store, "SELECT ?x WHERE { ?x a }")
    assert str(guarded.value) == str(bare.value)


def _in_process_result(sparql: str, patients):
    """The same query on the bare engine in this process (no worker, no checks), converted as kg.query does."""
    import pyoxigraph as ox

    from kg.store.dataset import oxigraph_store
    from kg.store.prefixes import PREFIXES
    from kg.store.query_text import query_form
    from kg.store.sparql import result_from_answer

    raw = oxigraph_store(patients, None, None, 14, ()).query(sparql, prefixes=PREFIXES, use_default_graph_as_union=True)
    if isinstance(raw, ox.QueryBoolean):
        answer = Answer("boolean", boolean=bool(raw))
    elif isinstance(raw, ox.QuerySolutions):
        names = tuple(v.value for v in raw.variables)
        answer = Answer("solutions", variables=names, solutions=tuple(tuple(s[n] for n in names) for s in raw))
    else:
        answer = Answer("triples", triples=tuple(raw))
    return result_from_answer(answer, query_form(sparql))


def test_kg_query_output_is_byte_identical():
    import kg

    patients = [str(ROOT / "examples" / "lower-back-strain-day20.json"), str(ROOT / "examples" / "two-injuries.json")]
    queries = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "examples" / "queries").glob("*.rq"))]
    queries += ["ASK { pk:MuscleKnots obo:RO_0003302 pk:PersistentPain }",
                "CONSTRUCT { ?s skos:notation ?n . ?s pk:x [ pk:y ?n ] } WHERE { ?s skos:notation ?n } ",
                "DESCRIBE pk:MuscleKnots"]
    for sparql in queries:
        before = _in_process_result(sparql, patients)
        after = kg.query(sparql, patients)
        assert after.type == before.type
        for method in ("to_json", "to_csv", "to_tsv", "to_table", "to_turtle", "to_ntriples"):
            assert _render(after, method) == _render(before, method), (method, sparql)


def _render(result, method: str) -> str:
    try:
        return getattr(result, method)()
    except InputError as exc:  # a format the result's form does not have: the same refusal
        return f"error: {exc}"
