"""A patient's lean per-patient RDF, and N-Quads text.

The persistent store now keeps the cohort shape (:mod:`kg.store.cohort_shape`, format
``painkg-store/3``); the lean per-patient form below was the shape of ``painkg-store/1``
and stays for comparison and tests. :func:`nquads` writes any quads, the cohort shape's too.

:func:`lean_quads` is :func:`kg.render.rdf.explanation_quads` less what the
ontology graph (loaded once per store) already says or what PROV-O entails:

- ``rdfs:label`` of facts and rule firings (the concept's and the rule's labels
  are in the ontology; ``dcterms:identifier`` and ``pk:rule`` stay);
- ``rdf:type`` ``pk:Fact`` and ``prov:Entity`` (a fact keeps ``pk:ObservedFact`` or
  ``pk:DerivedFact``, both ``rdfs:subClassOf pk:Fact``, and its concept class; the
  patient keeps ``pk:Patient``), ``prov:Activity`` (a firing keeps ``pk:RuleFiring``,
  ``rdfs:subClassOf prov:Activity``), ``prov:Association`` and ``time:Instant``
  (the ranges of ``prov:qualifiedAssociation`` and ``pk:onset``);
- ``prov:wasAssociatedWith`` the engine (the qualified association says it:
  ``prov:qualifiedAssociation [ prov:agent ...; prov:hadPlan ... ]``).

Everything else, including predicates added to the RDF export later, is kept.
Every query in ``examples/queries/`` answers the same over lean and full RDF
(``tests/test_store.py``). docs/sparql.md ("The persistent store") has the shape.

:func:`nquads` writes quads of rdflib terms as N-Quads lines, in the order given.

>>> import kg
>>> e = kg.explain("examples/lower-back-strain-day20.json")
>>> full, lean = len(kg.render.rdf.explanation_quads(e)), len(lean_quads(e))
>>> lean < full * 0.85
True
>>> nquads(lean_quads(e)[:1]).startswith("<https://w3id.org/painkg/patient/")
True
"""

from __future__ import annotations

import re

from rdflib import BNode, Literal
from rdflib.namespace import RDF, RDFS

from ..knowledge.ontology import PK, PROV, TIME
from ..render.rdf import explanation_quads

__all__ = ["DROPPED_TYPES", "DROPPED_PREDICATES", "lean_quads", "nquads", "explanation_nquads"]

#: ``rdf:type`` objects left out of the store (entailed by a kept type or a range).
DROPPED_TYPES = frozenset({PK.Fact, PROV.Entity, PROV.Activity, PROV.Association, TIME.Instant})
#: Predicates left out of the store's patient graphs.
DROPPED_PREDICATES = frozenset({RDFS.label, PROV.wasAssociatedWith})

_TYPE = RDF.type
_BAD_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"}
_BAD_LITERAL = re.compile(r'[\\"\n\r]')


def lean_quads(e) -> list[tuple]:
    """The explanation's quads (input and derivations graphs) without the redundant ones listed above."""
    return [q for q in explanation_quads(e)
            if q[1] not in DROPPED_PREDICATES and not (q[1] == _TYPE and q[2] in DROPPED_TYPES)]


def _iri(value: str) -> str:
    if _BAD_IRI.search(value):  # never for painkg's own IRIs (ids are percent-encoded)
        value = _BAD_IRI.sub(lambda m: f"\\u{ord(m.group(0)):04X}", value)
    return f"<{value}>"


def _term(term, cache: dict) -> str:
    text = cache.get(term)
    if text is not None:
        return text
    if isinstance(term, Literal):
        lexical = str(term)
        if _BAD_LITERAL.search(lexical):
            lexical = _BAD_LITERAL.sub(lambda m: _ESCAPES[m.group(0)], lexical)
        if term.language:
            text = f'"{lexical}"@{term.language}'
        elif term.datatype is not None:
            text = f'"{lexical}"^^{_iri(str(term.datatype))}'
        else:
            text = f'"{lexical}"'
    elif isinstance(term, BNode):
        text = f"_:{term}"
    else:
        text = _iri(str(term))
    if not isinstance(term, Literal) or len(cache) < 50_000:
        cache[term] = text
    return text


def nquads(quads, cache: dict | None = None) -> str:
    """Quads ``(s, p, o, g)`` of rdflib terms as N-Quads text, one line each, in the order given.

    ``cache`` (a dict) may be shared between calls: terms recur across patients.

    >>> from rdflib import Literal, URIRef
    >>> print(nquads([(URIRef("urn:s"), URIRef("urn:p"), Literal('say "hi"\\n'), URIRef("urn:g"))]), end="")
    <urn:s> <urn:p> "say \\"hi\\"\\n" <urn:g> .
    """
    cache = {} if cache is None else cache
    lines = []
    for s, p, o, g in quads:
        graph = "" if g is None else " " + _term(g, cache)
        lines.append(f"{_term(s, cache)} {_term(p, cache)} {_term(o, cache)}{graph} .\n")
    return "".join(lines)


def explanation_nquads(e, *, lean: bool = True, cache: dict | None = None) -> str:
    """The patient's graphs as N-Quads text: :func:`lean_quads` (or every quad with ``lean=False``)."""
    return nquads(lean_quads(e) if lean else explanation_quads(e), cache)
