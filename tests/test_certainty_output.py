"""Every output says how firmly each fact is held: text, JSON, RDF (and its SHACL shapes), graphs, why-not.

A possible fact (the source says "can" or "may") is never stated as a fact.
The general rule is checked over generated patients in
tests/test_certainty_properties.py; these are the concrete cases of the issue.
"""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from rdflib import URIRef

import kg
from kg.knowledge.ontology import PK, Ontology
from kg.render.rdf import LEVEL_IRIS, explanation_quads, fact_iri, firing_iri
from support import EXAMPLES, ROOT, derivation_shapes, example_paths, rdf_union, shacl_validate
from test_certainty_properties import text_problems, unwrapped_text

#: The issue's example: a lower-back tear on day 0, nothing reported.
TEAR_DAY0 = {"id": "tear-0", "assessed_on": "2026-03-01",
             "injuries": [{"kind": "tear", "site": "lower_back", "days_since_onset": 0}]}
#: A spasm reported with nothing else (s01 applied).
SPASM_ONLY = {"id": "spasm-1", "assessed_on": "2026-03-01", "findings": [{"kind": "muscle_spasm", "site": "neck"}]}
#: Knots reported: persistent pain follows.
KNOTS = {"id": "knots", "assessed_on": "2026-03-01", "findings": [{"kind": "muscle_knots", "site": "neck"}]}
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="module")
def tear(reasoner):
    return reasoner.explain(TEAR_DAY0)


@pytest.fixture(scope="module")
def hedged_reasoner(onto):
    """A reasoner over an ontology whose source only said knots CAN make the pain persist."""
    rules = dict(onto.rules)
    rules["persistent-pain-from-knots"] = replace(rules["persistent-pain-from-knots"], level="possible")
    variant = Ontology(dict(onto.concepts), dict(onto.edges), rules, dict(onto.passages), onto.document)
    return kg.Reasoner(ontology=variant)


# ---------------------------------------------------------------- text

def test_day0_tear_hedges_inflammation_and_severe_pain(tear):
    text = tear.to_text()
    assert tear.fact("inflammation@lower_back").certainty == "possible"
    assert "So: inflammation (lower back, possible): the area may be inflamed" in text
    assert "So: severe low back pain (lower back, possible): this may lead to severe low back" in text
    assert "Why: severe low back pain (lower back, possible): this may lead to severe low back pain" in text
    assert text.split("\n")[1] == tear.headline
    assert tear.headline.startswith("Persistent pain is not concluded yet; muscle knots would be expected")
    # Every step shows its own certainty and its rule's level.
    assert ("certainty of this step: possible, the weakest of its rule (possible) and its\n"
            "        premises (reported)") in text
    assert "So: muscle spasm (lower back, expected): this is expected, the source states it" in text
    assert "by this step only possibly: the muscles\n    may spasm (another step makes it expected)" in text
    # The story is the key chain: it does not go through the possible inflammation.
    assert "In short: muscle tear -> muscle spasm." in text
    assert "In short: muscle tear -> muscle spasm -> severe low back pain (possible)." in text
    assert "Recorded: muscle tear (lower back) - onset 2026-03-01" in text
    assert text_problems(tear, unwrapped_text(tear)) == []


def test_every_derived_step_in_the_text_has_a_certainty_line(tear):
    lines = tear.to_text().splitlines()
    for i, line in enumerate(lines):
        if ". So: " in line:
            following = next(l for l in lines[i + 1:] if l.startswith("      ") and not l.startswith("        "))
            assert following.startswith("      certainty of this step: "), line


def test_a_reported_spasm_alone_may_be_the_cause_of_the_pain(reasoner):
    e = reasoner.explain(SPASM_ONLY)
    pain = e.fact("pain@neck")
    assert (pain.certainty, [j.rule for j in pain.justifications]) == ("possible", ["spasm-may-cause-pain"])
    text = e.to_text()
    assert "Why: pain (neck, possible): the spasm may be the actual cause of the pain" in text
    assert "So: pain (neck, possible): the spasm may be the actual cause of the pain" in text
    assert 'source s01: "Muscle spasms often go hand-in-hand with other problems, and may be' in text
    assert not e.pain_persists and e.persistent_pain is None
    assert text_problems(e, unwrapped_text(e)) == []


def test_headline_says_yes_with_the_level_for_a_firm_persistent_pain(reasoner):
    e = reasoner.explain(KNOTS)
    assert (e.pain_persists, e.persistent_pain) == (True, "expected")
    assert e.headline == "Pain is expected to persist at the neck: muscle knots."
    assert e.to_text().split("\n")[1] == e.headline
    day20 = reasoner.explain(EXAMPLES / "lower-back-strain-day20.json")
    assert day20.headline.startswith("Pain is expected to persist at the lower back: muscle strain -> ")


