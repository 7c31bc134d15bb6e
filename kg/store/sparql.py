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
(no remote fetch), and malformed queries (with line and column). Nothing is
ever fetched from the network, JSON-LD remote contexts included.

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

import csv
import functools
import io
import json
import re
from pathlib import Path
from typing import Any, Iterable, Iterator

from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import XSD

from ..errors import InputError
from ..render.rdf import (PREFIXES as _EXPORT_PREFIXES, _patient_quads, explanation_quads,
                         ontology_quads, quads_for_rdflib, serialize_quads, to_oxigraph_quads)

__all__ = ["PREFIXES", "INFERRED_GRAPH", "REASONERS", "QueryResult", "Row", "query", "dataset",
           "query_form", "read_query"]

#: Prefixes every query may use without declaring them.
PREFIXES: dict[str, str] = dict(sorted({
    **_EXPORT_PREFIXES,
    "ro": "http://purl.obolibrary.org/obo/RO_",
    "eco": "http://purl.obolibrary.org/obo/ECO_",
    "hp": "http://purl.obolibrary.org/obo/HP_",
    "uberon": "http://purl.obolibrary.org/obo/UBERON_",
    "mondo": "http://purl.obolibrary.org/obo/MONDO_",
}.items()))

#: Named graph that holds what ``reason=`` adds.
INFERRED_GRAPH = URIRef("https://w3id.org/painkg/graph/inferred")

#: Accepted values of ``reason``.
REASONERS = ("rdfs", "owl-rl")

_UPDATE_WORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
_FORMS = {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}
_RDF_DATA_FORMATS = {".ttl": "TURTLE", ".turtle": "TURTLE", ".trig": "TRIG", ".nt": "N_TRIPLES",
                     ".nq": "N_QUADS", ".jsonld": "JSON_LD", ".json": "JSON_LD"}

# Strings, IRIs and comments are blanked out before looking for keywords, so
# a `SERVICE` inside a literal or an IRI is not mistaken for the keyword.
_OPAQUE = re.compile(r'''"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^'\\]|\\.|'(?!''))*\'\'\''''
                     r'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|<[^<>"{}|^`\\\x00-\x20]*>|\#[^\n]*''')
_KEYWORD = re.compile(r"(?<![\w?$:.\-])([A-Za-z]+)(?![\w:\-])")


def _blank(text: str) -> str:
    return _OPAQUE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def query_form(sparql: str) -> str:
    """The form of a query (``SELECT``, ``ASK``, ``CONSTRUCT``, ``DESCRIBE``), refusing what is not read-only.

    >>> query_form("PREFIX x: <http://x/> ask { ?s ?p 'SERVICE' }")
    'ASK'
    >>> query_form("INSERT DATA { <a:b> <a:c> <a:d> }")
    Traceback (most recent call last):
    ...
    kg.errors.InputError: query: SPARQL Update (INSERT) is refused: painkg queries are read-only
    """
    if not isinstance(sparql, str) or not sparql.strip():
        raise InputError("query", sparql, "a SPARQL 1.1 query (SELECT, ASK, CONSTRUCT or DESCRIBE)")
    blanked = _blank(sparql)
    form = None
    for match in _KEYWORD.finditer(blanked):
        word = match.group(1).upper()
        if form is None and word not in ("PREFIX", "BASE"):
            if word in _UPDATE_WORDS:
                raise InputError("query", message=f"SPARQL Update ({word}) is refused: painkg queries are read-only")
            form = word if word in _FORMS else "?"
        if word == "SERVICE":
            line, col = _position(sparql, match.start(1))
            raise InputError("query", message=f"SERVICE (line {line}, column {col}) is refused: painkg "
                                              "queries never fetch remote data")
    return form or "?"


