"""The ontology's IRI namespaces, without importing rdflib until RDF work needs it.

``PK``, ``PKE``, ``PKC``, ``PKR``, ``PKS``, ``PROV``, ``OA`` and ``TIME`` are rdflib
``Namespace`` objects (their terms are ``URIRef`` nodes for graphs), made on first access:
``painkg explain`` never touches them and so never pays rdflib's ~140 ms import. ``OBO`` is
a :class:`TextNamespace`, whose terms are plain strings: painkg only compares OBO IRIs as
text (the causal predicates of :mod:`kg.reasoning.loops`), at import time.

Example
-------
>>> from kg.knowledge import namespaces
>>> namespaces.OBO["RO_0002411"]
'http://purl.obolibrary.org/obo/RO_0002411'
>>> namespaces.PK.Passage
rdflib.term.URIRef('https://w3id.org/painkg/ontology#Passage')
"""

from __future__ import annotations

import functools

__all__ = ["IRIS", "TextNamespace", "OBO", "PK", "PKE", "PKC", "PKR", "PKS", "PROV", "OA", "TIME", "rdf_namespace"]

#: The base IRI of each rdflib namespace, by its Python name.
IRIS = {
    "PK": "https://w3id.org/painkg/ontology#",
    "PKE": "https://w3id.org/painkg/edge/",
    "PKC": "https://w3id.org/painkg/condition/",
    "PKR": "https://w3id.org/painkg/rule/",
    "PKS": "https://w3id.org/painkg/source/",
    "PROV": "http://www.w3.org/ns/prov#",
    "OA": "http://www.w3.org/ns/oa#",
    "TIME": "http://www.w3.org/2006/time#",
}


class TextNamespace(str):
    """A namespace whose terms are plain strings: ``ns["x"] == ns.x == ns + "x"``."""

    __slots__ = ()

    def __getitem__(self, name):
        if isinstance(name, str):
            return str(self) + name
        return str.__getitem__(self, name)  # slicing and indexing stay a string's

    def __getattr__(self, name: str) -> str:
        if name.startswith("__"):
            raise AttributeError(name)
        return str(self) + name


OBO = TextNamespace("http://purl.obolibrary.org/obo/")


@functools.lru_cache(maxsize=None)
def rdf_namespace(name: str):
    """The rdflib ``Namespace`` called ``name`` in :data:`IRIS` (rdflib is imported here)."""
    from rdflib import Namespace

    return Namespace(IRIS[name])


def __getattr__(name: str):
    # PEP 562: PK and the others are made when first asked for, so importing this module is free.
    if name in IRIS:
        return rdf_namespace(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
