"""Explanations and the causal model as networkx graphs.

:func:`explanation_graph` turns an :class:`~kg.reasoning.explanation.Explanation` into a
``networkx.MultiDiGraph``:

* full view: nodes of kind ``input`` (patient facts), ``derived`` (concluded
  facts), ``firing`` (one rule firing: rule id, condition, quotes) and
  ``passage`` (a source sentence); edges of kind ``premise`` (fact -> firing),
  ``concludes`` (firing -> fact), ``evidence`` (firing -> passage) and
  ``feedback`` (fact -> fact, a feedback edge of the causal model that closes
  an active loop; no rule applies it).
* compact view (``compact=True``): fact nodes only; one ``derivation`` edge
  premise -> conclusion per rule firing, keyed and labelled by the rule id,
  plus the ``feedback`` edges.

Every node has ``kind``, ``label``, ``status`` and ``loop`` (bool); fact
nodes also ``concept``, ``site`` (when there is one), ``rules``,
``premises``, ``quote`` and ``certainty`` (``reported``, ``expected`` or
``possible``: see :mod:`kg.reasoning.certainty`). Firing nodes and compact
``derivation`` edges have ``certainty`` (that firing's: the weakest of its
rule's level and its premises') and ``rule_certainty`` (the rule's own level).
The graph has ``pain_persists`` and, when persistent pain is concluded,
``persistent_pain`` (its strongest level). Every edge has ``kind``, ``label`` and ``loop``.
Edges and nodes on an active feedback loop (see :mod:`kg.reasoning.loops`) have
``loop=True`` and ``loops`` naming the loop ids. All attribute values are
strings, ints or bools, so the GraphML writer keeps them all; a missing
attribute means "not applicable". Lists are joined with a space (ids) or a
newline (quotes).

:func:`causal_graph` returns the ontology's causal model: concept -> concept,
one edge per causal claim, keyed by the edge id.

The returned graphs are :class:`PainGraph` objects: a ``MultiDiGraph`` with
``to_dot()``, ``to_svg()``, ``to_png()``, ``to_graphml()``, ``to_json()``,
``to_cytoscape()``, ``to_mermaid()``, ``to_html()`` and ``export(format)``.

Example
-------
>>> import kg
>>> e = kg.explain("examples/neck-strain-day16.json")
>>> g = e.graph()
>>> g.nodes["muscle_knots@neck"]["kind"], g.nodes["muscle_knots@neck"]["loop"]
('derived', True)
>>> g.nodes["inflammation@neck"]["certainty"], g.nodes["muscle_knots@neck"]["certainty"]
('possible', 'expected')
>>> [k for _, _, k in g.in_edges("persistent_pain@neck", keys=True)]
['concludes']
>>> c = e.graph(compact=True)
>>> sorted(c["muscle_knots@neck"]["muscle_spasm@neck"])
['knots-sustain-spasm']
>>> kg.causal_graph().edges["muscle_knots", "muscle_spasm", "knots-sustain-spasm"]["feedback"]
True
"""

from __future__ import annotations

from collections import defaultdict

import networkx as nx

from ..reasoning.loops import CAUSAL_PREDICATES, causal_cycles, feedback_loops
from ..errors import InputError
from ..knowledge.ontology import Ontology, load_ontology

__all__ = ["PainGraph", "NODE_KINDS", "EDGE_KINDS", "explanation_graph", "causal_graph"]

#: Node kinds, in the order a legend lists them.
NODE_KINDS = ("input", "derived", "firing", "passage", "concept")
#: Edge kinds.
EDGE_KINDS = ("premise", "concludes", "evidence", "derivation", "feedback", "causal")


class PainGraph(nx.MultiDiGraph):
    """A ``networkx.MultiDiGraph`` that can export itself (see :mod:`kg.render.graph_export`)."""

    def export(self, format: str):
        """The graph in ``format`` (``dot``, ``svg``, ``png``, ``graphml``, ``json``,
        ``cytoscape``, ``mermaid``, ``html``): text, or bytes for ``png``."""
        from .graph_export import export

        return export(self, format)

    def to_dot(self) -> str:
        """Graphviz DOT text (needs nothing installed)."""
        return self.export("dot")

    def to_svg(self) -> str:
        """SVG rendered by Graphviz ``dot`` (raises an error saying how to install it)."""
        return self.export("svg")

    def to_png(self) -> bytes:
        """PNG rendered by Graphviz ``dot``."""
        return self.export("png")

    def to_graphml(self) -> str:
        """GraphML with unique ids for Gephi, Cytoscape, yEd and networkx."""
        return self.export("graphml")

    def to_json(self) -> str:
        """networkx node-link JSON."""
        return self.export("json")

    def to_cytoscape(self) -> str:
        """Cytoscape.js elements JSON."""
        return self.export("cytoscape")

    def to_mermaid(self) -> str:
        """Mermaid flowchart text (renders in GitHub Markdown)."""
        return self.export("mermaid")

    def to_html(self) -> str:
        """One self-contained interactive HTML page that works offline."""
        return self.export("html")


