"""Knowledge: the ontology as Python objects (concepts, causal claims, rule metadata,
source passages, terms) and the wording every text form shares. Imports only
:mod:`kg.errors` and the Turtle files of :mod:`kg.ontology`."""
