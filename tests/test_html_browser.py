"""The HTML graph in a real headless Chromium: it renders offline, the story is readable as it
opens, and a click shows the quote.

Needs Debian's ``chromium`` and ``chromium-driver`` and the ``test`` extra
(selenium); skips with the reason otherwise. Screenshots go to
tests/artifacts/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import kg
from kg.render.graph import PainGraph
from support import EXAMPLES, example_paths, headless_chromium

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

VIEWS = {"story": {}, "full": {"full": True}, "compact": {"compact": True}}
#: Injuries at all three sites: a 130-node full graph with three active loops.
THREE_SITES = {
    "id": "three-sites", "assessed_on": "2026-07-30",
    "injuries": [
        {"kind": "strain", "site": "lower_back", "onset": "2026-07-01", "mechanism": "lifting_while_twisting"},
        {"kind": "sprain", "site": "neck", "onset": "2026-07-05", "mechanism": "fall"},
        {"kind": "tear", "site": "upper_back", "onset": "2026-07-02", "mechanism": "sudden_movement"}],
    "findings": [{"kind": "muscle_spasm", "site": "neck"}, {"kind": "localized_pain", "site": "lower_back"},
                 {"kind": "tender_to_touch", "site": "upper_back"}, {"kind": "better_at_rest", "site": "lower_back"},
                 {"kind": "radiating_pain_to_leg", "site": "lower_back"}],
}

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(CHROMIUM is None or DRIVER is None,
                                reason="needs Chromium and its driver: apt-get install chromium chromium-driver")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = headless_chromium(CHROMIUM, DRIVER, tmp_path_factory.mktemp("chromium-profile"), console_log=True)
    yield driver
    driver.quit()


def _open(browser, graph, path: Path):
    from selenium.webdriver.support.ui import WebDriverWait

    path.write_text(graph.to_html(), encoding="utf-8")
    browser.get(path.as_uri())
    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script("return document.body.getAttribute('data-ready')") == "1")


def _click_node(browser, node_id: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    box = browser.find_element(By.ID, "cy")
    x, y, w, h = browser.execute_script(
        "var p = window.painkgCy.getElementById(arguments[0]).renderedPosition();"
        "var r = document.getElementById('cy').getBoundingClientRect();"
        "return [p.x, p.y, r.width, r.height];", node_id)
    # Selenium offsets are from the element's centre; Cytoscape's from its top left.
    ActionChains(browser).move_to_element_with_offset(box, int(x - w / 2), int(y - h / 2)).click().perform()


def test_html_renders_every_node_offline_and_a_click_shows_the_quote(browser, tmp_path):
    e = kg.explain(THREE_SITES)
    graph = e.graph(full=True)
    assert graph.number_of_nodes() >= 100
    _open(browser, graph, tmp_path / "three-sites.html")
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "html-graph-three-sites.png"))
    # Too big to read when fitted, and its chain to the key conclusions spans it all:
    # it opens on the whole graph and says how to read the labels.
    assert browser.execute_script("return window.painkgCy.zoom()") < 0.75
    note = browser.execute_script("return document.getElementById('note').innerText")
    assert note == "Scroll, or double-click a node, to zoom in and read the labels."
    browser.find_element("id", "fit").click()
    browser.save_screenshot(str(ARTIFACTS / "html-graph-three-sites-fit.png"))
    assert browser.execute_script("return document.getElementById('note').innerText") == ""
    assert browser.execute_script("return window.painkgCy.zoom()") < 0.75

    counts = browser.execute_script(
        "var cy = window.painkgCy, w = cy.width(), h = cy.height();"
        "var shown = cy.nodes().filter(function (n) { var p = n.renderedPosition(), b = n.renderedBoundingBox();"
        "  return b.w > 0 && b.h > 0 && p.x >= 0 && p.y >= 0 && p.x <= w && p.y <= h; });"
        "return [cy.nodes().length, cy.edges().length, shown.length,"
        "        performance.getEntriesByType('resource').length];")
    assert counts == [graph.number_of_nodes(), graph.number_of_edges(), graph.number_of_nodes(), 0]
    loop_edges = browser.execute_script("return window.painkgCy.edges('[?loop]').length")
    assert loop_edges == sum(1 for *_, d in graph.edges(data=True) if d["loop"])

    firing = "persistent-pain-from-knots:persistent_pain@neck"
    _click_node(browser, firing)
    panel = browser.execute_script("return document.getElementById('panel').innerText")
    browser.save_screenshot(str(ARTIFACTS / "html-graph-three-sites-clicked.png"))
    assert panel.splitlines()[0] == "persistent-pain-from-knots"
    assert "These knots are painful, and become part of the problem." in panel
    assert "muscle knots (neck)  [muscle_knots@neck]" in panel
    # The click highlights the node's neighbourhood and fades the rest.
    faded = browser.execute_script("return window.painkgCy.elements('.faded').length")
    assert 0 < faded < graph.number_of_nodes() + graph.number_of_edges()


def test_html_passage_click_shows_its_sentence(browser, tmp_path):
    graph = kg.explain(EXAMPLES / "lower-back-strain-day20.json").graph(full=True)
    _open(browser, graph, tmp_path / "day20.html")
    browser.find_element("id", "fit").click()
    _click_node(browser, "s12")
    panel = browser.execute_script("return document.getElementById('panel').innerText")
    assert panel.splitlines()[0] == "s12"
    assert kg.load_ontology().passages["s12"].text in panel


def _console(browser) -> list[str]:
    return [f"{e['level']}: {e['message']}" for e in browser.get_log("browser")]


_VIEW = """
var cy = window.painkgCy, w = cy.width(), h = cy.height();
var graph = document.getElementById('cy').getBoundingClientRect();
var panel = document.getElementById('panel').getBoundingClientRect();
function outside(eles) {
  return eles.filter(function (n) { var b = n.renderedBoundingBox();
    return !(b.x1 >= 0 && b.y1 >= 0 && b.x2 <= w && b.y2 <= h && b.w > 0 && b.h > 0); }).map(function (n) { return n.id(); });
}
var key = cy.nodes('[?key_conclusion]');
return {zoom: cy.zoom(), outside: outside(cy.nodes()), chain_outside: outside(key.union(key.predecessors()).nodes()),
        overlap: Math.max(0, graph.right - panel.left), graph_width: graph.width, canvas_width: w,
        note: document.getElementById('note').innerText};