def _fact_label(onto: Ontology, fact) -> str:
    return fact.label + (f" ({onto.concepts[fact.site].label})" if fact.site else "")


def _quotes(onto: Ontology, passages) -> str:
    return "\n".join(f'{p}: "{onto.passages[p].text}"' for p in passages)


def _step_conditions(e) -> dict[tuple, str]:
    # Chains already phrase conditions with the patient's numbers ("unresolved
    # for 20 days (threshold 14 days)"); reuse them where a chain has the step.
    found = {}
    for chain in e.chains:
        for step in chain.steps:
            if step.rule and step.condition:
                found[(step.fact, step.rule, step.premises)] = step.condition
    return found


def _firing_ids(fact) -> list[str]:
    ids, seen = [], defaultdict(int)
    for j in fact.justifications:
        seen[j.rule] += 1
        suffix = f"#{seen[j.rule]}" if seen[j.rule] > 1 else ""
        ids.append(f"{j.rule}:{fact.id}{suffix}")
    return ids


def _add_facts(g: PainGraph, e) -> None:
    onto = e.ontology
    for fact in e.facts:
        evidence = sorted({p for j in fact.justifications for p in onto.evidence(j.rule, fact.site)},
                          key=lambda p: onto.passages[p].number)
        attrs = {"kind": "input" if fact.status == "observed" else "derived",
                 "label": _fact_label(onto, fact), "concept": fact.concept, "status": fact.status,
                 "rules": " ".join(sorted({j.rule for j in fact.justifications})),
                 "premises": " ".join(sorted({p for j in fact.justifications for p in j.premises})),
                 "passages": " ".join(evidence), "quote": _quotes(onto, evidence),
                 "key_conclusion": onto.concepts[fact.concept].key_rank is not None,
                 "certainty": fact.certainty, "loop": False}
        if fact.site:
            attrs["site"] = fact.site
        if fact.detail:
            attrs["detail"] = fact.detail
        role = e.trace[fact.id].details.get("role")
        if role:
            attrs["role"] = role
        g.add_node(fact.id, **attrs)


def _add_full(g: PainGraph, e) -> None:
    onto = e.ontology
    conditions = _step_conditions(e)
    for fact in e.facts:
        for firing, j, level in zip(_firing_ids(fact), fact.justifications, fact.justification_certainty):
            edge = onto.edge_for(j.rule, fact.concept, fact.site)
            passages = onto.evidence(j.rule, fact.site)
            attrs = {"kind": "firing", "label": j.rule, "status": "fired", "rule": j.rule,
                     "rule_label": onto.rules[j.rule].label, "certainty": level,
                     "rule_certainty": onto.rules[j.rule].level, "concludes": fact.id,
                     "premises": " ".join(j.premises), "passages": " ".join(passages),
                     "quote": _quotes(onto, passages), "loop": False}
            if fact.site:
                attrs["site"] = fact.site
            if edge is not None:
                attrs["edge"] = edge.id
                condition = conditions.get((fact.id, j.rule, j.premises))
                condition = condition or (edge.condition.label if edge.condition else None)
                if condition:
                    attrs["condition"] = condition
            g.add_node(firing, **attrs)
            for premise in j.premises:
                g.add_edge(premise, firing, key="premise", kind="premise", label="premise", loop=False)
            g.add_edge(firing, fact.id, key="concludes", kind="concludes",
                       label=edge.predicate_label if edge else "concludes", loop=False)
            for p in passages:
                if p not in g:
                    g.add_node(p, kind="passage", label=p, status="source", text=onto.passages[p].text,
                               quote=_quotes(onto, [p]), number=onto.passages[p].number, loop=False)
                g.add_edge(firing, p, key="evidence", kind="evidence", label="evidence", loop=False)


def _add_compact(g: PainGraph, e) -> None:
    onto = e.ontology
    for fact in e.facts:
        for j, level in zip(fact.justifications, fact.justification_certainty):
            edge = onto.edge_for(j.rule, fact.concept, fact.site)
            for premise in j.premises:
                attrs = {"kind": "derivation", "label": j.rule, "rule": j.rule, "certainty": level,
                         "rule_certainty": onto.rules[j.rule].level, "loop": False}
                if edge is not None:
                    attrs["edge"] = edge.id
                g.add_edge(premise, fact.id, key=j.rule, **attrs)


def _mark(attrs: dict, loop_id: str) -> None:
    attrs["loop"] = True
    attrs["loops"] = " ".join(sorted({*attrs.get("loops", "").split(), loop_id}))


