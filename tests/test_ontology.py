"""The ontology: passages verbatim, every claim cited, SHACL shapes, keys, rule ids."""

from __future__ import annotations

import re
from pathlib import Path
from importlib import resources

import pytest
import rdflib
from rdflib.namespace import RDF

import kg
from kg.knowledge.ontology import PK, PKS, ontology_graph
from kg.knowledge.passages import render_source_turtle, split_sentences
from kg.rules.engine import engine_rule_ids

from support import ROOT, SHARED_SOURCE

pyshacl = pytest.importorskip("pyshacl")

SOURCE_NAME = "muscle-spasm-knots-and-low-back-strain.txt"
#: Sentences encoded otherwise than by an edge or rule (README, "What the ontology does not encode").
NOT_CITED_BY_EDGE_OR_RULE = {"s20"}


def _shapes() -> rdflib.Graph:
    text = resources.files("kg.ontology").joinpath("shapes.ttl").read_text(encoding="utf-8")
    return rdflib.Graph().parse(data=text, format="turtle")


def _validate(graph):
    conforms, _, text = pyshacl.validate(graph, shacl_graph=_shapes(), inference="none")
    return conforms, text


def test_passages_are_the_source_sentences_verbatim(onto):
    assert len(onto.passages) == 26
    for p in onto.passages.values():
        assert onto.document[p.start:p.end] == p.text
    if (SHARED_SOURCE / SOURCE_NAME).exists():
        original = (SHARED_SOURCE / SOURCE_NAME).read_text(encoding="utf-8")
        assert onto.document == original
        shipped = resources.files("kg.ontology").joinpath("source.ttl").read_text(encoding="utf-8")
        assert shipped == render_source_turtle(original, SOURCE_NAME)


def test_sentence_splitting_covers_the_whole_document(onto):
    parts = split_sentences(onto.document)
    rebuilt = " ".join(p.text for p in parts)
    assert rebuilt == onto.document.strip()
    assert parts[6].text == 'The knots form because the spasm keeps the muscle continuously "on".'


def test_every_sentence_is_cited_by_an_edge_or_rule(onto):
    cited = set()
    for edge in onto.edges.values():
        cited.update(edge.passages)
    for rule in onto.rules.values():
        cited.update(onto.evidence(rule.id))
    assert set(onto.passages) - cited == NOT_CITED_BY_EDGE_OR_RULE
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for sid in NOT_CITED_BY_EDGE_OR_RULE:
        assert f"`{sid}`" in readme, f"README must say why {sid} is not encoded as an edge or rule"


def test_ontology_conforms_to_its_shapes():
    conforms, text = _validate(ontology_graph())
    assert conforms, text


@pytest.mark.parametrize("breakage", ["edge-without-evidence", "edge-without-subject",
                                      "class-without-notation", "citation-of-missing-passage",
                                      "rule-without-edge"])
def test_shapes_catch_broken_ontologies(breakage):
    g = ontology_graph()
    edge = rdflib.URIRef("https://w3id.org/painkg/edge/overload-forms-knots")
    if breakage == "edge-without-evidence":
        g.remove((edge, rdflib.URIRef("http://www.w3.org/ns/prov#wasDerivedFrom"), None))
    elif breakage == "edge-without-subject":
        g.remove((edge, PK.claimSubject, None))
    elif breakage == "class-without-notation":
        g.remove((PK.MuscleKnots, rdflib.URIRef("http://www.w3.org/2004/02/skos/core#notation"), None))
    elif breakage == "citation-of-missing-passage":
        g.add((edge, rdflib.URIRef("http://www.w3.org/ns/prov#wasDerivedFrom"), PKS.s99))
    elif breakage == "rule-without-edge":
        g.remove((rdflib.URIRef("https://w3id.org/painkg/rule/knots-from-overload"), PK.appliesEdge, None))
    conforms, _ = _validate(g)
    assert not conforms


