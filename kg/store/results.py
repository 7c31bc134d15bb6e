"""SPARQL results: rows, booleans and graphs, in JSON, CSV, TSV, tables and RDF.

A :class:`QueryResult` holds rdflib terms (blank nodes numbered by first
appearance, so the same query gives the same bytes) and writes every output
format of ``painkg query``.
"""

from __future__ import annotations

import csv
import functools
import re
import io
import json
from typing import Any, Iterable, Iterator

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD

from ..errors import InputError
from ..render.rdf_serialize import serialize_quads, to_oxigraph_quads
from .prefixes import PREFIXES

__all__ = ["QueryResult", "Row", "nt", "jsonld", "rdflib_term", "stable_bnode", "canonical_bnodes"]

class Row(tuple):
    """One solution: a tuple of rdflib terms (``None`` if unbound), also by name.

    >>> r = Row(("a", "b"), (Literal(1), None))
    >>> r.a.toPython(), r["b"], r.asdict()
    (1, None, {'a': rdflib.term.Literal('1', datatype=rdflib.term.URIRef('http://www.w3.org/2001/XMLSchema#integer'))})
    """

    def __new__(cls, names: tuple[str, ...], values: Iterable):
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key):
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._names.index(key))
            except ValueError:
                raise KeyError(key) from None
        return tuple.__getitem__(self, key)

    def __getattr__(self, name: str):
        names = self.__dict__.get("_names", ())
        if name in names:
            return tuple.__getitem__(self, names.index(name))
        raise AttributeError(name)

    def asdict(self) -> dict[str, Any]:
        """Bound variables only, as rdflib terms."""
        return {n: v for n, v in zip(self._names, self) if v is not None}

    def topython(self) -> dict[str, Any]:
        """Bound variables as Python values (``str`` for IRIs, ``int``, ``date``... for literals)."""
        return {n: (v.toPython() if isinstance(v, Literal) else str(v)) for n, v in self.asdict().items()}


def _compact(term, prefixes: dict[str, str]) -> str:
    text = str(term)
    if isinstance(term, URIRef):
        best = None
        for prefix, ns in prefixes.items():
            local = text[len(ns):]
            if text.startswith(ns) and re.fullmatch(r"[\w.\-@%]*", local) and (best is None or len(ns) > len(best[1])):
                best = (prefix, ns)
        return f"{best[0]}:{text[len(best[1]):]}" if best else f"<{text}>"
    if isinstance(term, BNode):
        return f"_:{text}"
    return text


def nt(term) -> str:
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, BNode):
        return f"_:{term}"
    value = str(term).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") \
        .replace("\t", "\\t")
    if term.language:
        return f'"{value}"@{term.language}'
    if term.datatype is not None and term.datatype != XSD.string:
        return f'"{value}"^^<{term.datatype}>'
    return f'"{value}"'


def _json_term(term) -> dict[str, str]:
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": str(term)}
    out = {"type": "literal", "value": str(term)}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype is not None and term.datatype != XSD.string:
        out["datatype"] = str(term.datatype)
    return out


