"""Every output is well formed whatever the data holds: XML parses, Graphviz reads the DOT,
GraphML ids are unique, the HTML page holds no control character, and a terminal never
receives a raw escape sequence from the data.

A patient id is free text; the input side may come to refuse control characters in it, so
these tests put them into the graphs directly (and through the CLI only where the input
side still lets them in).
"""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import networkx as nx
import pytest

import kg
from kg.render.graph_export import export
from kg.render.safe_text import visible

from support import EXAMPLES, example_paths

DAY20 = EXAMPLES / "lower-back-strain-day20.json"
#: NUL, SOH, an SGR and an OSC (window title) sequence, BEL, DEL, NEL, CSI (C1),
#: a noncharacter, a plane-16 noncharacter, a lone surrogate, a carriage return.
HOSTILE = "a\x00b\x01c\x1b[31mred\x1b]0;pwned\x07\x7f\x85\x9b2J\ufffe\U0010ffff\ud800\rz\"q'<&>"
#: Characters XML 1.0 cannot hold, plus the C1 controls and DEL that HTML checkers reject.
UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff\U0010fffe\U0010ffff]")
GRAPHML = "{http://graphml.graphdrawing.org/xmlns}"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed: apt-get install graphviz")


#: The views of an explanation graph and the flags that choose them.
VIEWS = {"story": {}, "full": {"full": True}, "compact": {"compact": True}}


def hostile_graph(view: str = "story"):
    """A real explanation graph whose patient id, one node and one edge hold control characters."""
    g = kg.explain(DAY20).graph(**VIEWS[view])
    g.graph.update(patient=HOSTILE, name=f"painkg explanation of {HOSTILE}")
    g.add_node(HOSTILE, kind="input", label=f"label {HOSTILE}", status="observed", detail=HOSTILE, loop=False)
    g.add_edge(HOSTILE, "muscle_spasm@lower_back", key=HOSTILE, kind="derivation", label=HOSTILE, loop=False)
    return g


# ---------------------------------------------------------------- control characters

@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize("fmt", ["dot", "graphml", "mermaid", "html"])
def test_text_formats_hold_no_raw_control_character(fmt, view):
    text = export(hostile_graph(view), fmt)
    assert UNSAFE.findall(text) == []
    assert "\\u001b[31mred" in text  # shown, not dropped
    text.encode("utf-8")  # and every character can be written


