"""Deterministic RDF serialisation: sorted quads in Turtle, TriG, N-Triples, N-Quads and JSON-LD.

The same quads always give the same bytes, whatever the order they come in.

>>> from rdflib import URIRef
>>> q = (URIRef("https://w3id.org/painkg/ontology#a"),) * 3 + (URIRef("urn:g"),)
>>> serialize_quads([q], "nt").count(" .")
1
"""

from __future__ import annotations

import json
import warnings

from rdflib import Dataset, Literal, URIRef
from rdflib.namespace import RDF

from ..errors import InputError
from .rdf_iris import PREFIXES

__all__ = ["RDF_FORMATS", "QUAD_FORMATS", "quad_key", "rdf_format", "quads_for_rdflib", "to_oxigraph_quads", "serialize_quads"]

#: Format name -> (pyoxigraph/rdflib format, whether it keeps named graphs).
RDF_FORMATS = {"ttl": "turtle", "turtle": "turtle", "trig": "trig", "nt": "nt", "nq": "nq",
               "jsonld": "jsonld"}
QUAD_FORMATS = ("trig", "nq", "jsonld")


def _term_key(term) -> tuple:
    if isinstance(term, Literal):
        return (1, str(term), str(term.datatype or ""), term.language or "")
    return (0, str(term), "", "")


def quad_key(quad) -> tuple:
    s, p, o, g = quad
    # rdf:type first within a subject, as people write Turtle.
    return (str(g), str(s), "" if p == RDF.type else str(p), _term_key(o))


def quads_for_rdflib(ds: Dataset, quads) -> list[tuple]:
    """Quads with the graph term replaced by the dataset's graph object (for ``Dataset.addN``)."""
    graphs: dict = {}
    out = []
    for s, p, o, g in quads:
        graph = graphs.get(g)
        if graph is None:
            graph = graphs[g] = ds.graph(g)
        out.append((s, p, o, graph))
    return out


def _ox_term(term):
    import pyoxigraph as ox

    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    return ox.BlankNode(str(term))


def to_oxigraph_quads(quads) -> list:
    """rdflib-term quads as ``pyoxigraph.Quad`` objects (for bulk loading or writing)."""
    import pyoxigraph as ox

    cache: dict = {}

    def conv(term):
        hit = cache.get(term)
        if hit is None:
            hit = cache[term] = _ox_term(term)
        return hit

    return [ox.Quad(conv(s), conv(p), conv(o), ox.DefaultGraph() if g is None else conv(g)) for s, p, o, g in quads]


def serialize_quads(quads, format: str) -> str:
    """Write sorted quads deterministically in ``format`` (a key of :data:`RDF_FORMATS`).

    Triple formats drop the graph names (the graphs are merged).

    >>> from rdflib import Literal, URIRef
    >>> q = [(URIRef("https://w3id.org/painkg/patient/x"), URIRef("http://purl.org/dc/terms/identifier"),
    ...       Literal("x"), URIRef("https://w3id.org/painkg/patient/x/graph/input"))]
    >>> print(serialize_quads(q, "ttl"), end="")
    @prefix dcterms: <http://purl.org/dc/terms/> .
    <BLANKLINE>
    <https://w3id.org/painkg/patient/x> dcterms:identifier "x" .
    """
    kind = rdf_format(format)
    quads = sorted(set(quads), key=quad_key)
    if kind == "jsonld":
        return _jsonld(quads)
    if kind in ("nt", "nq"):
        import pyoxigraph as ox

        if kind == "nt":
            items = [ox.Triple(q.subject, q.predicate, q.object) for q in to_oxigraph_quads(quads)]
            text = ox.serialize(items, format=ox.RdfFormat.N_TRIPLES).decode("utf-8")
        else:
            text = ox.serialize(to_oxigraph_quads(quads), format=ox.RdfFormat.N_QUADS).decode("utf-8")
        # Split on "\n" only: str.splitlines() would also break inside literals
        # at U+0085 or U+2028, which N-Triples leaves unescaped.
        return "".join(sorted({line + "\n" for line in text.split("\n") if line}))
    return _turtle_like(quads, kind)


def rdf_format(format: str) -> str:
    key = str(format).lower()
    if key not in RDF_FORMATS:
        raise InputError("format", format, "one of " + ", ".join(sorted(RDF_FORMATS)))
    return RDF_FORMATS[key]


def _used_prefixes(quads) -> dict[str, str]:
    # Declare only the prefixes the data uses, so outputs stay small and stable.
    # Patient IRIs hold '/' and '@', which Turtle would have to escape in a
    # prefixed name: they are written in full, so `pkp` is never declared.
    iris = set()
    for quad in quads:
        for term in quad:
            if isinstance(term, Literal):
                if term.datatype is not None:
                    iris.add(str(term.datatype))
            else:
                iris.add(str(term))
    used = {}
    for prefix, ns in PREFIXES.items():
        if prefix != "pkp" and any(i.startswith(ns) and _local_ok(i[len(ns):]) for i in iris):
            used[prefix] = ns
    return dict(sorted(used.items()))


def _local_ok(local: str) -> bool:
    return bool(local) and "/" not in local and "%" not in local and not local.endswith(".")


def _turtle_like(quads, kind: str) -> str:
    import pyoxigraph as ox

    prefixes = _used_prefixes(quads)
    if kind == "turtle":
        # One graph: merge, then order by subject so each subject is written once.
        merged = sorted({(s, p, o, None) for s, p, o, _ in quads}, key=quad_key)
        triples = [ox.Triple(q.subject, q.predicate, q.object) for q in to_oxigraph_quads(merged)]
        data = ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=prefixes)
    else:
        data = ox.serialize(to_oxigraph_quads(quads), format=ox.RdfFormat.TRIG, prefixes=prefixes)
    # Oxigraph writes the prefix lines in its own map order: write them sorted.
    text = data.decode("utf-8")
    body = [line for line in text.split("\n") if not line.startswith("@prefix ")]
    head = "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in prefixes.items())
    return head + "\n" + "\n".join(body).lstrip("\n")


def _jsonld(quads) -> str:
    # rdflib writes compacted JSON-LD with an inline context (never a remote
    # one); its node order follows set iteration, so sort nodes and values.
    ds = Dataset()
    ds.addN(quads_for_rdflib(ds, quads))
    prefixes = _used_prefixes(quads)
    with warnings.catch_warnings():  # rdflib's JSON-LD writer uses its own deprecated API
        warnings.simplefilter("ignore", DeprecationWarning)
        text = ds.serialize(format="json-ld", context=prefixes, auto_compact=True)
    return json.dumps(_sorted_jsonld(json.loads(text)), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def _sorted_jsonld(value):
    if isinstance(value, dict):
        return {k: (v if k == "@context" else _sorted_jsonld(v)) for k, v in value.items()}
    if isinstance(value, list):
        items = [_sorted_jsonld(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    return value
