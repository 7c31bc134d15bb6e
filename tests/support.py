"""Helpers shared by the tests (importable: pyproject sets pythonpath = ["tests"])."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SHARED_SOURCE = ROOT.parent / "shared" / "source"


def example_paths() -> list[Path]:
    return sorted(EXAMPLES.glob("*.json"))


def load_example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def strain(days: int, site: str = "lower_back", *, resolved: bool = False, kind: str = "muscle_strain",
           findings=(), mechanism: str | None = None) -> dict:
    """A one-injury patient assessed on 2026-06-30, ``days`` after onset."""
    injury = {"kind": kind, "site": site, "days_since_onset": days, "resolved": resolved}
    if mechanism:
        injury["mechanism"] = mechanism
    return {"id": "t", "assessed_on": "2026-06-30", "injuries": [injury], "findings": list(findings)}


def derived(e) -> set[str]:
    return {f.id for f in e.facts if f.status == "derived"}


def with_resolution_dates(patient: dict) -> dict:
    """``patient`` with each injury's ``resolved_after`` (days after onset) turned into a ``resolved_on`` date.

    Hypothesis strategies draw ``resolved_after``; the date is clipped to the assessment date,
    and ``days_since_onset`` counts back from ``assessed_on``, as the contract says.
    """
    import datetime as dt

    assessed = dt.date.fromisoformat(patient["assessed_on"])
    injuries = []
    for inj in patient.get("injuries", []):
        inj = dict(inj)
        after = inj.pop("resolved_after", None)
        if after is not None:
            onset = assessed - dt.timedelta(days=inj["days_since_onset"])
            inj["resolved_on"] = (onset + dt.timedelta(days=min(after, inj["days_since_onset"]))).isoformat()
            inj.pop("resolved", None)
        injuries.append(inj)
    return {**patient, "injuries": injuries}


def derivation_shapes():
    """The SHACL shapes of painkg's RDF output, read from the installed package."""
    from importlib import resources

    from rdflib import Graph

    return Graph().parse(data=resources.files("kg.ontology").joinpath("derivation-shapes.ttl").read_text("utf-8"),
                         format="turtle")


def rdf_union(explanations):
    """The ontology plus the explanations' quads, as one rdflib graph (what the shapes validate)."""
    from rdflib import Graph

    from kg.render.rdf import explanation_quads, ontology_quads

    g = Graph()
    for quad in ontology_quads():
        g.add(quad[:3])
    for e in explanations:
        for quad in explanation_quads(e):
            g.add(quad[:3])
    return g


def shacl_validate(graph, shapes) -> tuple[bool, str]:
    """pyshacl's verdict and report text (SPARQL-based constraints on)."""
    import pyshacl

    conforms, _, text = pyshacl.validate(graph, shacl_graph=shapes, advanced=True)
    return conforms, text
