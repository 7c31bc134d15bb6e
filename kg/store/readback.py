"""A stored patient read back as its explanation: exactly ``kg.explain(record).to_dict()``.

``painkg batch --store`` keeps each patient as two named graphs (input and
derivations, in the cohort shape of :mod:`kg.store.cohort_shape`). :func:`explanation_from_triples`
turns those triples back into the :class:`~kg.reasoning.explanation.Explanation` the
batch explained, and :func:`explanation_dict` into its ``to_dict()``: the same keys, in
the same order, with the same values (``tests/test_store_readback.py`` checks this for
every example and a synthetic cohort, through the real batch and the real store).

Design: rebuild, do not store the JSON. The graphs already hold the engine's trace:
every fact (id, concept, site, observed or derived) and every firing (rule, premises).
From them this module rebuilds the validated patient and the trace, then calls the
same :func:`~kg.reasoning.explanation.build_explanation` as fresh reasoning, so labels,
certainties, chains (steps, edges, conditions, evidence), expectations, conflicts, loops,
causal paths, and any key ``to_dict()`` gains later, come out of the same code:

- the patient: ``pk:assessedOn``, ``pk:thresholdDays``; each injury from its fact
  (``pk:onset``, ``pk:daysSinceOnset``, ``pk:resolved``, ``pk:mechanism``, and the two
  values nothing else in the graphs gives, written for this read-back:
  ``pk:injuryIndex``, its place in the input, and ``pk:resolvedOn``, the date it was
  fixed when given), and the fields derived from all of them (overlapping injuries at a
  site, :func:`kg.inputs.site_runs.with_site_runs`, as ``parse_patient`` derives them);
  each finding from an observed fact that is no injury, mechanism or status;
- the trace: each fact's details as the engine declared them (an injury's fields from
  the engine's own ``injury_fields``, a status fact's injury from ``pk:injury``, a
  mechanism fact as the ``pk:mechanism`` of an injury), and each firing's
  justification; its bindings (the days and threshold a timed condition quotes) are the
  rule's own pattern matched against its premises (:func:`kg.reasoning.premises.best_match`).

Storing the whole JSON as one literal per patient would also be exact, but the graphs
must stay for SPARQL, so it would add what they already hold on top of them (about
30 KB for ``examples/lower-back-strain-day20.json``); rebuilding adds one quad per
injury (two when it was fixed on a known date): 502 lean quads become 503 for that
example. A store built before ``pk:injuryIndex`` existed is refused (build it again).

>>> import kg
>>> from kg.render.rdf import explanation_quads
>>> e = kg.explain("examples/two-injuries.json")
>>> explanation_dict([q[:3] for q in explanation_quads(e)]) == e.to_dict()
True
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, Iterable

from rdflib.namespace import DCTERMS, RDF

from ..errors import InputError
from ..inputs.patient import Finding, Injury, Patient
from ..inputs.site_runs import with_site_runs
from ..knowledge.ontology import PK, PROV, TIME, Ontology, load_ontology
from ..reasoning.explanation import Explanation, Justification, Trace, TracedFact, build_explanation
from ..reasoning.memo import injury_fields
from ..reasoning.premises import best_match, rule_premises
from ..render.rdf_iris import (FACT_TEMPLATE_BASE, PLANS_GRAPH, derivations_graph_iri, input_graph_iri,
                               patient_iri)

__all__ = ["patient_sparql", "explanation_from_triples", "explanation_dict", "read_explanation"]

_P = {name: str(term) for name, term in (
    ("type", RDF.type), ("id", DCTERMS.identifier), ("status", PK.status), ("concept", PK.concept),
    ("site", PK.site), ("assessed", PK.assessedOn), ("threshold", PK.thresholdDays), ("onset", PK.onset),
    ("date", TIME.inXSDDate), ("days", PK.daysSinceOnset), ("resolved", PK.resolved),
    ("resolved_on", PK.resolvedOn), ("resolved_by", PK.resolvedBy), ("index", PK.injuryIndex), ("mechanism", PK.mechanism),
    ("episode", PK.episodeStartUnknown),
    ("injury", PK.injury), ("rule", PK.rule), ("generated", PROV.generated), ("used", PROV.used),
    ("spec", PROV.specializationOf), ("applied", PK.applied), ("concluded", PK.concluded), ("premise", PK.premise),
    ("concludes", PK.concludes), ("reported", PK.reported), ("derivation", PK.derivation))}
_PATIENT = str(PK.Patient)


def patient_sparql(pid: str) -> str:
    """The SPARQL query that reads the patient ``pid`` as ``?s ?p ?o`` rows: its two graphs, and from the
    shared graph its derivation, the firing plans that applies and the fact templates they and the
    patient's reported facts use (the cohort shape, :mod:`kg.store.cohort_shape`)."""
    g_in, g_der, me = input_graph_iri(pid), derivations_graph_iri(pid), patient_iri(pid)
    plans = f"<{PLANS_GRAPH}>"
    mine_d = f"GRAPH <{g_der}> {{ <{me}> <{_P['derivation']}> ?d }}"
    return (f"SELECT DISTINCT ?s ?p ?o WHERE {{ {{ VALUES ?g {{ <{g_in}> <{g_der}> }} GRAPH ?g {{ ?s ?p ?o }} }} "
            f"UNION {{ GRAPH <{g_der}> {{ <{me}> <{_P['derivation']}> ?s }} GRAPH {plans} {{ ?s ?p ?o }} }} "
            f"UNION {{ {mine_d} GRAPH {plans} {{ ?d <{_P['applied']}> ?s . ?s ?p ?o }} }} "
            f"UNION {{ {mine_d} GRAPH {plans} {{ ?d <{_P['applied']}> ?plan . "
            f"?plan <{_P['premise']}>|<{_P['concludes']}> ?s . ?s ?p ?o }} }} "
            f"UNION {{ GRAPH <{g_in}> {{ <{me}> <{_P['reported']}> ?s }} GRAPH {plans} {{ ?s ?p ?o }} }} }}")


