"""The cohort shape of the store: each distinct derivation step once, per patient only its own.

In a cohort most patients share their reasoning: 100,000 patients fire a few hundred distinct
(rule, premises, certainty) steps. The cohort shape stores each such step once, as a *firing
plan* in the shared graph :data:`~kg.render.rdf_iris.PLANS_GRAPH`, and each patient as:

- input graph ``<p>/graph/input``: ``<p> a pk:Patient; dcterms:identifier; pk:assessedOn``;
  each input fact ``<p>/fact/<id>`` with ``prov:specializationOf`` its fact template,
  ``pk:aboutPatient`` and ``pk:status "observed"``; an injury's dates and index
  (``pk:onset/time:inXSDDate``, ``pk:daysSinceOnset``, ``pk:resolved``, ``pk:resolvedOn``,
  ``pk:resolvedBy``, ``pk:episodeStartUnknown``, ``pk:injuryIndex``, ``pk:mechanism``); a
  status fact's ``pk:injury``;
- derivations graph ``<p>/graph/derivations``: ``pk:thresholdDays``, ``pk:painPersists``;
  ``<p> pk:applied <plan>`` for every rule firing of its reasoning; ``<p> pk:concluded <f>`` for
  each main conclusion (the chains of the explanation, the ``conclusions`` of a batch result)
  with its ``pk:concept``, ``pk:site``, ``pk:certaintyLevel`` and ``prov:specializationOf``.

The shared graph holds, once each:

- fact templates ``pkf:<id>`` (:func:`~kg.render.rdf_iris.fact_template_iri`): ``pk:concept``,
  ``pk:site``, ``dcterms:identifier`` (no ``rdf:type``: a template is no patient's fact);
- firing plans ``<plan>`` (:func:`~kg.render.rdf_iris.plan_iri`), ``a prov:Plan, pk:FiringPlan``:
  ``pk:rule``, ``pk:certaintyLevel``, ``pk:premise`` and ``pk:concludes`` (fact templates),
  ``pk:appliedEdge``, ``pk:conditionMet``, ``pk:evidence`` (the source's sentences).

A patient's fact ``<p>/fact/<id>`` and its template ``pkf:<id>`` differ only in their prefix, so a
query goes from one to the other with ``prov:specializationOf`` (docs/sparql.md, "The cohort
store"); :mod:`kg.store.readback` turns the two back into the explanation, exactly. The
per-patient (full) form of ``painkg explain --format trig`` is :mod:`kg.render.rdf`.

Built from the explanation's JSON (``to_dict()``, which memoised reasoning gives without an
:class:`~kg.reasoning.explanation.Explanation`) and the validated patient.

>>> import kg
>>> e = kg.explain("examples/lower-back-strain-day20.json")
>>> mine, shared = cohort_quads(e.patient, e.to_dict(), e.ontology)
>>> len(mine) < 100, len(shared) > len(mine)
(True, True)
"""

from __future__ import annotations

from typing import Iterable

from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, XSD

from ..knowledge.ontology import PK, PKC, PROV, TIME, Ontology
from ..reasoning.memo import injury_fields
from ..render.rdf import LEVEL_IRIS
from ..render.rdf_iris import (PLANS_GRAPH, derivations_graph_iri, fact_template_iri, input_graph_iri, patient_iri,
                               plan_iri, quote_segment)
from .lean import nquads

__all__ = ["FIRING_PLAN", "APPLIED", "CONCLUDED", "PREMISE", "CONCLUDES", "cohort_quads", "all_cohort_quads",
           "CohortWriter"]

#: The class of firing plans (a ``prov:Plan``), and the four links of the cohort shape.
FIRING_PLAN = PK.FiringPlan
APPLIED, CONCLUDED, PREMISE, CONCLUDES = PK.applied, PK.concluded, PK.premise, PK.concludes

_TYPE, _ID, _SPEC = RDF.type, DCTERMS.identifier, PROV.specializationOf
_OBSERVED = Literal("observed")


def _shared_fact(onto: Ontology, fact: dict) -> list[tuple]:
    template = fact_template_iri(fact["id"])
    concept = URIRef(onto.concepts[fact["concept"]].iri)
    # No rdf:type: ``?f a pk:PersistentPain`` finds the patients' facts, never their templates.
    quads = [(template, PK.concept, concept, PLANS_GRAPH),
             (template, _ID, Literal(fact["id"]), PLANS_GRAPH)]
    if fact["site"]:
        quads.append((template, PK.site, URIRef(onto.concepts[fact["site"]].iri), PLANS_GRAPH))
    return quads


def _shared_plan(onto: Ontology, plan: URIRef, fact: dict, just: dict) -> list[tuple]:
    rule = just["rule"]
    g = PLANS_GRAPH
    quads = [(plan, _TYPE, PROV.Plan, g), (plan, _TYPE, FIRING_PLAN, g),
             (plan, PK.rule, URIRef(onto.rules[rule].iri), g),
             (plan, PK.certaintyLevel, LEVEL_IRIS[just["certainty"]], g),
             (plan, CONCLUDES, fact_template_iri(fact["id"]), g)]
    quads += [(plan, PREMISE, fact_template_iri(p), g) for p in just["premises"]]
    edge = onto.edge_for(rule, fact["concept"], fact["site"])
    if edge is not None:
        quads.append((plan, PK.appliedEdge, URIRef(edge.iri), g))
        if edge.condition is not None:
            quads.append((plan, PK.conditionMet, PKC[edge.condition.id], g))
    quads += [(plan, PK.evidence, URIRef(onto.passages[p].iri), g) for p in onto.evidence(rule, fact["site"])]
    return quads


