"""The HTML graph in a real headless Chromium: it renders offline and a click shows the quote.

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

#: Injuries at all three sites: a 130-node graph with three active loops.
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
    graph = e.graph()
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
    graph = kg.explain(EXAMPLES / "lower-back-strain-day20.json").graph()
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


@pytest.mark.parametrize("compact", [False, True], ids=["full", "compact"])
@pytest.mark.parametrize("path", example_paths(), ids=lambda p: p.stem)
def test_html_opens_on_the_whole_chain_beside_the_panel_with_a_silent_console(browser, tmp_path, path, compact):
    graph = kg.explain(path).graph(compact=compact)
    _console(browser)  # forget earlier pages
    _open(browser, graph, tmp_path / "page.html")
    if path.stem == "lower-back-strain-day20":
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / f"html-graph-day20-{'compact' if compact else 'full'}-opening.png"))
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
