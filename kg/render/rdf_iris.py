"""The IRIs of painkg's RDF: patients, their facts, rule firings and named graphs.

>>> input_graph_iri("p1")
rdflib.term.URIRef('https://w3id.org/painkg/patient/p1/graph/input')
"""

from __future__ import annotations

import hashlib
from typing import Iterable
from urllib.parse import quote

from rdflib import URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, XSD

from ..knowledge.ontology import PK, PKC, PKE, PKR, PKS, PROV, TIME

__all__ = ["PATIENT_BASE", "ONTOLOGY_GRAPH", "PLANS_GRAPH", "PLAN_BASE", "FACT_TEMPLATE_BASE", "ENGINE", "PREFIXES",
           "patient_iri", "fact_iri", "firing_iri", "input_graph_iri", "derivations_graph_iri", "quote_segment",
           "plan_iri", "fact_template_iri", "DERIVATION_BASE", "CONCLUSION_BASE", "KEY_CHAIN_BASE", "derivation_iri",
           "conclusion_iri", "key_chain_iri"]

PATIENT_BASE = "https://w3id.org/painkg/patient/"
#: Named graph holding the ontology.
ONTOLOGY_GRAPH = URIRef("https://w3id.org/painkg/graph/ontology")
#: Named graph of the cohort store's shared derivation: firing plans and fact templates (docs/sparql.md).
PLANS_GRAPH = URIRef("https://w3id.org/painkg/graph/plans")
#: Firing plans: one rule applied to premises, at one certainty, shared by every patient it fired for.
PLAN_BASE = "https://w3id.org/painkg/plan/"
#: Fact templates: what a fact id means (concept, site), shared by every patient who has the fact.
FACT_TEMPLATE_BASE = "https://w3id.org/painkg/fact/"
#: Derivations: the set of firing plans one patient's reasoning applied, shared by every patient with that set.
DERIVATION_BASE = "https://w3id.org/painkg/derivation/"
#: Conclusions: a fact template at a certainty, with the plans that justify it, shared by the patients who conclude it.
CONCLUSION_BASE = "https://w3id.org/painkg/conclusion/"
#: Key chains: the rules of a persistent-pain conclusion's key chain, in order, at its certainty.
KEY_CHAIN_BASE = "https://w3id.org/painkg/keychain/"
#: The software agent every rule firing is associated with.
ENGINE = URIRef("https://w3id.org/painkg/agent/engine")

#: Prefixes used when writing Turtle, TriG and JSON-LD (and pre-bound by ``painkg query``).
PREFIXES = {
    "pk": str(PK), "pke": str(PKE), "pkc": str(PKC), "pkr": str(PKR), "pks": str(PKS),
    "pkp": PATIENT_BASE,
    "prov": str(PROV), "obo": "http://purl.obolibrary.org/obo/",
    "oa": "http://www.w3.org/ns/oa#", "time": str(TIME),
    "skos": "http://www.w3.org/2004/02/skos/core#", "dcterms": str(DCTERMS),
    "rdf": str(RDF), "rdfs": str(RDFS), "owl": "http://www.w3.org/2002/07/owl#", "xsd": str(XSD),
    "icd": "http://purl.bioontology.org/ontology/ICD10CM/",
}


def quote_segment(text: str) -> str:
    # '@' and ':' are legal in an IRI path segment; '/' must not split the id.
    return quote(text, safe="@:")


def patient_iri(patient_id: str) -> URIRef:
    """The IRI of a patient.

    >>> patient_iri("anna k")
    rdflib.term.URIRef('https://w3id.org/painkg/patient/anna%20k')
    """
    return URIRef(PATIENT_BASE + quote_segment(patient_id))


def fact_iri(patient_id: str, fact_id: str) -> URIRef:
    """The IRI of a fact of a patient (``/`` in the fact id is percent-encoded).

    >>> fact_iri("p1", "injury_unresolved@neck/muscle_strain").rsplit("/", 1)[-1]
    'injury_unresolved@neck%2Fmuscle_strain'
    """
    return URIRef(f"{patient_iri(patient_id)}/fact/{quote_segment(fact_id)}")


