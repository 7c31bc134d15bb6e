"""Answers to one SPARQL query from different clients, compared by value rather than by how they are written.

Used by tests/test_third_party_clients.py to hold Jena's and rdflib's answers from ``/sparql``
to ``kg.query``'s (a :class:`kg.store.results.QueryResult`) over the same store.

>>> from rdflib import Literal, URIRef
>>> decimal = URIRef(XSD + "decimal")
>>> term_value(Literal("1.0", datatype=decimal)) == term_value(Literal("1.00", datatype=decimal))
True
>>> term_value(Literal("a", datatype=XSD_STRING)) == term_value(Literal("a"))
True
>>> term_value(Literal("A", lang="EN-gb")) == term_value(Literal("A", lang="en-GB"))
True
"""

from __future__ import annotations

import json

import rdflib
from rdflib import BNode, Literal, URIRef

__all__ = ["term_value", "row_values", "json_term", "same_graph", "same_answer"]

XSD = "http://www.w3.org/2001/XMLSchema#"  # a string: pytest's collection trips over rdflib's closed XSD namespace
XSD_STRING = URIRef(f"{XSD}string")


def term_value(term):
    """A term as a comparable value, not as it was written.

    IRIs by their text. Literals by (value, datatype, language): the value is rdflib's Python value
    of the lexical form (so "1.0" and "1.00" as xsd:decimal are equal), or the lexical form where
    rdflib has no value for it; a plain literal and an xsd:string are the same (RDF 1.1); language
    tags compare lowercased (BCP 47 tags are case-insensitive). Blank nodes all alike: their labels
    belong to one result document (SPARQL 1.1 results), so only where one is bound counts.
    None for an unbound variable.
    """
    if term is None:
        return None
    if isinstance(term, BNode):
        return ("bnode",)
    if isinstance(term, URIRef):
        return ("iri", str(term))
    assert isinstance(term, Literal), term
    datatype = None if term.datatype in (None, XSD_STRING) else str(term.datatype)
    python = term.value if term.value is not None and datatype is not None else str(term)
    return ("literal", python, datatype, term.language.lower() if term.language else None)


def row_values(rows) -> list[tuple]:
    """Rows of terms as sorted value tuples: compared as a multiset (ties under ORDER BY may come in any order)."""
    return sorted((tuple(term_value(t) for t in row) for row in rows), key=repr)


def json_term(binding: dict | None):
    """A term of SPARQL 1.1 JSON results as the rdflib term it stands for."""
    if binding is None:
        return None
    kind, text = binding["type"], binding["value"]
    if kind == "uri":
        return URIRef(text)
    if kind == "bnode":
        return BNode(text)
    assert kind in ("literal", "typed-literal"), binding
    return Literal(text, lang=binding.get("xml:lang"), datatype=binding.get("datatype"))


def same_graph(theirs, mine) -> None:
    """Two graphs (iterables of triples) equal: as sets of value triples, or isomorphic where blank nodes are."""
    theirs, mine = list(theirs), list(mine)
    if any(isinstance(t, BNode) for triple in theirs + mine for t in triple):
        from rdflib.compare import isomorphic

        one, two = rdflib.Graph(), rdflib.Graph()
        for graph, triples in ((one, theirs), (two, mine)):
            for triple in triples:
                graph.add(triple)
        assert isomorphic(one, two)
    else:
        assert {tuple(map(term_value, t)) for t in theirs} == {tuple(map(term_value, t)) for t in mine}


def same_answer(output: str, mine) -> None:
    """rsparql's output (SPARQL 1.1 JSON results, or N-Triples for a graph) gives ``mine``'s answer."""
    if mine.type in ("CONSTRUCT", "DESCRIBE"):
        same_graph(rdflib.Graph().parse(data=output, format="nt"), mine.triples)
        return
    answer = json.loads(output)
    if mine.type == "ASK":
        assert answer["boolean"] is mine.askAnswer
        return
    assert tuple(answer["head"]["vars"]) == tuple(mine.vars)
    theirs = [[json_term(b.get(v)) for v in answer["head"]["vars"]] for b in answer["results"]["bindings"]]
    assert row_values(theirs) == row_values(mine.rows)
