"""GraphML that any GraphML reader accepts: unique ids, one key per attribute and domain.

networkx's own writer gives every edge of a multigraph its key as id (29
edges called ``premise`` in one file) and, with readable key ids, the same
id to a node key and an edge key of the same name. This writer keeps
networkx's layout of the document (so ``networkx.read_graphml`` reads it)
but:

* key ids are ``graph.NAME``, ``node.NAME`` and ``edge.NAME``: unique, and
  distinct for a node and an edge attribute of the same name;
* edges are ``e0``, ``e1``, ... in graph order; the networkx key of each
  edge (``premise``, a rule id, a causal edge id) is its ``key`` attribute;
* text is passed through :func:`~kg.render.safe_text.visible`, so a control
  character in an id cannot make the XML ill-formed;
* attribute types are the same for every element: ``boolean``, ``long``,
  ``double`` or ``string``.

Node ids are painkg's ids (``muscle_knots@neck``), as Gephi, yEd and
networkx show them; the GraphML schema types ids as ``NMTOKEN``, which ``@``
is not, but no reader we know checks that.

>>> import networkx as nx
>>> g = nx.MultiDiGraph(name="g")
>>> g.add_edge("a", "b", key="premise", label="premise")
'premise'
>>> g.add_edge("a", "b", key="concludes", label="concludes")
'concludes'
>>> g.nodes["a"]["label"] = "A"
>>> print(to_graphml(g))  # doctest: +NORMALIZE_WHITESPACE
<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">
  <key id="graph.name" for="graph" attr.name="name" attr.type="string" />
  <key id="node.label" for="node" attr.name="label" attr.type="string" />
  <key id="edge.key" for="edge" attr.name="key" attr.type="string" />
  <key id="edge.label" for="edge" attr.name="label" attr.type="string" />
  <graph id="G" edgedefault="directed">
    <data key="graph.name">g</data>
    <node id="a">
      <data key="node.label">A</data>
    </node>
    <node id="b" />
    <edge id="e0" source="a" target="b">
      <data key="edge.key">premise</data>
      <data key="edge.label">premise</data>
    </edge>
    <edge id="e1" source="a" target="b">
      <data key="edge.key">concludes</data>
      <data key="edge.label">concludes</data>
    </edge>
  </graph>
</graphml>
<BLANKLINE>
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape, quoteattr

from .safe_text import visible

__all__ = ["to_graphml", "edge_keys"]

_NS = ('xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
       'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
       'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd"')
# Graph attributes that networkx keeps for itself (read_graphml adds them back empty).
_SKIP_GRAPH = {"node_default", "edge_default"}
# A parser reads a raw "\r" in text as "\n"; a character reference keeps it.
_CR = {"\r": "&#13;"}


def _type(values) -> str:
    values = list(values)
    if all(isinstance(v, bool) for v in values):
        return "boolean"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "long"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "double"
    return "string"


def _value(value, kind: str) -> str:
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "double":
        return repr(float(value))
    return visible(value)


def _attr(text) -> str:
    # quoteattr keeps "\n" and "\t" in attribute values as character references.
    return quoteattr(visible(text), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def _key_id(domain: str, name: str, used: set) -> str:
    # An NMTOKEN: letters, digits, '.', '-', '_', ':'; anything else by position.
    key = f"{domain}.{name}" if re.fullmatch(r"[\w.\-:]+", name, flags=re.ASCII) else f"{domain}.{len(used)}"
    while key in used:
        key += "_"
    used.add(key)
    return key


def edge_keys(g) -> list[tuple]:
    """``(id, source, target, data)`` of every edge as written: ``data`` holds the networkx ``key``."""
    return [(f"e{i}", u, v, {"key": k, **d}) for i, (u, v, k, d) in enumerate(g.edges(keys=True, data=True))]


def to_graphml(g) -> str:
    """GraphML text of a networkx (multi)graph; see the module docstring."""
    edges = edge_keys(g) if g.is_multigraph() else [(f"e{i}", u, v, d) for i, (u, v, d) in
                                                    enumerate(g.edges(data=True))]
    graph_data = {k: v for k, v in g.graph.items() if k not in _SKIP_GRAPH and v is not None}
    domains = {"graph": [graph_data], "node": [d for _, d in g.nodes(data=True)], "edge": [d for *_, d in edges]}
    keys: dict[tuple[str, str], tuple[str, str]] = {}
    used: set = set()
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f"<graphml {_NS}>"]
    for domain, items in domains.items():
        names = sorted({str(n) for d in items for n, v in d.items() if v is not None})
        for name in names:
            kind = _type(d[name] for d in items if d.get(name) is not None)
            key = _key_id(domain, name, used)
            keys[domain, name] = (key, kind)
            lines.append(f"  <key id={_attr(key)} for=\"{domain}\" attr.name={_attr(name)} attr.type=\"{kind}\" />")
    directed = "directed" if g.is_directed() else "undirected"
    lines.append(f'  <graph id="G" edgedefault="{directed}">')

    def data(domain: str, values: dict, indent: str) -> list[str]:
        out = []
        for name in sorted(str(n) for n, v in values.items() if v is not None):
            key, kind = keys[domain, name]
            out.append(f"{indent}<data key={_attr(key)}>{escape(_value(values[name], kind), _CR)}</data>")
        return out

    lines += data("graph", graph_data, "    ")
    for node, d in g.nodes(data=True):
        body = data("node", d, "      ")
        lines.append(f"    <node id={_attr(node)}" + (">" if body else " />"))
        if body:
            lines += body + ["    </node>"]
    for edge_id, u, v, d in edges:
        body = data("edge", d, "      ")
        lines.append(f"    <edge id=\"{edge_id}\" source={_attr(u)} target={_attr(v)}" + (">" if body else " />"))
        if body:
            lines += body + ["    </edge>"]
    lines += ["  </graph>", "</graphml>"]
    return "\n".join(lines) + "\n"
