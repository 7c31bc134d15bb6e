"""RDF datasets for SPARQL: the ontology, patients' explanations and RDF data files.

Each patient is there in both shapes: the per-patient form of ``painkg explain
--format trig`` (:mod:`kg.render.rdf`: every fact and rule firing) and the cohort
shape of the persistent store (:mod:`kg.store.cohort_shape`: links to shared derivations,
conclusions and key chains, and the shared plans graph). The two share their IRIs, so a query written
for the store answers the same here as over a store of the same patients.

:func:`dataset` returns them as an rdflib ``Dataset``; :func:`oxigraph_store`
loads the same quads into an in-memory Oxigraph store for :func:`kg.store.sparql.query`.
Data files are parsed by Oxigraph: nothing is fetched from the network, JSON-LD
remote contexts included.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Iterable

from rdflib import Dataset, Graph, Literal, URIRef

from ..errors import InputError
from ..render.rdf import _patient_quads, explanation_quads, ontology_quads
from ..render.rdf_serialize import quads_for_rdflib, to_oxigraph_quads
from .cohort_shape import all_cohort_quads
from .prefixes import PREFIXES
from .results import rdflib_term as _rdflib_term

__all__ = ["PREFIXES", "INFERRED_GRAPH", "REASONERS", "dataset", "oxigraph_store"]

#: Named graph that holds what ``reason=`` adds.
INFERRED_GRAPH = URIRef("https://w3id.org/painkg/graph/inferred")

#: Accepted values of ``reason``.
REASONERS = ("rdfs", "owl-rl")

_RDF_DATA_FORMATS = {".ttl": "TURTLE", ".turtle": "TURTLE", ".trig": "TRIG", ".nt": "N_TRIPLES",
                     ".nq": "N_QUADS", ".jsonld": "JSON_LD", ".json": "JSON_LD"}


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


def _data_paths(data) -> list:
    """``data`` (one path or several) as a list of paths; anything else is an :class:`~kg.errors.InputError`."""
    from ..errors import type_name

    items = [data] if isinstance(data, (str, os.PathLike)) else data
    if isinstance(items, (bytes, bytearray, dict)) or not isinstance(items, Iterable):
        raise InputError("data", type_name(data), "a path to an RDF file, or a list of paths")
    items = list(items)
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise InputError("data", type_name(item), "a path to an RDF file, or a list of paths")
    return items


def _data_quads(path: str) -> list:
    """Parse an RDF file with Oxigraph: no network access, no remote JSON-LD contexts.

    The file is read with a bounded read of at most ``LIMITS.data_bytes`` (16 MiB).
    """
    import pyoxigraph as ox

    from ..inputs.limits import LIMITS
    from ..inputs.reading import read_bytes

    fmt = _rdf_format(path)
    data = read_bytes(path, field="data", shown=path, expected="a readable RDF file", limit=LIMITS.data_bytes)
    try:
        graph = ox.NamedNode(Path(path).resolve().as_uri())
        quads = list(ox.parse(data, format=fmt, without_named_graphs=False))
    except (OSError, ValueError) as exc:
        raise InputError("data", path, f"a readable RDF file ({getattr(exc, 'strerror', None) or exc})") from None
    except SyntaxError as exc:
        text = str(exc)
        if "LoadDocumentCallback" in text or "remote context" in text.lower():
            text = "JSON-LD remote contexts are never fetched; inline the @context"
        raise InputError("data", path, message=f"cannot parse {path}: {text}") from None
    return [ox.Quad(q.subject, q.predicate, q.object,
                    graph if isinstance(q.graph_name, ox.DefaultGraph) else q.graph_name) for q in quads]


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
    paths = _data_paths(data)
    quads = list(ontology_quads())
    explanations = _explanations(patients, as_of, threshold_days)
    for e in explanations:
        quads.extend(explanation_quads(e))
    quads.extend(all_cohort_quads(explanations))
    extra = []
    for path in paths:
        extra.extend(_data_quads(os.fspath(path)))
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
    ['derivations', 'input', 'ontology', 'plans']
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


def oxigraph_store(patients, reason, as_of, threshold_days, data):
    import pyoxigraph as ox

    paths = _data_paths(data)
    store = ox.Store()
    if reason is None:
        store.extend(_ontology_oxigraph())
        quads = []
        explanations = _explanations(patients, as_of, threshold_days)
        for e in explanations:
            quads.extend(_patient_quads(e))  # the store orders them itself
        quads.extend(all_cohort_quads(explanations))
        store.extend(to_oxigraph_quads(quads))
        for path in paths:
            store.extend(_data_quads(os.fspath(path)))
        return store
    quads, extra = _all_quads(patients, reason, as_of, threshold_days, paths)
    store.extend(to_oxigraph_quads(quads))
    store.extend(extra)
    return store
