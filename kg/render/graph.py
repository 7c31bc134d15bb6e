"""Explanations and the causal model as networkx graphs.

:func:`explanation_graph` turns an :class:`~kg.reasoning.explanation.Explanation` into a
``networkx.MultiDiGraph`` in one of three views (the graph attribute ``view``):

* story view (the default): the causal story. Nodes are the patient's facts
  (``input``, ``derived``) on a causal link (:func:`kg.reasoning.loops.causal_links`),
  each injury and the facts of an active loop; edges of kind ``causes`` (cause
  -> effect, one per causal claim between two facts, keyed by the claim id) and
  ``feedback``. Conditions ("basic injury not fixed"), therapies and "fits a
  strain" conclusions are not nodes: a ``causes`` edge carries its firing(s)
  (``rules``, ``firings``), ``premises``, ``condition``, ``certainty``, ``quote``.
* full view (``full=True``): nodes of kind ``input`` (patient facts), ``derived``
  (concluded facts), ``firing`` (one rule firing: rule id, condition, quotes)
  and ``passage`` (a source sentence); edges of kind ``premise`` (fact ->
  firing), ``concludes`` (firing -> fact), ``evidence`` (firing -> passage) and
  ``feedback`` (fact -> fact, a feedback edge of the causal model that closes
  an active loop; no rule applies it).
* compact view (``compact=True``): fact nodes only; one ``derivation`` edge
  premise -> conclusion per rule firing, keyed and labelled by the rule id,
  plus the ``feedback`` edges.

Every node has ``kind``, ``label``, ``status`` and ``loop`` (bool); fact
nodes also ``concept``, ``site`` (when there is one), ``rules``,
``premises``, ``quote`` and ``certainty`` (``reported``, ``expected`` or
``possible``: see :mod:`kg.reasoning.certainty`); in the story view also
``firings`` (one line per firing that concluded it: rule id, rule label,
certainty), ``premise_labels`` and ``condition``. Firing nodes, compact
``derivation`` and story ``causes`` edges have ``certainty`` (that firing's:
the weakest of its rule's level and its premises') and ``rule_certainty``
(the rule's own level); a story ``feedback`` edge has ``certainty`` (the
weakest of its claim's level and its cause's) and ``detail`` (the loop's text).
The graph has ``view`` (:data:`VIEWS`), ``pain_persists`` and, when persistent pain is
concluded, ``persistent_pain`` (its strongest level). Every edge has ``kind``, ``label``, ``loop``.
Edges and nodes on an active feedback loop (see :mod:`kg.reasoning.loops`) have
``loop=True`` and ``loops`` naming the loop ids. All attribute values are
strings, ints or bools, so the GraphML writer keeps them all; a missing
attribute means "not applicable". Lists are joined with a space (ids) or a
newline (quotes, labels).

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
>>> g.graph["view"], g.number_of_nodes()
('story', 9)
>>> g.nodes["muscle_knots@neck"]["kind"], g.nodes["muscle_knots@neck"]["loop"]
('derived', True)
>>> g.nodes["inflammation@neck"]["certainty"], g.nodes["muscle_knots@neck"]["certainty"]
('possible', 'expected')
>>> [(u, k) for u, _, k in g.in_edges("muscle_spasm@neck", keys=True)]
[('inflammation@neck', 'inflammation-causes-spasm'), ('muscle_strain@neck', 'injury-causes-protective-spasm'), ('muscle_knots@neck', 'knots-sustain-spasm')]
>>> full = e.graph(full=True)
>>> [k for _, _, k in full.in_edges("persistent_pain@neck", keys=True)]
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

from ..reasoning.certainty import strongest, weakest
from ..reasoning.loops import CAUSAL_PREDICATES, causal_cycles, causal_links, feedback_loops
from ..errors import InputError
from ..knowledge.ontology import Ontology, load_ontology

__all__ = ["PainGraph", "NODE_KINDS", "EDGE_KINDS", "VIEWS", "explanation_graph", "causal_graph"]

#: Node kinds, in the order a legend lists them.
NODE_KINDS = ("input", "derived", "firing", "passage", "concept")
#: Edge kinds.
EDGE_KINDS = ("premise", "concludes", "evidence", "derivation", "causes", "feedback", "causal")
#: The views of an explanation graph (the graph attribute ``view``).
VIEWS = ("story", "full", "compact")


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


def _add_facts(g: PainGraph, e, only=None) -> None:
    onto = e.ontology
    for fact in (f for f in e.facts if only is None or f.id in only):
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
                if _condition(e, conditions, fact, j):
                    attrs["condition"] = _condition(e, conditions, fact, j)
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


def _condition(e, conditions: dict, fact, j, others=()) -> str:
    # The claim's condition (phrased with the patient's numbers where a chain has the
    # step), then the premises that are conditions rather than causes.
    edge = e.ontology.edge_for(j.rule, fact.concept, fact.site)
    parts = [conditions.get((fact.id, j.rule, j.premises)) or (edge.condition.label if edge and edge.condition else "")]
    parts += ["given " + " and ".join(_fact_label(e.ontology, e.fact(p)) for p in others)] if others else []
    return "; ".join(p for p in parts if p)


def _story_details(e, data: dict, firings, causes, conditions) -> None:
    # What a click shows: the firings (rule id, label, certainty), the premises by name, the condition.
    onto = e.ontology
    found = [(j.rule, _condition(e, conditions, f, j, [p for p in j.premises if p not in causes])) for f, j, _ in firings]
    details = {"firings": "\n".join(f"{j.rule}: {onto.rules[j.rule].label} ({level})" for _, j, level in firings),
               "premise_labels": "\n".join(_fact_label(onto, e.fact(p)) for p in data["premises"].split()),
               "condition": "\n".join(dict.fromkeys(f"{r}: {c}" if len({r for r, _ in found}) > 1 else c
                                                     for r, c in found if c))}
    data.update((k, v) for k, v in details.items() if v)


def _add_story(g: PainGraph, e) -> None:
    onto, conditions, links = e.ontology, _step_conditions(e), causal_links(e)
    keep = {f for link in links for f in link[:2]} | {f for loop in feedback_loops(e) for f in loop.facts}
    _add_facts(g, e, keep | {f.id for f in e.facts if e.trace[f.id].details.get("role") == "injury"})
    for node, data in g.nodes(data=True):
        fact = e.fact(node)
        data.update({"site_label": onto.concepts[fact.site].label} if fact.site else {})
        _story_details(e, data, [(fact, j, c) for j, c in zip(fact.justifications, fact.justification_certainty)],
                       {link.cause for link in links if link.fact == node}, conditions)
    groups: dict[tuple, list] = defaultdict(list)
    for link in links:
        fact = e.fact(link.fact)
        groups[link.cause, link.effect, link.edge].append(
            (fact, fact.justifications[link.n], fact.justification_certainty[link.n]))
    for (cause, effect, edge_id), firings in groups.items():
        claim, rules = onto.edges[edge_id], list(dict.fromkeys(j.rule for _, j, _ in firings))
        passages = sorted({p for f, j, _ in firings for p in onto.evidence(j.rule, f.site)},
                          key=lambda p: onto.passages[p].number)
        attrs = {"kind": "causes", "label": ", ".join(rules), "rules": " ".join(rules),
                 "rule_label": "\n".join(onto.rules[r].label for r in rules), "edge": edge_id,
                 "claim": claim.label, "predicate": claim.predicate_label,
                 "certainty": strongest(level for *_, level in firings),
                 "rule_certainty": strongest(onto.rules[r].level for r in rules),
                 "premises": " ".join(dict.fromkeys(p for _, j, _ in firings for p in j.premises)),
                 "passages": " ".join(passages), "quote": _quotes(onto, passages), "loop": False}
        if any(f.id != effect for f, _, _ in firings):
            attrs["concludes"] = " ".join(dict.fromkeys(f.id for f, _, _ in firings))
        _story_details(e, attrs, firings, {cause, effect}, conditions)
        g.add_edge(cause, effect, key=edge_id, **attrs)


def _mark(attrs: dict, loop_id: str) -> None:
    attrs["loop"] = True
    attrs["loops"] = " ".join(sorted({*attrs.get("loops", "").split(), loop_id}))


def _add_loops(g: PainGraph, e, view: str) -> None:
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
                        if view == "story":
                            g.edges[hop.source, hop.target, edge_id].update(
                                certainty=weakest([edge.level, e.fact(hop.source).certainty]), detail=loop.text)
                    _mark(g.edges[hop.source, hop.target, edge_id], loop.id)
            elif view == "story":
                for key, data in g[hop.source].get(hop.target, {}).items():
                    if data["kind"] == "causes":
                        _mark(data, loop.id)
            elif view == "compact":
                for rule in hop.rules:
                    _mark(g.edges[hop.source, hop.target, rule], loop.id)
            else:
                for firing in _firing_ids(e.fact(hop.target)):
                    node = g.nodes[firing]
                    if node["rule"] in hop.rules and hop.source in node["premises"].split():
                        _mark(node, loop.id)
                        _mark(g.edges[hop.source, firing, "premise"], loop.id)
                        _mark(g.edges[firing, hop.target, "concludes"], loop.id)


def explanation_graph(e, compact: bool = False, full: bool = False) -> PainGraph:
    """The explanation as a :class:`PainGraph`: the causal story, or the ``full``
    derivation graph, or the ``compact`` facts-only one (see the module docstring).

    >>> import kg
    >>> e = kg.explain("examples/knots-first-report.json")
    >>> g = explanation_graph(e)
    >>> list(g.edges(keys=True))
    [('muscle_knots@upper_back', 'persistent_pain@upper_back', 'knots-cause-persistent-pain')]
    >>> g.edges["muscle_knots@upper_back", "persistent_pain@upper_back", "knots-cause-persistent-pain"]["firings"]
    'persistent-pain-from-knots: Muscle knots are painful and become part of the problem, ... (expected)'
    >>> full = explanation_graph(e, full=True)
    >>> sorted(full.nodes["persistent-pain-from-knots:persistent_pain@upper_back"].items())[:4]
    [('certainty', 'expected'), ('concludes', 'persistent_pain@upper_back'), ('edge', 'knots-cause-persistent-pain'), ('kind', 'firing')]
    >>> explanation_graph(e, compact=True).number_of_nodes()
    4
    """
    for name, value in (("compact", compact), ("full", full)):
        if not isinstance(value, bool):
            raise InputError(name, value, "true or false")
    if compact and full:
        raise InputError("full", full, message="choose one view: full or compact, not both")
    view = "full" if full else "compact" if compact else "story"
    g = PainGraph(name=f"painkg explanation of {e.patient.id}", patient=e.patient.id,
                  assessed_on=e.assessed_on, threshold_days=e.threshold_days,
                  pain_persists=e.pain_persists, view=view)
    if e.persistent_pain is not None:
        g.graph["persistent_pain"] = e.persistent_pain
    if view != "story":
        _add_facts(g, e)
    {"story": _add_story, "full": _add_full, "compact": _add_compact}[view](g, e)
    _add_loops(g, e, view)
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
