"""Feedback loops and causal paths of an explanation, found with networkx.

The source describes a self-sustaining cycle: a spasm keeps the muscle on,
the overloaded muscle forms knots, and "these knots are painful, and become
part of the problem" (s05). In the ontology that is the feedback edge
``knots-sustain-spasm``, which closes the causal cycle
``muscle_spasm -> continuous_contraction -> muscle_overload -> muscle_knots ->
muscle_spasm``. No engine rule applies it, so a loop is not a fact the engine
concludes; it is read off the patient's facts here:

* :func:`causal_cycles` lists the cycles of the ontology's causal model
  (edges whose predicate is causal: RO "causally upstream of", "causes or
  contributes to condition", "contributes to condition"; "ameliorates",
  "has symptom" and "located in" edges are not causes and never close a loop).
* :func:`feedback_loops` calls a cycle *active* at a site when every concept
  on it is present among the patient's facts at that site (observed or
  derived; a fact counts for its concept's ancestors too). A cycle whose
  concepts all lie on a longer active cycle at the same site is the same loop
  told in fewer steps (``spasm-forms-knots-if-unresolved`` summarises
  spasm -> contraction -> overload -> knots) and is not reported separately.
* :func:`causal_paths` lists, for every ``persistent_pain`` fact, each simple
  path in the derivation graph (premise -> conclusion, one edge per rule
  firing) from a root cause to it, shortest first. Roots are input facts with
  no justification, except status facts ("the injury is not resolved"): those
  are conditions a rule checks, not causes, as in :func:`kg.reasoning.chains.main_path`.

networkx is imported only by :func:`derivation_graph` (for its public callers); the searches
explaining needs are plain dicts (:mod:`kg.reasoning.causal_graph`), so ``import kg`` stays light.

Example
-------
>>> import kg
>>> from kg.reasoning.loops import causal_cycles, feedback_loops, causal_paths
>>> causal_cycles()[0]
('muscle_spasm', 'continuous_contraction', 'muscle_overload', 'muscle_knots')
>>> e = kg.explain("examples/lower-back-strain-day20.json")
>>> [(loop.site, loop.injury_unresolved) for loop in feedback_loops(e)]
[('lower_back', ('injury_unresolved@lower_back/muscle_strain',))]
>>> causal_paths(e)[0].facts
('muscle_strain@lower_back', 'muscle_spasm@lower_back', 'continuous_contraction@lower_back', 'muscle_overload@lower_back', 'muscle_knots@lower_back', 'persistent_pain@lower_back')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from ..knowledge.ontology import Ontology, load_ontology
from .causal_graph import CAUSAL_PREDICATES, ancestor_table, causal_model, derivations, simple_paths, successors

__all__ = ["CAUSAL_PREDICATES", "LoopEdge", "Loop", "CausalPath", "CausalLink", "causal_cycles",
           "feedback_loops", "inactive_loops", "causal_paths", "derivation_graph", "causal_links"]


@dataclass(frozen=True)
class LoopEdge:
    """One hop of a loop at a site: ``source -> target`` along causal edge(s).

    ``rules`` are the engine rules that concluded ``target`` from ``source``
    for this patient; a feedback hop has none (no rule applies it).
    """

    source: str
    target: str
    edges: tuple[str, ...]
    rules: tuple[str, ...]
    feedback: bool

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "edges": list(self.edges),
                "rules": list(self.rules), "feedback": self.feedback}


@dataclass(frozen=True)
class Loop:
    """A causal cycle of the ontology that is active for the patient at one site."""

    id: str
    site: str
    concepts: tuple[str, ...]
    facts: tuple[str, ...]
    edges: tuple[LoopEdge, ...]
    injury_unresolved: tuple[str, ...]
    persistent_pain: str | None
    passages: tuple[str, ...]
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "site": self.site, "active": True, "concepts": list(self.concepts),
                "facts": list(self.facts), "edges": [h.to_dict() for h in self.edges],
                "injury_unresolved": list(self.injury_unresolved),
                "persistent_pain": self.persistent_pain, "passages": list(self.passages),
                "text": self.text}


@dataclass(frozen=True)
class CausalPath:
    """A line of derivations from a root cause to ``target`` (``len(rules) == len(facts) - 1``)."""

    target: str
    root: str
    facts: tuple[str, ...]
    rules: tuple[tuple[str, ...], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "root": self.root, "length": len(self.rules),
                "facts": list(self.facts), "rules": [list(r) for r in self.rules]}


def causal_cycles(ontology: Ontology | None = None) -> list[tuple[str, ...]]:
    """The cycles of the ontology's causal model, longest first.

    Each is a tuple of concept keys; the last one causes the first again.

    >>> causal_cycles()
    [('muscle_spasm', 'continuous_contraction', 'muscle_overload', 'muscle_knots'), ('muscle_spasm', 'muscle_knots')]
    """
    return list(causal_model(ontology or load_ontology()).cycles)


def derivation_graph(e, causal_only: bool = False):
    """The patient's facts as a ``networkx.DiGraph``: premise -> conclusion.

    Edge attribute ``rules`` is the sorted tuple of rules that drew the
    conclusion from that premise. With ``causal_only``, premises that are only
    a rule's condition (the unresolved injury of ``overload-after-threshold``)
    are left out (see :meth:`kg.knowledge.ontology.Ontology.is_causal_premise`).

    >>> import kg
    >>> g = derivation_graph(kg.explain("examples/knots-first-report.json"))
    >>> g.edges["muscle_knots@upper_back", "persistent_pain@upper_back"]["rules"]
    ('persistent-pain-from-knots',)
    """
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(f.id for f in e.facts)
    for (premise, fact), rules in derivations(e, causal_only).items():
        graph.add_edge(premise, fact, rules=rules)
    return graph


class CausalLink(NamedTuple):
    """``cause -> effect`` along causal claim ``edge``, drawn by justification ``n`` of fact ``fact``."""

    cause: str
    effect: str
    edge: str
    fact: str
    n: int


def causal_links(e) -> list[CausalLink]:
    """The causal links between the patient's facts, one per cause of each rule firing.

    A firing of a causal claim links each premise under the claim's subject to the
    concluded fact, or, when the rule concludes only that the link fits
    (``strain-mechanism``), to the premise under the claim's object. Other premises
    are conditions (the unresolved injury); a rule that sums up several steps
    (``overload-maybe-before-resolution``) has no premise under the subject, and
    its premises other than status facts are the causes. Rules that relieve,
    locate or fit a condition make no link.

    >>> import kg
    >>> [link[:3] for link in causal_links(kg.explain("examples/knots-first-report.json"))]
    [('muscle_knots@upper_back', 'persistent_pain@upper_back', 'knots-cause-persistent-pain')]
    """
    onto, found = e.ontology, []
    for fact, n, j in ((f, n, j) for f in e.facts for n, j in enumerate(f.justifications)):
        if (edge := onto.edge_for(j.rule, fact.concept, fact.site)) is not None and edge.predicate in CAUSAL_PREDICATES:
            causes = [p for p in j.premises if edge.subject in onto.ancestors(e.fact(p).concept)] or [
                p for p in j.premises if e.trace[p].details.get("role") != "status"]
            effect = fact.id if edge.object in onto.ancestors(fact.concept) else next(
                (p for p in j.premises if p not in causes and edge.object in onto.ancestors(e.fact(p).concept)), None)
            found += [CausalLink(cause, effect, edge.id, fact.id, n) for cause in causes] if effect else []
    return found


def _presence(e) -> dict[str, dict[str, list[str]]]:
    """site -> concept key -> fact ids at the site standing for it (exact concept first), in one pass."""
    found: dict[str, dict[str, list[str]]] = {}
    table, ancestors = ancestor_table(e.ontology), e.ontology.ancestors
    for fact in e.facts:
        site = fact.site
        if site is None:
            continue
        at = found.get(site)
        if at is None:
            at = found[site] = {}
        for concept in table.get(fact.concept) or ancestors(fact.concept):
            ids = at.get(concept)
            if ids is None:
                at[concept] = [fact.id]
            else:
                ids.append(fact.id)
    by_id = e._by_id
    for at in found.values():
        for concept, ids in at.items():
            if len(ids) > 1:
                ids.sort(key=lambda i: (by_id[i].concept != concept, i))
    return found


def _active_cycles(e, model, site, presence=None):
    present = (presence if presence is not None else _presence(e)).get(site, {})
    # The cycles of the subgraph on the concepts present are the model's cycles with every concept present.
    cycles = [c for c in model.cycles if all(n in present for n in c)]
    # Longest first, so a summary cycle is dropped in favour of the full one.
    kept: list[tuple[str, ...]] = []
    for cycle in cycles:
        if not any(set(cycle) < set(longer) for longer in kept):
            kept.append(cycle)
    return present, kept


def _rules_between(e, premise: str, fact: str) -> tuple[str, ...]:
    # The rules that concluded ``fact`` from ``premise`` (derivations(e)[premise, fact], or ()).
    return tuple(sorted({j.rule for j in e._by_id[fact].justifications if premise in j.premises}))


def _label(e, key: str) -> str:
    return e.ontology.concepts[key].label


def _quote(e, passage: str) -> str:
    return f'{passage}: "{e.ontology.passages[passage].text}"'


def _loop_text(e, site: str, concepts, unresolved, pain, passages, basis, facts=()) -> str:
    # A loop through a fact the source only says can happen is only a possible loop:
    # the text says "may" and marks the possible facts (kg.reasoning.certainty).
    possible = {f for f in facts if e.fact(f).certainty == "possible"}
    names = [_label(e, c) + (" (possible)" if f in possible else "") for c, f in zip(concepts, facts)]
    line = " -> ".join((names or [_label(e, c) for c in concepts]) + [_label(e, concepts[0])])
    quotes = "; ".join(_quote(e, p) for p in passages)
    head = "A loop may be active" if possible else "Active loop"
    text = f"{head} at the {_label(e, site)}: {line} ({quotes})."
    if unresolved:
        injuries = ", ".join(_label(e, e.trace[u].details["injury"]) for u in unresolved)
        firm = pain is not None and e.fact(pain).certainty != "possible"
        if possible:
            lead = "Pain may persist" if pain else "The loop may keep going"
            active = "may be active"
        else:
            lead = ("Pain persists" if firm else "Pain may persist") if pain else "The loop keeps going"
            active = "is active"
        text += f" {lead} because this loop {active} and the basic injury ({injuries}) is not fixed"
        text += f" ({_quote(e, basis)})." if basis else "."
    else:
        # Every concept of the loop is there, but the source's account of how it
        # starts (an injury that is not fixed) is not: say so rather than guess.
        text += (" Every concept of the loop is reported or concluded at this site, but no unresolved "
                 "injury is recorded there, so painkg cannot say that the basic injury keeps it going.")
    return text


def _unresolved_basis(onto: Ontology, hop_edges) -> str | None:
    # The first sentence behind an "injury not resolved" condition on the
    # loop (s03: "if the basic injury is not fixed, the spasm forms knots").
    ids = {p for edges in hop_edges for eid in edges
           for p in (onto.edges[eid].condition.passages
                     if onto.edges[eid].condition and onto.edges[eid].condition.requires_unresolved else ())}
    return min(ids, key=lambda p: onto.passages[p].number) if ids else None


def feedback_loops(e) -> tuple[Loop, ...]:
    """Every causal cycle active for the patient, by site, longest first.

    >>> import kg
    >>> loop = feedback_loops(kg.explain("examples/neck-strain-day16.json"))[0]
    >>> loop.concepts
    ('muscle_spasm', 'continuous_contraction', 'muscle_overload', 'muscle_knots')
    >>> [(h.target, h.rules, h.feedback) for h in loop.edges][-1]
    ('muscle_spasm@neck', (), True)
    >>> feedback_loops(kg.explain("examples/knots-first-report.json"))
    ()
    """
    onto = e.ontology
    model = causal_model(onto)
    causal, feedback = model.graph, model.feedback
    presence = _presence(e)
    loops = []
    for site in sorted(presence):  # every site of a fact (a fact stands for its own concept)
        present, cycles = _active_cycles(e, model, site, presence)
        if not cycles:
            continue
        unresolved = tuple(f.id for f in e.facts if f.concept == "injury_unresolved" and f.site == site)
        pain = next((f.id for f in e.facts if f.concept == "persistent_pain" and f.site == site), None)
        for cycle in cycles:
            facts = tuple(present[c][0] for c in cycle)
            hops = []
            passages: set[str] = set()
            for i, concept in enumerate(cycle):
                nxt = cycle[(i + 1) % len(cycle)]
                source, target = facts[i], facts[(i + 1) % len(cycle)]
                edge_ids = tuple(sorted(causal[concept, nxt]))
                rules = _rules_between(e, source, target)
                is_feedback = (concept, nxt) in feedback
                if is_feedback:
                    passages.update(p for eid in edge_ids for p in onto.edges[eid].passages)
                hops.append(LoopEdge(source, target, edge_ids, rules, is_feedback))
            ordered = tuple(sorted(passages, key=lambda p: onto.passages[p].number))
            basis = _unresolved_basis(onto, [h.edges for h in hops])
            text = _loop_text(e, site, cycle, unresolved, pain, ordered, basis, facts)
            loops.append(Loop(f"loop@{site}:" + ">".join(cycle), site, cycle, facts, tuple(hops),
                              unresolved, pain, ordered, text))
    return tuple(loops)


def inactive_loops(e) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """Sites where part of a causal cycle is present but no cycle is active.

    Returns ``(site, cycle, missing concepts)`` for the longest cycle that has
    a concept present there, so a report can say honestly why no loop is
    shown (e.g. knots reported with no spasm).

    >>> import kg
    >>> inactive_loops(kg.explain("examples/knots-first-report.json"))
    [('upper_back', ('muscle_spasm', 'continuous_contraction', 'muscle_overload', 'muscle_knots'), ('muscle_spasm', 'continuous_contraction', 'muscle_overload'))]
    """
    model = causal_model(e.ontology)
    cycles, feedback = model.cycles, model.feedback
    presence = _presence(e)
    notes = []
    for site in sorted(presence):
        present, active = _active_cycles(e, model, site, presence)
        if active:
            continue
        for cycle in cycles:
            # Only a cycle closed by a feedback edge whose cause is present is worth a note.
            closing = [(a, b) for a, b in zip(cycle, cycle[1:] + cycle[:1]) if (a, b) in feedback]
            if any(a in present for a, _ in closing):
                notes.append((site, cycle, tuple(c for c in cycle if c not in present)))
                break
    return notes


def causal_paths(e) -> tuple[CausalPath, ...]:
    """Paths from root causes to each ``persistent_pain`` fact, shortest first.

    A path follows causal premises only: a fact a rule merely checks (how long
    the injury has been unresolved) is not a step of the causal story. Ties are
    broken by the fact ids along the path, so the order is stable.

    >>> import kg
    >>> [len(p.rules) for p in causal_paths(kg.explain("examples/lower-back-strain-day20.json"))]
    [5, 6]
    >>> causal_paths(kg.explain("examples/lower-back-strain-acute.json"))
    ()
    """
    targets = sorted(f.id for f in e.facts if f.concept == "persistent_pain")
    if not targets:  # no persistent pain, no path to it: the derivations are not read
        return ()
    # Every fact on a path to a target rests under it: the edges into the targets' ancestors are
    # all the paths can use (the rest, therapies and fits, cost a causal test each for nothing).
    ancestors = set().union(*(e._index.ancestors(t) for t in targets))
    graph = derivations(e, causal_only=True, within=ancestors)
    succ = successors(graph)
    roots = [f.id for f in e.facts if not f.justifications and f.status == "observed"
             and e.trace[f.id].details.get("role") != "status"]
    found = []
    for target in targets:
        paths = []
        for root in roots:
            if root == target:
                continue
            for path in simple_paths(succ, root, target):
                paths.append(tuple(path))
        for path in sorted(set(paths), key=lambda p: (len(p), p)):
            rules = tuple(graph[a, b] for a, b in zip(path, path[1:]))
            found.append(CausalPath(target, path[0], path, rules))
    return tuple(found)
