"""SELECT rows through the query worker (kg.store.query_rows): the same terms as the engine in process."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from kg.errors import InputError
from kg.store.query_guard import Answer, QueryLimits, QueryTooManyRowsError, run_query
from kg.store.query_rows import RowTable, rdflib_from_nt, unescape
from kg.store.sparql import result_from_answer

EX = "http://ex.org/"
XSD = "http://www.w3.org/2001/XMLSchema#"

TRICKY = [
    ox.Literal('say "hi"\nthen\ttab\r\\ back\\slash \\"'),
    ox.Literal("\x00\x01\x08\x0c\x1f\x7f control"),
    ox.Literal("é ü 日本語 😀 \U0010ffff \ufffe \u2028 \u00a0"),
    ox.Literal("chat", language="fr"),
    ox.Literal("Colour", language="EN-gb"),
    ox.Literal("", language="en"),
    ox.Literal(""),
    ox.Literal("سلام", language="ar", direction=ox.BaseDirection.RTL),
    ox.Literal("3", datatype=ox.NamedNode(XSD + "integer")),
    ox.Literal("003", datatype=ox.NamedNode(XSD + "integer")),
    ox.Literal("2026-01-02", datatype=ox.NamedNode(XSD + "date")),
    ox.Literal("not a date", datatype=ox.NamedNode(XSD + "date")),
    ox.Literal("1.50", datatype=ox.NamedNode(XSD + "decimal")),
    ox.Literal("true", datatype=ox.NamedNode(XSD + "boolean")),
    ox.Literal("x", datatype=ox.NamedNode(XSD + "string")),
    ox.Literal('odd "type"', datatype=ox.NamedNode("http://ex.org/t?a=1&b=é#frag")),
    ox.NamedNode("http://ex.org/a%20b?q=é&r=日本#\u00a0frag"),
    ox.NamedNode("urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e"),
    ox.NamedNode("http://ex.org/'quote'(paren)!$*,;=~"),
    ox.BlankNode("b0"),
    ox.BlankNode("zz_9"),
]


@pytest.fixture(scope="module")
def tricky_store():
    store = ox.Store()
    for i, term in enumerate(TRICKY):
        subject = ox.NamedNode(f"{EX}s{i}") if i % 3 else ox.BlankNode(f"s{i}")
        store.add(ox.Quad(subject, ox.NamedNode(EX + "v"), term))
        store.add(ox.Quad(subject, ox.NamedNode(EX + "again"), term))  # repeated terms share a table entry
    return store


QUERIES = [
    "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o",
    "SELECT ?s ?o ?none WHERE { ?s <http://ex.org/v> ?o OPTIONAL { ?o <http://ex.org/v> ?none } } ORDER BY ?o",
    "SELECT ?o (STR(?o) AS ?text) (LANG(?o) AS ?lang) (DATATYPE(?o) AS ?dt) WHERE { ?s <http://ex.org/v> ?o } "
    "ORDER BY ?o",
    "SELECT ?x WHERE { VALUES ?x { UNDEF 1 'a' } }",
    "SELECT (BNODE() AS ?fresh) ?s WHERE { ?s <http://ex.org/v> ?o }",
]


def _engine(store, sparql):
    raw = store.query(sparql)
    return tuple(raw.variables), [tuple(s[v] for v in raw.variables) for s in raw]


@pytest.mark.parametrize("sparql", QUERIES)
def test_tricky_terms_round_trip_through_the_worker(tricky_store, sparql):
    variables, expected = _engine(tricky_store, sparql)
    answer = run_query(tricky_store, sparql, limits=QueryLimits(timeout=20))
    assert isinstance(answer.solutions, RowTable)
    assert answer.variables == tuple(v.value for v in variables)
    assert len(answer.solutions) == len(expected) > 0
    if "BNODE()" in sparql:  # fresh blank nodes differ from run to run: compare their shape
        assert [tuple(type(t) for t in row) for row in answer.solutions] == [tuple(type(t) for t in row)
                                                                            for row in expected]
        return
    assert list(answer.solutions) == expected
    assert [[t is None or str(t) for t in row] for row in answer.solutions] == \
           [[t is None or str(t) for t in row] for row in expected]
    # kg.query's rdflib terms from the text equal those made from pyoxigraph terms (the old way)
    fast = result_from_answer(answer, "SELECT")
    slow = result_from_answer(Answer("solutions", variables=answer.variables, solutions=tuple(expected)), "SELECT")
    assert fast.rows == slow.rows
    for row_fast, row_slow in zip(fast.rows, slow.rows):
        for a, b in zip(row_fast, row_slow):
            assert type(a) is type(b)
            assert getattr(a, "datatype", None) == getattr(b, "datatype", None)
            assert getattr(a, "language", None) == getattr(b, "language", None)
            assert a is None or str(a) == str(b)
    assert fast.to_json() == slow.to_json() and fast.to_tsv() == slow.to_tsv()


def test_blank_nodes_are_numbered_by_first_appearance(tricky_store):
    sparql = "SELECT ?s ?o WHERE { ?s ?p ?o } ORDER BY ?p ?s ?o"
    answer = run_query(tricky_store, sparql)
    result = result_from_answer(answer, "SELECT")
    labels = [str(t) for row in result.rows for t in row if t is not None and t.__class__.__name__ == "BNode"]
    assert labels and labels[0] == "b0"
    seen = list(dict.fromkeys(labels))
    assert seen == [f"b{i}" for i in range(len(seen))]


def test_the_rows_limit_counts_rows_as_before(tricky_store):
    sparql = "SELECT ?s ?o WHERE { ?s <http://ex.org/v> ?o }"
    rows = len(_engine(tricky_store, sparql)[1])
    assert len(run_query(tricky_store, sparql, limits=QueryLimits(max_rows=rows)).solutions) == rows
    with pytest.raises(QueryTooManyRowsError) as exc:
        run_query(tricky_store, sparql, limits=QueryLimits(max_rows=rows - 1))
    assert str(exc.value) == f"query: more than {rows - 1} result rows (limit --max-rows {rows - 1})"


def test_rdf_star_triples_come_back_and_are_refused_by_kg_query_as_before():
    store = ox.Store()
    inner = ox.Triple(ox.NamedNode(EX + "a"), ox.NamedNode(EX + "p"), ox.Literal("x", language="en"))
    store.add(ox.Quad(ox.NamedNode(EX + "claim"), ox.NamedNode(EX + "says"), inner))
    sparql = "SELECT ?s ?o WHERE { ?s ?p ?o }"
    _variables, expected = _engine(store, sparql)
    answer = run_query(store, sparql)
    assert list(answer.solutions) == expected and isinstance(expected[0][1], ox.Triple)
    with pytest.raises(InputError) as exc:
        result_from_answer(answer, "SELECT")
    assert exc.value.field == "query" and "no RDF-star triples" in str(exc.value)


def test_text_forms():
    assert unescape(r"a\"b\\c\nd\u00E9\U0001F600\t") == 'a"b\\c\nd\xe9\U0001f600\t'
    assert unescape("plain") == "plain"
    assert rdflib_from_nt(None) is None
    assert str(rdflib_from_nt('"x"@en--ltr')) == "x" and rdflib_from_nt('"x"@en--ltr').language == "en"
    assert rdflib_from_nt('"1"^^<http://www.w3.org/2001/XMLSchema#integer>').toPython() == 1
    assert RowTable([None, "<urn:a>"], [[1, 0]]) == ((ox.NamedNode("urn:a"), None),)