def test_engine_rules_and_ontology_rules_are_the_same_set(onto):
    assert engine_rule_ids() == sorted(onto.rules)
    assert len(onto.rules) == 24


def test_every_rule_edge_and_concluded_concept_exists(onto):
    for rule in onto.rules.values():
        assert rule.edges and all(e in onto.edges for e in rule.edges)
        assert rule.concludes and all(c in onto.concepts for c in rule.concludes)


def test_concept_keys_used_in_rules_exist(onto):
    used = set()
    import kg.rules

    for path in Path(kg.rules.__file__).parent.glob("*.py"):
        used.update(re.findall(r'concept="(\w+)"', path.read_text(encoding="utf-8")))
    assert used and used <= set(onto.concepts)


def test_required_input_keys_and_aliases(onto):
    assert onto.keys("injury") == ["ligament_sprain", "muscle_overstretch", "muscle_strain", "muscle_tear"]
    assert onto.keys("site") == ["calf", "hip", "lower_back", "neck", "shoulder", "thigh", "upper_back"]
    assert onto.keys("mechanism") == ["fall", "heavy_lifting", "lifting_while_twisting", "sudden_movement"]
    assert set(onto.keys("finding")) >= {"muscle_spasm", "muscle_knots", "localized_pain", "radiating_pain_to_leg",
                                         "tender_to_touch", "better_at_rest", "difficulty_moving"}
    aliases = {"strain": "muscle_strain", "pulled_muscle": "muscle_strain", "tear": "muscle_tear",
               "overstretch": "muscle_overstretch", "sprain": "ligament_sprain"}
    for alias, key in aliases.items():
        assert onto.resolve(alias, "injury") == key


def test_keys_and_aliases_are_unique(onto):
    seen = {}
    for concept in onto.concepts.values():
        for key in (concept.key, *concept.alt_keys):
            assert key not in seen, f"{key} names both {seen[key]} and {concept.key}"
            seen[key] = concept.key


def test_unknown_key_suggests_the_closest(onto):
    with pytest.raises(kg.InputError) as info:
        onto.resolve("lower_bak", "site", field="injuries[0].site")
    assert info.value.field == "injuries[0].site"
    assert 'did you mean "lower_back"?' in str(info.value)


def test_threshold_condition_is_an_owl_time_duration(onto):
    edge = onto.edges["continuous-contraction-causes-overload"]
    assert edge.condition.threshold_days == 14 and edge.condition.requires_unresolved
    g = ontology_graph()
    time = rdflib.Namespace("http://www.w3.org/2006/time#")
    condition = rdflib.URIRef("https://w3id.org/painkg/condition/injury-unresolved-about-two-weeks")
    duration = g.value(condition, PK.minimumDuration)
    assert (duration, RDF.type, time.Duration) in g
    assert g.value(duration, time.numericDuration).toPython() == 14
    assert g.value(duration, time.unitType) == time.unitDay


def test_cross_references_use_standard_vocabularies(onto):
    xrefs = {iri for c in onto.concepts.values() for _, iri in c.xrefs}
    assert "http://purl.obolibrary.org/obo/HP_0003394" in xrefs  # muscle spasm
    assert "http://purl.obolibrary.org/obo/UBERON_0005462" in xrefs  # lower back
    assert "http://purl.bioontology.org/ontology/ICD10CM/M62.830" in xrefs


def test_ontology_shapes_also_accept_patient_output(reasoner):
    """Facts derived from facts (PROV-O) are not mistaken for missing passages."""
    from support import EXAMPLES

    data = rdflib.Dataset()
    data.parse(data=reasoner.explain(EXAMPLES / "lower-back-strain-day20.json").to_rdf("trig"), format="trig")
    union = rdflib.Graph()
    for triple in data.triples((None, None, None, None)):
        union.add(triple[:3])
    conforms, text = _validate(union)
    assert conforms, text
