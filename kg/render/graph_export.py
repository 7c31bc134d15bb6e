"""Write painkg graphs (:mod:`kg.render.graph`) in formats people can open.

========== ============================================================ ==================
format     what                                                         needs
========== ============================================================ ==================
dot        Graphviz DOT, left to right, coloured by node kind            nothing
svg        DOT rendered by Graphviz; quotes are tooltips                 Graphviz ``dot``
png        DOT rendered by Graphviz                                      Graphviz ``dot``
graphml    GraphML with unique ids (Gephi, Cytoscape, yEd, networkx)     nothing
json       networkx node-link JSON                                       nothing
cytoscape  Cytoscape.js elements JSON                                    nothing
mermaid    Mermaid flowchart (renders in GitHub Markdown)                nothing
html       one self-contained interactive page (Cytoscape.js inside)     nothing
========== ============================================================ ==================

Possible facts and firings (``certainty`` ``possible``: the source says "can"
or "may") are drawn with a dashed border, possible ``causes`` (story) and
``derivation`` (compact) edges dashed, in DOT/SVG/PNG, Mermaid and HTML; each
format says so in its legend (DOT: the title; Mermaid: a comment and the
``possible`` class; HTML: the legend bar). The story view puts each site in a
box of its own and curves the edge that closes a feedback loop back over it.

Every format is deterministic: the same graph gives the same bytes (for svg
and png, with the same Graphviz version). Control characters in the data (a
patient id may hold any) are written as visible ``\\uXXXX`` escapes wherever the
format cannot carry them (:mod:`kg.render.safe_text`): GraphML and SVG stay
well-formed XML, DOT stays readable by Graphviz, the HTML page passes a checker.

Example
-------
>>> import kg
>>> g = kg.explain("examples/knots-first-report.json").graph(compact=True)
>>> print(export(g, "mermaid").splitlines()[0])
flowchart LR
>>> export(g, "dot").startswith('digraph "painkg explanation of knots-1" {')
True
>>> export(g, "pdf")
Traceback (most recent call last):
...
kg.errors.InputError: --format: "pdf" is not allowed; expected one of cytoscape, dot, graphml, html, json, mermaid, png, svg
"""

from __future__ import annotations

import json
import shutil
import string
import subprocess
import textwrap
from importlib import resources

from ..errors import InputError, PainkgError
from ..knowledge.wording import pain_persists_text
from .safe_text import visible

__all__ = ["FORMATS", "BINARY_FORMATS", "COLORS", "POSSIBLE_LEGEND", "GraphvizMissing", "export", "to_dot", "render",
           "to_graphml", "to_node_link_json", "to_cytoscape_json", "to_mermaid", "to_html"]

#: Fill colour of each node kind (shared by DOT, Mermaid and HTML).
COLORS = {"input": "#c8e6c9", "derived": "#bbdefb", "firing": "#fff3c4", "passage": "#eeeeee",
          "concept": "#e1bee7"}
_KIND_NAMES = {"input": "patient input", "derived": "concluded fact", "firing": "rule firing",
               "passage": "source sentence", "concept": "concept", "premise": "premise",
               "concludes": "concludes", "evidence": "evidence", "derivation": "derivation",
               "feedback": "feedback edge (no rule applies it)", "causal": "causal claim",
               "causes": "causes (a rule firing applied the source's causal claim)", "site": "body site"}
_LOOP_COLOR, _EDGE_COLOR = "#d32f2f", "#455a64"
#: Drawn before the label of the edge that closes a feedback loop in the story view.
_LOOP_MARK = "\u21ba feedback loop: "
#: What a dashed border means, in every format's legend.
POSSIBLE_LEGEND = "dashed: possible (the source says it can or may happen)"
#: The certainty levels as the HTML side panel explains them.
_CERTAINTY_NAMES = {"reported": "reported: the patient gave it",
                    "expected": "expected: the source states it as what happens",
                    "possible": "possible: the source says it can or may happen, not that it does"}