class QueryResult:
    """The answer to one query.

    SELECT: iterate :class:`Row` objects; ``vars`` names the columns.
    ASK: ``askAnswer`` (also ``bool(result)``). CONSTRUCT/DESCRIBE: ``graph``
    (an rdflib ``Graph``); iterating yields its triples in a stable order.
    Every form converts with ``to_json()``, and SELECT with ``to_csv()``,
    ``to_tsv()`` and ``to_table()``; graphs with ``to_turtle()``. The W3C
    CSV and TSV results formats are defined for SELECT only, so an ASK result
    refuses them (its forms are ``to_table()`` and ``to_json()``).
    """

    def __init__(self, form: str, vars: tuple[str, ...] = (), rows: tuple[Row, ...] = (),
                 ask: bool | None = None, triples: tuple = ()):
        self.type = form
        self.vars = vars
        self.rows = rows
        self.askAnswer = ask
        self.triples = triples

    @property
    def graph(self) -> Graph | None:
        """The CONSTRUCT/DESCRIBE result as a new rdflib ``Graph`` (None for SELECT/ASK)."""
        if self.type not in ("CONSTRUCT", "DESCRIBE"):
            return None
        graph = Graph()
        for prefix, ns in PREFIXES.items():
            graph.bind(prefix, ns, override=True, replace=True)
        for triple in self.triples:
            graph.add(triple)
        return graph

    def __iter__(self) -> Iterator:
        if self.type == "ASK":
            return iter((self.askAnswer,))
        return iter(self.rows if self.type == "SELECT" else self.triples)

    def __len__(self) -> int:
        if self.type == "ASK":
            return 1
        return len(self.rows) if self.type == "SELECT" else len(self.triples)

    def __bool__(self) -> bool:
        return bool(self.askAnswer) if self.type == "ASK" else len(self) > 0

    def __repr__(self) -> str:
        if self.type == "ASK":
            return f"<QueryResult ASK {self.askAnswer}>"
        return f"<QueryResult {self.type} {len(self)} {'rows' if self.type == 'SELECT' else 'triples'}>"

    def _need(self, *forms: str, what: str) -> None:
        if self.type not in forms:
            raise InputError("format", what, f"a format for a {self.type} result")

    def to_dicts(self) -> list[dict[str, Any]]:
        """SELECT rows as dicts of Python values (unbound variables left out)."""
        self._need("SELECT", what="dicts")
        return [row.topython() for row in self.rows]

    def to_json(self) -> str:
        """SPARQL 1.1 Query Results JSON (SELECT, ASK); for graphs, JSON-LD (:func:`jsonld`).

        The triples of a CONSTRUCT or DESCRIBE are in the JSON-LD default graph,
        where a reader of plain graphs (one that ignores named graphs) finds them.
        """
        if self.type == "ASK":
            data = {"head": {}, "boolean": bool(self.askAnswer)}
        elif self.type == "SELECT":
            data = {"head": {"vars": list(self.vars)},
                    "results": {"bindings": [{n: _json_term(v) for n, v in zip(self.vars, row) if v is not None}
                                             for row in self.rows]}}
        else:
            return jsonld(self.triples)
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    def _no_ask(self, fmt: str) -> None:
        if self.type == "ASK":
            raise InputError("format", fmt, message=f"{fmt!r} is not allowed for an ASK result; expected table or "
                                                    "json (the W3C SPARQL CSV and TSV results formats are defined "
                                                    "for SELECT only)")

    def to_csv(self) -> str:
        """SPARQL 1.1 Query Results CSV (SELECT only: the W3C format has no form for ASK)."""
        self._no_ask("csv")
        self._need("SELECT", what="csv")
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(self.vars)
        for row in self.rows:
            writer.writerow(["" if v is None else (f"_:{v}" if isinstance(v, BNode) else str(v)) for v in row])
        return buffer.getvalue()

    def to_tsv(self) -> str:
        """SPARQL 1.1 Query Results TSV (SELECT only: the W3C format has no form for ASK)."""
        self._no_ask("tsv")
        self._need("SELECT", what="tsv")
        lines = ["\t".join(f"?{v}" for v in self.vars)]
        lines += ["\t".join("" if v is None else nt(v) for v in row) for row in self.rows]
        return "\n".join(lines) + "\n"

    def to_table(self) -> str:
        """A plain-text table with prefixed names (SELECT; ASK gives ``true``/``false``)."""
        if self.type == "ASK":
            return f"{str(bool(self.askAnswer)).lower()}\n"
        if self.type != "SELECT":
            return self.to_turtle()
        cells = [[("" if v is None else _compact(v, PREFIXES)).replace("\n", " ") for v in row] for row in self.rows]
        widths = [max([len(name)] + [len(r[i]) for r in cells]) for i, name in enumerate(self.vars)]

        def line(values):
            return "  ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()

        out = [line(self.vars), line("-" * w for w in widths)] + [line(r) for r in cells]
        out.append(f"({len(self.rows)} row{'s' * (len(self.rows) != 1)})")
        return "\n".join(out) + "\n"

    def _serialize(self, fmt: str) -> str:
        graph = URIRef("urn:painkg:result")
        return serialize_quads([(s, p, o, graph) for s, p, o in self.triples], fmt)

    def to_turtle(self) -> str:
        """CONSTRUCT/DESCRIBE result as Turtle (sorted, prefixed, deterministic)."""
        self._need("CONSTRUCT", "DESCRIBE", what="ttl")
        return self._serialize("ttl")

    def to_ntriples(self) -> str:
        """CONSTRUCT/DESCRIBE result as sorted N-Triples."""
        self._need("CONSTRUCT", "DESCRIBE", what="nt")
        return self._serialize("nt")

    def to_rdfxml(self) -> str:
        """CONSTRUCT/DESCRIBE result as RDF/XML (:func:`kg.store.rdfxml.rdf_xml`; InputError where it cannot say it)."""
        from .rdfxml import rdf_xml

        self._need("CONSTRUCT", "DESCRIBE", what="rdfxml")
        return rdf_xml(self.triples)


