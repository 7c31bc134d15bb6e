"""The cohort shape of the store: each distinct derivation once, per patient only its own.

In a cohort most patients share their reasoning: 100,000 patients fire a few hundred distinct
(rule, premises, certainty) steps. The cohort shape stores what patients share once, in the shared
graph :data:`~kg.render.rdf_iris.PLANS_GRAPH`, and per patient a handful of links to it:

- input graph ``<p>/graph/input``: ``<p> a pk:Patient; dcterms:identifier; pk:assessedOn``;
  ``<p> pk:reported <template>`` for each input fact; each injury ``<p>/fact/<id>`` with
  ``prov:specializationOf`` its fact template, ``pk:aboutPatient`` and its dates and index
  (``pk:onset/time:inXSDDate``, ``pk:daysSinceOnset``, ``pk:resolved``, ``pk:resolvedOn``,
  ``pk:resolvedBy``, ``pk:episodeStartUnknown``, ``pk:injuryIndex``, ``pk:mechanism``); a status
  fact's ``pk:injury``;
- derivations graph ``<p>/graph/derivations``: ``pk:thresholdDays``, ``pk:painPersists``;
  ``<p> pk:derivation <d>``, the set of firing plans its reasoning applied; ``<p> pk:concluded <c>``
  for each main conclusion (the chains of the explanation, the ``conclusions`` of a batch result);
  ``<p> pk:keyChain <k>`` for the key chain of each persistent-pain conclusion
  (:mod:`kg.reasoning.key_chain`); ``<injury> pk:knotsExpectedOn`` the date the explanation's
  expectations give for knots at its site, while they can still be prevented.

The shared graph holds, once each:

- fact templates ``pkf:<id>`` (:func:`~kg.render.rdf_iris.fact_template_iri`): ``pk:concept``,
  ``pk:site``, ``dcterms:identifier`` (no ``rdf:type``: a template is no patient's fact);
- firing plans (:func:`~kg.render.rdf_iris.plan_iri`), ``a prov:Plan, pk:FiringPlan``:
  ``pk:rule``, ``pk:certaintyLevel``, ``pk:premise`` and ``pk:concludes`` (fact templates),
  ``pk:appliedEdge``, ``pk:conditionMet``, ``pk:evidence`` (the source's sentences);
- derivations (:func:`~kg.render.rdf_iris.derivation_iri`), ``a prov:Plan, pk:Derivation``:
  ``pk:applied`` each of its firing plans;
- conclusions (:func:`~kg.render.rdf_iris.conclusion_iri`), ``a pk:Conclusion``: a fact template
  (``prov:specializationOf``, and its ``pk:concept`` and ``pk:site``) at a ``pk:certaintyLevel``,
  ``pk:justifiedBy`` the plans that concluded it, ``pk:reportedPremise`` those of their premises the
  patients reported;
- key chains (:func:`~kg.render.rdf_iris.key_chain_iri`), ``a pk:KeyChain``: ``pk:certaintyLevel``
  and ``pk:chainRules``, the rules of the chain in order (``"a + b + c"``).

So a cohort question groups the patients by one link (``pk:concluded``, ``pk:keyChain``,
``pk:derivation``) first and then reads the few shared nodes (docs/sparql.md, "The cohort store").
A patient's fact ``<p>/fact/<id>`` and its template ``pkf:<id>`` differ only in their prefix;
:mod:`kg.store.readback` turns a patient's quads and the shared nodes it links to back into the
explanation, exactly. The per-patient (full) form of ``painkg explain --format trig`` is
:mod:`kg.render.rdf`.

Built from the explanation's JSON (``to_dict()``, which memoised reasoning gives without an
:class:`~kg.reasoning.explanation.Explanation`) and the validated patient.

>>> import kg
>>> e = kg.explain("examples/lower-back-strain-day20.json")
>>> mine, shared = cohort_quads(e.patient, e.to_dict(), e.ontology)
>>> len(mine) < 30, len(shared) > len(mine)
(True, True)
"""

from __future__ import annotations

from typing import Iterable

from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, XSD

from ..knowledge.ontology import PK, PKC, PROV, TIME, Ontology
from ..reasoning.key_chain import facts_by_id, key_steps
from ..reasoning.memo import injury_fields
from ..render.rdf import LEVEL_IRIS
from ..render.rdf_iris import (PLANS_GRAPH, conclusion_iri, derivation_iri, derivations_graph_iri, fact_template_iri,
                               input_graph_iri, key_chain_iri, patient_iri, plan_iri, quote_segment)
from .lean import nquads

__all__ = ["FIRING_PLAN", "DERIVATION", "CONCLUSION", "KEY_CHAIN", "APPLIED", "CONCLUDED", "PREMISE", "CONCLUDES",
           "Memo", "cohort_quads", "all_cohort_quads", "CohortWriter"]

#: The classes of the shared nodes: firing plans and derivations (``prov:Plan``), conclusions, key chains.
FIRING_PLAN, DERIVATION, CONCLUSION, KEY_CHAIN = PK.FiringPlan, PK.Derivation, PK.Conclusion, PK.KeyChain
#: The links of the cohort shape.
APPLIED, CONCLUDED, PREMISE, CONCLUDES = PK.applied, PK.concluded, PK.premise, PK.concludes

