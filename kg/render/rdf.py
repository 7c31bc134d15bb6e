"""An explanation as RDF: observed facts, and every derivation as PROV-O.

Each rule firing is a ``prov:Activity`` (also ``pk:RuleFiring``) that
``prov:used`` its premise facts and has a ``prov:qualifiedAssociation`` whose
``prov:hadPlan`` is the rule (``pkr:<rule id>``, a ``prov:Plan`` in the
ontology). Each concluded fact ``prov:wasGeneratedBy`` its firings and
``prov:wasDerivedFrom`` every premise; a fact concluded in two ways has two
firings. Facts are typed with their ontology class, ``pk:Fact`` and
``prov:Entity``, and point to their site class and their patient. Every fact
and every firing has a ``pk:certaintyLevel``: ``pk:Reported`` (patient
input), ``pk:Expected`` or ``pk:Possible`` (see :mod:`kg.reasoning.certainty`);
a firing's level is that of its justification, a fact's the strongest of its
firings'.

Three named graphs: the ontology (:data:`ONTOLOGY_GRAPH`, the shipped Turtle,
including ``patient-vocabulary.ttl`` for facts and firings), the patient's input facts and the derivations. The
quad formats (TriG, N-Quads, JSON-LD) carry all three; the triple formats
(Turtle, N-Triples) carry the patient's two graphs merged, without the
ontology, unless ``with_ontology=True``. IRIs come from the patient id and the
fact content only, and quads are written sorted, so the same explanation
always gives the same bytes.

Example
-------
>>> import kg
>>> e = kg.explain({"id": "p1", "assessed_on": "2026-03-21",
...     "injuries": [{"kind": "strain", "site": "lower_back", "onset": "2026-03-01"}]})
>>> ds = explanation_dataset(e)
>>> sorted(str(g.identifier).rsplit("/", 2)[-1] for g in ds.graphs() if len(g))
['derivations', 'input', 'ontology']
>>> fact_iri("p1", "persistent_pain@lower_back")
rdflib.term.URIRef('https://w3id.org/painkg/patient/p1/fact/persistent_pain@lower_back')
>>> print(explanation_rdf(e, "nt").splitlines()[0])
<https://w3id.org/painkg/patient/p1/fact/alternating_heat_cold@lower_back> <http://purl.org/dc/terms/identifier> "alternating_heat_cold@lower_back" .
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

from rdflib import Dataset, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, XSD

from ..knowledge.ontology import PK, PKC, PROV, TIME, ontology_graph
from .rdf_iris import (ENGINE, ONTOLOGY_GRAPH, PATIENT_BASE, PREFIXES, derivations_graph_iri, fact_iri,
                       firing_iri, input_graph_iri, patient_iri, quote_segment)
from .rdf_serialize import (QUAD_FORMATS, RDF_FORMATS, quad_key, quads_for_rdflib, rdf_format, serialize_quads)

__all__ = [
    "PATIENT_BASE", "ONTOLOGY_GRAPH", "ENGINE", "RDF_FORMATS", "PREFIXES", "LEVEL_IRIS",
    "patient_iri", "fact_iri", "firing_iri", "input_graph_iri", "derivations_graph_iri",
    "explanation_quads", "ontology_quads", "explanation_dataset", "explanation_rdf", "serialize_quads",
]

# The terms explanations use beyond the shipped ontology. They go into the
# ontology named graph so OWL tools, SHACL and `--reason` see them; all map
# onto PROV-O so PROV-aware tools need nothing painkg-specific.

_TYPE, _LABEL, _ID = RDF.type, RDFS.label, DCTERMS.identifier


def _lit(value) -> Literal:
    return Literal(value)


# Terms built once: rdflib validates every URIRef it constructs, which
# dominated the cost of exporting a patient.
_pk = SimpleNamespace(**{n: PK[n] for n in (
    "DerivedFact", "Expected", "Fact", "ObservedFact", "Patient", "Possible", "Reported", "RuleFiring",
    "aboutPatient", "appliedEdge", "assessedOn", "certaintyLevel", "concept", "conditionMet",
    "daysSinceOnset", "daysUnresolved", "detail", "episodeStartUnknown",
    "evidence", "injury", "injuryIndex", "mechanism", "onset", "painPersists", "resolved", "resolvedBy", "resolvedOn", "rule",
    "site",
    "status", "thresholdDays",
)})
_prov = SimpleNamespace(**{n: PROV[n] for n in (
    "Activity", "Association", "Entity", "agent", "generated", "hadPlan", "qualifiedAssociation",
    "used", "wasAssociatedWith", "wasDerivedFrom", "wasGeneratedBy",
)})
#: The ontology's individual for each certainty level.
LEVEL_IRIS = {"reported": _pk.Reported, "expected": _pk.Expected, "possible": _pk.Possible}
_time = SimpleNamespace(**{n: TIME[n] for n in (
    "Instant", "inXSDDate",
)})


def explanation_quads(e) -> list[tuple]:
    """The patient's quads (input and derivations graphs, no ontology), sorted.

    Each quad is ``(subject, predicate, object, graph)`` of rdflib terms.

    >>> import kg
    >>> e = kg.explain({"id": "p", "assessed_on": "2026-01-02", "findings": ["muscle_knots"]})
    >>> sorted({str(g).rsplit("/", 1)[-1] for *_, g in explanation_quads(e)})
    ['derivations', 'input']
    """
    return sorted(_patient_quads(e), key=quad_key)


def _patient_quads(e) -> set[tuple]:
    onto = e.ontology
    pid = e.patient.id
    patient = patient_iri(pid)
    g_in, g_der = input_graph_iri(pid), derivations_graph_iri(pid)
    quads: set[tuple] = set()
    base = f"{patient}/fact/"
    nodes: dict[str, URIRef] = {}
    # Where each injury stands in the input (its fact is the first of its kind at its site).
    injury_index: dict[tuple, int] = {}
    for inj in e.patient.injuries:
        injury_index.setdefault((inj.kind, inj.site), inj.index)

    def fact_node(fact_id: str) -> URIRef:
        # Premises recur across firings; build each fact's IRI once.
        node = nodes.get(fact_id)
        if node is None:
            node = nodes[fact_id] = URIRef(base + quote_segment(fact_id))
        return node

    def add(s, p, o, g):
        quads.add((s, p, o, g))

    add(patient, _TYPE, _pk.Patient, g_in)
    add(patient, _TYPE, _prov.Entity, g_in)
    add(patient, _ID, _lit(pid), g_in)
    add(patient, _pk.assessedOn, Literal(e.assessed_on, datatype=XSD.date), g_in)
    add(patient, _pk.thresholdDays, _lit(e.threshold_days), g_der)
    add(patient, _pk.painPersists, _lit(e.pain_persists), g_der)

    for fact in e.facts:
        traced = e.trace[fact.id]
        node = fact_node(fact.id)
        graph = g_in if fact.status == "observed" else g_der
        concept = onto.concepts[fact.concept]
        add(node, _TYPE, _pk.Fact, graph)
        add(node, _TYPE, _prov.Entity, graph)
        add(node, _TYPE, _pk.ObservedFact if fact.status == "observed" else _pk.DerivedFact, graph)
        add(node, _TYPE, URIRef(concept.iri), graph)
        add(node, _pk.concept, URIRef(concept.iri), graph)
        add(node, _ID, _lit(fact.id), graph)
        add(node, _pk.status, _lit(fact.status), graph)
        add(node, _pk.aboutPatient, patient, graph)
        add(node, _pk.certaintyLevel, LEVEL_IRIS[fact.certainty], graph)
        where = f" at the {onto.concepts[fact.site].label}" if fact.site else ""
        add(node, _LABEL, _lit(f"{fact.label}{where}"), graph)
        if fact.site:
            add(node, _pk.site, URIRef(onto.concepts[fact.site].iri), graph)
        if fact.detail:
            add(node, _pk.detail, _lit(fact.detail), graph)
        details = traced.details
        if details.get("role") == "injury":
            instant = URIRef(f"{node}/onset")
            add(node, _pk.onset, instant, graph)
            add(instant, _TYPE, _time.Instant, graph)
            add(instant, _time.inXSDDate, Literal(details["onset"], datatype=XSD.date), graph)
            add(node, _pk.daysSinceOnset, _lit(details["days"]), graph)
            add(node, _pk.resolved, _lit(bool(details["resolved"])), graph)
            if details.get("resolved_on"):
                add(node, _pk.resolvedOn, Literal(details["resolved_on"], datatype=XSD.date), graph)
            if details.get("resolved_by"):
                add(node, _pk.resolvedBy, Literal(details["resolved_by"], datatype=XSD.date), graph)
            if details.get("resolution") == "recurred":
                add(node, _pk.episodeStartUnknown, _lit(True), graph)
            index = injury_index.get((fact.concept, fact.site))
            if index is not None:
                add(node, _pk.injuryIndex, _lit(index), graph)
            if details.get("mechanism"):
                add(node, _pk.mechanism, fact_node(f"{details['mechanism']}@{fact.site}"), graph)
        elif details.get("role") == "status":
            add(node, _pk.injury, fact_node(f"{details['injury']}@{fact.site}"), graph)

        for just, level in zip(fact.justifications, fact.justification_certainty):
            _add_firing(add, fact_node, e, fact, just, level, node, patient, g_der)
    return quads


def _add_firing(add, fact_node, e, fact, just, level, node, patient, graph) -> None:
    onto = e.ontology
    firing = firing_iri(e.patient.id, fact.id, just.rule, just.premises)
    association = URIRef(f"{firing}/association")
    rule = URIRef(onto.rules[just.rule].iri)
    add(firing, _TYPE, _pk.RuleFiring, graph)
    add(firing, _TYPE, _prov.Activity, graph)
    add(firing, _LABEL, _lit(f"{just.rule} concludes {fact.id}"), graph)
    add(firing, _pk.rule, rule, graph)
    add(firing, _pk.aboutPatient, patient, graph)
    add(firing, _pk.certaintyLevel, LEVEL_IRIS[level], graph)
    add(firing, _prov.wasAssociatedWith, ENGINE, graph)
    add(firing, _prov.qualifiedAssociation, association, graph)
    add(association, _TYPE, _prov.Association, graph)
    add(association, _prov.agent, ENGINE, graph)
    add(association, _prov.hadPlan, rule, graph)
    add(firing, _prov.generated, node, graph)
    add(node, _prov.wasGeneratedBy, firing, graph)
    for premise in just.premises:
        premise_node = fact_node(premise)
        add(firing, _prov.used, premise_node, graph)
        add(node, _prov.wasDerivedFrom, premise_node, graph)
    edge = onto.edge_for(just.rule, fact.concept, fact.site)
    if edge is not None:
        add(firing, _pk.appliedEdge, URIRef(edge.iri), graph)
        if edge.condition is not None:
            add(firing, _pk.conditionMet, PKC[edge.condition.id], graph)
    for passage in onto.evidence(just.rule, fact.site):
        add(firing, _pk.evidence, URIRef(onto.passages[passage].iri), graph)
    bindings = dict(just.bindings)
    if "days" in bindings:
        add(firing, _pk.daysUnresolved, _lit(bindings["days"]), graph)
    if "threshold" in bindings:
        add(firing, _pk.thresholdDays, _lit(bindings["threshold"]), graph)


@functools.lru_cache(maxsize=1)
def ontology_quads() -> tuple:
    """The ontology as sorted quads in :data:`ONTOLOGY_GRAPH`.

    >>> all(g == ONTOLOGY_GRAPH for *_, g in ontology_quads())
    True
    """
    graph = ontology_graph()
    return tuple(sorted(((s, p, o, ONTOLOGY_GRAPH) for s, p, o in graph), key=quad_key))


def explanation_dataset(e, with_ontology: bool = True) -> Dataset:
    """The explanation as an rdflib ``Dataset`` with three named graphs.

    The default graph is empty; query with ``GRAPH`` patterns, or set
    ``ds.default_union = True`` to see all graphs as one.

    >>> import kg
    >>> e = kg.explain({"id": "p", "assessed_on": "2026-01-02", "findings": ["muscle_knots"]})
    >>> ds = explanation_dataset(e)
    >>> ds.default_union = True
    >>> bool(ds.query("ASK { ?f a <https://w3id.org/painkg/ontology#PersistentPain> }").askAnswer)
    True
    """
    ds = Dataset()
    for prefix, ns in PREFIXES.items():
        ds.bind(prefix, ns, override=True, replace=True)
    quads = list(explanation_quads(e))
    if with_ontology:
        quads.extend(ontology_quads())
    ds.addN(quads_for_rdflib(ds, quads))
    return ds


def explanation_rdf(e, format: str = "trig", with_ontology: bool | None = None) -> str:
    """The explanation as RDF text: ``ttl``/``turtle``, ``trig``, ``nt``, ``nq`` or ``jsonld``.

    Quad formats include the ontology graph unless ``with_ontology=False``;
    triple formats merge the input and derivations graphs and leave the
    ontology out unless ``with_ontology=True``.

    >>> import kg
    >>> e = kg.explain({"id": "p", "assessed_on": "2026-01-02", "findings": ["muscle_knots"]})
    >>> text = explanation_rdf(e, "ttl")
    >>> "prov:wasGeneratedBy" in text and "prov:hadPlan pkr:persistent-pain-from-knots" in text
    True
    >>> explanation_rdf(e, "rdfxml")
    Traceback (most recent call last):
    ...
    kg.errors.InputError: format: "rdfxml" is not allowed; expected one of jsonld, nq, nt, trig, ttl, turtle
    """
    kind = rdf_format(format)
    if with_ontology is None:
        with_ontology = kind in QUAD_FORMATS
    quads = list(explanation_quads(e))
    if with_ontology:
        quads.extend(ontology_quads())
    return serialize_quads(quads, format)
