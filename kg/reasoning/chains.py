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

import functools
import math
from dataclasses import dataclass
from typing import Mapping

from ..rules.tracing import Justification, TracedFact

__all__ = ["RawStep", "ChainIndex", "depths", "chain_steps", "main_path", "sorted_justifications"]


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
    inf = math.inf
    depth = {k: (0 if f.observed else inf) for k, f in trace.items()}
    # Plain loops over each fact's premise tuples, no generator per justification: the
    # shortest depths are the one fixpoint of this update whatever order it runs in.
    derived = [(key, [j.premises for j in fact.justifications]) for key, fact in trace.items() if fact.justifications]
    changed = True
    while changed:
        changed = False
        for key, alternatives in derived:
            best = depth[key]
            for premises in alternatives:
                d = 0
                for p in premises:
                    known = depth.get(p, inf)
                    if known > d:
                        d = known
                if d + 1 < best:
                    best = d + 1
            if best < depth[key]:
                depth[key] = best
                changed = True
    return {k: int(v) if v != inf else -1 for k, v in sorted(depth.items())}


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


class ChainIndex:
    """Every chain of one trace, from its steps sorted once.

    :func:`chain_steps` searches the ancestors of a conclusion and sorts their steps; an
    explanation asks for a chain of each key conclusion, and their steps overlap. The index
    makes each step once, sorts them all once by the key :func:`chain_steps` uses after its
    first part (whether the step concludes the chain's own fact), and gives a chain as the
    steps of its ancestors in that order, its own fact's last: the same list, since a sort
    is stable and the steps enter it in the same order (facts by id, then each fact's
    observation and its justifications in :func:`sorted_justifications` order).
    :meth:`main_path` is :func:`main_path` over the same sorted justifications.

    >>> from kg.rules.tracing import TracedFact, Justification
    >>> trace = {"a": TracedFact("a", "a", None, True),
    ...          "b": TracedFact("b", "b", None, False, justifications=[Justification("r", ("a",), ())])}
    >>> index = ChainIndex(trace, depths(trace))
    >>> index.chain_steps("b") == chain_steps(trace, "b"), index.main_path("b")
    (True, ['a', 'b'])
    """

    def __init__(self, trace: Mapping[str, TracedFact], depth: Mapping[str, int]):
        self.trace = trace
        #: fact id -> the indices of its justifications in the trace, in :func:`sorted_justifications` order
        #: (a stable sort of the indices by the same key gives the same order).
        self.order: dict[str, list[int]] = {}
        #: fact id -> its justifications in :func:`sorted_justifications` order.
        self.justifications: dict[str, list[Justification]] = {}
        for key, fact in trace.items():
            js = fact.justifications
            order = (sorted(range(len(js)), key=lambda n: (js[n].rule, js[n].premises)) if len(js) > 1
                     else list(range(len(js))))
            self.order[key] = order
            self.justifications[key] = [js[n] for n in order]
        self._status = {k for k, f in trace.items() if f.details.get("role") == "status"}
        # One row per step: (depth, fact, rule or "", premises) is chain_steps' sort key after its
        # first part, and the running number after it keeps the sort stable; rows compare as
        # tuples in C, no key function and no RawStep made per step.
        rows: list[tuple] = []
        for key in sorted(trace):
            if trace[key].observed:
                rows.append((0, key, "", (), len(rows), None, None, None))
            js = trace[key].justifications
            for n in self.order[key]:
                j = js[n]
                d = 1 + max([depth[p] for p in j.premises]) if j.premises else 1
                rows.append((d, key, j.rule or "", j.premises, len(rows), j.rule, j, n))
        rows.sort()
        self._rows = rows
        #: The fact of each step, in chain order.
        self.facts = [row[1] for row in rows]
        #: The index in the trace of each step's justification (None for an observation), in chain order.
        self.numbers = [row[7] for row in rows]
        self._acyclic: bool | None = None
        self._lines: dict[str, list[str]] = {}

    def _follows_no_cycle(self) -> bool:
        # Depth-first colouring over the premises main_path follows (status facts left out).
        justifications, status = self.justifications, self._status
        state: dict[str, int] = {}  # 1 on the stack, 2 done
        for start in justifications:
            if start in state:
                continue
            state[start] = 1
            stack = [(start, iter([p for j in justifications[start] for p in j.premises if p not in status]))]
            while stack:
                key, premises = stack[-1]
                for premise in premises:
                    seen = state.get(premise)
                    if seen == 1:
                        return False
                    if seen is None:
                        state[premise] = 1
                        stack.append((premise, iter([p for j in justifications[premise] for p in j.premises
                                                     if p not in status])))
                        break
                else:
                    state[key] = 2
                    stack.pop()
        return True

    @functools.cached_property
    def steps(self) -> list[RawStep]:
        """Every step of the trace, in chain order."""
        return [RawStep(row[1], row[5], row[3], row[6], row[0]) for row in self._rows]

    def step(self, position: int) -> tuple[str, str | None, tuple[str, ...], Justification | None]:
        """``(fact, rule, premises, justification)`` of the step at ``position`` in chain order."""
        row = self._rows[position]
        return row[1], row[5], row[3], row[6]

    def ancestors(self, fact_id: str) -> set[str]:
        """``fact_id`` and every fact it rests on."""
        seen, todo, justifications = set(), [fact_id], self.justifications
        while todo:
            key = todo.pop()
            if key in seen:
                continue
            seen.add(key)
            for j in justifications[key]:
                todo.extend(j.premises)
        return seen

    def chain_positions(self, fact_id: str) -> list[int]:
        """Where the steps of :func:`chain_steps` of ``fact_id`` stand in :attr:`steps`."""
        ancestors = self.ancestors(fact_id)
        ancestors.discard(fact_id)
        facts = self.facts
        return ([n for n, fact in enumerate(facts) if fact in ancestors]
                + [n for n, fact in enumerate(facts) if fact == fact_id])

    def chain_steps(self, fact_id: str) -> list[RawStep]:
        """:func:`chain_steps` of ``fact_id``."""
        return [self.steps[n] for n in self.chain_positions(fact_id)]

    def main_path(self, fact_id: str) -> list[str]:
        """:func:`main_path` of ``fact_id``.

        Where no fact rests on itself (no cycle through the premises the path follows), a
        fact's longest line does not depend on where the search came from, so the lines
        found for one conclusion serve the next; otherwise each search keeps its own.
        """
        if self._acyclic is None:
            self._acyclic = self._follows_no_cycle()
        memo: dict[str, list[str]] = self._lines if self._acyclic else {}
        justifications, status = self.justifications, self._status

        def longest(key: str, visiting: frozenset) -> list[str]:
            if key in memo:
                return memo[key]
            best: list[str] = [key]
            for j in justifications[key]:
                for premise in j.premises:
                    if premise in visiting or premise in status:
                        continue
                    candidate = longest(premise, visiting | {key}) + [key]
                    if len(candidate) > len(best):
                        best = candidate
            memo[key] = best
            return best

        return longest(fact_id, frozenset())