def test_a_possible_persistent_pain_may_persist_and_never_persists(hedged_reasoner):
    e = hedged_reasoner.explain(KNOTS)
    assert (e.pain_persists, e.persistent_pain) == (False, "possible")
    text = e.to_text()
    assert text.splitlines()[1] == e.headline == "Pain may persist at the neck: muscle knots."
    assert "persists" not in e.headline
    assert "Why: persistent pain (neck, possible): the pain may persist" in text
    assert text_problems(e, unwrapped_text(e)) == []
    data = json.loads(e.to_json())
    assert (data["pain_persists"], data["persistent_pain"]) == (False, "possible")
    # The graph title and the what-if and interventions texts say it the same way.
    assert "pain may persist (possible)" in e.graph().to_dot().split("\n", 2)[1]
    w = kg.what_if(KNOTS, ["findings-=muscle_knots"], reasoner=hedged_reasoner).to_text()
    assert "before: assessed on 2026-03-01; pain may persist (possible)" in w
    assert "after:  assessed on 2026-03-01; pain persists: not concluded" in w
    r = kg.interventions(KNOTS, reasoner=hedged_reasoner).to_text()
    assert "pain may persist (possible)" in r and "pain persists: yes" not in r


def test_what_if_text_gives_the_level_of_persistent_pain_and_of_gained_facts(reasoner):
    w = kg.what_if(EXAMPLES / "lower-back-strain-acute.json", [], as_of="+10d", reasoner=reasoner).to_text()
    assert "pain persists: no" in w and "pain persists: yes (expected)" in w
    assert "- muscle_knots@lower_back (muscle knots, expected): by " in w


# ---------------------------------------------------------------- JSON

def test_json_has_certainty_on_facts_justifications_and_steps(tear):
    data = json.loads(tear.to_json())
    facts = {f["id"]: f for f in data["facts"]}
    assert facts["inflammation@lower_back"]["certainty"] == "possible"
    assert facts["muscle_tear@lower_back"]["certainty"] == "reported"
    spasm = facts["muscle_spasm@lower_back"]
    assert spasm["certainty"] == "expected"
    assert {j["rule"]: j["certainty"] for j in spasm["justifications"]} == {
        "spasm-from-inflammation": "possible", "spasm-protective": "expected"}
    steps = {(s["fact"], s["rule"]): s for c in data["chains"] for s in c["steps"]}
    step = steps[("severe_low_back_pain@lower_back", "severe-low-back-pain")]
    assert (step["certainty"], step["rule_certainty"]) == ("possible", "possible")
    assert (data["pain_persists"], data["persistent_pain"]) == (False, None)


# ---------------------------------------------------------------- RDF

def _levels(e) -> dict:
    return {s: o for s, p, o, _ in explanation_quads(e) if p == PK.certaintyLevel}


@pytest.mark.parametrize("path", example_paths(), ids=lambda p: p.stem)
def test_rdf_has_a_certainty_level_per_fact_and_per_firing(reasoner, path):
    e = reasoner.explain(path)
    levels = _levels(e)
    expected = {}
    for fact in e.facts:
        expected[fact_iri(e.patient.id, fact.id)] = LEVEL_IRIS[fact.certainty]
        for j, level in zip(fact.justifications, fact.justification_certainty):
            expected[firing_iri(e.patient.id, fact.id, j.rule, j.premises)] = LEVEL_IRIS[level]
    assert levels == expected


def test_rdf_names_the_ontologys_individuals(tear):
    assert set(LEVEL_IRIS.values()) == {PK.Reported, PK.Expected, PK.Possible}
    assert _levels(tear)[fact_iri("tear-0", "inflammation@lower_back")] == PK.Possible
    ttl = tear.to_rdf("ttl")
    assert "pk:certaintyLevel pk:Possible" in ttl and "pk:certaintyLevel pk:Reported" in ttl


@pytest.fixture(scope="module")
def shapes():
    return derivation_shapes()



def test_shapes_accept_the_certainty_of_a_hedged_chain(tear, shapes):
    conforms, text = shacl_validate(rdf_union([tear]), shapes)
    assert conforms, text


def test_shapes_catch_a_firing_firmer_than_its_rule_or_premise(tear, shapes):
    g = rdf_union([tear])
    firing = firing_iri("tear-0", "severe_low_back_pain@lower_back", "severe-low-back-pain",
                        ["inflammation@lower_back", "muscle_spasm@lower_back"])
    g.set((firing, PK.certaintyLevel, PK.Expected))
    conforms, text = shacl_validate(g, shapes)
    assert not conforms
    assert "A firing is held no more firmly than its rule or any of its premises." in text