_TYPE, _ID, _SPEC = RDF.type, DCTERMS.identifier, PROV.specializationOf
# Looked up once: an rdflib namespace attribute costs a function call each time.
_PATIENT, _ASSESSED, _THRESHOLD, _PERSISTS = PK.Patient, PK.assessedOn, PK.thresholdDays, PK.painPersists
_REPORTED, _ABOUT, _MECHANISM, _INJURY, _DERIVATION = PK.reported, PK.aboutPatient, PK.mechanism, PK.injury, PK.derivation
_KEY_CHAIN, _EXPECTED_ON, _ONSET, _IN_DATE = PK.keyChain, PK.knotsExpectedOn, PK.onset, TIME.inXSDDate
_DAYS, _RESOLVED, _INDEX, _RESOLVED_ON = PK.daysSinceOnset, PK.resolved, PK.injuryIndex, PK.resolvedOn
_RESOLVED_BY, _EPISODE = PK.resolvedBy, PK.episodeStartUnknown


class Memo:
    """IRIs and literals of one writer, made once each (quoting, hashing and rdflib's checks cost
    more than the rest of a patient's quads). Pure: what it returns depends only on the arguments."""

    def __init__(self):
        self._templates: dict = {}
        self._plans: dict = {}
        self._literals: dict = {}

    def template(self, fact_id: str) -> URIRef:
        found = self._templates.get(fact_id)
        if found is None:
            found = self._templates[fact_id] = fact_template_iri(fact_id)
        return found

    def plan(self, fact_id: str, rule: str, premises: list, level: str) -> URIRef:
        key = (fact_id, rule, tuple(premises), level)
        found = self._plans.get(key)
        if found is None:
            found = self._plans[key] = plan_iri(fact_id, rule, premises, level)
        return found

    def literal(self, value, datatype=None) -> Literal:
        key = (type(value), value, datatype)
        found = self._literals.get(key)
        if found is None:
            if len(self._literals) > 100_000:  # dates and numbers repeat; ids do not come here
                self._literals.clear()
            found = self._literals[key] = Literal(value, datatype=datatype)
        return found


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


def _injury_quads(node: URIRef, inj, g: URIRef, memo: Memo) -> list[tuple]:
    """An injury fact's own values, as :func:`kg.render.rdf._patient_quads` writes them."""
    fields = injury_fields(inj)
    instant = URIRef(f"{node}/onset")
    quads = [(node, _ONSET, instant, g), (instant, _IN_DATE, memo.literal(fields["onset"], XSD.date), g),
             (node, _DAYS, memo.literal(fields["days"]), g), (node, _RESOLVED, memo.literal(bool(fields["resolved"])), g),
             (node, _INDEX, memo.literal(inj.index), g)]
    if fields.get("resolved_on"):
        quads.append((node, _RESOLVED_ON, memo.literal(fields["resolved_on"], XSD.date), g))
    if fields.get("resolved_by"):
        quads.append((node, _RESOLVED_BY, memo.literal(fields["resolved_by"], XSD.date), g))
    if fields.get("resolution") == "recurred":
        quads.append((node, _EPISODE, memo.literal(True), g))
    return quads


def _shared_derivation(d: URIRef, plans: list) -> list[tuple]:
    g = PLANS_GRAPH
    return [(d, _TYPE, PROV.Plan, g), (d, _TYPE, DERIVATION, g)] + [(d, APPLIED, plan, g) for plan in plans]


def _shared_conclusion(onto: Ontology, c: URIRef, fact: dict, plans: list, reported: list) -> list[tuple]:
    g = PLANS_GRAPH
    quads = [(c, _TYPE, CONCLUSION, g), (c, _SPEC, fact_template_iri(fact["id"]), g),
             (c, PK.certaintyLevel, LEVEL_IRIS[fact["certainty"]], g),
             (c, PK.concept, URIRef(onto.concepts[fact["concept"]].iri), g)]
    if fact["site"]:
        quads.append((c, PK.site, URIRef(onto.concepts[fact["site"]].iri), g))
    quads += [(c, PK.justifiedBy, plan, g) for plan in plans]
    return quads + [(c, PK.reportedPremise, fact_template_iri(premise), g) for premise in reported]


def _key_chains(onto: Ontology, explanation: dict, by_id: dict, known: set, shared: list) -> list[URIRef]:
    """The key chain of each persistent-pain conclusion (:func:`kg.reasoning.key_chain.key_steps`)."""
    out = []
    for chain in explanation["chains"]:
        fact = by_id[chain["fact"]]
        if fact["concept"] != "persistent_pain":
            continue
        rules = [step.rule for step in key_steps(by_id, fact["id"], onto) if step.rule is not None]
        k = key_chain_iri(rules, fact["certainty"])
        if k not in known:
            known.add(k)
            shared += [(k, _TYPE, KEY_CHAIN, PLANS_GRAPH), (k, PK.certaintyLevel, LEVEL_IRIS[fact["certainty"]], PLANS_GRAPH),
                       (k, PK.chainRules, Literal(" + ".join(rules)), PLANS_GRAPH)]
        out.append(k)
    return out


