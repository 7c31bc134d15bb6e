"""painkg: why does this patient's pain persist?

A knowledge graph of one source text on muscle spasm, muscle knots and low
back strain, and a traced experta engine that reasons over patient facts.
Every conclusion comes with the rule, premises, causal edge and source quote
behind it. A reasoning aid, not a diagnosis.

Example
-------
>>> import kg
>>> e = kg.explain({"id": "p1", "assessed_on": "2026-03-21",
...     "injuries": [{"kind": "strain", "site": "lower_back", "onset": "2026-03-01",
...                   "mechanism": "lifting_while_twisting"}]})
>>> e.pain_persists
True
>>> e.chain("persistent_pain").steps[-1].evidence[0].text
'As one muscle spasms to protect an injured area, it affects the muscles around it, and your pain just continues to build.'
"""

from importlib.metadata import PackageNotFoundError, version

from .errors import InputError, PainkgError
from .inputs.patient import Patient, load_patient, parse_patient
from .knowledge.ontology import Ontology, load_ontology
from .knowledge.terms import terms
from .reasoning import explanation as _explanation
from .reasoning.explanation import Chain, Evidence, Explanation, Fact, Step
from .reasoning.reasoner import DEFAULT_THRESHOLD_DAYS, Reasoner, explain

try:
    __version__ = version("painkg")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

# Heavier features load on first use, so `import kg` and `painkg explain` stay
# fast (networkx and the RDF stores cost ~150 ms each to import).
_LAZY = {
    "causal_graph": "kg.render.graph",
    "query": "kg.store.sparql",
    "dataset": "kg.store.sparql",
    "what_if": "kg.questions.what_if",
    "interventions": "kg.questions.interventions",
    "batch": "kg.cohort",
    # painkg serve (the serve extra: FastAPI, uvicorn); kg.serve imports them only inside create_app.
    "create_app": "kg.serve.app",
    "ServeSettings": "kg.serve.settings",
    "CdsIssuer": "kg.serve.settings",
}


# The Explanation's views live in higher layers than the Explanation itself;
# the package root is the one module that may name every layer, so it says
# where each view is (loaded on first use, see kg.reasoning.explanation).
_explanation.VIEWS.update({
    "graph": "kg.render.graph:explanation_graph",
    "to_rdf": "kg.render.rdf:explanation_rdf",
    "to_text": "kg.render.text:render_text",
    "why_not": "kg.questions.why_not:why_not",
    "timeline": "kg.questions.timeline:timeline",
})


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kg' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "explain", "Reasoner", "DEFAULT_THRESHOLD_DAYS",
    "Explanation", "Fact", "Chain", "Step", "Evidence",
    "Patient", "parse_patient", "load_patient",
    "Ontology", "load_ontology", "terms",
    "PainkgError", "InputError",
    *_LAZY,
]