def test_shapes_catch_a_firing_weaker_than_its_rule_and_premises(tear, shapes):
    g = rdf_union([tear])
    firing = firing_iri("tear-0", "muscle_spasm@lower_back", "spasm-protective",
                        ["injury_unresolved@lower_back/muscle_tear", "muscle_tear@lower_back"])
    g.set((firing, PK.certaintyLevel, PK.Possible))
    conforms, text = shacl_validate(g, shapes)
    assert not conforms
    assert "A firing is held at the weakest of its rule's and its premises' levels" in text
    # ... and the fact it generated is then firmer than its firmest firing.
    assert "A derived fact is held as firmly as its firmest firing" in text


def test_shapes_catch_a_missing_or_wrong_fact_level(tear, shapes):
    g = rdf_union([tear])
    g.remove((fact_iri("tear-0", "inflammation@lower_back"), PK.certaintyLevel, None))
    g.set((fact_iri("tear-0", "muscle_tear@lower_back"), PK.certaintyLevel, PK.Expected))
    g.set((fact_iri("tear-0", "difficulty_moving@lower_back"), PK.certaintyLevel, URIRef(PK) + "Sure"))
    conforms, text = shacl_validate(g, shapes)
    assert not conforms
    assert "A fact has exactly one certainty level: pk:Reported, pk:Expected or pk:Possible." in text
    assert "An observed fact is reported by the patient (pk:Reported)." in text


def test_example_query_lists_possible_conclusions(tear):
    q = (ROOT / "examples" / "queries" / "per-patient" / "possible-conclusions.rq").read_text(encoding="utf-8")
    rows = {(str(r.fact), str(r.rule), str(r.because)) for r in kg.query(q, [tear])}
    assert ("inflammation@lower_back", "inflammation-from-muscle-injury", "its rule") in rows
    assert {f for f, _, _ in rows} == {f.id for f in tear.facts if f.certainty == "possible"}


# ---------------------------------------------------------------- graphs

def test_graph_nodes_and_edges_carry_certainty(tear, onto):
    g = tear.graph(full=True)
    assert {n: d["certainty"] for n, d in g.nodes(data=True) if d["kind"] in ("input", "derived")} == {
        f.id: f.certainty for f in tear.facts}
    firing = g.nodes["spasm-from-inflammation:muscle_spasm@lower_back"]
    assert (firing["certainty"], firing["rule_certainty"]) == ("possible", "possible")
    assert g.nodes["spasm-protective:muscle_spasm@lower_back"]["certainty"] == "expected"
    c = tear.graph(compact=True)
    edge = c.edges["inflammation@lower_back", "muscle_spasm@lower_back", "spasm-from-inflammation"]
    assert (edge["certainty"], edge["rule_certainty"]) == ("possible", "possible")
    assert "persistent_pain" not in g.graph
    causal = kg.causal_graph()
    claim = causal.edges["inflammation", "muscle_spasm", "inflammation-causes-spasm"]
    assert (claim["certainty"], claim["certainty_level"]) == ("can", "possible")


def test_graph_exports_carry_the_certainty_attribute(tear):
    import networkx as nx

    g = tear.graph(full=True)
    back = nx.read_graphml(io.BytesIO(g.to_graphml().encode()), force_multigraph=True)
    assert back.nodes["inflammation@lower_back"]["certainty"] == "possible"
    assert back.nodes["spasm-may-cause-pain:pain@lower_back"]["rule_certainty"] == "possible"
    cy = json.loads(g.to_cytoscape())
    assert {n["data"]["id"]: n["data"].get("certainty") for n in cy["elements"]["nodes"]}["pain@lower_back"] == "possible"
    link = json.loads(g.to_json())
    assert {n["id"]: n.get("certainty") for n in link["nodes"]}["muscle_tear@lower_back"] == "reported"


def test_dot_draws_possible_facts_dashed_with_a_legend(tear):
    dot = tear.graph(compact=True).to_dot()
    lines = {line.split(" [", 1)[0].strip(): line for line in dot.splitlines() if " [" in line}
    assert 'style="rounded,filled,dashed"' in lines['"inflammation@lower_back"']
    assert "dashed" not in lines['"muscle_tear@lower_back"'] and "dashed" not in lines['"muscle_spasm@lower_back"']
    assert 'style="dashed"' in lines['"inflammation@lower_back" -> "muscle_spasm@lower_back"']
    assert "\\ndashed: possible (the source says it can or may happen)" in dot.splitlines()[1]
    full = tear.graph(full=True).to_dot()
    assert 'style="filled,dashed"' in full  # a possible firing
    # No possible fact, no legend line.
    knots = kg.explain(EXAMPLES / "knots-first-report.json").graph(compact=True).to_dot()
    assert "dashed: possible" not in knots and "pain persists: yes (expected)" in knots


