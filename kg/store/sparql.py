"""SPARQL over the ontology, and over patients' facts and derivations.

:func:`query` runs a read-only SPARQL 1.1 query (SELECT, ASK, CONSTRUCT,
DESCRIBE) with Oxigraph over the ontology graph plus, for each patient given,
its input and derivations graphs (see :mod:`kg.render.rdf`). The default graph
is the union of all graphs, so plain patterns see everything; ``GRAPH``
patterns address one graph. The prefixes in :data:`PREFIXES` are pre-bound.
``reason="rdfs"`` or ``"owl-rl"`` adds the owlrl closure of the union first
(in the graph :data:`INFERRED_GRAPH`). :func:`dataset` returns the same data
as an rdflib ``Dataset`` for anything else.

Refused with :class:`~kg.errors.InputError`: SPARQL Update, ``SERVICE``
(no remote fetch), ``FROM``/``FROM NAMED`` (the query runs over the loaded
graphs; use ``GRAPH <iri> { ... }``), nesting deeper than 64 levels, and
malformed queries (with line and column). Each query runs in a forked worker
(:mod:`kg.store.query_guard`) bounded by :class:`~kg.store.query_limits.QueryLimits`:
30 s, 100,000 result rows and 2,048 MiB by default; exceeding one is an
``InputError`` naming the limit, and an engine crash cannot take the caller
down. Nothing is ever fetched from the network (the worker cannot open a
socket), JSON-LD remote contexts included.

Example
-------
>>> import kg
>>> r = kg.query("SELECT ?rule WHERE { ?f a pk:PersistentPain ; prov:wasGeneratedBy/pk:rule ?r . "
...              "?r skos:notation ?rule }", patients=["examples/lower-back-strain-day20.json"])
>>> r.vars
('rule',)
>>> [str(row.rule) for row in r]
['persistent-pain-from-knots']
>>> kg.query("ASK { pk:MuscleKnots obo:RO_0003302 pk:PersistentPain }").askAnswer
True
"""

from __future__ import annotations

from rdflib import BNode

from ..errors import InputError
from .dataset import INFERRED_GRAPH, REASONERS, dataset, oxigraph_store
from .prefixes import PREFIXES
from .query_guard import Answer, run_query
from .query_lexer import check_query
from .query_limits import QueryLimits
from .query_rows import RowTable, rdflib_table
from .query_text import query_form, read_query, syntax_error
from .results import QueryResult, Row, canonical_bnodes, nt, rdflib_term, stable_bnode

__all__ = ["PREFIXES", "INFERRED_GRAPH", "REASONERS", "QueryResult", "Row", "query", "dataset",
           "query_form", "read_query"]


def query(sparql: str, patients=(), *, reason: str | None = None, as_of=None, threshold_days: int = 14,
          data=(), limits: QueryLimits | None = None, store=None) -> QueryResult:
    """Run a read-only SPARQL 1.1 query over the ontology (+ patients' facts and derivations).

    ``patients`` as for :func:`dataset`; ``reason`` is None, ``"rdfs"`` or
    ``"owl-rl"``; ``store`` is the directory of a persistent store built by
    ``painkg batch --store`` (:mod:`kg.store.persistent`), queried as it is,
    without re-explaining anyone (then ``patients``, ``data`` and ``reason`` are
    not allowed); ``limits`` bounds time, rows, memory and nesting (defaults in
    :mod:`kg.store.query_limits`). Raises :class:`~kg.errors.InputError` for a
    malformed query (with its line and column), an update, ``SERVICE``,
    ``FROM``, a limit exceeded (a :class:`~kg.store.query_limits.QueryLimitError`)
    or bad patients.

    >>> query("SELECT ?x WHERE { ?x a pk:Rule } LIMIT 1").vars
    ('x',)
    >>> query("SELECT ?x WHERE { ?x a }")
    Traceback (most recent call last):
    ...
    kg.errors.InputError: query: syntax error at line 1, column 25: expected one of FILTER, SELECT, VALUES, [_]
      SELECT ?x WHERE { ?x a }
                              ^
    >>> query("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }")
    Traceback (most recent call last):
    ...
    kg.store.query_limits.QueryRefusedError: query: SERVICE (line 1, column 18) is refused: painkg queries never fetch remote data
    """
    form = query_form(sparql)
    limits = limits if limits is not None else QueryLimits()
    if not isinstance(limits, QueryLimits):
        raise InputError("limits", type(limits).__name__, "a kg.store.query_limits.QueryLimits")
    # Fail fast, before any patient is reasoned over: nesting, SERVICE, FROM.
    check_query(sparql, max_nesting=limits.max_nesting)
    if reason is not None and reason not in REASONERS:
        raise InputError("reason", reason, "one of " + ", ".join(REASONERS))
    try:
        if store is not None:
            answer = _query_store(store, sparql, patients, reason, data, limits)
        else:
            answer = run_query(oxigraph_store(patients, reason, as_of, threshold_days, data), sparql,
                               prefixes=PREFIXES, use_default_graph_as_union=True, limits=limits)
    except SyntaxError as exc:
        raise syntax_error(sparql, exc) from None
    except OSError as exc:  # pragma: no cover - the worker cannot open a connection
        raise InputError("query", message=f"cannot evaluate: {exc}") from None
    return result_from_answer(answer, form)


def result_from_answer(answer: Answer, form: str) -> QueryResult:
    """A :class:`QueryResult` (rdflib terms, blank nodes numbered stably) from the engine's answer."""
    if answer.kind == "boolean":
        return QueryResult("ASK", ask=answer.boolean)
    if answer.kind == "solutions" and isinstance(answer.solutions, RowTable):
        # Straight from the worker's N-Triples text, each distinct term once.
        terms = rdflib_table(answer.solutions.table, {})
        names = answer.variables
        rows = [Row(names, [terms[i] for i in values]) for values in answer.solutions.rows]
        return QueryResult("SELECT", vars=names, rows=tuple(rows))
    if answer.kind == "solutions":
        bnodes: dict[str, BNode] = {}
        rows = [Row(answer.variables, [None if t is None else stable_bnode(rdflib_term(t), bnodes) for t in values])
                for values in answer.solutions]
        return QueryResult("SELECT", vars=answer.variables, rows=tuple(rows))
    triples = {tuple(rdflib_term(t) for t in (tr.subject, tr.predicate, tr.object)) for tr in answer.triples}
    triples = canonical_bnodes(triples)
    return QueryResult("DESCRIBE" if form == "DESCRIBE" else "CONSTRUCT",
                       triples=tuple(sorted(triples, key=lambda t: tuple(nt(x) for x in t))))


def _query_store(store, sparql, patients, reason, data, limits):
    from .persistent import store_for_query

    given = [name for name, value in (("patients", patients), ("data", data)) if value not in ((), [], None)]
    if reason is not None:
        given.append("reason")
    if given:
        raise InputError(given[0], message="cannot be combined with store: a store is queried as it was built "
                                           "(add patients to it with `painkg batch --store`)")
    with store_for_query(store) as opener:
        return run_query(opener, sparql, prefixes=PREFIXES, use_default_graph_as_union=True, limits=limits)
