"""The networkx model of an explanation (the story, full and compact views) and of the causal model."""

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
TWO = EXAMPLES / "two-injuries.json"


def _kinds(items):
    return Counter(d["kind"] for *_, d in items)


@pytest.mark.parametrize("path", example_paths(), ids=lambda p: p.stem)
def test_full_graph_has_a_node_per_fact_firing_and_passage(reasoner, path):
    e = reasoner.explain(path)
    g = e.graph(full=True)
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
    g = reasoner.explain(DAY20).graph(full=True)
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
    g = reasoner.explain(DAY20).graph(full=True)
    assert sorted(g.predecessors("muscle_spasm@lower_back")) == [
        "muscle_knots@lower_back",  # the feedback edge of the active loop
        "spasm-from-inflammation:muscle_spasm@lower_back", "spasm-protective:muscle_spasm@lower_back"]


def test_loop_marks_in_full_and_compact_views(reasoner):
    e = reasoner.explain(DAY20)
    (loop,) = feedback_loops(e)
    full = e.graph(full=True)
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


@pytest.mark.parametrize("view", ["story", "full", "compact"])
def test_no_loop_no_feedback_edge(reasoner, view):
    g = reasoner.explain(EXAMPLES / "knots-first-report.json").graph(full=view == "full", compact=view == "compact")
    assert not any(d["loop"] for _, d in g.nodes(data=True))
    assert "feedback" not in _kinds(g.edges(data=True))


@pytest.mark.parametrize("view", ["story", "full", "compact"])
def test_graph_is_deterministic(reasoner, view):
    flags = {"full": view == "full", "compact": view == "compact"}
    one, two = explanation_graph(reasoner.explain(DAY20), **flags), explanation_graph(kg.explain(DAY20), **flags)
    assert list(one.nodes(data=True)) == list(two.nodes(data=True))
    assert list(one.edges(keys=True, data=True)) == list(two.edges(keys=True, data=True))
    assert one.graph == two.graph == {"name": "painkg explanation of p1", "patient": "p1",
                                      "assessed_on": "2026-03-21", "threshold_days": 14,
                                      "pain_persists": True, "view": view, "persistent_pain": "expected"}


@pytest.mark.parametrize("view", ["story", "full", "compact"])
def test_attribute_values_are_graphml_scalars(reasoner, view):
    g = reasoner.explain(TWO).graph(full=view == "full", compact=view == "compact")
    values = [v for _, d in g.nodes(data=True) for v in d.values()]
    values += [v for *_, d in g.edges(data=True) for v in d.values()]
    assert {type(v) for v in values} <= {str, int, bool}


# ---------------------------------------------------------------- the story view (the default)

#: The causal links of day 20 at the lower back: (cause, effect, claim, kind, certainty, on the loop).
DAY20_STORY = [
    ("lifting_while_twisting", "muscle_strain", "mechanism-precedes-strain", "causes", "expected", False),
    ("muscle_spasm", "continuous_contraction", "spasm-keeps-muscle-on", "causes", "expected", True),
    ("muscle_spasm", "pain", "spasm-contributes-to-pain", "causes", "possible", False),
    ("muscle_spasm", "surrounding_muscle_involvement", "spasm-affects-surrounding-muscles", "causes", "expected", False),
    ("muscle_spasm", "difficulty_moving", "spasm-causes-difficulty-moving", "causes", "possible", False),
    ("muscle_spasm", "severe_low_back_pain", "spasm-causes-severe-low-back-pain", "causes", "possible", False),
    ("muscle_strain", "muscle_spasm", "injury-causes-protective-spasm", "causes", "expected", False),
    ("muscle_strain", "inflammation", "muscle-injury-causes-inflammation", "causes", "possible", False),
    ("continuous_contraction", "muscle_overload", "continuous-contraction-causes-overload", "causes", "expected", True),
    ("inflammation", "muscle_spasm", "inflammation-causes-spasm", "causes", "possible", False),
    ("muscle_overload", "muscle_knots", "overload-forms-knots", "causes", "expected", True),
    ("muscle_knots", "persistent_pain", "knots-cause-persistent-pain", "causes", "expected", False),
    ("muscle_knots", "muscle_spasm", "knots-sustain-spasm", "feedback", "expected", True),
]


def _story_edges(g):
    return [(u, v, k, d["kind"], d["certainty"], d["loop"]) for u, v, k, d in g.edges(keys=True, data=True)]


def _at(site, rows):
    return [(f"{a}@{site}", f"{b}@{site}", *rest) for a, b, *rest in rows]


