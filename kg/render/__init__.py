"""Render: an Explanation as text, RDF with PROV-O, and a graph with its exports
(DOT, SVG, PNG, GraphML, Mermaid, Cytoscape JSON, HTML). May import every layer below
(questions, reasoning, inputs, knowledge, errors)."""