def test_svg_renders_the_dashed_border(tear):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz dot is not installed")
    svg = tear.graph(compact=True).to_svg()
    assert "stroke-dasharray" in svg and "dashed: possible" in svg


def test_mermaid_has_a_possible_class(tear):
    g = tear.graph(compact=True)
    text = g.to_mermaid()
    ids = {node: f"n{i}" for i, node in enumerate(g.nodes, 1)}
    possible = sorted((ids[n] for n, d in g.nodes(data=True) if d["certainty"] == "possible"),
                      key=lambda x: int(x[1:]))
    assert "  classDef possible stroke-dasharray:5 5" in text
    assert f"  class {','.join(possible)} possible" in text
    assert "%% dashed: possible (the source says it can or may happen)" in text
    src, dst = ids["inflammation@lower_back"], ids["muscle_spasm@lower_back"]
    assert f'  {src} -. "spasm-from-inflammation" .-> {dst}' in text


def test_html_payload_has_the_legend_and_the_panel_names(tear):
    page = tear.graph().to_html()
    data = json.loads(page.split('<script id="painkg-data" type="application/json">', 1)[1].split("</script>", 1)[0])
    assert data["has_possible"] is True
    assert data["possible_legend"] == "dashed: possible (the source says it can or may happen)"
    assert data["certainty_names"]["possible"].startswith("possible: the source says it can or may happen")
    assert "node[certainty = 'possible']" in page and '"border-style": "dashed"' in page


# ---------------------------------------------------------------- why-not

def test_why_not_a_possible_conclusion_says_it_is_only_possible(tear):
    w = tear.why_not("inflammation", site="lower_back")
    answer = w.at("lower_back")
    assert (answer.concluded, answer.certainty) == (True, "possible")
    text = w.to_text()
    assert "inflammation at the lower back: concluded as possible: the source says it can happen" in text
    assert "CONCLUDED" not in text
    assert "inflammation was concluded at the lower back (possible)" in text
    assert "- inflammation@lower_back: possible, by inflammation-from-muscle-injury (a rule the\n" in text
    assert w.to_dict()["sites"][0]["certainty"] == "possible"
    firm = tear.why_not("muscle_spasm", site="lower_back").to_text()
    assert "muscle spasm at the lower back: CONCLUDED (expected), so there is no why-not" in firm


def test_why_not_shows_the_certainty_of_held_premises(reasoner):
    e = reasoner.explain({"id": "p", "assessed_on": "2026-03-10",
                          "injuries": [{"kind": "strain", "site": "lower_back", "days_since_onset": 5}]})
    w = e.why_not("muscle_overload", site="lower_back")
    (route,) = [r for r in w.at("lower_back").routes if r.rule == "overload-after-threshold"]
    held = {h.facts: h.certainty for h in route.held if h.facts}
    assert held[("continuous_contraction@lower_back",)] == ("expected",)
    assert held[("muscle_strain@lower_back",)] == ("reported",)
    assert "[continuous_contraction@lower_back (expected)]" in " ".join(w.to_text().split())
    data = w.to_dict()["sites"][0]["routes"]
    assert any(h["certainty"] == ["expected"] for r in data for h in r["held"])


# ---------------------------------------------------------------- the page in a real browser

def test_html_page_draws_possible_facts_dashed_in_chromium(tear, tmp_path):
    pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    chromium = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        pytest.skip("needs Chromium and its driver: apt-get install chromium chromium-driver")
    from selenium.webdriver.support.ui import WebDriverWait

    from support import headless_chromium

    browser = headless_chromium(chromium, driver_path, tmp_path / "profile")
    try:
        page = tmp_path / "tear.html"
        page.write_text(tear.graph(compact=True).to_html(), encoding="utf-8")
        browser.get(page.as_uri())
        WebDriverWait(browser, 30).until(
            lambda d: d.execute_script("return document.body.getAttribute('data-ready')") == "1")
        styles = browser.execute_script(
            "var cy = window.painkgCy; return [cy.getElementById('inflammation@lower_back').style('border-style'),"
            " cy.getElementById('muscle_spasm@lower_back').style('border-style'),"
            " cy.edges('[certainty = \"possible\"]')[0].style('line-style')];")
        assert styles == ["dashed", "solid", "dashed"]
        legend = browser.execute_script("return document.getElementById('legend').innerText")
        assert "dashed: possible (the source says it can or may happen)" in legend
        browser.execute_script("window.painkgCy.getElementById('inflammation@lower_back').emit('tap')")
        panel = browser.execute_script("return document.getElementById('panel').innerText")
        assert "possible: the source says it can or may happen, not that it does" in panel
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "html-graph-possible-clicked.png"))
    finally:
        browser.quit()