def _from_cohort(triples: list[tuple]) -> list[tuple]:
    """The cohort shape's triples as the per-patient triples :func:`explanation_from_triples` reads.

    Each fact template the patient uses becomes the patient's fact (same id, the patient's prefix),
    observed if the patient reported it, else derived; each firing plan of its derivation becomes a
    firing that used the patient's premise facts and generated its conclusion.
    """
    from rdflib import Literal, URIRef

    triples = list(dict.fromkeys(triples))  # a template reached by two plans comes twice
    me = next((str(s) for s, p, o in triples if str(p) == _P["type"] and str(o) == _PATIENT), None)
    if me is None:
        return triples
    base = f"{me}/fact/"

    def mine(term) -> URIRef:
        return URIRef(base + str(term)[len(FACT_TEMPLATE_BASE):])

    templates: dict[str, list] = defaultdict(list)
    plans: dict[str, list] = defaultdict(list)
    derivation = next((str(o) for s, p, o in triples if str(s) == me and str(p) == _P["derivation"]), None)
    applied = {str(o) for s, p, o in triples if str(s) == derivation and str(p) == _P["applied"]}
    reported: set[str] = set()
    out = []
    for s, p, o in triples:
        s_text, p_text = str(s), str(p)
        if s_text.startswith(FACT_TEMPLATE_BASE):
            templates[s_text].append((p, o))
        elif s_text in applied:
            plans[s_text].append((p, o))
        elif s_text == me and p_text == _P["reported"]:
            reported.add(str(o))
        elif (s_text == me or s_text.startswith(base)) and p_text != _P["spec"]:
            out.append((s, p, o))  # the patient and its own facts' values (the shared links are left out)
    used = set(reported)
    used.update(str(o) for iri in applied for p, o in plans.get(iri, ()) if str(p) in (_P["premise"], _P["concludes"]))
    for iri in sorted(used):  # only the templates this patient uses: the rows may hold the whole shared graph
        node = mine(iri)
        out += [(node, p, o) for p, o in templates.get(iri, ()) if str(p) != _P["type"]]
        out.append((node, URIRef(_P["status"]), Literal("observed" if iri in reported else "derived")))
    for iri in sorted(applied):
        for p, o in plans.get(iri, ()):
            key = str(p)
            if key == _P["rule"]:
                out.append((URIRef(iri), p, o))
            elif key in (_P["premise"], _P["concludes"]):
                out.append((URIRef(iri), URIRef(_P["used" if key == _P["premise"] else "generated"]), mine(o)))
    return out


class _Node:
    """One subject's values: predicate IRI -> objects."""

    def __init__(self, iri: str, values: dict[str, list]):
        self.iri, self.values = iri, values

    def all(self, key: str) -> list:
        return self.values.get(_P[key], [])

    def get(self, key: str) -> Any:
        values = self.all(key)
        return values[0] if values else None

    def need(self, key: str) -> Any:
        value = self.get(key)
        if value is None:
            raise InputError("store", self.iri, message=f"<{self.iri}> has no {key} in the store; the store is "
                                                        "damaged or not built by this painkg: build it again")
        return value


def _date(value) -> dt.date:
    return dt.date.fromisoformat(str(value))


def _int(value) -> int:
    return int(str(value))


def _bool(value) -> bool:
    return str(value) in ("true", "1")