def _jsonld_iri(iri: str, prefixes: dict[str, str], used: dict[str, str]) -> str:
    # A compact IRI only with a namespace ending in '/' or '#': JSON-LD 1.1
    # expands "ro:0003302" only if "ro" is a prefix ending in a gen-delim
    # (http://purl.obolibrary.org/obo/RO_ is not), so such IRIs use "obo:".
    best = None
    for prefix, ns in prefixes.items():
        local = iri[len(ns):]
        if ns[-1] in "/#" and iri.startswith(ns) and local and not local.startswith("//") \
                and (best is None or len(ns) > len(best[1])):
            best = (prefix, ns)
    if best is None:
        return iri
    used[best[0]] = best[1]
    return f"{best[0]}:{iri[len(best[1]):]}"


def jsonld(triples) -> str:
    """Triples as JSON-LD in the default graph: ``{"@context": ..., "@graph": [nodes]}``.

    Flattened (one node object per subject, values always in lists, literals
    with their exact lexical form) and sorted, so the same triples give the
    same bytes; the context declares only the prefixes used.

    >>> from rdflib import URIRef, Literal
    >>> pk = "https://w3id.org/painkg/ontology#"
    >>> print(jsonld([(URIRef(pk + "a"), URIRef(pk + "days"), Literal(3))]), end="")
    {
      "@context": {
        "pk": "https://w3id.org/painkg/ontology#",
        "xsd": "http://www.w3.org/2001/XMLSchema#"
      },
      "@graph": [
        {
          "@id": "pk:a",
          "pk:days": [
            {
              "@type": "xsd:integer",
              "@value": "3"
            }
          ]
        }
      ]
    }
    """
    used: dict[str, str] = {}

    def ref(term) -> str:
        return f"_:{term}" if isinstance(term, BNode) else _jsonld_iri(str(term), PREFIXES, used)

    def value(term):
        if not isinstance(term, Literal):
            return {"@id": ref(term)}
        if term.language:
            return {"@value": str(term), "@language": term.language}
        if term.datatype is None or term.datatype == XSD.string:
            return {"@value": str(term)}
        return {"@value": str(term), "@type": ref(term.datatype)}

    nodes: dict[str, dict[str, list]] = {}
    for s, p, o in triples:
        nodes.setdefault(ref(s), {}).setdefault(ref(p), []).append(value(o))

    def order(v) -> str:
        return json.dumps(v, sort_keys=True, ensure_ascii=False)

    graph = [{"@id": node, **{p: sorted(vs, key=order) for p, vs in props.items()}}
             for node, props in sorted(nodes.items())]
    data = {"@context": dict(sorted(used.items())), "@graph": graph}
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


_XSD_STRING = str(XSD.string)


@functools.lru_cache(maxsize=65_536)
def _iri(value: str) -> URIRef:
    return URIRef(value)


@functools.lru_cache(maxsize=65_536)
def _literal(value: str, language: str | None, datatype: str) -> Literal:
    # rdflib parses a typed literal's lexical form (a date: about 13 us); results repeat values
    # (sites, certainties, dates), and rdflib terms are immutable, so equal ones are shared.
    if language:
        return Literal(value, lang=language)
    return Literal(value) if datatype == _XSD_STRING else Literal(value, datatype=_iri(datatype))


def rdflib_term(term):
    """The rdflib term of a pyoxigraph term (IRIs and literals shared between equal ones).

    >>> import pyoxigraph as ox
    >>> rdflib_term(ox.Literal("2026-01-02", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#date"))).toPython()
    datetime.date(2026, 1, 2)
    """
    import pyoxigraph as ox

    kind = type(term)
    if kind is ox.NamedNode:
        return _iri(term.value)
    if kind is ox.Literal:
        return _literal(term.value, term.language, term.datatype.value)
    if kind is ox.BlankNode:
        return BNode(term.value)
    raise InputError("query", str(term), "results of IRIs, blank nodes and literals (no RDF-star triples)")


def stable_bnode(term, bnodes: dict):
    # Oxigraph names blank nodes at random; number them by first appearance.
    if isinstance(term, BNode):
        if str(term) not in bnodes:
            bnodes[str(term)] = BNode(f"b{len(bnodes)}")
        return bnodes[str(term)]
    return term


def canonical_bnodes(triples: set) -> set:
    if not any(isinstance(t, BNode) for triple in triples for t in triple):
        return triples
    import pyoxigraph as ox

    graph = URIRef("urn:painkg:result")
    dataset_ = ox.Dataset(to_oxigraph_quads([(s, p, o, graph) for s, p, o in triples]))
    dataset_.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    return {tuple(rdflib_term(t) for t in (q.subject, q.predicate, q.object)) for q in dataset_}