def test_story_of_day20_is_the_causal_chain_and_its_loop(reasoner):
    e = reasoner.explain(DAY20)
    g = e.graph()
    assert g.graph["view"] == "story" and e.graph(full=True).number_of_nodes() == 66
    assert list(g.nodes) == [f"{c}@lower_back" for c in (
        "lifting_while_twisting", "muscle_spasm", "muscle_strain", "continuous_contraction", "inflammation", "pain",
        "surrounding_muscle_involvement", "difficulty_moving", "muscle_overload", "severe_low_back_pain",
        "muscle_knots", "persistent_pain")]
    assert _kinds(g.nodes(data=True)) == Counter({"input": 3, "derived": 9})
    assert _story_edges(g) == _at("lower_back", DAY20_STORY)
    # The condition "basic injury not fixed", therapies and "fits a strain" are not nodes of the story.
    assert not {"injury_unresolved@lower_back/muscle_strain", "heat_therapy@lower_back", "spasm_treatment@lower_back",
                "consistent_with_muscle_strain@lower_back", "strain_mechanism@lower_back"} & set(g)
    assert {d["certainty"] for n, d in g.nodes(data=True) if d["kind"] == "input"} == {"reported"}


def test_story_of_two_injuries_keeps_each_site_apart(reasoner):
    g = reasoner.explain(TWO).graph()
    assert sorted(g.nodes) == sorted(
        [f"{c}@neck" for c in ("ligament_sprain", "muscle_spasm", "continuous_contraction", "pain",
                                "surrounding_muscle_involvement")]
        + [f"{c}@lower_back" for c in ("muscle_tear", "inflammation", "muscle_spasm", "continuous_contraction",
                                       "muscle_overload", "muscle_knots", "persistent_pain", "pain",
                                       "surrounding_muscle_involvement", "difficulty_moving",
                                       "severe_low_back_pain")])
    assert {d["site_label"] for _, d in g.nodes(data=True)} == {"neck", "lower back"}
    neck = [("ligament_sprain", "muscle_spasm", "injury-causes-protective-spasm", "causes", "expected", False),
            ("muscle_spasm", "continuous_contraction", "spasm-keeps-muscle-on", "causes", "expected", False),
            ("muscle_spasm", "pain", "spasm-contributes-to-pain", "causes", "possible", False),
            ("muscle_spasm", "surrounding_muscle_involvement", "spasm-affects-surrounding-muscles", "causes",
             "expected", False)]
    back = [("muscle_tear", "inflammation", "muscle-injury-causes-inflammation", "causes", "possible", False),
            ("muscle_tear", "muscle_spasm", "injury-causes-protective-spasm", "causes", "expected", False),
            *(row for row in DAY20_STORY if row[0] not in ("lifting_while_twisting", "muscle_strain"))]
    assert sorted(_story_edges(g)) == sorted(_at("neck", neck) + _at("lower_back", back))
    # A fall is what most often precedes a strain, not a tear: no link from it, so no node.
    assert "fall@lower_back" not in g and "fall@neck" not in g
    (feedback,) = [(u, v) for u, v, d in g.edges(data=True) if d["kind"] == "feedback"]
    assert feedback == ("muscle_knots@lower_back", "muscle_spasm@lower_back")
    assert not any(d["loop"] for n, d in g.nodes(data=True) if n.endswith("@neck"))