_INSTALL = ("Graphviz's `dot` program is needed to render {fmt} but was not found on PATH; "
            "install Graphviz (Debian/Ubuntu: apt-get install graphviz; Fedora: dnf install graphviz; "
            "macOS: brew install graphviz; Windows: winget install graphviz) or choose a format that "
            "needs nothing: dot, mermaid, graphml, json, cytoscape, html")


class GraphvizMissing(PainkgError):
    """Graphviz's ``dot`` is not installed, so SVG/PNG cannot be rendered."""


# ---------------------------------------------------------------- DOT

def _q(text) -> str:
    """A DOT double-quoted string (escString: ``\\n`` is a centred line break).

    Control characters become visible escapes first: Graphviz stops reading
    at a NUL, and its SVG would not be well-formed XML with the others.
    """
    text = visible(text).replace("\r\n", "\n").replace("\r", "\n")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _wrap(label: str, width: int = 24) -> str:
    return "\n".join(textwrap.wrap(label, width)) or label


def _in_site(data: dict, node, story: bool) -> tuple:
    # In the story each site is a box of its own that names the site once: (site, label within it).
    site, label = data.get("site_label") if story else None, data.get("label", node)
    return site, label.removesuffix(f" ({site})") if site else label


def _tooltip(data: dict) -> str:
    if data.get("kind") == "passage":
        return data.get("quote", "")
    parts = [data.get("label", "")]  # a story's firings hold the rule labels
    for key in ("detail", "firings", *(() if data.get("firings") else ("rule_label",)), "condition", "claim", "quote",
                "text"):
        if data.get(key) and data[key] not in parts:
            parts.append(str(data[key]))
    return "\n".join(p for p in parts if p)