def read_query(text: str) -> str:
    """The query text: ``text`` itself, or the file ``@FILE`` (``@-``: standard input).

    >>> read_query("@no/such.rq")
    Traceback (most recent call last):
    ...
    kg.errors.InputError: query: '@no/such.rq' is not allowed; expected a SPARQL query or @FILE of a readable file (No such file or directory)
    """
    if not text.startswith("@"):
        return text
    path = text[1:]
    try:
        if path == "-":
            import sys

            return sys.stdin.read()
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError("query", text, f"a SPARQL query or @FILE of a readable file ({reason})") from None


# ---------------------------------------------------------------- results

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


def _nt(term) -> str:
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
    ``to_tsv()`` and ``to_table()``; graphs with ``to_turtle()``.
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
        """SPARQL 1.1 Query Results JSON (SELECT, ASK); for graphs, JSON-LD with an inline context."""
        if self.type == "ASK":
            data = {"head": {}, "boolean": bool(self.askAnswer)}
        elif self.type == "SELECT":
            data = {"head": {"vars": list(self.vars)},
                    "results": {"bindings": [{n: _json_term(v) for n, v in zip(self.vars, row) if v is not None}
                                             for row in self.rows]}}
        else:
            return self._serialize("jsonld")
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    def to_csv(self) -> str:
        """SPARQL 1.1 Query Results CSV (SELECT; ASK gives ``true``/``false``)."""
        if self.type == "ASK":
            return f"{str(bool(self.askAnswer)).lower()}\r\n"
        self._need("SELECT", what="csv")
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(self.vars)
        for row in self.rows:
            writer.writerow(["" if v is None else (f"_:{v}" if isinstance(v, BNode) else str(v)) for v in row])
        return buffer.getvalue()

    def to_tsv(self) -> str:
        """SPARQL 1.1 Query Results TSV (SELECT; ASK gives ``true``/``false``)."""
        if self.type == "ASK":
            return f"{str(bool(self.askAnswer)).lower()}\n"
        self._need("SELECT", what="tsv")
        lines = ["\t".join(f"?{v}" for v in self.vars)]
        lines += ["\t".join("" if v is None else _nt(v) for v in row) for row in self.rows]
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


# ---------------------------------------------------------------- data

def _explanations(patients, as_of, threshold_days) -> list:
    from collections import Counter

    from ..reasoning.reasoner import thread_reasoner
    from ..reasoning.explanation import Explanation

    if isinstance(patients, (str, Path, dict)) or not isinstance(patients, Iterable):
        patients = [patients]
    out = []
    for patient in patients:
        if isinstance(patient, Explanation):
            out.append(patient)
            continue
        # The thread's one engine: a new experta engine per query would leak (experta #21).
        out.append(thread_reasoner().explain(patient, as_of=as_of, threshold_days=threshold_days))
    duplicates = sorted(i for i, n in Counter(e.patient.id for e in out).items() if n > 1)
    if duplicates:
        raise InputError("patients", duplicates[0], "patients with distinct ids (their IRIs come from the id)")
    return out


def _rdf_format(path: str):
    import pyoxigraph as ox

    suffix = Path(path).suffix.lower()
    if suffix not in _RDF_DATA_FORMATS:
        raise InputError("data", path, "an RDF file ending in " + ", ".join(sorted(_RDF_DATA_FORMATS)))
    return getattr(ox.RdfFormat, _RDF_DATA_FORMATS[suffix])


def _data_quads(path: str) -> list:
    """Parse an RDF file with Oxigraph: no network access, no remote JSON-LD contexts."""
    import pyoxigraph as ox

    fmt = _rdf_format(path)
    graph = ox.NamedNode(Path(path).resolve().as_uri())
    try:
        data = Path(path).read_bytes()
        quads = list(ox.parse(data, format=fmt, without_named_graphs=False))
    except OSError as exc:
        raise InputError("data", path, f"a readable RDF file ({exc.strerror})") from None
    except SyntaxError as exc:
        text = str(exc)
        if "LoadDocumentCallback" in text or "remote context" in text.lower():
            text = "JSON-LD remote contexts are never fetched; inline the @context"
        raise InputError("data", path, message=f"cannot parse {path}: {text}") from None
    return [ox.Quad(q.subject, q.predicate, q.object,
                    graph if isinstance(q.graph_name, ox.DefaultGraph) else q.graph_name) for q in quads]


