"""Graph exports (kg.render.graph_export) and `painkg graph`: every format, read back where a reader exists."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

import kg
from kg.render import graph_export
from kg.cli import cli
from kg.render.graph import PainGraph
from kg.render.graph_export import FORMATS, GraphvizMissing, export

from support import EXAMPLES, example_paths

DAY20 = EXAMPLES / "lower-back-strain-day20.json"
VIEWS = {"story": {}, "full": {"full": True}, "compact": {"compact": True}}
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed: apt-get install graphviz")


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.stdout_bytes, result.stderr


def _graphml_back(text: str):
    back = nx.read_graphml(io.BytesIO(text.encode("utf-8")), force_multigraph=True)
    # Edges come back keyed by their GraphML id (e0, e1...: unique); painkg's key is the "key" attribute.
    rekeyed = nx.MultiDiGraph(**back.graph)
    rekeyed.add_nodes_from(back.nodes(data=True))
    rekeyed.add_edges_from((u, v, d.pop("key"), d) for u, v, d in back.edges(data=True))
    return rekeyed


def test_format_list():
    assert FORMATS == ("cytoscape", "dot", "graphml", "html", "json", "mermaid", "png", "svg")


@pytest.mark.parametrize("view", ["story", "full"])
@pytest.mark.parametrize("path", example_paths(), ids=lambda p: p.stem)
def test_graphml_reads_back_with_every_attribute_and_the_loops_of_the_json(reasoner, path, view):
    e = reasoner.explain(path)
    g = e.graph(**VIEWS[view])
    back = _graphml_back(g.to_graphml())
    assert set(back.nodes) == set(g.nodes)
    assert sorted(back.edges(keys=True)) == sorted(g.edges(keys=True))
    for node, data in g.nodes(data=True):
        assert back.nodes[node] == data
    for u, v, k, data in g.edges(keys=True, data=True):
        assert back.edges[u, v, k] == data
    assert back.graph["patient"] == e.patient.id and back.graph["pain_persists"] is e.pain_persists
    assert back.graph["view"] == view
    # Loop marks agree with the JSON explanation.
    loops = json.loads(e.to_json())["loops"]
    assert {n for n, d in back.nodes(data=True) if d["kind"] in ("input", "derived") and d["loop"]} == {
        f for loop in loops for f in loop["facts"]}
    assert {(u, v) for u, v, d in back.edges(data=True) if d["kind"] == "feedback"} == {
        (h["source"], h["target"]) for loop in loops for h in loop["edges"] if h["feedback"]}


def test_node_link_json_round_trips(reasoner):
    g = reasoner.explain(DAY20).graph(compact=True)
    data = json.loads(g.to_json())
    try:
        back = nx.node_link_graph(data, edges="links")
    except TypeError:  # networkx < 3.4: "links" is the only key
        back = nx.node_link_graph(data)
    assert list(back.nodes(data=True)) == list(g.nodes(data=True))
    assert sorted(back.edges(keys=True, data=True), key=repr) == sorted(g.edges(keys=True, data=True), key=repr)


@pytest.mark.parametrize("view", ["story", "full"])
def test_cytoscape_json_has_unique_edge_ids_and_all_data(reasoner, view):
    g = reasoner.explain(DAY20).graph(**VIEWS[view])
    data = json.loads(g.to_cytoscape())
    nodes, edges = data["elements"]["nodes"], data["elements"]["edges"]
    assert [n["data"]["id"] for n in nodes] == list(g.nodes)
    ids = [e["data"]["id"] for e in edges]
    assert len(ids) == len(set(ids)) == g.number_of_edges()
    first = next(e["data"] for e in edges if e["data"]["key"] == "knots-sustain-spasm")
    assert (first["source"], first["target"], first["loop"]) == ("muscle_knots@lower_back", "muscle_spasm@lower_back", True)


def test_mermaid_has_a_line_per_node_and_edge_and_styles_the_loop(reasoner):
    g = reasoner.explain(EXAMPLES / "neck-strain-day16.json").graph(compact=True)
    lines = g.to_mermaid().splitlines()
    assert lines[0] == "flowchart LR"
    node_lines = [l for l in lines if re.match(r"  n\d+[\[\(]", l)]
    edge_lines = [l for l in lines if re.match(r"  n\d+ [-=]", l)]
    assert len(node_lines) == g.number_of_nodes() and len(edge_lines) == g.number_of_edges()
    loop_links = [str(i) for i, (*_, d) in enumerate(g.edges(data=True)) if d["loop"]]
    assert lines[-1] == f"  linkStyle {','.join(loop_links)} stroke:#d32f2f,stroke-width:3px"
    ids = {node: f"n{i}" for i, node in enumerate(g.nodes, 1)}
    loop_nodes = [ids[f"{c}@neck"] for c in ("muscle_spasm", "continuous_contraction", "muscle_overload", "muscle_knots")]
    assert lines[-2] == f"  class {','.join(sorted(loop_nodes, key=lambda n: int(n[1:])))} loop"
    ids = {node: f"n{i}" for i, node in enumerate(g.nodes, 1)}
    assert f'  {ids["muscle_knots@neck"]} -. "knots-sustain-spasm" .-> {ids["muscle_spasm@neck"]}' in lines
    assert f'  {ids["muscle_overload@neck"]} == "knots-from-overload" ==> {ids["muscle_knots@neck"]}' in lines


def _odd_graph() -> PainGraph:
    g = PainGraph(name='odd "name"', view="causal")
    g.add_node('a"b\\c', kind="concept", label='say "hi"\nnow', status="model", loop=False)
    g.add_node("x", kind="concept", label="x", status="model", loop=False)
    g.add_edge('a"b\\c', "x", key="k", kind="causal", label='quote "q"', loop=True)
    return g


def test_mermaid_and_dot_escape_quotes_and_newlines():
    g = _odd_graph()
    mermaid = g.to_mermaid()
    assert '  n1["say #quot;hi#quot;<br/>now"]:::concept' in mermaid
    assert '  n1 == "quote #quot;q#quot;" ==> n2' in mermaid
    dot = g.to_dot()
    # Labels are re-wrapped for the box; the tooltip keeps the line break.
    assert '  "a\\"b\\\\c" [label="say \\"hi\\" now", fillcolor="#e1bee7", tooltip="say \\"hi\\"\\nnow"];' in dot
    assert dot.startswith('digraph "odd \\"name\\"" {')


def test_story_mermaid_boxes_each_site_and_draws_the_loop_back(reasoner):
    g = reasoner.explain(EXAMPLES / "two-injuries.json").graph()
    lines = g.to_mermaid().splitlines()
    ids = {node: f"n{i}" for i, node in enumerate(g.nodes, 1)}
    assert lines[1:3] == ['  subgraph site1["neck"]', f'    {ids["ligament_sprain@neck"]}(["ligament sprain"]):::input']
    assert '  subgraph site2["lower back"]' in lines and lines.count("  end") == 2
    assert f'    {ids["persistent_pain@lower_back"]}["persistent pain"]:::derived' in lines
    knots, spasm = ids["muscle_knots@lower_back"], ids["muscle_spasm@lower_back"]
    assert f'  {knots} == "\u21ba feedback loop: knots-sustain-spasm" ==> {spasm}' in lines
    assert f'  {ids["muscle_tear@lower_back"]} -.-> {ids["inflammation@lower_back"]}' in lines  # possible
    assert f'  {ids["muscle_tear@lower_back"]} --> {spasm}' in lines  # expected, no label: the details are a click away
    assert f'  {spasm} ==> {ids["continuous_contraction@lower_back"]}' in lines  # on the loop
    loop_links = [str(i) for i, (*_, d) in enumerate(g.edges(data=True)) if d["loop"]]
    assert lines[-1] == f"  linkStyle {','.join(loop_links)} stroke:#d32f2f,stroke-width:3px" and len(loop_links) == 4


def test_story_dot_clusters_sites_and_curves_the_loop_back(reasoner):
    g = reasoner.explain(EXAMPLES / "two-injuries.json").graph()
    dot = g.to_dot()
    lines = {line.split(" [", 1)[0].strip(): line for line in dot.splitlines() if " [" in line}
    assert '  subgraph "cluster_0" {' in dot and '    graph [label="neck", labeljust=l, ' in dot
    assert '    graph [label="lower back", labeljust=l, ' in dot
    # Inside its site's box a fact is named without the site; reported facts are square, concluded ones rounded.
    assert lines['"muscle_tear@lower_back"'].startswith('    "muscle_tear@lower_back" [label="muscle tear", '
                                                        'fillcolor="#c8e6c9", ')
    assert 'style="filled"' in lines['"muscle_tear@lower_back"']
    assert 'style="rounded,filled,dashed"' in lines['"inflammation@lower_back"']
    feedback = lines['"muscle_knots@lower_back" -> "muscle_spasm@lower_back"']
    assert feedback.endswith('color="#d32f2f", penwidth="3", fontcolor="#d32f2f", style="solid", constraint="false", '
                             'xlabel="\u21ba feedback loop: knots-sustain-spasm"];')
    assert 'style="dashed"' in lines['"muscle_tear@lower_back" -> "inflammation@lower_back"']
    assert 'weight="10"' in lines['"muscle_overload@lower_back" -> "muscle_knots@lower_back"']
    assert "label=" not in lines['"muscle_tear@lower_back" -> "muscle_spasm@lower_back"'].split("tooltip=")[0]


@needs_dot
def test_dot_is_valid_graphviz_and_svg_has_quotes_as_tooltips(reasoner):
    g = reasoner.explain(DAY20).graph(full=True)
    canon = subprocess.run(["dot", "-Tcanon"], input=g.to_dot(), capture_output=True, text=True, check=True)
    assert "rankdir=LR" in canon.stdout
    svg = g.to_svg()
    assert svg.count('class="node"') == g.number_of_nodes()
    assert svg.count('class="edge"') == g.number_of_edges()
    # Graphviz writes tooltips as xlink:title; the passage's sentence is there.
    assert 'xlink:title="s05: &quot;These knots are painful, and become part of the problem.&quot;"' in svg
    assert svg.count('stroke="#d32f2f"') >= 7  # 7 loop edges (+ arrowheads, loop nodes)


@needs_dot
def test_story_svg_has_a_box_per_site_and_every_fact(reasoner):
    g = reasoner.explain(EXAMPLES / "two-injuries.json").graph()
    svg = g.to_svg()
    assert svg.count('class="node"') == g.number_of_nodes() == 16 and svg.count('class="cluster"') == 2
    assert svg.count('class="edge"') == g.number_of_edges()
    assert ">\u21ba feedback loop: knots&#45;sustain&#45;spasm</text>" in svg


@needs_dot
@pytest.mark.parametrize("view", ["story", "full", "compact", "causal"])
def test_png_renders(reasoner, view):
    g = kg.causal_graph() if view == "causal" else reasoner.explain(DAY20).graph(**VIEWS[view])
    png = g.to_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"graph-day20-{view}.png").write_bytes(png)


def test_graphviz_missing_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(graph_export.shutil, "which", lambda name: None)
    with pytest.raises(GraphvizMissing, match=r"apt-get install graphviz.*brew install graphviz"):
        kg.causal_graph().to_svg()
    code, out, err = run("graph", DAY20, "--format", "png", "-o", tmp_path / "x.png")
    assert (code, out) == (2, b"")
    assert err.startswith("error: Graphviz's `dot` program is needed to render PNG but was not found on PATH; "
                          "install Graphviz (Debian/Ubuntu: apt-get install graphviz;")
    assert not (tmp_path / "x.png").exists()
    # Formats that need nothing still work.
    for fmt in ("dot", "mermaid", "graphml", "json", "cytoscape", "html"):
        assert run("graph", DAY20, "--format", fmt)[0] == 0


def test_html_is_self_contained(reasoner):
    g = reasoner.explain(DAY20).graph()
    page = g.to_html()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)
    assert "cytoscape" in page and "dagre" in page
    data = re.search(r'<script id="painkg-data" type="application/json">(.*?)</script>', page, re.S).group(1)
    payload = json.loads(data)
    assert len(payload["elements"]["nodes"]) == g.number_of_nodes()
    assert len(payload["elements"]["edges"]) == g.number_of_edges()


def test_html_data_cannot_close_its_script_element():
    g = _odd_graph()
    g.nodes["x"]["label"] = "</script><b>x</b>"
    page = g.to_html()
    data = re.search(r'<script id="painkg-data" type="application/json">(.*?)</script>', page, re.S).group(1)
    assert json.loads(data)["elements"]["nodes"][1]["data"]["label"] == "</script><b>x</b>"


def test_vendored_javascript_ships_with_its_licences():
    static = Path(kg.__file__).parent / "static"
    assert sorted(p.name for p in static.iterdir()) == [
        "THIRD_PARTY_LICENSES.txt", "cytoscape-dagre.min.js", "cytoscape.min.js", "graph.html", "yasgui"]
    assert sorted(p.name for p in (static / "yasgui").iterdir()) == ["yasgui.min.css", "yasgui.min.js"]
    licences = (static / "THIRD_PARTY_LICENSES.txt").read_text(encoding="utf-8")
    assert licences.count("MIT License") == 4 and "The Cytoscape Consortium" in licences
    assert "Chris Pettitt" in licences and "Zazuko" in licences


TEXT_FORMATS = ("dot", "graphml", "json", "cytoscape", "mermaid", "html")


def test_every_example_in_every_text_format_is_deterministic(reasoner):
    outputs = 0
    for path in example_paths():
        for flags in VIEWS.values():
            for fmt in TEXT_FORMATS:
                one = export(reasoner.explain(path).graph(**flags), fmt)
                assert isinstance(one, str) and one == export(kg.explain(path).graph(**flags), fmt)
                outputs += 1
    assert outputs == 9 * 3 * 6


def test_unknown_format_is_an_input_error():
    with pytest.raises(kg.InputError, match='--format: "pdf" is not allowed; expected one of cytoscape, dot'):
        export(kg.causal_graph(), "pdf")


def test_cli_graph_matches_the_api(tmp_path):
    code, out, _ = run("graph", DAY20, "--format", "mermaid", "--compact")
    assert code == 0 and out.decode() == kg.explain(DAY20).graph(compact=True).to_mermaid()
    code, out, _ = run("graph", DAY20, "--format", "graphml", "--full")
    assert code == 0 and out.decode() == kg.explain(DAY20).graph(full=True).to_graphml()
    code, out, _ = run("graph", DAY20, "--format", "json")
    assert code == 0 and out.decode() == kg.explain(DAY20).graph().to_json()
    assert json.loads(out)["graph"]["view"] == "story" and len(json.loads(out)["nodes"]) == 12
    code, out, _ = run("graph", "--ontology", "--format", "graphml", "-o", tmp_path / "causal.graphml")
    assert (code, out) == (0, b"")
    assert (tmp_path / "causal.graphml").read_text(encoding="utf-8") == kg.causal_graph().to_graphml()
    code, out, _ = run("graph", DAY20, "--as-of", "2026-03-10", "--format", "json")
    assert code == 0 and json.loads(out)["graph"]["pain_persists"] is False


@needs_dot
def test_cli_png_to_a_file(tmp_path):
    code, _, _ = run("graph", DAY20, "--format", "png", "-o", tmp_path / "g.png")
    assert code == 0 and (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(("args", "message"), [
    ((), "error: PATIENT: give a patient FILE (or - for standard input), or --ontology, but not both\n"),
    ((str(DAY20), "--ontology"), "error: PATIENT: give a patient FILE (or - for standard input), or --ontology, but not both\n"),
    ((str(DAY20), "--format", "pdf"), "error: Invalid value for '--format': 'pdf' is not one of 'dot', 'svg', "
                                      "'png', 'graphml', 'json', 'cytoscape', 'mermaid', 'html'.\n"),
    ((str(DAY20), "--full", "--compact"), "error: --full: choose one view: --full, --compact or neither (the story)\n"),
])
def test_cli_graph_errors(args, message):
    code, out, err = run("graph", *args)
    assert (code, out) == (2, b"")
    assert err.startswith(message)