@needs_dot
@pytest.mark.parametrize("view", list(VIEWS))
def test_dot_with_control_characters_is_read_by_graphviz_and_its_svg_is_xml(view):
    g = hostile_graph(view)
    done = subprocess.run(["dot", "-Tsvg"], input=g.to_dot().encode("utf-8"), capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    root = ET.fromstring(done.stdout)
    assert sum(1 for e in root.iter("{http://www.w3.org/2000/svg}g") if e.get("class") == "node") == \
        g.number_of_nodes()
    svg = g.to_svg()
    assert ET.fromstring(svg.encode("utf-8")) is not None and UNSAFE.findall(svg) == []
    assert "label a\\u0000b\\u0001c\\u001b[31mred" in "".join(ET.fromstring(svg.encode("utf-8")).itertext())


def _graphml_ids(text: str) -> dict[str, list]:
    root = ET.fromstring(text.encode("utf-8"))
    keys = root.findall(f"{GRAPHML}key")
    return {"key": [k.get("id") for k in keys],
            "key_for": [(k.get("for"), k.get("attr.name"), k.get("id")) for k in keys],
            "node": [n.get("id") for n in root.iter(f"{GRAPHML}node")],
            "edge": [e.get("id") for e in root.iter(f"{GRAPHML}edge")],
            "data": [(parent.tag.replace(GRAPHML, ""), d.get("key")) for parent in root.iter()
                     for d in parent.findall(f"{GRAPHML}data")]}


def _check_graphml(text: str, g) -> None:
    ids = _graphml_ids(text)
    for what in ("key", "node", "edge"):
        assert None not in ids[what], f"a {what} without an id"
        repeated = {i: n for i, n in Counter(ids[what]).items() if n > 1}
        assert repeated == {}, f"{what} ids repeat: {repeated}"
    # Node and edge keys never share an id, and every <data> names a key of its own domain.
    domain = {key: for_ for for_, _, key in ids["key_for"]}
    assert all(domain[key] == tag for tag, key in ids["data"])
    assert len(ids["node"]) == g.number_of_nodes() and len(ids["edge"]) == g.number_of_edges()
    assert set(ids["node"]).isdisjoint(ids["edge"])
    back = nx.read_graphml(io.BytesIO(text.encode("utf-8")), force_multigraph=True)
    assert back.number_of_nodes() == g.number_of_nodes() and back.number_of_edges() == g.number_of_edges()


def _graphs():
    for path in example_paths():
        for view, flags in VIEWS.items():
            yield f"{path.stem}-{view}", lambda p=path, f=flags: kg.explain(p).graph(**f)
    yield "ontology", kg.causal_graph


@pytest.mark.parametrize("name,make", list(_graphs()), ids=[n for n, _ in _graphs()])
def test_graphml_ids_are_unique_in_every_example_and_the_ontology(name, make):
    g = make()
    _check_graphml(g.to_graphml(), g)


@pytest.mark.parametrize("view", ["story", "full"])
def test_graphml_node_and_edge_keys_of_the_same_attribute_have_distinct_ids(view):
    g = kg.explain(DAY20).graph(**VIEWS[view])
    names = {}
    for for_, attr, key in _graphml_ids(g.to_graphml())["key_for"]:
        names.setdefault(attr, {})[for_] = key
    assert names["label"]["node"] != names["label"]["edge"]
    assert names["kind"]["node"] != names["kind"]["edge"]


def test_graphml_with_control_characters_is_well_formed_and_reads_back():
    g = hostile_graph()
    text = g.to_graphml()
    _check_graphml(text, g)
    back = nx.read_graphml(io.BytesIO(text.encode("utf-8")), force_multigraph=True)
    assert back.graph["patient"] == visible(HOSTILE)
    assert back.nodes[visible(HOSTILE)]["detail"] == visible(HOSTILE)
    # The carriage return survives as a character reference.
    assert "\r" in back.graph["patient"]


def test_graphml_reads_in_igraph():
    igraph = pytest.importorskip("igraph", reason="python-igraph is not installed (pip install igraph)")
    for g in (kg.explain(DAY20).graph(), kg.explain(DAY20).graph(full=True), hostile_graph("compact"),
              kg.causal_graph()):
        path = Path(os.environ.get("TMPDIR", "/tmp")) / f"painkg-igraph-{os.getpid()}.graphml"
        try:
            path.write_text(g.to_graphml(), encoding="utf-8")
            ig = igraph.Graph.Read_GraphML(str(path))
        finally:
            path.unlink(missing_ok=True)
        assert (ig.vcount(), ig.ecount()) == (g.number_of_nodes(), g.number_of_edges())
        assert sorted(ig.es["key"]) == sorted(visible(k) for _, _, k in g.edges(keys=True))


@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize("path", example_paths(), ids=lambda p: p.stem)
def test_html_page_holds_no_control_character(path, view):
    page = kg.explain(path).graph(**VIEWS[view]).to_html()
    assert [(m.start(), m.group()) for m in UNSAFE.finditer(page)] == []


def test_html_page_shows_control_characters_as_escapes():
    page = hostile_graph().to_html()
    assert UNSAFE.findall(page) == []
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert title.startswith("painkg: patient a\\u0000b\\u0001c\\u001b[31mred\\u001b]0;pwned\\u0007")
    data = json.loads(re.search(r'<script id="painkg-data" type="application/json">(.*?)</script>', page,
                                re.S).group(1))
    labels = [n["data"]["label"] for n in data["elements"]["nodes"]]
    assert "label " + visible(HOSTILE, cr="escape") in labels


def test_json_formats_keep_control_characters_escaped_by_json():
    g = hostile_graph()
    for fmt in ("json", "cytoscape"):
        text = export(g, fmt)
        assert "\x00" not in text and "\x1b" not in text
        json.loads(text)


# ---------------------------------------------------------------- terminal

def _on_a_terminal(args: list[str], env_extra: dict | None = None) -> tuple[int, bytes, bytes]:
    """Run ``args`` with a pseudo-terminal as standard output; return (status, terminal bytes, stderr)."""
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", **(env_extra or {})}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(args, stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    err = proc.stderr.read()
    proc.stderr.close()
    return proc.wait(timeout=60), b"".join(chunks), err


def _assert_no_data_escapes(screen: bytes) -> None:
    text = screen.decode("utf-8", "replace")
    # rich styles with SGR sequences of its own (ESC [ ... m); nothing else may reach the terminal.
    others = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert re.findall(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f]", others.replace("\r\n", "\n")) == []
    assert "\x1b[31m" not in text and "\x1b]" not in text and "\ufffe" not in text


def test_report_on_a_terminal_shows_control_characters_as_escapes():
    code = ("from kg.cli.output import write_report, write_output; import json, sys; h = json.loads(sys.argv[1]); "
            "write_report([('title', 'patient ' + h), ('quote', h)], 'plain', None); "
            "write_output('digraph \"' + h + '\" {}\\n', None)")
    status, screen, err = _on_a_terminal([sys.executable, "-c", code, json.dumps(HOSTILE)])
    assert status == 0, err.decode()
    _assert_no_data_escapes(screen)
    text = screen.decode("utf-8")
    assert "patient a\\u0000b\\u0001c\\u001b[31mred\\u001b]0;pwned\\u0007" in text
    assert 'digraph "a\\u0000b' in text


def test_piped_output_is_written_exactly():
    code = "from kg.cli.output import write_output; write_output('x\\x1b[31my\\r\\n', None)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert done.stdout == b"x\x1b[31my\r\n"


def test_explain_on_a_terminal_never_passes_an_escape_sequence_through(tmp_path):
    patient = json.loads(DAY20.read_text(encoding="utf-8"))
    patient["id"] = "p\x1b]0;pwned\x07\x1b[2J\x00\x9b31m"
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(patient), encoding="utf-8")
    status, screen, err = _on_a_terminal([sys.executable, "-m", "kg.cli", "explain", str(path)])
    _assert_no_data_escapes(screen)
    if status == 0:
        assert "p\\u001b]0;pwned\\u0007\\u001b[2J\\u0000\\u009b31m" in screen.decode("utf-8")
    else:  # the input side refuses such an id: its message must be as safe
        assert status == 2 and err.startswith(b"error: ")
        _assert_no_data_escapes(err)


def test_a_lone_surrogate_is_written_as_its_escape_not_a_crash(tmp_path):
    # JSON input may hold "\ud800", which no UTF-8 writer accepts.
    code = ("from kg.cli.output import write_output; import sys; "
            "write_output('{\"id\": \"a\\ud800b\"}\\n', sys.argv[1] if len(sys.argv) > 1 else None)")
    piped = subprocess.run([sys.executable, "-c", code], capture_output=True, check=False)
    assert piped.returncode == 0, piped.stderr.decode()
    to_file = subprocess.run([sys.executable, "-c", code, str(tmp_path / "out.json")], capture_output=True)
    assert to_file.returncode == 0, to_file.stderr.decode()
    assert piped.stdout == (tmp_path / "out.json").read_bytes() == b'{"id": "a\\ud800b"}\n'
    assert json.loads(piped.stdout)["id"] == "a\ud800b"