def _rdflib_term(term):
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        datatype = term.datatype.value
        return Literal(term.value) if datatype == str(XSD.string) else Literal(term.value, datatype=URIRef(datatype))
    raise InputError("query", str(term), "results of IRIs, blank nodes and literals (no RDF-star triples)")


def _closure(quads: list, reason: str) -> list:
    import owlrl

    if reason not in REASONERS:
        raise InputError("reason", reason, "one of " + ", ".join(REASONERS))
    graph = Graph()
    for s, p, o, _ in quads:
        graph.add((s, p, o))
    before = set(graph)
    semantics = owlrl.RDFS_Semantics if reason == "rdfs" else owlrl.OWLRL_Semantics
    owlrl.DeductiveClosure(semantics).expand(graph)
    # owlrl works on generalised RDF (literal subjects); RDF stores do not.
    return [(s, p, o, INFERRED_GRAPH) for s, p, o in graph
            if (s, p, o) not in before and not isinstance(s, Literal) and isinstance(p, URIRef)]


def _all_quads(patients, reason, as_of, threshold_days, data) -> tuple[list, list]:
    """(rdflib quads, pyoxigraph quads of data files): ontology, patients, then data."""
    quads = list(ontology_quads())
    for e in _explanations(patients, as_of, threshold_days):
        quads.extend(explanation_quads(e))
    extra = []
    for path in ([data] if isinstance(data, (str, Path)) else data):
        extra.extend(_data_quads(str(path)))
    if reason is not None:
        rdflib_extra = [tuple(_rdflib_term(t) for t in (q.subject, q.predicate, q.object, q.graph_name))
                        for q in extra]
        quads.extend(_closure(quads + rdflib_extra, reason))
    return quads, extra


def dataset(patients=(), *, reason: str | None = None, as_of=None, threshold_days: int = 14,
            data=()) -> Dataset:
    """The ontology plus the patients' graphs as an rdflib ``Dataset``.

    ``patients``: patient dicts, JSON paths, :class:`~kg.inputs.patient.Patient` or
    :class:`~kg.reasoning.explanation.Explanation` objects. ``data``: RDF files (``.ttl``,
    ``.trig``, ``.nt``, ``.nq``, ``.jsonld``) to add, each a graph named by its
    file IRI unless it names its own. ``default_union`` is on, so rdflib's own
    ``ds.query`` sees all graphs, like :func:`query`.

    >>> ds = dataset(["examples/lower-back-strain-day20.json"])
    >>> sorted(str(g.identifier).rsplit("/", 1)[-1] for g in ds.graphs() if len(g))
    ['derivations', 'input', 'ontology']
    """
    quads, extra = _all_quads(patients, reason, as_of, threshold_days, data)
    quads = quads + [tuple(_rdflib_term(t) for t in (q.subject, q.predicate, q.object, q.graph_name)) for q in extra]
    ds = Dataset(default_union=True)
    for prefix, ns in PREFIXES.items():
        ds.bind(prefix, ns, override=True, replace=True)
    ds.addN(quads_for_rdflib(ds, quads))
    return ds


@functools.lru_cache(maxsize=1)
def _ontology_oxigraph() -> tuple:
    return tuple(to_oxigraph_quads(ontology_quads()))


def _store(patients, reason, as_of, threshold_days, data):
    import pyoxigraph as ox

    store = ox.Store()
    if reason is None:
        store.extend(_ontology_oxigraph())
        quads = []
        for e in _explanations(patients, as_of, threshold_days):
            quads.extend(_patient_quads(e))  # the store orders them itself
        store.extend(to_oxigraph_quads(quads))
        for path in ([data] if isinstance(data, (str, Path)) else data):
            store.extend(_data_quads(str(path)))
        return store
    quads, extra = _all_quads(patients, reason, as_of, threshold_days, data)
    store.extend(to_oxigraph_quads(quads))
    store.extend(extra)
    return store