def to_dot(g) -> str:
    """Graphviz DOT text, laid out left to right from causes to conclusions.

    In the story view reported facts are square boxes and concluded ones
    rounded, and the feedback edge that closes a loop curves back over them.

    >>> import kg
    >>> dot = kg.causal_graph().to_dot()
    >>> '"muscle_knots" -> "muscle_spasm"' in dot
    True
    """
    story = g.graph.get("view") == "story"
    look, sep = ((12, 10, _EDGE_COLOR, "0.9, penwidth=1.6"), 0.3) if story else ((10, 8, "#757575", "0.7"), 0.25)
    lines = [f"digraph {_q(g.graph.get('name', 'painkg'))} {{",
             f"  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=12, nodesep={sep}, ranksep=0.5, "
             f"labelloc=t, label={_q(_dot_title(g))}];",
             f'  node [fontname="Helvetica", fontsize={look[0]}, shape=box, style="rounded,filled", color="#616161", '
             'margin="0.12,0.06"];',
             f'  edge [fontname="Helvetica", fontsize={look[1]}, color="{look[2]}", fontcolor="#424242", '
             f'arrowsize={look[3]}];']
    clusters: dict[str, list[str]] = {}
    for node, data in g.nodes(data=True):
        kind, (site, label) = data.get("kind", ""), _in_site(data, node, story)
        attrs = {"label": _wrap(label), "fillcolor": COLORS.get(kind, "#ffffff"), "tooltip": _tooltip(data)}
        if kind == "firing":
            attrs.update(shape="cds", fontsize="8", style="filled")
        elif kind == "passage":
            attrs.update(shape="note", style="filled")
        elif story and kind == "input":
            attrs["style"] = "filled"  # reported: a square box; concluded facts are rounded
        if data.get("certainty") == "possible":
            attrs["style"] = attrs.get("style", "rounded,filled") + ",dashed"
        attrs.update({"penwidth": "2.5"} if data.get("key_conclusion") else {})
        attrs.update(dict(color=_LOOP_COLOR, penwidth="2.5") if data.get("loop") else {})
        line = f"  {_q(node)} [" + ", ".join(f"{k}={_q(v)}" for k, v in attrs.items()) + "];"
        clusters.setdefault(site, []).append("  " + line) if site else lines.append(line)
    for n, (site, members) in enumerate(clusters.items()):
        lines += [f'  subgraph "cluster_{n}" {{', f'    graph [label={_q(site)}, labeljust=l, style="rounded,filled", '
                  'fillcolor="#fafafa", color="#bdbdbd", fontsize=14];', *members, "  }"]
    for source, target, key, data in g.edges(keys=True, data=True):
        kind = data.get("kind", "")
        attrs = {"tooltip": _tooltip(data) or key}
        if kind in ("derivation", "feedback", "causal"):
            attrs["label"] = (_LOOP_MARK if story else "") + data.get("label", key)
        if kind == "evidence":
            attrs.update(style="dotted", color="#bdbdbd", arrowhead="none")
        if kind in ("derivation", "causes") and data.get("certainty") == "possible":
            attrs["style"] = "dashed"
        if data.get("causal") is False:
            attrs.update(style="dashed", color="#9e9e9e")
        if data.get("loop"):
            attrs.update(color=_LOOP_COLOR, penwidth="2.5", fontcolor=_LOOP_COLOR)
        if kind == "feedback" or data.get("feedback"):
            # Keep the left-to-right order: the edge that closes a loop runs backwards
            # (in the story, over the top of the loop and dashed only when possible).
            attrs.update(style="dashed", constraint="false")
            if story:
                attrs.update(style="dashed" if data.get("certainty") == "possible" else "solid", penwidth="3",
                             xlabel=attrs.pop("label"))
        elif story and kind == "causes" and data.get("loop"):
            attrs["weight"] = "10"  # the loop's forward edges in one straight row
        lines.append(f"  {_q(source)} -> {_q(target)} [" + ", ".join(f"{k}={_q(v)}" for k, v in attrs.items()) + "];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _has_possible(g) -> bool:
    return (any(d.get("certainty") == "possible" for _, d in g.nodes(data=True))
            or any(d.get("certainty") == "possible" for *_, d in g.edges(data=True)))


def _graph_title(g) -> str:
    if g.graph.get("view") == "causal":
        return "painkg: the causal model of the source"
    level = g.graph.get("persistent_pain")
    if level is None and g.graph.get("pain_persists"):
        level = "expected"  # a graph built by hand, without the level
    persists = pain_persists_text(level) if level else "pain persists: not concluded"
    return f"painkg: patient {g.graph.get('patient')}, assessed on {g.graph.get('assessed_on')}; {persists}"


def _dot_title(g) -> str:
    # The title is the DOT legend: it says what a dashed border means when there is one.
    return _graph_title(g) + (f"\n{POSSIBLE_LEGEND}" if _has_possible(g) else "")


def render(dot: str, fmt: str) -> bytes:
    """Render DOT text with Graphviz ``dot`` to ``svg`` or ``png`` bytes.

    Raises :class:`GraphvizMissing` (a :class:`~kg.errors.PainkgError`)
    saying how to install Graphviz when ``dot`` is not on PATH.
    """
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizMissing(_INSTALL.format(fmt=fmt.upper()))
    done = subprocess.run([exe, f"-T{fmt}"], input=dot.encode("utf-8"), capture_output=True, check=False)
    if done.returncode != 0:
        raise PainkgError(f"Graphviz dot failed: {done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout


# ---------------------------------------------------------------- networkx formats

def to_graphml(g) -> str:
    """GraphML text (:mod:`kg.render.graphml`): every id unique, every key id distinct.

    ``nx.read_graphml`` reads it back; edges come back keyed by their GraphML
    id (``e0``, ``e1``...) with painkg's edge key in the ``key`` attribute.

    >>> import io, networkx as nx, kg
    >>> g = kg.explain("examples/neck-strain-day16.json").graph()
    >>> back = nx.read_graphml(io.BytesIO(to_graphml(g).encode()), force_multigraph=True)
    >>> back.nodes["muscle_knots@neck"]["loop"], back.number_of_edges() == g.number_of_edges()
    (True, True)
    >>> sorted((u, v, d["key"]) for u, v, d in back.edges(data=True)) == sorted(g.edges(keys=True))
    True
    """
    from .graphml import to_graphml as write

    return write(g)


def to_node_link_json(g) -> str:
    """networkx node-link JSON (edges under ``links``), sorted keys.

    >>> import kg
    >>> sorted(json.loads(to_node_link_json(kg.causal_graph())))
    ['directed', 'graph', 'links', 'multigraph', 'nodes']
    """
    import networkx as nx

    try:
        data = nx.node_link_data(g, edges="links")
    except TypeError:  # networkx < 3.4 has no ``edges`` parameter; "links" is its only key
        data = nx.node_link_data(g)
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def _edge_id(source: str, target: str, key: str) -> str:
    return f"{source}->{target}:{key}"


def _cytoscape(g) -> dict:
    import networkx as nx

    data = nx.cytoscape_data(g)
    edges = data["elements"]["edges"]
    for edge, (source, target, key) in zip(edges, g.edges(keys=True)):
        edge["data"]["id"] = _edge_id(source, target, key)
    return data


def to_cytoscape_json(g) -> str:
    """Cytoscape.js JSON (``elements.nodes``/``elements.edges``, networkx's ``cytoscape_data``).

    >>> import kg
    >>> d = json.loads(to_cytoscape_json(kg.causal_graph()))
    >>> d["elements"]["edges"][0]["data"]["id"]
    'alternating_heat_cold->muscle_spasm:alternating-relieves-spasm'
    """
    return json.dumps(_cytoscape(g), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


# ---------------------------------------------------------------- Mermaid

def _mq(text: str) -> str:
    # Mermaid strings cannot hold a raw double quote; entity codes render as the character.
    return visible(text, cr="escape").replace('"', "#quot;").replace("\n", "<br/>")


def to_mermaid(g) -> str:
    """A Mermaid flowchart: nodes ``n1..nN`` in graph order, loop edges thick and red, possible facts dashed.

    >>> import kg
    >>> text = kg.explain("examples/neck-strain-day16.json").graph(compact=True).to_mermaid()
    >>> "-. \\"knots-sustain-spasm\\" .->" in text
    True
    """
    ids = {node: f"n{i}" for i, node in enumerate(g.nodes, 1)}
    story = g.graph.get("view") == "story"
    lines, sites = ["flowchart LR"], {}
    for node, data in g.nodes(data=True):
        kind, (site, label) = data.get("kind", ""), _in_site(data, node, story)
        label = _mq(label)
        shape = {"input": '(["{}"])', "firing": '{{{{"{}"}}}}', "passage": '>"{}"]'}.get(kind, '["{}"]')
        line = f"  {ids[node]}{shape.format(label)}:::{kind or 'other'}"
        sites.setdefault(site, []).append("  " + line) if site else lines.append(line)
    for n, (site, members) in enumerate(sites.items(), 1):  # the story: one box per site, named once
        lines += [f'  subgraph site{n}["{_mq(site)}"]', *members, "  end"]
    loop_links = []
    for i, (source, target, key, data) in enumerate(g.edges(keys=True, data=True)):
        kind, possible = data.get("kind", ""), data.get("certainty") == "possible"
        mark = _LOOP_MARK if story and kind == "feedback" else ""
        text = _mq(mark + data.get("label", key)) if kind in ("derivation", "feedback", "causal") else ""
        if (kind == "feedback" and (possible or not story)) or data.get("feedback") or (
                kind in ("derivation", "causes") and possible):
            arrow = f'-. "{text}" .->' if text else "-.->"
        elif data.get("loop"):
            arrow = f'== "{text}" ==>' if text else "==>"
        else:
            arrow = f'-- "{text}" -->' if text else "-->"
        lines.append(f"  {ids[source]} {arrow} {ids[target]}")
        loop_links += [str(i)] if data.get("loop") else []
    for kind in sorted({d.get("kind", "") or "other" for _, d in g.nodes(data=True)}):
        lines.append(f"  classDef {kind} fill:{COLORS.get(kind, '#ffffff')},stroke:#616161,color:#212121")
    possible = [ids[n] for n, d in g.nodes(data=True) if d.get("certainty") == "possible"]
    if possible:
        lines += [f"  %% {POSSIBLE_LEGEND}", "  classDef possible stroke-dasharray:5 5",
                  f"  class {','.join(possible)} possible"]
    loop_nodes = [ids[n] for n, d in g.nodes(data=True) if d.get("loop")]
    if loop_nodes:  # `style` takes one node; `class` takes a list.
        lines += [f"  classDef loop stroke:{_LOOP_COLOR},stroke-width:3px", f"  class {','.join(loop_nodes)} loop"]
    if loop_links:
        lines.append(f"  linkStyle {','.join(loop_links)} stroke:{_LOOP_COLOR},stroke-width:3px")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- HTML

def _static(name: str) -> str:
    return resources.files("kg").joinpath("static", name).read_text(encoding="utf-8")


def _script_safe(text: str) -> str:
    # JSON inside <script>: "</" would end the element early.
    return text.replace("</", "<\\/")


def _shown(value):
    # What the page shows: control characters as visible escapes, like the title.
    if isinstance(value, (dict, list)):
        return {k: _shown(v) for k, v in value.items()} if isinstance(value, dict) else [_shown(v) for v in value]
    return visible(value, cr="escape") if isinstance(value, str) else value


def to_html(g) -> str:
    """One self-contained HTML page: Cytoscape.js and the dagre layout are inlined.

    No network access is needed (it opens from ``file://``). Click a node to
    see its rule, premises and quote; scroll to zoom, drag to pan, type in
    the search box to find a node.

    >>> import kg
    >>> page = kg.causal_graph().to_html()
    >>> page.startswith("<!DOCTYPE html>"), "https://" in page.split("<script>")[0]
    (True, False)
    """
    from ..knowledge.wording import DISCLAIMER

    elements = _shown(_cytoscape(g)["elements"])
    kinds = [k for k in COLORS if any(d.get("kind") == k for _, d in g.nodes(data=True))]
    payload = {"elements": elements, "colors": COLORS, "kinds": kinds, "kind_names": _KIND_NAMES,
               "view": g.graph.get("view", ""), "has_loops": any(d.get("loop") for _, _, d in g.edges(data=True)),
               "has_possible": _has_possible(g), "possible_legend": POSSIBLE_LEGEND,
               "certainty_names": _CERTAINTY_NAMES}
    data = _script_safe(json.dumps(payload, ensure_ascii=True, sort_keys=True, separators=(",", ":")))
    escape = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
    title = "".join(escape.get(c, c) for c in visible(_graph_title(g), cr="escape"))
    return string.Template(_static("graph.html")).substitute(
        title=title, disclaimer="".join(escape.get(c, c) for c in DISCLAIMER),
        cytoscape_js=_static("cytoscape.min.js"), dagre_js=_static("cytoscape-dagre.min.js"), data=data)


# ---------------------------------------------------------------- dispatch

_TEXT = {"dot": to_dot, "graphml": to_graphml, "json": to_node_link_json, "cytoscape": to_cytoscape_json,
         "mermaid": to_mermaid, "html": to_html}
#: Formats that come out as bytes.
BINARY_FORMATS = frozenset({"png"})
#: Every format :func:`export` knows.
FORMATS = tuple(sorted({*_TEXT, "svg", "png"}))


def export(g, format: str):
    """``g`` in ``format`` (one of :data:`FORMATS`): ``str``, or ``bytes`` for png."""
    if format in _TEXT:
        return _TEXT[format](g)
    if format in ("svg", "png"):
        out = render(to_dot(g), format)
        return out if format in BINARY_FORMATS else out.decode("utf-8")
    raise InputError("--format", format, "one of " + ", ".join(FORMATS))
