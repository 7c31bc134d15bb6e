"""The causal model and a patient's derivations as plain dicts, and the searches over them.

The causal model has a dozen edges and a derivation a few dozen: a dict of
``(from, to)`` pairs and a small depth-first search are all :mod:`kg.reasoning.loops`
needs, so explaining a patient imports no graph library (networkx stays for
:func:`kg.reasoning.loops.derivation_graph`'s public callers).

>>> succ = successors({("a", "b"): 1, ("b", "c"): 1, ("a", "c"): 1})
>>> sorted(simple_paths(succ, "a", "c"))
[['a', 'b', 'c'], ['a', 'c']]
>>> _simple_cycles({("a", "b"): 1, ("b", "a"): 1, ("b", "b"): 1})
[['a', 'b'], ['b']]
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import NamedTuple

from ..knowledge.ontology import OBO, Ontology

__all__ = ["CAUSAL_PREDICATES", "CausalModel", "causal_model", "ancestor_table", "causal_digraph", "sorted_cycles",
           "feedback_pairs", "derivations", "successors", "simple_paths"]

#: Predicates that make a causal-model edge a cause (and so able to close a loop).
CAUSAL_PREDICATES = frozenset(str(OBO[p]) for p in ("RO_0002411", "RO_0003302", "RO_0003304"))


def successors(graph) -> dict[str, list[str]]:
    """Each node's successors, in the order of the ``(from, to)`` keys of ``graph``."""
    succ: dict[str, list[str]] = {}
    for a, b in graph:
        succ.setdefault(a, []).append(b)
    return succ


def simple_paths(succ: dict[str, list[str]], source: str, target: str) -> Iterator[list[str]]:
    """Every path from ``source`` to ``target`` that visits no node twice (as networkx's all_simple_paths)."""

    def walk(node: str, path: list[str]):
        for nxt in succ.get(node, ()):
            if nxt == target:
                yield path + [nxt]
            elif nxt not in path:
                yield from walk(nxt, path + [nxt])

    yield from walk(source, [source])


def causal_digraph(onto: Ontology) -> dict[tuple[str, str], list[str]]:
    """The causal model as ``(subject, object) -> causal edge ids`` (a dozen edges: no graph library needed)."""
    graph: dict[tuple[str, str], list[str]] = {}
    for edge in onto.edges.values():
        if edge.predicate in CAUSAL_PREDICATES:
            graph.setdefault((edge.subject, edge.object), []).append(edge.id)
    return graph


def _simple_cycles(graph) -> list[list[str]]:
    # Every elementary cycle, found once from its smallest node (as networkx's simple_cycles
    # finds them; their order does not matter, sorted_cycles sorts them).
    succ: dict[str, list[str]] = {}
    for a, b in graph:
        succ.setdefault(a, []).append(b)
    found: list[list[str]] = []

    def walk(start: str, node: str, path: list[str]) -> None:
        for nxt in succ.get(node, ()):
            if nxt == start:
                found.append(list(path))
            elif nxt > start and nxt not in path:
                walk(start, nxt, path + [nxt])

    for start in sorted(succ):
        walk(start, start, [start])
    return found


def feedback_pairs(onto: Ontology) -> set[tuple[str, str]]:
    return {(e.subject, e.object) for e in onto.edges.values() if e.feedback}


def _rotate(cycle: list[str], feedback: set[tuple[str, str]]) -> tuple[str, ...]:
    # Start where a feedback edge re-enters the cycle, so the loop reads as the
    # source tells it (spasm first, knots last, then back to spasm).
    n = len(cycle)
    starts = sorted(i for i in range(n) if (cycle[i - 1], cycle[i]) in feedback)
    if starts:
        start = min(starts, key=lambda i: cycle[i])
    else:
        start = cycle.index(min(cycle))
    return tuple(cycle[start:] + cycle[:start])


def sorted_cycles(graph, feedback: set[tuple[str, str]], within=None) -> list[tuple[str, ...]]:
    # The cycles of the subgraph on ``within`` are the cycles with every concept in it.
    cycles = {_rotate(c, feedback) for c in _simple_cycles(graph) if within is None or all(n in within for n in c)}
    return sorted(cycles, key=lambda c: (-len(c), c))


class CausalModel(NamedTuple):
    """What the loop searches read of an ontology: its causal edges, feedback pairs and cycles."""

    graph: dict[tuple[str, str], list[str]]
    feedback: frozenset[tuple[str, str]]
    #: Every cycle of ``graph``, rotated and ordered as :func:`sorted_cycles` gives them.
    cycles: tuple[tuple[str, ...], ...]


@functools.lru_cache(maxsize=16)
def causal_model(onto: Ontology) -> CausalModel:
    """The causal model of ``onto``, searched once: it depends on the ontology alone.

    An ontology is immutable and hashed by identity, and every explanation asks for its
    cycles (one search of the model per patient was a third of the loops' cost), so the
    answer is kept per ontology; the cycles of a patient's site are the ones whose concepts
    are all present there, in this order (:func:`sorted_cycles` with ``within``).

    >>> from kg.knowledge.ontology import load_ontology
    >>> model = causal_model(load_ontology())
    >>> model.cycles == tuple(sorted_cycles(model.graph, set(model.feedback)))
    True
    """
    graph = causal_digraph(onto)
    feedback = frozenset(feedback_pairs(onto))
    return CausalModel(graph, feedback, tuple(sorted_cycles(graph, feedback)))


@functools.lru_cache(maxsize=16)
def ancestor_table(onto: Ontology) -> dict[str, tuple[str, ...]]:
    """Each concept of ``onto`` with its ancestors (:meth:`~kg.knowledge.ontology.Ontology.ancestors`), made once.

    >>> from kg.knowledge.ontology import load_ontology
    >>> ancestor_table(load_ontology())["lower_back"]
    ('lower_back', 'back', 'body_site')
    """
    return {key: tuple(onto.ancestors(key)) for key in onto.concepts}


def derivations(e, causal_only: bool = False, within=None) -> dict[tuple[str, str], tuple[str, ...]]:
    """:func:`kg.reasoning.loops.derivation_graph`'s edges as ``(premise, conclusion) -> rules``, in the same order.

    With ``within`` (a set of fact ids), only the edges into those facts.
    """
    onto, found, by_id = e.ontology, {}, e._by_id
    for fact in e.facts:
        if within is not None and fact.id not in within:
            continue
        for j in fact.justifications:
            for premise in j.premises:
                if causal_only and not onto.is_causal_premise(j.rule, fact.concept, fact.site,
                                                              by_id[premise].concept):
                    continue
                known = found.get((premise, fact.id))
                found[premise, fact.id] = (j.rule,) if known is None else tuple(sorted({*known, j.rule}))
    return found