def _injury_quads(node: URIRef, inj, g: URIRef) -> list[tuple]:
    """An injury fact's own values, as :func:`kg.render.rdf._patient_quads` writes them."""
    fields = injury_fields(inj)
    instant = URIRef(f"{node}/onset")
    quads = [(node, PK.onset, instant, g), (instant, TIME.inXSDDate, Literal(fields["onset"], datatype=XSD.date), g),
             (node, PK.daysSinceOnset, Literal(fields["days"]), g), (node, PK.resolved, Literal(bool(fields["resolved"])), g),
             (node, PK.injuryIndex, Literal(inj.index), g)]
    if fields.get("resolved_on"):
        quads.append((node, PK.resolvedOn, Literal(fields["resolved_on"], datatype=XSD.date), g))
    if fields.get("resolved_by"):
        quads.append((node, PK.resolvedBy, Literal(fields["resolved_by"], datatype=XSD.date), g))
    if fields.get("resolution") == "recurred":
        quads.append((node, PK.episodeStartUnknown, Literal(True), g))
    return quads


def cohort_quads(patient, explanation: dict, onto: Ontology, *, known: set | None = None) -> tuple[list, list]:
    """``(the patient's quads, shared quads)`` of one explanation in the cohort shape.

    ``patient`` is the validated :class:`~kg.inputs.patient.Patient`, ``explanation`` its
    explanation's ``to_dict()``. Shared quads are left out for templates and plans already in
    ``known`` (a set the caller keeps: each worker writes each shared node once).
    """
    known = set() if known is None else known
    pid = patient.id
    p = patient_iri(pid)
    g_in, g_der = input_graph_iri(pid), derivations_graph_iri(pid)
    base = f"{p}/fact/"
    mine = [(p, _TYPE, PK.Patient, g_in), (p, _ID, Literal(pid), g_in),
            (p, PK.assessedOn, Literal(patient.assessed_on, datatype=XSD.date), g_in),
            (p, PK.thresholdDays, Literal(explanation["threshold_days"]), g_der),
            (p, PK.painPersists, Literal(explanation["pain_persists"]), g_der)]
    shared: list[tuple] = []
    injuries: dict[tuple, object] = {}
    for inj in patient.injuries:  # the first of a kind at a site is the injury's fact
        injuries.setdefault((inj.kind, inj.site), inj)
    concluded = {chain["fact"] for chain in explanation["chains"]}
    applied: set = set()
    for fact in explanation["facts"]:
        fid = fact["id"]
        node = URIRef(base + quote_segment(fid))
        template = fact_template_iri(fid)
        if template not in known:
            known.add(template)
            shared += _shared_fact(onto, fact)
        if fact["status"] == "observed":
            mine += [(node, _SPEC, template, g_in), (node, PK.aboutPatient, p, g_in), (node, PK.status, _OBSERVED, g_in)]
            inj = injuries.get((fact["concept"], fact["site"])) if "/" not in fid else None
            if inj is not None:
                mine += _injury_quads(node, inj, g_in)
                if inj.mechanism:
                    mine.append((node, PK.mechanism, URIRef(base + quote_segment(f"{inj.mechanism}@{inj.site}")), g_in))
            elif "/" in fid:  # a status fact: <status>@<site>/<injury kind>
                kind = fid.rsplit("/", 1)[1]
                mine.append((node, PK.injury, URIRef(base + quote_segment(f"{kind}@{fact['site']}")), g_in))
        if fid in concluded:
            graph = g_in if fact["status"] == "observed" else g_der
            mine += [(p, CONCLUDED, node, g_der), (node, PK.certaintyLevel, LEVEL_IRIS[fact["certainty"]], graph),
                     (node, PK.concept, URIRef(onto.concepts[fact["concept"]].iri), graph)]
            if fact["status"] != "observed":
                mine.append((node, _SPEC, template, graph))
            if fact["site"]:
                mine.append((node, PK.site, URIRef(onto.concepts[fact["site"]].iri), graph))
        for just in fact["justifications"]:
            plan = plan_iri(fid, just["rule"], just["premises"], just["certainty"])
            if plan not in applied:
                applied.add(plan)
                mine.append((p, APPLIED, plan, g_der))
            if plan not in known:
                known.add(plan)
                shared += _shared_plan(onto, plan, fact, just)
    return mine, shared


def all_cohort_quads(explanations: Iterable) -> list[tuple]:
    """Every quad of these :class:`~kg.reasoning.explanation.Explanation` objects in the cohort shape."""
    known: set = set()
    out: list[tuple] = []
    for e in explanations:
        mine, shared = cohort_quads(e.patient, e.to_dict(), e.ontology, known=known)
        out += mine
        out += shared
    return out


class CohortWriter:
    """N-Quads text of patients in the cohort shape, each shared node written once per writer.

    One per worker process: what it wrote for earlier patients is not written again (the store
    holds each quad once anyway; this keeps the chunk files and the load small).
    """

    def __init__(self, onto: Ontology):
        self.onto = onto
        self.known: set = set()
        self.terms: dict = {}

    def nquads(self, patient, explanation: dict) -> str:
        mine, shared = cohort_quads(patient, explanation, self.onto, known=self.known)
        return nquads(shared + mine, self.terms)
