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

from .errors import InputError, PainkgError
from .errors import type_name as _type_name
from .inputs.patient import Patient, load_patient, parse_patient
from .knowledge.ontology import Ontology, load_ontology
from .knowledge.terms import terms
from .reasoning.explanation import Chain, Evidence, Explanation, Fact, Step
from .reasoning.reasoner import DEFAULT_THRESHOLD_DAYS, Reasoner, explain

# Heavier features load on first use, so `import kg` and `painkg explain` stay
# fast (networkx and the RDF stores cost ~150 ms each to import).
_LAZY = {
    "causal_graph": "kg.render.graph",
    "query": "kg.store.sparql",
    "dataset": "kg.store.sparql",
    "why_not": "kg.questions.asking",
    "timeline": "kg.questions.asking",
    "what_if": "kg.questions.what_if",
    "interventions": "kg.questions.interventions",
    "intake": "kg.inputs.intake",
    "Intake": "kg.inputs.intake",
    "FORMATS": "kg.render.formats",
    # painkg explain's text report: brief by default, detail=True for every step, audience="patient".
    "text_report": "kg.render.formats",
    "batch": "kg.cohort",
    # painkg serve (the serve extra: FastAPI, uvicorn); kg.serve imports them only inside create_app.
    "create_app": "kg.serve.app",
    "run_server": "kg.serve.run",
    "ServeSettings": "kg.serve.settings",
    "CdsIssuer": "kg.serve.settings",
}


def graph(patient=None, *, ontology: bool = False, as_of: object = None,
          threshold_days: int = DEFAULT_THRESHOLD_DAYS, reasoner: Reasoner | None = None, **options):
    """The explanation graph of ``patient`` (``painkg graph``), or with ``ontology=True`` the source's causal model.

    ``patient``, ``as_of``, ``threshold_days`` and ``reasoner`` are as for
    :func:`explain` (or ``patient`` is an Explanation); ``options`` go to
    :meth:`Explanation.graph` (see :func:`kg.render.graph.explanation_graph`).
    Returns a :class:`~kg.render.graph.PainGraph` (``export(fmt)``, ``to_svg()``, ...).

    >>> import kg
    >>> g = kg.graph("examples/neck-strain-day16.json", compact=True)
    >>> same = kg.explain("examples/neck-strain-day16.json").graph(compact=True)
    >>> g.graph["patient"], g.export("mermaid") == same.export("mermaid")
    ('neck-1', True)
    >>> kg.graph(ontology=True).number_of_nodes() > 10
    True
    """
    if ontology == (patient is not None):
        raise InputError("patient", _type_name(patient), "a patient, or ontology=True (exactly one)")
    if ontology:
        from .render.graph import causal_graph

        return causal_graph(**options)
    from .questions.asking import explanation_of

    return explanation_of(patient, as_of=as_of, threshold_days=threshold_days, reasoner=reasoner).graph(**options)


# The Explanation's views: e.to_text(), e.to_rdf() and e.graph() are computed by kg.render,
# e.why_not() and e.timeline() by kg.questions, layers above kg.reasoning, which may not
# import them, not even inside a function (import-linter sees those imports too:
# tests/test_architecture.py). The package root is the one module that names every layer,
# so the methods are defined here and attached to the class: plain functions, each importing
# its layer on first use (`painkg explain` does not load networkx or the RDF serialisers),
# with no registry of names and no upward import.
def _to_text(self) -> str:
    """The explanation in plain language, with the source quotes (see :func:`kg.render.text.render_text`)."""
    from .render.text import render_text

    return render_text(self)


def _to_rdf(self, format: str = "trig", **options) -> str:
    """The observed facts and derivations as RDF with PROV-O (see :func:`kg.render.rdf.explanation_rdf`)."""
    from .render.rdf import explanation_rdf

    return explanation_rdf(self, format, **options)


def _graph(self, *args, **options):
    """The explanation as a graph (see :func:`kg.render.graph.explanation_graph` for the options)."""
    from .render.graph import explanation_graph

    return explanation_graph(self, *args, **options)


def _why_not(self, concept: str, site: str | None = None, **options):
    """Why ``concept`` was not concluded (see :func:`kg.questions.why_not.why_not`; ``depth=`` is an option)."""
    from .questions.why_not import why_not as ask

    return ask(self, concept, site=site, **options)


def _timeline(self):
    """Dated events from onset to assessment and beyond (see :func:`kg.questions.timeline.timeline`)."""
    from .questions.timeline import timeline as ask

    return ask(self)


for _name, _method in (("to_text", _to_text), ("to_rdf", _to_rdf), ("graph", _graph), ("why_not", _why_not),
                       ("timeline", _timeline)):
    _method.__name__, _method.__qualname__ = _name, f"Explanation.{_name}"
    setattr(Explanation, _name, _method)
del _name, _method


def _version() -> str:
    # importlib.metadata costs a command ~30 ms to import, so __version__ is read on first use.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("painkg")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


def __getattr__(name):
    if name == "__version__":
        return _version()
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kg' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "explain", "graph", "Reasoner", "DEFAULT_THRESHOLD_DAYS",
    "Explanation", "Fact", "Chain", "Step", "Evidence",
    "Patient", "parse_patient", "load_patient",
    "Ontology", "load_ontology", "terms",
    "PainkgError", "InputError",
    *_LAZY,
]
