"""Build inference chains from a trace.

A chain for a conclusion holds a step for the observation of every input fact
it rests on and a step for every justification of every fact on the way,
ordered so that each premise is established before it is used, and the
conclusion's own steps come last. Alternative justifications are all kept.

Example
-------
>>> from kg.rules.tracing import TracedFact, Justification
>>> trace = {"a": TracedFact("a", "a", None, True),
...          "b": TracedFact("b", "b", None, False, justifications=[Justification("r", ("a",), ())])}
>>> depths(trace)
{'a': 0, 'b': 1}
>>> [(s.fact, s.rule) for s in chain_steps(trace, "b")]
[('a', None), ('b', 'r')]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from ..rules.tracing import Justification, TracedFact

__all__ = ["RawStep", "depths", "chain_steps", "main_path", "sorted_justifications"]


@dataclass(frozen=True)
class RawStep:
    """A step before presentation: one observation or one justification."""

    fact: str
    rule: str | None
    premises: tuple[str, ...]
    justification: Justification | None
    depth: int


def sorted_justifications(fact: TracedFact) -> list[Justification]:
    """Justifications in a stable order (firing order is an engine detail)."""
    return sorted(fact.justifications, key=lambda j: (j.rule, j.premises))


def depths(trace: Mapping[str, TracedFact]) -> dict[str, int]:
    """Shortest derivation depth of every fact (0 for input), by fixpoint.

    Facts with no well-founded derivation would keep an infinite depth; the
    engine never produces one, and the property tests check that.
    """
    depth = {k: (0 if f.observed else math.inf) for k, f in trace.items()}
    changed = True
    while changed:
        changed = False
        for key, fact in trace.items():
            for j in fact.justifications:
                d = 1 + max((depth.get(p, math.inf) for p in j.premises), default=0)
                if d < depth[key]:
                    depth[key] = d
                    changed = True
    return {k: int(v) if v != math.inf else -1 for k, v in sorted(depth.items())}


def _ancestors(trace: Mapping[str, TracedFact], fact_id: str) -> list[str]:
    seen, todo = set(), [fact_id]
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        for j in trace[key].justifications:
            todo.extend(j.premises)
    return sorted(seen)


def chain_steps(trace: Mapping[str, TracedFact], fact_id: str,
                depth: Mapping[str, int] | None = None) -> list[RawStep]:
    """Every step behind ``fact_id``, premises before the steps that use them."""
    depth = depth if depth is not None else depths(trace)
    steps: list[RawStep] = []
    for key in _ancestors(trace, fact_id):
        fact = trace[key]
        if fact.observed:
            steps.append(RawStep(key, None, (), None, 0))
        for j in sorted_justifications(fact):
            d = 1 + max((depth[p] for p in j.premises), default=0)
            steps.append(RawStep(key, j.rule, j.premises, j, d))
    steps.sort(key=lambda s: (s.fact == fact_id, s.depth, s.fact, s.rule or "", s.premises))
    return steps


def main_path(trace: Mapping[str, TracedFact], fact_id: str) -> list[str]:
    """The longest acyclic line of facts from an input fact to ``fact_id``.

    At each fact it follows the premise with the longest derivation behind it;
    status facts ("not resolved") are premises but not part of the story line.

    >>> from kg.rules.tracing import TracedFact, Justification
    >>> t = {"i": TracedFact("i", "i", None, True),
    ...      "a": TracedFact("a", "a", None, False, justifications=[Justification("r", ("i",), ())]),
    ...      "b": TracedFact("b", "b", None, False, justifications=[
    ...          Justification("r", ("i",), ()), Justification("s", ("a",), ())])}
    >>> main_path(t, "b")
    ['i', 'a', 'b']
    """
    memo: dict[str, list[str]] = {}

    def longest(key: str, visiting: frozenset) -> list[str]:
        if key in memo:
            return memo[key]
        best: list[str] = [key]
        for j in sorted_justifications(trace[key]):
            for premise in j.premises:
                if premise in visiting or trace[premise].details.get("role") == "status":
                    continue
                candidate = longest(premise, visiting | {key}) + [key]
                if len(candidate) > len(best):
                    best = candidate
        memo[key] = best
        return best

    return longest(fact_id, frozenset())