def test_story_edge_and_node_carry_the_firing_premises_condition_and_quote(reasoner):
    g = reasoner.explain(DAY20).graph()
    edge = g.edges["continuous_contraction@lower_back", "muscle_overload@lower_back",
                   "continuous-contraction-causes-overload"]
    assert edge["firings"] == ("overload-after-threshold: A muscle kept continuously on overloads once the basic "
                               "injury has stayed unresolved for the threshold (about two weeks). (expected)")
    assert edge["premises"].split() == ["continuous_contraction@lower_back",
                                        "injury_unresolved@lower_back/muscle_strain", "muscle_strain@lower_back"]
    assert edge["premise_labels"].split("\n") == ["continuous contraction (lower back)",
                                                  "basic injury not fixed (lower back)", "muscle strain (lower back)"]
    assert edge["condition"] == (
        "only if the basic injury stays unresolved for about two weeks: the muscle strain has been unresolved for 20 "
        "days (threshold 14 days): since its onset on 2026-03-01, past the threshold on 2026-03-15; given basic "
        "injury not fixed (lower back) and muscle strain (lower back)")
    assert (edge["rules"], edge["rule_certainty"], edge["passages"]) == ("overload-after-threshold", "expected",
                                                                        "s03 s04 s11 s12 s14")
    assert 's11: "The muscles are not designed for this continuous work."' in edge["quote"].split("\n")
    spasm = g.nodes["muscle_spasm@lower_back"]
    assert spasm["firings"].split("\n") == [
        "spasm-from-inflammation: With inflammation, the muscles can spasm. (possible)",
        "spasm-protective: After an injury that is not healed, the muscle spasms to protect the injured area. "
        "(expected)"]
    assert spasm["condition"] == "spasm-protective: given basic injury not fixed (lower back)"
    # The mechanism's firing concludes that it fits a strain; its causal claim links the two reported facts.
    mechanism = g.edges["lifting_while_twisting@lower_back", "muscle_strain@lower_back", "mechanism-precedes-strain"]
    assert (mechanism["concludes"], mechanism["predicate"]) == ("strain_mechanism@lower_back",
                                                                "causes or contributes to condition")
    feedback = g.edges["muscle_knots@lower_back", "muscle_spasm@lower_back", "knots-sustain-spasm"]
    assert feedback["detail"].startswith("Active loop at the lower back: muscle spasm -> continuous contraction")
    assert 's05: "These knots are painful, and become part of the problem."' in feedback["quote"]


#: Nodes of each bundled example: the full view (before: the default until the story view) and the story.
NODE_COUNTS = {"knots-first-report": (10, 2), "ligament-sprain-day14": (43, 8), "lower-back-strain-acute": (47, 9),
               "lower-back-strain-day20": (66, 12), "lower-back-strain-resolved": (27, 5), "neck-strain-day16": (51, 9),
               "radiating-pain": (51, 9), "resolved-after-knots": (30, 5), "two-injuries": (80, 16)}


@pytest.mark.parametrize("path", example_paths(), ids=lambda p: p.stem)
def test_story_is_small_and_made_of_causal_links_only(reasoner, path):
    e = reasoner.explain(path)
    g, full = e.graph(), e.graph(full=True)
    assert (full.number_of_nodes(), g.number_of_nodes()) == NODE_COUNTS[path.stem]
    facts = {f.id: f for f in e.facts}
    assert set(g) <= set(facts) and {d["kind"] for _, d in g.nodes(data=True)} <= {"input", "derived"}
    assert {d["kind"] for *_, d in g.edges(data=True)} <= {"causes", "feedback"}
    for n, d in g.nodes(data=True):
        assert d["certainty"] == facts[n].certainty and (n, d["label"]) == (n, full.nodes[n]["label"])
        assert e.trace[n].details.get("role") != "status"
        assert g.degree(n) or e.trace[n].details.get("role") == "injury"
    for u, v, k, d in g.edges(keys=True, data=True):
        if d["kind"] == "causes":  # one firing that applied claim k, with the firing's certainty
            firings = [(f, j, c) for f in e.facts for j, c in zip(f.justifications, f.justification_certainty)
                       if j.rule in d["rules"].split() and u in j.premises]
            assert firings and d["certainty"] in {c for *_, c in firings}
            assert e.ontology.edges[k].predicate_label == d["predicate"]
    assert len(NODE_COUNTS) == len(example_paths())


def test_story_links_a_strain_that_may_have_overloaded_the_muscle(reasoner):
    g = reasoner.explain(EXAMPLES / "lower-back-strain-resolved.json").graph()
    assert _story_edges(g) == [
        ("muscle_strain@lower_back", "muscle_overload@lower_back", "continuous-contraction-causes-overload", "causes",
         "possible", False),
        ("sudden_movement@lower_back", "muscle_strain@lower_back", "mechanism-precedes-strain", "causes", "expected",
         False),
        ("muscle_overload@lower_back", "muscle_knots@lower_back", "overload-forms-knots", "causes", "possible", False),
        ("muscle_knots@lower_back", "persistent_pain@lower_back", "knots-cause-persistent-pain", "causes", "possible",
         False)]


def test_views_are_chosen_by_two_flags():
    e = kg.explain(EXAMPLES / "knots-first-report.json")
    assert [e.graph(**flags).graph["view"] for flags in ({}, {"full": True}, {"compact": True})] == [
        "story", "full", "compact"]
    with pytest.raises(kg.InputError, match="full: choose one view: full or compact, not both"):
        e.graph(compact=True, full=True)
    with pytest.raises(kg.InputError, match='full: "yes" is not allowed; expected true or false'):
        e.graph(full="yes")


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
    assert block == kg.explain(EXAMPLES / "neck-strain-day16.json").graph().to_mermaid()
