"""SELECT rows as they leave the query worker: a table of distinct terms and rows of indices.

The worker (:func:`kg.store.query_sandbox.evaluate`) writes each distinct term
once, as its N-Triples text (``str()`` of a pyoxigraph term: cheap, and JSON
carries plain strings fast), and each row as indices into that table; index 0
is "unbound". The caller makes each distinct term once: rdflib terms straight
from the text (:func:`rdflib_table`, what ``kg.query`` uses), or pyoxigraph
terms on demand (:class:`RowTable`, what :func:`kg.store.query_guard.run_query`
returns). An RDF-star triple has no N-Triples text in a term position, so it
travels as :func:`~kg.store.query_sandbox.encode_term` lists.

Measured at 100,000 patients, a 75,000-row listing (``benchmarks/bench_query_rows.py``):
``kg.query`` cost 45-53 us a row beyond the engine with a JSON list per cell, 12-14 us so.

>>> table = RowTable([None, '<http://ex.org/a>', '"chat"@fr', '_:x1'], [[1, 2], [3, 0]])
>>> table
((<NamedNode value=http://ex.org/a>, <Literal value=chat language=fr>), (<BlankNode value=x1>, None))
>>> [str(t) for t in rdflib_table(table.table, {})]
['None', 'http://ex.org/a', 'chat', 'b0']
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rdflib import BNode

from .query_sandbox import decode_term
from .results import _XSD_STRING, _iri, _literal, rdflib_term

__all__ = ["RowTable", "rdflib_table", "rdflib_from_nt", "unescape"]

_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.DOTALL)
_SIMPLE = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _one(match: re.Match) -> str:
    code = match.group(1)
    if len(code) > 1:
        return chr(int(code[1:], 16))
    return _SIMPLE.get(code, code)


def unescape(text: str) -> str:
    r"""An N-Triples string body (``\"``, ``\n``, ``\u00E9``...) as the text it stands for.

    >>> unescape(r'say \"hi\"\n\u00E9\U0001F600')
    'say "hi"\né😀'
    """
    return _ESCAPE.sub(_one, text) if "\\" in text else text


def rdflib_from_nt(entry):
    """The rdflib term of one table entry (N-Triples text, an encoded list, or None); blank nodes as labelled.

    >>> rdflib_from_nt('"3"^^<http://www.w3.org/2001/XMLSchema#integer>').toPython()
    3
    """
    if entry is None:
        return None
    if not isinstance(entry, str):
        return rdflib_term(decode_term(entry, {}))  # an RDF-star triple: refused there, as before
    first = entry[0]
    if first == "<":
        return _iri(entry[1:-1])  # Oxigraph's IRIs hold no '>' and no '\\': written as they are
    if first == "_":
        return BNode(entry[2:])
    end = entry.rindex('"')  # quotes inside the value are escaped; tags and datatype IRIs hold none
    value = unescape(entry[1:end])
    suffix = entry[end + 1:]
    if suffix.startswith("@"):
        return _literal(value, suffix[1:].split("--", 1)[0], "")  # rdflib has no base direction
    if suffix.startswith("^^<"):
        return _literal(value, None, suffix[3:-1])
    return _literal(value, None, _XSD_STRING)


def rdflib_table(table, bnodes: dict) -> list:
    """Every entry as an rdflib term; blank nodes numbered ``b0, b1...`` in table order.

    Table order is the order of first appearance in the rows, so this is the
    numbering :func:`kg.store.results.stable_bnode` gives row by row.
    """
    out = []
    for entry in table:
        term = rdflib_from_nt(entry)
        if isinstance(term, BNode):
            label = str(term)
            if label not in bnodes:
                bnodes[label] = BNode(f"b{len(bnodes)}")
            term = bnodes[label]
        out.append(term)
    return out


def _pyoxigraph_table(table) -> list:
    import pyoxigraph as ox

    texts = [(i, e) for i, e in enumerate(table) if isinstance(e, str)]
    out: list = [None if e is None or isinstance(e, str) else decode_term(e, {}) for e in table]
    if texts:
        document = "".join(f"<urn:x> <urn:x> {e} .\n" for _i, e in texts).encode("utf-8")
        for (i, _e), quad in zip(texts, ox.parse(document, format=ox.RdfFormat.N_TRIPLES)):
            out[i] = quad.object
    return out


class RowTable(Sequence):
    """SELECT solutions as the worker sent them; reads as a tuple of tuples of pyoxigraph terms.

    ``table`` holds the distinct terms (index 0: None), ``rows`` their indices.
    The pyoxigraph terms are made on first use, each distinct term once.
    """

    def __init__(self, table, rows):
        self.table = table
        self.rows = rows
        self._terms = None

    def _solutions(self) -> tuple:
        if self._terms is None:
            terms = _pyoxigraph_table(self.table)
            self._terms = tuple(tuple(terms[i] for i in row) for row in self.rows)
        return self._terms

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):
        return self._solutions()[index]

    def __iter__(self):
        return iter(self._solutions())

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(self._solutions())

    def __repr__(self) -> str:
        return repr(self._solutions())