_ERROR_AT = re.compile(r"error at (\d+):(\d+): (.*)", re.S)


def _syntax_error(sparql: str, exc: SyntaxError) -> InputError:
    text = str(exc)
    match = _ERROR_AT.match(text)
    if not match:
        return InputError("query", message=f"syntax error: {text}")
    line, col, detail = int(match.group(1)), int(match.group(2)), " ".join(match.group(3).split())
    if "Prefix not found" in detail:
        detail = ("unknown prefix; declare it with PREFIX or use one of the pre-bound prefixes "
                  "(painkg query --prefixes)")
    elif len(detail) > 160:
        detail = detail[:157].rsplit(",", 1)[0] + ", ..."
    lines = sparql.splitlines() or [""]
    source = lines[line - 1] if 0 < line <= len(lines) else ""
    pointer = " " * (max(col, 1) - 1) + "^"
    return InputError("query", message=f"syntax error at line {line}, column {col}: {detail}\n  {source}\n  {pointer}")


def query(sparql: str, patients=(), *, reason: str | None = None, as_of=None, threshold_days: int = 14,
          data=()) -> QueryResult:
    """Run a read-only SPARQL 1.1 query over the ontology (+ patients' facts and derivations).

    ``patients`` as for :func:`dataset`; ``reason`` is None, ``"rdfs"`` or
    ``"owl-rl"``. Raises :class:`~kg.errors.InputError` for a malformed query
    (with its line and column), an update, ``SERVICE`` or bad patients.

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
    kg.errors.InputError: query: SERVICE (line 1, column 18) is refused: painkg queries never fetch remote data
    """
    import pyoxigraph as ox

    form = query_form(sparql)
    if reason is not None and reason not in REASONERS:
        raise InputError("reason", reason, "one of " + ", ".join(REASONERS))
    store = _store(patients, reason, as_of, threshold_days, data)
    try:
        result = store.query(sparql, prefixes=PREFIXES, use_default_graph_as_union=True)
    except SyntaxError as exc:
        raise _syntax_error(sparql, exc) from None
    except OSError as exc:  # pragma: no cover - SERVICE is refused before evaluation
        raise InputError("query", message=f"cannot evaluate: {exc}") from None
    if isinstance(result, ox.QueryBoolean):
        return QueryResult("ASK", ask=bool(result))
    if isinstance(result, ox.QuerySolutions):
        names = tuple(v.value for v in result.variables)
        bnodes: dict[str, BNode] = {}
        rows = []
        for solution in result:
            values = []
            for name in names:
                term = solution[name]
                values.append(None if term is None else _stable(_rdflib_term(term), bnodes))
            rows.append(Row(names, values))
        return QueryResult("SELECT", vars=names, rows=tuple(rows))
    triples = {tuple(_rdflib_term(t) for t in (tr.subject, tr.predicate, tr.object)) for tr in result}
    triples = _canonical_bnodes(triples)
    return QueryResult("DESCRIBE" if form == "DESCRIBE" else "CONSTRUCT",
                       triples=tuple(sorted(triples, key=lambda t: tuple(_nt(x) for x in t))))


def _stable(term, bnodes: dict):
    # Oxigraph names blank nodes at random; number them by first appearance.
    if isinstance(term, BNode):
        if str(term) not in bnodes:
            bnodes[str(term)] = BNode(f"b{len(bnodes)}")
        return bnodes[str(term)]
    return term


def _canonical_bnodes(triples: set) -> set:
    if not any(isinstance(t, BNode) for triple in triples for t in triple):
        return triples
    import pyoxigraph as ox

    graph = URIRef("urn:painkg:result")
    dataset_ = ox.Dataset(to_oxigraph_quads([(s, p, o, graph) for s, p, o in triples]))
    dataset_.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    return {tuple(_rdflib_term(t) for t in (q.subject, q.predicate, q.object)) for q in dataset_}
