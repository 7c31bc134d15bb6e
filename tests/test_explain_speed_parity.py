"""The fast paths of fresh explaining give what the plain definitions give.

Explaining builds its chains from one sorted index per trace (kg.reasoning.chains.ChainIndex),
its certainties as ranks (certainty_ranks), the loops from the causal model searched once per
ontology (causal_model), and the tracer files a fact's details without experta's as_dict. Each
is checked here against the plain function it stands for, on synthetic patients and on traces
made by hand (a cycle, a fact with several justifications, a premise with no derivation).
"""

from __future__ import annotations

import random

import pytest

import kg
from kg.cohort.synthetic import synthetic_patient
from kg.reasoning.causal_graph import causal_digraph, causal_model, derivations, feedback_pairs, sorted_cycles
from kg.reasoning.certainty import LEVEL_OF_RANK, certainty_ranks, fact_certainties
from kg.reasoning.chains import ChainIndex, chain_steps, depths, main_path
from kg.inputs.patient import parse_patient
from kg.rules.engine import _input_fact, injury_fields, observed_facts
from kg.rules.facts import C
from kg.rules.tracing import Justification, TracedFact, _details

PATIENTS = 300


@pytest.fixture(scope="module")
def explanations():
    rng = random.Random(41)
    reasoner = kg.Reasoner()
    out = []
    for i in range(PATIENTS):
        patient = synthetic_patient(rng, f"parity-{i}")
        out.append(reasoner.explain(patient, threshold_days=rng.choice((14, 14, 5, 30))))
    return out


def test_the_cohort_covers_loops_paths_and_alternatives(explanations):
    # The checks below are only worth what the patients exercise.
    assert sum(bool(e.to_dict()["loops"]) for e in explanations) > 30
    assert sum(bool(e.to_dict()["causal_paths"]) for e in explanations) > 30
    assert sum(any(len(f.justifications) > 1 for f in e.facts) for e in explanations) > 30


def test_chain_index_gives_chain_steps_and_main_path(explanations):
    for e in explanations:
        index = ChainIndex(e.trace, depths(e.trace))
        for key in e.trace:
            assert index.chain_steps(key) == chain_steps(e.trace, key)
            assert index.main_path(key) == main_path(e.trace, key)


def test_chains_of_the_explanation_are_the_plain_chains(explanations):
    for e in explanations:
        for chain in e.chains:
            raw = chain_steps(e.trace, chain.fact)
            assert [(s.fact, s.rule, s.premises) for s in chain.steps] == [(r.fact, r.rule, r.premises) for r in raw]
            assert list(chain.path) == main_path(e.trace, chain.fact)


def test_certainty_ranks_are_fact_certainties(explanations):
    for e in explanations:
        levels, step_levels = fact_certainties(e.trace, e.ontology)
        facts, steps = certainty_ranks(e.trace, e.ontology)
        assert {k: LEVEL_OF_RANK[r] for k, r in facts.items()} == levels
        assert {(k, e.trace[k].justifications[n]): LEVEL_OF_RANK[r] for (k, n), r in steps.items()} == step_levels
        for fact in e.facts:
            assert fact.certainty == levels[fact.id]
            assert fact.justification_certainty == tuple(step_levels[fact.id, j] for j in fact.justifications)


def test_causal_model_is_searched_once_and_gives_the_sorted_cycles():
    onto = kg.load_ontology()
    model = causal_model(onto)
    assert causal_model(onto) is model
    assert list(model.cycles) == sorted_cycles(causal_digraph(onto), feedback_pairs(onto))
    assert model.cycles[0] == ('muscle_spasm', 'continuous_contraction', 'muscle_overload', 'muscle_knots')


def test_derivations_within_are_the_edges_into_those_facts(explanations):
    for e in explanations[:100]:
        every = derivations(e, causal_only=True)
        some = {f.id for f in e.facts[::2]}
        assert derivations(e, causal_only=True, within=some) == {k: v for k, v in every.items() if k[1] in some}


def _fact(key, observed, *justifications):
    return TracedFact(key, key, None, observed, justifications=[Justification(r, p, ()) for r, p in justifications])


def test_main_path_through_a_cycle_keeps_a_memo_per_search():
    # b and c rest on each other: the longest line depends on where the search starts.
    trace = {"a": _fact("a", True), "b": _fact("b", False, ("r", ("a",)), ("s", ("c",))),
             "c": _fact("c", False, ("t", ("b",))), "d": _fact("d", False, ("u", ("b", "c")))}
    index = ChainIndex(trace, depths(trace))
    for key in ("d", "c", "b", "a", "d"):
        assert index.main_path(key) == main_path(trace, key)
        assert index.chain_steps(key) == chain_steps(trace, key)
    assert index._acyclic is False


def test_ties_and_several_justifications_keep_the_plain_order():
    trace = {"x": _fact("x", True), "y": _fact("y", True),
             "z": _fact("z", True, ("r2", ("y",)), ("r1", ("y",)), ("r1", ("x",))),
             "w": _fact("w", False, ("q", ("z",)), ("q", ("x", "y")))}
    index = ChainIndex(trace, depths(trace))
    for key in trace:
        assert index.chain_steps(key) == chain_steps(trace, key)
        assert index.main_path(key) == main_path(trace, key)


def test_details_are_as_dict_without_concept_and_site():
    fact = C(role="injury", concept="muscle_strain", site="neck", days=3, resolved=False, mechanism="",
             resolved_on="2026-01-01", extra=[1, {"a": 2}])
    fact.__factid__ = 7
    expected = {k: v for k, v in fact.as_dict().items() if k not in ("concept", "site")}
    assert _details(fact) == expected
    assert type(_details(fact)["extra"]) is list  # unfrozen, as as_dict gives it


def test_input_facts_are_the_facts_experta_makes():
    rng = random.Random(5)
    for i in range(200):
        patient = parse_patient(synthetic_patient(rng, f"f-{i}"))
        for fact in observed_facts(patient):
            plain = C(**dict(fact))
            assert type(fact) is C and fact == plain and list(fact.items()) == list(plain.items())
            assert fact.as_dict() == plain.as_dict() and fact.__factid__ is None
        for inj in patient.injuries:
            assert _input_fact(**injury_fields(inj)) == C(**injury_fields(inj))
    odd = _input_fact(concept="x", site=None, values=[1, 2])  # not a plain value: experta freezes it
    assert odd == C(concept="x", site=None, values=[1, 2]) and type(dict.__getitem__(odd, "values")) is not list