def explanation_from_triples(triples: Iterable[tuple], pid: str | None = None,
                             ontology: Ontology | None = None) -> Explanation:
    """The :class:`~kg.reasoning.explanation.Explanation` of one patient's stored graphs.

    ``triples`` are ``(subject, predicate, object)`` rdflib terms of the patient's input
    and derivations graphs (lean or full RDF); ``pid``, when given, must be their
    patient's id. Raises :class:`~kg.errors.InputError` (field ``id``) when they hold no
    patient, and (field ``store``) when they lack what the read-back needs.
    """
    onto = ontology if ontology is not None else load_ontology()
    triples = list(triples)
    if any(str(p) == _P["derivation"] for _, p, _ in triples):
        triples = _from_cohort(triples)
    grouped: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for s, p, o in triples:
        grouped[str(s)][str(p)].append(o)
    nodes = {iri: _Node(iri, values) for iri, values in grouped.items()}
    me = next((n for n in nodes.values() if any(str(t) == _PATIENT for t in n.all("type"))
               and (pid is None or str(n.get("id")) == pid)), None)
    if me is None:
        raise InputError("id", pid, "the id of a patient in the store")
    threshold = _int(me.need("threshold"))
    concept_of = {c.iri: key for key, c in onto.concepts.items()}
    rule_of = {r.iri: key for key, r in onto.rules.items()}

    facts = {iri: n for iri, n in nodes.items() if n.get("status") is not None}
    fact_id = {iri: str(n.need("id")) for iri, n in facts.items()}
    mechanisms = {str(m) for n in facts.values() for m in n.all("mechanism")}
    injuries: list[Injury] = []
    findings: list[Finding] = []
    traced: dict[str, TracedFact] = {}
    pending: list[tuple[int, dict]] = []
    for iri, n in sorted(facts.items(), key=lambda kv: (kv[1].get("status") != "observed", fact_id[kv[0]])):
        concept = concept_of[str(n.need("concept"))]
        site = concept_of[str(n.get("site"))] if n.get("site") is not None else None
        observed = str(n.need("status")) == "observed"
        details: dict[str, Any] = {}
        if n.get("onset") is not None:
            inj = _injury(n, nodes, facts, concept_of, concept, site)
            injuries.append(inj)
            pending.append((inj.index, details))  # filled below, once the site runs are known
        elif n.get("injury") is not None:
            details = {"role": "status", "injury": concept_of[str(facts[str(n.get("injury"))].need("concept"))]}
        elif iri in mechanisms:
            details = {"role": "mechanism"}
        elif observed:
            findings.append(Finding(concept, site))
        traced[fact_id[iri]] = TracedFact(fact_id[iri], concept, site, observed, details)
    # Derived from all the injuries and the assessment, as parse_patient derives them (kg.inputs.site_runs).
    assessed = _date(me.need("assessed"))
    injuries = list(with_site_runs(sorted(injuries, key=lambda i: i.index), assessed))
    by_index = {inj.index: inj for inj in injuries}
    for index, details in pending:
        details.update({k: v for k, v in injury_fields(by_index[index]).items() if k not in ("concept", "site")})

    setting = {"threshold_days": threshold}
    for n in nodes.values():
        if n.get("rule") is None:
            continue
        rule = rule_of[str(n.get("rule"))]
        premises = tuple(sorted(fact_id[str(u)] for u in n.all("used")))
        fields = {p: {"concept": traced[p].concept, "site": traced[p].site, **traced[p].details} for p in premises}
        match = best_match(rule_premises()[rule], fields, setting)
        if not match.complete:  # pragma: no cover - a stored firing always matches its rule
            raise InputError("store", n.iri, message=f"<{n.iri}>: its premises do not match rule {rule}")
        traced[fact_id[str(n.need("generated"))]].justifications.append(Justification(rule, premises, match.bindings))

    patient = Patient(str(me.need("id")), assessed, tuple(injuries),
                      tuple(sorted(findings, key=lambda f: (f.concept, f.site or ""))))
    return build_explanation(patient, Trace(traced), onto, threshold)


def _injury(n: _Node, nodes: dict, facts: dict, concept_of: dict, kind: str, site: str | None) -> Injury:
    index = n.get("index")
    if index is None:
        raise InputError("store", n.iri, message=f"<{n.iri}> has no pk:injuryIndex: the store was built by an "
                                                 "older painkg; build it again with `painkg batch --store`")
    onset = nodes[str(n.need("onset"))].need("date")
    mechanism = n.get("mechanism")
    resolved_on, resolved_by = n.get("resolved_on"), n.get("resolved_by")
    return Injury(_int(index), kind, site, _date(onset), _int(n.need("days")),
                  concept_of[str(facts[str(mechanism)].need("concept"))] if mechanism is not None else None,
                  _bool(n.need("resolved")), _date(resolved_on) if resolved_on is not None else None,
                  _date(resolved_by) if resolved_by is not None else None,
                  episode_start_unknown=n.get("episode") is not None and _bool(n.get("episode")))


def explanation_dict(triples: Iterable[tuple], pid: str | None = None,
                     ontology: Ontology | None = None) -> dict[str, Any]:
    """The patient's stored graphs as ``kg.explain(record).to_dict()`` (see :func:`explanation_from_triples`)."""
    return explanation_from_triples(triples, pid, ontology).to_dict()


def read_explanation(store, pid: str, *, limits=None) -> dict[str, Any]:
    """The patient ``pid`` of the store directory ``store`` as its explanation's ``to_dict()``.

    One guarded query (:func:`kg.store.sparql.query`, with ``limits``) reads the
    patient's two graphs. Raises :class:`~kg.errors.InputError` (field ``id``) when
    the store has no such patient.
    """
    from .sparql import query

    result = query(patient_sparql(pid), store=store, limits=limits)
    return explanation_dict([tuple(row) for row in result.rows], pid)