def cohort_quads(patient, explanation: dict, onto: Ontology, *, known: set | None = None,
                 memo: Memo | None = None) -> tuple[list, list]:
    """``(the patient's quads, shared quads)`` of one explanation in the cohort shape.

    ``patient`` is the validated :class:`~kg.inputs.patient.Patient`, ``explanation`` its
    explanation's ``to_dict()``. Shared quads are left out for nodes already in ``known`` (a set
    the caller keeps: each worker writes each shared node once per chunk); ``memo`` keeps the IRIs
    and literals made for earlier patients.
    """
    known = set() if known is None else known
    memo = Memo() if memo is None else memo
    pid = patient.id
    p = patient_iri(pid)
    g_in, g_der = input_graph_iri(pid), derivations_graph_iri(pid)
    base = f"{p}/fact/"
    mine = [(p, _TYPE, _PATIENT, g_in), (p, _ID, Literal(pid), g_in),
            (p, _ASSESSED, memo.literal(patient.assessed_on, XSD.date), g_in),
            (p, _THRESHOLD, memo.literal(explanation["threshold_days"]), g_der),
            (p, _PERSISTS, memo.literal(explanation["pain_persists"]), g_der)]
    shared: list[tuple] = []
    injuries: dict[tuple, object] = {}
    for inj in patient.injuries:  # the first of a kind at a site is the injury's fact
        injuries.setdefault((inj.kind, inj.site), inj)
    injury_nodes: dict[tuple, URIRef] = {}
    concluded = {chain["fact"] for chain in explanation["chains"]}
    by_id = facts_by_id(explanation["facts"])
    plans_of: dict[str, list] = {}
    for fact in explanation["facts"]:
        fid = fact["id"]
        template = memo.template(fid)
        if template not in known:
            known.add(template)
            shared += _shared_fact(onto, fact)
        plans = plans_of[fid] = []
        for just in fact["justifications"]:
            plan = memo.plan(fid, just["rule"], just["premises"], just["certainty"])
            plans.append(plan)
            if plan not in known:
                known.add(plan)
                shared += _shared_plan(onto, plan, fact, just)
        if fact["status"] != "observed":
            continue
        mine.append((p, _REPORTED, template, g_in))
        inj = injuries.get((fact["concept"], fact["site"])) if "/" not in fid else None
        if inj is not None:
            node = URIRef(base + quote_segment(fid))
            injury_nodes[(fact["concept"], fact["site"])] = node
            mine += [(node, _SPEC, template, g_in), (node, _ABOUT, p, g_in)]
            mine += _injury_quads(node, inj, g_in, memo)
            if inj.mechanism:
                mine.append((node, _MECHANISM, URIRef(base + quote_segment(f"{inj.mechanism}@{inj.site}")), g_in))
        elif "/" in fid:  # a status fact: <status>@<site>/<injury kind>
            kind = fid.rsplit("/", 1)[1]
            mine.append((URIRef(base + quote_segment(fid)), _INJURY,
                         URIRef(base + quote_segment(f"{kind}@{fact['site']}")), g_in))
    applied = sorted({plan for plans in plans_of.values() for plan in plans})
    d = derivation_iri(applied)
    mine.append((p, _DERIVATION, d, g_der))
    if d not in known:
        known.add(d)
        shared += _shared_derivation(d, applied)
    for fid in sorted(concluded):
        fact = by_id[fid]
        # The premises of its plans the patient reported are part of what the conclusion is (a query
        # tells reported knots from concluded ones without a lookup per patient).
        reported = sorted({q for j in fact["justifications"] for q in j["premises"] if by_id[q]["status"] == "observed"})
        c = conclusion_iri(fid, fact["certainty"], [*plans_of[fid], *(f"reported {q}" for q in reported)])
        mine.append((p, CONCLUDED, c, g_der))
        if c not in known:
            known.add(c)
            shared += _shared_conclusion(onto, c, fact, sorted(set(plans_of[fid])), reported)
    mine += [(p, _KEY_CHAIN, k, g_der) for k in _key_chains(onto, explanation, by_id, known, shared)]
    by_index = {inj.index: inj for inj in patient.injuries}
    for expectation in explanation["expectations"]:  # knots that can still be prevented, and by when
        inj = by_index.get(expectation.get("injury"))
        # A resolved injury's expectation is about the past (was it fixed in time?): nothing to prevent.
        node = injury_nodes.get((inj.kind, inj.site)) if inj is not None and not inj.resolved else None
        if expectation["concept"] == "muscle_knots" and node is not None:
            mine.append((node, _EXPECTED_ON, memo.literal(expectation["expected_on"], XSD.date), g_der))
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
        self.memo = Memo()

    def nquads(self, patient, explanation: dict) -> str:
        mine, shared = cohort_quads(patient, explanation, self.onto, known=self.known, memo=self.memo)
        return nquads(shared + mine, self.terms)