def firing_iri(patient_id: str, fact_id: str, rule: str, premises: Iterable[str]) -> URIRef:
    """The IRI of one firing: fact, rule, and a short stable hash of the premises.

    >>> firing_iri("p1", "muscle_knots@neck", "knots-from-overload", ["muscle_overload@neck"]).split("/patient/")[1]
    'p1/firing/muscle_knots@neck/knots-from-overload/871f22f8'
    """
    digest = hashlib.sha256("\n".join(sorted(premises)).encode("utf-8")).hexdigest()[:8]
    return URIRef(f"{patient_iri(patient_id)}/firing/{quote_segment(fact_id)}/{quote_segment(rule)}/{digest}")


def input_graph_iri(patient_id: str) -> URIRef:
    """The named graph of a patient's input (observed) facts."""
    return URIRef(f"{patient_iri(patient_id)}/graph/input")


def derivations_graph_iri(patient_id: str) -> URIRef:
    """The named graph of a patient's derivations (firings and derived facts)."""
    return URIRef(f"{patient_iri(patient_id)}/graph/derivations")


def fact_template_iri(fact_id: str) -> URIRef:
    """The IRI of a fact template: the fact id, patient-free (the cohort store's shared graph).

    >>> fact_template_iri("muscle_knots@neck")
    rdflib.term.URIRef('https://w3id.org/painkg/fact/muscle_knots@neck')
    """
    return URIRef(FACT_TEMPLATE_BASE + quote_segment(fact_id))


def plan_iri(fact_id: str, rule: str, premises: Iterable[str], level: str) -> URIRef:
    """The IRI of a firing plan: fact, rule, and a short stable hash of the premises and the certainty.

    Content-addressed, so every worker of every run names the same plan alike (a plan is what
    memoised reasoning reuses: the same rule on the same premises at the same level).

    >>> plan_iri("muscle_knots@neck", "knots-from-overload", ["muscle_overload@neck"], "expected").split("/plan/")[1]
    'muscle_knots@neck/knots-from-overload/904b8b8f'
    """
    text = "\n".join(sorted(premises)) + "\n#" + level
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return URIRef(f"{PLAN_BASE}{quote_segment(fact_id)}/{quote_segment(rule)}/{digest}")


def _digest(lines: Iterable[str], length: int) -> str:
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:length]


def derivation_iri(plans: Iterable[str]) -> URIRef:
    """The IRI of a derivation: a hash of its firing plans' IRIs, in sorted order.

    Content-addressed (64 bits: a million distinct derivations collide with odds of about 3e-8).

    >>> derivation_iri(["https://w3id.org/painkg/plan/b", "https://w3id.org/painkg/plan/a"]).split("/derivation/")[1]
    '1f12f8ccfd696db7'
    """
    return URIRef(DERIVATION_BASE + _digest(sorted(str(p) for p in plans), 16))


def conclusion_iri(fact_id: str, level: str, parts: Iterable[str]) -> URIRef:
    """The IRI of a conclusion: the fact id, its certainty, and a short hash of ``parts`` (the IRIs of the
    plans that justify it, and which of their premises were reported: what else it is made of).

    >>> conclusion_iri("persistent_pain@neck", "expected", []).split("/conclusion/")[1]
    'persistent_pain@neck/expected/e3b0c442'
    """
    return URIRef(f"{CONCLUSION_BASE}{quote_segment(fact_id)}/{level}/{_digest(sorted(str(p) for p in parts), 8)}")


def key_chain_iri(rules: Iterable[str], level: str) -> URIRef:
    """The IRI of a key chain: its certainty and a short hash of its rules, in chain order.

    >>> key_chain_iri(["spasm-protective", "knots-from-overload"], "expected").split("/keychain/")[1]
    'expected/c5c88ba5'
    """
    return URIRef(f"{KEY_CHAIN_BASE}{level}/{_digest(rules, 8)}")
