"""RDF/XML of a CONSTRUCT or DESCRIBE result: one ``rdf:Description`` per subject, deterministic.

Written here rather than by pyoxigraph or rdflib: pyoxigraph writes a
predicate whose IRI has no XML name (``http://ex.org/123``) as the
ill-formed element ``<oxprefix:>``. Here such a graph, or a literal holding a
character XML 1.0 cannot carry, raises :class:`~kg.errors.InputError` (field
``format``; ``/sparql`` answers 406) instead. Triples come in the order given
(:class:`~kg.store.results.QueryResult` sorts them); namespaces are the
pre-bound prefixes where they fit, then ``ns1``, ``ns2``... in order of first use.

>>> from rdflib import Literal, URIRef
>>> print(rdf_xml([(URIRef("https://w3id.org/painkg/x"), URIRef("http://www.w3.org/2000/01/rdf-schema#label"),
...                 Literal("a < b", lang="en"))]), end="")
<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">
  <rdf:Description rdf:about="https://w3id.org/painkg/x">
    <rdfs:label xml:lang="en">a &lt; b</rdfs:label>
  </rdf:Description>
</rdf:RDF>
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape, quoteattr

from rdflib import BNode, Literal

from ..errors import InputError
from .prefixes import PREFIXES

__all__ = ["rdf_xml"]

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
# An XML name without a colon (NCName): NameStartChar NameChar* of XML 1.0 (5th edition), less ":".
_START = ("A-Z_a-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D"
          "\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\U00010000-\U000EFFFF")
_NCNAME = re.compile(f"[{_START}][{_START}\\-.0-9\u00B7\u0300-\u036F\u203F-\u2040]*\\Z")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _split(iri: str) -> tuple[str, str]:
    """(namespace, local name) with the longest local name that is an XML name."""
    for i in range(1, len(iri)):
        if _NCNAME.match(iri, i):  # the first (leftmost) start: the longest local name
            return iri[:i], iri[i:]
    raise InputError("format", "application/rdf+xml", message=f"RDF/XML cannot write the predicate <{iri[:200]}> "
                                                              "(no XML name ends it); ask for Turtle, N-Triples "
                                                              "or JSON-LD")


def _text(value: str) -> str:
    if _NOT_XML.search(value):
        raise InputError("format", "application/rdf+xml", message="RDF/XML cannot carry a control character of "
                                                                  "this result; ask for Turtle, N-Triples or JSON-LD")
    return value


def _node(term) -> str:
    if isinstance(term, BNode):
        return f"rdf:nodeID={quoteattr('b' + re.sub(r'[^A-Za-z0-9_]', '_', str(term)))}"
    return f"rdf:about={quoteattr(_text(str(term)))}"


def rdf_xml(triples) -> str:
    """The triples (rdflib terms) as RDF/XML text (raises InputError where RDF/XML cannot say it)."""
    known = {ns: prefix for prefix, ns in PREFIXES.items()}
    known[_RDF] = "rdf"
    used: dict[str, str] = {_RDF: "rdf"}
    body: list[str] = []
    subject = None
    for s, p, o in triples:
        ns, local = _split(str(p))
        if ns not in used:
            taken = set(used.values())
            prefix = known.get(ns)
            if prefix is None or prefix in taken:
                prefix = next(f"ns{n}" for n in range(1, len(used) + 2) if f"ns{n}" not in taken)
            used[ns] = prefix
        if s != subject:
            if subject is not None:
                body.append("  </rdf:Description>")
            body.append(f"  <rdf:Description {_node(s)}>")
            subject = s
        tag = f"{used[ns]}:{local}"
        if isinstance(o, Literal):
            attrs = ""
            if o.language:
                attrs = f" xml:lang={quoteattr(o.language)}"
            elif o.datatype is not None and str(o.datatype) != _XSD_STRING:
                attrs = f" rdf:datatype={quoteattr(_text(str(o.datatype)))}"
            body.append(f"    <{tag}{attrs}>{escape(_text(str(o)))}</{tag}>")
        else:
            ref = _node(o).replace("rdf:about=", "rdf:resource=")
            body.append(f"    <{tag} {ref}/>")
    if subject is not None:
        body.append("  </rdf:Description>")
    spaces = " ".join(f"xmlns:{prefix}={quoteattr(ns)}" for ns, prefix in sorted(used.items(), key=lambda x: x[1]))
    return "\n".join(['<?xml version="1.0" encoding="utf-8"?>', f"<rdf:RDF {spaces}>", *body, "</rdf:RDF>"]) + "\n"
