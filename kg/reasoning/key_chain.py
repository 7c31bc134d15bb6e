"""The key chain of a conclusion: the firmest, then shortest, causal path from the patient's input to it.

Every face opens with the answer and the one path that carries it. Of all the
ways the engine reached a conclusion, the key chain

* goes only through steps at least as firm as the conclusion itself (a chain
  is no firmer than its weakest link, so a path through a ``possible`` step
  never carries an ``expected`` conclusion),
* follows causes, not conditions: from a premise that is the cause in the
  causal edge the rule applies (:meth:`kg.knowledge.ontology.Ontology.is_causal_premise`),
  so "basic injury not fixed" is a condition of a step, not a link of the story,
* and among those paths takes the shortest (ties broken by the sorted order of
  rules and premises, so the same explanation gives the same chain).

It reads the explanation's JSON form (:meth:`kg.Explanation.to_dict`), so the
fresh, memoised and stored explanations give the same chain.

>>> import kg
>>> e = kg.explain("examples/lower-back-strain-day20.json")
>>> facts = facts_by_id(e.to_dict()["facts"])
>>> key_path(facts, "persistent_pain@lower_back", e.ontology)
['muscle_strain@lower_back', 'muscle_spasm@lower_back', 'continuous_contraction@lower_back', 'muscle_overload@lower_back', 'muscle_knots@lower_back', 'persistent_pain@lower_back']
>>> [s.rule for s in key_steps(facts, "persistent_pain@lower_back", e.ontology)][:2]
[None, 'spasm-protective']
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Iterable, Mapping

from ..knowledge.ontology import Ontology
from .certainty import LEVELS

__all__ = ["KeyStep", "facts_by_id", "key_path", "key_steps", "carrying_step", "carrying_passage"]

_RANK = {level: n for n, level in enumerate(reversed(LEVELS))}  # possible 0 < expected 1 < reported 2


@dataclass(frozen=True)
class KeyStep:
    """One link of a key chain: the fact, and the rule firing that reached it from the previous link."""

    fact: str
    concept: str
    site: str | None
    certainty: str
    #: The rule of the firing from the previous link (None for the chain's input fact).
    rule: str | None = None
    #: That firing's certainty (None for the input fact).
    step_certainty: str | None = None
    #: The firing's other premises (conditions such as "basic injury not fixed").
    conditions: tuple[str, ...] = ()


def facts_by_id(facts: Iterable[Mapping]) -> dict[str, Mapping]:
    """The explanation JSON's ``facts`` list keyed by fact id."""
    return {f["id"]: f for f in facts}


def _firm_enough(level: str, needed: str) -> bool:
    return _RANK[level] >= _RANK[needed]


def _causes(facts: Mapping[str, Mapping], fact: Mapping, justification: Mapping, onto: Ontology) -> list[str]:
    # The premises that are causes of the conclusion in the edge the rule applies;
    # where none is (a rule without an edge), every premise counts.
    premises = sorted(justification["premises"])
    causal = [p for p in premises
              if onto.is_causal_premise(justification["rule"], fact["concept"], fact["site"], facts[p]["concept"])]
    return causal or premises


def _links(facts: Mapping[str, Mapping], fact_id: str, onto: Ontology, needed: str):
    """(premise, justification) pairs by which ``fact_id`` may be reached at ``needed`` firmness or better."""
    fact = facts[fact_id]
    for j in sorted(fact["justifications"], key=lambda j: (j["rule"], j["premises"])):
        if j["certainty"] is not None and _firm_enough(j["certainty"], needed):
            for premise in _causes(facts, fact, j, onto):
                yield premise, j


def key_path(facts: Mapping[str, Mapping], target: str, onto: Ontology) -> list[str]:
    """The fact ids of ``target``'s key chain, input first (see the module docstring)."""
    return [s.fact for s in key_steps(facts, target, onto)]


def key_steps(facts: Mapping[str, Mapping], target: str, onto: Ontology) -> list[KeyStep]:
    """The key chain of ``target`` as :class:`KeyStep` links, input first.

    A breadth-first search backwards from the conclusion over firings at
    least as firm as it finds the nearest input fact; an observed fact ends
    the chain, unless the rules explain it too: then the chain goes on to its cause.
    """
    needed = facts[target]["certainty"]
    via: dict[str, tuple[str, Mapping] | None] = {target: None}
    queue = deque([target])
    root = first_observed = None
    while queue:
        key = queue.popleft()
        links = list(_links(facts, key, onto, needed))
        if facts[key]["status"] == "observed":
            first_observed = first_observed or key
            if not links:  # input that nothing explains: where the story starts
                root = key
                break
        for premise, j in links:
            if premise not in via:
                via[premise] = (key, j)
                queue.append(premise)
    # A recorded fact that the rules also explain (a reported spasm after a strain) is
    # passed through to its cause; if the search ends without a pure input, the first
    # recorded fact met starts the chain.
    root = root or first_observed or target
    steps = [_step(facts, root)]
    key = root
    while via[key] is not None:
        nxt, j = via[key]
        others = tuple(p for p in sorted(j["premises"]) if p != key)
        steps.append(_step(facts, nxt, j["rule"], j["certainty"], others))
        key = nxt
    return steps


def _step(facts, fact_id, rule=None, level=None, conditions=()) -> KeyStep:
    f = facts[fact_id]
    return KeyStep(fact_id, f["concept"], f["site"], f["certainty"], rule, level, conditions)


def carrying_step(steps: list[KeyStep], onto: Ontology) -> KeyStep | None:
    """The link whose source sentence carries the chain: its weakest rule, preferring a timed condition.

    The chain is as firm as its weakest rule; among the rules at that level the
    one whose edge has a condition (the two weeks of s03-s04) is the one a
    clinician needs to read. None for a chain of input alone.
    """
    derived = [s for s in steps if s.rule is not None]
    if not derived:
        return None
    weakest = min(_RANK[onto.rules[s.rule].level] for s in derived)
    candidates = [s for s in derived if _RANK[onto.rules[s.rule].level] == weakest]
    timed = [s for s in candidates if any(onto.edges[e].condition is not None for e in onto.rules[s.rule].edges)]
    return (timed or candidates)[-1]


def carrying_passage(step: KeyStep, onto: Ontology) -> str | None:
    """The passage quoted for a carrying step: its condition's first, else its edge's, at its site."""
    rule = onto.rules[step.rule]
    candidates: list[str] = []
    for edge_id in rule.edges:
        edge = onto.edges[edge_id]
        if edge.condition is not None:
            candidates += list(edge.condition.passages)
    for edge_id in rule.edges:
        candidates += list(onto.edges[edge_id].passages)
    candidates += list(rule.passages)
    return next((p for p in candidates if onto.speaks_of(p, step.site)), None)
