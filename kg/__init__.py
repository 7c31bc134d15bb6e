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

import os as _os
from importlib.metadata import PackageNotFoundError, version

# In a source checkout, rules/ and ontology/ sit beside kg/ and are installed as
# kg.rules and kg.ontology. When Python imports kg from the checkout itself (the
# checkout is the working directory and the install is not editable), let the
# package find them there as well, instead of failing on `import kg.rules`.
_checkout = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if (_os.path.isfile(_os.path.join(_checkout, "rules", "tracing.py"))
        and _os.path.isfile(_os.path.join(_checkout, "ontology", "painkg.ttl"))
        and _checkout not in __path__):
    __path__.append(_checkout)

from .api import DEFAULT_THRESHOLD_DAYS, Reasoner, explain
from .errors import InputError, PainkgError
from .explanation import Chain, Evidence, Explanation, Fact, Step
from .ontology_model import Ontology, load_ontology
from .patient import Patient, load_patient, parse_patient
from .terms import terms

try:
    __version__ = version("painkg")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

# Heavier features load on first use, so `import kg` and `painkg explain` stay
# fast (networkx and the RDF stores cost ~150 ms each to import).
_LAZY = {
    "causal_graph": "kg.explain_graph",
    "query": "kg.sparql",
    "dataset": "kg.sparql",
    "what_if": "kg.scenarios",
    "interventions": "kg.intervention_search",
}


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
