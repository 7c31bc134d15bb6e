"""Store: RDF datasets of explanations and the ontology, and SPARQL over them with
pyoxigraph. May import every layer below (render, questions, reasoning, ...)."""