"""


@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize("path", example_paths(), ids=lambda p: p.stem)
def test_html_opens_on_the_whole_chain_beside_the_panel_with_a_silent_console(browser, tmp_path, path, view):
    graph = kg.explain(path).graph(**VIEWS[view])
    _console(browser)  # forget earlier pages
    _open(browser, graph, tmp_path / "page.html")
    if path.stem == "lower-back-strain-day20":
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / f"html-graph-day20-{view}-opening.png"))
    assert _console(browser) == []  # no deprecation warning, no error
    view = browser.execute_script(_VIEW)
    # The graph area is beside the side panel, and every node is inside it, whole.
    assert view["overlap"] == 0 and view["canvas_width"] == pytest.approx(view["graph_width"], abs=1)
    assert view["chain_outside"] == [] and view["outside"] == []
    assert 0 < view["zoom"] <= 1.5


def test_a_big_graph_with_a_short_chain_opens_on_the_chain(browser, tmp_path):
    g = PainGraph(name="painkg explanation of wide", patient="wide", assessed_on="2026-01-01", pain_persists=True,
                  view="compact")
    for i in range(80):
        g.add_node(f"other{i:02}", kind="input", label=f"an unrelated finding number {i}", status="observed",
                   loop=False)
    g.add_node("injury", kind="input", label="muscle strain", status="observed", loop=False)
    g.add_node("knots", kind="derived", label="muscle knots", status="derived", loop=False, key_conclusion=True)
    g.add_node("pain", kind="derived", label="persistent pain", status="derived", loop=False, key_conclusion=True)
    g.add_edge("injury", "knots", key="r1", kind="derivation", label="r1", loop=False)
    g.add_edge("knots", "pain", key="r2", kind="derivation", label="r2", loop=False)
    _console(browser)
    _open(browser, g, tmp_path / "wide.html")
    assert _console(browser) == []
    view = browser.execute_script(_VIEW)
    assert view["chain_outside"] == [] and view["outside"] and view["zoom"] >= 0.75
    assert view["note"] == ("Showing the chain to the key conclusions (3 of 83 nodes); scroll to zoom in, "
                            "press Fit to see them all.")
    browser.find_element("id", "fit").click()
    assert browser.execute_script(_VIEW)["outside"] == []


# ---------------------------------------------------------------- the story view, as a clinician opens it

_STORY = """
var cy = window.painkgCy, z = cy.zoom(), w = cy.width(), h = cy.height();
function inside(b) { return b.x1 >= 0 && b.y1 >= 0 && b.x2 <= w && b.y2 <= h; }
var loop = cy.edges("[kind = 'feedback']").map(function (e) {
  var s = e.source().renderedPosition(), t = e.target().renderedPosition(), m = e.renderedMidpoint();
  // How far the arc's middle lies off the straight line between its ends, in rendered px.
  var off = Math.abs((t.x - s.x) * (s.y - m.y) - (s.x - m.x) * (t.y - s.y)) / Math.hypot(t.x - s.x, t.y - s.y);
  return [e.id(), e.style("curve-style"), e.style("line-color"), e.style("line-style"), Math.round(off)];
});
return {
  label_px: cy.nodes().map(function (n) { return [n.id(), parseFloat(n.style("font-size")) * z]; }),
  outside: cy.nodes().filter(function (n) { return !inside(n.renderedBoundingBox()); }).map(function (n) { return n.id(); }),
  sites: cy.nodes("[kind = 'site']").map(function (n) { return [n.data("label"), n.children().length]; }),
  shown: cy.nodes(":childless").map(function (n) { return n.data("show"); }),
  dashed: cy.edges("[kind = 'causes']").filter(function (e) { return e.style("line-style") === "dashed"; })
            .map(function (e) { return e.id(); }).sort(),
  loop: loop, note: document.getElementById("note").innerText,
  ready_nodes: document.body.getAttribute("data-nodes")
};
"""


def _click_edge(browser, edge_id: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    box = browser.find_element(By.ID, "cy")
    x, y, w, h = browser.execute_script(
        "var p = window.painkgCy.getElementById(arguments[0]).renderedMidpoint();"
        "var r = document.getElementById('cy').getBoundingClientRect();"
        "return [p.x, p.y, r.width, r.height];", edge_id)
    ActionChains(browser).move_to_element_with_offset(box, int(x - w / 2), int(y - h / 2)).click().perform()


@pytest.fixture
def clinician_window(browser):
    browser.set_window_size(1400, 1000)
    yield browser
    browser.set_window_size(1400, 900)


@pytest.mark.parametrize(("name", "sites", "possible_edges"), [
    ("lower-back-strain-day20", [["lower back", 12]], 5), ("two-injuries", [["lower back", 11], ["neck", 5]], 6)])
def test_story_is_readable_at_first_zoom_and_draws_the_loop_as_an_arc(clinician_window, tmp_path, name, sites,
                                                                      possible_edges):
    browser = clinician_window
    graph = kg.explain(EXAMPLES / f"{name}.json").graph()
    _console(browser)
    _open(browser, graph, tmp_path / f"{name}.html")
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"html-graph-{name}-story.png"))
    assert _console(browser) == []
    view = browser.execute_script(_STORY)
    # Every label at least 11 px tall as the page opens, every node (and site box) whole in the graph area.
    assert min(px for _, px in view["label_px"]) >= 11, view["label_px"]
    assert view["outside"] == [] and view["note"] == ""
    assert view["sites"] == sites and view["ready_nodes"] == str(graph.number_of_nodes())
    assert "muscle spasm" in view["shown"] and not any("(lower back)" in s for s in view["shown"])
    possible = sorted(f"{u}->{v}:{k}" for u, v, k, d in graph.edges(keys=True, data=True)
                      if d["kind"] == "causes" and d["certainty"] == "possible")
    assert view["dashed"] == possible and len(possible) == possible_edges
    # The loop closes on an arc in the loop's red, well off the straight line, solid: it is firm.
    ((edge, curve, colour, style, off),) = view["loop"]
    assert (edge, curve, colour, style) == ("muscle_knots@lower_back->muscle_spasm@lower_back:knots-sustain-spasm",
                                            "unbundled-bezier", "rgb(211,47,47)", "solid")
    assert off >= 40


def test_story_click_on_a_fact_or_an_arrow_shows_its_firing_and_quote(clinician_window, tmp_path):
    browser = clinician_window
    graph = kg.explain(EXAMPLES / "lower-back-strain-day20.json").graph()
    _console(browser)
    _open(browser, graph, tmp_path / "day20.html")
    _click_node(browser, "muscle_knots@lower_back")
    panel = browser.execute_script("return document.getElementById('panel').innerText")
    browser.save_screenshot(str(ARTIFACTS / "html-graph-day20-story-clicked.png"))
    assert panel.splitlines()[0] == "muscle knots (lower back)"
    assert ("knots-from-overload: In the neck or back, where knots happen most often, the overloaded muscle "
            "forms knots. (expected)") in panel
    assert 's12: "After some amount of time the muscle overloads and forms these knots."' in panel
    assert "muscle overload (lower back)  [muscle_overload@lower_back]" in panel
    assert "persistent pain (lower back)\nmuscle spasm (lower back) (feedback loop)" in panel  # leads to
    _click_edge(browser, "continuous_contraction@lower_back->muscle_overload@lower_back:"
                         "continuous-contraction-causes-overload")
    panel = browser.execute_script("return document.getElementById('panel').innerText")
    assert panel.splitlines()[0] == "continuous contraction (lower back) \u2192 muscle overload (lower back)"
    assert "overload-after-threshold: A muscle kept continuously on overloads" in panel
    assert "basic injury not fixed (lower back)  [injury_unresolved@lower_back/muscle_strain]" in panel
    assert "the muscle strain has been unresolved for 20 days (threshold 14 days)" in panel
    assert 's11: "The muscles are not designed for this continuous work."' in panel
    _click_edge(browser, "muscle_knots@lower_back->muscle_spasm@lower_back:knots-sustain-spasm")
    panel = browser.execute_script("return document.getElementById('panel').innerText")
    assert "Pain persists because this loop is active and the basic injury (muscle strain) is not fixed" in panel
    assert 's05: "These knots are painful, and become part of the problem."' in panel
    assert _console(browser) == []


def test_a_big_story_opens_readable_at_its_top(clinician_window, tmp_path):
    browser = clinician_window
    graph = kg.explain(THREE_SITES).graph()
    _open(browser, graph, tmp_path / "three-sites.html")
    browser.save_screenshot(str(ARTIFACTS / "html-graph-three-sites-story.png"))
    view = browser.execute_script(_STORY)
    assert min(px for _, px in view["label_px"]) >= 11
    assert [label for label, _ in view["sites"]] == ["lower back", "upper back", "neck"]
    assert view["outside"] and view["note"] == (
        "The story is larger than the window at a readable size: drag to pan, scroll to zoom.")
    top = browser.execute_script("return window.painkgCy.getElementById('site:lower_back').renderedBoundingBox().y1")
    assert top == pytest.approx(20, abs=1)
