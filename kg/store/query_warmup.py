"""rdflib's SPARQL parser, warmed up once per process under a lock, before any worker is forked.

:mod:`kg.store.query_sandbox` parses each query in a forked worker (barrier 2
of :mod:`kg.store.query_guard`); the parent process parses only here.

"""

from __future__ import annotations

import threading

__all__ = ["WARM_QUERIES", "load_rdflib_parser", "parser_module", "warm_state"]

# pyparsing learns how many arguments each parse action takes on the action's first call, by calling it
# with fewer and fewer arguments until no TypeError comes; that state is not guarded by any lock. Two
# threads learning the same action at once can leave it at the wrong count for good ("Param.postParse2()
# missing 1 required positional argument: 'tokenList'"), and every worker forked afterwards inherits the
# damage. So the parent process parses only here, under _WARM_LOCK, and never again once warm.
_WARM: set = set()
_WARM_LOCK = threading.Lock()

#: Queries parsed by the full warm-up: between them they reach nearly every parse action of rdflib's
#: SPARQL 1.1 query grammar (forms, modifiers, paths, functions, aggregates, literals, subqueries).
WARM_QUERIES = (
    "ASK {}",
    "PREFIX ex: <http://ex.org/> BASE <http://ex.org/base/> "
    "SELECT DISTINCT ?s (COUNT(DISTINCT ?o) AS ?n) (SAMPLE(?o) AS ?one) (GROUP_CONCAT(STR(?o); SEPARATOR=',') AS ?all) "
    "WHERE { ?s a ex:C ; ex:p ?o , 'x'@en , \"y\"^^ex:T , 1 , 1.5 , 1e3 , -2 , true . "
    "OPTIONAL { ?s ex:q/ex:r|^ex:t ?u } "
    "OPTIONAL { ?s ex:p* ?v . ?s ex:p+ ?w . ?s ex:p? ?x . ?s !ex:p ?y . ?s !(ex:a|^ex:b) ?z } "
    "{ ?s ex:a ?b } UNION { GRAPH ?g { ?s ex:c [ ex:d ?e ] } } MINUS { ?s ex:e ( 1 2 ) } "
    "FILTER (?o != 2 && (?o < 3 || ?o >= 4) && !BOUND(?u) && REGEX(STR(?s), '^h', 'i') && LANG(?o) = 'en' "
    "&& LANGMATCHES(LANG(?o), '*') && DATATYPE(?o) = ex:T && isIRI(?s) && isLiteral(?o) && isBlank(?b) "
    "&& ?o IN (1, 2) && ?o NOT IN (3) && CONTAINS(LCASE(UCASE(STR(?o))), 'a') && STRSTARTS(STR(?o), 'a') "
    "&& SAMETERM(?s, ?s) && -?n < +?n * 2 / 1 - 1) "
    "FILTER EXISTS { ?s ?p _:b1 } FILTER NOT EXISTS { ?s ex:no ?nothing } "
    "BIND (IF(BOUND(?u), COALESCE(?u, ?v), STRLEN(SUBSTR(CONCAT('a', 'b'), 1, 1))) AS ?k) "
    "BIND (YEAR(NOW()) + ABS(ROUND(CEIL(FLOOR(RAND())))) AS ?yr) "
    "BIND (IRI(CONCAT('http://ex.org/', ENCODE_FOR_URI('x'))) AS ?i) "
    "BIND (STRDT('1', ex:T) AS ?dt) BIND (STRLANG('a', 'en') AS ?sl) BIND (BNODE() AS ?bn) BIND (MD5('a') AS ?h) "
    "BIND (<http://www.w3.org/2001/XMLSchema#integer>('1') AS ?cast) BIND (REPLACE('a', 'a', 'b') AS ?rep) "
    "BIND (STRBEFORE('ab', 'b') AS ?sb) "
    "VALUES (?s ?t) { (ex:a UNDEF) (<http://ex.org/b> 'z') } "
    "{ SELECT ?s (MAX(?o) AS ?m) (MIN(?o) AS ?mi) (SUM(?o) AS ?su) (AVG(?o) AS ?av) WHERE { ?s ex:p ?o } "
    "GROUP BY ?s HAVING (COUNT(?o) > 0) } } "
    "GROUP BY ?s ORDER BY DESC(?n) ASC(?s) ?one LIMIT 10 OFFSET 1 VALUES ?s { ex:a }",
    "PREFIX ex: <http://ex.org/> CONSTRUCT { ?s ex:p ?o ; a ex:C . _:n ex:q [ ex:r ?o ] } WHERE { ?s ex:p ?o } LIMIT 5",
    "CONSTRUCT WHERE { ?s ?p ?o }",
    "DESCRIBE ?s <http://ex.org/a> WHERE { ?s ?p ?o }",
    "DESCRIBE *",
    "SELECT * { ?s ?p ?o } ORDER BY ?s",
    "SELECT REDUCED ?s WHERE { ?s <http://ex.org/p> ?o FILTER (?o) }",
)


def load_rdflib_parser(full: bool = False):
    """rdflib's SPARQL parser module, warmed up in this process once, under a lock.

    The first parse builds and prepares pyparsing's grammar (~0.2 s): done
    before forking, so that no worker pays for it. ``full=True`` parses all of
    :data:`WARM_QUERIES` (~0.4 s more, once), so that a worker also finds the
    parse actions learnt (pyparsing learns each one's argument count on its first
    call, and a worker's learning is lost with it): each query through the worker
    then takes about 10-50 ms less (``benchmarks/bench_query_warmup.py``; noisy).
    A long-running process (``painkg serve``) asks for the full warm-up before it
    accepts requests; one-shot callers get the first.

    >>> load_rdflib_parser(full=True).parseQuery("ASK {}")[1].name
    'AskQuery'
    """
    parser = parser_module()
    if "full" in _WARM or (not full and "first" in _WARM):
        return parser
    with _WARM_LOCK:
        if "full" in _WARM or (not full and "first" in _WARM):
            return parser
        for text in WARM_QUERIES if full else WARM_QUERIES[:1]:
            try:
                parser.parseQuery(text)
            except Exception:  # pragma: no cover - only a warm-up; an unknown function in another rdflib
                pass
        _WARM.add("first")
        if full:
            _WARM.add("full")
    return parser


def parser_module():
    """The module, imported only (in the worker: no lock, which a fork could have left held)."""
    from rdflib.plugins.sparql import parser

    return parser


def warm_state() -> tuple[str, ...]:
    """Which warm-ups this process has done: ``()``, ``("first",)`` or ``("first", "full")``."""
    return tuple(sorted(_WARM))