def _add_loops(g: PainGraph, e, compact: bool) -> None:
    onto = e.ontology
    for loop in feedback_loops(e):
        for fact in loop.facts:
            _mark(g.nodes[fact], loop.id)
        for hop in loop.edges:
            if hop.feedback:
                for edge_id in hop.edges:
                    edge = onto.edges[edge_id]
                    if not g.has_edge(hop.source, hop.target, edge_id):
                        g.add_edge(hop.source, hop.target, key=edge_id, kind="feedback", label=edge_id,
                                   edge=edge_id, predicate=edge.predicate_label,
                                   passages=" ".join(edge.passages), quote=_quotes(onto, edge.passages),
                                   loop=False)
                    _mark(g.edges[hop.source, hop.target, edge_id], loop.id)
            elif compact:
                for rule in hop.rules:
                    _mark(g.edges[hop.source, hop.target, rule], loop.id)
            else:
                for firing in _firing_ids(e.fact(hop.target)):
                    node = g.nodes[firing]
                    if node["rule"] in hop.rules and hop.source in node["premises"].split():
                        _mark(node, loop.id)
                        _mark(g.edges[hop.source, firing, "premise"], loop.id)
                        _mark(g.edges[firing, hop.target, "concludes"], loop.id)


def explanation_graph(e, compact: bool = False) -> PainGraph:
    """The explanation as a :class:`PainGraph` (full view, or ``compact`` facts-only).

    >>> import kg
    >>> g = explanation_graph(kg.explain("examples/knots-first-report.json"))
    >>> sorted(g.nodes["persistent-pain-from-knots:persistent_pain@upper_back"].items())[:4]
    [('certainty', 'expected'), ('concludes', 'persistent_pain@upper_back'), ('edge', 'knots-cause-persistent-pain'), ('kind', 'firing')]
    >>> explanation_graph(kg.explain("examples/knots-first-report.json"), compact=True).number_of_nodes()
    4
    """
    if not isinstance(compact, bool):
        raise InputError("compact", compact, "true or false")
    g = PainGraph(name=f"painkg explanation of {e.patient.id}", patient=e.patient.id,
                  assessed_on=e.assessed_on, threshold_days=e.threshold_days,
                  pain_persists=e.pain_persists, view="compact" if compact else "full")
    if e.persistent_pain is not None:
        g.graph["persistent_pain"] = e.persistent_pain
    _add_facts(g, e)
    if compact:
        _add_compact(g, e)
    else:
        _add_full(g, e)
    _add_loops(g, e, compact)
    return g


def causal_graph(ontology: Ontology | None = None) -> PainGraph:
    """The ontology's causal model: concept -> concept, one edge per causal claim.

    Edge attributes: ``predicate`` (label), ``predicate_iri``, ``certainty`` (the
    source's hedge, as ``pk:certainty``: "can", "usually"), ``certainty_level``
    (``expected`` or ``possible``, as ``pk:certaintyLevel``),
    ``condition`` (label, when the claim has one), ``passages``, ``quote``,
    ``feedback``, ``causal`` (False for "ameliorates", "has symptom",
    "located in" claims) and ``loop`` (on a causal cycle).

    >>> g = causal_graph()
    >>> g.number_of_edges(), g.nodes["muscle_knots"]["label"]
    (27, 'muscle knots')
    >>> sorted(k for _, _, k, d in g.edges(keys=True, data=True) if d["loop"])[:2]
    ['continuous-contraction-causes-overload', 'knots-sustain-spasm']
    """
    if ontology is not None and not isinstance(ontology, Ontology):
        raise InputError("ontology", type(ontology).__name__, "a kg.Ontology (kg.load_ontology()) or None")
    onto = ontology or load_ontology()
    g = PainGraph(name="painkg causal model", view="causal")
    cycles = causal_cycles(onto)
    on_cycle = {}
    for cycle in cycles:
        loop_id = "loop:" + ">".join(cycle)
        for a, b in zip(cycle, cycle[1:] + cycle[:1]):
            on_cycle.setdefault((a, b), []).append(loop_id)
    for edge in onto.edges.values():
        for key in (edge.subject, edge.object):
            if key not in g:
                concept = onto.concepts[key]
                g.add_node(key, kind="concept", label=concept.label, status="model", concept=key,
                           definition=concept.definition, passages=" ".join(concept.passages),
                           quote=_quotes(onto, concept.passages), loop=False)
        attrs = {"kind": "causal", "label": edge.predicate_label, "edge": edge.id,
                 "predicate": edge.predicate_label, "predicate_iri": edge.predicate,
                 "claim": edge.label, "certainty": edge.certainty, "certainty_level": edge.level,
                 "feedback": edge.feedback,
                 "causal": edge.predicate in CAUSAL_PREDICATES, "passages": " ".join(edge.passages),
                 "quote": _quotes(onto, edge.passages), "loop": False}
        if edge.condition is not None:
            attrs["condition"] = edge.condition.label
        g.add_edge(edge.subject, edge.object, key=edge.id, **attrs)
        if attrs["causal"] and (edge.subject, edge.object) in on_cycle:
            for loop_id in on_cycle[(edge.subject, edge.object)]:
                _mark(g.edges[edge.subject, edge.object, edge.id], loop_id)
                _mark(g.nodes[edge.subject], loop_id)
    return g
