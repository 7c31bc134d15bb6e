"""Feedback loops and causal paths (kg.reasoning.loops), and their JSON and text forms."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kg.reasoning.loops import causal_cycles, causal_paths, derivation_graph, feedback_loops, inactive_loops
from kg.knowledge.ontology import Ontology

from support import EXAMPLES, strain

LONG = ("muscle_spasm", "continuous_contraction", "muscle_overload", "muscle_knots")
SHORT = ("muscle_spasm", "muscle_knots")


def test_causal_cycles_of_the_ontology(onto):
    # spasm -> keeps muscle on -> overload -> knots, closed by the feedback edge
    # knots-sustain-spasm (s05); spasm-forms-knots-if-unresolved is the s03 shortcut.
    assert causal_cycles(onto) == [LONG, SHORT]
    feedback = [e.id for e in onto.edges.values() if e.feedback]
    assert feedback == ["knots-sustain-spasm"]


def test_without_the_feedback_edge_there_is_no_cycle(onto):
    edges = {k: e for k, e in onto.edges.items() if not e.feedback}
    cut = Ontology(dict(onto.concepts), edges, dict(onto.rules), dict(onto.passages), onto.document)
    assert causal_cycles(cut) == []


def test_non_causal_edges_never_close_a_loop(onto):
    # Make "heat therapy ameliorates spasm" point back at heat therapy: an
    # ameliorates edge is not a cause, so no new cycle appears.
    edges = dict(onto.edges)
    edges["back"] = dataclasses.replace(onto.edges["heat-relieves-spasm"], id="back",
                                        subject="muscle_spasm", object="heat_therapy")
    turned = Ontology(dict(onto.concepts), edges, dict(onto.rules), dict(onto.passages), onto.document)
    assert causal_cycles(turned) == [LONG, SHORT]


def test_day20_loop_in_detail(reasoner):
    e = reasoner.explain(EXAMPLES / "lower-back-strain-day20.json")
    (loop,) = feedback_loops(e)
    assert loop.id == "loop@lower_back:muscle_spasm>continuous_contraction>muscle_overload>muscle_knots"
    assert loop.facts == tuple(f"{c}@lower_back" for c in LONG)
    assert [(h.edges, h.rules, h.feedback) for h in loop.edges] == [
        (("spasm-keeps-muscle-on",), ("continuous-contraction",), False),
        (("continuous-contraction-causes-overload",), ("overload-after-threshold",), False),
        (("overload-forms-knots",), ("knots-from-overload",), False),
        (("knots-sustain-spasm",), (), True)]
    assert loop.injury_unresolved == ("injury_unresolved@lower_back/muscle_strain",)
    assert loop.persistent_pain == "persistent_pain@lower_back"
    assert loop.passages == ("s02", "s05")
    assert loop.text.startswith("Active loop at the lower back: muscle spasm -> continuous contraction -> "
                                "muscle overload -> muscle knots -> muscle spasm (s02: ")
    assert ("Pain persists because this loop is active and the basic injury (muscle strain) is not fixed "
            '(s03: "This is because after an initial period, if the basic injury is not fixed, '
            'the spasm forms muscle knots.").') in loop.text


@pytest.mark.parametrize(("days", "resolved", "active"), [(13, False, False), (14, False, True),
                                                          (40, False, True), (40, True, False)])
def test_loop_needs_an_injury_unresolved_for_the_threshold(reasoner, days, resolved, active):
    e = reasoner.explain(strain(days, "neck", resolved=resolved))
    assert [loop.concepts for loop in feedback_loops(e)] == ([LONG] if active else [])


def test_knots_alone_give_no_loop_and_the_report_says_why(reasoner):
    e = reasoner.explain(EXAMPLES / "knots-first-report.json")
    assert feedback_loops(e) == ()
    assert inactive_loops(e) == [("upper_back", LONG, LONG[:3])]
    text = e.to_text()
    assert ("- No active loop at the upper back: the facts there include muscle knots but not\n"
            "    muscle spasm, continuous contraction or muscle overload, so the self-sustaining loop\n"
            "    the source describes is not shown to be active.") in text


def test_spasm_and_knots_reported_without_injury_is_the_short_loop_said_honestly(reasoner):
    e = reasoner.explain({"id": "k", "assessed_on": "2026-01-01", "findings": [
        {"kind": "muscle_knots", "site": "neck"}, {"kind": "muscle_spasm", "site": "neck"}]})
    (loop,) = feedback_loops(e)
    assert loop.concepts == SHORT and loop.injury_unresolved == ()
    # No rule concluded knots from the spasm: both were reported.
    assert [(h.source, h.target, h.rules) for h in loop.edges] == [
        ("muscle_spasm@neck", "muscle_knots@neck", ()), ("muscle_knots@neck", "muscle_spasm@neck", ())]
    assert loop.text.endswith("no unresolved injury is recorded there, so painkg cannot say that the basic "
                              "injury keeps it going.")


def test_loop_concepts_must_share_a_site(reasoner):
    e = reasoner.explain({"id": "k", "assessed_on": "2026-01-01", "findings": [
        {"kind": "muscle_knots", "site": "neck"}, {"kind": "muscle_spasm", "site": "upper_back"}]})
    assert feedback_loops(e) == ()
    assert [site for site, *_ in inactive_loops(e)] == ["neck"]


def test_two_sites_two_loops(reasoner):
    e = reasoner.explain({**strain(20, "neck"), "injuries": [
        strain(20, "neck")["injuries"][0], strain(30, "upper_back", kind="muscle_tear")["injuries"][0]]})
    loops = feedback_loops(e)
    assert [(loop.site, loop.injury_unresolved) for loop in loops] == [
        ("neck", ("injury_unresolved@neck/muscle_strain",)),
        ("upper_back", ("injury_unresolved@upper_back/muscle_tear",))]


def test_day20_causal_paths_shortest_first(reasoner):
    e = reasoner.explain(EXAMPLES / "lower-back-strain-day20.json")
    site = "@lower_back"
    # overload-after-threshold checks the injury (how long it has been unresolved) but
    # its cause is the continuous contraction, so no path jumps from the strain to the
    # overload: the protective spasm route (5 steps) comes first, then inflammation (6).
    # The status fact "injury not resolved" is a condition, not a root;
    # lifting_while_twisting leads nowhere near the pain.
    assert [p.facts for p in causal_paths(e)] == [
        tuple(c + site for c in ("muscle_strain", "muscle_spasm", "continuous_contraction", "muscle_overload",
                                 "muscle_knots", "persistent_pain")),
        tuple(c + site for c in ("muscle_strain", "inflammation", "muscle_spasm", "continuous_contraction",
                                 "muscle_overload", "muscle_knots", "persistent_pain"))]
    assert causal_paths(e)[0].rules == (("spasm-protective",), ("continuous-contraction",),
                                        ("overload-after-threshold",), ("knots-from-overload",),
                                        ("persistent-pain-from-knots",))
    assert all(p.facts[1] != "muscle_overload@lower_back" for p in causal_paths(e))


def test_no_persistent_pain_no_paths(reasoner):
    assert causal_paths(reasoner.explain(EXAMPLES / "lower-back-strain-acute.json")) == ()


def test_json_has_loops_and_paths_after_chains(reasoner):
    e = reasoner.explain(EXAMPLES / "neck-strain-day16.json")
    d = json.loads(e.to_json())
    assert list(d)[-3:] == ["chains", "loops", "causal_paths"]
    assert d["loops"] == [loop.to_dict() for loop in feedback_loops(e)]
    assert d["loops"][0]["active"] is True and d["loops"][0]["edges"][-1]["feedback"] is True
    assert [p["length"] for p in d["causal_paths"]] == [5, 6]
    assert all(p["facts"][-1] == "persistent_pain@neck" for p in d["causal_paths"])


def test_text_report_places_the_loop_section_before_the_help(reasoner):
    text = reasoner.explain(EXAMPLES / "lower-back-strain-day20.json").to_text()
    assert text.index("Why: persistent pain") < text.index("\nFeedback loops\n") \
        < text.index("\nCausal paths to persistent pain (shortest first)\n") \
        < text.index("\nWhat the source says can help\n")
    assert ("   1. muscle strain (lower back, reported) -> muscle spasm (lower back, reported) ->\n"
            "    continuous contraction (lower back, expected) -> ") in text
    # Fixed on day 5, before the threshold: no knots, so no loop and no path to show.
    resolved = reasoner.explain({"id": "r", "assessed_on": "2026-04-15", "findings": ["better_at_rest"],
                                 "injuries": [{"kind": "muscle_strain", "site": "lower_back", "onset": "2026-03-10",
                                               "resolved_on": "2026-03-15"}]}).to_text()
    assert "Feedback loops" not in resolved and "Causal paths" not in resolved


SITES = ("lower_back", "neck", "upper_back")
FINDINGS = ("muscle_spasm", "muscle_knots", "localized_pain", "difficulty_moving")


@st.composite
def patients(draw):
    injuries = [{"kind": draw(st.sampled_from(("muscle_strain", "muscle_tear", "ligament_sprain"))),
                 "site": site, "days_since_onset": draw(st.integers(0, 40)), "resolved": draw(st.booleans())}
                for site in draw(st.lists(st.sampled_from(SITES), unique=True, max_size=2))]
    findings = [{"kind": k, "site": s} for k, s in draw(st.lists(
        st.tuples(st.sampled_from(FINDINGS), st.sampled_from(SITES)), unique=True, max_size=4))]
    return {"id": "h", "assessed_on": "2026-06-30", "injuries": injuries, "findings": findings}


@settings(max_examples=60, deadline=None)
@given(patients())
def test_loops_and_paths_agree_with_the_facts(reasoner, patient):
    e = reasoner.explain(patient)
    onto = e.ontology
    by_site = {}
    for f in e.facts:
        if f.site:
            by_site.setdefault(f.site, set()).update(onto.ancestors(f.concept))
    # A loop is reported at a site exactly when some causal cycle is wholly present
    # there, and it is the longest such cycle.
    expected = sorted((site, max((c for c in causal_cycles() if set(c) <= present), key=len))
                      for site, present in by_site.items() if any(set(c) <= present for c in causal_cycles()))
    assert [(loop.site, loop.concepts) for loop in feedback_loops(e)] == expected
    for loop in feedback_loops(e):
        assert all(e.fact(f).site == loop.site for f in loop.facts)
        assert [h.feedback for h in loop.edges].count(True) == 1
    graph = derivation_graph(e)
    paths = causal_paths(e)
    assert [(p.target, len(p.facts), p.facts) for p in paths] == sorted((p.target, len(p.facts), p.facts)
                                                                         for p in paths)
    for p in paths:
        assert e.fact(p.target).concept == "persistent_pain" and p.facts[-1] == p.target
        assert not e.fact(p.root).justifications and e.trace[p.root].details.get("role") != "status"
        for (a, b), rules in zip(zip(p.facts, p.facts[1:]), p.rules):
            assert rules and rules == graph.edges[a, b]["rules"]
            assert all(any(j.rule == r and a in j.premises for j in e.fact(b).justifications) for r in rules)
