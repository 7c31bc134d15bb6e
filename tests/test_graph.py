"""The networkx model of an explanation and of the causal model (kg.render.graph)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import networkx as nx
import pytest

import kg
from kg.render.graph import PainGraph, causal_graph, explanation_graph
from kg.reasoning.loops import feedback_loops

from support import EXAMPLES, example_paths

DAY20 = EXAMPLES / "lower-back-strain-day20.json"


def _kinds(items):
    return Counter(d["kind"] for *_, d in items)


@pytest.mark.parametrize("path", example_paths(), ids=lambda p: p.stem)
def test_full_graph_has_a_node_per_fact_firing_and_passage(reasoner, path):
    e = reasoner.explain(path)
    g = e.graph()
    assert isinstance(g, nx.MultiDiGraph) and isinstance(g, PainGraph)
    justifications = [(f, j) for f in e.facts for j in f.justifications]
    passages = {p for f, j in justifications for p in e.ontology.evidence(j.rule, f.site)}  # quoted where they apply
    observed = sum(f.status == "observed" for f in e.facts)
    expected_nodes = {"input": observed, "derived": len(e.facts) - observed,
                      "firing": len(justifications), "passage": len(passages)}
    assert _kinds(g.nodes(data=True)) == Counter({k: v for k, v in expected_nodes.items() if v})
    expected_edges = {"premise": sum(len(j.premises) for _, j in justifications),
                      "concludes": len(justifications),
                      "evidence": sum(len(e.ontology.evidence(j.rule, f.site)) for f, j in justifications),
                      "feedback": len(feedback_loops(e))}
    assert _kinds(g.edges(data=True)) == Counter({k: v for k, v in expected_edges.items() if v})
    for f in e.facts:
        node = g.nodes[f.id]
        assert (node["kind"], node["status"], node["concept"], node.get("site")) == (
            "input" if f.status == "observed" else "derived", f.status, f.concept, f.site)
    # Every node is typed, labelled and has a status and a loop flag.
    assert all({"kind", "label", "status", "loop"} <= set(d) for _, d in g.nodes(data=True))
    assert all({"kind", "label", "loop"} <= set(d) for *_, d in g.edges(data=True))


def test_firing_node_carries_rule_premises_condition_and_quote(reasoner):
    g = reasoner.explain(DAY20).graph()
    node = g.nodes["overload-after-threshold:muscle_overload@lower_back"]
    assert node["rule"] == "overload-after-threshold" and node["edge"] == "continuous-contraction-causes-overload"
    assert node["premises"].split() == ["continuous_contraction@lower_back",
                                        "injury_unresolved@lower_back/muscle_strain", "muscle_strain@lower_back"]
    assert node["condition"].endswith("the muscle strain has been unresolved for 20 days (threshold 14 days): since "
                                      "its onset on 2026-03-01, past the threshold on 2026-03-15")
    assert node["passages"] == "s03 s04 s11 s12 s14"
    assert 's11: "The muscles are not designed for this continuous work."' in node["quote"].split("\n")
    assert sorted(g.predecessors("overload-after-threshold:muscle_overload@lower_back")) == node["premises"].split()
    assert sorted(g.successors("overload-after-threshold:muscle_overload@lower_back")) == [
        "muscle_overload@lower_back", "s03", "s04", "s11", "s12", "s14"]


def test_alternative_justifications_get_a_firing_each(reasoner):
    g = reasoner.explain(DAY20).graph()
    assert sorted(g.predecessors("muscle_spasm@lower_back")) == [
        "muscle_knots@lower_back",  # the feedback edge of the active loop
        "spasm-from-inflammation:muscle_spasm@lower_back", "spasm-protective:muscle_spasm@lower_back"]


def test_loop_marks_in_full_and_compact_views(reasoner):
    e = reasoner.explain(DAY20)
    (loop,) = feedback_loops(e)
    full = e.graph()
    marked_edges = {(u, v, k) for u, v, k, d in full.edges(keys=True, data=True) if d["loop"]}
    firings = ["continuous-contraction:continuous_contraction@lower_back",
               "overload-after-threshold:muscle_overload@lower_back", "knots-from-overload:muscle_knots@lower_back"]
    loop_facts = list(loop.facts)
    assert marked_edges == {
        *((a, f, "premise") for a, f in zip(loop_facts, firings)),
        *((f, b, "concludes") for f, b in zip(firings, loop_facts[1:])),
        ("muscle_knots@lower_back", "muscle_spasm@lower_back", "knots-sustain-spasm")}
    assert {n for n, d in full.nodes(data=True) if d["loop"]} == {*loop.facts, *firings}
    assert all(full.nodes[n]["loops"] == loop.id for n in loop.facts)
    feedback = full.edges["muscle_knots@lower_back", "muscle_spasm@lower_back", "knots-sustain-spasm"]
    assert feedback["kind"] == "feedback" and 's05: "These knots are painful' in feedback["quote"]

    compact = e.graph(compact=True)
    assert {(u, v, k) for u, v, k, d in compact.edges(keys=True, data=True) if d["loop"]} == {
        (h.source, h.target, h.rules[0] if h.rules else h.edges[0]) for h in loop.edges}
    # The marked edges are a directed cycle through the loop's facts.
    cycle = nx.DiGraph((u, v) for u, v, d in compact.edges(data=True) if d["loop"])
    (found,) = nx.simple_cycles(cycle)
    start = found.index(loop.facts[0])
    assert found[start:] + found[:start] == list(loop.facts)


def test_compact_view_is_facts_and_rule_labelled_edges(reasoner):
    e = reasoner.explain(DAY20)
    g = e.graph(compact=True)
    assert set(g.nodes) == {f.id for f in e.facts}
    derivations = {(p, f.id, j.rule) for f in e.facts for j in f.justifications for p in j.premises}
    assert {(u, v, k) for u, v, k, d in g.edges(keys=True, data=True) if d["kind"] == "derivation"} == derivations
    assert all(d["label"] == k == d["rule"] for _, _, k, d in g.edges(keys=True, data=True)
               if d["kind"] == "derivation")


def test_no_loop_no_feedback_edge(reasoner):
    g = reasoner.explain(EXAMPLES / "knots-first-report.json").graph()
    assert not any(d["loop"] for _, d in g.nodes(data=True))
    assert "feedback" not in _kinds(g.edges(data=True))


def test_graph_is_deterministic(reasoner):
    one, two = explanation_graph(reasoner.explain(DAY20)), explanation_graph(kg.explain(DAY20))
    assert list(one.nodes(data=True)) == list(two.nodes(data=True))
    assert list(one.edges(keys=True, data=True)) == list(two.edges(keys=True, data=True))
    assert one.graph == two.graph == {"name": "painkg explanation of p1", "patient": "p1",
                                      "assessed_on": "2026-03-21", "threshold_days": 14,
                                      "pain_persists": True, "view": "full", "persistent_pain": "expected"}


def test_attribute_values_are_graphml_scalars(reasoner):
    g = reasoner.explain(EXAMPLES / "two-injuries.json").graph()
    values = [v for _, d in g.nodes(data=True) for v in d.values()]
    values += [v for *_, d in g.edges(data=True) for v in d.values()]
    assert {type(v) for v in values} <= {str, int, bool}


def test_causal_graph_is_the_ontology(onto):
    g = kg.causal_graph()
    assert isinstance(g, PainGraph) and g.graph["view"] == "causal"
    assert {(u, v, k) for u, v, k in g.edges(keys=True)} == {(e.subject, e.object, e.id) for e in onto.edges.values()}
    edge = g.edges["continuous_contraction", "muscle_overload", "continuous-contraction-causes-overload"]
    assert (edge["predicate"], edge["condition"], edge["passages"], edge["certainty"]) == (
        "causally upstream of", "only if the basic injury stays unresolved for about two weeks", "s11 s12",
        "after some amount of time")
    assert g.edges["heat_therapy", "muscle_spasm", "heat-relieves-spasm"]["causal"] is False
    loop_edges = sorted(k for _, _, k, d in g.edges(keys=True, data=True) if d["loop"])
    assert loop_edges == ["continuous-contraction-causes-overload", "knots-sustain-spasm", "overload-forms-knots",
                          "spasm-forms-knots-if-unresolved", "spasm-keeps-muscle-on"]
    assert g.edges["muscle_knots", "muscle_spasm", "knots-sustain-spasm"]["loops"] == (
        "loop:muscle_spasm>continuous_contraction>muscle_overload>muscle_knots loop:muscle_spasm>muscle_knots")
    assert causal_graph(onto).nodes["muscle_knots"]["label"] == "muscle knots"


def test_import_kg_does_not_load_networkx():
    code = "import sys, kg; kg.explain; print('networkx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_docs_python_examples_run():
    import doctest
    import os
    import re

    from support import ROOT

    text = (ROOT / "docs" / "graphs.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 2
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        for n, block in enumerate(blocks):  # each block runs on its own, as a reader would paste it
            runner.run(doctest.DocTestParser().get_doctest(block, {}, f"graphs.md block {n}", "graphs.md", 0))
    finally:
        os.chdir(cwd)
    assert runner.failures == 0 and runner.tries >= 12


def test_docs_mermaid_example_is_real_output():
    import re

    from support import ROOT

    text = (ROOT / "docs" / "graphs.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```mermaid\n(.*?)```", text, flags=re.S)
    assert block == kg.explain(EXAMPLES / "neck-strain-day16.json").graph(compact=True).to_mermaid()
